#!/usr/bin/env python3
"""test_db: the PostgreSQL pool (lib/db.c) and the migration runner
(lib/migrate.c) against a real PostgreSQL.

The C side is tests/helpers/db_probe, a line-driven program around one pool;
this script controls the server between its commands: it terminates,
freezes (SIGSTOP) and stops backends or the whole cluster, and checks that
every failure comes back as TEMPFAIL within the deadlines and that the same
pool works again afterwards. Outage tests use a private cluster so the shared
one of tests/run stays up for everything else.
"""
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import sluicetest
from sluicetest import PgCluster, build_path, fresh_database, psql, run

PROBE = build_path("tests", "helpers", "db_probe")


class Probe:
    """One db_probe process: one pool; cmd() sends a line and parses the answer."""

    def __init__(self, url, size=4, connect_ms=2000, query_ms=2000, wait_ms=2000):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([PROBE, url, str(size), str(connect_ms), str(query_ms), str(wait_ms)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr)
        self.buf = b""

    def send(self, *fields):
        self.proc.stdin.write(("\t".join(str(f) for f in fields) + "\n").encode())
        self.proc.stdin.flush()

    def answer(self, timeout=30.0):
        """(kind, ms, rest-of-line) of the next answer."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("db_probe did not answer within %.0fs (hung?)" % timeout)
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if r:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    raise AssertionError("db_probe exited: %s" % self.errors())
                self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        parts = line.decode().split(" ", 2)
        return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""

    def cmd(self, *fields, timeout=30.0):
        self.send(*fields)
        return self.answer(timeout)

    def ok(self, *fields):
        kind, ms, rest = self.cmd(*fields)
        assert kind == "OK", "%r: %s %s (stderr: %s)" % (fields, kind, rest, self.errors())
        return rest

    def value(self, sql, *params):
        """The first value of the first row."""
        return self.ok("exec", sql, *params).split(" ", 1)[1]

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def close(self):
        self.send("quit")
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=60)
        assert rc == 0, "db_probe exit %d: %s" % (rc, self.errors())


def backend_gone(url, pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if psql(url, "SELECT count(*) FROM pg_stat_activity WHERE pid = %d" % pid).strip() == "0":
            return
        time.sleep(0.05)
    raise AssertionError("backend %d still there" % pid)


def test_threads_share_a_bounded_pool():
    url = fresh_database()
    p = Probe(url, size=4, query_ms=3000)
    p.ok("simple", "CREATE TABLE probe_rows (thread int, i int)")
    # 16 threads, 4 connections: every unit runs prepared statements and checks the results
    rest = p.ok("threads", 16, 40)
    ok, tempfail, error, max_ms, _ = (int(x) for x in rest.split())
    assert (ok, tempfail, error) == (640, 0, 0), rest
    dbname = url.rsplit("/", 1)[1]
    n = psql(url, "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s' "
                  "AND application_name = 'sluice-db_probe'" % dbname).strip()
    assert 1 <= int(n) <= 4, "%s connections for a pool of 4" % n
    assert p.value("SELECT count(*) FROM probe_rows") == "640"
    # each connection was set up at connect time
    assert p.value("SELECT current_setting('statement_timeout')") == "3s"
    assert p.value("SELECT current_setting('application_name')") == "sluice-db_probe"
    assert p.value("SELECT $1::text || $2::text", "a", "b") == "ab"
    assert p.value("SELECT $1::text IS NULL", "\\N") == "t"
    p.close()


def test_wait_timeout_when_all_connections_are_held():
    p = Probe(fresh_database(), size=2, wait_ms=300)
    assert p.ok("hold", 2) == "2"
    kind, ms, rest = p.cmd("exec", "SELECT 1")
    assert kind == "TEMPFAIL" and "no free PostgreSQL connection" in rest, rest
    assert 250 <= ms <= 1500, ms
    p.ok("release")
    assert p.value("SELECT 1") == "1"
    p.close()


def test_terminated_backend_is_replaced():
    url = fresh_database()
    p = Probe(url, size=1)
    pid = int(p.value("SELECT pg_backend_pid()"))
    psql(url, "SELECT pg_terminate_backend(%d)" % pid)
    backend_gone(url, pid)
    # idle when killed: the pool notices at the next acquire, or this call fails once
    kind, _, rest = p.cmd("exec", "SELECT pg_backend_pid()")
    if kind != "OK":
        assert kind == "TEMPFAIL", rest
        kind, _, rest = p.cmd("exec", "SELECT pg_backend_pid()")
    assert kind == "OK", rest
    pid2 = int(rest.split()[1])
    assert pid2 != pid
    # killed while borrowed: that call fails with TEMPFAIL, the next one works
    p.ok("hold", 1)
    assert int(p.ok("on", 0, "SELECT pg_backend_pid()").split()[1]) == pid2
    psql(url, "SELECT pg_terminate_backend(%d)" % pid2)
    backend_gone(url, pid2)
    kind, ms, rest = p.cmd("on", 0, "SELECT 1")
    assert kind == "TEMPFAIL", rest
    assert ms < 2000, ms
    p.ok("release")
    pid3 = int(p.value("SELECT pg_backend_pid()"))
    assert pid3 not in (pid, pid2)
    p.close()


def test_statement_timeout_is_tempfail():
    p = Probe(fresh_database(), size=1, query_ms=500)
    pid = p.value("SELECT pg_backend_pid()")
    kind, ms, rest = p.cmd("exec", "SELECT pg_sleep(5)")
    assert kind == "TEMPFAIL" and rest.startswith("57014 "), rest
    assert 400 <= ms <= 1500, ms
    # the server cancelled the statement; the connection itself is still good
    assert p.value("SELECT pg_backend_pid()") == pid
    p.close()


def test_frozen_server_hits_our_deadline():
    """A backend that stops answering (SIGSTOP) cannot hold a caller past the deadline."""
    url = fresh_database()
    p = Probe(url, size=1, query_ms=1000)
    pid = int(p.value("SELECT pg_backend_pid()"))
    os.kill(pid, signal.SIGSTOP)
    try:
        kind, ms, rest = p.cmd("exec", "SELECT 2", timeout=10)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert kind == "TEMPFAIL" and "did not answer" in rest, rest
    # deadline: statement_timeout (1s) plus a 1s margin
    assert 1800 <= ms <= 3000, ms
    assert int(p.value("SELECT pg_backend_pid()")) != pid
    p.close()


def test_errors_and_transactions():
    p = Probe(fresh_database(), size=2)
    p.ok("simple", "CREATE TABLE u (x int PRIMARY KEY)")
    p.ok("exec", "INSERT INTO u VALUES ($1)", 1)
    kind, _, rest = p.cmd("exec", "INSERT INTO u VALUES ($1)", 1)
    assert kind == "ERROR" and rest.startswith("23505 ") and "already exists" in rest, rest
    kind, _, rest = p.cmd("exec", "SELEKT 1")
    assert kind == "ERROR" and rest.startswith("42601 "), rest
    # a failed statement inside a transaction: COMMIT reports it, nothing is kept
    p.ok("hold", 1)
    p.ok("txn", 0, "begin")
    p.ok("on", 0, "INSERT INTO u VALUES ($1)", 2)
    kind, _, rest = p.cmd("on", 0, "INSERT INTO u VALUES ($1)", 1)
    assert kind == "ERROR" and rest.startswith("23505 "), rest
    kind, _, rest = p.cmd("txn", 0, "commit")
    assert kind == "ERROR" and rest.startswith("25P02 "), rest
    p.ok("txn", 0, "begin")
    p.ok("on", 0, "INSERT INTO u VALUES ($1)", 3)
    p.ok("txn", 0, "rollback")
    p.ok("txn", 0, "begin")
    p.ok("on", 0, "INSERT INTO u VALUES ($1)", 4)
    p.ok("txn", 0, "commit")
    # returned inside a transaction: closed, never handed out half-done
    p.ok("txn", 0, "begin")
    p.ok("on", 0, "INSERT INTO u VALUES ($1)", 5)
    p.ok("release")
    assert p.value("SELECT string_agg(x::text, ',' ORDER BY x) FROM u") == "1,4"
    # DEALLOCATE behind the pool's back: the statement is prepared again
    p.ok("hold", 1)
    p.ok("on", 0, "SELECT count(*) FROM u")
    p.ok("on", 0, "DEALLOCATE ALL")
    assert p.ok("on", 0, "SELECT count(*) FROM u").split()[1] == "2"
    p.ok("release")
    p.close()


def test_connect_deadline_with_silent_server():
    """A server that accepts TCP but never speaks: connecting gives up at the deadline."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    port = srv.getsockname()[1]
    p = Probe("host=127.0.0.1 port=%d dbname=x user=x sslmode=disable" % port, size=2, connect_ms=700)
    for _ in range(2):
        kind, ms, rest = p.cmd("exec", "SELECT 1", timeout=10)
        assert kind == "TEMPFAIL" and "no answer within 700 ms" in rest, rest
        assert 650 <= ms <= 2000, ms
    srv.close()
    # nothing listens any more: refused at once
    kind, ms, rest = p.cmd("exec", "SELECT 1")
    assert kind == "TEMPFAIL" and ms < 1000, (kind, ms, rest)
    p.close()


def test_outage_and_recovery():
    """PostgreSQL stops mid-run: TEMPFAIL quickly, no error, no hang; then the same pool recovers."""
    cluster = PgCluster()
    url = fresh_database(cluster.url())
    p = Probe(url, size=4, connect_ms=1000, query_ms=1000, wait_ms=1000)
    assert p.value("SELECT 1") == "1"
    p.ok("bg_start", 8)
    time.sleep(0.5)
    cluster.stop()
    time.sleep(0.3)
    kind, ms, rest = p.cmd("exec", "SELECT 1", timeout=10)
    assert kind == "TEMPFAIL", rest
    assert ms < 2500, ms
    time.sleep(1.0)
    cluster.start()
    time.sleep(1.5)
    rest = p.ok("bg_stop")
    ok, tempfail, error, max_ms, ok_after_fail = (int(x) for x in rest.split())
    assert error == 0, p.errors()
    assert tempfail > 0 and ok > 0 and ok_after_fail > 0, rest
    # one unit: wait (1s) + connect (1s) + statement deadline (2s)
    assert max_ms < 4500, rest
    assert p.value("SELECT 1") == "1"

    # stopped in the middle of a statement
    p.ok("hold", 1)
    stopper = threading.Timer(0.5, cluster.stop)
    stopper.start()
    kind, ms, rest = p.cmd("on", 0, "SELECT pg_sleep(30)", timeout=15)
    stopper.join()
    assert kind == "TEMPFAIL", rest
    assert ms < 2500, ms
    p.ok("release")
    kind, ms, rest = p.cmd("exec", "SELECT 1")
    assert kind == "TEMPFAIL" and ms < 2500, (kind, ms, rest)
    cluster.start()
    assert p.value("SELECT 1") == "1"
    p.close()
    cluster.destroy()


def _migration_states(p):
    return p.ok("status").split()


def _embedded_migrations():
    """The schema/NNNN_*.sql files, as the build embeds them."""
    d = os.path.join(sluicetest.SOURCE, "schema")
    return sorted(f for f in os.listdir(d) if re.match(r"^[0-9]{4}_.*\.sql$", f))


def test_migrations_apply_once_and_grant_roles():
    url = fresh_database()
    p = Probe(url)
    files = _embedded_migrations()
    n = len(files)
    assert _migration_states(p) == ["0"] + ["%d:%s:1:0:-" % (i + 1, f) for i, f in enumerate(files)]
    applied, current, names = p.ok("migrate").split()
    assert (applied, current, names) == (str(n), str(n), ",".join(files))
    assert p.ok("migrate").split() == ["0", str(n), "-"]
    assert _migration_states(p) == [str(n)] + ["%d:%s:1:1:at" % (i + 1, f) for i, f in enumerate(files)]
    assert psql(url, "SELECT version, name FROM schema_migrations ORDER BY version").strip() == \
        "\n".join("%d|%s" % (i + 1, f) for i, f in enumerate(files))
    p.close()

    # least privilege as 0001 grants it, seen through login roles that are members
    suffix = uuid.uuid4().hex[:8]
    roles = {c: "t_%s_%s" % (c, suffix) for c in ("mta", "authd", "admin")}
    for c, r in roles.items():
        psql(url, "CREATE ROLE %s LOGIN IN ROLE sluice_%s" % (r, c))
    try:
        psql(url, "INSERT INTO domains (name) VALUES ('example.org');"
                  "INSERT INTO mailboxes (domain_id, local_part, password_hash, storage_dir) "
                  "SELECT id, 'alice', '$argon2id$x', 'example.org/alice' FROM domains")
        as_role = {c: Probe(url.replace("postgres@", r + "@", 1), size=1) for c, r in roles.items()}
        mta, authd, admin = as_role["mta"], as_role["authd"], as_role["admin"]
        kind, _, rest = mta.cmd("exec", "SELECT password_hash FROM mailboxes")
        assert kind == "ERROR" and rest.startswith("42501 "), rest
        assert mta.value("SELECT local_part FROM mailbox_directory WHERE domain = $1",
                         "example.org") == "alice"
        assert authd.value("SELECT password_hash FROM mailboxes") == "$argon2id$x"
        kind, _, rest = admin.cmd("exec", "SELECT password_hash FROM mailboxes")
        assert kind == "ERROR" and rest.startswith("42501 "), rest
        assert admin.ok("exec", "UPDATE mailboxes SET password_hash = $1", "$argon2id$y") == "0 -"
        assert authd.value("SELECT password_hash FROM mailboxes") == "$argon2id$y"
        # any role may read the schema version
        assert mta.value("SELECT max(version) FROM schema_migrations") == str(len(_embedded_migrations()))
        for q in as_role.values():
            q.close()
    finally:
        for r in roles.values():
            psql(url, "DROP ROLE IF EXISTS %s" % r)


def test_concurrent_migrations_serialize():
    url = fresh_database()
    probes = [Probe(url) for _ in range(3)]
    for q in probes:
        q.send("migrate")
    answers = [q.answer() for q in probes]
    assert all(a[0] == "OK" for a in answers), answers
    # Each migration is applied exactly once, by whichever run got the lock first.
    files = _embedded_migrations()
    n = len(files)
    assert sum(int(a[2].split()[0]) for a in answers) == n, answers
    names = [x for a in answers if a[2].split()[2] != "-" for x in a[2].split()[2].split(",")]
    assert sorted(names) == files, answers
    assert all(a[2].split()[1] == str(n) for a in answers), answers
    assert psql(url, "SELECT count(*) FROM schema_migrations").strip() == str(n)
    for q in probes:
        q.close()


def test_failing_migration_rolls_back_and_names_the_file():
    url = fresh_database()
    d = tempfile.mkdtemp(prefix="sluice-mig-")
    with open(os.path.join(d, "0001_a.sql"), "w") as f:
        f.write("CREATE TABLE mig_a (x int);\n")
    with open(os.path.join(d, "0002_b.sql"), "w") as f:
        f.write("CREATE TABLE mig_b (x int);\nINSERT INTO mig_a VALUES (1);\nSELECT * FROM no_such_table;\n")
    p = Probe(url)
    kind, _, rest = p.cmd("migrate", d)
    assert kind == "ERROR" and rest.startswith("42P01 ") and "0002_b.sql" in rest, rest
    assert psql(url, "SELECT version FROM schema_migrations").strip() == "1"
    assert psql(url, "SELECT to_regclass('mig_b') IS NULL, (SELECT count(*) FROM mig_a)").strip() == "t|0"
    with open(os.path.join(d, "0002_b.sql"), "w") as f:
        f.write("CREATE TABLE mig_b (x int);\nINSERT INTO mig_a VALUES (1);\n")
    assert p.ok("migrate", d).split() == ["1", "2", "0002_b.sql"]
    assert p.ok("migrate", d).split() == ["0", "2", "-"]
    # status reports the database's version and every applied migration
    states = _migration_states(p)
    assert states[0] == "2", states
    assert [s.split(":")[0] + ":" + s.split(":")[3] for s in states[1:3]] == ["1:1", "2:1"], states
    p.close()


def test_embed_rejects_bad_migration_sets():
    embed = os.path.join(sluicetest.SOURCE, "schema", "embed.py")
    d = tempfile.mkdtemp(prefix="sluice-embed-")

    def write(name, text="SELECT 1;\n"):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
        return os.path.join(d, name)

    def embed_rc(*files):
        return subprocess.run(["python3", embed, "--dir", d, "-o", os.path.join(d, "out.c")] + list(files),
                              capture_output=True, text=True)

    a = write("0001_a.sql", "SELECT 'it''s \\\\ \"q\"??/ é';\n")
    r = embed_rc(a)
    assert r.returncode == 0, r.stderr
    out = open(os.path.join(d, "out.c")).read()
    assert '"SELECT \'it\'\'s \\\\\\\\ \\"q\\"\\?\\?/ \\303\\251\';\\n"' in out, out
    c = write("0003_c.sql")
    assert "without gaps" in embed_rc(a, c).stderr
    os.unlink(c)
    b = write("0002_b.sql")
    assert "not listed" in embed_rc(a).stderr
    assert "named NNNN" in embed_rc(a, b, write("0003_Bad.sql")).stderr


if __name__ == "__main__":
    run([
        test_threads_share_a_bounded_pool,
        test_wait_timeout_when_all_connections_are_held,
        test_terminated_backend_is_replaced,
        test_statement_timeout_is_tempfail,
        test_frozen_server_hits_our_deadline,
        test_errors_and_transactions,
        test_connect_deadline_with_silent_server,
        test_outage_and_recovery,
        test_migrations_apply_once_and_grant_roles,
        test_concurrent_migrations_serialize,
        test_failing_migration_rolls_back_and_names_the_file,
        test_embed_rejects_bad_migration_sets,
    ])
