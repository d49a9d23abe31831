"""imapd_world: what the sluice-imapd integration tests (test_imapd*.py) share.

A World is a fresh database migrated by `sluice-admin db migrate`, login
roles that are members of the schema's group roles (sluice_imapd for the
IMAP server, as in production), a domain with mailboxes made by
`sluice-admin mailbox add --password-stdin`, a self-signed certificate, and
running sluice-authd, sluice-imapd (STARTTLS and implicit TLS listeners on
127.0.0.1) and, when asked, sluice-lmtpd to deliver mail the way the MTA
does. The daemons run as the `sluice` user when we are root. close() stops
them and fails when a sanitizer reported anything in a daemon's log.
"""
import imaplib
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import zlib
import tempfile
import time
import uuid

import sluicetest
from sluicetest import build_path, psql

ADMIN = build_path("admin-cli", "sluice-admin")
AUTHD = build_path("auth", "sluice-authd")
IMAPD = build_path("imapd", "sluice-imapd")
LMTPD = build_path("mda", "sluice-lmtpd")

DOMAIN = "example.test"
PASSWORD = "imap-Secret-1"


def non_loopback_ip():
    """An address of this host that is not loopback, or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except OSError:
        return None
    for word in out.split():
        if re.match(r"^\d+\.\d+\.\d+\.\d+$", word) and not word.startswith("127."):
            return word
    return None


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class World:
    def __init__(self, users=("alice", "bob"), lmtpd=False, imapd_settings=None, listen_all=False,
                 cluster=None, mail_root=None):
        # a cluster of its own can be stopped and started (database outages)
        self.cluster = cluster
        self.url = sluicetest.fresh_database(cluster.url() if cluster else None)
        base, self.dbname = self.url.rsplit("/", 1)
        self.tmp = tempfile.mkdtemp(prefix="sluice-imapd-test-")
        os.chmod(self.tmp, 0o755)
        self.root = os.geteuid() == 0
        if self.root:
            pw = pwd.getpwnam("sluice")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        self.daemons = {}
        # a mail_root of the caller's (a small tmpfs: a full disk)
        self.mail_root = mail_root or os.path.join(self.tmp, "mail")
        self.auth_socket = os.path.join(self.tmp, "auth.sock")
        self.lmtp_socket = os.path.join(self.tmp, "lmtp.sock")
        self.cert = os.path.join(self.tmp, "cert.pem")
        self.key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                        "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        if self.root:
            os.chown(self.key, pw.pw_uid, pw.pw_gid)
        owner = self.write("owner.conf", {"db_url": self.url, "mail_root": self.mail_root})
        subprocess.run([ADMIN, "-c", owner, "db", "migrate"], check=True, capture_output=True)
        suffix = uuid.uuid4().hex[:8]
        self.roles = {}
        for comp in ("imapd", "authd", "admin", "mda"):
            role = "%s_%s" % (comp, suffix)
            psql(self.url, "CREATE ROLE %s LOGIN IN ROLE sluice_%s" % (role, comp))
            self.roles[comp] = self.role_url(role)
        self.imap_port = sluicetest.free_port()
        self.imaps_port = sluicetest.free_port()
        host = "*" if listen_all else "127.0.0.1"
        settings = {
            "db_url": self.roles["imapd"],
            "imapd_db_url": self.roles["imapd"],
            "authd_db_url": self.roles["authd"],
            "admin_db_url": self.roles["admin"],
            "lmtpd_db_url": self.roles["mda"],
            "db_connect_timeout": "2s",
            "db_query_timeout": "5s",
            "db_wait_timeout": "3s",
            "mail_root": self.mail_root,
            "auth_socket": self.auth_socket,
            "lmtpd_socket": self.lmtp_socket,
            "tls_cert_file": self.cert,
            "tls_key_file": self.key,
            "log_level": "debug",
            "password_argon2_memlimit": "8M",
            "password_argon2_opslimit": "1",
            "authd_penalty_initial": "0",
            "authd_penalty_max": "0",
            "imapd_listen": "%s:%d" % (host, self.imap_port),
            "imapd_listen_tls": "%s:%d" % (host, self.imaps_port),
            "imapd_hostname": "imap.example.test",
        }
        if self.root:
            settings["run_user"] = "sluice"
        settings.update(imapd_settings or {})
        self.settings = settings
        self.conf = self.write("sluice.conf", settings)
        self.admin("domain", "add", DOMAIN)
        self.users = {}
        for u in users:
            self.add_user(u)
        self.start("sluice-authd", AUTHD, self.auth_socket)
        if lmtpd:
            self.start("sluice-lmtpd", LMTPD, self.lmtp_socket)
        self.start_imapd()

    def role_url(self, role):
        base, dbname = self.url.rsplit("/", 1)
        scheme, rest = base.split("://", 1)
        hostport = rest.split("@", 1)[1]
        return "%s://%s@%s/%s" % (scheme, role, hostport, dbname)

    def write(self, name, settings):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            for k, v in settings.items():
                f.write("%s = %s\n" % (k, v))
        return path

    def admin(self, *args, stdin=""):
        p = subprocess.run([ADMIN, "-c", self.conf] + list(args), input=stdin, capture_output=True,
                           text=True, timeout=60, start_new_session=True)
        assert p.returncode == 0, "sluice-admin %r: %s" % (args, p.stderr)
        return p.stdout

    def add_user(self, local, quota=None, quota_messages=None):
        address = "%s@%s" % (local, DOMAIN)
        args = ["mailbox", "add", address, "--password-stdin"]
        if quota:
            args += ["--quota", str(quota)]
        if quota_messages:
            args += ["--quota-messages", str(quota_messages)]
        self.admin(*args, stdin=PASSWORD + "\n")
        self.users[local] = address
        return address

    def start(self, name, binary, wait_for, conf=None):
        log = os.path.join(self.tmp, name + ".log")
        logf = open(log, "ab")
        proc = subprocess.Popen([binary, "-c", conf or self.conf, "-f"], stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf)
        logf.close()
        proc.log = log
        self.daemons[name] = proc
        try:
            sluicetest.wait_for_socket(wait_for, 20)
        except TimeoutError:
            proc.kill()
            raise AssertionError("%s did not start:\n%s" % (name, open(log).read()))
        return proc

    def start_imapd(self):
        return self.start("sluice-imapd", IMAPD, self.imap_port)

    def stop(self, name, sig=signal.SIGTERM, timeout=30):
        proc = self.daemons.pop(name)
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise AssertionError("%s did not stop on %s" % (name, sig))
        self.check_log(proc.log)
        return proc.returncode

    def log(self, name="sluice-imapd"):
        with open(os.path.join(self.tmp, name + ".log"), errors="replace") as f:
            return f.read()

    @staticmethod
    def check_log(path):
        with open(path, errors="replace") as f:
            text = f.read()
        for bad in ("AddressSanitizer", "runtime error:", "LeakSanitizer", "panic"):
            assert bad not in text, "%s in %s:\n%s" % (bad, path, text[-4000:])

    def close(self):
        for name in list(self.daemons):
            self.stop(name)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- clients ---

    def connect(self, tls=False, host="127.0.0.1"):
        if tls:
            return imaplib.IMAP4_SSL(host, self.imaps_port, ssl_context=tls_context(), timeout=30)
        return imaplib.IMAP4(host, self.imap_port, timeout=30)

    def login(self, user="alice", tls=False):
        c = self.connect(tls=tls)
        typ, _ = c.login(self.users[user], PASSWORD)
        assert typ == "OK"
        return c

    def raw(self, host="127.0.0.1", port=None, tls=False):
        """A plain socket client speaking raw IMAP lines."""
        return RawClient(host, port or (self.imaps_port if tls else self.imap_port), tls)

    def deliver(self, user, message, sender="sender@example.org"):
        """Deliver through sluice-lmtpd, as sluice-qmgr does."""
        if isinstance(message, str):
            message = message.encode()
        with smtplib.LMTP(self.lmtp_socket) as lmtp:
            lmtp.sendmail(sender, [self.users[user]], message)

    def sql(self, query):
        return psql(self.url, query).strip()


def parse_list(data, pos):
    """Parse an IMAP list at data[pos] ('('); returns (items, next pos). Strings are bytes,
    NIL is None, atoms are bytes too (section names keep their brackets)."""
    assert data[pos:pos + 1] == b"(", data[pos:pos + 20]
    pos += 1
    items = []
    while True:
        while data[pos:pos + 1] == b" ":
            pos += 1
        c = data[pos:pos + 1]
        if c == b")":
            return items, pos + 1
        if c == b"(":
            sub, pos = parse_list(data, pos)
            items.append(sub)
        elif c == b'"':
            end = pos + 1
            out = b""
            while data[end:end + 1] != b'"':
                if data[end:end + 1] == b"\\":
                    end += 1
                out += data[end:end + 1]
                end += 1
            items.append(out)
            pos = end + 1
        elif c in (b"{", b"~"):
            m = re.match(rb"~?\{(\d+)\}\r\n", data[pos:])
            n = int(m.group(1))
            start = pos + m.end()
            items.append(data[start:start + n])
            pos = start + n
        else:
            end = pos
            depth = 0
            while True:
                ch = data[end:end + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b")", b"\r", b""):
                    break
                end += 1
            atom = data[pos:end]
            items.append(None if atom == b"NIL" else atom)
            pos = end


class RawClient:
    """Line-level IMAP for what imaplib will not send (garbage, literals, IDLE)."""

    def __init__(self, host, port, tls=False):
        self.sock = socket.create_connection((host, port), timeout=30)
        if tls:
            self.sock = tls_context().wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.deflate = None
        self.greeting = self.line()

    def start_deflate(self):
        """COMPRESS=DEFLATE from now on (RFC 4978: raw DEFLATE both ways)."""
        self.deflate = (zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(-15))

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.deflate:
            data = self.deflate[0].compress(data) + self.deflate[0].flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _recv(self):
        chunk = self.sock.recv(65536)
        if chunk and self.deflate:
            chunk = self.deflate[1].decompress(chunk)
            if not chunk:
                return self._recv()
        return chunk

    def line(self, timeout=30):
        self.sock.settimeout(timeout)
        while b"\r\n" not in self.buf:
            chunk = self._recv()
            if not chunk:
                raise EOFError("connection closed; had %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def read_exact(self, n):
        while len(self.buf) < n:
            chunk = self._recv()
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def until_tagged(self, tag, timeout=30):
        """Lines up to and including the one tagged `tag` (literals kept inline)."""
        lines = []
        while True:
            line = self.line(timeout)
            m = re.search(r"\{(\d+)\}$", line)
            if m:
                line += "\r\n" + self.read_exact(int(m.group(1))).decode("utf-8", "replace")
                line += self.line(timeout)
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, tag, text, timeout=30):
        self.send("%s %s\r\n" % (tag, text))
        return self.until_tagged(tag, timeout)

    def raw_line(self, timeout=30):
        """One line as bytes with its CRLF, and the literal it announces, if any."""
        self.sock.settimeout(timeout)
        while b"\r\n" not in self.buf:
            chunk = self._recv()
            if not chunk:
                raise EOFError("connection closed; had %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        out = line + b"\r\n"
        m = re.search(rb"\{(\d+)\}$", line)
        if m:
            out += self.read_exact(int(m.group(1)))
            out += self.raw_line(timeout)
        return out

    def fetch(self, tag, text, timeout=30):
        """Run a command; returns ({seq: {item: value}}, untagged lines, tagged line)."""
        self.send("%s %s\r\n" % (tag, text))
        fetched, other = {}, []
        while True:
            line = self.raw_line(timeout)
            if line.startswith(tag.encode() + b" "):
                return fetched, other, line.decode().strip()
            m = re.match(rb"\* (\d+) FETCH ", line)
            if m:
                items = parse_list(line, m.end())[0]
                d = fetched.setdefault(int(m.group(1)), {})
                for i in range(0, len(items) - 1, 2):
                    d[items[i].decode() if isinstance(items[i], bytes) else items[i]] = items[i + 1]
            else:
                other.append(line.decode("utf-8", "replace").strip())

    def closed(self, timeout=10):
        """Whether the server closed the connection (reading what is left)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self._recv()
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
