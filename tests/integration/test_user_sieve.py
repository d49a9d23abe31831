"""Sieve as a user meets it, on a stack brought up by deploy/quickstart:
sieve-connect uploads a script with an error (the error and its line come
back), then a good one, and activates it; a message sent through sluice-smtpd
is filed by it into a folder, flagged, and seen there over IMAP. A redirect
reaches another mailbox through the injection socket. `sluice-admin vacation
set` answers the first message of a sender once, not the second, and a
vacation whose --until is past answers nothing."""
import imaplib
import os
import shutil
import subprocess
import tempfile
import time

import sluicetest
from test_quickstart import quickstart, read_env

SCRIPT_BAD = b'require ["fileinto"];\nif header :contains "subject" "report" {\n  fileinto "Work"\n}\n'
SCRIPT_GOOD = (b'require ["fileinto", "imap4flags", "mailbox"];\n'
               b'if header :contains "subject" "report" {\n'
               b'  fileinto :create :flags "\\\\Flagged" "Work";\n}\n')


class Stack:
    def __init__(self):
        self.var = tempfile.mkdtemp(prefix="sluice-qs-sieve-")
        self.env = dict(os.environ, QUICKSTART_VAR=self.var, QUICKSTART_BUILDDIR=sluicetest.BUILD)
        for name in ("PG", "SMTP", "SUBMISSION", "SMTPS", "SIEVE", "IMAP", "IMAPS"):
            self.env["QUICKSTART_%s_PORT" % name] = str(sluicetest.free_port())
        r = quickstart(self.env)
        assert r.returncode == 0, r.stdout + r.stderr
        self.facts = read_env(os.path.join(self.var, "quickstart.env"))
        self.admin_bin = os.path.join(self.facts["SLUICE_BIN"], "admin-cli", "sluice-admin")

    def admin(self, *args, stdin=None):
        r = subprocess.run([self.admin_bin, "-c", self.facts["SLUICE_CONF"]] + list(args), input=stdin,
                           capture_output=True, timeout=60)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout.decode()

    def sieve_connect(self, *args):
        """Run sieve-connect as the demo user; the password comes through a pipe."""
        rfd, wfd = os.pipe()
        os.write(wfd, (self.facts["DEMO_PASSWORD"] + "\n").encode())
        os.close(wfd)
        try:
            return subprocess.run(["sieve-connect", "--server", "127.0.0.1", "--port", self.facts["SIEVE_PORT"],
                                   "--user", self.facts["DEMO_USER"], "--notlsverify", "--passwordfd",
                                   str(rfd)] + list(args), pass_fds=(rfd,), capture_output=True, text=True,
                                  timeout=60)
        finally:
            os.close(rfd)

    def send(self, to, sender, subject):
        r = subprocess.run(["swaks", "--to", to, "--from", sender, "--server",
                            "127.0.0.1:" + self.facts["SMTP_PORT"], "--header", "Subject: " + subject],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr

    def imap(self, user, password):
        m = imaplib.IMAP4("127.0.0.1", int(self.facts["IMAP_PORT"]))
        m.login(user, password)
        return m

    def wait_count(self, user, password, folder, want, timeout=30):
        """Wait until folder holds `want` messages; returns the IMAP session with it selected."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.imap(user, password)
            typ, data = m.select(folder)
            if typ == "OK" and int(data[0]) >= want:
                return m
            m.logout()
            assert time.monotonic() < deadline, (folder, typ, data)
            time.sleep(0.2)

    def close(self):
        quickstart(self.env, "stop")
        shutil.rmtree(self.var, ignore_errors=True)


S = None


def test_sieve_connect_files_into_folder():
    d = tempfile.mkdtemp()
    bad, good = os.path.join(d, "bad.sieve"), os.path.join(d, "good.sieve")
    with open(bad, "wb") as f:
        f.write(SCRIPT_BAD)
    with open(good, "wb") as f:
        f.write(SCRIPT_GOOD)
    r = S.sieve_connect("--upload", "--localsieve", bad, "--remotesieve", "bad")
    assert r.returncode != 0 and "line 4" in r.stdout + r.stderr, r.stdout + r.stderr
    r = S.sieve_connect("--upload", "--localsieve", good, "--remotesieve", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    r = S.sieve_connect("--activate", "--remotesieve", "rules")
    assert r.returncode == 0, r.stdout + r.stderr
    r = S.sieve_connect("--list")
    assert '"rules" ACTIVE' in r.stdout, r.stdout + r.stderr
    S.send(S.facts["DEMO_USER"], "boss@example.net", "monthly report")
    S.send(S.facts["DEMO_USER"], "boss@example.net", "lunch")
    m = S.wait_count(S.facts["DEMO_USER"], S.facts["DEMO_PASSWORD"], "Work", 1)
    typ, data = m.fetch("1", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"\\Flagged" in data[0][0] and b"monthly report" in data[0][1], data
    m.logout()
    m = S.wait_count(S.facts["DEMO_USER"], S.facts["DEMO_PASSWORD"], "INBOX", 1)
    typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"lunch" in data[0][1] and b"report" not in b"".join(x[1] for x in data if isinstance(x, tuple))
    m.logout()
    shutil.rmtree(d)


def test_redirect_reaches_other_mailbox():
    S.admin("mailbox", "add", "carol@example.test", "--password-stdin", stdin=b"carol-pass-1\n")
    S.admin("sieve", "put", S.facts["DEMO_USER"], "fwd", "-", "--activate",
            stdin=b'redirect "carol@example.test";\n')
    S.send(S.facts["DEMO_USER"], "boss@example.net", "forward me")
    m = S.wait_count("carol@example.test", "carol-pass-1", "INBOX", 1)
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT X-SLUICE-LOOP)])")
    assert b"forward me" in data[0][1] and b"X-Sluice-Loop: demo@example.test" in data[0][1], data
    m.logout()
    S.admin("sieve", "deactivate", S.facts["DEMO_USER"])


def test_vacation_once_and_ends():
    S.admin("mailbox", "add", "alice@example.test", "--password-stdin", stdin=b"alice-pass-1\n")
    body = os.path.join(S.var, "vacation.txt")
    with open(body, "w") as f:
        f.write("I am away until Monday.\n")
    S.admin("vacation", "set", S.facts["DEMO_USER"], "--subject", "Out of office", "--body-file", body)
    S.send(S.facts["DEMO_USER"], "alice@example.test", "hello 1")
    m = S.wait_count("alice@example.test", "alice-pass-1", "INBOX", 1)
    typ, data = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT AUTO-SUBMITTED)])")
    assert b"Out of office" in data[0][1] and b"auto-replied" in data[0][1], data
    m.logout()
    S.send(S.facts["DEMO_USER"], "alice@example.test", "hello 2")
    S.wait_count(S.facts["DEMO_USER"], S.facts["DEMO_PASSWORD"], "INBOX", 3).logout()
    time.sleep(2)  # a second reply, if one were (wrongly) sent, would be queued by now
    m = S.imap("alice@example.test", "alice-pass-1")
    assert m.select("INBOX")[1] == [b"1"]
    m.logout()
    # A vacation that ended yesterday answers nobody: it stops by itself.
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))
    S.admin("vacation", "set", S.facts["DEMO_USER"], "--subject", "Old holiday", "--body-file", body,
            "--until", yesterday)
    S.send(S.facts["DEMO_USER"], "alice@example.test", "are you back")
    S.wait_count(S.facts["DEMO_USER"], S.facts["DEMO_PASSWORD"], "INBOX", 4).logout()
    time.sleep(2)
    m = S.imap("alice@example.test", "alice-pass-1")
    assert m.select("INBOX")[1] == [b"1"]
    m.logout()


if __name__ == "__main__":
    S = Stack()
    try:
        sluicetest.run([test_sieve_connect_files_into_folder, test_redirect_reaches_other_mailbox,
                        test_vacation_once_and_ends])
    finally:
        S.close()
