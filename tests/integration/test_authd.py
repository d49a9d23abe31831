#!/usr/bin/env python3
"""test_authd.py: sluice-authd against a real private PostgreSQL.

The cluster is this test's own (it stops and restarts it to simulate an
outage). The schema comes from `sluice-admin db migrate` when that is built,
else from schema/0001_initial.sql through psql. Hashes are made by Dovecot's
`doveadm pw` (SHA512-CRYPT, the legacy scheme, and ARGON2ID). The daemon runs
as the `sluice` user when we are root, with its own login role that is a
member of sluice_authd, as in production. Requests go over the socket with a
tiny Python client, and through lib/auth_client.c via auth_client_probe.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

import sluicetest
from sluicetest import build_path, psql, run

AUTHD = build_path("auth", "sluice-authd")
PROBE = build_path("tests", "helpers", "auth_client_probe")
ADMIN = build_path("admin-cli", "sluice-admin")

# Penalties short enough for a test run: 200 ms doubling to an 800 ms cap.
INITIAL = 0.200
CAP = 0.800
# Scheduling and verification (SHA512-crypt, argon2id) on a busy sanitized build.
SLACK = 0.6

PASSWORDS = {
    "Bob@example.test": "bob-Secret-1",
    "alice@example.test": "alice-Argon-2",
    "legacy@example.test": "legacy-Pass-3",
    "off@example.test": "off-Pass-4",
    "carol@inactive.test": "carol-Pass-5",
    "hans@xn--bcher-kva.test": "hans-Pass-6",
    "weird@example.test": "we\tird\\pa ss\nword\r!",
}
# Users whose failures the penalty tests provoke: each test has its own.
for _name in ("dave", "erin", "frank", "gina", "henry", "ivan", "judy"):
    PASSWORDS["%s@example.test" % _name] = "%s-Right-7" % _name


def doveadm_hash(scheme, password):
    out = subprocess.run(["doveadm", "pw", "-s", scheme, "-p", password], check=True,
                         capture_output=True, text=True).stdout.strip()
    assert out.startswith("{%s}" % scheme), out
    return out


def sql_quote(s):
    return "'" + s.replace("'", "''") + "'"


class World:
    """The cluster, the database and a running sluice-authd."""

    def __init__(self):
        self.cluster = sluicetest.PgCluster()
        # Like /var/lib/sluice: the daemon's own folder, where it can remove its socket.
        self.tmp = tempfile.mkdtemp(prefix="sluice-authd-test-")
        os.chmod(self.tmp, 0o755)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("sluice")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        self.super_url = self.cluster.url("sluice")
        psql(self.cluster.url(), "CREATE DATABASE sluice")
        self.migrate()
        psql(self.super_url, "CREATE ROLE authd_login LOGIN IN ROLE sluice_authd")
        self.authd_url = self.cluster.url("sluice", user="authd_login")
        self.populate()
        self.daemons = []

    def migrate(self):
        if os.path.exists(ADMIN):
            conf = os.path.join(self.tmp, "admin.conf")
            with open(conf, "w") as f:
                f.write("db_url = %s\n" % self.super_url)
            subprocess.run([ADMIN, "-c", conf, "db", "migrate"], check=True, capture_output=True)
            assert int(psql(self.super_url, "SELECT count(*) FROM schema_migrations")) >= 1
        else:
            schema = os.path.join(sluicetest.SOURCE, "schema", "0001_initial.sql")
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", self.super_url, "-f",
                            schema], check=True, capture_output=True)

    def populate(self):
        sql = ["INSERT INTO domains (name) VALUES ('example.test'), ('xn--bcher-kva.test')",
               "INSERT INTO domains (name, active) VALUES ('inactive.test', false)"]
        for i, (user, pw) in enumerate(sorted(PASSWORDS.items())):
            local, domain = user.split("@")
            scheme = "ARGON2ID" if local == "alice" else "SHA512-CRYPT"
            active = "false" if local == "off" else "true"
            sql.append("INSERT INTO mailboxes (domain_id, local_part, password_hash, active, "
                       "storage_dir) SELECT id, %s, %s, %s, 'dir%d' FROM domains WHERE name = %s"
                       % (sql_quote(local), sql_quote(doveadm_hash(scheme, pw)), active, i,
                          sql_quote(domain)))
        sql.append("INSERT INTO mailboxes (domain_id, local_part, storage_dir) "
                   "SELECT id, 'nopw', 'dir-nopw' FROM domains WHERE name = 'example.test'")
        psql(self.super_url, "; ".join(sql))

    def start_authd(self, name, **settings):
        conf = os.path.join(self.tmp, name + ".conf")
        sock = os.path.join(self.tmp, name + ".sock")
        log = os.path.join(self.tmp, name + ".log")
        values = {
            "authd_db_url": self.authd_url,
            "auth_socket": sock,
            "log_level": "debug",
            "db_connect_timeout": "2s",
            "db_query_timeout": "2s",
        }
        if os.geteuid() == 0:
            values["run_user"] = "sluice"
        values.update(settings)
        with open(conf, "w") as f:
            for k, v in values.items():
                f.write("%s = %s\n" % (k, v))
        logf = open(log, "wb")
        proc = subprocess.Popen([AUTHD, "-c", conf, "-f"], stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf)
        logf.close()
        proc.sock = sock
        proc.log = log
        self.daemons.append(proc)
        try:
            sluicetest.wait_for_socket(sock, 15)
        except TimeoutError:
            proc.kill()
            raise AssertionError("sluice-authd did not start:\n" + open(log).read())
        return proc

    def close(self):
        for p in self.daemons:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def escape(data):
    if isinstance(data, str):
        data = data.encode()
    return (data.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")
            .replace(b"\r", b"\\r"))


def unescape(data):
    out, i = bytearray(), 0
    while i < len(data):
        if data[i:i + 1] == b"\\":
            out += {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}[data[i + 1:i + 2]]
            i += 2
        else:
            out += data[i:i + 1]
            i += 1
    return bytes(out)


class Client:
    """A connection to sluice-authd speaking protocol version 1."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1
        greeting = self.readline()
        assert greeting == b"VERSION\t1", greeting

    def readline(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("sluice-authd closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def send_raw(self, data):
        self.sock.sendall(data)

    def auth(self, user, password, ip="192.0.2.7", service="imap"):
        """Returns (answer fields as str, seconds taken)."""
        rid = str(self.next_id)
        self.next_id += 1
        line = b"\t".join([b"AUTH", rid.encode(), escape(service), escape(user), escape(password),
                           ip.encode()]) + b"\n"
        start = time.monotonic()
        self.sock.sendall(line)
        answer = self.readline()
        took = time.monotonic() - start
        fields = answer.split(b"\t")
        assert fields[1] == rid.encode(), answer
        return [f.decode() for f in [fields[0]] + [unescape(x) for x in fields[2:]]], took

    def closed(self):
        """True when the server has closed the connection."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


W = None
AUTHD_MAIN = None


def client():
    return Client(AUTHD_MAIN.sock)


def setup():
    global W, AUTHD_MAIN
    W = World()
    AUTHD_MAIN = W.start_authd("main", authd_penalty_initial="200ms", authd_penalty_max="800ms")


def test_socket_mode():
    st = os.stat(AUTHD_MAIN.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    if os.geteuid() == 0:
        assert st.st_uid == pwd.getpwnam("sluice").pw_uid
        # The daemon itself no longer runs as root.
        with open("/proc/%d/status" % AUTHD_MAIN.pid) as f:
            uids = [line.split()[1:] for line in f if line.startswith("Uid:")][0]
        assert all(int(u) == st.st_uid for u in uids), uids


def test_right_password_and_canonical_name():
    c = client()
    cases = [
        ("Bob@example.test", "Bob@example.test"),
        ("bob@example.test", "Bob@example.test"),
        ("BOB@EXAMPLE.TEST", "Bob@example.test"),
        ("alice@Example.Test", "alice@example.test"),
        ("hans@bücher.test", "hans@xn--bcher-kva.test"),
        ("HANS@Bücher.TEST", "hans@xn--bcher-kva.test"),
        ("hans@xn--bcher-kva.test", "hans@xn--bcher-kva.test"),
    ]
    for given, canonical in cases:
        pw = PASSWORDS[canonical]
        fields, _ = c.auth(given, pw, ip="192.0.2.1")
        assert fields == ["OK", canonical], (given, fields)
    # A password made of every character the protocol escapes.
    fields, _ = c.auth("weird@example.test", PASSWORDS["weird@example.test"], ip="192.0.2.1")
    assert fields == ["OK", "weird@example.test"], fields
    c.close()
    last = psql(W.super_url, "SELECT last_login IS NOT NULL FROM mailboxes WHERE local_part = 'alice'")
    assert last.strip() == "t", last


def test_failures():
    c = client()
    # Each from its own IP, with users that are not reused, so no penalty stacks up.
    cases = [
        ("Bob@example.test", "wrong-password", "password mismatch"),
        ("nobody@example.test", "whatever", "unknown user"),
        ("bob@nowhere.test", "whatever", "unknown user"),
        ("off@example.test", PASSWORDS["off@example.test"], "mailbox inactive"),
        ("carol@inactive.test", PASSWORDS["carol@inactive.test"], "domain inactive"),
        ("nopw@example.test", "anything", "no password set"),
        ("not an address", "x", "invalid user name"),
        ("alice@example.test", "", "empty password"),
    ]
    for i, (user, pw, reason) in enumerate(cases):
        fields, _ = c.auth(user, pw, ip="203.0.113.%d" % (i + 1))
        assert fields == ["FAIL"], (user, fields)
    c.close()
    log = open(AUTHD_MAIN.log).read()
    for i, (user, pw, reason) in enumerate(cases):
        if user == "not an address":
            user = "not\\x20an\\x20address"
        line = "auth failed: service=imap user=<%s> rip=203.0.113.%d reason=%s" % (user, i + 1, reason)
        assert line in log, line


def test_unknown_user_costs_a_verification():
    # An unknown user takes about as long as a known one with an argon2id hash.
    c = client()
    _, t_known = c.auth("alice@example.test", "wrong-guess-1", ip="203.0.113.60")
    _, t_unknown = c.auth("ghost@example.test", "wrong-guess-1", ip="203.0.113.61")
    c.close()
    assert t_unknown > t_known / 3, (t_known, t_unknown)


def test_penalty_grows_and_caps():
    c = client()
    ip, user = "198.51.100.10", "dave@example.test"
    took = []
    for i in range(6):
        fields, t = c.auth(user, "guess-%d" % i, ip=ip)
        assert fields == ["FAIL"], fields
        took.append(t)
    # After n failures the next answer waits INITIAL * 2^(n-1), capped.
    want = [0, INITIAL, 2 * INITIAL, CAP, CAP, CAP]
    for t, w in zip(took, want):
        assert w - 0.02 <= t <= w + SLACK, (took, want)
    # The cap holds: the last two took about the same.
    assert abs(took[5] - took[4]) < SLACK, took
    c.close()


def test_same_password_does_not_escalate():
    c = client()
    ip, user = "198.51.100.11", "erin@example.test"
    took = [c.auth(user, "the-old-password", ip=ip)[1] for _ in range(5)]
    # One failure counted: every retry waits INITIAL, never more.
    for t in took[1:]:
        assert INITIAL - 0.02 <= t <= INITIAL + SLACK, took
    assert max(took[1:]) < 2 * INITIAL + 0.1, took
    # A new password does count.
    c.auth(user, "another-one", ip=ip)
    _, t = c.auth(user, "third", ip=ip)
    assert t >= 2 * INITIAL - 0.02, t
    c.close()


def test_success_clears_and_is_delayed():
    c = client()
    ip, user = "198.51.100.12", "frank@example.test"
    c.auth(user, "bad-1", ip=ip)
    c.auth(user, "bad-2", ip=ip)
    # The right password from a penalized IP waits too (it must not answer early).
    fields, t = c.auth(user, PASSWORDS[user], ip=ip)
    assert fields == ["OK", user], fields
    assert t >= 2 * INITIAL - 0.02, t
    # ... and clears the penalty of the IP and of the user: two more failures
    # wait only as after a first one (not 2^3 * INITIAL, capped).
    fields, _ = c.auth(user, "bad-3", ip=ip)
    assert fields == ["FAIL"]
    fields, t = c.auth(user, "bad-4", ip=ip)
    assert fields == ["FAIL"]
    assert INITIAL - 0.02 <= t < CAP, t
    c.close()


def test_user_penalty_across_ips_and_protocols():
    c = client()
    user = "gina@example.test"
    # Guesses over SMTP, IMAP and ManageSieve from different IPs all count for the user.
    c.auth(user, "g1", ip="198.51.100.20", service="smtp")
    c.auth(user, "g2", ip="198.51.100.21", service="imap")
    _, t = c.auth(user, "g3", ip="198.51.100.22", service="sieve")
    assert t >= 2 * INITIAL - 0.02, t
    # One IP guessing several users over several protocols: the IP's penalty grows.
    ip = "2001:db8:77::5"
    c.auth("henry@example.test", "h1", ip=ip, service="smtp")
    c.auth("ivan@example.test", "i1", ip="2001:db8:77::9", service="sieve")  # same /64
    _, t = c.auth("judy@example.test", "j1", ip=ip, service="imap")
    assert t >= 2 * INITIAL - 0.02, t
    c.close()


def test_legacy_hash_upgraded():
    before = psql(W.super_url, "SELECT password_hash FROM mailboxes WHERE local_part = 'legacy'").strip()
    assert before.startswith("{SHA512-CRYPT}"), before
    argon_before = psql(W.super_url, "SELECT password_hash FROM mailboxes WHERE local_part = 'alice'")
    c = client()
    fields, _ = c.auth("legacy@example.test", PASSWORDS["legacy@example.test"], ip="192.0.2.30")
    assert fields == ["OK", "legacy@example.test"], fields
    after = psql(W.super_url, "SELECT password_hash FROM mailboxes WHERE local_part = 'legacy'").strip()
    assert after.startswith("{ARGON2ID}$argon2id$"), after
    # The new hash works, and an argon2id hash of our cost is left alone.
    fields, _ = c.auth("legacy@example.test", PASSWORDS["legacy@example.test"], ip="192.0.2.30")
    assert fields == ["OK", "legacy@example.test"], fields
    fields, _ = c.auth("alice@example.test", PASSWORDS["alice@example.test"], ip="192.0.2.30")
    assert fields == ["OK", "alice@example.test"], fields
    c.close()
    assert psql(W.super_url, "SELECT password_hash FROM mailboxes WHERE local_part = 'alice'") == argon_before
    assert "upgraded to ARGON2ID (was SHA512-CRYPT)" in open(AUTHD_MAIN.log).read()


def test_protocol_errors():
    bad = [
        b"HELLO\n",
        b"AUTH\t1\timap\tbob@example.test\tpw\n",
        b"AUTH\t1\timap\tbob@example.test\tp\\qw\t192.0.2.1\n",
        b"AUTH\t1\timap\tbob@exa\x00mple.test\tpw\t192.0.2.1\n",
        b"AUTH\t1\timap\tbob@example.test\tpw\t192.0.2.1\r\n",
        b"AUTH\t1\timap\tbob@example.test\tpw\tnot-an-ip\n",
        b"AUTH\t1\timap\tbob@example.test\t" + b"x" * 9000 + b"\t192.0.2.1\n",
        b"\x00\x01\x02\xff\n",
    ]
    for line in bad:
        c = client()
        c.send_raw(line)
        answer = c.readline()
        assert answer.startswith(b"ERROR\t"), (line[:60], answer)
        assert c.closed(), line[:60]
        c.close()
    # A line of exactly the maximum (8192 with the LF) is still read as a request.
    c = client()
    head = b"AUTH\t1\timap\tBob@example.test\t"
    tail = b"\t192.0.2.40\n"
    c.send_raw(head + b"y" * (8192 - len(head) - len(tail)) + tail)
    assert c.readline() == b"FAIL\t1"
    c.close()
    # The daemon is still there and answers.
    assert AUTHD_MAIN.poll() is None
    c = client()
    fields, _ = c.auth("Bob@example.test", PASSWORDS["Bob@example.test"], ip="192.0.2.41")
    assert fields == ["OK", "Bob@example.test"], fields
    c.close()


def test_many_requests_on_one_connection_and_many_connections():
    results = []

    def worker(n):
        c = client()
        for _ in range(3):
            results.append(c.auth("Bob@example.test", PASSWORDS["Bob@example.test"],
                                  ip="192.0.2.%d" % (100 + n))[0])
        c.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [["OK", "Bob@example.test"]] * 24, results


def test_auth_client_library():
    def probe(user, password, ip="192.0.2.50", sock=None, timeout="5000"):
        p = subprocess.run([PROBE, sock or AUTHD_MAIN.sock, "smtp", user, ip, timeout],
                           input=password.encode() if isinstance(password, str) else password,
                           capture_output=True)
        return p.returncode, p.stdout.decode().strip()

    assert probe("BOB@example.test", PASSWORDS["Bob@example.test"]) == (0, "OK Bob@example.test")
    assert probe("weird@example.test", PASSWORDS["weird@example.test"]) == (0, "OK weird@example.test")
    assert probe("hans@bücher.test", PASSWORDS["hans@xn--bcher-kva.test"]) == \
        (0, "OK hans@xn--bcher-kva.test")
    rc, out = probe("Bob@example.test", "nope", ip="192.0.2.51")
    assert rc == 1 and out.startswith("FAIL"), out
    # Local clients ("-") and IPv6.
    assert probe("alice@example.test", PASSWORDS["alice@example.test"], ip="-")[0] == 0
    assert probe("alice@example.test", PASSWORDS["alice@example.test"], ip="2001:db8::1")[0] == 0
    # A password with NUL cannot be sent: a failure, not a crash.
    assert probe("Bob@example.test", b"a\x00b")[0] == 1
    # Nobody listening: a temporary failure.
    rc, out = probe("Bob@example.test", "x", sock=os.path.join(W.tmp, "nothing.sock"))
    assert rc == 2 and out.startswith("TEMPFAIL"), out
    # A server that accepts and says nothing: the deadline holds.
    silent = socket.socket(socket.AF_UNIX)
    path = os.path.join(W.tmp, "silent.sock")
    silent.bind(path)
    silent.listen(1)
    start = time.monotonic()
    rc, out = probe("Bob@example.test", "x", sock=path, timeout="500")
    assert rc == 2 and out.startswith("TEMPFAIL"), out
    assert time.monotonic() - start < 3
    silent.close()
    # A fake server: wrong version, wrong id, missing or bad fields, unknown
    # words and ERROR are temporary failures, never OK. (A probe process
    # numbers its first request 1.)
    v1 = b"VERSION\t1\n"
    for greeting, answer, want in [
            (v1, b"OK\t1\tbob@x\n", (0, "OK bob@x")),
            (b"VERSION\t1\tminor-extension\n", b"FAIL\t1\n", (1, "FAIL")),
            (b"VERSION\t2\n", b"", (2, "TEMPFAIL")),
            (v1, b"OK\t999\tbob@x\n", (2, "TEMPFAIL")),
            (v1, b"OK\t1\n", (2, "TEMPFAIL")),
            (v1, b"OK\t1\t\n", (2, "TEMPFAIL")),
            (v1, b"OK\t1\tbad\\q\n", (2, "TEMPFAIL")),
            (v1, b"MAYBE\t1\n", (2, "TEMPFAIL")),
            (v1, b"ERROR\tconfused\n", (2, "TEMPFAIL")),
            (v1, b"TEMPFAIL\t1\tbusy\n", (2, "TEMPFAIL sluice-authd: busy"))]:
        path = os.path.join(W.tmp, "fake.sock")
        if os.path.exists(path):
            os.unlink(path)
        fake = socket.socket(socket.AF_UNIX)
        fake.bind(path)
        fake.listen(1)
        requests = []

        def serve():
            conn, _ = fake.accept()
            conn.sendall(greeting)
            if answer:
                requests.append(conn.recv(65536))
                conn.sendall(answer)
            time.sleep(0.2)
            conn.close()

        t = threading.Thread(target=serve)
        t.start()
        rc, out = probe("Bob@example.test", "p\tw", sock=path, timeout="2000")
        t.join()
        fake.close()
        assert rc == want[0] and out.startswith(want[1]), (greeting, answer, out)
        if answer:
            assert requests == [b"AUTH\t1\tsmtp\tBob@example.test\tp\\tw\t192.0.2.50\n"], requests


def test_hash_workers_bounded():
    # One worker, 20 ms of patience: parallel argon2id checks overflow it.
    d = W.start_authd("busy", authd_hash_workers="1", authd_hash_wait_timeout="20ms")
    results = []

    def worker(n):
        c = Client(d.sock)
        results.append(c.auth("alice@example.test", PASSWORDS["alice@example.test"],
                              ip="192.0.2.%d" % (150 + n))[0])
        c.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ["OK", "alice@example.test"] in results, results
    assert ["TEMPFAIL", "overloaded"] in results, results
    assert all(r in (["OK", "alice@example.test"], ["TEMPFAIL", "overloaded"]) for r in results)
    d.send_signal(signal.SIGTERM)
    assert d.wait(10) == 0


def test_default_penalty():
    # The shipped defaults: 2 s after the first failure (Dovecot's anchor).
    d = W.start_authd("defaults")
    c = Client(d.sock)
    fields, _ = c.auth("Bob@example.test", "default-guess-1", ip="198.51.100.99")
    assert fields == ["FAIL"]
    fields, t = c.auth("Bob@example.test", "default-guess-2", ip="198.51.100.99")
    assert fields == ["FAIL"]
    assert t >= 2.0, t
    assert t < 2.0 + SLACK + 1, t
    c.close()
    d.send_signal(signal.SIGTERM)
    assert d.wait(10) == 0


def test_sighup_reload():
    # SIGHUP re-reads sluice.conf: new penalty delays apply without a restart;
    # a broken file is refused and the running settings stay.
    d = W.start_authd("reload", authd_penalty_initial="100ms", authd_penalty_max="100ms")
    conf = os.path.join(W.tmp, "reload.conf")
    c = Client(d.sock)
    c.auth("bob@example.test", "reload-guess-1", ip="198.51.100.70")
    _, t = c.auth("bob@example.test", "reload-guess-2", ip="198.51.100.71")
    assert t < 1.0, t
    text = open(conf).read().replace("authd_penalty_initial = 100ms", "authd_penalty_initial = 1500ms")
    text = text.replace("authd_penalty_max = 100ms", "authd_penalty_max = 1500ms")
    with open(conf, "w") as f:
        f.write(text)
    d.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "reloaded" not in open(d.log).read():
        assert time.monotonic() < deadline, open(d.log).read()
        time.sleep(0.05)
    c.auth("carol@example.test", "reload-guess-3", ip="198.51.100.72")
    fields, t = c.auth("carol@example.test", "reload-guess-4", ip="198.51.100.72")
    assert fields == ["FAIL"] and t >= 1.4, (fields, t)
    with open(conf, "a") as f:
        f.write("no_such_setting = 1\n")
    d.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "keeping the running settings" not in open(d.log).read():
        assert time.monotonic() < deadline, open(d.log).read()
        time.sleep(0.05)
    assert d.poll() is None
    c.close()
    d.send_signal(signal.SIGTERM)
    assert d.wait(10) == 0


def test_lookup_uses_indexes():
    # With thousands of domains the lookup must stay two index probes: PostgreSQL's
    # auto_explain logs the plan of every statement sluice-authd runs.
    psql(W.super_url, "INSERT INTO domains (name) SELECT 'bulk' || i || '.test' "
         "FROM generate_series(1, 3000) i; "
         "INSERT INTO mailboxes (domain_id, local_part, storage_dir) "
         "SELECT d.id, 'user' || j, 'bulk-' || d.id || '-' || j FROM domains d, "
         "generate_series(1, 3) j WHERE d.name LIKE 'bulk%'; ANALYZE")
    psql(W.super_url, "ALTER ROLE authd_login SET session_preload_libraries = 'auto_explain'; "
         "ALTER ROLE authd_login SET auto_explain.log_min_duration = 0")
    pglog = os.path.join(W.cluster.dir, "pg.log")
    mark = os.path.getsize(pglog)
    d = W.start_authd("explain")
    try:
        c = Client(d.sock)
        fields, _ = c.auth("ALICE@example.test", PASSWORDS["alice@example.test"], ip="192.0.2.70")
        assert fields == ["OK", "alice@example.test"], fields
        fields, _ = c.auth("user2@bulk2999.test", "x", ip="192.0.2.71")
        assert fields == ["FAIL"], fields
        c.close()
        d.send_signal(signal.SIGTERM)
        assert d.wait(10) == 0
    finally:
        psql(W.super_url, "ALTER ROLE authd_login RESET ALL")
    with open(pglog, errors="replace") as f:
        f.seek(mark)
        plans = f.read()
    assert "mailboxes_address" in plans and "domains_name_key" in plans, plans[-3000:]
    assert "Seq Scan on mailboxes" not in plans and "Seq Scan on domains" not in plans, plans[-3000:]


def test_postgres_outage():
    c = client()
    fields, _ = c.auth("Bob@example.test", PASSWORDS["Bob@example.test"], ip="192.0.2.60")
    assert fields == ["OK", "Bob@example.test"], fields
    W.cluster.stop()
    try:
        start = time.monotonic()
        fields, t = c.auth("Bob@example.test", PASSWORDS["Bob@example.test"], ip="192.0.2.60")
        assert fields[0] == "TEMPFAIL", fields
        assert t < 5, t
        # Again, on a new connection: still a clean temporary failure.
        c2 = client()
        fields, t = c2.auth("alice@example.test", PASSWORDS["alice@example.test"], ip="192.0.2.61")
        assert fields == ["TEMPFAIL", "database unavailable"], fields
        assert t < 5, t
        c2.close()
        assert time.monotonic() - start < 10
        assert AUTHD_MAIN.poll() is None
    finally:
        W.cluster.start()
    # Back without restarting sluice-authd.
    fields, t = c.auth("Bob@example.test", PASSWORDS["Bob@example.test"], ip="192.0.2.60")
    assert fields == ["OK", "Bob@example.test"], fields
    assert t < 5, t
    c.close()
    assert "auth tempfail: service=imap user=<Bob@example.test> rip=192.0.2.60 reason=database unavailable" \
        in open(AUTHD_MAIN.log).read()


def test_log_is_fail2ban_ready_and_holds_no_password():
    # A user name made to forge a rip= field is escaped.
    c = client()
    c.auth("x> rip=10.9.9.9 reason=<", "forged-password-123", ip="198.51.100.77")
    c.close()
    log = open(AUTHD_MAIN.log, encoding="utf-8", errors="replace").read()
    # The filter an administrator would write.
    fail2ban = re.compile(r"^\S+ sluice-authd\[\d+\]: auth failed: service=\S+ user=<[^>]*> "
                          r"rip=(\S+) reason=", re.M)
    rips = fail2ban.findall(log)
    assert "203.0.113.1" in rips and "198.51.100.10" in rips, rips
    assert "198.51.100.77" in rips and "10.9.9.9" not in rips, rips
    assert re.search(r"^\S+ sluice-authd\[\d+\]: auth failed: service=imap user=<Bob@example.test> "
                     r"rip=203.0.113.1 reason=password mismatch$", log, re.M)
    secrets = list(PASSWORDS.values()) + ["wrong-password", "forged-password-123", "the-old-password",
                                          "default-guess-1", "bad-1", "guess-3"]
    for pw in secrets:
        assert pw not in log, "password %r in the log" % pw
        assert escape(pw).decode() not in log, "password %r in the log" % pw
    assert "$6$" not in log and "$argon2id$" not in log, "a hash in the log"


def test_sigterm():
    c = client()  # an idle session must not hold the stop up
    AUTHD_MAIN.send_signal(signal.SIGTERM)
    assert AUTHD_MAIN.wait(15) == 0
    assert not os.path.exists(AUTHD_MAIN.sock)
    c.close()
    assert "sluice-authd stopped" in open(AUTHD_MAIN.log).read()
    # No sanitizer report from any of the daemons this test ran.
    for d in W.daemons:
        text = open(d.log, errors="replace").read()
        assert "runtime error:" not in text and "Sanitizer" not in text, text[-4000:]


if __name__ == "__main__":
    setup()
    try:
        run([test_socket_mode, test_right_password_and_canonical_name,
             test_unknown_user_costs_a_verification, test_failures, test_penalty_grows_and_caps,
             test_same_password_does_not_escalate, test_success_clears_and_is_delayed,
             test_user_penalty_across_ips_and_protocols, test_legacy_hash_upgraded,
             test_protocol_errors, test_many_requests_on_one_connection_and_many_connections,
             test_auth_client_library, test_hash_workers_bounded, test_default_penalty,
             test_sighup_reload,
             test_lookup_uses_indexes, test_postgres_outage,
             test_log_is_fail2ban_ready_and_holds_no_password, test_sigterm])
    finally:
        W.close()
