#!/usr/bin/env python3
"""test_smtpd_defences.py: sluice-smtpd under attack and under strain, with
raw sockets where smtplib would not misbehave: SMTP smuggling probes (bare
LF, bare CR, <LF>.<LF>, <LF>.<CR><LF>, <CR><LF>.<LF>, <CR>.<CR>) in both
smtpd_bare_newline modes, plaintext pipelined after STARTTLS, line length
limits, too many errors and junk commands, idle and session timeouts, the
per-IP connection cap, and a full queue file system (a small tmpfs):
452 4.3.1 and nothing acknowledged.
"""
import os
import re
import subprocess
import time

from sluicetest import run
from smtptest import Raw, Smtpd, World, queue_id

W = None
S = None
FULL = None
TMPFS = None


def setup():
    global W, S
    W = World()
    S = Smtpd(W, "main", smtpd_max_errors="10")


def session(source="127.0.0.1", port=None):
    r = Raw(port or S.port, source=source)
    assert r.reply()[0] == 220
    assert r.cmd("EHLO client.test")[0] == 250
    return r


def start_data(r):
    assert r.cmd("MAIL FROM:<s@remote.test>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354


SMUGGLED = b"MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n"


def test_smuggling_normalized():
    # Each probe hides an end of data that some servers take; ours must not.
    probes = [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r"]
    for probe in probes:
        before = set(S.incoming())
        r = session()
        start_data(r)
        r.send(b"Subject: probe\r\n\r\nbody" + probe + SMUGGLED + b".\r\n")
        code, text = r.reply()
        assert code == 250, (probe, code, text)
        # one message, and no reply to the smuggled commands: QUIT is answered next
        assert r.cmd("QUIT")[0] == 221, probe
        new = set(S.incoming()) - before
        assert new == {queue_id(text[0])}, (probe, new)
        _, rcpts, content = S.queued(queue_id(text[0]))
        assert [x["address"] for x in rcpts] == ["alice@example.test"], rcpts
        # what we queue has CRLF line ends only; the "." line is content
        assert b"\r\nbody\r\n.\r\nMAIL FROM:<evil@attacker.test>\r\n" in content, (probe, content)
        assert b"\n" not in content.replace(b"\r\n", b"") and b"\r" not in content.replace(b"\r\n", b"")


def test_smuggling_rejected():
    S.reload(smtpd_bare_newline="reject")
    try:
        before = S.incoming()
        # bare LF in the data: 521 and the session ends, nothing queued
        for probe in (b"\n.\n", b"\r\n.\n", b"\n.\r\n"):
            r = session()
            start_data(r)
            r.send(b"Subject: probe\r\n\r\nbody" + probe + SMUGGLED + b".\r\n")
            assert r.reply() == (521, ["5.5.2 Error: bare <LF> received"]), probe
            assert r.closed()
        # bare CR: the message is refused, the session goes on in step
        r = session()
        start_data(r)
        r.send(b"Subject: probe\r\n\r\nbody\r.\r" + SMUGGLED + b".\r\n")
        assert r.reply() == (554, ["5.6.0 Error: bare <CR> received in message content"])
        assert r.cmd("NOOP")[0] == 250
        r.cmd("QUIT")
        # a command ending in a bare LF
        r = session()
        r.send(b"NOOP\n")
        assert r.reply() == (521, ["5.5.2 Error: bare <LF> received"])
        assert r.closed()
        assert S.incoming() == before
    finally:
        S.reload(smtpd_bare_newline="normalize")


def test_trusted_bare_lf_normalized_in_reject_mode():
    # trusted networks are normalized instead (Postfix's smtpd_forbid_bare_newline_exclusions)
    S.reload(smtpd_bare_newline="reject")
    try:
        r = session(source="127.0.0.2")
        start_data(r)
        r.send(b"Subject: trusted\nX: y\n\nbody\r\n.\r\n")
        code, text = r.reply()
        assert code == 250, text
        _, _, content = S.queued(queue_id(text[0]))
        assert content.endswith(b"Subject: trusted\r\nX: y\r\n\r\nbody\r\n"), content
        r.cmd("QUIT")
    finally:
        S.reload(smtpd_bare_newline="normalize")


def test_pipelined_starttls_injection():
    r = session()
    # RFC 3207 5 / CVE-2011-0411: plaintext after STARTTLS must not survive the handshake
    r.send(b"STARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\nRCPT TO:<alice@example.test>\r\n")
    assert r.reply() == (220, ["2.0.0 Ready to start TLS"])
    r.starttls()
    assert r.cmd("EHLO client.test")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>") == (503, ["5.5.1 Error: need MAIL command"])
    assert r.cmd("MAIL FROM:<s@remote.test>")[0] == 250
    r.cmd("QUIT")
    S.wait_log(r"sent \d+ bytes pipelined after STARTTLS: discarded")


def test_failed_tls_handshake():
    r = session()
    assert r.cmd("STARTTLS")[0] == 220
    r.send(b"this is no TLS ClientHello\r\n" * 20)
    assert r.closed()
    S.wait_log(r"TLS handshake with localhost\[127\.0\.0\.1\] failed")
    r = session()
    assert r.cmd("NOOP")[0] == 250
    r.cmd("QUIT")


def test_line_limits():
    r = session()
    # RFC 5321 4.5.3.1.4: 512 octets for a command line ...
    assert r.cmd("NOOP " + "x" * 505)[0] == 250
    assert r.cmd("NOOP " + "x" * 506) == (500, ["5.5.2 Error: line too long"])
    # ... more for MAIL and RCPT with their parameters
    assert r.cmd("MAIL FROM:<s@remote.test> ENVID=" + "e" * 100 + " SIZE=10")[0] == 250
    orcpt = "rfc822;" + "a" * 60 + "@" + ".".join(["d" * 60] * 4)
    assert r.cmd("RCPT TO:<alice@example.test> ORCPT=" + orcpt + " NOTIFY=NEVER")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test> ORCPT=" + "x" * 2100)[0] == 500
    # a line beyond any limit is read to its end and refused; the session stays in step
    r.send("NOOP " + "y" * 20000 + "\r\n")
    assert r.reply() == (500, ["5.5.2 Line too long"])
    assert r.cmd("NOOP")[0] == 250
    r.cmd("QUIT")


def test_too_many_errors_and_junk():
    r = session()
    for _ in range(9):
        assert r.cmd("BOGUS")[0] == 500
    code, text = r.cmd("BOGUS")
    assert code == 500
    assert r.reply() == (421, ["4.7.0 mx.test Error: too many errors"])
    assert r.closed()
    S.reload(smtpd_max_junk_commands="3")
    try:
        r = session()
        for _ in range(3 + 9):
            assert r.cmd("NOOP")[0] == 250
        assert r.cmd("NOOP") == (421, ["4.7.0 mx.test Error: too many errors"])
        assert r.closed()
    finally:
        S.reload(smtpd_max_junk_commands="100")


def test_timeouts():
    S.reload(smtpd_timeout="1s", smtpd_session_timeout="3s")
    try:
        r = session()
        start = time.monotonic()
        assert r.reply() == (421, ["4.4.2 mx.test Error: timeout exceeded"])
        assert 0.9 < time.monotonic() - start < 3, time.monotonic() - start
        assert r.closed()
        # busy but too long: the session deadline
        r = session()
        start = time.monotonic()
        code = 250
        while code == 250:
            time.sleep(0.3)
            code, text = r.cmd("NOOP")
        assert (code, text) == (421, ["4.4.2 mx.test Error: timeout exceeded"]), text
        assert 2.5 < time.monotonic() - start < 5
        # a slow DATA is cut too, and nothing is queued
        before = S.incoming()
        r = session()
        start_data(r)
        r.send(b"Subject: slow\r\n\r\npart")
        assert r.reply() == (421, ["4.4.2 mx.test Error: timeout exceeded"])
        assert S.incoming() == before
        assert os.listdir(os.path.join(S.queue, "tmp")) == []
    finally:
        S.reload(smtpd_timeout="5m", smtpd_session_timeout="1h")


def full_queue_instance():
    global FULL, TMPFS
    if FULL is None:
        TMPFS = os.path.join(W.tmp, "tmpfs")
        os.mkdir(TMPFS)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=640k,mode=755", "tmpfs", TMPFS],
                       check=True)
        FULL = Smtpd(W, "full", queue_dir=os.path.join(TMPFS, "queue"), smtpd_max_per_ip="2",
                     smtpd_max_message_size="10M")
    return FULL


def settle(smtpd):
    """Wait until every session smtpd has begun has ended (the start-up probe's too)."""
    deadline = time.monotonic() + 10
    while True:
        log = smtpd.log()
        if len(re.findall(r": connect from \S*\[", log)) == len(re.findall(r": disconnect from \S*\[", log)):
            return
        assert time.monotonic() < deadline, log[-2000:]
        time.sleep(0.02)


def test_per_ip_cap():
    f = full_queue_instance()
    settle(f)
    a = session(port=f.port)
    b = Raw(f.port)
    assert b.reply()[0] == 220, f.log()[-3000:]
    c = Raw(f.port)
    code, text = c.reply()
    assert (code, text) == (421, ["4.7.0 mx.test Error: too many connections from you"]), text
    assert c.closed()
    a.cmd("QUIT")
    b.cmd("QUIT")
    settle(f)
    d = session(port=f.port)
    d.cmd("QUIT")


def test_full_queue():
    f = full_queue_instance()
    r = session(port=f.port)
    # SIZE says it will not fit: refused before the data
    assert r.cmd("MAIL FROM:<s@remote.test> SIZE=2000000") == (452, ["4.3.1 Insufficient system storage"])
    # no SIZE: the writes fail, and the client does not hear 250
    assert r.cmd("MAIL FROM:<s@remote.test>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(b"Subject: big\r\n\r\n" + (b"z" * 998 + b"\r\n") * 1100 + b".\r\n")
    assert r.reply() == (452, ["4.3.1 Insufficient system storage"])
    assert f.incoming() == [] and os.listdir(os.path.join(f.queue, "tmp")) == []
    # BDAT the same
    assert r.cmd("MAIL FROM:<s@remote.test>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    blob = b"Subject: big\r\n\r\n" + b"q" * 1000000
    r.send(b"BDAT %d LAST\r\n" % len(blob) + blob)
    assert r.reply() == (452, ["4.3.1 Insufficient system storage"])
    assert f.incoming() == [] and os.listdir(os.path.join(f.queue, "tmp")) == []
    # the space is back: a small message goes through
    assert r.cmd("MAIL FROM:<s@remote.test>")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    code, text = r.cmd("Subject: small\r\n\r\nok\r\n.")
    assert code == 250, text
    assert f.incoming() == [queue_id(text[0])]
    r.cmd("QUIT")


def teardown():
    for s in (S, FULL):
        if s is not None:
            s.stop()
            assert s.proc.returncode == 0, s.log()[-3000:]
    if TMPFS is not None:
        subprocess.run(["umount", TMPFS])
    if W is not None:
        W.close()


if __name__ == "__main__":
    setup()
    tests = [test_smuggling_normalized, test_smuggling_rejected,
             test_trusted_bare_lf_normalized_in_reject_mode, test_pipelined_starttls_injection,
             test_failed_tls_handshake,
             test_line_limits, test_too_many_errors_and_junk, test_timeouts]
    if os.geteuid() == 0:
        # a tmpfs needs root; tests/run runs as root
        tests += [test_per_ip_cap, test_full_queue]
    try:
        run(tests)
    finally:
        teardown()
