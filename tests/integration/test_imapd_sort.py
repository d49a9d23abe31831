#!/usr/bin/env python3
"""test_imapd_sort.py: SORT and THREAD (RFC 5256) in sluice-imapd.

Seven messages with replies (In-Reply-To, References, a missing parent),
subjects with "Re:", "[list]" and "(fwd)" decorations and distinct dates,
senders and sizes are appended to a folder; SORT by every criterion (and
REVERSE, and UID SORT) and THREAD with ORDEREDSUBJECT and REFERENCES must
give the orders RFC 5256 prescribes, worked out by hand below.
"""
from imapd_world import PASSWORD, World
from sluicetest import run

W = None


def crlf(text):
    return text.replace("\n", "\r\n").encode()


# (From, To, Cc, Subject, Date, Message-ID, References, padding, internal date)
MESSAGES = [
    ("c@x", "z@x", "m@x", "hello", "Sun, 1 Jan 2023 10:00:00 +0000", "<1@x>", None, 30, "07"),
    ("a@x", "y@x", "", "Re: hello", "Mon, 2 Jan 2023 10:00:00 +0000", "<2@x>", "<1@x>", 200, "06"),
    ("b@x", "x@x", "", "[list] Re: other topic", "Sun, 1 Jan 2023 09:00:00 +0000", "<3@x>", None, 10,
     "05"),
    ("d@x", "w@x", "k@x", "Re: Re: hello", "Tue, 3 Jan 2023 10:00:00 +0000", "<4@x>", "<1@x> <2@x>", 50,
     "04"),
    ("e@x", "v@x", "", "other topic (fwd)", "Wed, 4 Jan 2023 10:00:00 +0000", "<5@x>", None, 400, "03"),
    ("f@x", "u@x", "", "unrelated", "Thu, 5 Jan 2023 10:00:00 +0000", "<6@x>", "<missing@x>", 5, "02"),
    ("g@x", "t@x", "", "Re: unrelated", "Fri, 6 Jan 2023 10:00:00 +0000", "<7@x>", "<missing@x>", 80,
     "01"),
]


def build(msg):
    frm, to, cc, subject, date, mid, refs, pad, _ = msg
    text = "From: %s\nTo: %s\n" % (frm, to)
    if cc:
        text += "Cc: %s\n" % cc
    text += "Subject: %s\nDate: %s\nMessage-ID: %s\n" % (subject, date, mid)
    if refs:
        text += "References: %s\nIn-Reply-To: %s\n" % (refs, refs.split()[-1])
    return crlf(text + "\n" + "x" * pad + "\n")


def world():
    global W
    if W is None:
        W = World(users=("alice",))
        c = W.raw()
        c.cmd("l", "LOGIN %s %s" % (W.users["alice"], PASSWORD))
        c.cmd("c", "CREATE Sorted")
        for i, m in enumerate(MESSAGES):
            data = build(m)
            c.send('a%d APPEND Sorted "%s-Jan-2023 00:00:00 +0000" {%d+}\r\n' % (i, m[8], len(data)))
            c.send(data + b"\r\n")
            assert c.until_tagged("a%d" % i)[-1].startswith("a%d OK" % i)
        c.close()
    return W


def sort(c, tag, query):
    lines = c.cmd(tag, query)
    assert lines[-1].startswith(tag + " OK"), (query, lines)
    found = [l for l in lines if l.startswith("* SORT")]
    assert len(found) == 1, lines
    return [int(x) for x in found[0].split()[2:]]


def test_sort():
    w = world()
    c = w.raw()
    c.cmd("l", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
    c.cmd("s", "SELECT Sorted")
    sizes = [len(build(m)) for m in MESSAGES]
    cases = [
        ("(SUBJECT) UTF-8 ALL", [1, 2, 4, 3, 5, 6, 7]),
        ("(DATE) UTF-8 ALL", [3, 1, 2, 4, 5, 6, 7]),
        ("(REVERSE DATE) UTF-8 ALL", [7, 6, 5, 4, 2, 1, 3]),
        ("(FROM) UTF-8 ALL", [2, 3, 1, 4, 5, 6, 7]),
        ("(TO) UTF-8 ALL", [7, 6, 5, 4, 3, 2, 1]),
        ("(CC) UTF-8 ALL", [2, 3, 5, 6, 7, 4, 1]),
        ("(ARRIVAL) UTF-8 ALL", [7, 6, 5, 4, 3, 2, 1]),
        ("(SIZE) UTF-8 ALL", sorted(range(1, 8), key=lambda i: (sizes[i - 1], i))),
        ("(SUBJECT REVERSE DATE) UTF-8 ALL", [4, 2, 1, 5, 3, 7, 6]),
        ("(REVERSE SUBJECT) US-ASCII NOT FROM a@x", [6, 7, 3, 5, 1, 4]),
    ]
    for i, (query, want) in enumerate(cases):
        got = sort(c, "q%d" % i, "SORT " + query)
        assert got == want, (query, got, want)
    assert sort(c, "u1", "UID SORT (DATE) UTF-8 2:4") == [3, 2, 4]
    for bad in ("SORT (BOGUS) UTF-8 ALL", "SORT () UTF-8 ALL", "SORT (DATE REVERSE) UTF-8 ALL",
                "SORT (DATE)", "SORT DATE UTF-8 ALL"):
        assert c.cmd("b", bad)[-1].startswith("b BAD"), bad
    assert c.cmd("b2", "SORT (DATE) X-NOPE ALL")[-1].startswith("b2 NO [BADCHARSET")
    c.close()


def test_thread():
    w = world()
    c = w.raw()
    c.cmd("l", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
    c.cmd("s", "SELECT Sorted")
    lines = c.cmd("t1", "THREAD ORDEREDSUBJECT UTF-8 ALL")
    assert lines[0] == "* THREAD (3 5)(1 (2)(4))(6 7)", lines
    lines = c.cmd("t2", "THREAD REFERENCES UTF-8 ALL")
    assert lines[0] == "* THREAD ((3)(5))(1 2 4)((6)(7))", lines
    # without message 2 the References of 4 still put it below 1
    lines = c.cmd("t3", "THREAD REFERENCES UTF-8 NOT FROM a@x")
    assert lines[0] == "* THREAD ((3)(5))(1 4)((6)(7))", lines
    lines = c.cmd("t4", "UID THREAD REFERENCES UTF-8 6:7")
    assert lines[0] == "* THREAD ((6)(7))", lines
    assert c.cmd("t5", "THREAD BOGUS UTF-8 ALL")[-1].startswith("t5 BAD")
    lines = c.cmd("t6", "THREAD REFERENCES UTF-8 KEYWORD none")
    assert lines[0] == "* THREAD", lines
    c.close()


def main():
    try:
        run([test_sort, test_thread])
    finally:
        if W is not None:
            W.close()


if __name__ == "__main__":
    main()
