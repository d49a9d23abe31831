"""qmgrtest: a queue, a database and a fake LMTP server for sluice-qmgr tests
(test_qmgr.py, test_sendmail.py).

QEnv() makes a fresh database (migrated by sluice-admin, with the domain
example.test: mailboxes alice, bob, carol, postmaster; alias
list@example.test -> bob@example.test, dave@remote.example), a queue folder,
a sluice.conf and a FakeLMTP on a UNIX socket. start_qmgr() runs the real
daemon; inject() queues through the real writer (tests/helpers/queue_inject).
"""
import email
import email.policy
import os
import shutil
import signal
import subprocess
import tempfile
import time

import sluicetest
from fake_lmtp import FakeLMTP
from sluicetest import build_path

QMGR = build_path("mta", "sluice-qmgr")
QUEUE = build_path("mta", "sluice-queue")
SENDMAIL = build_path("mta", "sluice-sendmail")
INJECT = build_path("tests", "helpers", "queue_inject")
ADMIN = build_path("admin-cli", "sluice-admin")
SUBS = ("incoming", "active", "deferred", "hold", "maildrop")

_db_url = None


def database():
    """One migrated database per test file, with the demo domain."""
    global _db_url
    if _db_url is None:
        url = sluicetest.fresh_database()
        d = tempfile.mkdtemp(prefix="sluice-qmgr-db-")
        conf = os.path.join(d, "admin.conf")
        with open(conf, "w") as f:
            f.write("db_url = %s\ndb_migrate_url = %s\nadmin_db_url = %s\n" % (url, url, url))

        def admin(*args):
            subprocess.run([ADMIN, "-c", conf] + list(args), check=True, capture_output=True,
                           timeout=60, start_new_session=True)
        admin("db", "migrate")
        admin("domain", "add", "example.test")
        for user in ("alice", "bob", "carol", "postmaster"):
            admin("mailbox", "add", "%s@example.test" % user, "--no-password")
        admin("alias", "add", "list@example.test", "bob@example.test", "dave@remote.example")
        shutil.rmtree(d, ignore_errors=True)
        _db_url = url
    return _db_url


class QEnv:
    def __init__(self, conf_extra=""):
        self.dir = tempfile.mkdtemp(prefix="sluice-qmgr-test-")
        os.chmod(self.dir, 0o755)
        self.queue = os.path.join(self.dir, "queue")
        self.lmtp_path = os.path.join(self.dir, "lmtp.sock")
        self.log_path = os.path.join(self.dir, "qmgr.log")
        self.conf = os.path.join(self.dir, "sluice.conf")
        url = database()
        with open(self.conf, "w") as f:
            f.write("queue_directory = %s\nqmgr_lmtp_socket = %s\ndb_url = %s\n"
                    "qmgr_hostname = mx.example.test\nsendmail_domain = example.test\n"
                    "qmgr_postmaster = postmaster@example.test\n%s"
                    % (self.queue, self.lmtp_path, url, conf_extra))
        self.lmtp = FakeLMTP(self.lmtp_path)
        self.proc = None
        self.log_file = open(self.log_path, "ab")
        self.queue_tool("init")
        assert oct(os.stat(os.path.join(self.queue, "maildrop")).st_mode & 0o7777) == "0o1733"

    def start_qmgr(self, wait=True):
        self.proc = subprocess.Popen([QMGR, "-c", self.conf], stdout=self.log_file,
                                     stderr=self.log_file)
        if wait:
            deadline = time.monotonic() + 20
            while "ready:" not in self.log():
                assert self.proc.poll() is None, "qmgr exited: %s" % self.log()
                assert time.monotonic() < deadline, "qmgr not ready: %s" % self.log()
                time.sleep(0.02)
        return self.proc

    def stop_qmgr(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        rc = self.proc.returncode if self.proc is not None else 0
        self.proc = None
        return rc

    def close(self):
        """Stop qmgr with SIGTERM: it must exit 0 (AddressSanitizer's leak check runs then)."""
        rc = 0
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        log = self.log()
        self.lmtp.stop()
        self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        assert rc == 0, "sluice-qmgr exited with %d:\n%s" % (rc, log[-6000:])

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def inject(self, sender, rcpts, content, *opts):
        if isinstance(content, str):
            content = content.encode()
        p = subprocess.run([INJECT, self.queue, sender] + list(opts) + list(rcpts), input=content,
                           capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        return p.stdout.decode().strip()

    def files(self, sub):
        try:
            return sorted(n for n in os.listdir(os.path.join(self.queue, sub)) if not n.startswith("."))
        except FileNotFoundError:
            return []

    def queued(self):
        return sum(len(self.files(s)) for s in SUBS)

    def wait(self, cond, timeout=20.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.02)
        raise AssertionError("timed out waiting for %s; qmgr log:\n%s" % (what, self.log()[-4000:]))

    def wait_empty(self, timeout=20.0):
        self.wait(lambda: self.queued() == 0, timeout, "an empty queue")

    def queue_tool(self, *args, check=True):
        p = subprocess.run([QUEUE, "-c", self.conf] + list(args), capture_output=True, text=True,
                           timeout=30)
        if check:
            assert p.returncode == 0, "%r: rc %d: %s" % (args, p.returncode, p.stderr)
        return p


def message(subject="test", body="hello\r\n", extra=""):
    return ("From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: %s\r\n"
            "Message-ID: <%s@example.test>\r\n%s\r\n%s" % (subject, subject.replace(" ", "."),
                                                           extra, body))


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.compat32)


def dsn_parts(data):
    """A DSN's three parts: (text, per-message fields, [per-recipient fields], returned part)."""
    m = parse(data)
    assert m.get_content_type() == "multipart/report", m.get_content_type()
    parts = m.get_payload()
    assert len(parts) == 3, len(parts)
    status = parts[1]
    assert status.get_content_type() in ("message/delivery-status",
                                         "message/global-delivery-status")
    blocks = status.get_payload()
    # compat32 parses message/delivery-status into a list of header blocks.
    fields = [dict((k.lower(), v) for k, v in b.items()) for b in blocks]
    return m, parts[0].get_payload(), fields[0], fields[1:], parts[2]
