#!/usr/bin/env python3
"""bench/scale.py: does Sluice stay as fast with 10,000 domains as with one?

Loads a private PostgreSQL cluster twice: first with 1 domain (10 mailboxes),
then with 10,000 domains, 100,000 mailboxes and 100,000 aliases, and measures
in each state:
  - the recipient lookup the MTA and MDA make (mailbox_directory by domain and
    lower(local_part), plus the alias lookup), with pgbench, as a mean latency;
  - a sluice-authd verification (SHA512-CRYPT hashes, so the hash is cheap and
    the lookup's share is visible), over its socket, as a mean latency;
  - `sluice-admin mailbox list --domain D` wall time.
Prints one table with the ratio big/small for each. A ratio near 1 means the
cost does not grow with the number of domains. Not a test: nothing asserts.

Usage: bench/scale.py [--build build] [--requests N]
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import sluicetest  # noqa: E402



def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def pgbench_latency(url, script, transactions):
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        out = sh([os.path.join(sluicetest._pg_bindir(), "pgbench"), "-n", "-M", "prepared", "-c", "1",
                  "-t", str(transactions), "-f", path, url])
    finally:
        os.unlink(path)
    m = re.search(r"latency average = ([0-9.]+) ms", out)
    return float(m.group(1))


LOOKUP_SQL = """\\set n random(1, :ndomains)
\\set m random(1, :nmailboxes)
SELECT id, active, quota_bytes FROM mailbox_directory
  WHERE domain = 'd' || :n || '.bench' AND lower(local_part) = 'user' || :m;
SELECT a.id FROM aliases a JOIN domains d ON d.id = a.domain_id
  WHERE d.name = 'd' || :n || '.bench' AND lower(a.local_part) IN ('alias' || :m, '');
"""


def lookup_latency(url, ndomains, per_domain, n):
    script = LOOKUP_SQL.replace(":ndomains", str(ndomains)).replace(":nmailboxes", str(per_domain))
    return pgbench_latency(url, script, n)


def load(url, ndomains, per_domain, pwhash):
    """Insert domains d1..dN.bench, each with per_domain mailboxes and aliases, in bulk SQL."""
    sluicetest.psql(url, """
        INSERT INTO domains (name) SELECT 'd' || i || '.bench' FROM generate_series(1, %d) i
          ON CONFLICT DO NOTHING;
        INSERT INTO mailboxes (domain_id, local_part, password_hash, storage_dir)
          SELECT d.id, 'user' || j, '%s', d.name || '/user' || j
          FROM domains d CROSS JOIN generate_series(1, %d) j WHERE d.name LIKE '%%.bench'
          ON CONFLICT DO NOTHING;
        INSERT INTO aliases (domain_id, local_part)
          SELECT d.id, 'alias' || j FROM domains d CROSS JOIN generate_series(1, %d) j
          WHERE d.name LIKE '%%.bench' ON CONFLICT DO NOTHING;
        INSERT INTO alias_destinations (alias_id, destination)
          SELECT a.id, 'user1@' || d.name FROM aliases a JOIN domains d ON d.id = a.domain_id
          ON CONFLICT DO NOTHING;
        ANALYZE;
    """ % (ndomains, pwhash.replace("'", "''"), per_domain, per_domain))


def auth_latency(sock_path, ndomains, per_domain, n):
    def esc(s):
        return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    f = s.makefile("rwb")
    greeting = f.readline()
    assert greeting.startswith(b"VERSION\t1"), greeting
    start = time.monotonic()
    for i in range(n):
        user = "user%d@d%d.bench" % (i % per_domain + 1, (i * 7919) % ndomains + 1)
        f.write(("AUTH\tb%d\timap\t%s\t%s\t127.0.0.1\n" % (i, esc(user), "benchpass")).encode())
        f.flush()
        answer = f.readline()
        if not answer.startswith(b"OK\t"):
            raise RuntimeError("auth answered %r for %s" % (answer, user))
    elapsed = time.monotonic() - start
    s.close()
    return elapsed / n * 1000.0


def admin_list_time(admin, conf, domain):
    start = time.monotonic()
    out = sh([admin, "-c", conf, "mailbox", "list", "--domain", domain])
    elapsed = time.monotonic() - start
    return elapsed * 1000.0, len(out.splitlines())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--requests", type=int, default=2000)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    admin = os.path.join(build, "admin-cli", "sluice-admin")
    authd = os.path.join(build, "auth", "sluice-authd")
    pwhash = "{SHA512-CRYPT}" + sh(["mkpasswd", "-m", "sha-512", "benchpass"]).strip()

    cluster = sluicetest.PgCluster()
    url = cluster.url()
    sluicetest.psql(url, "CREATE DATABASE bench")
    url = cluster.url("bench")
    tmp = tempfile.mkdtemp(prefix="sluice-bench-")
    os.chmod(tmp, 0o755)
    conf = os.path.join(tmp, "sluice.conf")
    sock = os.path.join(tmp, "auth.sock")
    with open(conf, "w") as f:
        f.write("db_url = %s\nauth_socket = %s\nauthd_penalty_initial = 0\n"
                "authd_rehash_legacy = no\n" % (url, sock))
    sh([admin, "-c", conf, "db", "migrate"])
    daemon = subprocess.Popen([authd, "-c", conf], stderr=subprocess.DEVNULL)
    try:
        sluicetest.wait_for_socket(sock)
        rows = []
        results = {}
        for label, ndomains, per_domain in (("1 domain", 1, 10), ("10,000 domains", 10000, 10)):
            load(url, ndomains, per_domain, pwhash)
            counts = sluicetest.psql(url, "SELECT (SELECT count(*) FROM domains), (SELECT count(*) FROM mailboxes),"
                                          " (SELECT count(*) FROM aliases)").strip()
            lk = lookup_latency(url, ndomains, per_domain, args.requests)
            au = auth_latency(sock, ndomains, per_domain, max(200, args.requests // 10))
            ls, nlines = admin_list_time(admin, conf, "d%d.bench" % ndomains)
            results[label] = (lk, au, ls)
            rows.append((label, counts, lk, au, ls))
        print("%-16s %-22s %14s %14s %16s" % ("state", "domains|mbox|aliases", "lookup ms", "authd ms",
                                             "admin list ms"))
        for label, counts, lk, au, ls in rows:
            print("%-16s %-22s %14.3f %14.3f %16.1f" % (label, counts, lk, au, ls))
        small, big = results["1 domain"], results["10,000 domains"]
        print("%-16s %-22s %14.2f %14.2f %16.2f" % ("ratio big/small", "", big[0] / small[0], big[1] / small[1],
                                                   big[2] / small[2]))
    finally:
        daemon.terminate()
        daemon.wait()
        cluster.destroy()


if __name__ == "__main__":
    main()
