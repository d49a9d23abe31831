#!/usr/bin/env python3
"""test_imapd_messages.py: sluice-imapd's message commands.

Against a real PostgreSQL, sluice-authd, sluice-lmtpd and sluice-imapd
(imapd_world.py): APPEND (flags, date, LITERAL+, MULTIAPPEND all or none,
literal8, the UTF8 form, TRYCREATE, TOOBIG), FETCH of every item and body
section (parts inside message/rfc822, HEADER.FIELDS[.NOT], MIME, TEXT,
partial ranges, BINARY decoding, UNKNOWN-CTE, \\Seen set by non-PEEK),
STORE (+/-/replace, .SILENT, keywords, read-only), COPY and MOVE with
UIDPLUS, EXPUNGE and UID EXPUNGE, CLOSE, QUOTA (GETQUOTAROOT, GETQUOTA,
OVERQUOTA on APPEND and COPY), and two sessions of one user seeing each
other's changes.
"""
import imaplib
import os
import re

from imapd_world import PASSWORD, World
from sluicetest import run

W = None


def world():
    global W
    if W is None:
        W = World(users=("alice", "bob", "carol", "dave"), lmtpd=True,
                  imapd_settings={"imapd_max_message_size": "64K"})
    return W


def crlf(text):
    return text.replace("\n", "\r\n").encode()


MSG = crlf("""From: Fred Foobar <foobar@example.org>
To: alice@example.test
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= test
Date: Tue, 3 Jan 2023 10:00:00 +0100
Message-ID: <m1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

This is the preamble.
--outer
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Gr=C3=BC=C3=9Fe aus Berlin
--outer
Content-Type: message/rfc822

From: Inner <inner@example.org>
Subject: inner message
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain

inner plain
--inner
Content-Type: text/html

<p>inner html</p>
--inner--
--outer
Content-Type: application/octet-stream; name="b.bin"
Content-Transfer-Encoding: base64

AAECAwQ=
--outer
Content-Type: application/x-thing
Content-Transfer-Encoding: x-uuencode

begin 644 x
--outer--
""")


def login_raw(w, user):
    c = w.raw()
    lines = c.cmd("l1", "LOGIN %s %s" % (w.users[user], PASSWORD))
    assert lines[-1].startswith("l1 OK"), lines
    return c


def append_raw(c, tag, mailbox, data, extra=""):
    c.send("%s APPEND %s %s{%d+}\r\n" % (tag, mailbox, extra, len(data)))
    c.send(data + b"\r\n")
    return c.until_tagged(tag)


def test_append_and_fetch_items():
    w = world()
    c = login_raw(w, "alice")
    lines = append_raw(c, "a1", "INBOX", MSG, '(\\Seen $Work) "03-Jan-2023 10:00:05 +0100" ')
    m = re.match(r"a1 OK \[APPENDUID (\d+) 1\] APPEND completed", lines[-1])
    assert m, lines
    uidvalidity = m.group(1)
    c.cmd("a2", "SELECT INBOX")
    f, _, tagged = c.fetch("a3", "FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE MODSEQ)")
    assert tagged.startswith("a3 OK"), tagged
    got = f[1]
    assert got["FLAGS"] == [b"\\Seen", b"\\Recent", b"$Work"], got
    assert got["UID"] == b"1" and got["RFC822.SIZE"] == str(len(MSG)).encode(), got
    assert got["INTERNALDATE"] == b" 3-Jan-2023 09:00:05 +0000", got
    env = got["ENVELOPE"]
    assert env[0] == b"Tue, 3 Jan 2023 10:00:00 +0100" and env[1] == b"=?utf-8?q?Gr=C3=BC=C3=9Fe?= test"
    assert env[2] == [[b"Fred Foobar", None, b"foobar", b"example.org"]], env
    assert env[5] == [[None, None, b"alice", b"example.test"]] and env[9] == b"<m1@example.org>", env
    assert int(got["MODSEQ"][0]) > 0, got
    f, _, tagged = c.fetch("a4", "FETCH 1 (BODYSTRUCTURE BODY)")
    bs = f[1]["BODYSTRUCTURE"]
    assert bs[0][:2] == [b"TEXT", b"PLAIN"] and bs[1][:2] == [b"MESSAGE", b"RFC822"], bs
    assert bs[2][:2] == [b"APPLICATION", b"OCTET-STREAM"] and bs[4] == b"MIXED", bs
    body = f[1]["BODY"]
    assert body[4] == b"MIXED" and len(body) == 5, body  # no extension data
    f, _, _ = c.fetch("a5", "FETCH 1:* FAST")
    assert set(f[1]) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, f
    f, _, _ = c.fetch("a6", "FETCH 1 ALL")
    assert set(f[1]) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}, f
    f, _, _ = c.fetch("a7", "UID FETCH 1 (FLAGS)")
    assert f[1]["UID"] == b"1", "UID FETCH always says the UID"
    assert c.cmd("a8", "FETCH 2 FLAGS")[-1].startswith("a8 BAD"), "no message 2"
    assert c.cmd("a9", "UID FETCH 99 FLAGS") == ["a9 OK FETCH completed"]
    assert c.cmd("a10", "FETCH 1 (FLAGS BOGUS)")[-1].startswith("a10 BAD")
    assert c.cmd("a11", "FETCH 1 BODY[1.HEADER.X]")[-1].startswith("a11 BAD")
    assert uidvalidity
    c.close()


def test_body_sections():
    w = world()
    c = login_raw(w, "bob")
    append_raw(c, "b1", "INBOX", MSG)
    c.cmd("b2", "SELECT INBOX")
    text = MSG.decode()
    hdr_end = text.index("\r\n\r\n") + 4
    want = {
        "BODY[1]": b"Gr=C3=BC=C3=9Fe aus Berlin",
        "BINARY[1]": "Grüße aus Berlin".encode(),
        "BODY[2.HEADER]": crlf('From: Inner <inner@example.org>\nSubject: inner message\n'
                               'Content-Type: multipart/alternative; boundary="inner"\n\n'),
        "BODY[2.1]": b"inner plain",
        "BODY[2.2]": b"<p>inner html</p>",
        "BODY[2.1.MIME]": crlf("Content-Type: text/plain\n\n"),
        "BODY[2.MIME]": crlf("Content-Type: message/rfc822\n\n"),
        "BODY[2.TEXT]": crlf("--inner\nContent-Type: text/plain\n\ninner plain\n--inner\n"
                             "Content-Type: text/html\n\n<p>inner html</p>\n--inner--"),
        "BINARY[3]": b"\x00\x01\x02\x03\x04",
        "BINARY.SIZE[3]": b"5",
        "BODY[5]": None,
        "BODY[1.1]": None,
        "BODY[HEADER.FIELDS (SUBJECT)]": crlf("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= test\n\n"),
        "BODY[HEADER]": MSG[:hdr_end],
        "BODY[TEXT]": MSG[hdr_end:],
        "BODY[]<10>": MSG[10:30],
        "BODY[1]<4>": b"Gr=C3=BC=C3=9Fe aus Berlin"[4:9],
        "BODY[]<100000>": b"",
    }
    items = ("BODY.PEEK[1] BINARY.PEEK[1] BODY.PEEK[2.HEADER] BODY.PEEK[2.1] BODY.PEEK[2.2] "
             "BODY.PEEK[2.1.MIME] BODY.PEEK[2.MIME] BODY.PEEK[2.TEXT] BINARY.PEEK[3] BINARY.SIZE[3] "
             "BODY.PEEK[5] BODY.PEEK[1.1] BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[HEADER] "
             "BODY.PEEK[TEXT] BODY.PEEK[]<10.20> BODY.PEEK[1]<4.5> BODY.PEEK[]<100000.10>")
    f, _, tagged = c.fetch("b3", "FETCH 1 (%s)" % items)
    assert tagged.startswith("b3 OK"), tagged
    for k, v in want.items():
        assert f[1].get(k) == v, (k, f[1].get(k), v)
    assert "FLAGS" not in f[1], "PEEK does not set \\Seen"
    not_fields = ("From To Date Message-ID MIME-Version Content-Type")
    f, _, _ = c.fetch("b4", "FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (%s)] RFC822.HEADER)" % not_fields)
    assert f[1]["BODY[HEADER.FIELDS.NOT (FROM TO DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)]"] == \
        crlf("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= test\n\n"), f
    assert f[1]["RFC822.HEADER"] == MSG[:hdr_end], f
    _, _, tagged = c.fetch("b5", "FETCH 1 BINARY.PEEK[4]")
    assert tagged.startswith("b5 NO [UNKNOWN-CTE]"), tagged
    # without PEEK \Seen is set, and the new FLAGS come along
    f, _, _ = c.fetch("b6", "FETCH 1 BODY[1]")
    assert f[1]["FLAGS"] == [b"\\Seen", b"\\Recent"] and f[1]["BODY[1]"] == want["BODY[1]"], f
    f, _, _ = c.fetch("b7", "FETCH 1 (RFC822 RFC822.TEXT RFC822.SIZE)")
    assert f[1]["RFC822"] == MSG and f[1]["RFC822.TEXT"] == MSG[hdr_end:], f
    # read-only: nothing is set
    append_raw(c, "b8", "INBOX", crlf("Subject: second\n\nbody\n"))
    c.cmd("b9", "EXAMINE INBOX")
    f, _, _ = c.fetch("b10", "FETCH 2 (BODY[TEXT])")
    assert "FLAGS" not in f[2] and f[2]["BODY[TEXT]"] == b"body\r\n", f
    f, _, _ = c.fetch("b11", "FETCH 2 FLAGS")
    assert f[2]["FLAGS"] == [], f
    c.close()


def test_append_variants():
    w = world()
    c = login_raw(w, "carol")
    # synchronizing literal: the go-ahead first
    data = crlf("Subject: sync\n\nx\n")
    c.send("c1 APPEND INBOX {%d}\r\n" % len(data))
    assert c.line().startswith("+ "), "go-ahead"
    c.send(data + b"\r\n")
    assert c.until_tagged("c1")[-1].startswith("c1 OK [APPENDUID ")
    # MULTIAPPEND
    one, two = crlf("Subject: one\n\n1\n"), crlf("Subject: two\n\n2\n")
    c.send("c2 APPEND INBOX (\\Flagged) {%d+}\r\n" % len(one))
    c.send(one + b" {%d+}\r\n" % len(two) + two + b"\r\n")
    lines = c.until_tagged("c2")
    assert re.match(r"c2 OK \[APPENDUID \d+ 2:3\]", lines[-1]), lines
    # the missing mailbox
    assert append_raw(c, "c3", "Nowhere", one)[-1].startswith("c3 NO [TRYCREATE]")
    # APPENDLIMIT: no go-ahead for a synchronizing literal, NO [TOOBIG]
    c.send("c4 APPEND INBOX {100000}\r\n")
    assert c.line().startswith("c4 NO [TOOBIG]")
    big = b"x" * 70000
    lines = append_raw(c, "c5", "INBOX", big)
    assert lines[-1].startswith("c5 NO [TOOBIG]"), lines
    # literal8 with a NUL (RFC 3516), refused in a plain literal
    binary = b"Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\na\x00b\r\n"
    c.send(b"c6 APPEND INBOX ~{%d+}\r\n" % len(binary) + binary + b"\r\n")
    assert c.until_tagged("c6")[-1].startswith("c6 OK [APPENDUID"), "literal8"
    c.send(b"c7 APPEND INBOX {%d+}\r\n" % len(binary) + binary + b"\r\n")
    assert c.until_tagged("c7")[-1].startswith("c7 BAD"), "NUL in a literal"
    # bad flags and dates
    assert append_raw(c, "c8", "INBOX", one, "(\\Recent) ")[-1].startswith("c8 BAD")
    assert append_raw(c, "c9", "INBOX", one, '"31-Foo-2020 00:00:00 +0000" ')[-1].startswith("c9 BAD")
    # the UTF8 form after ENABLE UTF8=ACCEPT (RFC 6855)
    utf8 = "Subject: Grüße\r\n\r\nä\r\n".encode()
    c.send(b"c10 APPEND INBOX UTF8 (~{%d+}\r\n" % len(utf8) + utf8 + b")\r\n")
    assert c.until_tagged("c10")[-1].startswith("c10 BAD"), "UTF8 before ENABLE"
    c.cmd("c11", "ENABLE UTF8=ACCEPT")
    c.send(b"c12 APPEND INBOX UTF8 (~{%d+}\r\n" % len(utf8) + utf8 + b")\r\n")
    assert c.until_tagged("c12")[-1].startswith("c12 OK [APPENDUID"), "UTF8 APPEND"
    c.cmd("c13", "SELECT INBOX")
    f, _, _ = c.fetch("c14", "FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = {int(v["UID"]): v["BODY[HEADER.FIELDS (SUBJECT)]"] for v in f.values()}
    assert subjects[1] == b"Subject: sync\r\n\r\n" and subjects[3] == b"Subject: two\r\n\r\n", subjects
    assert subjects[5] == "Subject: Grüße\r\n\r\n".encode(), subjects
    flags = {int(v["UID"]): v["FLAGS"] for v in f.values()}
    assert flags[2] == [b"\\Flagged", b"\\Recent"] and flags[3] == [b"\\Recent"], flags
    c.close()


def test_store():
    w = world()
    c = login_raw(w, "alice")
    c.cmd("s0", "CREATE StoreBox")
    for i in range(3):
        append_raw(c, "s%d" % (i + 1), "StoreBox", crlf("Subject: %d\n\nx\n" % i))
    c.cmd("s4", "SELECT StoreBox")
    f, _, _ = c.fetch("s5", "STORE 1:2 +FLAGS (\\Seen $Label1)")
    assert f[1]["FLAGS"] == [b"\\Seen", b"\\Recent", b"$Label1"] and 2 in f, f
    f, other, _ = c.fetch("s6", "STORE 1 -FLAGS (\\Seen)")
    assert f[1]["FLAGS"] == [b"\\Recent", b"$Label1"], f
    f, _, _ = c.fetch("s7", "STORE 2 FLAGS (\\Answered)")
    assert f[2]["FLAGS"] == [b"\\Answered", b"\\Recent"], f  # STORE leaves \Recent
    f, _, tagged = c.fetch("s8", "STORE 3 +FLAGS.SILENT (\\Flagged)")
    assert f == {} and tagged.startswith("s8 OK"), (f, tagged)
    f, _, _ = c.fetch("s9", "UID STORE 3 +FLAGS \\Draft")
    assert f[3]["FLAGS"] == [b"\\Flagged", b"\\Draft", b"\\Recent"] and f[3]["UID"] == b"3", f
    assert c.cmd("s10", "STORE 1 +FLAGS (\\Recent)")[-1].startswith("s10 BAD")
    assert c.cmd("s11", "STORE 1 +FLAGS (\\Bogus)")[-1].startswith("s11 BAD")
    assert c.cmd("s12", "STORE 1 +FLAGS (a{b)")[-1].startswith("s12 BAD")
    assert c.cmd("s13", "STORE 1 XFLAGS (\\Seen)")[-1].startswith("s13 BAD")
    c.cmd("s14", "EXAMINE StoreBox")
    assert c.cmd("s15", "STORE 1 +FLAGS (\\Seen)")[-1].startswith("s15 NO [READ-ONLY]")
    c.close()


def test_copy_move_expunge():
    w = world()
    c = login_raw(w, "bob")
    c.cmd("m0", "CREATE Src")
    c.cmd("m0b", "CREATE Dst")
    for i in range(5):
        append_raw(c, "m%d" % (i + 1), "Src", crlf("Subject: %d\n\nx\n" % i))
    c.cmd("m6", "SELECT Src")
    lines = c.cmd("m7", "COPY 2:4 Dst")
    assert re.match(r"m7 OK \[COPYUID \d+ 2:4 1:3\] COPY completed", lines[-1]), lines
    assert c.cmd("m8", "COPY 1 Nowhere")[-1].startswith("m8 NO [TRYCREATE]")
    lines = c.cmd("m9", "UID MOVE 1,5 Dst")
    assert re.match(r"\* OK \[COPYUID \d+ 1,5 4:5\]", lines[0]), lines
    assert lines[1:3] == ["* 5 EXPUNGE", "* 1 EXPUNGE"], lines
    assert lines[-1].startswith("m9 OK"), lines
    # now 2,3,4 remain as 1,2,3
    c.cmd("m10", "STORE 1,3 +FLAGS (\\Deleted)")
    lines = c.cmd("m11", "UID EXPUNGE 2")
    assert lines == ["* 1 EXPUNGE", "m11 OK UID EXPUNGE completed"], lines
    lines = c.cmd("m12", "EXPUNGE")
    assert lines == ["* 2 EXPUNGE", "m12 OK EXPUNGE completed"], lines
    f, _, _ = c.fetch("m13", "FETCH 1:* UID")
    assert [v["UID"] for v in f.values()] == [b"3"], f
    c.cmd("m14", "STORE 1 +FLAGS (\\Deleted)")
    lines = c.cmd("m14b", "STATUS Src (DELETED DELETED-STORAGE)")
    assert '* STATUS "Src" (DELETED 1 DELETED-STORAGE 1)' in lines, lines
    assert c.cmd("m15", "CLOSE") == ["m15 OK CLOSE completed"], "CLOSE expunges silently"
    lines = c.cmd("m16", "STATUS Src (MESSAGES)")
    assert '* STATUS "Src" (MESSAGES 0)' in lines, lines
    lines = c.cmd("m17", "STATUS Dst (MESSAGES UIDNEXT)")
    assert '* STATUS "Dst" (MESSAGES 5 UIDNEXT 6)' in lines, lines
    c.cmd("m18", "SELECT Dst")
    assert c.cmd("m19", "MOVE 1 Dst")[-1].startswith("m19 NO"), "MOVE into itself"
    c.close()


def test_quota():
    w = world()
    w.add_user("quota", quota="10K", quota_messages=3)
    c = login_raw(w, "quota")
    lines = c.cmd("q1", "GETQUOTAROOT INBOX")
    assert lines[0] == '* QUOTAROOT "INBOX" ""', lines
    assert lines[1] == '* QUOTA "" (STORAGE 0 10 MESSAGE 0 3)', lines
    small = crlf("Subject: small\n\n" + "x" * 1000 + "\n")
    assert append_raw(c, "q2", "INBOX", small)[-1].startswith("q2 OK")
    lines = c.cmd("q3", 'GETQUOTA ""')
    assert lines[0] == '* QUOTA "" (STORAGE 1 10 MESSAGE 1 3)', lines
    assert c.cmd("q4", "GETQUOTA other")[-1].startswith("q4 NO")
    assert c.cmd("q5", 'SETQUOTA "" (STORAGE 100)')[-1].startswith("q5 NO")
    # too big for the rest of the quota
    big = crlf("Subject: big\n\n" + "y" * 9500 + "\n")
    assert append_raw(c, "q6", "INBOX", big)[-1].startswith("q6 NO [OVERQUOTA]")
    # MULTIAPPEND: the third message does not fit, so none is stored
    c.send("q7 APPEND INBOX {%d+}\r\n" % len(small))
    c.send(small + b" {%d+}\r\n" % len(small) + small + b" {%d+}\r\n" % len(small) + small + b"\r\n")
    assert c.until_tagged("q7")[-1].startswith("q7 NO [OVERQUOTA]")
    lines = c.cmd("q8", "STATUS INBOX (MESSAGES)")
    assert '* STATUS "INBOX" (MESSAGES 1)' in lines, lines
    assert append_raw(c, "q9", "INBOX", small)[-1].startswith("q9 OK")
    c.cmd("q10", "SELECT INBOX")
    assert c.cmd("q11", "COPY 1:2 Trash")[-1].startswith("q11 NO [OVERQUOTA]")
    assert c.cmd("q12", "COPY 1 Trash")[-1].startswith("q12 OK [COPYUID")
    c.close()


def test_two_sessions():
    w = world()
    a, b = login_raw(w, "carol"), login_raw(w, "carol")
    a.cmd("t0", "CREATE Shared")
    for i in range(3):
        append_raw(a, "t%d" % (i + 1), "Shared", crlf("Subject: %d\n\nx\n" % i))
    a.cmd("t4", "SELECT Shared")
    b.cmd("u1", "SELECT Shared")
    b.cmd("u2", "STORE 2 +FLAGS (\\Flagged)")
    lines = append_raw(b, "u3", "Shared", crlf("Subject: new\n\nx\n"))
    # RFC 3501 6.3.11: EXISTS at once; b is the first session told of it, so it is b's \Recent
    assert "* 4 EXISTS" in lines and "* 1 RECENT" in lines, lines
    w.deliver("carol", crlf("Subject: delivered\n\nx\n"))
    lines = a.cmd("t5", "NOOP")
    assert "* 4 EXISTS" in lines, lines
    # a selected first: 1-3 are its recent messages, not the one b was told of
    assert any(l.startswith("* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent)") for l in lines), lines
    assert not any(l.endswith(" RECENT") for l in lines), lines
    # an expunge by b: during a FETCH a is not told, after a NOOP it is
    b.cmd("u4", "STORE 1 +FLAGS (\\Deleted)")
    b.cmd("u5", "EXPUNGE")
    f, other, tagged = a.fetch("t6", "FETCH 1:4 (UID)")
    assert not any("EXPUNGE" in l for l in other), other
    assert tagged.startswith("t6 NO [EXPUNGEISSUED]"), tagged
    assert sorted(int(v["UID"]) for v in f.values()) == [2, 3, 4], f
    lines = a.cmd("t7", "NOOP")
    assert "* 1 EXPUNGE" in lines, lines
    f, _, _ = a.fetch("t8", "FETCH 1:* UID")
    assert [v["UID"] for v in f.values()] == [b"2", b"3", b"4"], f
    # the delivery went to INBOX: a sees it when it selects INBOX
    lines = a.cmd("t9", "SELECT INBOX")
    assert "t9 OK [READ-WRITE] SELECT completed" in lines, lines
    f, _, _ = a.fetch("t10", "FETCH * BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert list(f.values())[0]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: delivered\r\n\r\n", f
    # a folder deleted under a session that has it selected: that session ends with BYE
    a.cmd("t11", "CREATE Doomed")
    b.cmd("u6", "SELECT Doomed")
    assert a.cmd("t12", "DELETE Doomed")[-1].startswith("t12 OK")
    lines = b.cmd("u7", "NOOP")
    assert lines[0].startswith("* BYE") and lines[-1].startswith("u7 OK"), lines
    assert b.closed()
    a.close()
    b.close()


def recent_of(lines):
    got = [int(l.split()[1]) for l in lines if re.fullmatch(r"\* \d+ RECENT", l)]
    return got[-1] if got else None


def test_recent():
    """RFC 3501 2.3.2: \\Recent belongs to the first session told of a message."""
    w = world()
    for i in range(2):
        w.deliver("dave", crlf("Subject: r%d\n\nx\n" % i))
    a, b, c = login_raw(w, "dave"), login_raw(w, "dave"), login_raw(w, "dave")
    # STATUS and EXAMINE look without taking
    assert '* STATUS "INBOX" (RECENT 2 MESSAGES 2)' in c.cmd("r1", "STATUS INBOX (RECENT MESSAGES)")
    lines = c.cmd("r2", "EXAMINE INBOX")
    assert recent_of(lines) == 2, lines
    f, _, _ = c.fetch("r3", "FETCH 1:* FLAGS")
    assert f[1]["FLAGS"] == [b"\\Recent"] and f[2]["FLAGS"] == [b"\\Recent"], f
    # the first SELECT takes them; a later one finds none
    lines = a.cmd("r4", "SELECT INBOX")
    assert recent_of(lines) == 2 and "* OK [UNSEEN 1] First unseen" in lines, lines
    lines = b.cmd("r5", "SELECT INBOX")
    assert recent_of(lines) == 0, lines
    f, _, _ = b.fetch("r6", "FETCH 1:* FLAGS")
    assert f[1]["FLAGS"] == [] and f[2]["FLAGS"] == [], f
    assert '* STATUS "INBOX" (RECENT 0)' in c.cmd("r7", "STATUS INBOX (RECENT)")
    # a new delivery goes to the first selected session that hears of it
    w.deliver("dave", crlf("Subject: r2\n\nx\n"))
    lines = b.cmd("r8", "NOOP")
    assert "* 3 EXISTS" in lines and recent_of(lines) == 1, lines
    assert b.cmd("r9", "SEARCH RECENT")[0] == "* SEARCH 3"
    assert b.cmd("r10", "SEARCH NEW")[0] == "* SEARCH 3"
    assert b.cmd("r11", "SEARCH OLD")[0] == "* SEARCH 1 2"
    lines = a.cmd("r12", "NOOP")
    assert "* 3 EXISTS" in lines and recent_of(lines) is None, lines
    assert a.cmd("r13", "SEARCH RECENT")[0] == "* SEARCH 1 2"
    # \\Seen does not end \\Recent; NEW is recent and unseen
    b.cmd("r14", "STORE 3 +FLAGS (\\Seen)")
    assert b.cmd("r15", "SEARCH NEW")[0] == "* SEARCH"
    f, _, _ = b.fetch("r16", "FETCH 3 FLAGS")
    assert f[3]["FLAGS"] == [b"\\Seen", b"\\Recent"], f
    # IMAP4rev2 has no \\Recent (RFC 9051)
    w.deliver("dave", crlf("Subject: r3\n\nx\n"))
    d = login_raw(w, "dave")
    d.cmd("r17", "ENABLE IMAP4rev2")
    lines = d.cmd("r18", "SELECT INBOX")
    assert recent_of(lines) is None, lines
    f, _, _ = d.fetch("r19", "FETCH 4 FLAGS")
    assert f[4]["FLAGS"] == [], f
    for s in (a, b, c, d):
        s.close()


def test_reselect_sees_changes():
    """A folder selected again reflects every change since (imapd keeps loads in memory)."""
    w = world()
    a, b = login_raw(w, "bob"), login_raw(w, "bob")
    a.cmd("v0", "CREATE Again")
    for i in range(3):
        append_raw(a, "v%d" % (i + 1), "Again", crlf("Subject: %d\n\nx\n" % i))

    def examine(tag):
        lines = b.cmd(tag, "EXAMINE Again")
        exists = [l for l in lines if l.endswith(" EXISTS")]
        unseen = [l for l in lines if "[UNSEEN " in l]
        flags = [l for l in lines if l.startswith("* FLAGS")]
        f, _, _ = b.fetch(tag + "f", "FETCH 1:* UID")
        return exists, unseen, flags, sorted(int(v["UID"]) for v in f.values())

    first = examine("e1")
    assert first[0] == ["* 3 EXISTS"] and first[1][0].startswith("* OK [UNSEEN 1]"), first
    assert examine("e2") == first  # nothing changed: the same answers
    a.cmd("v4", "SELECT Again")
    a.cmd("v5", "STORE 1 +FLAGS (\\Seen $Tagged)")
    # FETCH answers from memory while nothing changed, never with flags older than a STORE
    f, _, _ = a.fetch("v5b", "FETCH 1:* (FLAGS UID RFC822.SIZE)")
    assert f[1]["FLAGS"] == [b"\\Seen", b"\\Recent", b"$Tagged"], f
    assert f[2]["FLAGS"] == [b"\\Recent"] and int(f[2]["RFC822.SIZE"]) > 0, f
    got = examine("e3")
    assert got[1][0].startswith("* OK [UNSEEN 2]") and "$Tagged" in got[2][0], got
    a.cmd("v6", "STORE 2 +FLAGS (\\Deleted)")
    a.cmd("v7", "EXPUNGE")
    got = examine("e4")
    assert got[0] == ["* 2 EXISTS"] and got[3] == [1, 3], got
    append_raw(a, "v8", "Again", crlf("Subject: later\n\nx\n"))
    got = examine("e5")
    assert got[0] == ["* 3 EXISTS"] and got[3] == [1, 3, 4], got
    a.close()
    b.close()


def test_imaplib_roundtrip():
    """The same operations through python's imaplib, as a script would."""
    w = world()
    m = w.login("bob")
    assert m.create("Lib")[0] == "OK"
    typ, data = m.append("Lib", "(\\Seen)", imaplib.Time2Internaldate(1700000000),
                         crlf("Subject: imaplib\n\nhello\n"))
    assert typ == "OK" and b"APPENDUID" in data[0], data
    typ, data = m.select("Lib")
    assert data == [b"1"], data
    typ, data = m.fetch("1", "(BODY.PEEK[TEXT] INTERNALDATE)")
    assert data[0][1] == b"hello\r\n", data
    assert imaplib.Internaldate2tuple(data[0][0]) == __import__("time").localtime(1700000000), data
    typ, data = m.uid("FETCH", "1", "(FLAGS)")
    assert b"UID 1" in data[0] and b"\\Seen" in data[0], data
    assert m.store("1", "+FLAGS", "\\Deleted")[0] == "OK"
    assert m.expunge() == ("OK", [b"1"])
    assert m.close()[0] == "OK"
    m.logout()


def test_bodies_from_files():
    """FETCH of several bodies: files in more than one blob folder, in and out of order, and a
    file shorter than its index row (the literal keeps the announced size, the FETCH says NO)."""
    w = world()
    c = login_raw(w, "bob")
    c.cmd("f0", "CREATE Files")
    bodies = [crlf("Subject: file %d\n\n%s\n" % (i, ("line %d\n" % i) * (200 * (i + 1)))) for i in range(4)]
    for i, data in enumerate(bodies):
        append_raw(c, "f%d" % (i + 1), "Files", data)
    rows = [r.split("|") for r in w.sql(
        "SELECT m.uid, m.blob, mb.storage_dir FROM messages m JOIN folders f ON f.id = m.folder_id"
        " JOIN mailboxes mb ON mb.id = f.mailbox_id WHERE f.name = 'Files' ORDER BY m.uid").splitlines()]
    assert len(rows) == 4, rows
    paths = [os.path.join(w.mail_root, sd, blob) for _, blob, sd in rows]
    # messages 2 and 4 live in another month's folder
    other = os.path.join(w.mail_root, rows[0][2], "msg", "200001")
    os.makedirs(other, exist_ok=True)
    os.chmod(other, 0o755)
    for i in (1, 3):
        name = os.path.basename(rows[i][1])
        os.rename(paths[i], os.path.join(other, name))
        w.sql("UPDATE messages SET blob = 'msg/200001/%s' WHERE uid = %s AND blob = '%s'"
              % (name, rows[i][0], rows[i][1]))
    c.cmd("f5", "SELECT Files")
    for tag, seq, want in (("f6", "1:4", [1, 2, 3, 4]), ("f7", "4,1,3", [1, 3, 4]), ("f8", "2:3", [2, 3])):
        f, _, tagged = c.fetch(tag, "FETCH %s (RFC822.SIZE BODY.PEEK[])" % seq)
        assert tagged == "%s OK FETCH completed" % tag, tagged
        assert sorted(f) == want, f
        for n, item in f.items():
            assert item["BODY[]"] == bodies[n - 1], (n, item["BODY[]"][:60])
            assert int(item["RFC822.SIZE"]) == len(bodies[n - 1])
    # the file of message 3 lost its last 5 bytes: the literal still has the index's size
    os.truncate(paths[2], len(bodies[2]) - 5)
    f, _, tagged = c.fetch("f9", "FETCH 1:4 (BODY.PEEK[])")
    assert tagged.startswith("f9 NO [SERVERBUG]"), tagged
    assert sorted(f) == [1, 2, 3, 4], f
    assert f[3]["BODY[]"] == bodies[2][:-5] + b" " * 5, f[3]["BODY[]"][-20:]
    for n in (1, 2, 4):
        assert f[n]["BODY[]"] == bodies[n - 1], n
    # the session goes on
    lines = c.cmd("f10", "NOOP")
    assert lines[-1].startswith("f10 OK"), lines
    c.close()


ODD_HEADERS = [
    # folded References, duplicate and odd-case names, an empty Cc, no space after a colon
    b"From: Fred <fred@example.org>\r\nTo: a@example.test,\r\n\tb@example.test\r\n"
    b"SUBJECT: first\r\nsubject: second\r\nCc:\r\nDate:Tue, 3 Jan 2023 10:00:00 +0100\r\n"
    b"Message-ID: <1@x>\r\nReferences: <a@x>\r\n <b@x>\r\n\t<c@x>\r\nIn-Reply-To: <c@x>\r\n"
    b"Received: from a\r\nX-Other: not cached\r\n\r\nbody\r\n",
    # bare LF line ends, a UTF-8 subject (RFC 6532)
    "From: a@example.org\nSubject: Grüße\n  aus Berlin\nX-Priority: 1\n\nbody\n".encode(),
    # 8-bit Latin-1: not UTF-8, so not cached; the file answers
    b"From: b@example.org\r\nSubject: caf\xe9\r\n\r\nbody\r\n",
    # a line that is no field in the middle, then more fields
    b"From: c@example.org\r\nthis is no field\r\nSubject: after garbage\r\n\r\nbody\r\n",
    # starts with white space: the prefix's last field would take it, so not cached
    b" folded start\r\nFrom: d@example.org\r\nSubject: s\r\n\r\nbody\r\n",
    # a header and no body
    b"From: e@example.org\r\nSubject: header only\r\n",
]

THUNDERBIRD = ("From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups "
               "In-Reply-To Content-Type Reply-To")


def test_header_fields_cache():
    """BODY[HEADER.FIELDS] of the names the index caches answers from messages.header_fields,
    byte for byte what the file gives (checked by fetching again with the column emptied), for
    delivered and appended messages, copies, and odd headers; other names read the file."""
    w = world()
    w.add_user("erin")
    for data in ODD_HEADERS:
        w.deliver("erin", data)
    c = login_raw(w, "erin")
    c.cmd("h0", "CREATE Hdr")
    for i, data in enumerate(ODD_HEADERS):
        append_raw(c, "h%d" % (i + 1), "Hdr", data)
    rows = w.sql("SELECT f.name, m.uid, m.header_fields IS NULL FROM messages m JOIN folders f"
                 " ON f.id = m.folder_id WHERE f.name = 'Hdr' ORDER BY m.uid").splitlines()
    nulls = [r.split("|")[2] == "t" for r in rows]
    # cached but for the Latin-1 one and the one starting with white space
    assert nulls == [False, False, True, False, True, False], rows
    requests = ["BODY.PEEK[HEADER.FIELDS (%s)]" % THUNDERBIRD, "BODY.PEEK[HEADER.FIELDS (subject)]",
                "BODY.PEEK[HEADER.FIELDS (References In-Reply-To)]<3.20>",
                "BODY.PEEK[HEADER.FIELDS (Subject X-Other Received)]",
                "BODY.PEEK[HEADER.FIELDS (X-Nothing)]", "RFC822.SIZE"]

    def fetch_all(tag):
        got = {}
        for box in ("INBOX", "Hdr"):
            assert c.cmd(tag + "s", "EXAMINE %s" % box)[-1].startswith(tag + "s OK")
            for k, item in enumerate(requests):
                f, _, tagged = c.fetch("%s%d" % (tag, k), "FETCH 1:* (%s)" % item)
                assert tagged.endswith("OK FETCH completed"), (item, tagged)
                got[(box, item)] = f
            for k, cmd in enumerate(searches):
                lines = c.cmd("%sq%d" % (tag, k), cmd)
                assert lines[-1].startswith("%sq%d OK" % (tag, k)), (cmd, lines)
                got[(box, cmd)] = lines[:-1]
        return got

    searches = ["SEARCH HEADER References <b@x>", "SEARCH HEADER X-Priority 1",
                "SEARCH HEADER Subject garbage", "SEARCH HEADER Received from",
                "THREAD REFERENCES UTF-8 ALL"]

    cached = fetch_all("a")
    inbox = cached[("INBOX", requests[1])]
    assert inbox[1]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"SUBJECT: first\r\nsubject: second\r\n\r\n", inbox
    assert inbox[2]["BODY[HEADER.FIELDS (SUBJECT)]"] == \
        "Subject: Grüße\r\n  aus Berlin\r\n\r\n".encode(), inbox
    assert cached[("Hdr", searches[0])] == ["* SEARCH 1"], cached[("Hdr", searches[0])]
    assert cached[("Hdr", searches[1])] == ["* SEARCH 2"], cached[("Hdr", searches[1])]
    refs = cached[("Hdr", requests[2])][1]
    assert refs["BODY[HEADER.FIELDS (REFERENCES IN-REPLY-TO)]<3>"] == \
        b"References: <a@x>\r\n <b@x>\r\n\t<c@x>\r\nIn-Reply-To: <c@x>\r\n\r\n"[3:23], refs
    # copies keep the cache
    assert c.cmd("c1", "SELECT Hdr")[-1].startswith("c1 OK")
    assert c.cmd("c2", "COPY 1:* INBOX")[-1].startswith("c2 OK")
    copied = w.sql("SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id"
                   " WHERE f.name = 'INBOX' AND m.header_fields IS NOT NULL AND m.folder_id IN"
                   " (SELECT id FROM folders WHERE mailbox_id = (SELECT mailbox_id FROM folders"
                   " WHERE name = 'Hdr'))")
    assert copied == str(2 * 4), copied
    cached = fetch_all("b")
    # with the file gone, the cached names still answer (no file is opened for them)
    row = w.sql("SELECT mb.storage_dir || '/' || m.blob FROM messages m JOIN folders f ON"
                " f.id = m.folder_id JOIN mailboxes mb ON mb.id = f.mailbox_id WHERE f.name = 'Hdr'"
                " AND m.uid = 1")
    path = os.path.join(w.mail_root, row)
    os.rename(path, path + ".away")
    try:
        c.cmd("d0", "EXAMINE Hdr")
        f, _, tagged = c.fetch("d1", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])")
        assert tagged == "d1 OK FETCH completed", tagged
        assert f[1]["BODY[HEADER.FIELDS (SUBJECT)]"] == b"SUBJECT: first\r\nsubject: second\r\n\r\n"
        f, _, tagged = c.fetch("d2", "FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-Other)])")
        assert not tagged.startswith("d2 OK"), tagged
    finally:
        os.rename(path + ".away", path)
    # the same bytes from the files
    w.sql("UPDATE messages SET header_fields = NULL")
    assert fetch_all("b") == cached
    c.close()


def main():
    try:
        run([test_append_and_fetch_items, test_body_sections, test_append_variants, test_store,
             test_copy_move_expunge, test_quota, test_two_sessions, test_recent,
             test_reselect_sees_changes, test_bodies_from_files, test_header_fields_cache,
             test_imaplib_roundtrip])
    finally:
        if W is not None:
            W.close()


if __name__ == "__main__":
    main()
