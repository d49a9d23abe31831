#!/usr/bin/env python3
"""test_sieved.py: sluice-sieved (ManageSieve, RFC 5804) against a real
PostgreSQL, a real sluice-authd and real TLS.

The cluster is this test's own (it is stopped once to check NO (TRYLATER)).
The schema comes from `sluice-admin db migrate`, the mailboxes from
`sluice-admin mailbox add`; sluice-authd checks the logins; each daemon runs
as the `sluice` user when we are root, with a login role that is a member of
its group role (sluice_sieved, sluice_authd), as in production. Every command
and response code is checked with a raw socket client that sees the exact
bytes, and a user's session is replayed with sieve-connect (Debian's
ManageSieve client) when it is installed.
"""
import base64
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
from sluicetest import build_path, psql, run

ADMIN = build_path("admin-cli", "sluice-admin")
AUTHD = build_path("auth", "sluice-authd")
SIEVED = build_path("mda", "sluice-sieved")

USER, PASSWORD = "sieve@example.test", "Sieve-Pass-1"
OTHER, OTHER_PASSWORD = "other@example.test", "Other-Pass-2"
MAX_SCRIPTS = 4
MAX_SIZE = 2048
MAX_NAME = 20


class World:
    """The cluster, the database, sluice-authd and sluice-sieved."""

    def __init__(self):
        self.cluster = sluicetest.PgCluster()
        self.tmp = tempfile.mkdtemp(prefix="sluice-sieved-test-")
        os.chmod(self.tmp, 0o755)
        self.root = os.geteuid() == 0
        if self.root:
            pw = pwd.getpwnam("sluice")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        self.super_url = self.cluster.url("sluice")
        psql(self.cluster.url(), "CREATE DATABASE sluice")
        owner = self.write("owner.conf", {"db_url": self.super_url,
                                          "mail_root": os.path.join(self.tmp, "mail")})
        subprocess.run([ADMIN, "-c", owner, "db", "migrate"], check=True, capture_output=True)
        psql(self.super_url, "CREATE ROLE sieved_login LOGIN IN ROLE sluice_sieved; "
                             "CREATE ROLE authd_login LOGIN IN ROLE sluice_authd; "
                             "CREATE ROLE admin_login LOGIN IN ROLE sluice_admin")
        self.admin_conf = self.write("admin.conf", {
            "admin_db_url": self.cluster.url("sluice", user="admin_login"),
            "mail_root": os.path.join(self.tmp, "mail")})
        self.admin("domain", "add", "example.test")
        self.admin("mailbox", "add", USER, "--password-stdin", stdin=PASSWORD + "\n")
        self.admin("mailbox", "add", OTHER, "--password-stdin", stdin=OTHER_PASSWORD + "\n")
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        os.chmod(self.key, 0o644)
        self.sock = os.path.join(self.tmp, "auth.sock")
        self.procs = []
        self.start("authd", AUTHD, {
            "authd_db_url": self.cluster.url("sluice", user="authd_login"),
            "auth_socket": self.sock,
            "authd_penalty_initial": "0",
            "authd_penalty_max": "0",
        })
        sluicetest.wait_for_socket(self.sock, 15)
        self.port = sluicetest.free_port()
        self.sieved = self.start_sieved("sieved", self.port)

    def write(self, name, values):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            for k, v in values.items():
                f.write("%s = %s\n" % (k, v))
        return path

    def admin(self, *args, stdin=""):
        p = subprocess.run([ADMIN, "-c", self.admin_conf] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=60, start_new_session=True)
        assert p.returncode == 0, "%r: %s" % (args, p.stderr)
        return p.stdout

    def start(self, name, binary, values):
        values = dict(values)
        values.setdefault("log_level", "debug")
        values.setdefault("db_connect_timeout", "1s")
        values.setdefault("db_query_timeout", "2s")
        values.setdefault("db_wait_timeout", "1s")
        if self.root:
            values["run_user"] = "sluice"
        conf = self.write(name + ".conf", values)
        log = os.path.join(self.tmp, name + ".log")
        logf = open(log, "wb")
        proc = subprocess.Popen([binary, "-c", conf], stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=logf)
        logf.close()
        proc.log = log
        self.procs.append(proc)
        return proc

    def start_sieved(self, name, port, **settings):
        values = {
            "sieved_db_url": self.cluster.url("sluice", user="sieved_login"),
            "sieved_listen": "127.0.0.1:%d" % port,
            "auth_socket": self.sock,
            "tls_cert_file": self.cert,
            "tls_key_file": self.key,
            "sieved_max_scripts": str(MAX_SCRIPTS),
            "sieve_max_script_size": str(MAX_SIZE),
            "sieved_max_script_name": str(MAX_NAME),
            "sieved_max_auth_failures": "3",
        }
        values.update(settings)
        proc = self.start(name, SIEVED, values)
        try:
            sluicetest.wait_for_socket(port, 15)
        except TimeoutError:
            proc.kill()
            raise AssertionError("sluice-sieved did not start:\n" + open(proc.log).read())
        return proc

    def log(self, proc=None):
        return open((proc or self.sieved).log).read()

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Response:
    def __init__(self, data, status, code, text):
        self.data = data      # token lists of the lines before the status line
        self.status = status  # "OK", "NO", "BYE"
        self.code = code      # token list inside ( ), or None
        self.text = text      # str or None

    def code_name(self):
        return self.code[0] if self.code else None

    def __repr__(self):
        return "Response(%r, %r, %r, %r)" % (self.data, self.status, self.code, self.text)


class Client:
    """A ManageSieve client that shows what the server sends, byte for byte."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        self.greeting = self.response()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def _peek(self):
        while not self.buf:
            self._fill()
        return self.buf[:1]

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _tokens(self, until_paren=False):
        """Tokens of one line (literals inlined); strings are bytes, atoms str."""
        out = []
        while True:
            c = self._peek()
            if c == b" ":
                self._take(1)
            elif c == b"\r":
                assert self._take(2) == b"\r\n"
                assert not until_paren, "line ended inside ( )"
                return out
            elif c == b"\n":
                raise AssertionError("bare LF from the server")
            elif c == b")" and until_paren:
                self._take(1)
                return out
            elif c == b"(":
                self._take(1)
                out.append(("(", self._tokens(True)))
            elif c == b'"':
                self._take(1)
                s = b""
                while True:
                    ch = self._take(1)
                    if ch == b"\\":
                        s += self._take(1)
                    elif ch == b'"':
                        break
                    else:
                        assert ch not in (b"\r", b"\n"), "line end in a quoted string"
                        s += ch
                out.append(s)
            elif c == b"{":
                head = b""
                while not head.endswith(b"}\r\n"):
                    head += self._take(1)
                n = int(head[1:-3].rstrip(b"+"))
                out.append(self._take(n))
            else:
                atom = b""
                while self._peek() not in (b" ", b"\r", b"(", b")", b"\n"):
                    atom += self._take(1)
                out.append(atom.decode())

    def response(self):
        data = []
        while True:
            toks = self._tokens()
            if toks and toks[0] in ("OK", "NO", "BYE"):
                code, text = None, None
                rest = toks[1:]
                if rest and isinstance(rest[0], tuple):
                    code = [t.decode() if isinstance(t, bytes) else t for t in rest[0][1]]
                    rest = rest[1:]
                if rest:
                    text = rest[0].decode()
                return Response(data, toks[0], code, text)
            data.append(toks)

    def send(self, raw):
        if isinstance(raw, str):
            raw = raw.encode()
        self.sock.sendall(raw)

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.response()

    def capabilities(self, resp=None):
        resp = resp or self.greeting
        caps = {}
        for toks in resp.data:
            caps[toks[0].decode()] = toks[1].decode() if len(toks) > 1 else None
        return caps

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.status == "OK", r
        assert not self.buf
        ctx = ssl.create_default_context(cafile=W.cert)
        ctx.check_hostname = False
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        return self.response()

    def login(self, user=USER, password=PASSWORD):
        ir = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return self.cmd('AUTHENTICATE "PLAIN" "%s"' % ir)

    def putscript(self, name, script):
        if isinstance(script, str):
            script = script.encode()
        return self.cmd(b'PUTSCRIPT "' + name.encode() + b'" {%d+}\r\n' % len(script) + script)

    def closed(self):
        try:
            self.sock.settimeout(5)
            return not self.buf and self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.sock.close()


W = None

GOOD = """require ["fileinto"];
if header :contains "subject" "sieve" {
    fileinto "Sieve";
}
"""
BAD = """require ["fileinto"];

if header :contains "subject" "x" {
    fileinto "A"
}
"""


def logged_in():
    c = Client(W.port)
    r = c.login()
    assert r.status == "OK", r
    return c


def scripts_in_db(user=USER):
    local, domain = user.split("@")
    out = psql(W.super_url, "SELECT s.name || ':' || CASE WHEN s.active THEN 't' ELSE 'f' END "
                            "FROM sieve_scripts s "
                            "JOIN mailbox_directory m ON m.id = s.mailbox_id "
                            "WHERE m.local_part = '%s' AND m.domain = '%s' ORDER BY s.name"
               % (local, domain))
    return [line for line in out.split("\n") if line]


def reset_scripts():
    psql(W.super_url, "DELETE FROM sieve_scripts")


def test_greeting_capabilities():
    c = Client(W.port)
    assert c.greeting.status == "OK", c.greeting
    caps = c.capabilities()
    assert caps["IMPLEMENTATION"].startswith("Sluice "), caps
    assert caps["SASL"] == "PLAIN LOGIN", caps          # loopback: no TLS needed
    assert "STARTTLS" in caps and caps["STARTTLS"] is None
    assert caps["VERSION"] == "1.0"
    assert caps["MAXREDIRECTS"] == "4"
    assert "UNAUTHENTICATE" in caps
    assert caps["NOTIFY"] == "mailto"
    sieve = caps["SIEVE"].split()
    for ext in ("fileinto", "reject", "envelope", "vacation", "date", "relational", "body",
                "imap4flags", "include", "variables", "comparator-i;ascii-numeric"):
        assert ext in sieve, (ext, sieve)
    # CAPABILITY says the same; after login OWNER appears
    r = c.cmd("CAPABILITY")
    assert r.status == "OK" and c.capabilities(r) == caps, r
    assert c.login().status == "OK"
    caps2 = c.capabilities(c.cmd("CAPABILITY"))
    assert caps2["OWNER"] == USER and "STARTTLS" not in caps2, caps2
    # the SIEVE list is exactly what the compiler takes: all of it compiles...
    script = "require [%s];\nkeep;\n" % ", ".join('"%s"' % e for e in sieve)
    r = c.cmd(b"CHECKSCRIPT {%d+}\r\n" % len(script) + script.encode())
    assert r.status == "OK", r
    # ... and something else does not
    r = c.cmd(b'CHECKSCRIPT "require \\"x-unknown\\"; keep;"')
    assert r.status == "NO" and "x-unknown" in r.text, r
    assert c.cmd("LOGOUT").status == "OK"
    assert c.closed()


def test_extensions_setting_narrows_capability():
    port = sluicetest.free_port()
    proc = W.start_sieved("sieved-narrow", port, sieve_extensions="fileinto vacation")
    try:
        c = Client(port)
        assert c.capabilities()["SIEVE"] == "fileinto vacation", c.capabilities()
        assert "NOTIFY" not in c.capabilities()
        assert c.login().status == "OK"
        r = c.cmd(b'CHECKSCRIPT "require \\"body\\"; keep;"')
        assert r.status == "NO" and "body" in r.text, r
        c.close()
    finally:
        proc.terminate()
        proc.wait()


def test_authenticate():
    c = Client(W.port)
    # before login, script commands are refused
    r = c.cmd("LISTSCRIPTS")
    assert r.status == "NO" and "Authenticate" in r.text, r
    # wrong password
    r = c.login(password="wrong")
    assert r.status == "NO" and r.text == "Authentication failed", r
    # an initial response that is not base64
    r = c.cmd('AUTHENTICATE "PLAIN" "!!not base64"')
    assert r.status == "NO" and "base64" in r.text, r
    # unknown mechanism
    r = c.cmd('AUTHENTICATE "CRAM-MD5"')
    assert r.status == "NO" and "mechanism" in r.text, r
    # PLAIN without an initial response: an empty challenge, the response as a literal
    c.send('AUTHENTICATE "PLAIN"\r\n')
    toks = c._tokens()
    assert toks == [b""], toks
    ir = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
    c.send(b"{%d+}\r\n" % len(ir) + ir + b"\r\n")
    r = c.response()
    assert r.status == "OK", r
    # once in, AUTHENTICATE and STARTTLS are refused
    assert c.login().status == "NO"
    assert c.cmd("STARTTLS").status == "NO"
    # UNAUTHENTICATE goes back (RFC 5804 2.14)
    assert c.cmd("UNAUTHENTICATE").status == "OK"
    assert c.cmd("LISTSCRIPTS").status == "NO"
    assert c.cmd("UNAUTHENTICATE").status == "NO"
    # LOGIN: two challenges, "Username:" and "Password:"
    c.send('AUTHENTICATE "LOGIN"\r\n')
    assert base64.b64decode(c._tokens()[0]).lower().startswith(b"username"), "no user prompt"
    c.send('"%s"\r\n' % base64.b64encode(OTHER.encode()).decode())
    assert base64.b64decode(c._tokens()[0]).lower().startswith(b"password")
    c.send('"%s"\r\n' % base64.b64encode(OTHER_PASSWORD.encode()).decode())
    r = c.response()
    assert r.status == "OK", r
    assert c.capabilities(c.cmd("CAPABILITY"))["OWNER"] == OTHER
    assert c.cmd("UNAUTHENTICATE").status == "OK"
    # "*" cancels an exchange with NO (RFC 5804 2.1)
    c.send('AUTHENTICATE "LOGIN"\r\n')
    c._tokens()
    r = c.cmd('"*"')
    assert r.status == "NO" and "cancel" in r.text.lower(), r
    # a mailbox name in another case logs in as the canonical one
    r = c.login(user=USER.upper())
    assert r.status == "OK", r
    assert c.capabilities(c.cmd("CAPABILITY"))["OWNER"] == USER
    c.close()
    # three failures end the session with BYE
    c = Client(W.port)
    assert c.login(password="wrong-pass-x1").status == "NO"
    assert c.login(password="wrong-pass-x2").status == "NO"
    r = c.login(password="wrong-pass-x3")
    assert r.status == "BYE", r
    assert c.closed()
    # no password ever reaches the log
    # (distinctive strings: a random session id may hold any two characters)
    assert PASSWORD not in W.log() and "wrong-pass-x" not in W.log()


def test_starttls_required_off_loopback():
    port = sluicetest.free_port()
    proc = W.start_sieved("sieved-tls", port, sieved_plaintext_auth="no")
    try:
        c = Client(port)
        caps = c.capabilities()
        assert caps["SASL"] == "" and "STARTTLS" in caps, caps
        r = c.login()
        assert r.status == "NO" and r.code_name() == "ENCRYPT-NEEDED", r
        # anything pipelined before the handshake is thrown away
        c.send("NOOP\r\n")
        c.sock.sendall(b"STARTTLS\r\nNOOP\r\n")
        assert c.response().status == "OK"     # the NOOP before
        r = c.response()
        assert r.status == "OK", r
        ctx = ssl.create_default_context(cafile=W.cert)
        ctx.check_hostname = False
        c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        c.buf = b""
        r = c.response()                        # capabilities again (RFC 5804 2.2)
        caps = c.capabilities(r)
        assert r.status == "OK" and caps["SASL"] == "PLAIN LOGIN", r
        assert "STARTTLS" not in caps, caps
        assert c.cmd("STARTTLS").status == "NO"
        assert c.login().status == "OK"
        assert c.cmd("LISTSCRIPTS").status == "OK"
        c.close()
        assert "discarded" in W.log(proc)
    finally:
        proc.terminate()
        proc.wait()


def test_putscript_errors_and_activate():
    reset_scripts()
    c = logged_in()
    # a script with an error: the compiler's message and line come back
    r = c.putscript("bad", BAD)
    assert r.status == "NO", r
    assert re.search(r"line 5\b", r.text), r.text
    assert scripts_in_db() == []
    # a good one
    r = c.putscript("main", GOOD)
    assert r.status == "OK" and r.code is None, r
    r = c.cmd("LISTSCRIPTS")
    assert r.status == "OK" and r.data == [[b"main"]], r
    assert c.cmd('SETACTIVE "main"').status == "OK"
    r = c.cmd("LISTSCRIPTS")
    assert r.data == [[b"main", "ACTIVE"]], r
    assert scripts_in_db() == ["main:t"]
    # GETSCRIPT returns the bytes stored, as a literal
    c.send('GETSCRIPT "main"\r\n')
    raw = b""
    while not raw.endswith(b"OK \"Getscript completed\"\r\n"):
        raw += c.sock.recv(65536)
    assert raw == b"{%d}\r\n%s\r\nOK \"Getscript completed\"\r\n" % (len(GOOD), GOOD.encode()), raw
    # replacing the active script keeps it active
    assert c.putscript("main", GOOD + "# v2\n").status == "OK"
    assert scripts_in_db() == ["main:t"]
    # ... but a broken replacement is refused and the old one stays
    r = c.putscript("main", BAD)
    assert r.status == "NO" and "line 5" in r.text, r
    r = c.cmd('GETSCRIPT "main"')
    assert r.data[0][0].decode().endswith("# v2\n"), r
    # the second active script replaces the first
    assert c.putscript("other", "keep;\n").status == "OK"
    assert c.cmd('SETACTIVE "other"').status == "OK"
    assert scripts_in_db() == ["main:f", "other:t"]
    # SETACTIVE "" deactivates everything
    assert c.cmd('SETACTIVE ""').status == "OK"
    assert scripts_in_db() == ["main:f", "other:f"]
    r = c.cmd('SETACTIVE "nothere"')
    assert r.status == "NO" and r.code_name() == "NONEXISTENT", r
    r = c.cmd('GETSCRIPT "nothere"')
    assert r.status == "NO" and r.code_name() == "NONEXISTENT", r
    # another user sees none of it
    c2 = Client(W.port)
    assert c2.login(OTHER, OTHER_PASSWORD).status == "OK"
    assert c2.cmd("LISTSCRIPTS").data == []
    assert c2.cmd('GETSCRIPT "main"').code_name() == "NONEXISTENT"
    c2.close()
    c.close()


def test_checkscript_and_warnings():
    reset_scripts()
    c = logged_in()
    r = c.cmd(b"CHECKSCRIPT {%d+}\r\n" % len(GOOD) + GOOD.encode())
    assert r.status == "OK", r
    r = c.cmd(b"CHECKSCRIPT {%d+}\r\n" % len(BAD) + BAD.encode())
    assert r.status == "NO" and "line 5" in r.text, r
    assert scripts_in_db() == []
    # an include of a script not uploaded yet: stored, with WARNINGS
    main = 'require "include";\ninclude :personal "helper";\nkeep;\n'
    r = c.putscript("main", main)
    assert r.status == "OK" and r.code_name() == "WARNINGS" and "helper" in r.text, r
    # it cannot be activated before the helper exists
    r = c.cmd('SETACTIVE "main"')
    assert r.status == "NO" and "helper" in r.text, r
    assert c.putscript("helper", 'require "fileinto";\nfileinto "Helper";\n').status == "OK"
    r = c.cmd('SETACTIVE "main"')
    assert r.status == "OK" and r.code is None, r
    assert c.putscript("main", main).code is None    # no warning any more
    # the active script's include must stay valid
    r = c.putscript("helper", "fileinto \"x\";\n")
    assert r.status == "NO" and "line 1" in r.text, r
    # a change to an included script that breaks the active one is refused
    r = c.putscript("helper", 'require "include";\ninclude :personal "missing";\n')
    assert r.status == "NO" and r.text.startswith('The active script "main" would no longer'), r
    assert "missing" in r.text, r
    # removing a script the active one includes is refused: delivery would break
    r = c.cmd('DELETESCRIPT "helper"')
    assert r.status == "NO" and '"main"' in r.text, r
    r = c.cmd('RENAMESCRIPT "helper" "helper2"')
    assert r.status == "NO" and '"main"' in r.text, r
    assert sorted(scripts_in_db()) == ["helper:f", "main:t"]
    # once main is not active, the helper may go
    assert c.cmd('SETACTIVE ""').status == "OK"
    assert c.cmd('DELETESCRIPT "helper"').status == "OK"
    c.close()


def test_havespace_and_quotas():
    reset_scripts()
    c = logged_in()
    assert c.cmd('HAVESPACE "a" 100').status == "OK"
    r = c.cmd('HAVESPACE "a" %d' % (MAX_SIZE + 1))
    assert r.status == "NO" and r.code_name() == "QUOTA/MAXSIZE", r
    r = c.cmd('HAVESPACE "a" x')
    assert r.status == "NO", r
    # a literal over the size: QUOTA/MAXSIZE, and the session stays in sync
    big = b"# " + b"x" * MAX_SIZE + b"\nkeep;\n"
    r = c.cmd(b'PUTSCRIPT "big" {%d+}\r\n' % len(big) + big)
    assert r.status == "NO" and r.code_name() == "QUOTA/MAXSIZE", r
    assert c.cmd("NOOP").status == "OK"
    assert scripts_in_db() == []
    # the count limit
    for i in range(MAX_SCRIPTS):
        assert c.putscript("s%d" % i, "keep;\n").status == "OK"
    r = c.cmd('HAVESPACE "new" 10')
    assert r.status == "NO" and r.code_name() == "QUOTA/MAXSCRIPTS", r
    assert c.cmd('HAVESPACE "s0" 10').status == "OK"     # replacing is fine
    r = c.putscript("new", "keep;\n")
    assert r.status == "NO" and r.code_name() == "QUOTA/MAXSCRIPTS", r
    assert c.putscript("s0", "discard;\n").status == "OK"
    assert len(scripts_in_db()) == MAX_SCRIPTS
    # names: too long, control characters, not UTF-8, "/"
    r = c.putscript("n" * (MAX_NAME + 1), "keep;\n")
    assert r.status == "NO" and "at most" in r.text, r
    r = c.cmd(b'PUTSCRIPT {3+}\r\na\x01b "keep;"')
    assert r.status == "NO" and "control" in r.text, r
    r = c.cmd(b'PUTSCRIPT "\xff" "keep;"')
    assert r.status == "NO" and "UTF-8" in r.text, r
    r = c.cmd('PUTSCRIPT "a/b" "keep;"')
    assert r.status == "NO", r
    r = c.cmd(b'PUTSCRIPT "x" {6+}\r\nkeep\x00;')
    assert r.status == "NO" and "NUL" in r.text, r
    # a UTF-8 name counts characters, not octets
    name = "\u00e9" * MAX_NAME
    assert c.cmd('DELETESCRIPT "s1"').status == "OK"
    assert c.putscript(name, "keep;\n").status == "OK"
    assert c.cmd("LISTSCRIPTS").data[0] == [name.encode()] or \
        [name.encode()] in c.cmd("LISTSCRIPTS").data
    c.close()


def test_delete_rename():
    reset_scripts()
    c = logged_in()
    assert c.putscript("a", "keep;\n").status == "OK"
    assert c.putscript("b", "discard;\n").status == "OK"
    assert c.cmd('SETACTIVE "a"').status == "OK"
    r = c.cmd('DELETESCRIPT "a"')
    assert r.status == "NO" and r.code_name() == "ACTIVE", r
    r = c.cmd('DELETESCRIPT "zz"')
    assert r.status == "NO" and r.code_name() == "NONEXISTENT", r
    r = c.cmd('RENAMESCRIPT "a" "b"')
    assert r.status == "NO" and r.code_name() == "ALREADYEXISTS", r
    r = c.cmd('RENAMESCRIPT "zz" "yy"')
    assert r.status == "NO" and r.code_name() == "NONEXISTENT", r
    assert c.cmd('RENAMESCRIPT "a" "c"').status == "OK"
    assert scripts_in_db() == ["b:f", "c:t"]      # the active one stays active
    assert c.cmd('DELETESCRIPT "b"').status == "OK"
    assert c.cmd('SETACTIVE ""').status == "OK"
    assert c.cmd('DELETESCRIPT "c"').status == "OK"
    assert scripts_in_db() == []
    c.close()


def test_noop_tag_syntax_and_errors():
    c = Client(W.port)
    r = c.cmd('NOOP "STARTTLS-SYNC-42"')
    assert r.status == "OK" and r.code == ["TAG", "STARTTLS-SYNC-42"], r
    assert c.cmd("noop").status == "OK"                  # case-insensitive
    r = c.cmd('NOOP "unterminated')
    assert r.status == "NO" and "Syntax error" in r.text, r
    r = c.cmd("FROBNICATE")
    assert r.status == "NO" and "Unknown" in r.text, r
    r = c.cmd("CAPABILITY extra")
    assert r.status == "NO" and "arguments" in r.text, r
    # a line too long
    r = c.cmd("NOOP " + "x" * 9000)
    assert r.status == "NO" and "too long" in r.text, r
    # the tenth error (sieved_max_errors) is answered, then the session ends with BYE
    for _ in range(5):
        assert c.cmd("FROBNICATE").status == "NO"
    r = c.cmd("FROBNICATE")
    assert r.status == "NO", r
    r = c.response()
    assert r.status == "BYE" and "errors" in r.text, r
    assert c.closed()
    # a literal after a syntax error is skipped, not run as a command
    c = Client(W.port)
    r = c.cmd(b'NOOP ( {9+}\r\nLOGOUT\r\nX')
    assert r.status == "NO", r
    assert c.cmd("NOOP").status == "OK"
    c.close()


def test_database_outage_trylater():
    c = logged_in()
    W.cluster.stop()
    try:
        r = c.cmd("LISTSCRIPTS")
        assert r.status == "NO" and r.code_name() == "TRYLATER", r
        r = c.putscript("x", "keep;\n")
        assert r.status == "NO" and r.code_name() == "TRYLATER", r
        # a login needs the database too (authd's and ours)
        c2 = Client(W.port)
        r = c2.login()
        assert r.status == "NO" and r.code_name() == "TRYLATER", r
        c2.close()
    finally:
        W.cluster.start()
    for _ in range(50):
        r = c.cmd("LISTSCRIPTS")
        if r.status == "OK":
            break
        time.sleep(0.2)
    assert r.status == "OK", r
    c.close()


def test_sieve_connect():
    """A user's session with sieve-connect (the Debian package)."""
    if shutil.which("sieve-connect") is None:
        print("sieve-connect is not installed: deploy/common.sh installs it")
        raise AssertionError("sieve-connect missing")
    reset_scripts()
    work = tempfile.mkdtemp(prefix="sieve-connect-", dir=W.tmp)
    bad, good = os.path.join(work, "bad.sieve"), os.path.join(work, "good.sieve")
    with open(bad, "w") as f:
        f.write(BAD)
    with open(good, "w") as f:
        f.write(GOOD)

    def sc(*args):
        r, w = os.pipe()
        os.write(w, (PASSWORD + "\n").encode())
        os.close(w)
        p = subprocess.run(["sieve-connect", "--server", "127.0.0.1", "--port", str(W.port),
                            "--user", USER, "--passwordfd", str(r), "--notlsverify", "--nosrv",
                            "--authmech", "PLAIN"] + list(args),
                           pass_fds=(r,), capture_output=True, text=True, timeout=60, cwd=work)
        os.close(r)
        return p

    p = sc("--upload", "--localsieve", bad, "--remotesieve", "filter")
    assert p.returncode != 0 and "line 5" in p.stderr, (p.returncode, p.stdout, p.stderr)
    p = sc("--upload", "--localsieve", good, "--remotesieve", "filter")
    assert p.returncode == 0, p.stderr
    p = sc("--activate", "--remotesieve", "filter")
    assert p.returncode == 0, p.stderr
    p = sc("--list")
    assert p.returncode == 0 and '"filter" ACTIVE' in p.stdout, p.stdout
    p = sc("--download", "--remotesieve", "filter", "--localsieve", "copy.sieve")
    assert p.returncode == 0, p.stderr
    assert open(os.path.join(work, "copy.sieve")).read() == GOOD
    p = sc("--checkscript", "--localsieve", bad)
    assert p.returncode != 0 and "line 5" in p.stderr, p.stderr
    p = sc("--delete", "--remotesieve", "filter")
    assert p.returncode != 0, p.stdout       # active: refused
    p = sc("--deactivate")
    assert p.returncode == 0, p.stderr
    p = sc("--delete", "--remotesieve", "filter")
    assert p.returncode == 0, p.stderr
    assert scripts_in_db() == []
    # it went over TLS (STARTTLS), from the log
    assert "tls=yes" in W.log()


def test_sigterm_says_bye():
    port = sluicetest.free_port()
    proc = W.start_sieved("sieved-term", port)
    c = Client(port)
    assert c.login().status == "OK"
    proc.send_signal(signal.SIGTERM)
    r = c.response()
    assert r.status == "BYE", r
    assert proc.wait(timeout=20) == 0


def test_logs_clean():
    """After a clean stop, no daemon reported a sanitizer error or a leak."""
    for p in W.procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in W.procs:
        p.wait(timeout=30)
        text = open(p.log, errors="replace").read()
        for marker in ("Sanitizer", "runtime error"):
            assert marker not in text, "%s:\n%s" % (p.log, text[-4000:])


def main():
    global W
    W = World()
    try:
        run([test_greeting_capabilities, test_extensions_setting_narrows_capability,
             test_authenticate, test_starttls_required_off_loopback,
             test_putscript_errors_and_activate, test_checkscript_and_warnings,
             test_havespace_and_quotas, test_delete_rename, test_noop_tag_syntax_and_errors,
             test_database_outage_trylater, test_sieve_connect, test_sigterm_says_bye,
             test_logs_clean])
    finally:
        W.close()


if __name__ == "__main__":
    main()
