#!/usr/bin/env python3
"""test_mail_flow.py: a message's whole way through the stack, each program
a real process: sluice-smtpd accepts it (aliases expanded at RCPT time),
sluice-qmgr picks the queue file up and hands the local recipients to
sluice-lmtpd over LMTP, which stores them; the remote one stays deferred in
the queue. The logs read the way a Postfix administrator expects: one queue
id on the smtpd, qmgr and lmtpd lines, with from=, to= and status=.
"""
import os
import re
import smtplib
import subprocess
import time

from sluicetest import build_path, psql, run
from smtptest import Smtpd, World, as_sluice, queue_id

QMGR = build_path("mta", "sluice-qmgr")
LMTPD = build_path("mda", "sluice-lmtpd")

W = None
S = None
LOGS = {}


def start(name, binary, values, wait_for):
    conf = os.path.join(W.tmp, name + ".conf")
    if os.geteuid() == 0:
        values["run_user"] = "sluice"
    with open(conf, "w") as f:
        f.write("".join("%s = %s\n" % kv for kv in values.items()))
    LOGS[name] = os.path.join(W.tmp, name + ".log")
    log = open(LOGS[name], "ab")
    p = subprocess.Popen([binary, "-c", conf], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    log.close()
    W.procs.append(p)
    deadline = time.monotonic() + 15
    while not wait_for():
        assert p.poll() is None and time.monotonic() < deadline, open(LOGS[name]).read()
        time.sleep(0.05)
    return p


def setup():
    global W, S
    W = World()
    psql(W.super_url, "CREATE ROLE mda_login LOGIN IN ROLE sluice_mda")
    mail_root = os.path.join(W.tmp, "mail")
    os.mkdir(mail_root)
    as_sluice(mail_root)
    lmtp_sock = os.path.join(W.tmp, "lmtp.sock")
    common = {"log_level": "info", "db_connect_timeout": "2s", "db_query_timeout": "5s",
              "mail_root": mail_root}
    start("lmtpd", LMTPD, dict(common, lmtpd_db_url=W.cluster.url("sluice", user="mda_login"),
                               lmtpd_socket=lmtp_sock), lambda: os.path.exists(lmtp_sock))
    S = Smtpd(W, "smtpd")
    LOGS["smtpd"] = S.log_path
    start("qmgr", QMGR, dict(common, db_url=W.mta_url, queue_directory=S.queue,
                             qmgr_lmtp_socket=lmtp_sock, qmgr_hostname="mx.test"),
          lambda: os.path.exists(os.path.join(S.queue, "qmgr.lock")))


def log(name):
    with open(LOGS[name], errors="replace") as f:
        return f.read()


def test_message_through_the_stack():
    c = smtplib.SMTP("127.0.0.1", S.port, local_hostname="client.test", timeout=30)
    c.ehlo()
    c.mail("sender@remote.test")
    assert c.rcpt("sales@example.test")[0] == 250
    code, text = c.data("From: <sender@remote.test>\r\nSubject: flow\r\nMessage-ID: <flow@client.test>"
                        "\r\n\r\nthrough the stack\r\n")
    c.quit()
    assert code == 250, text
    qid = queue_id(text.decode())
    # alice, bob and carol get it; friend@remote.test waits for outbound SMTP
    deadline = time.monotonic() + 20
    while True:
        n = psql(W.super_url, "SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id "
                              "JOIN mailboxes b ON b.id = f.mailbox_id WHERE b.local_part IN "
                              "('alice', 'bob', 'carol')").strip()
        if n == "3":
            break
        assert time.monotonic() < deadline, (n, log("qmgr")[-3000:], log("lmtpd")[-3000:])
        time.sleep(0.1)
    # one queue id on every program's lines
    for name in ("smtpd", "qmgr", "lmtpd"):
        assert re.search(r"\b%s: " % qid, log(name)), (name, log(name)[-3000:])
    smtpd = log("smtpd")
    assert re.search(r"%s: client=localhost\[127\.0\.0\.1\]" % qid, smtpd)
    assert re.search(r"%s: from=<sender@remote\.test>, size=\d+, nrcpt=4 \(queued\)" % qid, smtpd)
    delivered = log("qmgr") + log("lmtpd")
    for rcpt in ("alice", "bob", "carol"):
        assert re.search(r"%s: .*to=<%s@example\.test>.*status=sent" % (qid, rcpt), delivered), \
            (rcpt, delivered[-3000:])
    assert re.search(r"%s: .*to=<friend@remote\.test>.*status=deferred" % qid, delivered), \
        delivered[-3000:]
    # the remote recipient is kept, not lost
    held = [n for sub in ("deferred", "active", "incoming") for n in
            (os.listdir(os.path.join(S.queue, sub)) if os.path.isdir(os.path.join(S.queue, sub)) else [])]
    assert qid in held, held


def teardown():
    if S is not None:
        S.stop()
    if W is not None:
        W.close()


if __name__ == "__main__":
    setup()
    try:
        run([test_message_through_the_stack])
    finally:
        teardown()
