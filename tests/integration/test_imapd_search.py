#!/usr/bin/env python3
"""test_imapd_search.py: SEARCH, ESEARCH, SEARCHRES and IDLE in sluice-imapd.

Against a real PostgreSQL, sluice-authd, sluice-lmtpd and sluice-imapd
(imapd_world.py): every RFC 3501 search key over messages with encoded
headers, charsets and MIME parts (text decoded to UTF-8, case folded),
CHARSET, MODSEQ, ESEARCH's RETURN options, SAVE and $; and IDLE telling of
a delivery within a second, of flag changes and expunges by another
session, and of changes made through a second sluice-imapd process
sharing the database (PostgreSQL NOTIFY), with keepalives and DONE.
"""
import base64
import os
import time

from imapd_world import IMAPD, PASSWORD, World
from sluicetest import free_port, run

W = None


def world():
    global W
    if W is None:
        W = World(users=("alice", "bob"), lmtpd=True,
                  imapd_settings={"imapd_idle_keepalive": "1s"})
        setup(W)
    return W


def crlf(text):
    return text.replace("\n", "\r\n").encode()


M1 = crlf("""From: Alice <alice@example.org>
To: bob@example.net
Cc: carol@example.com
Subject: Meeting tomorrow
Date: Sun, 1 Jan 2023 09:00:00 +0000

Let's meet at noon.
""")
M2 = crlf("""From: =?utf-8?q?J=C3=BCrgen?= <juergen@example.de>
To: alice@example.test
Subject: =?utf-8?b?R3LDvMOfZSBhdXMgTcO8bmNoZW4=?=
Date: Wed, 15 Feb 2023 23:30:00 -0500
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus der Stra=DFe.
""")
M3 = crlf("""From: robot@example.org
To: alice@example.test
Bcc: hidden@example.org
Subject: report
Date: 3 Mar 23 10:00 +0100
X-Spam: yes
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

%s
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

%s
--b--
""" % (base64.b64encode(b"the secret token is xyzzy").decode(),
       base64.b64encode(b"binary plugh " + b"\x00" * 5000).decode()))
M4 = crlf("""Subject: small

tiny
""")


def login_raw(w, user):
    c = w.raw()
    assert c.cmd("l1", "LOGIN %s %s" % (w.users[user], PASSWORD))[-1].startswith("l1 OK")
    return c


def append(c, tag, mailbox, data, extra=""):
    c.send("%s APPEND %s %s{%d+}\r\n" % (tag, mailbox, extra, len(data)))
    c.send(data + b"\r\n")
    lines = c.until_tagged(tag)
    assert lines[-1].startswith(tag + " OK"), lines
    return lines


def setup(w):
    c = login_raw(w, "alice")
    c.cmd("s0", "CREATE Search")
    append(c, "s1", "Search", M1, '(\\Seen $Work) "01-Jan-2023 12:00:00 +0000" ')
    append(c, "s2", "Search", M2, '(\\Flagged \\Answered) "15-Feb-2023 23:00:00 +0000" ')
    append(c, "s3", "Search", M3, '(\\Deleted \\Draft) "03-Mar-2023 00:30:00 +0000" ')
    append(c, "s4", "Search", M4, '() "10-Mar-2023 08:00:00 +0000" ')
    c.close()


def search(c, tag, query):
    lines = c.cmd(tag, query)
    assert lines[-1].startswith(tag + " OK"), (query, lines)
    found = [l for l in lines if l.startswith("* SEARCH")]
    assert len(found) == 1, (query, lines)
    return [int(x) for x in found[0].split()[2:] if x.isdigit()]


CASES = [
    ("ALL", [1, 2, 3, 4]),
    ("SEEN", [1]), ("UNSEEN", [2, 3, 4]), ("FLAGGED", [2]), ("UNFLAGGED", [1, 3, 4]),
    ("ANSWERED", [2]), ("UNANSWERED", [1, 3, 4]), ("DELETED", [3]), ("UNDELETED", [1, 2, 4]),
    ("DRAFT", [3]), ("UNDRAFT", [1, 2, 4]),
    ("KEYWORD $work", [1]), ("UNKEYWORD $Work", [2, 3, 4]),
    # the first SELECT of the folder: every message is recent for this session
    ("NEW", [2, 3, 4]), ("OLD", []), ("RECENT", [1, 2, 3, 4]), ("NOT RECENT", []),
    ("FROM alice", [1]), ("FROM example.DE", [2]), ("FROM jürgen", [2]),
    ("TO bob", [1]), ("CC carol", [1]), ("BCC hidden", [3]), ("TO alice@example.test", [2, 3]),
    ("SUBJECT MEETING", [1]), ("SUBJECT münchen", [2]), ("SUBJECT \"\"", [1, 2, 3, 4]),
    ("HEADER X-Spam yes", [3]), ('HEADER X-Spam ""', [3]), ("HEADER Date 2023", [1, 2]),
    ("BODY straße", [2]), ("BODY XYZZY", [3]), ("BODY plugh", []), ("BODY meeting", []),
    ("TEXT meeting", [1]), ("TEXT noon", [1]), ("TEXT robot", [3]),
    ("BEFORE 15-Feb-2023", [1]), ("ON 15-Feb-2023", [2]), ("SINCE 3-Mar-2023", [3, 4]),
    ("SENTBEFORE 15-Feb-2023", [1]), ("SENTON 15-Feb-2023", [2]), ("SENTSINCE 10-Mar-2023", [4]),
    ('SENTON "03-Mar-2023"', [3]),
    ("LARGER 5000", [3]), ("SMALLER 100", [4]),
    ("UID 2:3", [2, 3]), ("2,4", [2, 4]), ("*", [4]), ("1:2 SEEN", [1]),
    ("NOT SEEN", [2, 3, 4]), ("OR SEEN FLAGGED", [1, 2]), ("(SEEN) (KEYWORD $Work)", [1]),
    ("OR (FROM alice) (OR DRAFT (SMALLER 100))", [1, 3, 4]), ("NOT (OR SEEN DELETED)", [2, 4]),
]


def test_search_keys():
    w = world()
    c = login_raw(w, "alice")
    c.cmd("t0", "SELECT Search")
    for i, (query, want) in enumerate(CASES):
        got = search(c, "k%d" % i, "SEARCH " + query)
        assert got == want, (query, got, want)
    # the same keys once the view has left its folder snapshot (flags, keywords and sizes
    # came from memory above; now from the index)
    assert c.cmd("t1", "STORE 4 +FLAGS ($Tmp)")[-1].startswith("t1 OK")
    assert c.cmd("t2", "STORE 4 -FLAGS ($Tmp)")[-1].startswith("t2 OK")
    for i, (query, want) in enumerate(CASES):
        got = search(c, "i%d" % i, "SEARCH " + query)
        assert got == want, (query, got, want)
    # UID SEARCH answers with UIDs (the same here), CHARSET converts the strings
    assert search(c, "u1", "UID SEARCH FLAGGED") == [2]
    assert search(c, "u2", "SEARCH CHARSET UTF-8 SUBJECT Grüße") == [2]
    latin = "Straße".encode("iso-8859-1")
    c.send(b"u3 SEARCH CHARSET ISO-8859-1 BODY {%d+}\r\n" % len(latin) + latin + b"\r\n")
    lines = c.until_tagged("u3")
    assert "* SEARCH 2" in lines, lines
    lines = c.cmd("u4", "SEARCH CHARSET X-NOPE BODY x")
    assert lines[-1].startswith("u4 NO [BADCHARSET"), lines
    for bad in ("FOO", "BEFORE 31-Foo-2023", "LARGER x", "OR SEEN", "UID", "HEADER",
                "NOT", "(SEEN", "KEYWORD (a)"):
        lines = c.cmd("b1", "SEARCH " + bad)
        assert lines[-1].startswith("b1 BAD"), (bad, lines)
    c.close()


def test_esearch_searchres_modseq():
    w = world()
    c = login_raw(w, "alice")
    c.cmd("e0", "SELECT Search")
    lines = c.cmd("e1", "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN")
    assert lines[0] == '* ESEARCH (TAG "e1") MIN 2 MAX 4 COUNT 3 ALL 2:4', lines
    lines = c.cmd("e2", "UID SEARCH RETURN () ALL")
    assert lines[0] == '* ESEARCH (TAG "e2") UID ALL 1:4', lines
    lines = c.cmd("e3", "SEARCH RETURN (COUNT) KEYWORD nothing")
    assert lines[0] == '* ESEARCH (TAG "e3") COUNT 0', lines
    lines = c.cmd("e4", "SEARCH RETURN (SAVE) OR FLAGGED DRAFT")
    assert lines == ["e4 OK SEARCH completed"], lines  # SAVE alone: no ESEARCH
    lines = c.cmd("e5", "FETCH $ (UID)")
    assert lines[:2] == ["* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)"], lines
    assert search(c, "e6", "SEARCH $ UNDELETED") == [2]
    assert search(c, "e7", "UID SEARCH NOT $") == [1, 4]
    lines = c.cmd("e8", "SEARCH RETURN (SAVE MIN) ALL")
    assert lines[0] == '* ESEARCH (TAG "e8") MIN 1', lines
    assert search(c, "e9", "SEARCH $") == [1]
    # MODSEQ: the highest mod-sequence of the matches comes along (RFC 7162 3.1.5)
    c.cmd("e10", "STORE 4 +FLAGS (\\Seen)")
    lines = c.cmd("e11", "FETCH 4 (MODSEQ)")
    modseq = int(lines[0].split("MODSEQ (")[1].split(")")[0])
    lines = c.cmd("e12", "SEARCH MODSEQ %d" % modseq)
    assert lines[0] == "* SEARCH 4 (MODSEQ %d)" % modseq, lines
    lines = c.cmd("e13", 'SEARCH MODSEQ "/flags/\\\\seen" all 1')
    assert lines[0].startswith("* SEARCH 1 2 3 4 (MODSEQ "), lines
    c.cmd("e14", "STORE 4 -FLAGS (\\Seen)")
    c.close()


def read_until(c, want, timeout):
    """Lines until one starts with `want`; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = c.line(max(0.05, deadline - time.monotonic()))
        except (TimeoutError, OSError):
            break
        seen.append(line)
        if line.startswith(want):
            return seen
    raise AssertionError("no %r within %.1fs; got %r" % (want, timeout, seen))


def test_idle():
    w = world()
    a, b = login_raw(w, "bob"), login_raw(w, "bob")
    lines = a.cmd("i0", "SELECT INBOX")
    exists = int([l for l in lines if l.endswith(" EXISTS")][0].split()[1])
    a.send("i1 IDLE\r\n")
    assert a.line() == "+ idling"
    start = time.monotonic()
    w.deliver("bob", crlf("Subject: while idle\n\nhello\n"))
    read_until(a, "* %d EXISTS" % (exists + 1), 1.5)
    assert time.monotonic() - start < 1.5, "IDLE told of a delivery within a second"
    b.cmd("j0", "SELECT INBOX")
    b.cmd("j1", "STORE %d +FLAGS (\\Flagged)" % (exists + 1))
    read_until(a, "* %d FETCH (UID" % (exists + 1), 1.5)
    b.cmd("j2", "STORE %d +FLAGS (\\Deleted)" % (exists + 1))
    b.cmd("j3", "EXPUNGE")
    read_until(a, "* %d EXPUNGE" % (exists + 1), 1.5)
    # keepalive (imapd_idle_keepalive is 1s here)
    read_until(a, "* OK Still here", 2.5)
    a.send("DONE\r\n")
    assert a.until_tagged("i1")[-1] == "i1 OK IDLE terminated"
    # anything but DONE ends IDLE with BAD
    a.send("i2 IDLE\r\n")
    assert a.line() == "+ idling"
    a.send("NOPE\r\n")
    assert a.until_tagged("i2")[-1].startswith("i2 BAD")
    # IDLE in the authenticated state too
    a.cmd("i3", "UNSELECT")
    a.send("i4 IDLE\r\n")
    assert a.line() == "+ idling"
    a.send("done\r\n")
    assert a.until_tagged("i4")[-1].startswith("i4 OK")
    a.close()
    b.close()


def test_idle_across_processes():
    """A change made through another sluice-imapd sharing the database (another host)."""
    w = world()
    port = free_port()
    settings = dict(w.settings)
    settings["imapd_listen"] = "127.0.0.1:%d" % port
    settings["imapd_listen_tls"] = ""
    conf = w.write("other.conf", settings)
    w.start("sluice-imapd-2", IMAPD, port, conf=conf)
    a = login_raw(w, "alice")
    b = w.raw(port=port)
    assert b.cmd("x0", "LOGIN %s %s" % (w.users["alice"], PASSWORD))[-1].startswith("x0 OK")
    lines = a.cmd("y0", "SELECT Search")
    a.send("y1 IDLE\r\n")
    assert a.line() == "+ idling"
    append(b, "x1", "Search", crlf("Subject: from the other host\n\nx\n"))
    read_until(a, "* 5 EXISTS", 1.5)
    b.cmd("x2", "SELECT Search")
    b.cmd("x3", "STORE 5 +FLAGS (\\Deleted)")
    b.cmd("x4", "EXPUNGE")
    read_until(a, "* 5 EXPUNGE", 1.5)
    a.send("DONE\r\n")
    a.until_tagged("y1")
    a.close()
    b.close()
    w.stop("sluice-imapd-2")
    assert lines


def main():
    try:
        run([test_search_keys, test_esearch_searchres_modseq, test_idle,
             test_idle_across_processes])
    finally:
        if W is not None:
            W.close()


if __name__ == "__main__":
    main()
