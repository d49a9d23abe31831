#!/usr/bin/env python3
"""test_lmtpd_sieve_edit.py: editheader (RFC 5293) on stored copies, and
global Sieve scripts changed while sluice-lmtpd runs.

The stack is real: a fresh database, sluice-authd, sluice-imapd and
sluice-lmtpd as in production (imapd_world), scripts stored with
`sluice-admin sieve put`, messages delivered over LMTP and read back over
IMAP with imaplib, files looked at in the mail store.

- One LMTP transaction to recipients with and without an editing script:
  each stored copy has exactly its own edits, RFC822.SIZE and the quota
  usage count the edited size, recipients with the same edits share one
  file and the unedited ones share the original; a fileinto before an
  addheader stores the message as it was then; deleteheader removes fields
  but not Received; an edited copy that no longer fits the quota is refused.
- A global "before" script rewritten on disk is followed by the next
  delivery a second later without a restart, a broken version keeps the
  old behaviour with one error in the log, SIGHUP reloads at once, a removed
  file stops applying, and deliveries running while the script flips all
  succeed.
- addheader with non-ASCII text (RFC 5293 4): the stored copy has RFC 2047
  encoded-words, folded to 76 characters, 7-bit; header tests still match
  the decoded text.
- A user's script that does `include :global`: a change to the included
  file (or to one that file includes, or an optional one that appears) is
  followed a second later without a restart and without a `sieve put`; an
  unchanged one is not compiled again; SIGHUP compiles it again at once.
"""
import email
import email.policy
import os
import re
import signal
import smtplib
import tempfile
import threading
import time

from imapd_world import World
from sluicetest import run

W = None
GDIR = None
SCRIPTS = None

# Return-Path and Delivered-To, as lmtpd adds them for recipient `address`
def prefix(address, sender="sender@remote.test"):
    return ("Return-Path: <%s>\r\nDelivered-To: %s\r\n" % (sender, address)).encode()


def message(subject, extra=b""):
    return (b"Received: from relay.remote.test by mx.example.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"From: Sender <sender@remote.test>\r\nTo: someone@example.test\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Message-ID: <" + subject.replace(" ", "-").encode() + b"." +
            str(time.time()).encode() + b"@remote.test>\r\n"
            b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n" + extra +
            b"\r\nThe body stays as it was.\r\n")


def setup():
    global W, GDIR, SCRIPTS
    GDIR = tempfile.mkdtemp(prefix="sluice-sieve-global-")
    os.chmod(GDIR, 0o755)
    SCRIPTS = tempfile.mkdtemp(prefix="sluice-sieve-scripts-")
    write_global('require ["fileinto", "mailbox", "envelope"];\r\n'
                 'if envelope :is "to" "glob@example.test" { fileinto :create "One"; }\r\n')
    W = World(users=("edit", "edit2", "plain", "steps", "del", "kept", "tight", "glob", "utf8",
                     "incl"),
              lmtpd=True,
              imapd_settings={"sieve_global_dir": GDIR, "sieve_before": "gbefore"})


def write_global(text, name="gbefore.sieve"):
    """Replace the global script the way an editor or a deploy tool does (a new file)."""
    path = os.path.join(GDIR, name)
    tmp = path + ".new"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def put_script(user, text):
    path = os.path.join(SCRIPTS, user + ".sieve")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    W.admin("sieve", "put", W.users[user], "main", path, "--activate")


def lmtp(users, msg, sender="sender@remote.test"):
    """One transaction; the DATA reply of each recipient in order."""
    c = smtplib.LMTP(W.lmtp_socket, timeout=60)
    try:
        assert c.ehlo("client.test")[0] == 250
        assert c.mail(sender)[0] == 250
        for u in users:
            code, text = c.rcpt(W.users[u])
            assert code == 250, (u, code, text)
        replies = [c.data(msg)]
        for _ in users[1:]:
            replies.append(c.getreply())
        c.quit()
        return [code for code, _ in replies]
    finally:
        c.close()


def fetch_all(user, folder):
    """[(RFC822.SIZE, bytes)] of a folder, over IMAP."""
    c = W.login(user)
    try:
        typ, data = c.select('"%s"' % folder, readonly=True)
        assert typ == "OK", (folder, data)
        if int(data[0]) == 0:
            return []
        typ, data = c.fetch("1:*", "(RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK", data
        out = []
        for item in data:
            if isinstance(item, tuple):
                size = int(re.search(rb"RFC822\.SIZE (\d+)", item[0]).group(1))
                out.append((size, item[1]))
        return out
    finally:
        c.logout()


def usage(user):
    out = W.sql("SELECT q.bytes || ' ' || q.messages FROM quota_usage q JOIN mailbox_directory d "
                "ON d.id = q.mailbox_id WHERE d.local_part = '%s'" % user)
    return tuple(int(x) for x in out.split())


def blob_files(user, folder):
    """The store files of a folder's messages, in UID order."""
    out = W.sql("SELECT d.storage_dir || '/' || m.blob FROM messages m JOIN folders f "
                "ON f.id = m.folder_id JOIN mailbox_directory d ON d.id = f.mailbox_id "
                "WHERE d.local_part = '%s' AND f.name = '%s' ORDER BY m.uid" % (user, folder))
    return [os.path.join(W.mail_root, p) for p in out.splitlines() if p]


def header_of(data):
    return data.split(b"\r\n\r\n", 1)[0]


def lmtpd_log():
    return W.log("sluice-lmtpd")


def wait_log(pattern, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if pattern in lmtpd_log():
            return
        time.sleep(0.05)
    raise AssertionError("no log line with %r in:\n%s" % (pattern, lmtpd_log()[-3000:]))


# --- editheader on stored copies ---

def test_edited_copy_per_recipient():
    script = ('require ["fileinto", "editheader", "mailbox"];\r\n'
              'addheader "X-Test" "yes";\r\nfileinto :create "Folder";\r\n')
    put_script("edit", script)
    put_script("edit2", script)
    msg = message("edit me")
    assert lmtp(["edit", "plain", "edit2"], msg) == [250, 250, 250]

    edited = fetch_all("edit", "Folder")
    assert len(edited) == 1, edited
    size, data = edited[0]
    want = prefix(W.users["edit"]) + b"X-Test: yes\r\n" + msg
    assert data == want, (data, want)
    assert size == len(want), (size, len(want))
    assert fetch_all("edit", "INBOX") == []
    assert usage("edit") == (len(want), 1), usage("edit")

    plain = fetch_all("plain", "INBOX")
    assert len(plain) == 1
    size, data = plain[0]
    assert b"X-Test" not in data
    assert data == prefix(W.users["plain"]) + msg
    assert size == len(data) and usage("plain") == (len(data), 1)

    size2, data2 = fetch_all("edit2", "Folder")[0]
    assert data2 == prefix(W.users["edit2"]) + b"X-Test: yes\r\n" + msg
    # the same edits share one file; the unedited recipient keeps the original
    f_edit, f_edit2, f_plain = (blob_files("edit", "Folder")[0], blob_files("edit2", "Folder")[0],
                                blob_files("plain", "INBOX")[0])
    assert os.stat(f_edit).st_ino == os.stat(f_edit2).st_ino
    assert os.stat(f_edit).st_ino != os.stat(f_plain).st_ino
    assert os.stat(f_plain).st_nlink == 1 and os.stat(f_edit).st_nlink == 2
    with open(f_plain, "rb") as f:
        assert f.read() == msg
    with open(f_edit, "rb") as f:
        assert f.read() == b"X-Test: yes\r\n" + msg
    # the cached ENVELOPE comes from the stored copy
    c = W.login("edit")
    try:
        c.select("Folder", readonly=True)
        typ, data = c.fetch("1", "(ENVELOPE BODY.PEEK[HEADER.FIELDS (X-Test)])")
        assert typ == "OK" and b"edit me" in data[0][0], data
        assert data[0][1] == b"X-Test: yes\r\n\r\n", data
    finally:
        c.logout()


def test_header_as_it_was_for_each_action():
    put_script("steps",
               'require ["fileinto", "editheader", "mailbox", "copy"];\r\n'
               'fileinto :copy :create "Early";\r\n'
               'addheader :last "X-Step" "one";\r\n'
               'fileinto :copy :create "Middle";\r\n'
               'addheader "X-Step" "two";\r\n'
               'if header :is "X-Step" "two" { fileinto :create "Late"; }\r\n')
    msg = message("steps")
    assert lmtp(["steps", "plain"], msg) == [250, 250]
    p = prefix(W.users["steps"])
    early = fetch_all("steps", "Early")
    middle = fetch_all("steps", "Middle")
    late = fetch_all("steps", "Late")
    assert early[0][1] == p + msg, early
    head, body = msg.split(b"\r\n\r\n", 1)
    want_middle = p + head + b"\r\nX-Step: one\r\n\r\n" + body
    assert middle[0][1] == want_middle, middle
    want_late = p + b"X-Step: two\r\n" + head + b"\r\nX-Step: one\r\n\r\n" + body
    assert late[0][1] == want_late, late
    assert [x[0] for x in early + middle + late] == [len(p + msg), len(want_middle),
                                                     len(want_late)]
    assert usage("steps") == (len(p + msg) + len(want_middle) + len(want_late), 3)
    # "fileinto" without :copy cancelled the implicit keep
    assert fetch_all("steps", "INBOX") == []
    # the unedited folder shares the original file with the other recipient
    assert os.stat(blob_files("steps", "Early")[0]).st_ino == \
        os.stat(blob_files("plain", "INBOX")[-1]).st_ino


def test_deleteheader_and_implicit_keep():
    put_script("del",
               'require ["editheader"];\r\n'
               'deleteheader "X-Remove";\r\ndeleteheader "Received";\r\n'
               'deleteheader :contains "X-Spam" "maybe";\r\n')
    msg = message("delete", extra=b"X-Remove: secret\r\nX-Spam: maybe spam\r\n"
                                  b"X-Spam: clean\r\nX-Remove: again\r\n")
    assert lmtp(["del"], msg) == [250]
    size, data = fetch_all("del", "INBOX")[0]
    head = header_of(data)
    assert b"X-Remove" not in head, head
    assert b"X-Spam: clean" in head and b"maybe spam" not in head, head
    # RFC 5293 / our rule: Received is protected
    assert b"Received: from relay.remote.test" in head
    want = msg.replace(b"X-Remove: secret\r\nX-Spam: maybe spam\r\n", b"").replace(
        b"X-Remove: again\r\n", b"")
    assert data == prefix(W.users["del"]) + want
    assert size == len(data) < len(prefix(W.users["del"]) + msg)
    assert usage("del") == (size, 1)
    wait_log("deleteheader Received: protected field")

    # an edit and no explicit action: the implicit keep stores the edited message
    put_script("kept", 'require "editheader";\r\naddheader "X-Kept" "by implicit keep";\r\n')
    msg = message("kept")
    assert lmtp(["kept"], msg) == [250]
    size, data = fetch_all("kept", "INBOX")[0]
    assert data == prefix(W.users["kept"]) + b"X-Kept: by implicit keep\r\n" + msg


def test_quota_counts_edited_size():
    msg = message("tight")
    p = prefix(W.users["tight"])
    # room for the message as received and 40 bytes more, not for 200 more
    W.admin("mailbox", "edit", W.users["tight"], "--quota", str(len(p + msg) + 40))
    put_script("tight", 'require "editheader";\r\naddheader "X-Big" "%s";\r\n' % ("x" * 190))
    codes = lmtp(["tight", "plain"], msg)
    assert codes == [552, 250], codes
    assert fetch_all("tight", "INBOX") == [] and usage("tight")[1] == 0
    put_script("tight", 'require "editheader";\r\naddheader "X-Small" "ok";\r\n')
    assert lmtp(["tight"], msg) == [250]
    stored = fetch_all("tight", "INBOX")
    size, data = stored[0]
    assert data == p + b"X-Small: ok\r\n" + msg
    # the quota warning lmtpd adds when it is this full is counted too
    assert usage("tight") == (sum(s for s, _ in stored), len(stored)), (usage("tight"), stored)


# --- global scripts changed while lmtpd runs ---

def glob_count(folder):
    return len(fetch_all("glob", folder))


def test_global_script_changes_without_restart():
    pid = W.daemons["sluice-lmtpd"].pid
    assert lmtp(["glob"], message("first")) == [250]
    assert glob_count("One") == 1
    write_global('require ["fileinto", "mailbox", "envelope"];\r\n'
                 'if envelope :is "to" "glob@example.test" { fileinto :create "Two"; }\r\n')
    time.sleep(1.2)
    assert lmtp(["glob"], message("second")) == [250]
    assert glob_count("Two") == 1 and glob_count("One") == 1
    wait_log("global before script gbefore: compiled again (changed)")
    # other recipients were never touched by it
    assert all(b"glob" not in d for _, d in fetch_all("plain", "INBOX"))

    # a version that does not compile: the previous one stays, one error logged
    write_global('require "fileinto";\r\nif envelope :is "to" "x" { fileinto "Three" }\r\n')
    time.sleep(1.2)
    assert lmtp(["glob"], message("third")) == [250]
    assert glob_count("Two") == 2
    wait_log("global before script gbefore: compile error")
    time.sleep(1.2)
    assert lmtp(["glob"], message("fourth")) == [250]
    assert glob_count("Two") == 3
    assert lmtpd_log().count("global before script gbefore: compile error") == 1, \
        lmtpd_log()[-2000:]
    assert "the previous version stays" in lmtpd_log()

    # SIGHUP: at once, no second to wait for
    write_global('require ["fileinto", "mailbox", "envelope"];\r\n'
                 'if envelope :is "to" "glob@example.test" { fileinto :create "Four"; }\r\n')
    os.kill(pid, signal.SIGHUP)
    wait_log("global before script gbefore: compiled again (SIGHUP)")
    assert lmtp(["glob"], message("fifth")) == [250]
    assert glob_count("Four") == 1

    # removed: no longer run; the message goes to the INBOX
    os.remove(os.path.join(GDIR, "gbefore.sieve"))
    time.sleep(1.2)
    assert lmtp(["glob"], message("sixth")) == [250]
    assert glob_count("Four") == 1 and glob_count("INBOX") == 1
    wait_log("global before script gbefore: removed, no longer run")
    assert W.daemons["sluice-lmtpd"].pid == pid and W.daemons["sluice-lmtpd"].poll() is None


def test_global_script_flips_under_load():
    """Deliveries in flight while the script changes: every one succeeds into one of the two."""
    texts = ['require ["fileinto", "mailbox", "envelope"];\r\n'
             'if envelope :is "to" "glob@example.test" { fileinto :create "%s"; }\r\n' % name
             for name in ("FlipA", "FlipB")]
    write_global(texts[0])
    time.sleep(1.2)
    assert lmtp(["glob"], message("flip start")) == [250]
    assert glob_count("FlipA") == 1
    stop = threading.Event()
    errors = []

    def flipper():
        i = 1
        while not stop.is_set():
            write_global(texts[i % 2])
            i += 1
            time.sleep(0.35)

    def sender(n):
        try:
            for k in range(8):
                codes = lmtp(["glob", "plain"], message("flip %d %d" % (n, k)))
                if codes != [250, 250]:
                    errors.append(codes)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    t = threading.Thread(target=flipper)
    t.start()
    senders = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    start = time.time()
    for s in senders:
        s.start()
    for s in senders:
        s.join()
    # and a few more, so that the script flips a few times under deliveries
    tail = 0
    while time.time() - start < 2.5:
        assert lmtp(["glob"], message("flip tail")) == [250]
        tail += 1
        time.sleep(0.2)
    stop.set()
    t.join()
    assert errors == [], errors
    filed = W.sql("SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id "
                  "JOIN mailbox_directory d ON d.id = f.mailbox_id WHERE d.local_part = 'glob' "
                  "AND f.name IN ('FlipA', 'FlipB')")
    # every delivery ran one version or the other, none fell out of the script
    assert int(filed) == 1 + 4 * 8 + tail, (filed, tail)
    assert glob_count("INBOX") == 1


# --- addheader with non-ASCII text ---

def test_addheader_non_ascii_stored():
    note = "Grüße aus Köln"
    subject = ("Über die Größe der Straße: ein Wert, der länger als eine Zeile ist und darum "
               "gefaltet wird")
    put_script("utf8", 'require ["editheader", "fileinto", "mailbox"];\r\n'
                       'addheader "X-Note" "%s";\r\n'
                       'deleteheader "Subject";\r\naddheader :last "Subject" "%s";\r\n'
                       'if header :contains "X-Note" "Köln" {\r\n'
                       '  if header :is "Subject" "%s" { fileinto :create "Decoded"; }\r\n'
                       '}\r\n' % (note, subject, subject))
    msg = message("plain ascii")
    assert lmtp(["utf8"], msg) == [250]
    stored = fetch_all("utf8", "Decoded")
    assert len(stored) == 1, stored
    size, data = stored[0]
    head = header_of(data)
    assert all(b < 0x80 for b in head), head
    # RFC 2047: only the words that need it, Q as most characters are ASCII
    assert head.startswith(prefix(W.users["utf8"]) +
                           b"X-Note: =?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n"), head
    sub = head.split(b"\r\nSubject:", 1)[1]
    lines = (b"Subject:" + sub).split(b"\r\n")
    assert len(lines) > 1 and all(len(l) <= 76 for l in lines), lines
    assert all(l.startswith(b" ") for l in lines[1:]), lines
    # the ASCII words after the last one that needed encoding stay as they are
    assert b"=?utf-8?Q?" in sub and b" als eine Zeile ist und darum" in sub, sub
    # any reader decodes them back to the text the script gave
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["X-Note"] == note, parsed["X-Note"]
    assert parsed["Subject"] == subject, parsed["Subject"]
    # the body and the other fields as they were
    want = prefix(W.users["utf8"]) + b"X-Note: =?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n" + \
        msg.replace(b"Subject: plain ascii\r\n", b"").replace(
            b"\r\n\r\nThe body", b"\r\nSubject:" + sub + b"\r\n\r\nThe body")
    assert data == want, (data, want)
    assert size == len(data)
    # the index's cached header fields (FETCH HEADER.FIELDS) are those of the edited copy
    cached = W.sql("SELECT header_fields FROM messages m JOIN folders f ON f.id = m.folder_id"
                   " WHERE f.name = 'Decoded'")
    assert "Subject:" + sub.decode().replace("\r\n", "\n") in cached.replace("\r\n", "\n"), cached
    assert "plain ascii" not in cached, cached


# --- users' scripts that include global ones ---

def compiled_count(user):
    mid = W.sql("SELECT id FROM mailbox_directory WHERE local_part = '%s'" % user).strip()
    return lmtpd_log().count("sieve: mailbox id %s: compiled script" % mid)


def incl_count(folder):
    return len(fetch_all("incl", folder))


def test_user_include_global_changes():
    pid = W.daemons["sluice-lmtpd"].pid
    write_global('require ["fileinto", "mailbox"];\r\nfileinto :create "Shared1";\r\n',
                 name="gshared.sieve")
    write_global('require "include";\r\ninclude :global "ginner";\r\n', name="gouter.sieve")
    write_global('require ["fileinto", "mailbox"];\r\nfileinto :create "Inner1";\r\n',
                 name="ginner.sieve")
    put_script("incl", 'require "include";\r\ninclude :global "gshared";\r\n'
                       'include :global "gouter";\r\ninclude :optional :global "glater";\r\n')
    assert lmtp(["incl"], message("incl one")) == [250]
    assert incl_count("Shared1") == 1 and incl_count("Inner1") == 1
    assert compiled_count("incl") == 1

    # nothing changed: the cached program is used, a look a second later finds the same files
    time.sleep(1.2)
    assert lmtp(["incl"], message("incl two")) == [250]
    assert incl_count("Shared1") == 2 and compiled_count("incl") == 1

    # the included file changes: followed without a restart and without a `sieve put`
    write_global('require ["fileinto", "mailbox"];\r\nfileinto :create "Shared2";\r\n',
                 name="gshared.sieve")
    time.sleep(1.2)
    assert lmtp(["incl"], message("incl three")) == [250]
    assert incl_count("Shared2") == 1 and incl_count("Shared1") == 2
    assert incl_count("Inner1") == 3
    assert compiled_count("incl") == 2
    wait_log("an included global script changed")

    # a file included by the included file
    write_global('require ["fileinto", "mailbox"];\r\nfileinto :create "Inner2";\r\n',
                 name="ginner.sieve")
    time.sleep(1.2)
    assert lmtp(["incl"], message("incl four")) == [250]
    assert incl_count("Inner2") == 1 and incl_count("Inner1") == 3

    # an optional include that was missing appears
    write_global('require ["fileinto", "mailbox"];\r\nfileinto :create "Later";\r\n',
                 name="glater.sieve")
    time.sleep(1.2)
    assert lmtp(["incl"], message("incl five")) == [250]
    assert incl_count("Later") == 1 and incl_count("Shared2") == 3
    assert compiled_count("incl") == 4

    # SIGHUP: compiled again at once, with no file changed
    before = lmtpd_log().count("compiled again (SIGHUP)")
    os.kill(pid, signal.SIGHUP)
    end = time.time() + 10
    while lmtpd_log().count("compiled again (SIGHUP)") == before and time.time() < end:
        time.sleep(0.05)
    assert lmtp(["incl"], message("incl six")) == [250]
    assert compiled_count("incl") == 5
    assert incl_count("Later") == 2
    # the other users' cached scripts were left alone, and no restart happened
    assert W.daemons["sluice-lmtpd"].pid == pid and W.daemons["sluice-lmtpd"].poll() is None


def teardown():
    if W is not None:
        W.close()  # also fails on a sanitizer report in a daemon's log


if __name__ == "__main__":
    try:
        setup()
        run([test_edited_copy_per_recipient, test_header_as_it_was_for_each_action,
             test_deleteheader_and_implicit_keep, test_quota_counts_edited_size,
             test_global_script_changes_without_restart, test_global_script_flips_under_load,
             test_addheader_non_ascii_stored, test_user_include_global_changes])
    finally:
        teardown()
