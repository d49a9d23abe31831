#!/usr/bin/env python3
"""test_smtpd.py: sluice-smtpd on port 25 against a real PostgreSQL, with
python3 smtplib and swaks as clients: the greeting and the verbs, every
address class and its reply (mailbox, alias, catch-all, alias domain,
backup MX, relay, unknown, inactive, over quota), alias expansion into the
queue file (final recipients with the address given), DSN, SMTPUTF8 and
8BITMIME parameters, BDAT, the limits on recipients and size, the
injection socket, the Postfix-shaped log of a message, a reload with
SIGHUP, and PostgreSQL stopped and started again (451 4.3.0, then 250).
Submission and AUTH are in test_smtpd_submission.py, the defences in
test_smtpd_defences.py.
"""
import re
import smtplib
import subprocess

from sluicetest import run
from smtptest import Raw, Smtpd, World, queue_id

W = None
S = None
ENHANCED = re.compile(r"^[245]\.\d{1,3}\.\d{1,3} ")


def setup():
    global W, S
    W = World()
    S = Smtpd(W, "main", smtpd_max_recipients="5", smtpd_max_message_size="100K")


def client(source="127.0.0.1"):
    c = smtplib.SMTP("127.0.0.1", S.port, local_hostname="client.test", timeout=30,
                     source_address=(source, 0))
    c.ehlo()
    return c


def send(rcpts, sender="sender@remote.test", body=None, source="127.0.0.1", mail_options=(),
         rcpt_options=()):
    """Send one message; returns (queue id, {rcpt: (code, text)})."""
    c = client(source)
    code, text = c.mail(sender, list(mail_options))
    assert code == 250, (code, text)
    answers = {}
    for r in rcpts:
        answers[r] = c.rcpt(r, list(rcpt_options))
    body = body or ("From: <%s>\r\nSubject: test\r\nMessage-ID: <m1@client.test>\r\n\r\nhello\r\n"
                    % sender)
    qid = None
    if any(code == 250 for code, _ in answers.values()):
        code, text = c.data(body)
        assert code == 250, (code, text)
        qid = queue_id(text.decode())
    c.quit()
    return qid, answers


def rcpt_set(qid):
    _, rcpts, _ = S.queued(qid)
    return {(r["address"], r["local"], r["given"]) for r in rcpts}


def swaks(*args):
    return subprocess.run(["swaks", "--server", "127.0.0.1:%d" % S.port, "--helo", "client.test",
                           "--timeout", "30"] + list(args), capture_output=True, text=True).stdout


def test_greeting_verbs_and_enhanced_codes():
    r = Raw(S.port)
    code, text = r.reply()
    assert (code, text) == (220, ["mx.test ESMTP Sluice"]), (code, text)
    code, lines = r.cmd("EHLO client.test")
    assert code == 250 and lines[0] == "mx.test", lines
    for ext in ("PIPELINING", "SIZE 102400", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS", "DSN",
                "SMTPUTF8", "CHUNKING", "BINARYMIME"):
        assert ext in lines, (ext, lines)
    assert not any(x.startswith("AUTH") for x in lines), "AUTH offered on port 25"
    replies = [
        ("NOOP", 250), ("RSET", 250), ("VRFY alice@example.test", 252), ("HELP", 214),
        ("EXPN team@example.test", 502), ("XYZZY", 500), ("RCPT TO:<alice@example.test>", 503),
        ("DATA", 503), ("AUTH PLAIN", 503), ("MAIL FROM:<a@b.test> FOO=1", 555),
        ("MAIL FROM:<a@b.test> SIZE=1", 250), ("MAIL FROM:<a@b.test>", 503), ("RSET x", 501),
        ("RSET", 250), ("QUIT", 221),
    ]
    for cmd, want in replies:
        code, text = r.cmd(cmd)
        assert code == want, (cmd, code, text)
        assert ENHANCED.match(text[0]), (cmd, text)
    assert r.closed()
    # HELO: no ESMTP parameters afterwards
    r = Raw(S.port)
    r.reply()
    assert r.cmd("HELO client.test") == (250, ["mx.test"])
    assert r.cmd("MAIL FROM:<a@b.test> RET=HDRS")[0] == 555
    assert r.cmd("MAIL FROM:<a@b.test>")[0] == 250
    r.close()
    # commands before the greeting is answered: send HELO/EHLO first
    r = Raw(S.port)
    r.reply()
    assert r.cmd("MAIL FROM:<a@b.test>") == (503, ["5.5.1 Error: send HELO/EHLO first"])
    r.close()


def test_mailbox_message_queued_and_logged():
    qid, answers = send(["alice@example.test"])
    assert answers["alice@example.test"][0] == 250
    env, rcpts, content = S.queued(qid)
    assert env["sender"] == "sender@remote.test" and env["client"] == "127.0.0.1", env
    assert env["helo"] == "client.test" and env["origin"] == "smtpd", env
    assert env["body"] == "7bit" and env["smtputf8"] == "0" and env["ret"] == "default", env
    assert rcpts == [{"status": "P", "notify": "", "local": True, "address": "alice@example.test",
                      "orcpt": None, "given": None}], rcpts
    text = content.decode()
    first = text.split("\r\nFrom:")[0]
    assert first.startswith("Received: from client.test (localhost [127.0.0.1])\r\n"), first
    assert "\tby mx.test (Sluice) with ESMTP id %s\r\n\tfor <alice@example.test>; " % qid in first
    assert "using TLS" not in first and "Authenticated" not in first, first
    assert text.endswith("\r\n\r\nhello\r\n"), text
    # The log of this message: one queue id on every line, Postfix's fields.
    log = S.log()
    assert re.search(r": %s: client=localhost\[127\.0\.0\.1\]\n" % qid, log), log[-2000:]
    assert re.search(r": %s: message-id=<m1@client\.test>\n" % qid, log)
    assert re.search(r": %s: from=<sender@remote\.test>, size=%d, nrcpt=1 \(queued\)\n"
                     % (qid, len(content)), log)
    S.wait_log(r"disconnect from localhost\[127\.0\.0\.1\] ehlo=1 mail=1 rcpt=1 data=1 "
               r"quit=1 commands=5")


def test_unknown_inactive_and_relay():
    qid, answers = send(["nobody@example.test", "off@example.test", "eve@off.test",
                         "x@gmail.com", "alice@example.test"])
    for r in ("nobody@example.test", "off@example.test", "eve@off.test"):
        code, text = answers[r]
        assert code == 550 and text.decode() == "5.1.1 <%s>: Recipient address rejected: User unknown" % r, \
            (r, code, text)
    assert answers["x@gmail.com"] == (554, b"5.7.1 <x@gmail.com>: Relay access denied")
    assert rcpt_set(qid) == {("alice@example.test", True, None)}
    assert ("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <x@gmail.com>: Relay access "
            "denied; from=<sender@remote.test> to=<x@gmail.com> proto=ESMTP helo=<client.test>") in S.log()
    # the same with swaks
    out = swaks("--to", "nobody@example.test", "--from", "s@remote.test")
    assert "<** 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown" in out, out
    out = swaks("--to", "x@gmail.com", "--from", "s@remote.test")
    assert "<** 554 5.7.1 <x@gmail.com>: Relay access denied" in out, out
    # a trusted network may relay; the recipient stays remote in the queue
    qid, answers = send(["x@gmail.com"], source="127.0.0.2")
    assert answers["x@gmail.com"][0] == 250
    assert rcpt_set(qid) == {("x@gmail.com", False, None)}


def test_alias_loop_is_a_temporary_failure():
    # a loop in the data (sluice-admin refuses to make one) loses no mail: 451, never 5xx
    _, answers = send(["loop1@example.test", "alice@example.test"])
    assert answers["loop1@example.test"] == (451, b"4.4.6 <loop1@example.test>: Alias expansion loop")
    assert "alias loop or too deep alias nesting at loop1@example.test" in S.log()


def test_backup_mx_domain_is_accepted_for_the_next_hop():
    qid, answers = send(["anyone@relay.test"])
    assert answers["anyone@relay.test"][0] == 250, answers
    assert rcpt_set(qid) == {("anyone@relay.test", False, None)}


def test_alias_expansion():
    cases = [
        (["team@example.test"], {("alice@example.test", True, "team@example.test"),
                                 ("bob@example.test", True, "team@example.test"),
                                 ("carol@example.test", True, "team@example.test")}),
        # an alias of an alias and a remote destination, which stays in the queue as remote
        (["sales@example.test"], {("alice@example.test", True, "sales@example.test"),
                                  ("bob@example.test", True, "sales@example.test"),
                                  ("carol@example.test", True, "sales@example.test"),
                                  ("friend@remote.test", False, "sales@example.test")}),
        # duplicates removed: the first RCPT that reaches an address is kept
        (["alice@example.test", "team@example.test", "bob@example.test"],
         {("alice@example.test", True, None), ("bob@example.test", True, "team@example.test"),
          ("carol@example.test", True, "team@example.test")}),
        # the recipient delimiter: bob+tag is bob (an alias keeping a copy), the tag follows
        (["bob+tag@example.test"], {("bob+tag@example.test", True, None),
                                    ("carol+tag@example.test", True, "bob+tag@example.test")}),
        (["Alice+News@EXAMPLE.test"], {("alice+News@example.test", True, "Alice+News@example.test")}),
        # an alias domain maps to its target, mailboxes and aliases alike
        (["Alice@alias.test", "team@alias.test"],
         {("alice@example.test", True, "Alice@alias.test"),
          ("bob@example.test", True, "team@alias.test"),
          ("carol@example.test", True, "team@alias.test")}),
        # the catch-all answers only where nothing else does
        (["random@two.test", "dave+x@two.test"], {("dave@two.test", True, "random@two.test"),
                                                 ("dave+x@two.test", True, None)}),
        # an alias in our domain to the outside: accepted from anyone
        (["fwd@example.test"], {("someone@remote.test", False, "fwd@example.test")}),
        # a dead destination goes into the queue as local: the delivery agent bounces it
        (["gone@example.test"], {("alice@example.test", True, "gone@example.test"),
                                 ("ghost@example.test", True, "gone@example.test")}),
    ]
    for rcpts, want in cases:
        qid, answers = send(rcpts)
        assert all(a[0] == 250 for a in answers.values()), (rcpts, answers)
        got = rcpt_set(qid)
        assert got == want, (rcpts, got, want)


def test_quota_at_rcpt_time():
    qid, answers = send(["full@example.test", "fullonly@example.test", "fullmix@example.test"])
    for r in ("full@example.test", "fullonly@example.test"):
        assert answers[r] == (552, ("5.2.2 <%s>: Recipient address rejected: Mailbox full" % r).encode()), \
            answers[r]
    assert answers["fullmix@example.test"][0] == 250
    # not every destination is full: accepted, the full one is the delivery agent's to refuse
    assert rcpt_set(qid) == {("full@example.test", True, "fullmix@example.test"),
                             ("alice@example.test", True, "fullmix@example.test")}
    # SIZE counts: 40K used of 50K
    _, answers = send(["small@example.test", "alice@example.test"], mail_options=["SIZE=20000"])
    assert answers["small@example.test"][0] == 552, answers
    qid, answers = send(["small@example.test"], mail_options=["SIZE=2000"])
    assert answers["small@example.test"][0] == 250, answers


def test_postmaster():
    c = client()
    c.mail("")
    assert c.docmd("RCPT TO:<Postmaster>")[0] == 250
    assert c.rcpt("POSTMASTER@example.test")[0] == 250
    code, text = c.data("Subject: hi\r\n\r\nbody\r\n")
    c.quit()
    assert code == 250
    qid = queue_id(text.decode())
    env, _, _ = S.queued(qid)
    assert env["sender"] == "", env
    assert rcpt_set(qid) == {("alice@example.test", True, "postmaster@example.test")}


def test_too_many_recipients_and_size():
    c = client()
    c.mail("s@remote.test")
    for i in range(5):
        assert c.rcpt("alice+%d@example.test" % i)[0] == 250
    assert c.rcpt("alice+5@example.test") == (452, b"4.5.3 Error: too many recipients")
    code, text = c.data("Subject: many\r\n\r\nx\r\n")
    assert code == 250
    assert len(S.queued(queue_id(text.decode()))[1]) == 5
    # SIZE above the limit: refused at MAIL
    assert c.mail("s@remote.test", ["SIZE=200000"]) == (552, b"5.3.4 Message size exceeds fixed limit")
    # no SIZE, but too big: refused after the data, nothing queued
    before = S.incoming()
    assert c.mail("s@remote.test")[0] == 250
    assert c.rcpt("alice@example.test")[0] == 250
    code, text = c.data("Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 110)
    assert (code, text) == (552, b"5.3.4 Message size exceeds fixed limit"), (code, text)
    assert S.incoming() == before
    assert c.noop()[0] == 250  # the session goes on
    c.quit()


def test_dsn_8bitmime_smtputf8_parameters():
    qid, answers = send(["alice@example.test"], mail_options=["RET=HDRS", "ENVID=abc+2Bdef",
                                                              "BODY=8BITMIME"],
                        rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Alice+2Bx@example.test"])
    env, rcpts, _ = S.queued(qid)
    assert (env["ret"], env["envid"], env["body"]) == ("hdrs", "abc+def", "8bitmime"), env
    assert rcpts[0]["notify"] == "SF" and rcpts[0]["orcpt"] == "rfc822;Alice+x@example.test", rcpts
    qid, _ = send(["alice@example.test"], rcpt_options=["NOTIFY=NEVER"])
    assert S.queued(qid)[1][0]["notify"] == "N"
    # SMTPUTF8: UTF-8 addresses only with it
    r = Raw(S.port)
    r.reply()
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<jörg@bücher.test>")[0] == 553
    assert r.cmd("MAIL FROM:<jörg@bücher.test> SMTPUTF8")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    code, text = r.cmd("Subject: ü\r\n\r\nbody\r\n.")
    assert code == 250, text
    env, _, content = S.queued(queue_id(text[0]))
    assert env["smtputf8"] == "1" and env["sender"] == "jörg@xn--bcher-kva.test", env
    assert b"with UTF8SMTP id" in content
    r.cmd("QUIT")


def test_bdat():
    r = Raw(S.port)
    r.reply()
    r.cmd("EHLO client.test")
    # pipelined: MAIL, RCPT and two chunks in one write, as RFC 3030 allows
    chunk1 = b"Subject: chunks\r\n\r\nline one\nline"
    chunk2 = b" two\r\n"
    r.send(b"MAIL FROM:<s@remote.test>\r\nRCPT TO:<alice@example.test>\r\n"
           + b"BDAT %d\r\n" % len(chunk1) + chunk1 + b"BDAT %d LAST\r\n" % len(chunk2) + chunk2)
    assert r.reply()[0] == 250
    assert r.reply()[0] == 250
    assert r.reply() == (250, ["2.0.0 Ok: %d octets received" % len(chunk1)])
    code, text = r.reply()
    assert code == 250, text
    _, _, content = S.queued(queue_id(text[0]))
    # bare LF made CRLF
    assert content.endswith(b"\r\n\r\nline one\r\nline two\r\n"), content
    # BINARYMIME: only BDAT, and the bytes stay as they are
    assert r.cmd("MAIL FROM:<s@remote.test> BODY=BINARYMIME")[0] == 250
    assert r.cmd("RCPT TO:<alice@example.test>")[0] == 250
    assert r.cmd("DATA") == (503, ["5.5.1 Error: BODY=BINARYMIME requires BDAT"])
    blob = b"Subject: bin\r\n\r\n\x00\x01\n\r\xff"
    r.send(b"BDAT %d LAST\r\n" % len(blob) + blob)
    code, text = r.reply()
    assert code == 250, text
    _, _, content = S.queued(queue_id(text[0]))
    assert content.endswith(blob), content
    # a chunk without a transaction is read and refused; the session stays in step
    r.send(b"BDAT 5\r\nhello")
    assert r.reply() == (503, ["5.5.1 Error: need MAIL command"])
    r.send(b"BDAT 5 LAST\r\nworld")
    assert r.reply()[0] == 503
    assert r.cmd("NOOP")[0] == 250
    r.cmd("QUIT")


def test_injection_socket():
    r = Raw(path=S.inject)
    r.reply()
    r.cmd("EHLO sieve.local")
    assert r.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    # trusted: may relay without AUTH
    assert r.cmd("RCPT TO:<elsewhere@gmail.com>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    code, text = r.cmd("Subject: redirected\r\n\r\nbody\r\n.")
    assert code == 250
    env, rcpts, content = S.queued(queue_id(text[0]))
    assert env["origin"] == "inject" and env["client"] == "local", env
    assert rcpts[0]["address"] == "elsewhere@gmail.com" and not rcpts[0]["local"]
    assert content.startswith(b"Received: from sieve.local (localhost [local])")
    r.cmd("QUIT")


def test_reload_connection_rate():
    S.reload(smtpd_connection_rate="2")
    for i in range(2):
        r = Raw(S.port, source="127.0.0.5")
        assert r.reply()[0] == 220
        r.close()
    r = Raw(S.port, source="127.0.0.5")
    code, text = r.reply()
    assert code == 421 and text[0].startswith("4.7.0 mx.test Error: too many connections"), text
    assert r.closed()
    # another client, and the trusted networks, are not counted with it
    for source in ("127.0.0.6", "127.0.0.2", "127.0.0.2", "127.0.0.2"):
        r = Raw(S.port, source=source)
        assert r.reply()[0] == 220, source
        r.close()
    S.reload(smtpd_connection_rate="0")
    r = Raw(S.port, source="127.0.0.5")
    assert r.reply()[0] == 220
    r.close()


def test_database_outage():
    c = client()
    c.mail("s@remote.test")
    assert c.rcpt("alice@example.test")[0] == 250
    W.cluster.stop()
    try:
        # never a 5xx while the database is away
        for r in ("bob@example.test", "nobody@example.test", "x@gmail.com"):
            code, text = c.rcpt(r)
            assert code == 451 and text.decode() == "4.3.0 <%s>: Temporary lookup failure" % r, \
                (r, code, text)
        c2 = client()
        c2.mail("s@remote.test")
        assert c2.rcpt("alice@example.test")[0] == 451
        c2.quit()
    finally:
        W.cluster.start()
    # back: the pool reconnects
    assert c.rcpt("bob@example.test")[0] == 250
    code, text = c.data("Subject: after\r\n\r\nx\r\n")
    assert code == 250
    c.quit()
    assert {a for a, _, _ in rcpt_set(queue_id(text.decode()))} == \
        {"alice@example.test", "bob@example.test", "carol@example.test"}


def teardown():
    if S is not None:
        S.stop()
        assert S.proc.returncode == 0, S.log()[-3000:]
        assert "ERROR: AddressSanitizer" not in S.log()
    if W is not None:
        W.close()


if __name__ == "__main__":
    setup()
    try:
        run([test_greeting_verbs_and_enhanced_codes, test_mailbox_message_queued_and_logged,
             test_unknown_inactive_and_relay, test_alias_loop_is_a_temporary_failure,
             test_backup_mx_domain_is_accepted_for_the_next_hop,
             test_alias_expansion, test_quota_at_rcpt_time, test_postmaster,
             test_too_many_recipients_and_size, test_dsn_8bitmime_smtputf8_parameters, test_bdat,
             test_injection_socket, test_reload_connection_rate, test_database_outage])
    finally:
        teardown()
