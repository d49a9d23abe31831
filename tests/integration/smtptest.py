"""smtptest: what the sluice-smtpd integration tests share.

- World: a private PostgreSQL cluster (the tests stop it to simulate an
  outage), the schema from `sluice-admin db migrate`, login roles that are
  members of sluice_mta and sluice_authd as in production, test data made
  with sluice-admin, a self-signed certificate and a running sluice-authd.
- Smtpd: one sluice-smtpd with its own sluice.conf, ports and queue folder;
  reload() rewrites the file and sends SIGHUP.
- read_queue(): a queue file parsed as docs/queue-format.md describes it.
- Raw: a byte-level client for what smtplib will not send (bare LF, pipelined
  STARTTLS, overlong lines).
Daemons run as the `sluice` user when the tests run as root.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import sluicetest
from sluicetest import build_path, psql

SMTPD = build_path("mta", "sluice-smtpd")
AUTHD = build_path("auth", "sluice-authd")
ADMIN = build_path("admin-cli", "sluice-admin")

PASSWORDS = {
    "alice@example.test": "alice-Secret-1",
    "bob@example.test": "bob-Secret-2",
    "carol@example.test": "carol-Secret-3",
    "webapp@example.test": "webapp-Secret-4",
    "dave@two.test": "dave-Secret-5",
}


def as_sluice(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("sluice")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def xtext_decode(b):
    out, i = bytearray(), 0
    while i < len(b):
        if b[i:i + 1] == b"+":
            out.append(int(b[i + 1:i + 3], 16))
            i += 3
        else:
            out += b[i:i + 1]
            i += 1
    return out.decode()


def read_queue(path):
    """A queue file: (envelope dict, list of recipient dicts, content bytes)."""
    data = open(path, "rb").read()
    head, content = data.split(b"\ndata\n", 1)
    lines = head.split(b"\n")
    assert lines[0] == b"SLUICE-QUEUE 1", lines[0]
    env, rcpts = {}, []
    for line in lines[1:]:
        key, _, rest = line.partition(b" ")
        if key == b"rcpt":
            fields = rest[19:].split(b" ")
            notify = rest[12:16].decode()
            rcpts.append({
                "status": rest[0:1].decode(),
                "notify": "".join(c for c in notify if c != "-"),
                "local": rest[17:18] == b"L",
                "address": xtext_decode(fields[0]),
                "orcpt": None if fields[1] == b"-" else xtext_decode(fields[1]),
                "given": None if fields[2] == b"-" else xtext_decode(fields[2]),
            })
        elif key in (b"sender", b"envid", b"auth", b"client", b"helo", b"origin"):
            env[key.decode()] = xtext_decode(rest)
        else:
            env[key.decode()] = rest.decode()
    return env, rcpts, content


def populate(a, super_url):
    """The test data, made with sluice-admin (a runs it) as an administrator would."""
    a("domain", "add", "example.test")
    a("domain", "add", "two.test")
    a("domain", "add", "relay.test", "--backup-mx")
    a("domain", "add", "off.test")
    a("alias-domain", "add", "alias.test", "example.test")
    for user in ("alice", "bob", "carol", "webapp", "full", "off", "small"):
        address = user + "@example.test"
        a("mailbox", "add", address, "--password-stdin",
          stdin=PASSWORDS.get(address, "x-Secret-9") + "\n")
    a("mailbox", "add", "dave@two.test", "--password-stdin", stdin=PASSWORDS["dave@two.test"] + "\n")
    a("mailbox", "add", "eve@off.test", "--password-stdin", stdin="eve-Secret-0\n")
    a("domain", "edit", "off.test", "--active", "no")
    a("mailbox", "edit", "webapp@example.test", "--send-as-domain", "yes")
    a("mailbox", "edit", "off@example.test", "--active", "no")
    a("mailbox", "edit", "full@example.test", "--quota", "10K")
    a("mailbox", "edit", "small@example.test", "--quota", "50K")
    a("alias", "add", "team@example.test", "alice@example.test", "bob@example.test")
    a("alias", "add", "sales@example.test", "team@example.test", "friend@remote.test")
    a("alias", "add", "bob@example.test", "bob@example.test", "carol@example.test")
    a("alias", "add", "fwd@example.test", "someone@remote.test")
    a("alias", "add", "fullonly@example.test", "full@example.test")
    a("alias", "add", "fullmix@example.test", "full@example.test", "alice@example.test")
    a("alias", "add", "postmaster@example.test", "alice@example.test")
    a("alias", "add", "@two.test", "dave@two.test")
    a("alias", "add", "gone@example.test", "alice@example.test", "ghost@example.test", "--force")
    # Usage is the delivery agent's to count; here it is set as if full was full.
    psql(super_url, "UPDATE quota_usage SET bytes = 10240, messages = 3 WHERE mailbox_id = "
                    "(SELECT id FROM mailboxes WHERE local_part = 'full')")
    psql(super_url, "UPDATE quota_usage SET bytes = 40960 WHERE mailbox_id = "
                    "(SELECT id FROM mailboxes WHERE local_part = 'small')")
    # A loop the admin tool would refuse, as an old or hand-edited database may hold it.
    psql(super_url, "INSERT INTO aliases (domain_id, local_part) SELECT id, l FROM domains, "
                    "unnest(ARRAY['loop1', 'loop2']) AS l WHERE name = 'example.test'; "
                    "INSERT INTO alias_destinations SELECT a.id, x.d FROM aliases a JOIN (VALUES "
                    "('loop1', 'loop2@example.test'), ('loop2', 'loop1@example.test')) "
                    "AS x(l, d) ON a.local_part = x.l")


class World:
    """The cluster, the data, the certificate and sluice-authd."""

    def __init__(self):
        self.cluster = sluicetest.PgCluster()
        self.tmp = tempfile.mkdtemp(prefix="sluice-smtpd-test-")
        os.chmod(self.tmp, 0o755)
        as_sluice(self.tmp)
        self.super_url = self.cluster.url("sluice")
        psql(self.cluster.url(), "CREATE DATABASE sluice")
        self.admin_conf = os.path.join(self.tmp, "admin.conf")
        with open(self.admin_conf, "w") as f:
            f.write("db_url = %s\n" % self.super_url)
        self.admin("db", "migrate")
        psql(self.super_url, "CREATE ROLE mta_login LOGIN IN ROLE sluice_mta; "
                             "CREATE ROLE authd_login LOGIN IN ROLE sluice_authd")
        self.mta_url = self.cluster.url("sluice", user="mta_login")
        self.populate()
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=mx.test",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True)
        for p in (self.cert, self.key):
            as_sluice(p)
        self.auth_sock = os.path.join(self.tmp, "auth.sock")
        self.procs = []
        self.start_authd()

    def admin(self, *args, stdin=None):
        return subprocess.run([ADMIN, "-c", self.admin_conf] + list(args), input=stdin,
                              check=True, capture_output=True, text=True).stdout

    def populate(self):
        populate(self.admin, self.super_url)

    def start_authd(self):
        conf = os.path.join(self.tmp, "authd.conf")
        values = {
            "authd_db_url": self.cluster.url("sluice", user="authd_login"),
            "auth_socket": self.auth_sock,
            "authd_penalty_initial": "0",
            "authd_penalty_max": "0",
            "db_connect_timeout": "2s",
            "db_query_timeout": "2s",
        }
        if os.geteuid() == 0:
            values["run_user"] = "sluice"
        with open(conf, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in values.items()))
        log = open(os.path.join(self.tmp, "authd.log"), "wb")
        p = subprocess.Popen([AUTHD, "-c", conf], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.procs.append(p)
        sluicetest.wait_for_socket(self.auth_sock, 15)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Smtpd:
    """A running sluice-smtpd."""

    def __init__(self, world, name, queue_dir=None, **settings):
        self.world = world
        self.dir = os.path.join(world.tmp, name)
        os.mkdir(self.dir)
        as_sluice(self.dir)
        self.conf = os.path.join(self.dir, "sluice.conf")
        self.log_path = os.path.join(self.dir, "smtpd.log")
        self.queue = queue_dir or os.path.join(self.dir, "queue")
        self.port = sluicetest.free_port()
        self.submission_port = sluicetest.free_port()
        self.submissions_port = sluicetest.free_port()
        self.inject = os.path.join(self.dir, "inject.sock")
        self.settings = {
            "db_url": world.mta_url,
            "auth_socket": world.auth_sock,
            "queue_directory": self.queue,
            "tls_cert_file": world.cert,
            "tls_key_file": world.key,
            "smtpd_listen": "127.0.0.1:%d" % self.port,
            "smtpd_submission_listen": "127.0.0.1:%d" % self.submission_port,
            "smtpd_submissions_listen": "127.0.0.1:%d" % self.submissions_port,
            "smtpd_inject_socket": self.inject,
            "smtpd_hostname": "mx.test",
            "smtpd_postmaster": "postmaster@example.test",
            "smtpd_queue_min_free": "0",
            "smtpd_connection_rate": "0",
            "trusted_networks": "127.0.0.2/32",
            "log_level": "debug",
            "db_connect_timeout": "2s",
            "db_query_timeout": "2s",
            "db_wait_timeout": "2s",
        }
        if os.geteuid() == 0:
            self.settings["run_user"] = "sluice"
        self.settings.update(settings)
        self.write_conf()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([SMTPD, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log)
        log.close()
        world.procs.append(self.proc)
        try:
            sluicetest.wait_for_socket(self.port, 15)
            sluicetest.wait_for_socket(self.inject, 15)
        except TimeoutError:
            self.proc.kill()
            raise AssertionError("sluice-smtpd did not start:\n" + self.log())

    def write_conf(self):
        with open(self.conf + ".new", "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in self.settings.items() if kv[1] is not None))
        os.rename(self.conf + ".new", self.conf)

    def reload(self, **settings):
        """Change settings and SIGHUP; returns once the reload is logged."""
        before = self.log().count("reloaded ")
        self.settings.update(settings)
        self.write_conf()
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.log().count("reloaded ") == before:
            assert time.monotonic() < deadline, "no reload:\n" + self.log()[-2000:]
            time.sleep(0.02)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=5):
        """Wait until the log matches the regex; returns the match."""
        deadline = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log())
            if m:
                return m
            assert time.monotonic() < deadline, "no %r in the log:\n%s" % (pattern, self.log()[-3000:])
            time.sleep(0.02)

    def incoming(self):
        d = os.path.join(self.queue, "incoming")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def queued(self, qid):
        return read_queue(os.path.join(self.queue, "incoming", qid))

    def clear_queue(self):
        for name in self.incoming():
            os.unlink(os.path.join(self.queue, "incoming", name))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def queue_id(reply_text):
    """The id in "2.0.0 Ok: queued as ID"."""
    m = re.search(r"queued as ([0-9A-Z]{16})", reply_text)
    assert m, reply_text
    return m.group(1)


class Raw:
    """A byte-level SMTP client."""

    def __init__(self, port=None, path=None, source="127.0.0.1", timeout=20):
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                                 source_address=(source, 0))
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("closed; buffered %r" % self.buf)
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode(errors="replace")

    def reply(self):
        """One whole reply: (code, [texts])."""
        texts = []
        while True:
            line = self.line()
            texts.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), texts

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def starttls(self):
        self.sock = tls_context().wrap_socket(self.sock, server_hostname="mx.test")
        self.buf = b""

    def close(self):
        self.sock.close()
