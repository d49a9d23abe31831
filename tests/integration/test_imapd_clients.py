#!/usr/bin/env python3
"""test_imapd_clients.py: real IMAP clients against sluice-imapd.

- mbsync (isync) syncs a mailbox of 1,000 messages both ways over
  implicit TLS (500 start on the server, 500 in a local Maildir, with
  flags on both sides), twice: the second run changes nothing; then a
  flag and a deletion on each side travel across.
- curl lists the mailboxes and fetches a message over imap:// with
  STARTTLS, and over imaps://.
- mutt, driven in a tmux pane, opens INBOX over TLS and reads a message.
Each client is skipped (with a note) when it is not installed.
"""
import os
import shutil
import subprocess
import time

from imapd_world import PASSWORD, World
from sluicetest import run

W = None
TOTAL = 1000


def world():
    global W
    if W is None:
        W = World(users=("alice", "bob"))
    return W


def crlf(text):
    return text.replace("\n", "\r\n").encode()


def have(program):
    if shutil.which(program) is None:
        print("  (%s is not installed: skipped)" % program)
        return False
    return True


def maildir_count(path):
    return sum(len(os.listdir(os.path.join(path, sub))) for sub in ("cur", "new"))


def maildir_names(path):
    return sorted(os.listdir(os.path.join(path, "cur")) + os.listdir(os.path.join(path, "new")))


def mbsync(rc):
    p = subprocess.run(["mbsync", "-c", rc, "-a"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, "mbsync failed:\n%s\n%s" % (p.stdout[-3000:], p.stderr[-3000:])
    return p.stdout + p.stderr


def server_uids(w, user, box="INBOX"):
    c = w.raw()
    c.cmd("l", "LOGIN %s %s" % (w.users[user], PASSWORD))
    c.cmd("s", "EXAMINE %s" % box)
    f, _, tagged = c.fetch("f", "FETCH 1:* (UID FLAGS)")
    c.close()
    assert tagged.startswith("f OK"), tagged
    return {int(v["UID"]): v["FLAGS"] for v in f.values()}


def test_mbsync():
    if not have("mbsync"):
        return
    w = world()
    half = TOTAL // 2
    # 500 on the server, appended 50 to a MULTIAPPEND
    c = w.raw()
    c.cmd("l", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
    for batch in range(0, half, 50):
        msgs = [crlf("From: s@example.org\nSubject: server %d\nMessage-ID: <s%d@x>\n\nbody %d\n"
                     % (i, i, i)) for i in range(batch, batch + 50)]
        cmd = b"m%d APPEND INBOX" % batch
        for i, data in enumerate(msgs):
            flags = b" (\\Seen)" if (batch + i) % 3 == 0 else b""
            cmd += flags + b" {%d+}\r\n" % len(data) + data
        c.send(cmd + b"\r\n")
        assert c.until_tagged("m%d" % batch)[-1].startswith("m%d OK" % batch)
    c.close()
    # 500 in the local Maildir
    local = os.path.join(w.tmp, "maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(local, "INBOX", sub))
    for i in range(half):
        flags = "FS" if i % 5 == 0 else "S"
        name = "%d.local%d.host:2,%s" % (1700000000 + i, i, flags)
        with open(os.path.join(local, "INBOX", "cur", name), "wb") as f:
            f.write(crlf("From: l@example.org\nSubject: local %d\nMessage-ID: <l%d@x>\n\nbody %d\n"
                         % (i, i, i)))
    rc = os.path.join(w.tmp, "mbsyncrc")
    with open(rc, "w") as f:
        # the certificate names localhost; mbsync checks DNS names only
        f.write("""IMAPAccount t
Host localhost
Port %d
User %s
Pass %s
SSLType IMAPS
CertificateFile %s

IMAPStore remote
Account t

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel c
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
Sync All
SyncState *
""" % (w.imaps_port, w.users["alice"], PASSWORD, w.cert, local, local))
    start = time.monotonic()
    out1 = mbsync(rc)
    first = time.monotonic() - start
    uids = server_uids(w, "alice")
    assert len(uids) == TOTAL, (len(uids), out1[-2000:])
    assert maildir_count(os.path.join(local, "INBOX")) == TOTAL
    flagged = sum(1 for fl in uids.values() if b"\\Flagged" in fl)
    seen = sum(1 for fl in uids.values() if b"\\Seen" in fl)
    assert flagged == half // 5 and seen == half + (half + 2) // 3, (flagged, seen)
    # the second run finds nothing to do: both sides stay exactly as they are
    before = dict(uids)
    files = maildir_names(os.path.join(local, "INBOX"))
    mbsync(rc)
    assert server_uids(w, "alice") == before, "the second run changed the server"
    assert maildir_names(os.path.join(local, "INBOX")) == files, "the second run changed the Maildir"
    # a change on each side: the server deletes one, the Maildir flags one
    c = w.raw()
    c.cmd("l", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
    c.cmd("s", "SELECT INBOX")
    c.cmd("d", "UID STORE 1 +FLAGS (\\Deleted)")
    c.cmd("e", "UID EXPUNGE 1")
    c.close()
    cur = os.path.join(local, "INBOX", "cur")
    name = sorted(n for n in os.listdir(cur) if "local7." in n)[0]
    os.rename(os.path.join(cur, name), os.path.join(cur, name.split(":2,")[0] + ":2,FRS"))
    mbsync(rc)
    uids = server_uids(w, "alice")
    assert len(uids) == TOTAL - 1 and 1 not in uids
    assert maildir_count(os.path.join(local, "INBOX")) == TOTAL - 1
    assert sum(1 for fl in uids.values() if b"\\Answered" in fl) == 1
    print("  (first sync of %d messages: %.1fs)" % (TOTAL, first))


def curl(w, url, *extra):
    p = subprocess.run(["curl", "-s", "-S", "--max-time", "30", "--user",
                        "%s:%s" % (w.users["bob"], PASSWORD)] + list(extra) + [url],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, "curl %s: %s" % (url, p.stderr)
    return p.stdout


def test_curl():
    if not have("curl"):
        return
    w = world()
    c = w.raw()
    c.cmd("l", "LOGIN %s %s" % (w.users["bob"], PASSWORD))
    data = crlf("From: curl@example.org\nSubject: for curl\n\nfetched by curl\n")
    c.send("a APPEND INBOX {%d+}\r\n" % len(data))
    c.send(data + b"\r\n")
    c.until_tagged("a")
    c.close()
    base = "imap://127.0.0.1:%d/" % w.imap_port
    listing = curl(w, base, "--ssl-reqd", "-k").decode()
    assert '* LIST (\\HasNoChildren) "/" "INBOX"' in listing, listing
    assert '"Sent"' in listing, listing
    body = curl(w, base + "INBOX;UID=1", "--ssl-reqd", "-k")
    assert body == data, body
    body = curl(w, "imaps://127.0.0.1:%d/INBOX;UID=1;SECTION=TEXT" % w.imaps_port, "-k")
    assert body == b"fetched by curl\r\n", body
    # a command of our own
    out = curl(w, base + "INBOX", "--ssl-reqd", "-k", "-X", "SEARCH SUBJECT curl").decode()
    assert "* SEARCH 1" in out, out


def tmux(*args):
    return subprocess.run(["tmux"] + list(args), capture_output=True, text=True, timeout=30)


def pane_until(session, want, timeout=20):
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = tmux("capture-pane", "-p", "-t", session).stdout
        if want in text:
            return text
        time.sleep(0.2)
    raise AssertionError("%r not on the screen:\n%s" % (want, text))


def test_mutt():
    if not have("mutt") or not have("tmux"):
        return
    w = world()
    c = w.raw()
    c.cmd("l", "LOGIN %s %s" % (w.users["bob"], PASSWORD))
    data = crlf("From: Mutt Tester <mutt@example.org>\nTo: bob@example.test\nSubject: Hello mutt\n"
                "Date: Mon, 6 Mar 2023 10:00:00 +0000\n\nThe body mutt shows.\n")
    c.send("a APPEND INBOX {%d+}\r\n" % len(data))
    c.send(data + b"\r\n")
    c.until_tagged("a")
    c.close()
    home = os.path.join(w.tmp, "mutthome")
    os.makedirs(home)
    rc = os.path.join(home, "muttrc")
    with open(rc, "w") as f:
        f.write('set folder="imaps://%s@127.0.0.1:%d/"\n' % (w.users["bob"].replace("@", "%40"),
                                                           w.imaps_port))
        f.write('set spoolfile="+INBOX"\nset imap_pass="%s"\n' % PASSWORD)
        f.write('set certificate_file="%s"\nset ssl_verify_host=no\n' % w.cert)
        f.write("set header_cache=\"\"\nset message_cachedir=\"\"\nset mail_check=60\n")
        f.write("set sort=date\nset pager_stop=yes\nset wait_key=no\nset move=no\n")
    session = "sluice-mutt-%d" % os.getpid()
    env = "HOME=%s TERM=xterm" % home
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40",
         "env %s mutt -n -F %s" % (env, rc))
    try:
        pane_until(session, "Hello mutt")
        tmux("send-keys", "-t", session, "Enter")
        screen = pane_until(session, "The body mutt shows.")
        assert "Mutt Tester" in screen, screen
        tmux("send-keys", "-t", session, "q")
        tmux("send-keys", "-t", session, "q")
        time.sleep(0.5)
    finally:
        tmux("kill-session", "-t", session)
    # mutt marked it read through the server
    assert server_uids(w, "bob")[1] == [b"\\Seen"]


def main():
    try:
        run([test_mbsync, test_curl, test_mutt])
    finally:
        if W is not None:
            W.close()


if __name__ == "__main__":
    main()
