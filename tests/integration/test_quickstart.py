"""The README's first command, as a new user runs it: deploy/quickstart brings
up PostgreSQL and sluice-authd, writes var/quickstart.env with the documented
keys, the demo mailbox logs in, a second run changes nothing, `status` and
`stop` do what they say. Runs in a temp var/ with the test build."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import json

import sluicetest

QS = os.path.join(sluicetest.SOURCE, "deploy", "quickstart")


def quickstart(env, *args):
    return subprocess.run([QS] + list(args), env=env, capture_output=True, text=True, timeout=300)


def read_env(path):
    out = {}
    for line in open(path):
        k, _, v = line.rstrip("\n").partition("=")
        out[k] = v
    return out


def auth(sock_path, user, password):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock_path)
    f = s.makefile("rwb")
    assert f.readline() == b"VERSION\t1\n"
    f.write(("AUTH\tq1\timap\t%s\t%s\t127.0.0.1\n" % (user, password)).encode())
    f.flush()
    answer = f.readline()
    s.close()
    return answer


def test_quickstart():
    var = tempfile.mkdtemp(prefix="sluice-qs-")
    env = dict(os.environ, QUICKSTART_VAR=var, QUICKSTART_BUILDDIR=sluicetest.BUILD)
    for name in ("PG", "SMTP", "SUBMISSION", "SMTPS", "SIEVE", "IMAP", "IMAPS"):
        env["QUICKSTART_%s_PORT" % name] = str(sluicetest.free_port())
    try:
        r = quickstart(env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "demo@example.test" in r.stdout, r.stdout
        facts = read_env(os.path.join(var, "quickstart.env"))
        for key in ("SLUICE_BIN", "SLUICE_CONF", "PG_URL", "AUTH_SOCKET", "DEMO_USER", "DEMO_PASSWORD",
                    "TLS_CERT", "SMTP_PORT", "SUBMISSION_PORT", "SMTPS_PORT", "LMTP_SOCKET",
                    "SIEVE_PORT"):
            assert facts.get(key), "quickstart.env lacks %s" % key
        assert facts["DEMO_USER"] == "demo@example.test"
        assert os.path.isfile(facts["TLS_CERT"])
        assert auth(facts["AUTH_SOCKET"], facts["DEMO_USER"], facts["DEMO_PASSWORD"]) == \
            b"OK\tq1\tdemo@example.test\n"
        assert auth(facts["AUTH_SOCKET"], facts["DEMO_USER"], "wrong") == b"FAIL\tq1\n"
        # The admin CLI works with the written configuration and sees the demo data.
        admin = os.path.join(facts["SLUICE_BIN"], "admin-cli", "sluice-admin")
        out = subprocess.run([admin, "-c", facts["SLUICE_CONF"], "mailbox", "list"], capture_output=True,
                             text=True, check=True).stdout
        assert "demo@example.test" in out, out
        # The README's promise: mail to the demo mailbox over SMTP lands in its store.
        r = subprocess.run(["swaks", "--to", facts["DEMO_USER"], "--from", "someone@example.net",
                            "--server", "127.0.0.1:" + facts["SMTP_PORT"], "--header",
                            "Subject: quickstart test"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        deadline = time.monotonic() + 30
        while True:
            out = subprocess.run([admin, "-c", facts["SLUICE_CONF"], "--json", "quota", "show",
                                  facts["DEMO_USER"]], capture_output=True, text=True, check=True).stdout
            if json.loads(out)["messages"] >= 1:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.2)
        # ManageSieve answers on its port.
        with socket.create_connection(("127.0.0.1", int(facts["SIEVE_PORT"])), timeout=10) as s:
            greeting = s.makefile("rb").readline()
            assert greeting.startswith(b'"IMPLEMENTATION"'), greeting
        # Idempotent: a second run keeps the password and the running daemon.
        r = quickstart(env)
        assert r.returncode == 0, r.stdout + r.stderr
        again = read_env(os.path.join(var, "quickstart.env"))
        assert again == facts
        r = quickstart(env, "status")
        assert r.returncode == 0, r.stdout
        for daemon in ("authd", "lmtpd", "qmgr", "smtpd", "sieved"):
            assert "sluice-%s: running" % daemon in r.stdout, r.stdout
        r = quickstart(env, "stop")
        assert r.returncode == 0, r.stderr
        r = quickstart(env, "status")
        assert r.returncode != 0 and "postgresql: stopped" in r.stdout, r.stdout
        assert "sluice-authd: stopped" in r.stdout, r.stdout
    finally:
        quickstart(env, "stop")
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    sluicetest.run([test_quickstart])
