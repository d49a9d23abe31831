"""sluicetest: shared helpers for Sluice's integration tests.

- build_path(name): a built program, found under $SLUICE_BUILD.
- PgCluster: a private PostgreSQL cluster in a temp dir, run as the
  unprivileged `sluice` user when we are root (PostgreSQL refuses root);
  it can be stopped and started again to test database outages.
- fresh_database(): a new empty database in the cluster tests/run started
  ($SLUICE_TEST_PG_URL), or in a private cluster when run alone.
- free_port(), wait_for_socket(), a tiny TAP-less test runner: run(tests).
"""
import atexit
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

SOURCE = os.environ.get("SLUICE_SOURCE", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD = os.environ.get("SLUICE_BUILD", os.path.join(SOURCE, "build"))


def build_path(*parts):
    """Path of a built program, e.g. build_path('admin-cli', 'sluice-admin')."""
    return os.path.join(BUILD, *parts)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_socket(path_or_port, timeout=10.0):
    """Wait until a UNIX socket path or a 127.0.0.1 port accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if isinstance(path_or_port, int):
                s = socket.create_connection(("127.0.0.1", path_or_port), timeout=1)
            else:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path_or_port)
            s.close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on %r" % (path_or_port,))


def _pg_bindir():
    base = "/usr/lib/postgresql"
    versions = sorted(os.listdir(base), key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])
    return os.path.join(base, versions[-1], "bin")


def _as_pg_user(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "sluice", "--"] + cmd
    return cmd


class PgCluster:
    """A private PostgreSQL cluster; stop() and start() simulate an outage."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-pg-")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("sluice")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.bindir = _pg_bindir()
        subprocess.run(_as_pg_user([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres",
                                    "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.start()
        atexit.register(self.destroy)

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    def url(self, dbname="postgres", user="postgres"):
        return "postgresql://%s@127.0.0.1:%d/%s" % (user, self.port, dbname)

    def start(self):
        opts = "-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off" % (self.port, self.dir)
        subprocess.run(_as_pg_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l",
                                    os.path.join(self.dir, "pg.log"), "-w", "-o", opts, "start"]),
                       check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        subprocess.run(_as_pg_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", "fast",
                                    "-w", "stop"]), check=True, stdout=subprocess.DEVNULL)

    def destroy(self):
        if os.path.isdir(self.dir):
            subprocess.run(_as_pg_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m",
                                        "immediate", "stop"]), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            shutil.rmtree(self.dir, ignore_errors=True)


_private_cluster = None


def server_url():
    """Superuser URL of the shared test cluster (starting a private one if none)."""
    global _private_cluster
    url = os.environ.get("SLUICE_TEST_PG_URL")
    if url:
        return url
    if _private_cluster is None:
        _private_cluster = PgCluster()
    return _private_cluster.url()


def psql(url, sql, *args):
    """Run SQL through psql; returns stdout (unaligned, tuples only)."""
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
    return subprocess.run(cmd + list(args), check=True, capture_output=True, text=True).stdout


def fresh_database(url=None):
    """Create a new empty database; returns its superuser URL."""
    base = url or server_url()
    name = "t_" + uuid.uuid4().hex[:12]
    psql(base, "CREATE DATABASE %s" % name)
    return base.rsplit("/", 1)[0] + "/" + name


def run(tests):
    """Run test functions in order; print one line each; exit non-zero on failure."""
    failed = 0
    for t in tests:
        start = time.monotonic()
        try:
            t()
            print("ok   %s (%.2fs)" % (t.__name__, time.monotonic() - start), flush=True)
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__, flush=True)
            traceback.print_exc()
    print("%d passed, %d failed" % (len(tests) - failed, failed), flush=True)
    sys.exit(1 if failed else 0)
