#!/usr/bin/env python3
"""test_lmtpd.py: sluice-lmtpd with real clients (python smtplib.LMTP and a raw
socket) over its UNIX socket, against a private PostgreSQL and a real mail
store: the RFC 2033 dialogue, delivery into the store (read back through the
store API), one file hard-linked for several recipients, unknown recipients,
quotas and their warnings, loops, size limits, and the faults: PostgreSQL
stopped (451 4.3.0, then delivery resumes), a full tmpfs (452 4.3.1, nothing
acknowledged that is not on disk), and kill -9 under load (every
acknowledged message indexed and on disk; `store check` repairs the rest).
"""
import os
import json
import signal
import smtplib
import socket
import subprocess
import tempfile
import threading
import time

import sluicetest
import storetest
from storetest import deliver, message
from sluicetest import run

W = None
LMTPD = None


def setup():
    global W, LMTPD
    W = storetest.World("sluice-lmtpd-test-")
    W.admin("domain", "add", "example.test")
    W.admin("domain", "add", "other.test")
    for user in ("bob", "carol", "dave", "erin", "loop", "load", "pipe", "full1", "full2"):
        W.mailbox(user + "@example.test")
    W.mailbox("small@example.test", "--quota", "20K")
    W.mailbox("few@example.test", "--quota-messages", "2")
    W.mailbox("off@example.test")
    W.admin("mailbox", "edit", "off@example.test", "--active", "no")
    W.mailbox("ann@other.test")
    LMTPD = W.start_lmtpd(lmtpd_max_message_size="256K")


class Raw:
    """A line-level LMTP client for what smtplib hides."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline().decode().rstrip("\r\n")
            assert line, "connection closed"
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def send(self, data):
        self.s.sendall(data.encode() if isinstance(data, str) else data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def close(self):
        self.f.close()
        self.s.close()


def test_dialogue():
    c = Raw(LMTPD.sock)
    assert c.reply()[0].startswith("220 lmtp.test ")
    assert c.cmd("HELO x")[0].startswith("500 5.5.1")
    assert c.cmd("EHLO x")[0].startswith("500 5.5.1")
    assert c.cmd("MAIL FROM:<a@b.test>")[0].startswith("503 5.5.1")
    lines = c.cmd("LHLO client.test")
    assert lines[0] == "250-lmtp.test"
    caps = [l[4:] for l in lines[1:]]
    for cap in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE 262144"):
        assert cap in caps, caps
    assert c.cmd("RCPT TO:<bob@example.test>")[0].startswith("503 5.5.1")
    assert c.cmd("MAIL FROM:<a@b.test> SIZE=100 BODY=8BITMIME")[0] == "250 2.1.0 Ok"
    assert c.cmd("MAIL FROM:<a@b.test>")[0].startswith("503 5.5.1")  # nested
    assert c.cmd("DATA")[0].startswith("503 5.5.1")  # no recipient yet
    assert c.cmd("RCPT TO:<nobody@example.test>")[0] == \
        "550 5.1.1 <nobody@example.test> User unknown"
    assert c.cmd("RCPT TO:<off@example.test>")[0].startswith("550 5.2.1")
    assert c.cmd("RCPT TO:<bob@example.test> FOO=1")[0].startswith("555 5.5.4")
    assert c.cmd("RCPT TO:<not an address>")[0].startswith("501")
    assert c.cmd("DATA")[0].startswith("503 5.5.1 No valid recipients")
    assert c.cmd("RSET")[0] == "250 2.0.0 Ok"
    assert c.cmd("MAIL FROM:<a@b.test> SIZE=999999999")[0].startswith("552 5.3.4")
    assert c.cmd("NOOP")[0] == "250 2.0.0 Ok"
    assert c.cmd("VRFY bob")[0].startswith("252")
    assert c.cmd("BOGUS")[0].startswith("500 5.5.2")
    assert c.cmd("QUIT")[0].startswith("221")
    c.close()


def test_delivery_read_back():
    msg = message("first", "Line one.\r\n..leading dot\r\n")
    rcpt, data = deliver(LMTPD.sock, "sender@remote.test", ["bob@example.test"], msg)
    assert rcpt == [(250, b"2.1.5 Ok")], rcpt
    assert data[0][0] == 250 and data[0][1].startswith(b"2.0.0 <bob@example.test>"), data
    rows = W.rows("bob@example.test")
    assert len(rows) == 1, rows
    uid, blob, size, prefix = rows[0]
    assert prefix == "Return-Path: <sender@remote.test>\nDelivered-To: bob@example.test\n"
    path = W.blob_path(W.storage_dir("bob@example.test"), blob)
    on_disk = open(path, "rb").read()
    # smtplib dot-stuffed "..leading" on the wire; the store has it as sent
    assert on_disk == msg, on_disk
    # the store API gives the whole message: added fields, then the file
    got = W.probe("read", "bob@example.test", "INBOX", uid, binary=True)
    assert got == (b"Return-Path: <sender@remote.test>\r\nDelivered-To: bob@example.test\r\n" +
                   on_disk), got
    assert int(size) == len(got)
    assert W.usage("bob@example.test")[:2] == (len(got), 1)
    row = W.probe("row", "bob@example.test", "INBOX", uid)
    assert row["preview"] == ["Line one. ..leading dot"], row
    assert '"first"' in row["envelope"][0], row
    assert row["bodystructure"][0].startswith('("TEXT" "PLAIN"'), row
    # the folders a first delivery makes, with their special-use attributes
    folders = W.sql("SELECT string_agg(name || ':' || coalesce(special_use, ''), ',' ORDER BY "
                    "name) FROM folders f JOIN mailbox_directory d ON d.id = f.mailbox_id "
                    "WHERE d.local_part = 'bob'")
    assert folders == ("Archive:\\Archive,Drafts:\\Drafts,INBOX:,Junk:\\Junk,Sent:\\Sent,"
                       "Trash:\\Trash"), folders


def test_three_recipients_one_file():
    rcpts = ["carol@example.test", "dave@example.test", "ann@other.test"]
    before = [W.usage(r) for r in rcpts]
    msg = message("shared")
    rcpt, data = deliver(LMTPD.sock, "", rcpts, msg)
    assert [r[0] for r in rcpt] == [250, 250, 250], rcpt
    assert [d[0] for d in data] == [250, 250, 250], data
    inodes = set()
    for r, b in zip(rcpts, before):
        (uid, blob, size, prefix), = W.rows(r)[-1:]
        st = os.stat(W.blob_path(W.storage_dir(r), blob))
        assert st.st_nlink == 3, st
        inodes.add(st.st_ino)
        # each recipient's own Delivered-To; the null sender as <>
        assert prefix == "Return-Path: <>\nDelivered-To: %s\n" % r, prefix
        # counted for each
        assert W.usage(r)[:2] == (b[0] + int(size), b[1] + 1)
    assert len(inodes) == 1, inodes


def test_recipient_extension_and_case():
    rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["Erin+lists@EXAMPLE.test"], message("ext"))
    assert rcpt[0][0] == 250 and data[0][0] == 250, (rcpt, data)
    (_, _, _, prefix), = W.rows("erin@example.test")
    assert "Delivered-To: Erin+lists@example.test" in prefix, prefix


def test_pipelined_transaction():
    c = Raw(LMTPD.sock)
    c.reply()
    body = message("pipelined").decode()
    # everything in one write (RFC 2920): replies come in order
    c.send("LHLO client.test\r\nMAIL FROM:<p@remote.test>\r\nRCPT TO:<pipe@example.test>\r\n"
           "RCPT TO:<ghost@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
    assert c.reply()[-1].startswith("250 SIZE")
    assert c.reply()[0].startswith("250 2.1.0")
    assert c.reply()[0].startswith("250 2.1.5")
    assert c.reply()[0].startswith("550 5.1.1")
    assert c.reply()[0].startswith("250 2.1.5")
    assert c.reply()[0].startswith("354")
    c.send(body + ".\r\nQUIT\r\n")
    assert c.reply()[0].startswith("250 2.0.0 <pipe@example.test>")
    assert c.reply()[0].startswith("250 2.0.0 <bob@example.test>")
    assert c.reply()[0].startswith("221")
    c.close()
    assert len(W.rows("pipe@example.test")) == 1


def test_loop_detection():
    msg = message("looping", extra="Delivered-To: loop@example.test\r\n")
    rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["loop@example.test", "carol@example.test"],
                         msg)
    assert data[0][0] == 554 and data[0][1].startswith(b"5.4.6"), data
    assert data[1][0] == 250, data
    assert W.rows("loop@example.test") == []


def test_message_too_big():
    big = message("big", "x" * 1000 + "\r\n") * 300  # ~ 370 KB > 256K
    rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["bob@example.test", "carol@example.test"],
                         big)
    assert [d[0] for d in data] == [552, 552] and data[0][1].startswith(b"5.3.4"), data
    # a long line is not an error: it is kept whole
    long_line = message("long line", "y" * 20000 + "\r\n")
    rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["dave@example.test"], long_line)
    assert data[0][0] == 250, data
    uid = W.rows("dave@example.test")[-1][0]
    got = W.probe("read", "dave@example.test", "INBOX", uid, binary=True)
    assert got.endswith(long_line), got[-100:]


def test_quota_refusals_and_warnings():
    # 20K quota, 4.5K messages: 85% is crossed by the 4th, the 5th does not fit
    body = "z" * 4400 + "\r\n"
    codes = []
    for i in range(5):
        rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["small@example.test"],
                             message("fill %d" % i, body))
        codes.append(data[0] if data else rcpt[0])
    assert [c[0] for c in codes[:4]] == [250] * 4, codes
    assert codes[4][0] == 552 and codes[4][1].startswith(b"5.2.2"), codes
    subjects = W.sql("SELECT string_agg(substring(m.envelope from 'Your mailbox is [0-9]+% full'),"
                     " ',') FROM messages m JOIN folders f ON f.id = m.folder_id JOIN "
                     "mailbox_directory d ON d.id = f.mailbox_id WHERE d.local_part = 'small'")
    assert subjects == "Your mailbox is 85% full", subjects
    bytes_used, count, warned = W.usage("small@example.test")
    assert warned == 85 and count == 5, (bytes_used, count, warned)
    # a SIZE= that cannot fit is refused at RCPT already
    c = Raw(LMTPD.sock)
    c.reply()
    c.cmd("LHLO x")
    c.cmd("MAIL FROM:<x@remote.test> SIZE=5000")
    assert c.cmd("RCPT TO:<small@example.test>")[0].startswith("552 5.2.2")
    assert c.cmd("RCPT TO:<carol@example.test>")[0].startswith("250")
    c.cmd("QUIT")
    c.close()
    # more room: the 95% warning comes once, when crossed
    more = message("to 96", "w" * 1900 + "\r\n")
    # the quota that this message brings to 96%
    quota = int((bytes_used + len(more) + 80) / 0.96)
    W.admin("mailbox", "edit", "small@example.test", "--quota", str(quota))
    rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["small@example.test"], more)
    assert data[0][0] == 250, data
    assert W.usage("small@example.test")[2] == 95
    n95 = W.sql("SELECT count(*) FROM messages WHERE envelope LIKE '%Your mailbox is 95% full%'")
    assert n95 == "1", n95
    # expunging brings the level down: crossing 85% again warns again
    uids = [r[0] for r in W.rows("small@example.test")]
    W.probe("expunge", "small@example.test", "INBOX", ",".join(uids[:4]))
    assert W.usage("small@example.test")[2] < 85
    for i in range(4):
        deliver(LMTPD.sock, "x@remote.test", ["small@example.test"], message("refill %d" % i, body))
    n85 = W.sql("SELECT count(*) FROM messages WHERE envelope LIKE '%Your mailbox is 85% full%'")
    assert n85 == "1", n85  # the first was expunged above; this is the new one
    # message-count quota
    for i in range(2):
        assert deliver(LMTPD.sock, "x@remote.test", ["few@example.test"],
                       message("few %d" % i))[1][0][0] == 250
    rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["few@example.test"], message("few 3"))
    assert rcpt[0][0] == 552, rcpt


def test_quota_tempfail_and_domain_quota():
    alt = W.start_lmtpd("lmtpd-tempfail", quota_exceeded_tempfail="yes",
                        quota_warning_thresholds="")
    try:
        rcpt, _ = deliver(alt.sock, "x@remote.test", ["few@example.test"], message("t"))
        assert rcpt[0][0] == 452 and rcpt[0][1].startswith(b"4.2.2"), rcpt
        # a domain quota (set in the database, as an import from PostfixAdmin may)
        used = int(W.sql("SELECT coalesce(sum(q.bytes), 0) FROM quota_usage q JOIN "
                         "mailbox_directory d ON d.id = q.mailbox_id WHERE d.domain = 'other.test'"))
        W.sql("UPDATE domains SET quota_bytes = %d WHERE name = 'other.test'" % (used + 1000))
        rcpt, data = deliver(alt.sock, "x@remote.test", ["ann@other.test"],
                             message("domain", "d" * 3000 + "\r\n"))
        assert data[0][0] == 452 and data[0][1].startswith(b"4.2.2"), data
        rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["ann@other.test"],
                             message("domain", "d" * 3000 + "\r\n"))
        assert data[0][0] == 552, data
        rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["ann@other.test"], message("fits"))
        assert data[0][0] == 250, data
    finally:
        W.sql("UPDATE domains SET quota_bytes = 0 WHERE name = 'other.test'")
        W.stop(alt)


def store_consistent(mail_root=None, mailboxes=()):
    """store check --dry-run (of everything, or of some mailboxes): its JSON report."""
    if len(mailboxes) > 1:
        reports = [store_consistent(mail_root, [m]) for m in mailboxes]
        return {k: sum(r[k] for r in reports) for k in ("orphan_files", "missing_files",
                                                       "tmp_files", "rows", "files")}
    args = ["--json", "store", "check", "--dry-run", "--grace", "0"] + list(mailboxes)
    conf = W.admin_conf
    if mail_root:
        conf = W.write_conf("admin-tmpfs", {"db_url": W.super_url, "mail_root": mail_root})
    r = subprocess.run([storetest.ADMIN, "-c", conf] + args, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_postgres_down():
    # a transaction that passed RCPT, then the database goes away before DATA ends
    c = Raw(LMTPD.sock)
    c.reply()
    c.cmd("LHLO x")
    c.cmd("MAIL FROM:<x@remote.test>")
    assert c.cmd("RCPT TO:<bob@example.test>")[0].startswith("250")
    assert c.cmd("RCPT TO:<carol@example.test>")[0].startswith("250")
    before = len(W.rows("bob@example.test"))
    W.cluster.stop()
    try:
        assert c.cmd("DATA")[0].startswith("354")
        c.send(message("db down").decode() + ".\r\n")
        r1, r2 = c.reply()[0], c.reply()[0]
        assert r1.startswith("451 4.3.0 <bob@example.test>"), r1
        assert r2.startswith("451 4.3.0 <carol@example.test>"), r2
        c.cmd("QUIT")
        c.close()
        # a new session: refused at RCPT, per recipient
        c = Raw(LMTPD.sock)
        c.reply()
        c.cmd("LHLO x")
        c.cmd("MAIL FROM:<x@remote.test>")
        assert c.cmd("RCPT TO:<bob@example.test>")[0].startswith("451 4.3.0")
        assert c.cmd("RCPT TO:<dave@example.test>")[0].startswith("451 4.3.0")
        c.cmd("QUIT")
        c.close()
    finally:
        W.cluster.start()
    # back: delivery resumes without restarting the daemon
    rcpt, data = deliver(LMTPD.sock, "x@remote.test", ["bob@example.test"], message("db back"))
    assert data[0][0] == 250, data
    assert len(W.rows("bob@example.test")) == before + 1
    # the failed attempt left no file behind
    report = store_consistent()
    assert report["orphan_files"] == 0 and report["missing_files"] == 0, report


def test_disk_full():
    if os.geteuid() != 0:
        print("skip: mounting a tmpfs needs root")
        return
    root = tempfile.mkdtemp(prefix="sluice-tmpfs-", dir=W.tmp)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", root], check=True)
    try:
        storetest.chown_sluice(root)
        full = W.start_lmtpd("lmtpd-full", mail_root=root)
        acked, refusals = [], []
        body = "f" * 150000 + "\r\n"
        for i in range(30):
            msgid = "<full-%d@test>" % i
            rcpt, data = deliver(full.sock, "x@remote.test",
                                 ["full1@example.test", "full2@example.test"],
                                 message("full %d" % i, body, msgid=msgid))
            for r, d in zip(["full1", "full2"], data):
                if d[0] == 250:
                    acked.append((r, msgid))
                else:
                    refusals.append(d)
            if len(refusals) >= 4:
                break
        assert acked, "nothing fitted in 2 MiB"
        assert refusals and all(d[0] == 452 and d[1].startswith(b"4.3.1") for d in refusals), \
            refusals
        # everything acknowledged is indexed and on disk, whole
        for user, msgid in acked:
            found = W.sql("SELECT m.blob || '|' || m.size || '|' || length(m.header_prefix) FROM "
                          "messages m JOIN folders f ON f.id = m.folder_id JOIN mailbox_directory "
                          "d ON d.id = f.mailbox_id WHERE d.local_part = '%s' AND m.envelope "
                          "LIKE '%%%s%%'" % (user, msgid))
            blob, size, plen = found.split("|")
            path = W.blob_path(W.storage_dir(user + "@example.test"), blob, mail_root=root)
            assert os.path.getsize(path) == int(size) - int(plen), (path, size)
        boxes = ["full1@example.test", "full2@example.test"]
        report = store_consistent(root, boxes)
        assert report["orphan_files"] == 0 and report["missing_files"] == 0, report
        assert report["rows"] == len(acked) and report["files"] == len(acked), report
        W.stop(full)
    finally:
        subprocess.run(["umount", "-l", root])
    # those rows named files of the tmpfs: store check expunges them from the index
    for box in ("full1@example.test", "full2@example.test"):
        W.admin("store", "check", box)
        assert W.usage(box)[:2] == (0, 0)


def load_client(sock, n, acked, stop, errors):
    for i in range(n):
        if stop.is_set():
            return
        msgid = "<load-%d-%d-%f@test>" % (threading.get_ident(), i, time.time())
        try:
            _, data = deliver(sock, "x@remote.test", ["load@example.test"],
                              message("load", "l" * 3000 + "\r\n", msgid=msgid), timeout=10)
            if data and data[0][0] == 250:
                acked.append(msgid)
        except (OSError, smtplib.SMTPException, AssertionError) as e:
            errors.append(repr(e))
            time.sleep(0.05)


def test_kill9_under_load():
    proc = W.start_lmtpd("lmtpd-load")
    acked, errors = [], []
    stop = threading.Event()
    threads = [threading.Thread(target=load_client, args=(proc.sock, 400, acked, stop, errors))
               for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while len(acked) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) >= 100, (len(acked), errors[:3])
    # after the restart every acknowledged message is indexed and its file is there
    proc = W.start_lmtpd("lmtpd-load")
    ids = W.sql("SELECT string_agg(substring(m.envelope from '<load-[^>]*>'), ' ') FROM messages m "
                "JOIN folders f ON f.id = m.folder_id JOIN mailbox_directory d ON "
                "d.id = f.mailbox_id WHERE d.local_part = 'load'").split()
    missing = set(acked) - set(ids)
    assert not missing, "acknowledged but not indexed: %r" % sorted(missing)[:5]
    report = store_consistent()
    assert report["missing_files"] == 0, report
    # store check repairs whatever the kill left (files linked but never committed)
    r = W.admin("--json", "store", "check", "--grace", "0")
    report = store_consistent()
    assert report["orphan_files"] == 0 and report["missing_files"] == 0, (report, r.stdout)
    assert report["tmp_files"] == 0, report
    # and the usage matches the messages
    count = int(W.sql("SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id "
                      "JOIN mailbox_directory d ON d.id = f.mailbox_id WHERE d.local_part = 'load'"))
    assert W.usage("load@example.test")[1] == count
    rcpt, data = deliver(proc.sock, "x@remote.test", ["load@example.test"], message("after"))
    assert data[0][0] == 250, data
    W.stop(proc)


def test_tcp_listener():
    # LMTP has no authentication: only loopback TCP listeners start
    conf = W.write_conf("lmtpd-public", {"lmtpd_db_url": W.mda_url, "mail_root": W.mail_root,
                                         "lmtpd_socket": os.path.join(W.tmp, "public.sock"),
                                         "lmtpd_listen": "0.0.0.0:%d" % sluicetest.free_port()})
    r = subprocess.run([storetest.LMTPD, "-c", conf], capture_output=True, text=True, timeout=30)
    assert r.returncode == 78 and "not a loopback address" in r.stderr, (r.returncode, r.stderr)
    port = sluicetest.free_port()
    tcp = W.start_lmtpd("lmtpd-tcp", lmtpd_listen="127.0.0.1:%d" % port)
    try:
        lmtp = smtplib.LMTP("127.0.0.1", port, timeout=20)
        assert lmtp.ehlo("x")[0] == 250
        lmtp.mail("x@remote.test")
        assert lmtp.rcpt("carol@example.test")[0] == 250
        assert lmtp.data(message("over tcp"))[0] == 250
        lmtp.quit()
    finally:
        W.stop(tcp)


def test_sigterm():
    W.stop(LMTPD)
    assert LMTPD.returncode == 0, open(LMTPD.log).read()[-2000:]
    assert not os.path.exists(LMTPD.sock)


def main():
    setup()
    try:
        run([test_dialogue, test_delivery_read_back, test_three_recipients_one_file,
             test_recipient_extension_and_case, test_pipelined_transaction, test_loop_detection,
             test_message_too_big, test_quota_refusals_and_warnings,
             test_quota_tempfail_and_domain_quota, test_postgres_down, test_disk_full,
             test_kill9_under_load, test_tcp_listener, test_sigterm])
    finally:
        W.close()


if __name__ == "__main__":
    main()
