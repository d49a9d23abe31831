#!/usr/bin/env python3
"""bench/imap_bench.py: the Sluice half of bench/imap.sh, and its measuring tools.

Subcommands:

  sluice --build B --work W --benchlib PATH [--messages 10000] [--size 4096]
         [--runs 5] [--sessions 1000] [--json FILE]
      Brings up a private Sluice stack from a release build under W: PostgreSQL
      15 with its defaults (fsync, synchronous_commit on; bench/mta_e2e.py's
      DurableCluster), sluice-authd, sluice-lmtpd and sluice-imapd, each with
      its own login role, all as the `sluice` user. Then, like the reference
      stack's `bench.sh imap` (shared/reference-stack/bench.sh, t_imap):
        - fills imapbench@example.test over LMTP: `smtp-source -L -l SIZE
          -m N/2 -s 4` into sluice-lmtpd's socket, one message with
          "Subject: needle" and the word "somethingrare" (swaks, LMTP), then
          the other half; checks that N+1 rows are indexed;
        - runs the reference's own client, `benchlib.py imapbench 127.0.0.1
          PORT imapbench@example.test secret RUNS somethingrare` (python
          imaplib: LOGIN, EXAMINE INBOX, FETCH 1:* (FLAGS UID RFC822.SIZE),
          FETCH 1:* BODY.PEEK[], SEARCH TEXT "somethingrare"), and checks what
          it saw (N+1 messages, N+1 bodies, 1 hit);
        - the same commands from `rawbench` (below): the server's own time;
        - the same commands from `imapcpu` (below): python imaplib's own CPU
          time in each command, what its timings cannot go below;
        - memory: restarts sluice-imapd (a fresh process: nothing left from
          the 44 MB FETCH), opens and closes one TLS session (login, EXAMINE),
          takes the PSS/RSS of the process (baseline), then holds SESSIONS
          logged-in sessions over implicit TLS with INBOX examined, opened one
          after the other by the reference's `benchlib.py imapidle` (the same
          client bench.sh rss uses for Dovecot), and takes them again.
          Per session = (PSS with SESSIONS - baseline) / SESSIONS.
      The user's password is stored as {SHA512-CRYPT}, the scheme the
      reference stack's mailboxes have (authd_rehash_legacy = no keeps it).
      The per-IP and per-user caps are off (imapd_max_per_ip = 0,
      imapd_max_per_user = 0): all sessions come from 127.0.0.1 as one user.

  pss --out FILE [--pid PID] [--ppid PPID --names a,b] [--tree PID] [--port P]
      Memory of server processes, written as JSON: for --pid one process; for
      --ppid/--names the processes with one of those names whose parent is
      PPID (Dovecot's imap and imap-login), summed and per name; for --tree
      every process under PID, PID included; for --port the number of
      established TCP connections to that local port. PSS from
      /proc/PID/smaps_rollup, RSS from /proc/PID/status (VmRSS), in KiB.

  rawbench HOST PORT USER PASS RUNS RARE
      imapbench's commands (LOGIN, EXAMINE INBOX, FETCH 1:* (FLAGS UID
      RFC822.SIZE), FETCH 1:* BODY.PEEK[], SEARCH TEXT, LOGOUT) from a raw
      socket: each answer is read into memory in 1 MiB recv() calls until its
      tagged completion, with no parsing, so the time is the server's. Prints
      imapbench's line format (the bytes are those of the whole answer).

  imapcpu HOST PORT USER PASS RUNS RARE
      benchlib.py imapbench's steps, line for line with python imaplib, and
      the CPU time the client process used in each (time.process_time():
      user + system). Prints imapbench's line format with "cpu " before it.
      When a server is faster than its client can parse, imapbench's time of
      a command is about this figure: the client's, not the server's.

  clientbench HOST PORT USER PASS RUNS
      Other commands clients send when they open or search a big folder
      (CLIENT_COMMANDS: Thunderbird's header fetch, ENVELOPE/BODYSTRUCTURE,
      UID SEARCH UNSEEN, SEARCH FROM, SEARCH HEADER, SORT, THREAD) from the
      raw client in one session: one JSON line per command with its times.

  tlsinfo HOST PORT        the TLS version and cipher a default python client gets
  imapout FILE [--expect N --runs R] [--prefix P]   parses `benchlib.py imapbench` output
                           (lines after P: "cpu " for imapcpu) into JSON (stdout); with
                           --expect, fails unless every run saw N messages
  dovecot-memory BASE LOADED N   Dovecot's per-session figures from two `pss` files
  table --dovecot J --sluice J [--out FILE]   the results table of bench/imap.sh
"""
import argparse
import contextlib
import imaplib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import sluicetest  # noqa: E402
from mta_e2e import DurableCluster, chown_sluice  # noqa: E402

USER = "imapbench@example.test"
PASSWORD = "secret"  # the reference's IMAP_PASS
RARE = "somethingrare"
TIMINGS = ("select_s", "fetch_meta_s", "fetch_body_s", "search_text_s")


def log(msg):
    print("bench/imap_bench.py: %s" % msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ measuring

def proc_mem(pid):
    """(rss_kib, pss_kib, threads) of one process."""
    with open("/proc/%d/status" % pid) as f:
        status = f.read()
    with open("/proc/%d/smaps_rollup" % pid) as f:
        rollup = f.read()
    rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
    threads = int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))
    pss = int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
    return rss, pss, threads


def all_procs():
    """{pid: (comm, ppid)} of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        out[int(name)] = (comm, ppid)
    return out


def established(port):
    """Established TCP connections whose local port is PORT (server side)."""
    n = 0
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                        n += 1
        except FileNotFoundError:
            pass
    return n


def measure(pid=None, ppid=None, names=None, tree=None, port=None):
    result = {"time": time.time()}
    if pid is not None:
        rss, pss, threads = proc_mem(pid)
        result["process"] = {"pid": pid, "rss_kib": rss, "pss_kib": pss, "threads": threads}
    procs = all_procs() if (ppid is not None or tree is not None) else {}
    if ppid is not None:
        groups = {}
        for p, (comm, pp) in procs.items():
            if pp != ppid or comm not in names:
                continue
            try:
                rss, pss, _ = proc_mem(p)
            except (OSError, AttributeError):
                continue
            g = groups.setdefault(comm, {"procs": 0, "rss_kib": 0, "pss_kib": 0})
            g["procs"] += 1
            g["rss_kib"] += rss
            g["pss_kib"] += pss
        result["children"] = groups
    if tree is not None:
        members, frontier = {tree}, [tree]
        while frontier:
            parent = frontier.pop()
            for p, (_, pp) in procs.items():
                if pp == parent and p not in members:
                    members.add(p)
                    frontier.append(p)
        total = {"procs": 0, "rss_kib": 0, "pss_kib": 0}
        for p in members:
            try:
                rss, pss, _ = proc_mem(p)
            except (OSError, AttributeError):
                continue
            total["procs"] += 1
            total["rss_kib"] += rss
            total["pss_kib"] += pss
        result["tree"] = total
    if port is not None:
        result["established"] = established(port)
    return result


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def tlsinfo(host, port):
    with socket.create_connection((host, port), timeout=10) as raw:
        with tls_context().wrap_socket(raw) as s:
            return "%s %s" % (s.version(), s.cipher()[0])


def parse_imapbench(text, prefix=""):
    """The lines of `benchlib.py imapbench` (after prefix) as dicts."""
    runs = []
    for line in text.splitlines():
        m = re.match(re.escape(prefix) + r"run=(\d+) exists=(\d+) login_s=([0-9.]+) select_s=([0-9.]+) fetch_meta_s=([0-9.]+) "
                     r"\((\d+)\) fetch_body_s=([0-9.]+) \((\d+) msgs, (\d+) bytes\) search_text_s=([0-9.]+) "
                     r"\(hits=(\d+)\)", line)
        if not m:
            continue
        g = m.groups()
        runs.append({"run": int(g[0]), "exists": int(g[1]), "login_s": float(g[2]), "select_s": float(g[3]),
                     "fetch_meta_s": float(g[4]), "meta_items": int(g[5]), "fetch_body_s": float(g[6]),
                     "body_msgs": int(g[7]), "body_bytes": int(g[8]), "search_text_s": float(g[9]),
                     "hits": int(g[10])})
    return runs


def check_imapbench(runs, expect, want_runs):
    """Every run saw the whole mailbox and the one needle."""
    if len(runs) != want_runs:
        raise RuntimeError("imapbench printed %d runs of %d" % (len(runs), want_runs))
    for r in runs:
        if r["exists"] != expect or r["body_msgs"] != expect or r["hits"] != 1:
            raise RuntimeError("imapbench run %d saw exists=%d bodies=%d hits=%d (want %d, %d, 1)"
                               % (r["run"], r["exists"], r["body_msgs"], r["hits"], expect, expect))


# ------------------------------------------------------------------ a client with no parsing cost

RAW_TAG = b"zq"


def raw_command(sock, tag, text):
    """Send one command; read until its tagged completion; (seconds, response bytes)."""
    end = re.compile(rb"(?:^|\r\n)" + re.escape(tag) + rb" (OK|NO|BAD)[^\r\n]*\r\n$")
    # the clock starts before the send: on 2 cores the server may run the whole command
    # before this thread is scheduled again
    start = time.perf_counter()
    sock.sendall(tag + b" " + text + b"\r\n")
    chunks, tail = [], b""
    while True:
        data = sock.recv(1 << 20)
        if not data:
            raise RuntimeError("the server closed the connection during %r" % text)
        chunks.append(data)
        tail = (tail + data)[-512:]
        m = end.search(tail)
        if m:
            elapsed = time.perf_counter() - start
            if m.group(1) != b"OK":
                raise RuntimeError("%r: %r" % (text, tail[-200:]))
            return elapsed, b"".join(chunks)


def rawbench(host, port, user, password, runs, rare):
    """imapbench's commands and output lines from a raw socket client: it reads the answers into
    memory and only looks for the tagged completion, so the time is the server's (and the kernel's)."""
    for r in range(1, runs + 1):
        t = time.perf_counter()
        sock = socket.create_connection((host, port), timeout=120)
        buf = b""
        while b"\r\n" not in buf:
            buf += sock.recv(4096)
        t_login, _ = raw_command(sock, RAW_TAG + b"1", b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
        t_login = time.perf_counter() - t
        t_select, sel = raw_command(sock, RAW_TAG + b"2", b"EXAMINE INBOX")
        t_meta, meta = raw_command(sock, RAW_TAG + b"3", b"FETCH 1:* (FLAGS UID RFC822.SIZE)")
        t_body, body = raw_command(sock, RAW_TAG + b"4", b"FETCH 1:* BODY.PEEK[]")
        t_search, search = raw_command(sock, RAW_TAG + b"5", b'SEARCH TEXT "%s"' % rare.encode())
        raw_command(sock, RAW_TAG + b"6", b"LOGOUT")
        sock.close()
        exists = int(re.search(rb"\* (\d+) EXISTS", sel).group(1))
        nmeta = len(re.findall(rb"(?:^|\r\n)\* \d+ FETCH \(", meta))
        nbody = len(re.findall(rb"(?:^|\r\n)\* \d+ FETCH \([^\r\n]*\{\d+\}\r\n", body))
        hits = len(re.search(rb"\* SEARCH([ 0-9]*)", search).group(1).split())
        print(f"run={r} exists={exists} login_s={t_login:.4f} select_s={t_select:.4f} fetch_meta_s={t_meta:.4f} "
              f"({nmeta}) fetch_body_s={t_body:.4f} ({nbody} msgs, {len(body)} bytes) "
              f"search_text_s={t_search:.4f} (hits={hits})", flush=True)


def imapcpu(host, port, user, password, runs, rare):
    """benchlib.py imapbench's steps (the same imaplib calls, in the same order, holding the same
    results) with the client's own CPU seconds in each step, printed as "cpu " + its line format."""
    def step(fn):
        c = time.process_time()
        out = fn()
        return time.process_time() - c, out

    for r in range(1, runs + 1):
        c0 = time.process_time()
        m = imaplib.IMAP4(host, port)
        m.login(user, password)
        c_login = time.process_time() - c0
        c_select, (typ, d) = step(lambda: m.select("INBOX", readonly=True))
        exists = int(d[0])
        c_meta, (typ, d) = step(lambda: m.fetch("1:*", "(FLAGS UID RFC822.SIZE)"))
        nmeta = len(d)
        c_body, (typ, d) = step(lambda: m.fetch("1:*", "(BODY.PEEK[])"))
        nbody = sum(1 for x in d if isinstance(x, tuple))
        nbytes = sum(len(x[1]) for x in d if isinstance(x, tuple))
        del d
        c_search, (typ, d) = step(lambda: m.search(None, "TEXT", '"%s"' % rare))
        hits = len(d[0].split())
        m.logout()
        print(f"cpu run={r} exists={exists} login_s={c_login:.4f} select_s={c_select:.4f} fetch_meta_s={c_meta:.4f} "
              f"({nmeta}) fetch_body_s={c_body:.4f} ({nbody} msgs, {nbytes} bytes) search_text_s={c_search:.4f} "
              f"(hits={hits})", flush=True)


# What mail clients send when they open or search a big folder (not goals of the issue; measured
# beside Dovecot so that what docs/DESIGN.md says of them stays checked).
CLIENT_COMMANDS = [
    ("Thunderbird's header fetch", "UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
     "(From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
     "Content-Type Reply-To)])"),
    ("FETCH 1:* (ENVELOPE BODYSTRUCTURE)", "FETCH 1:* (ENVELOPE BODYSTRUCTURE)"),
    ("FETCH 1:* (INTERNALDATE)", "FETCH 1:* (INTERNALDATE)"),
    ("UID SEARCH UNSEEN", "UID SEARCH UNSEEN"),
    ("SEARCH FROM", 'SEARCH FROM "x.test"'),
    ("SEARCH HEADER Message-ID", 'SEARCH HEADER Message-ID "nothing-like-it"'),
    ("SORT (FROM SUBJECT)", "SORT (FROM SUBJECT) UTF-8 ALL"),
    ("THREAD REFERENCES", "THREAD REFERENCES UTF-8 ALL"),
]


def clientbench(host, port, user, password, runs):
    """CLIENT_COMMANDS from the raw socket client, one session, INBOX examined, each command RUNS
    times after one unmeasured run; prints one JSON line per command: its name and its times."""
    sock = socket.create_connection((host, port), timeout=120)
    buf = b""
    while b"\r\n" not in buf:
        buf += sock.recv(4096)
    raw_command(sock, RAW_TAG + b"1", b'LOGIN "%s" "%s"' % (user.encode(), password.encode()))
    raw_command(sock, RAW_TAG + b"2", b"EXAMINE INBOX")
    for k, (name, cmd) in enumerate(CLIENT_COMMANDS):
        times = []
        for r in range(runs + 1):
            t, _ = raw_command(sock, b"%sc%d_%d" % (RAW_TAG, k, r), cmd.encode())
            if r > 0:
                times.append(round(t, 4))
        print(json.dumps({"name": name, "command": cmd, "s": times}), flush=True)
    raw_command(sock, RAW_TAG + b"9", b"LOGOUT")
    sock.close()


# ------------------------------------------------------------------ Sluice's stack

class Stack:
    """PostgreSQL + sluice-authd + sluice-lmtpd + sluice-imapd under work/."""

    BINARIES = {"authd": "auth/sluice-authd", "lmtpd": "mda/sluice-lmtpd", "imapd": "imapd/sluice-imapd"}

    def __init__(self, build, work, sessions):
        self.build = build
        self.work = work
        self.procs = {}
        self.cluster = None
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        os.chmod(work, 0o755)
        chown_sluice(work)
        try:
            self._setup(sessions)
        except BaseException:
            self.close()
            raise

    def _setup(self, sessions):
        self.cluster = DurableCluster()
        self.url = self.cluster.url("sluice")
        sluicetest.psql(self.cluster.url(), "CREATE DATABASE sluice")
        roles = {}
        for comp in ("authd", "mda", "imapd"):
            roles[comp] = self.cluster.url("sluice", user="bench_" + comp)
        self.mail_root = os.path.join(self.work, "mail")
        os.mkdir(self.mail_root, 0o700)
        chown_sluice(self.mail_root)
        self.cert = os.path.join(self.work, "cert.pem")
        self.key = os.path.join(self.work, "key.pem")
        # the reference stack's kind of certificate: self-signed RSA-2048
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
                        "/CN=mail.example.test", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert], check=True, capture_output=True)
        chown_sluice(self.key)
        os.chmod(self.key, 0o600)
        self.auth_socket = os.path.join(self.work, "auth.sock")
        self.lmtp_socket = os.path.join(self.work, "lmtp.sock")
        self.imap_port = sluicetest.free_port()
        self.imaps_port = sluicetest.free_port()
        settings = {
            "db_url": self.url,
            "authd_db_url": roles["authd"],
            "lmtpd_db_url": roles["mda"],
            "imapd_db_url": roles["imapd"],
            "run_user": "sluice",
            "log_level": "info",
            "mail_root": self.mail_root,
            "auth_socket": self.auth_socket,
            "lmtpd_socket": self.lmtp_socket,
            "tls_cert_file": self.cert,
            "tls_key_file": self.key,
            # the reference stores SHA512-CRYPT hashes and keeps them
            "authd_rehash_legacy": "no",
            "imapd_listen": "127.0.0.1:%d" % self.imap_port,
            "imapd_listen_tls": "127.0.0.1:%d" % self.imaps_port,
            "imapd_hostname": "mail.example.test",
            # every session comes from 127.0.0.1 and logs in as one user
            "imapd_max_per_ip": "0",
            "imapd_max_per_user": "0",
            "imapd_max_connections": str(max(4096, sessions + 100)),
        }
        self.conf = os.path.join(self.work, "sluice.conf")
        with open(self.conf, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in settings.items()))
        os.chmod(self.conf, 0o644)
        self.admin("db", "migrate")
        sluicetest.psql(self.url, "CREATE ROLE bench_authd LOGIN IN ROLE sluice_authd; "
                                  "CREATE ROLE bench_mda LOGIN IN ROLE sluice_mda; "
                                  "CREATE ROLE bench_imapd LOGIN IN ROLE sluice_imapd")
        self.admin("domain", "add", "example.test")
        self.admin("mailbox", "add", USER, "--no-password")
        pwhash = "{SHA512-CRYPT}" + subprocess.run(["mkpasswd", "-m", "sha-512", PASSWORD], check=True,
                                                   capture_output=True, text=True).stdout.strip()
        sluicetest.psql(self.url, "UPDATE mailboxes SET password_hash = '%s' WHERE local_part = '%s'"
                        % (pwhash, USER.split("@")[0]))
        self.start("authd")
        sluicetest.wait_for_socket(self.auth_socket, 20)
        self.start("lmtpd")
        sluicetest.wait_for_socket(self.lmtp_socket, 20)
        self.start("imapd")
        sluicetest.wait_for_socket(self.imap_port, 20)

    def admin(self, *args):
        p = subprocess.run([os.path.join(self.build, "admin-cli", "sluice-admin"), "-c", self.conf] + list(args),
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("sluice-admin %s: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    def start(self, name):
        logf = open(os.path.join(self.work, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen([os.path.join(self.build, self.BINARIES[name]), "-c", self.conf],
                                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()

    def stop(self, name):
        p = self.procs.pop(name, None)
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def restart_imapd(self):
        self.stop("imapd")
        # the old listener is gone once the process is; wait for the new one
        self.start("imapd")
        sluicetest.wait_for_socket(self.imap_port, 20)
        sluicetest.wait_for_socket(self.imaps_port, 20)

    def alive(self, name):
        return self.procs[name].poll() is None

    def indexed(self):
        return int(sluicetest.psql(self.url, "SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id "
                                             "JOIN mailbox_directory d ON d.id = f.mailbox_id "
                                             "WHERE d.local_part = '%s'" % USER.split("@")[0]).strip())

    def close(self):
        for name in list(self.procs):
            self.stop(name)
        if self.cluster is not None:
            self.cluster.destroy()
            self.cluster = None


def fill(stack, messages, size):
    """The reference's t_imap fill, into sluice-lmtpd's socket."""
    lmtp = "unix:" + stack.lmtp_socket
    half = messages // 2
    start = time.monotonic()
    for part in (1, 2):
        if part == 2:
            subprocess.run(["swaks", "--silent", "2", "--protocol", "LMTP", "--socket", stack.lmtp_socket,
                            "-f", "a@x.test", "-t", USER, "--header", "Subject: needle",
                            "--body", "the word %s appears only here" % RARE], check=True)
        m = half if part == 1 else messages - half
        subprocess.run(["smtp-source", "-L", "-l", str(size), "-m", str(m), "-s", "4", "-f", "a@x.test",
                        "-t", USER, lmtp], check=True)
    got = stack.indexed()
    if got != messages + 1:
        raise RuntimeError("%d of %d messages indexed after the fill" % (got, messages + 1))
    return time.monotonic() - start


def run_sluice(args):
    if shutil.which("smtp-source") is None:
        sys.exit("smtp-source not found: apt-get install postfix (see bench/imap.sh)")
    result = {"messages": args.messages + 1, "size": args.size, "runs": args.runs, "sessions": args.sessions}
    stack = Stack(os.path.abspath(args.build), args.work, args.sessions)
    try:
        log("filling %s: %d x %d B over LMTP, plus the needle" % (USER, args.messages, args.size))
        result["fill_s"] = round(fill(stack, args.messages, args.size), 1)
        log("filled in %.1f s" % result["fill_s"])

        log("imapbench, %d runs, port %d" % (args.runs, stack.imap_port))
        p = subprocess.run([sys.executable, args.benchlib, "imapbench", "127.0.0.1", str(stack.imap_port), USER,
                            PASSWORD, str(args.runs), RARE], capture_output=True, text=True, timeout=1800)
        with open(os.path.join(args.work, "imapbench.out"), "w") as f:
            f.write(p.stdout + p.stderr)
        sys.stderr.write(p.stdout)
        if p.returncode != 0:
            raise RuntimeError("imapbench failed (%d): %s" % (p.returncode, p.stderr.strip()[-2000:]))
        runs = parse_imapbench(p.stdout)
        check_imapbench(runs, args.messages + 1, args.runs)
        result["imapbench"] = runs

        for key, fn, prefix in (("rawbench", rawbench, ""), ("imapcpu", imapcpu, "cpu ")):
            log("%s, %d runs" % (key, args.runs))
            out = os.path.join(args.work, key + ".out")
            with open(out, "w") as f, contextlib.redirect_stdout(f):
                fn("127.0.0.1", stack.imap_port, USER, PASSWORD, args.runs, RARE)
            with open(out) as f:
                text = f.read()
            sys.stderr.write(text)
            runs = parse_imapbench(text, prefix)
            check_imapbench(runs, args.messages + 1, args.runs)
            result[key] = runs
        log("clientbench, %d runs" % args.runs)
        out = os.path.join(args.work, "clientbench.out")
        with open(out, "w") as f, contextlib.redirect_stdout(f):
            clientbench("127.0.0.1", stack.imap_port, USER, PASSWORD, args.runs)
        with open(out) as f:
            result["client"] = [json.loads(line) for line in f if line.strip()]

        log("memory: fresh sluice-imapd, %d idle TLS sessions on port %d" % (args.sessions, stack.imaps_port))
        stack.restart_imapd()
        pid = stack.procs["imapd"].pid
        result["tls"] = tlsinfo("127.0.0.1", stack.imaps_port)
        warm = subprocess.run([sys.executable, args.benchlib, "imapidle", "127.0.0.1", str(stack.imaps_port), "1",
                               "tls", USER, PASSWORD, "true"], capture_output=True, text=True, timeout=120)
        if warm.returncode != 0:
            raise RuntimeError("warm-up session failed: %s" % warm.stderr.strip()[-2000:])
        time.sleep(1)
        result["baseline"] = measure(pid=pid, port=stack.imaps_port)
        out = os.path.join(args.work, "pss-%d.json" % args.sessions)
        cmd = "%s %s pss --pid %d --port %d --out %s" % (sys.executable, os.path.abspath(__file__), pid,
                                                          stack.imaps_port, out)
        t0 = time.monotonic()
        idle = subprocess.run([sys.executable, args.benchlib, "imapidle", "127.0.0.1", str(stack.imaps_port),
                               str(args.sessions), "tls", USER, PASSWORD, cmd], capture_output=True, text=True,
                              timeout=3600)
        result["idle_wall_s"] = round(time.monotonic() - t0, 1)
        if idle.returncode != 0:
            raise RuntimeError("imapidle with %d sessions failed: %s" % (args.sessions, idle.stderr.strip()[-2000:]))
        with open(out) as f:
            result["loaded"] = json.load(f)
        if not stack.alive("imapd"):
            raise RuntimeError("sluice-imapd died during the memory test: see %s/imapd.log" % args.work)
        time.sleep(1)
        result["after"] = measure(pid=pid, port=stack.imaps_port)
        base, load = result["baseline"]["process"], result["loaded"]["process"]
        n = args.sessions
        result["memory"] = {
            "established": result["loaded"]["established"],
            "threads": load["threads"],
            "baseline_pss_kib": base["pss_kib"], "baseline_rss_kib": base["rss_kib"],
            "loaded_pss_kib": load["pss_kib"], "loaded_rss_kib": load["rss_kib"],
            "per_session_pss_kib": round((load["pss_kib"] - base["pss_kib"]) / n, 1),
            "per_session_rss_kib": round((load["rss_kib"] - base["rss_kib"]) / n, 1),
            "total_pss_per_session_kib": round(load["pss_kib"] / n, 1),
        }
        if result["memory"]["established"] < n:
            raise RuntimeError("only %d of %d sessions were established while measuring"
                               % (result["memory"]["established"], n))
        log("memory: %s" % json.dumps(result["memory"]))
    finally:
        stack.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return result


# ------------------------------------------------------------------ the table

def med(values):
    return statistics.median(values)


def fmt_s(v):
    return "%.4f" % v


def table(dov, slu):
    """Lines of the results table; ratio = Dovecot time / Sluice time, memory ratio = Sluice / Dovecot."""
    names = {"select_s": "SELECT (EXAMINE INBOX)", "fetch_meta_s": "FETCH 1:* (FLAGS UID RFC822.SIZE)",
             "fetch_body_s": "FETCH 1:* BODY.PEEK[]", "search_text_s": "SEARCH TEXT"}
    lines = []
    w = "%-36s %-46s %-46s %s"

    def block(key, title):
        if not slu.get(key):
            return
        lines.append(title)
        lines.append(w % ("metric", "Dovecot 2.3 s", "Sluice s", "ratio"))
        for k in ("login_s",) + TIMINGS:
            d = [r[k] for r in dov.get(key) or []]
            s = [r[k] for r in slu[key]]
            label = names.get(k, "LOGIN (plain, loopback; not a goal)")
            lines.append(w % (label, "%s (%s)" % (fmt_s(med(d)), ", ".join(fmt_s(x) for x in d)) if d else "-",
                              "%s (%s)" % (fmt_s(med(s)), ", ".join(fmt_s(x) for x in s)),
                              "%.2f" % (med(d) / med(s)) if d and med(s) > 0 else "-"))
        lines.append("")

    block("imapbench", "IMAP, %d messages x %d B INBOX, client: benchlib.py imapbench (python imaplib), %d runs, "
                       "median (runs); ratio = Dovecot / Sluice (> 1: Sluice faster), goal >= 1.5"
          % (slu["messages"], slu["size"], slu["runs"]))
    block("rawbench", "The same commands from imap_bench.py rawbench (raw socket, answers read into memory, no "
                      "parsing): the servers' own time")
    block("imapcpu", "python imaplib's own CPU time in each command (imap_bench.py imapcpu: imapbench's steps "
                     "and results): imapbench's time cannot go below it; ratio = Dovecot's client CPU / Sluice's")
    if slu.get("client"):
        dc = {c["name"]: c["s"] for c in dov.get("client") or []}
        lines.append("Other commands clients send (raw client, one session, %d runs after one unmeasured; "
                     "not goals): the servers' own time" % slu["runs"])
        lines.append(w % ("command", "Dovecot 2.3 s", "Sluice s", "ratio"))
        for c in slu["client"]:
            d = dc.get(c["name"])
            lines.append(w % (c["name"], "%s (%s)" % (fmt_s(med(d)), ", ".join(fmt_s(x) for x in d)) if d else "-",
                              "%s (%s)" % (fmt_s(med(c["s"])), ", ".join(fmt_s(x) for x in c["s"])),
                              "%.2f" % (med(d) / med(c["s"])) if d and med(c["s"]) > 0 else "-"))
        lines.append("")
    dm, sm = dov.get("memory"), slu["memory"]
    n = slu["sessions"]
    lines.append("Memory per idle logged-in IMAP session over implicit TLS, INBOX (%d messages) examined; "
                 "ratio = Sluice / Dovecot, goal <= 0.5" % slu["messages"])
    w = "%-64s %-14s %-12s %s"
    lines.append(w % ("metric", "Dovecot KiB", "Sluice KiB", "ratio"))

    def row(label, d, sl):
        lines.append(w % (label, "%.1f" % d, "%.1f" % sl, "%.3f" % (sl / d)))

    if dm and "per_session_pss_kib" in dm:
        row("PSS per session, %d sessions (the goal's measure)" % dm["sessions"], dm["per_session_pss_kib"],
            sm["per_session_pss_kib"])
        lines.append("  Dovecot: PSS of all imap + imap-login processes / %d (per process: imap %.1f, imap-login %.1f)"
                     % (dm["sessions"], dm["imap_pss_kib"], dm["login_pss_kib"]))
        lines.append("  Sluice: (sluice-imapd PSS - its PSS after one session came and went) / %d" % n)
        row("whole server PSS / sessions, nothing taken off", dm["tree_total_pss_per_session_kib"],
            sm["total_pss_per_session_kib"])
        row("whole server PSS growth / sessions", dm["tree_per_session_pss_kib"], sm["per_session_pss_kib"])
        row("RSS per session (Dovecot: imap + imap-login; Sluice: growth)", dm["per_session_rss_kib"],
            sm["per_session_rss_kib"])
    if dov.get("rss10"):
        r = dov["rss10"]
        row("Dovecot bench.sh rss, 10 TLS sessions: imap + imap-login PSS", r["imap_pss_kib"] + r["login_pss_kib"],
            sm["per_session_pss_kib"])
    lines.append("Sluice: %d established, %d threads; sluice-imapd PSS %d KiB -> %d KiB (RSS %d -> %d KiB); TLS %s"
                 % (sm["established"], sm["threads"], sm["baseline_pss_kib"], sm["loaded_pss_kib"],
                    sm["baseline_rss_kib"], sm["loaded_rss_kib"], slu.get("tls", "?")))
    if dm and "per_session_pss_kib" in dm:
        lines.append("Dovecot: %d established; %d imap + %d imap-login processes; whole instance PSS %d KiB -> %d KiB; "
                     "TLS %s" % (dm["established"], dm["imap_procs"], dm["login_procs"], dm["tree_baseline_pss_kib"],
                                 dm["tree_loaded_pss_kib"], dov.get("tls", "?")))
    return lines


def dovecot_memory(baseline, loaded, sessions):
    """Dovecot's per-session figures from two `pss --ppid --names imap,imap-login --tree` files."""
    ch = loaded["children"]
    imap = ch.get("imap", {"procs": 0, "rss_kib": 0, "pss_kib": 0})
    login = ch.get("imap-login", {"procs": 0, "rss_kib": 0, "pss_kib": 0})
    return {
        "sessions": sessions,
        "established": loaded["established"],
        "imap_procs": imap["procs"], "login_procs": login["procs"],
        "imap_pss_kib": round(imap["pss_kib"] / max(1, imap["procs"]), 1),
        "login_pss_kib": round(login["pss_kib"] / max(1, login["procs"]), 1),
        "per_session_pss_kib": round((imap["pss_kib"] + login["pss_kib"]) / sessions, 1),
        "per_session_rss_kib": round((imap["rss_kib"] + login["rss_kib"]) / sessions, 1),
        "tree_baseline_pss_kib": baseline["tree"]["pss_kib"],
        "tree_loaded_pss_kib": loaded["tree"]["pss_kib"],
        "tree_per_session_pss_kib": round((loaded["tree"]["pss_kib"] - baseline["tree"]["pss_kib"]) / sessions, 1),
        "tree_total_pss_per_session_kib": round(loaded["tree"]["pss_kib"] / sessions, 1),
    }


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sluice")
    s.add_argument("--build", required=True)
    s.add_argument("--work", required=True)
    s.add_argument("--benchlib", required=True)
    s.add_argument("--messages", type=int, default=10000)
    s.add_argument("--size", type=int, default=4096)
    s.add_argument("--runs", type=int, default=5)
    s.add_argument("--sessions", type=int, default=1000)
    s.add_argument("--json")
    p = sub.add_parser("pss")
    p.add_argument("--out", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--ppid", type=int)
    p.add_argument("--names", default="imap,imap-login")
    p.add_argument("--tree", type=int)
    p.add_argument("--port", type=int)
    cb = sub.add_parser("clientbench")
    cb.add_argument("host")
    cb.add_argument("port", type=int)
    cb.add_argument("user")
    cb.add_argument("password")
    cb.add_argument("runs", type=int)
    for client in ("rawbench", "imapcpu"):
        c = sub.add_parser(client)
        c.add_argument("host")
        c.add_argument("port", type=int)
        c.add_argument("user")
        c.add_argument("password")
        c.add_argument("runs", type=int)
        c.add_argument("rare")
    t = sub.add_parser("tlsinfo")
    t.add_argument("host")
    t.add_argument("port", type=int)
    o = sub.add_parser("imapout")
    o.add_argument("file")
    o.add_argument("--expect", type=int)
    o.add_argument("--runs", type=int)
    o.add_argument("--prefix", default="")
    d = sub.add_parser("dovecot-memory")
    d.add_argument("baseline")
    d.add_argument("loaded")
    d.add_argument("sessions", type=int)
    tb = sub.add_parser("table")
    tb.add_argument("--dovecot", required=True)
    tb.add_argument("--sluice", required=True)
    tb.add_argument("--out")
    args = ap.parse_args()

    if args.cmd == "sluice":
        run_sluice(args)
    elif args.cmd == "pss":
        r = measure(pid=args.pid, ppid=args.ppid, names=set(args.names.split(",")), tree=args.tree, port=args.port)
        with open(args.out, "w") as f:
            json.dump(r, f, indent=1)
    elif args.cmd == "clientbench":
        clientbench(args.host, args.port, args.user, args.password, args.runs)
    elif args.cmd in ("rawbench", "imapcpu"):
        client = rawbench if args.cmd == "rawbench" else imapcpu
        client(args.host, args.port, args.user, args.password, args.runs, args.rare)
    elif args.cmd == "tlsinfo":
        print(tlsinfo(args.host, args.port))
    elif args.cmd == "imapout":
        with open(args.file) as f:
            runs = parse_imapbench(f.read(), args.prefix)
        if args.expect is not None:
            check_imapbench(runs, args.expect, args.runs if args.runs else len(runs))
        print(json.dumps(runs))
    elif args.cmd == "dovecot-memory":
        with open(args.baseline) as f:
            base = json.load(f)
        with open(args.loaded) as f:
            load = json.load(f)
        print(json.dumps(dovecot_memory(base, load, args.sessions)))
    elif args.cmd == "table":
        with open(args.dovecot) as f:
            dov = json.load(f)
        with open(args.sluice) as f:
            slu = json.load(f)
        text = "\n".join(table(dov, slu)) + "\n"
        sys.stdout.write(text)
        if args.out:
            with open(args.out, "a") as f:
                f.write(text)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    main()
