#!/usr/bin/env python3
"""test_lmtpd_sieve.py: delivery through Sieve in sluice-lmtpd, with real
scripts stored by `sluice-admin sieve put`, a real vacation from
`sluice-admin vacation set`, a private PostgreSQL and a real mail store. The
injection socket (smtpd_inject_socket) is a small SMTP server on a UNIX
socket in this process: it records what sluice-lmtpd submits (redirects,
vacation replies, reject notices) and hands messages for example.test on to
sluice-lmtpd over LMTP, as sluice-smtpd and sluice-qmgr would.
"""
import os
import re
import socket
import threading
import time

import storetest
from storetest import deliver, message
from sluicetest import run

W = None
LMTPD = None
SINK = None


class Sink:
    """An SMTP server on a UNIX socket: records messages, forwards local ones."""

    def __init__(self, path):
        self.path = path
        self.messages = []  # (mail_from, [rcpts], data bytes)
        self.lock = threading.Lock()
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        os.chmod(path, 0o777)
        self.srv.listen(8)
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        f = c.makefile("rb")
        c.sendall(b"220 sink ESMTP\r\n")
        frm, rcpts = None, []
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode().rstrip("\r\n")
                up = cmd.upper()
                if up.startswith("EHLO"):
                    c.sendall(b"250-sink\r\n250 8BITMIME\r\n")
                elif up.startswith("MAIL FROM:"):
                    frm, rcpts = cmd[10:].strip().strip("<>"), []
                    c.sendall(b"250 ok\r\n")
                elif up.startswith("RCPT TO:"):
                    rcpts.append(cmd[8:].strip().strip("<>"))
                    c.sendall(b"250 ok\r\n")
                elif up == "DATA":
                    c.sendall(b"354 go\r\n")
                    data = b""
                    while True:
                        l = f.readline()
                        if l in (b".\r\n", b""):
                            break
                        if l.startswith(b"."):
                            l = l[1:]
                        data += l
                    with self.lock:
                        self.messages.append((frm, rcpts, data))
                    local = [r for r in rcpts if r.endswith("@example.test")]
                    if local:
                        deliver(LMTPD.sock, frm, local, data)
                    c.sendall(b"250 queued\r\n")
                elif up == "QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"500 what\r\n")
        finally:
            f.close()
            c.close()

    def wait(self, n, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)

    def clear(self):
        with self.lock:
            self.messages.clear()

    def close(self):
        self.srv.close()


def setup():
    global W, LMTPD, SINK
    W = storetest.World("sluice-lmtpd-sieve-test-")
    W.admin("domain", "add", "example.test")
    for user in ("flags", "create", "disc", "rterr", "cerr", "erej", "rej", "redir", "target",
                 "vac", "cache", "notif", "global", "dup", "incl"):
        W.mailbox(user + "@example.test")
    SINK = Sink(os.path.join(W.tmp, "inject.sock"))
    LMTPD = W.start_lmtpd(smtpd_inject_socket=SINK.path)


def put_script(address, text, name="main", activate=True):
    path = os.path.join(W.tmp, "script.sieve")
    with open(path, "w") as f:
        f.write(text)
    W.admin("sieve", "put", address, name, path, *(["--activate"] if activate else []))


def log_text():
    with open(LMTPD.log) as f:
        return f.read()


def wait_log(pattern, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        if pattern in log_text():
            return True
        time.sleep(0.05)
    raise AssertionError("no log line with %r in:\n%s" % (pattern, log_text()[-3000:]))


def folder_rows(address, folder):
    local = address.split("@")[0]
    out = W.sql("SELECT m.flags || '|' || array_to_string(m.keywords, ',') FROM messages m "
                "JOIN folders f ON f.id = m.folder_id JOIN mailbox_directory d "
                "ON d.id = f.mailbox_id WHERE d.local_part = '%s' AND f.name = '%s' "
                "ORDER BY m.uid" % (local, folder))
    return [l for l in out.splitlines() if l]


def one(address, msg, sender="sender@remote.test"):
    rc, data = deliver(LMTPD.sock, sender, [address], msg)
    assert rc[0][0] == 250, rc
    return data[0]


def test_fileinto_flags():
    put_script("flags@example.test",
               'require ["fileinto", "imap4flags"];\r\n'
               'fileinto :flags ["\\\\Seen", "\\\\Flagged", "$Important"] "Junk";\r\n')
    code, _ = one("flags@example.test", message("flagged"))
    assert code == 250
    rows = folder_rows("flags@example.test", "Junk")
    # \Seen = 1, \Flagged = 4
    assert rows == ["5|$important"] or rows == ["5|$Important"], rows
    assert folder_rows("flags@example.test", "INBOX") == []


def test_fileinto_create():
    put_script("create@example.test",
               'require ["fileinto", "mailbox"];\r\nfileinto :create "Projects/Sluice";\r\n')
    code, _ = one("create@example.test", message("created"))
    assert code == 250
    assert len(folder_rows("create@example.test", "Projects/Sluice")) == 1
    # without :create a missing folder keeps the message in the INBOX
    put_script("create@example.test", 'require "fileinto";\r\nfileinto "Nowhere";\r\n')
    one("create@example.test", message("missing"))
    assert len(folder_rows("create@example.test", "INBOX")) == 1
    wait_log("folder Nowhere missing or not made")


def test_discard():
    put_script("disc@example.test", "discard;\r\n")
    code, text = one("disc@example.test", message("gone"))
    assert code == 250, text
    assert W.sql("SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id "
                 "JOIN mailbox_directory d ON d.id = f.mailbox_id "
                 "WHERE d.local_part = 'disc'") == "0"
    wait_log("to=<disc@example.test> discarded by filter")


def test_runtime_error_keeps():
    put_script("rterr@example.test",
               'require ["variables", "fileinto"];\r\nset "a" "not an address";\r\n'
               'fileinto "Junk";\r\nredirect "${a}";\r\n')
    code, _ = one("rterr@example.test", message("runtime"))
    assert code == 250
    assert len(folder_rows("rterr@example.test", "INBOX")) == 1
    assert folder_rows("rterr@example.test", "Junk") == []
    wait_log("sieve: mailbox rterr@example.test: runtime error at line 4")


def test_compile_error_keeps():
    # sieve put refuses a broken script: break it behind its back
    put_script("cerr@example.test", 'require "fileinto";\r\nfileinto "Junk";\r\n')
    W.sql("UPDATE sieve_scripts SET content = 'fileinto \"Junk\";', modified = now() "
          "WHERE mailbox_id = (SELECT id FROM mailbox_directory WHERE local_part = 'cerr')")
    code, _ = one("cerr@example.test", message("broken"))
    assert code == 250
    assert len(folder_rows("cerr@example.test", "INBOX")) == 1
    wait_log("sieve: mailbox cerr@example.test: script \"main\": compile error")


def test_ereject():
    put_script("erej@example.test", 'require "ereject";\r\nereject "Go away\r\nnow";\r\n')
    rc, data = deliver(LMTPD.sock, "sender@remote.test", ["erej@example.test",
                                                          "flags@example.test"],
                       message("ereject"))
    assert data[0][0] == 550, data
    assert data[0][1].decode().startswith("5.7.1 <erej@example.test> Go away now"), data
    assert data[1][0] == 250, data
    assert folder_rows("erej@example.test", "INBOX") == []


def test_reject_notice():
    SINK.clear()
    put_script("rej@example.test", 'require "reject";\r\nreject "No thanks.";\r\n')
    code, _ = one("rej@example.test", message("reject"), sender="someone@remote.test")
    assert code == 250
    msgs = SINK.wait(1)
    assert len(msgs) == 1, msgs
    frm, rcpts, data = msgs[0]
    assert frm == "" and rcpts == ["someone@remote.test"], msgs
    assert b"multipart/report; report-type=delivery-status" in data
    assert b"No thanks." in data and b"Final-Recipient: rfc822; rej@example.test" in data
    assert b"Subject: reject" in data  # the original header comes back
    assert folder_rows("rej@example.test", "INBOX") == []
    # never to the null sender
    SINK.clear()
    code, _ = one("rej@example.test", message("reject2"), sender="")
    assert code == 250
    time.sleep(0.3)
    assert SINK.wait(1, timeout=0.5) == []


def test_redirect():
    SINK.clear()
    put_script("redir@example.test", 'redirect "target@example.test";\r\n')
    code, _ = one("redir@example.test", message("redirected"), sender="orig@remote.test")
    assert code == 250
    msgs = SINK.wait(1)
    assert msgs[0][0] == "orig@remote.test" and msgs[0][1] == ["target@example.test"], msgs
    assert msgs[0][2].startswith(b"X-Sluice-Loop: redir@example.test\r\n"), msgs[0][2][:80]
    rows = W.rows("target@example.test")
    assert len(rows) == 1 and "Return-Path: <orig@remote.test>" in rows[0][3], rows
    # redirect consumed the keep
    assert folder_rows("redir@example.test", "INBOX") == []
    # the injection socket down: 451 for that recipient, nothing stored
    os.rename(SINK.path, SINK.path + ".off")
    try:
        rc, data = deliver(LMTPD.sock, "orig@remote.test", ["redir@example.test"],
                           message("later"))
        assert data[0][0] == 451 and data[0][1].startswith(b"4.3.0"), data
    finally:
        os.rename(SINK.path + ".off", SINK.path)
    assert folder_rows("redir@example.test", "INBOX") == []
    assert len(W.rows("target@example.test")) == 1


def test_redirect_editheader():
    SINK.clear()
    put_script("redir@example.test",
               'require "editheader";\r\naddheader "X-Tag" "via sieve";\r\n'
               'redirect "target@example.test";\r\n')
    one("redir@example.test", message("edited", body="Body text.\r\n"), sender="o@remote.test")
    msgs = SINK.wait(1)
    data = msgs[0][2]
    assert data.startswith(b"X-Sluice-Loop: redir@example.test\r\nX-Tag: via sieve\r\n"), data
    assert b"Subject: edited\r\n" in data and data.endswith(b"\r\n\r\nBody text.\r\n"), data
    assert len(W.rows("target@example.test")) == 2


def test_vacation_once():
    SINK.clear()
    W.admin("vacation", "set", "vac@example.test", "--subject", "Away", "--body-file", "-",
            stdin="I am away.\n")
    msg = message("hello", msgid="<first@remote.test>",
                  extra="").replace(b"To: someone@example.test", b"To: vac@example.test")
    one("vac@example.test", msg, sender="friend@remote.test")
    msgs = SINK.wait(1)
    assert len(msgs) == 1, msgs
    frm, rcpts, data = msgs[0]
    assert frm == "" and rcpts == ["friend@remote.test"], msgs
    assert b"Auto-Submitted: auto-replied" in data
    assert b"In-Reply-To: <first@remote.test>" in data
    assert b"Subject: Away" in data and b"I am away." in data
    assert b"To: <friend@remote.test>" in data
    assert W.sql("SELECT count(*) FROM sieve_vacation_replies WHERE sender = "
                 "'friend@remote.test'") == "1"
    # the message itself is kept
    assert len(folder_rows("vac@example.test", "INBOX")) == 1
    msg2 = message("again", msgid="<second@remote.test>").replace(
        b"To: someone@example.test", b"To: vac@example.test")
    one("vac@example.test", msg2, sender="friend@remote.test")
    time.sleep(0.3)
    assert len(SINK.wait(2, timeout=0.5)) == 1
    assert len(folder_rows("vac@example.test", "INBOX")) == 2


def test_cache_recompiles():
    put_script("cache@example.test", 'require "fileinto";\r\nfileinto "Junk";\r\n')
    one("cache@example.test", message("one"))
    one("cache@example.test", message("two"))
    assert len(folder_rows("cache@example.test", "Junk")) == 2
    put_script("cache@example.test", 'require "fileinto";\r\nfileinto "Trash";\r\n')
    one("cache@example.test", message("three"))
    assert len(folder_rows("cache@example.test", "Trash")) == 1
    assert len(folder_rows("cache@example.test", "Junk")) == 2


def test_cache_compiles_once():
    before = log_text().count("compiled script")
    put_script("cache@example.test", 'require "fileinto";\r\nfileinto "Archive";\r\n')
    for i in range(3):
        one("cache@example.test", message("cached%d" % i))
    assert len(folder_rows("cache@example.test", "Archive")) == 3
    assert log_text().count("compiled script") == before + 1


def test_cache_sees_included_change():
    put_script("incl@example.test", 'require "fileinto";\r\nfileinto "Junk";\r\n', name="sub",
               activate=False)
    put_script("incl@example.test", 'require "include";\r\ninclude :personal "sub";\r\n')
    one("incl@example.test", message("via include"))
    assert len(folder_rows("incl@example.test", "Junk")) == 1
    put_script("incl@example.test", 'require "fileinto";\r\nfileinto "Trash";\r\n', name="sub",
               activate=False)
    one("incl@example.test", message("changed include"))
    assert len(folder_rows("incl@example.test", "Trash")) == 1


def test_create_special_use():
    W.sql("DELETE FROM folders WHERE name = 'Archive' AND mailbox_id = "
          "(SELECT id FROM mailbox_directory WHERE local_part = 'create')")
    put_script("create@example.test",
               'require ["fileinto", "mailbox"];\r\nfileinto :create "Archive";\r\n')
    one("create@example.test", message("archived"))
    assert len(folder_rows("create@example.test", "Archive")) == 1
    assert W.sql("SELECT special_use FROM folders WHERE name = 'Archive' AND mailbox_id = "
                 "(SELECT id FROM mailbox_directory WHERE local_part = 'create')") == "\\Archive"


def test_notify():
    SINK.clear()
    put_script("notif@example.test",
               'require "enotify";\r\nnotify :message "You have mail" '
               '"mailto:alerts@remote.test";\r\n')
    one("notif@example.test", message("notify me"))
    msgs = SINK.wait(1)
    assert len(msgs) == 1, msgs
    frm, rcpts, data = msgs[0]
    assert frm == "" and rcpts == ["alerts@remote.test"], msgs
    assert b"Auto-Submitted: auto-notified" in data and b"You have mail" in data
    assert len(folder_rows("notif@example.test", "INBOX")) == 1


def test_global_before_after():
    gdir = os.path.join(W.tmp, "global")
    os.mkdir(gdir)
    with open(os.path.join(gdir, "spam.sieve"), "w") as f:
        f.write('require "fileinto";\r\nif header :contains "subject" "SPAM" '
                '{ fileinto "Junk"; stop; }\r\n')
    with open(os.path.join(gdir, "last.sieve"), "w") as f:
        f.write('require "fileinto";\r\nfileinto "Archive";\r\n')
    os.chmod(gdir, 0o755)
    d = W.start_lmtpd(name="lmtpd-global", smtpd_inject_socket=SINK.path,
                      sieve_global_dir=gdir, sieve_before="spam", sieve_after="last")
    try:
        put_script("global@example.test", 'require "fileinto";\r\nfileinto "Trash";\r\n')
        rc, data = deliver(d.sock, "s@remote.test", ["global@example.test"],
                           message("buy SPAM now"))
        assert data[0][0] == 250, data
        assert len(folder_rows("global@example.test", "Junk")) == 1
        assert folder_rows("global@example.test", "Trash") == []
        # the user's fileinto cancels the implicit keep: "after" does not run
        deliver(d.sock, "s@remote.test", ["global@example.test"], message("normal"))
        assert len(folder_rows("global@example.test", "Trash")) == 1
        assert folder_rows("global@example.test", "Archive") == []
        # no user script: the "after" script files it
        W.admin("sieve", "deactivate", "global@example.test")
        deliver(d.sock, "s@remote.test", ["global@example.test"], message("plain"))
        assert len(folder_rows("global@example.test", "Archive")) == 1
    finally:
        W.stop(d)


def test_duplicate():
    put_script("dup@example.test",
               'require ["duplicate", "fileinto"];\r\nif duplicate { fileinto "Trash"; }\r\n')
    one("dup@example.test", message("dup", msgid="<same@remote.test>"))
    one("dup@example.test", message("dup", msgid="<same@remote.test>"))
    one("dup@example.test", message("dup", msgid="<other@remote.test>"))
    assert len(folder_rows("dup@example.test", "INBOX")) == 2
    assert len(folder_rows("dup@example.test", "Trash")) == 1
    assert W.sql("SELECT count(*) FROM sieve_duplicates d JOIN mailbox_directory m "
                 "ON m.id = d.mailbox_id WHERE m.local_part = 'dup'") == "2"


def test_database_failure_tempfails():
    before = len(folder_rows("flags@example.test", "Junk"))
    W.sql("REVOKE SELECT ON sieve_scripts FROM sluice_mda")
    try:
        rc, data = deliver(LMTPD.sock, "s@remote.test", ["flags@example.test"],
                           message("no scripts"))
        assert data[0][0] == 451 and data[0][1].startswith(b"4.3.0"), data
    finally:
        W.sql("GRANT SELECT ON sieve_scripts TO sluice_mda")
    wait_log("sieve: mailbox flags@example.test: loading the script:")
    code, _ = one("flags@example.test", message("scripts again"))
    assert code == 250
    assert len(folder_rows("flags@example.test", "Junk")) == before + 1


def test_no_sanitizer_reports():
    text = log_text()
    assert "AddressSanitizer" not in text and not re.search(r"\.c:\d+:\d+: runtime error", text), \
        text[-3000:]


def teardown():
    if SINK is not None:
        SINK.close()
    if W is not None:
        W.close()


if __name__ == "__main__":
    try:
        setup()
        run([test_fileinto_flags, test_fileinto_create, test_discard, test_runtime_error_keeps,
             test_compile_error_keeps, test_ereject, test_reject_notice, test_redirect,
             test_redirect_editheader, test_vacation_once, test_cache_recompiles,
             test_cache_compiles_once, test_cache_sees_included_change, test_create_special_use,
             test_notify, test_global_before_after, test_duplicate, test_database_failure_tempfails,
             test_no_sanitizer_reports])
    finally:
        teardown()
