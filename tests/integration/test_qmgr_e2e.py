#!/usr/bin/env python3
"""test_qmgr_e2e.py: the whole inbound path with the real daemons:
swaks / smtplib -> sluice-smtpd -> queue -> sluice-qmgr -> LMTP ->
sluice-lmtpd -> the mail store (rows in PostgreSQL, files on disk).

Checks that a message to a mailbox ends up stored, that aliases expand once
(local copies stored, the remote destination waiting in the queue), that one
queue id ties the smtpd and qmgr log lines together, and that kill -9 of
sluice-smtpd and sluice-qmgr while mail flows loses no accepted message:
every message that got its 250 is in the store afterwards (counted by
Subject). The world (PostgreSQL, data, sluice-authd) is smtptest.World's.
"""
import os
import re
import smtplib
import subprocess
import threading
import time

import smtptest
import sluicetest
from sluicetest import build_path, psql, run

QMGR = build_path("mta", "sluice-qmgr")
QUEUE_TOOL = build_path("mta", "sluice-queue")
LMTPD = build_path("mda", "sluice-lmtpd")

W = None
SMTPD = None
LMTP_SOCK = None
QMGR_CONF = None
MAIL_ROOT = None
LOGS = {}
PROCS = {}


def start(name, cmd):
    log = open(LOGS[name], "ab")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    PROCS[name] = p
    W.procs.append(p)
    return p


def log(name):
    try:
        with open(LOGS[name], errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def start_qmgr():
    before = log("qmgr").count("ready:")
    p = start("qmgr", [QMGR, "-c", QMGR_CONF])
    deadline = time.monotonic() + 20
    while log("qmgr").count("ready:") == before:
        assert p.poll() is None and time.monotonic() < deadline, "qmgr did not start:\n" + log("qmgr")
        time.sleep(0.02)


def restart_smtpd():
    p = start("smtpd", [smtptest.SMTPD, "-c", SMTPD.conf])
    SMTPD.proc = p
    sluicetest.wait_for_socket(SMTPD.port, 15)


def setup():
    global W, SMTPD, LMTP_SOCK, QMGR_CONF, MAIL_ROOT
    W = smtptest.World()
    psql(W.super_url, "CREATE ROLE lmtpd_login LOGIN IN ROLE sluice_mda")
    mail_root = MAIL_ROOT = os.path.join(W.tmp, "mail")
    os.mkdir(mail_root, 0o700)
    smtptest.as_sluice(mail_root)
    LMTP_SOCK = os.path.join(W.tmp, "lmtp.sock")
    user = "run_user = sluice\n" if os.geteuid() == 0 else ""
    lconf = os.path.join(W.tmp, "lmtpd.conf")
    with open(lconf, "w") as f:
        f.write("lmtpd_db_url = %s\nlmtpd_socket = %s\nmail_root = %s\nlmtpd_hostname = lmtp.test\n%s"
                % (W.cluster.url("sluice", user="lmtpd_login"), LMTP_SOCK, mail_root, user))
    SMTPD = smtptest.Smtpd(W, "smtpd", log_level="info")
    for name in ("lmtpd", "qmgr"):
        LOGS[name] = os.path.join(W.tmp, name + ".log")
    LOGS["smtpd"] = SMTPD.log_path
    start("lmtpd", [LMTPD, "-c", lconf])
    sluicetest.wait_for_socket(LMTP_SOCK, 15)
    QMGR_CONF = os.path.join(W.tmp, "qmgr.conf")
    with open(QMGR_CONF, "w") as f:
        f.write("queue_directory = %s\nqmgr_lmtp_socket = %s\ndb_url = %s\nqmgr_hostname = mx.test\n"
                "sendmail_domain = example.test\nqmgr_postmaster = postmaster@example.test\n"
                "qmgr_first_retry = 1s\nqmgr_max_retry = 2s\n%s"
                % (SMTPD.queue, LMTP_SOCK, W.mta_url, user))
    start_qmgr()


def stored(address, folder="INBOX"):
    """The Subject: of each message in a mailbox's folder, read from the store's files."""
    local, domain = address.split("@")
    out = psql(W.super_url, "SELECT d.storage_dir || '/' || m.blob FROM messages m "
                            "JOIN folders f ON f.id = m.folder_id JOIN mailbox_directory d "
                            "ON d.id = f.mailbox_id WHERE d.local_part = '%s' AND d.domain = '%s' "
                            "AND f.name = '%s'" % (local, domain, folder))
    subjects = []
    for rel in out.split():
        with open(os.path.join(MAIL_ROOT, rel), "rb") as f:
            head = f.read(65536).split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        subjects += re.findall(r"^Subject: (.*?)\r?$", head, re.M)
    return subjects


def queued():
    p = subprocess.run([QUEUE_TOOL, "-c", QMGR_CONF, "list"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for %s\nqmgr:\n%s\nlmtpd:\n%s" % (
            what, log("qmgr")[-3000:], log("lmtpd")[-3000:])
        time.sleep(0.05)


def test_swaks_to_mailbox():
    p = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % SMTPD.port, "--from", "sender@remote.test",
                        "--to", "carol@example.test", "--header", "Subject: via swaks", "--body", "hello"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    qid = smtptest.queue_id(p.stdout)
    wait(lambda: "via swaks" in stored("carol@example.test"), 20, "the message in the store")
    # One queue id on every line of the message's life.
    assert qid in log("smtpd")
    assert re.search(r"%s: from=<sender@remote.test>, size=\d+, nrcpt=1 \(queue active\)" % qid, log("qmgr"))
    assert re.search(r"%s: to=<carol@example.test>, relay=lmtp, delay=[\d.]+, dsn=2\.\d\.\d, status=sent"
                     % qid, log("qmgr")), log("qmgr")
    assert "%s: removed" % qid in log("qmgr")
    wait(lambda: "Mail queue is empty" in queued(), 10, "an empty queue")


def test_aliases_expand_once():
    s = smtplib.SMTP("127.0.0.1", SMTPD.port, timeout=30)
    s.sendmail("sender@remote.test", ["sales@example.test"],
               "From: sender@remote.test\r\nTo: sales@example.test\r\nSubject: to sales\r\n\r\nhi\r\n")
    s.quit()
    # sales -> team (alice, bob -> bob + carol) + friend@remote.test
    for who in ("alice", "bob", "carol"):
        wait(lambda: "to sales" in stored(who + "@example.test"), 20, "delivery to " + who)
        assert stored(who + "@example.test").count("to sales") == 1
    wait(lambda: "friend@remote.test" in queued(), 10, "the remote destination queued")
    out = queued()
    assert "friend@remote.test (deferred)" in out and "remote delivery is not available yet" in out, out
    subprocess.run([QUEUE_TOOL, "-c", QMGR_CONF, "delete", "ALL"], check=True, capture_output=True)


def test_kill9_smtpd_and_qmgr_under_load():
    total, threads = 240, 8
    accepted = set()
    lock = threading.Lock()

    def client(n):
        for i in range(n, total, threads):
            subject = "load %d" % i
            for _ in range(50):  # retry while the server is down, as an MTA would
                try:
                    s = smtplib.SMTP("127.0.0.1", SMTPD.port, timeout=20)
                    s.sendmail("sender@remote.test", ["bob@example.test"],
                               "From: sender@remote.test\r\nSubject: %s\r\n\r\nbody %d\r\n" % (subject, i))
                    with lock:
                        accepted.add(subject)  # the 250 came
                    try:
                        s.quit()
                    except (smtplib.SMTPException, OSError):
                        pass
                    break
                except (smtplib.SMTPException, OSError):
                    time.sleep(0.1)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for t in workers:
        t.start()
    for round_ in range(3):
        time.sleep(0.7)
        PROCS["qmgr"].kill()
        PROCS["qmgr"].wait()
        time.sleep(0.2)
        start_qmgr()
        time.sleep(0.5)
        SMTPD.proc.kill()
        SMTPD.proc.wait()
        restart_smtpd()
    for t in workers:
        t.join()
    assert len(accepted) >= total * 0.9, len(accepted)
    wait(lambda: "Mail queue is empty" in queued(), 60, "an empty queue")
    # bob is also an alias to bob + carol: both keep a copy.
    for who in ("bob", "carol"):
        have = set(s for s in stored(who + "@example.test") if s.startswith("load "))
        lost = accepted - have
        assert not lost, "%s lost %d accepted messages: %s" % (who, len(lost), sorted(lost)[:10])


def teardown():
    for p in PROCS.values():
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
    if W is not None:
        W.close()


if __name__ == "__main__":
    try:
        setup()
        run([test_swaks_to_mailbox, test_aliases_expand_once, test_kill9_smtpd_and_qmgr_under_load])
    finally:
        teardown()
