"""storetest: what test_lmtpd.py and test_store.py share: a private
PostgreSQL cluster (they stop it to test outages) with the schema applied by
`sluice-admin db migrate`, a login role in sluice_mda for sluice-lmtpd and
one in sluice_admin, mailboxes made with sluice-admin, sluice-lmtpd started
as the `sluice` user (when we are root) on a UNIX socket, the store_probe
helper (lib/store.h from the command line), and an LMTP client that reads
one reply per recipient after DATA (RFC 2033 4.2).
"""
import os
import pwd
import shutil
import smtplib
import subprocess
import tempfile
import time

import sluicetest
from sluicetest import build_path, psql

ADMIN = build_path("admin-cli", "sluice-admin")
LMTPD = build_path("mda", "sluice-lmtpd")
PROBE = build_path("tests", "helpers", "store_probe")


def chown_sluice(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("sluice")
        os.chown(path, pw.pw_uid, pw.pw_gid)


class World:
    """A cluster, a migrated database, a mail root and daemons to clean up."""

    def __init__(self, prefix):
        self.cluster = sluicetest.PgCluster()
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.tmp, 0o755)
        chown_sluice(self.tmp)
        self.super_url = self.cluster.url("sluice")
        psql(self.cluster.url(), "CREATE DATABASE sluice")
        self.mail_root = os.path.join(self.tmp, "mail")
        os.mkdir(self.mail_root, 0o700)
        chown_sluice(self.mail_root)
        self.admin_conf = self.write_conf("admin", {"db_url": self.super_url,
                                                    "mail_root": self.mail_root})
        self.admin("db", "migrate")
        psql(self.super_url, "CREATE ROLE lmtpd_login LOGIN IN ROLE sluice_mda; "
                             "CREATE ROLE admin_login LOGIN IN ROLE sluice_admin")
        self.mda_url = self.cluster.url("sluice", user="lmtpd_login")
        # store check and quota recalc as the admin role, as in production
        self.write_conf("admin", {"db_url": self.super_url, "db_migrate_url": self.super_url,
                                  "admin_db_url": self.cluster.url("sluice", user="admin_login"),
                                  "mail_root": self.mail_root})
        self.probe_conf = self.write_conf("probe", {"lmtpd_db_url": self.mda_url,
                                                    "mail_root": self.mail_root})
        self.daemons = []

    def write_conf(self, name, values):
        path = os.path.join(self.tmp, name + ".conf")
        with open(path, "w") as f:
            for k, v in values.items():
                f.write("%s = %s\n" % (k, v))
        os.chmod(path, 0o644)
        return path

    def admin(self, *args, check=True, stdin=None):
        r = subprocess.run([ADMIN, "-c", self.admin_conf] + list(args), capture_output=True,
                           text=True, input=stdin, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("sluice-admin %s: %s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def mailbox(self, address, *options):
        self.admin("mailbox", "add", address, "--password-stdin", *options, stdin="pw-12345\n")

    def sql(self, query):
        return psql(self.super_url, query).strip()

    def probe(self, *args, check=True, binary=False):
        r = subprocess.run([PROBE, "-c", self.probe_conf] + list(args), capture_output=True,
                           timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("store_probe %s: %r %r" % (" ".join(args), r.stdout, r.stderr))
        if binary:
            return r.stdout
        out = {}
        for line in r.stdout.decode().splitlines():
            k, _, v = line.partition(" ")
            out.setdefault(k, []).append(v)
        return out

    def start_lmtpd(self, name="lmtpd", mail_root=None, **settings):
        sock = os.path.join(self.tmp, name + ".sock")
        values = {
            "lmtpd_db_url": self.mda_url,
            "lmtpd_socket": sock,
            "mail_root": mail_root or self.mail_root,
            "log_level": "info",
            "db_connect_timeout": "2s",
            "db_query_timeout": "5s",
            "db_wait_timeout": "2s",
            "lmtpd_hostname": "lmtp.test",
        }
        if os.geteuid() == 0:
            values["run_user"] = "sluice"
        values.update(settings)
        conf = self.write_conf(name, values)
        log = os.path.join(self.tmp, name + ".log")
        logf = open(log, "ab")
        proc = subprocess.Popen([LMTPD, "-c", conf], stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf)
        logf.close()
        proc.sock, proc.log, proc.conf = sock, log, conf
        self.daemons.append(proc)
        try:
            sluicetest.wait_for_socket(sock, 15)
        except TimeoutError:
            proc.kill()
            raise AssertionError("sluice-lmtpd did not start:\n" + open(log).read())
        return proc

    def stop(self, proc, sig=None):
        if proc.poll() is None:
            if sig is None:
                proc.terminate()
            else:
                proc.send_signal(sig)
            proc.wait(timeout=30)

    def close(self):
        for p in self.daemons:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def blob_path(self, storage_dir, blob, mail_root=None):
        return os.path.join(mail_root or self.mail_root, storage_dir, blob)

    def rows(self, address, folder="INBOX"):
        """(uid, blob, size, header_prefix) of a folder's messages, in UID order."""
        local, domain = address.split("@")
        out = self.sql("SELECT m.uid || '|' || m.blob || '|' || m.size || '|' || "
                       "replace(m.header_prefix, E'\\r\\n', '\\n') FROM messages m "
                       "JOIN folders f ON f.id = m.folder_id JOIN mailbox_directory d "
                       "ON d.id = f.mailbox_id WHERE d.local_part = '%s' AND d.domain = '%s' "
                       "AND f.name = '%s' ORDER BY m.uid" % (local, domain, folder))
        rows = [line.split("|", 3) for line in out.splitlines() if line]
        return [(u, b, s, p.replace("\\n", "\n")) for u, b, s, p in rows]

    def storage_dir(self, address):
        local, domain = address.split("@")
        return self.sql("SELECT storage_dir FROM mailbox_directory WHERE local_part = '%s' "
                        "AND domain = '%s'" % (local, domain))

    def usage(self, address):
        local, domain = address.split("@")
        out = self.sql("SELECT q.bytes || ' ' || q.messages || ' ' || q.warned_percent "
                       "FROM quota_usage q JOIN mailbox_directory d ON d.id = q.mailbox_id "
                       "WHERE d.local_part = '%s' AND d.domain = '%s'" % (local, domain))
        return tuple(int(x) for x in out.split()) if out else (0, 0, 0)


def message(subject="test", body="Hello.\r\n", msgid=None, extra=""):
    msgid = msgid or "<%s.%f@test>" % (subject.replace(" ", "-"), time.time())
    return ("From: Sender <sender@remote.test>\r\nTo: someone@example.test\r\n"
            "Subject: %s\r\nMessage-ID: %s\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n%s\r\n%s"
            % (subject, msgid, extra, body)).encode()


def deliver(sock, sender, rcpts, msg, timeout=30):
    """One LMTP transaction: ([RCPT replies], [DATA replies, one per accepted recipient])."""
    lmtp = smtplib.LMTP(sock, timeout=timeout)
    try:
        code, _ = lmtp.ehlo("client.test")
        assert code == 250
        code, resp = lmtp.mail(sender)
        assert code == 250, resp
        rcpt_replies = [lmtp.rcpt(r) for r in rcpts]
        accepted = [r for r, rep in zip(rcpts, rcpt_replies) if rep[0] == 250]
        data_replies = []
        if accepted:
            data_replies.append(lmtp.data(msg))
            for _ in accepted[1:]:
                data_replies.append(lmtp.getreply())
        lmtp.quit()
        return rcpt_replies, data_replies
    finally:
        lmtp.close()
