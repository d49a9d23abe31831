#!/usr/bin/env python3
"""bench/mta_e2e.py: end-to-end SMTP -> stored, with Postfix's smtp-source,
and the crash check of the queue.

Brings up a private stack from a (release) build: PostgreSQL with its
default durability (fsync = on, synchronous_commit = on), sluice-lmtpd,
sluice-smtpd and sluice-qmgr, all as the `sluice` user, under --work. Then:

  rate   --runs times, as the reference stack's `bench.sh smtp` does it
         (shared/reference-stack/bench.sh, t_smtp): wait until the queue is
         empty, sleep 0.5 s, then `timeout 900 smtp-source -l SIZE -m N
         -s SESSIONS -f a@x.test -t RCPT 127.0.0.1:PORT` (a new connection per
         message, one recipient; RCPT is a fresh mailbox per run, as the
         reference empties its maildir before each run). Acceptance rate =
         N / the wall time of smtp-source; end-to-end rate = N / the time from
         smtp-source's start until all N are stored (file fsynced and index
         row committed; polled every 20 ms, as the reference polls its
         maildir). Prints each run and the medians; --json writes them.
  crash  the same load while sluice-smtpd and sluice-qmgr are killed with
         SIGKILL and restarted every --kill-every seconds. smtp-source gives
         up when its server dies, so the load is sent in batches until N
         messages were attempted. Then it counts: every queue id that
         sluice-smtpd logged as queued (it logs after the fsync and before
         the 250, so every acknowledged message is among them) must have been
         delivered (sluice-qmgr's status=sent line), and the mailbox must hold
         at least that many messages. Duplicates (at least once) are counted
         and allowed.

Usage: bench/mta_e2e.py [--build build] [--sessions 20] [--messages 2000]
                        [--size 4096] [--connections 8] [--mode rate|crash|both]
                        [--runs 1] [--json FILE]
Needs root (PostgreSQL and the daemons run as `sluice`) and smtp-source
(apt-get install postfix, with its services kept off: see bench/lmtp.sh).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import sluicetest  # noqa: E402


class DurableCluster(sluicetest.PgCluster):
    """PostgreSQL as in production: no fsync=off."""

    def start(self):
        opts = "-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=300" % (self.port, self.dir)
        subprocess.run(sluicetest._as_pg_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l",
                                               os.path.join(self.dir, "pg.log"), "-w", "-o", opts, "start"]),
                       check=True, stdout=subprocess.DEVNULL)


def chown_sluice(path):
    if os.geteuid() == 0:
        shutil.chown(path, "sluice", "sluice")


class Stack:
    def __init__(self, build, work, connections):
        self.build = build
        self.work = work
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        os.chmod(work, 0o755)
        chown_sluice(work)
        self.cluster = DurableCluster()
        self.url = self.cluster.url("sluice")
        sluicetest.psql(self.cluster.url(), "CREATE DATABASE sluice")
        self.admin_conf = self.conf("admin", {"db_url": self.url})
        self.admin("db", "migrate")
        self.admin("domain", "add", "example.test")
        self.admin("mailbox", "add", "bench@example.test", "--no-password")
        sluicetest.psql(self.url, "CREATE ROLE mta_login LOGIN IN ROLE sluice_mta; "
                                  "CREATE ROLE mda_login LOGIN IN ROLE sluice_mda")
        self.mail_root = os.path.join(work, "mail")
        self.queue = os.path.join(work, "queue")
        for d in (self.mail_root, self.queue):
            os.mkdir(d, 0o700)
            chown_sluice(d)
        self.lmtp = os.path.join(work, "lmtp.sock")
        self.port = sluicetest.free_port()
        common = {"run_user": "sluice", "log_level": "info", "mail_root": self.mail_root,
                  "queue_directory": self.queue}
        self.confs = {
            "lmtpd": self.conf("lmtpd", dict(common, lmtpd_db_url=self.cluster.url("sluice", user="mda_login"),
                                             lmtpd_socket=self.lmtp)),
            "smtpd": self.conf("smtpd", dict(common, db_url=self.cluster.url("sluice", user="mta_login"),
                                             smtpd_listen="127.0.0.1:%d" % self.port,
                                             smtpd_submission_listen="", smtpd_submissions_listen="",
                                             smtpd_connection_rate="0", smtpd_max_per_ip="0",
                                             smtpd_hostname="mx.test", smtpd_queue_min_free="0",
                                             smtpd_inject_socket=os.path.join(work, "inject.sock"),
                                             auth_socket=os.path.join(work, "auth.sock"))),
            "qmgr": self.conf("qmgr", dict(common, db_url=self.cluster.url("sluice", user="mta_login"),
                                           qmgr_lmtp_socket=self.lmtp, qmgr_hostname="mx.test",
                                           qmgr_lmtp_connections=str(connections),
                                           qmgr_first_retry="1s", qmgr_max_retry="2s")),
        }
        self.binaries = {"lmtpd": "mda/sluice-lmtpd", "smtpd": "mta/sluice-smtpd", "qmgr": "mta/sluice-qmgr"}
        self.procs = {}
        try:
            self.start("lmtpd")
            sluicetest.wait_for_socket(self.lmtp)
            self.start("smtpd")
            sluicetest.wait_for_socket(self.port)
            self.start("qmgr")
        except Exception:
            self.close()
            raise

    def conf(self, name, values):
        path = os.path.join(self.work, name + ".conf")
        with open(path, "w") as f:
            f.write("".join("%s = %s\n" % kv for kv in values.items()))
        os.chmod(path, 0o644)
        return path

    def admin(self, *args):
        subprocess.run([os.path.join(self.build, "admin-cli", "sluice-admin"), "-c", self.admin_conf]
                       + list(args), check=True, capture_output=True)

    def log(self, name):
        with open(os.path.join(self.work, name + ".log"), errors="replace") as f:
            return f.read()

    def start(self, name):
        log = open(os.path.join(self.work, name + ".log"), "ab")
        self.procs[name] = subprocess.Popen([os.path.join(self.build, self.binaries[name]), "-c",
                                             self.confs[name]], stdout=log, stderr=log)
        log.close()
        if name == "qmgr":
            deadline = time.monotonic() + 15
            while "ready:" not in self.log("qmgr").rsplit("sluice-qmgr[%d]" % self.procs[name].pid, 1)[-1]:
                if time.monotonic() > deadline:
                    raise RuntimeError("qmgr did not start")
                time.sleep(0.02)

    def kill(self, name):
        self.procs[name].kill()
        self.procs[name].wait()

    def stored(self):
        return int(sluicetest.psql(self.url, "SELECT count(*) FROM messages").strip())

    def queued(self):
        n = 0
        for sub in ("incoming", "active", "deferred", "maildrop"):
            d = os.path.join(self.queue, sub)
            n += len([x for x in os.listdir(d) if not x.startswith(".")]) if os.path.isdir(d) else 0
        return n

    def close(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
                p.wait()
        self.cluster.destroy()


def smtp_source(port, sessions, messages, size):
    return subprocess.run(["smtp-source", "-s", str(sessions), "-m", str(messages), "-l", str(size),
                           "-f", "sender@remote.test", "-t", "bench@example.test", "127.0.0.1:%d" % port],
                          capture_output=True, text=True)


def rate(stack, sessions, n, size, runs):
    """The reference's t_smtp loop for one session count; returns the samples."""
    samples = []
    for r in range(1, runs + 1):
        deadline = time.monotonic() + 300
        while stack.queued() > 0:
            if time.monotonic() > deadline:
                raise RuntimeError("queue not empty after 300 s")
            time.sleep(0.1)
        time.sleep(0.5)
        rcpt = "bench-s%d-r%d@example.test" % (sessions, r)
        stack.admin("mailbox", "add", rcpt, "--no-password")
        base = stack.stored()
        start = time.monotonic()
        p = subprocess.run(["timeout", "900", "smtp-source", "-l", str(size), "-m", str(n), "-s", str(sessions),
                            "-f", "a@x.test", "-t", rcpt, "127.0.0.1:%d" % stack.port],
                           capture_output=True, text=True)
        accepted = time.monotonic() - start
        if p.returncode != 0:
            raise RuntimeError("smtp-source exited %d: %s" % (p.returncode, p.stderr.strip()))
        while stack.stored() < base + n:
            time.sleep(0.02)
            if time.monotonic() - start > 900:
                raise RuntimeError("not all stored after 900 s")
        end = time.monotonic() - start
        got = stack.stored() - base
        sample = {"run": r, "accept_msgs_per_s": round(n / accepted, 1),
                  "end2end_msgs_per_s": round(n / end, 1), "drain_after_accept_s": round(end - accepted, 2),
                  "stored": got}
        samples.append(sample)
        print("rate: s=%d m=%d l=%d run %d  acceptance %.1f msg/s  end-to-end %.1f msg/s  "
              "(drain after accept %.2f s, %d stored)"
              % (sessions, n, size, r, sample["accept_msgs_per_s"], sample["end2end_msgs_per_s"],
                 sample["drain_after_accept_s"], got), flush=True)
    acc = statistics.median(x["accept_msgs_per_s"] for x in samples)
    e2e = statistics.median(x["end2end_msgs_per_s"] for x in samples)
    print("rate: s=%d median of %d: acceptance %.1f msg/s, end-to-end %.1f msg/s" % (sessions, runs, acc, e2e),
          flush=True)
    return {"sessions": sessions, "messages": n, "size": size, "runs": samples,
            "accept_median": acc, "end2end_median": e2e}


def crash(stack, sessions, n, size, every):
    base = stack.stored()
    smtpd_from, qmgr_from = len(stack.log("smtpd")), len(stack.log("qmgr"))
    attempted, kills = 0, 0
    next_kill = time.monotonic() + every
    while attempted < n:
        batch = min(100, n - attempted)
        p = subprocess.Popen(["smtp-source", "-s", str(sessions), "-m", str(batch), "-l", str(size), "-f",
                              "sender@remote.test", "-t", "bench@example.test", "127.0.0.1:%d" % stack.port],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while p.poll() is None:
            if time.monotonic() >= next_kill:
                victim = ("qmgr", "smtpd")[kills % 2]
                stack.kill(victim)
                kills += 1
                time.sleep(0.1)
                stack.start(victim)
                if victim == "smtpd":
                    sluicetest.wait_for_socket(stack.port)
                next_kill = time.monotonic() + every
            time.sleep(0.01)
        attempted += batch
    deadline = time.monotonic() + 300
    while stack.queued() > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    queued_ids = set(re.findall(r"([0-9A-Z]{16}): from=<sender@remote\.test>, size=\d+, nrcpt=1 \(queued\)",
                                stack.log("smtpd")[smtpd_from:]))
    sent_ids = set(re.findall(r"([0-9A-Z]{16}): to=<bench@example\.test>, relay=lmtp, .*status=sent",
                              stack.log("qmgr")[qmgr_from:]))
    lost = queued_ids - sent_ids
    stored = stack.stored() - base
    print("crash: %d attempted, %d kill -9 (smtpd and qmgr in turn), %d queued by smtpd, %d delivered "
          "by qmgr, %d stored (%d duplicates), %d left in the queue, LOST %d"
          % (attempted, kills, len(queued_ids), len(sent_ids), stored, stored - len(queued_ids),
             stack.queued(), len(lost)), flush=True)
    if lost or stored < len(queued_ids):
        print("lost queue ids: %s" % sorted(lost)[:20])
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--work", default="/var/tmp/sluice-bench-mta")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--kill-every", type=float, default=1.0)
    ap.add_argument("--mode", choices=("rate", "crash", "both"), default="both")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", help="write the rate samples and medians to this file")
    args = ap.parse_args()
    if shutil.which("smtp-source") is None:
        sys.exit("smtp-source not found: apt-get install postfix (see bench/lmtp.sh)")
    stack = Stack(os.path.abspath(args.build), args.work, args.connections)
    ok = True
    try:
        if args.mode in ("rate", "both"):
            result = rate(stack, args.sessions, args.messages, args.size, args.runs)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(result, f, indent=1)
        if args.mode in ("crash", "both"):
            ok = crash(stack, args.sessions, args.messages, args.size, args.kill_every)
    finally:
        stack.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
