#!/usr/bin/env python3
"""test_qmgr.py: sluice-qmgr with real queue files, real processes and a
scripted LMTP server (fake_lmtp.py) that answers 250/451/550 per recipient,
dies in the middle of DATA, or is slow; DSNs are parsed with Python's email
package; crash safety is tested with kill -9 while mail flows; sluice-queue
is driven as an administrator would. The database (for alias expansion of
DSN recipients) is a real PostgreSQL.
"""
import json
import os
import random
import re
import signal
import subprocess
import threading
import time

from fake_lmtp import FakeLMTP
from qmgrtest import QEnv, dsn_parts, message
from sluicetest import run

ID = r"[0-9A-Z]{16}"


def dsns(env):
    return [m for m in env.lmtp.messages if m[0] == ""]


def test_delivery_log_and_wakeup():
    env = QEnv("qmgr_rescan_interval = 60s\n")
    try:
        env.start_qmgr()
        qid = env.inject("alice@example.test", ["bob@example.test", "carol@example.test"],
                         message("one"))
        env.wait_empty(10)
        # One transaction for both recipients.
        assert len(env.lmtp.messages) == 1, env.lmtp.messages
        frm, rcpts, data = env.lmtp.messages[0]
        assert frm == "alice@example.test" and rcpts == ["bob@example.test", "carol@example.test"]
        assert env.lmtp.idents == [qid]  # XFORWARD IDENT: the server can log our queue id
        assert b"Subject: one\r\n" in data
        log = env.log()
        assert re.search(r"%s: from=<alice@example.test>, size=\d+, nrcpt=2 \(queue active\)" % qid, log)
        for r in ("bob", "carol"):
            assert re.search(r"%s: to=<%s@example.test>, relay=lmtp, delay=\d+\.\d\d, dsn=2\.0\.0, "
                             r"status=sent \(250 2\.0\.0 <%s@example.test> Saved\)" % (qid, r, r), log), log
        assert "%s: removed" % qid in log
        # New mail is seen at once (inotify), not at the next rescan a minute away.
        for i in range(20):
            start = time.monotonic()
            env.inject("alice@example.test", ["bob@example.test"], message("n%d" % i))
            assert env.lmtp.wait_for(2 + i, 5), "not delivered"
            assert time.monotonic() - start < 1.0, "slow pick-up: %.2fs" % (time.monotonic() - start)
        # Connections are reused: far fewer LHLOs than messages.
        assert env.lmtp.lhlos <= 8, env.lmtp.lhlos
        assert env.stop_qmgr() == 0
        assert "stopped" in env.log()
    finally:
        env.close()


def test_per_recipient_results_bounce_and_flush():
    env = QEnv("qmgr_first_retry = 1h\nqmgr_max_retry = 2h\n")
    try:
        env.lmtp.rcpt_reply["x1@example.test"] = "550 5.1.1 <x1@example.test> User unknown"
        env.lmtp.data_reply["x2@example.test"] = "552 5.2.2 <x2@example.test> Mailbox full"
        env.lmtp.data_reply["carol@example.test"] = "451 4.3.0 <carol@example.test> Try later"
        env.start_qmgr()
        qid = env.inject("alice@example.test",
                         ["bob@example.test", "carol@example.test", "x1@example.test", "x2@example.test"],
                         message("mixed"))
        env.wait(lambda: env.files("deferred") == [qid] and len(dsns(env)) == 1, what="deferral + DSN")
        delivered = [m for m in env.lmtp.messages if m[0] != ""]
        assert [m[1] for m in delivered] == [["bob@example.test"]], delivered
        log = env.log()
        assert re.search(r"to=<carol@example.test>, relay=lmtp, delay=[\d.]+, dsn=4\.3\.0, status=deferred", log)
        assert re.search(r"to=<x1@example.test>, relay=lmtp, delay=[\d.]+, dsn=5\.1\.1, status=bounced", log)
        assert re.search(r"%s: sender non-delivery notification: %s" % (qid, ID), log), log

        # The DSN: from <> to the sender, about x1 and x2 only (RFC 3464).
        frm, rcpts, data = dsns(env)[0]
        assert rcpts == ["alice@example.test"], rcpts
        m, text, per_msg, per_rcpt, returned = dsn_parts(data)
        assert m["To"] == "<alice@example.test>" and "MAILER-DAEMON@mx.example.test" in m["From"]
        assert m["Auto-Submitted"] == "auto-replied"
        assert "report-type=delivery-status" in m["Content-Type"]
        assert per_msg["reporting-mta"] == "dns; mx.example.test"
        assert per_msg["x-sluice-queue-id"] == qid
        assert "arrival-date" in per_msg
        got = {r["final-recipient"]: r for r in per_rcpt}
        assert set(got) == {"rfc822; x1@example.test", "rfc822; x2@example.test"}, got
        x1, x2 = got["rfc822; x1@example.test"], got["rfc822; x2@example.test"]
        assert x1["action"] == "failed" and x1["status"] == "5.1.1"
        assert x1["diagnostic-code"] == "smtp; 550 5.1.1 <x1@example.test> User unknown"
        assert x2["status"] == "5.2.2" and "last-attempt-date" in x2
        assert returned.get_content_type() == "text/rfc822-headers"
        assert "Subject: mixed" in returned.get_payload()
        assert "x1@example.test" in text and "could not be delivered" in text

        # sluice-queue shows the deferred recipient with its last diagnostic.
        show = json.loads(env.queue_tool("--json", "show", qid).stdout)
        st = {r["address"]: r for r in show["recipients"]}
        assert show["queue"] == "deferred" and show["attempts"] == 1
        assert st["carol@example.test"]["status"] == "deferred"
        assert st["carol@example.test"]["dsn"] == "4.3.0"
        assert "Try later" in st["carol@example.test"]["diagnostic"]
        assert st["bob@example.test"]["status"] == "sent"
        assert st["x1@example.test"]["status"] == "bounced"
        assert "Subject: mixed" in show["header"]

        # flush: retried at once; only carol is tried again.
        del env.lmtp.data_reply["carol@example.test"]
        assert "flushed 1 message" in env.queue_tool("flush").stdout
        env.wait_empty(10)
        assert [m[1] for m in env.lmtp.messages if m[0] != ""][-1] == ["carol@example.test"]
        assert len(dsns(env)) == 1
    finally:
        env.close()


def test_lmtp_failures_defer_never_bounce():
    env = QEnv("qmgr_first_retry = 1h\nqmgr_max_retry = 1h\n")
    try:
        env.lmtp.die_in_data = True
        env.start_qmgr()
        qid = env.inject("alice@example.test", ["bob@example.test", "carol@example.test"],
                         message("dies", body="x" * 5000 + "\r\n"))
        env.wait(lambda: env.files("deferred") == [qid], what="deferral")
        log = env.log()
        for r in ("bob", "carol"):
            assert re.search(r"to=<%s@example.test>, relay=lmtp, delay=[\d.]+, dsn=4\.4\.2, status=deferred" % r,
                             log), log
        assert "status=bounced" not in log and env.lmtp.messages == []
        # The server comes back: a flush delivers both.
        env.lmtp.die_in_data = False
        env.queue_tool("flush", qid)
        env.wait_empty(10)
        assert env.lmtp.messages[0][1] == ["bob@example.test", "carol@example.test"]

        # No server at all: connection refused is 4.4.1, deferred.
        env.lmtp.stop()
        qid = env.inject("alice@example.test", ["bob@example.test"], message("noserver"))
        env.wait(lambda: env.files("deferred") == [qid], what="deferral")
        assert re.search(r"to=<bob@example.test>, relay=lmtp, delay=[\d.]+, dsn=4\.4\.1, status=deferred",
                         env.log())
    finally:
        env.close()


def test_backoff_expiry_and_remote():
    env = QEnv("qmgr_first_retry = 1s\nqmgr_max_retry = 2s\nqmgr_queue_lifetime = 5s\n")
    try:
        env.lmtp.data_reply["bob@example.test"] = "451 4.2.0 <bob@example.test> Busy"
        env.start_qmgr()
        qid = env.inject("alice@example.test", ["bob@example.test", "R:dave@remote.example"],
                         message("expire"))
        env.wait(lambda: "status=expired" in env.log(), timeout=20, what="expiry")
        env.wait_empty(10)
        log = env.log()
        # Attempts at about 0, 1, 3, 5 s: the wait doubles, capped at qmgr_max_retry.
        times = []
        for line in log.splitlines():
            if "%s: from=<alice@example.test>" % qid in line:
                t = line.split()[0]
                h, m, s = t[11:-1].split(":")
                times.append(int(h) * 3600 + int(m) * 60 + float(s))
        gaps = [b - a for a, b in zip(times, times[1:])]
        assert len(times) >= 3, log
        assert 0.8 < gaps[0] < 1.8 and 1.8 < gaps[1] < 2.8, gaps
        assert re.search(r"to=<dave@remote.example>, relay=none, delay=[\d.]+, dsn=4\.4\.0, "
                         r"status=deferred \(remote delivery is not available yet\)", log), log
        assert re.search(r"to=<bob@example.test>, relay=lmtp, delay=[\d.]+, dsn=4\.2\.0, status=expired", log)
        assert re.search(r"to=<dave@remote.example>, relay=none, delay=[\d.]+, dsn=4\.4\.0, status=expired", log)
        # One failure report for both, with the last temporary status.
        assert len(dsns(env)) == 1
        _, text, _, per_rcpt, _ = dsn_parts(dsns(env)[0][2])
        got = {r["final-recipient"]: r for r in per_rcpt}
        assert got["rfc822; bob@example.test"]["status"] == "4.2.0"
        assert got["rfc822; dave@remote.example"]["status"] == "4.4.0"
        assert got["rfc822; bob@example.test"]["action"] == "failed"
        assert "too old" in text
    finally:
        env.close()


def test_dsn_notify_ret_envid():
    env = QEnv("qmgr_first_retry = 1s\nqmgr_max_retry = 1s\nqmgr_delay_warning_time = 1s\n")
    try:
        env.lmtp.rcpt_reply["gone@example.test"] = "550 5.1.1 <gone@example.test> User unknown"
        env.start_qmgr()
        # NOTIFY=SUCCESS: a report that says "delivered", with ENVID and ORCPT.
        env.inject("alice@example.test", ["bob@example.test,notify=success,orcpt=rfc822;list@example.test,"
                                          "given=list@example.test"],
                   message("success"), "--envid", "ENV-42")
        env.wait(lambda: len(dsns(env)) == 1, what="success DSN")
        _, text, per_msg, per_rcpt, returned = dsn_parts(dsns(env)[0][2])
        assert per_msg["original-envelope-id"] == "ENV-42"
        assert per_rcpt[0]["action"] == "delivered" and per_rcpt[0]["status"] == "2.0.0"
        assert per_rcpt[0]["original-recipient"] == "rfc822; list@example.test"
        assert returned.get_content_type() == "text/rfc822-headers"
        assert "sender delivery status notification" in env.log()

        # NOTIFY=NEVER: a failure without a report.
        qid = env.inject("alice@example.test", ["gone@example.test,notify=never"], message("never"))
        env.wait(lambda: "%s: removed" % qid in env.log(), what="removal")
        assert len(dsns(env)) == 1

        # RET=FULL: the whole message comes back.
        env.inject("alice@example.test", ["gone@example.test"], message("full", body="the body\r\n"),
                   "--ret", "full")
        env.wait(lambda: len(dsns(env)) == 2, what="failure DSN")
        _, _, _, per_rcpt, returned = dsn_parts(dsns(env)[1][2])
        assert returned.get_content_type() == "message/rfc822"
        assert returned.get_payload()[0].get_payload() == "the body\r\n"
        assert per_rcpt[0]["status"] == "5.1.1"

        # NOTIFY=DELAY: one delay report while the message waits, then delivery.
        env.lmtp.data_reply["carol@example.test"] = "451 4.3.0 <carol@example.test> Later"
        qid = env.inject("alice@example.test", ["carol@example.test,notify=delay+failure"], message("delay"))
        env.wait(lambda: len(dsns(env)) == 3, timeout=15, what="delay DSN")
        m, _, _, per_rcpt, _ = dsn_parts(dsns(env)[2][2])
        assert per_rcpt[0]["action"] == "delayed" and per_rcpt[0]["status"] == "4.3.0"
        assert "will-retry-until" in per_rcpt[0]
        time.sleep(2.5)  # two more attempts: still only one delay report
        assert len(dsns(env)) == 3
        del env.lmtp.data_reply["carol@example.test"]
        env.wait_empty(10)
    finally:
        env.close()


def test_null_sender_bounces_go_to_postmaster():
    env = QEnv()
    try:
        env.lmtp.rcpt_reply["gone@example.test"] = "550 5.1.1 <gone@example.test> User unknown"
        env.start_qmgr()
        # Ordinary mail from <>: nobody to tell.
        a = env.inject("", ["gone@example.test"], message("null"))
        env.wait(lambda: "%s: removed" % a in env.log(), what="removal")
        assert dsns(env) == []
        # A bounce that cannot be delivered goes to the postmaster.
        b = env.inject("", ["gone@example.test"], message("bounce"), "--origin", "bounce")
        env.wait(lambda: len(dsns(env)) == 1, what="double bounce")
        assert dsns(env)[0][1] == ["postmaster@example.test"]
        assert re.search(r"%s: postmaster non-delivery notification: %s" % (b, ID), env.log())
        # ... and a double bounce that fails is only logged.
        c = env.inject("", ["gone@example.test"], message("double"), "--origin", "double-bounce")
        env.wait(lambda: "%s: removed" % c in env.log(), what="removal")
        env.wait_empty(10)
        assert len(dsns(env)) == 1
    finally:
        env.close()


def test_content_on_the_wire():
    env = QEnv()
    try:
        env.start_qmgr()
        # Dot-stuffing and bare LF: the server must see the content as queued, CRLF-clean.
        content = (b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nbare\nlf\r\n.\r\nend")
        env.inject("alice@example.test", ["bob@example.test"], content)
        env.wait(lambda: env.lmtp.count() == 1, what="delivery")
        assert env.lmtp.messages[0][2] == (b"Subject: dots\r\n\r\n.leading dot\r\n..two\r\nbare\r\n"
                                           b"lf\r\n.\r\nend\r\n")
        # BINARYMIME goes as one BDAT chunk, byte for byte.
        blob = b"Subject: bin\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\n.\r\n\xff"
        env.inject("alice@example.test", ["bob@example.test"], blob, "--body", "binarymime")
        env.wait(lambda: env.lmtp.count() == 2, what="delivery")
        assert env.lmtp.messages[1][2] == blob
    finally:
        env.close()


def test_without_pipelining():
    env = QEnv("qmgr_first_retry = 1h\nqmgr_max_retry = 1h\n")
    try:
        env.lmtp.stop()
        env.lmtp = FakeLMTP(env.lmtp_path, pipelining=False)
        env.lmtp.rcpt_reply["gone@example.test"] = "550 5.1.1 <gone@example.test> User unknown"
        env.lmtp.data_reply["carol@example.test"] = "452 4.2.2 <carol@example.test> Over quota"
        env.start_qmgr()
        qid = env.inject("alice@example.test",
                         ["bob@example.test", "gone@example.test", "carol@example.test"], message("lockstep"))
        env.wait(lambda: env.files("deferred") == [qid] and len(dsns(env)) == 1, what="results")
        assert [m[1] for m in env.lmtp.messages if m[0]] == [["bob@example.test"]]
        log = env.log()
        assert re.search(r"to=<gone@example.test>, .*dsn=5\.1\.1, status=bounced", log)
        assert re.search(r"to=<carol@example.test>, .*dsn=4\.2\.2, status=deferred", log)
    finally:
        env.close()


def test_recipient_limit_and_reload():
    env = QEnv("qmgr_lmtp_recipient_limit = 2\n")
    try:
        env.start_qmgr()
        rcpts = ["r%d@example.test" % i for i in range(5)]
        env.inject("alice@example.test", rcpts, message("split"))
        env.wait_empty(10)
        assert [m[1] for m in env.lmtp.messages] == [rcpts[0:2], rcpts[2:4], rcpts[4:5]]
        # SIGHUP reloads the settings; the delivery threads use them for the next message.
        with open(env.conf) as f:
            conf = f.read().replace("qmgr_lmtp_recipient_limit = 2", "qmgr_lmtp_recipient_limit = 10")
        with open(env.conf, "w") as f:
            f.write(conf)
        env.proc.send_signal(signal.SIGHUP)
        env.wait(lambda: "reloaded " in env.log(), what="reload")
        env.inject("alice@example.test", rcpts, message("whole"))
        env.wait(lambda: env.lmtp.count() == 4, what="delivery")
        assert env.lmtp.messages[3][1] == rcpts
    finally:
        env.close()


def test_concurrent_connections():
    env = QEnv("qmgr_lmtp_connections = 8\n")
    try:
        env.lmtp.delay = 0.1
        for i in range(40):
            env.inject("alice@example.test", ["bob@example.test"], message("c%d" % i))
        start = time.monotonic()
        env.start_qmgr(wait=False)
        env.wait(lambda: env.lmtp.count() == 40, what="40 deliveries")
        took = time.monotonic() - start
        # 40 x 100 ms one at a time would be 4 s.
        assert took < 2.5, took
        assert env.lmtp.open_max >= 4, env.lmtp.open_max
        assert env.lmtp.lhlos <= 8, env.lmtp.lhlos
        env.wait_empty(5)
    finally:
        env.close()


def test_kill9_loses_nothing():
    env = QEnv("qmgr_first_retry = 1s\nqmgr_max_retry = 1s\n")
    total = 300
    sent = []
    try:
        env.lmtp.delay = 0.002

        def injector():
            for i in range(total):
                env.inject("alice@example.test", ["bob@example.test"], message("k%d" % i))
                sent.append(i)
                if i % 50 == 0:
                    time.sleep(0.05)
        t = threading.Thread(target=injector)
        env.start_qmgr()
        t.start()
        for _ in range(5):
            time.sleep(random.uniform(0.05, 0.4))
            env.proc.kill()  # kill -9, at whatever moment
            env.proc.wait()
            env.start_qmgr()
        t.join()
        env.wait(lambda: env.queued() == 0, timeout=40, what="every message delivered")
        got = set()
        for _, _, data in env.lmtp.messages:
            m = re.search(rb"Subject: (k\d+)", data)
            got.add(m.group(1).decode())
        missing = set("k%d" % i for i in range(total)) - got
        assert not missing, "lost: %s" % sorted(missing)[:20]
        assert len(sent) == total
    finally:
        env.close()


def test_queue_tool_and_damaged_files():
    env = QEnv("qmgr_first_retry = 1s\nqmgr_max_retry = 1s\n")
    try:
        env.lmtp.data_reply["bob@example.test"] = "451 4.3.0 <bob@example.test> Not now"
        env.start_qmgr()
        a = env.inject("alice@example.test", ["bob@example.test"], message("held"))
        b = env.inject("alice@example.test", ["bob@example.test"], message("deleted"))
        env.wait(lambda: env.files("deferred") == sorted([a, b]), what="deferral")
        out = env.queue_tool("list").stdout
        assert a in out and b in out and "deferred" in out and "Not now" in out
        assert "-- 1 Kbytes in 2 Requests." in out, out
        lst = json.loads(env.queue_tool("--json", "list").stdout)
        assert sorted(m["id"] for m in lst) == sorted([a, b])
        assert all(m["recipients"][0]["status"] == "deferred" for m in lst)

        # hold: qmgr leaves it alone; release: delivered again.
        assert "held 1 message" in env.queue_tool("hold", a).stdout
        assert env.files("hold") == [a]
        assert "deleted 1 message" in env.queue_tool("delete", b).stdout
        time.sleep(1.5)
        assert env.files("hold") == [a] and env.lmtp.count() == 0
        del env.lmtp.data_reply["bob@example.test"]
        assert "released 1 message" in env.queue_tool("release", "ALL").stdout
        env.wait_empty(10)
        assert env.lmtp.count() == 1 and b"Subject: held" in env.lmtp.messages[0][2]

        p = env.queue_tool("show", "0000000000AAAAAA", check=False)
        assert p.returncode == 66, p
        p = env.queue_tool("delete", "nonsense", check=False)
        assert p.returncode == 66, p
        assert "Mail queue is empty" in env.queue_tool("list").stdout

        # A damaged file is moved to hold/, not delivered and not lost.
        bad = "0000000000BADBAD"
        with open(os.path.join(env.queue, "tmp", bad), "wb") as f:
            f.write(b"SLUICE-QUEUE 1\nid " + bad.encode() + b"\ngarbage\n")
        os.rename(os.path.join(env.queue, "tmp", bad), os.path.join(env.queue, "incoming", bad))
        env.wait(lambda: env.files("hold") == [bad], what="damaged file held")
        assert "damaged queue file, moved to hold/" in env.log()
        env.queue_tool("delete", "ALL")
        assert env.queued() == 0
    finally:
        env.close()


def test_restart_recovers_active():
    env = QEnv()
    try:
        # As a crashed qmgr leaves them: messages in active/ and incoming/ before start.
        a = env.inject("alice@example.test", ["bob@example.test"], message("was-active"))
        os.rename(os.path.join(env.queue, "incoming", a), os.path.join(env.queue, "active", a))
        env.inject("alice@example.test", ["carol@example.test"], message("was-incoming"))
        env.start_qmgr()
        env.wait_empty(10)
        assert env.lmtp.count() == 2
        assert "1 messages left in active/ by an earlier run" in env.log()
        # A second qmgr on the same queue refuses to run.
        p = subprocess.run([env.proc.args[0], "-c", env.conf], capture_output=True, text=True,
                           timeout=20)
        assert p.returncode == 75 and "another sluice-qmgr" in p.stderr, p
    finally:
        env.close()


if __name__ == "__main__":
    run([
        test_delivery_log_and_wakeup,
        test_per_recipient_results_bounce_and_flush,
        test_lmtp_failures_defer_never_bounce,
        test_backoff_expiry_and_remote,
        test_dsn_notify_ret_envid,
        test_null_sender_bounces_go_to_postmaster,
        test_content_on_the_wire,
        test_without_pipelining,
        test_recipient_limit_and_reload,
        test_concurrent_connections,
        test_kill9_loses_nothing,
        test_queue_tool_and_damaged_files,
        test_restart_recovers_active,
    ])
