#!/usr/bin/env python3
"""test_imapd_condstore.py: CONDSTORE, QRESYNC and IMAP4rev2 in sluice-imapd.

Against a real PostgreSQL, sluice-authd and sluice-imapd (imapd_world.py):
HIGHESTMODSEQ in SELECT and STATUS, FETCH MODSEQ and CHANGEDSINCE, STORE
UNCHANGEDSINCE with [MODIFIED], .SILENT telling MODSEQ, and a client that
went away resynchronizing with SELECT (QRESYNC ...) and UID FETCH
(CHANGEDSINCE ... VANISHED) after another session changed flags,
expunged and added messages; VANISHED replacing EXPUNGE once QRESYNC is on;
and what ENABLE IMAP4rev2 changes (ESEARCH answers, no RECENT, UTF-8).
"""
import re

from imapd_world import PASSWORD, World
from sluicetest import run

W = None


def world():
    global W
    if W is None:
        W = World(users=("alice", "bob"))
    return W


def crlf(text):
    return text.replace("\n", "\r\n").encode()


def login(w, user):
    c = w.raw()
    assert c.cmd("l", "LOGIN %s %s" % (w.users[user], PASSWORD))[-1].startswith("l OK")
    return c


def append(c, tag, box, n):
    data = crlf("Subject: %d\n\nx\n" % n)
    c.send("%s APPEND %s {%d+}\r\n" % (tag, box, len(data)))
    c.send(data + b"\r\n")
    assert c.until_tagged(tag)[-1].startswith(tag + " OK")


def code(lines, name):
    for l in lines:
        m = re.search(r"\[%s (\d+)\]" % name, l)
        if m:
            return int(m.group(1))
    raise AssertionError("no %s in %r" % (name, lines))


def modseqs(f):
    return {int(v["UID"]): int(v["MODSEQ"][0]) for v in f.values()}


def test_condstore():
    w = world()
    c = login(w, "alice")
    c.cmd("c0", "CREATE Cond")
    for i in range(1, 5):
        append(c, "a%d" % i, "Cond", i)
    lines = c.cmd("c1", "ENABLE CONDSTORE")
    assert lines[0] == "* ENABLED CONDSTORE", lines
    lines = c.cmd("c2", "SELECT Cond")
    high = code(lines, "HIGHESTMODSEQ")
    lines = c.cmd("c3", "STATUS Cond (HIGHESTMODSEQ)")
    assert "* STATUS \"Cond\" (HIGHESTMODSEQ %d)" % high in lines, lines
    f, _, _ = c.fetch("c4", "FETCH 1:* (UID MODSEQ)")
    before = modseqs(f)
    assert max(before.values()) == high, (before, high)
    c.cmd("c5", "STORE 2 +FLAGS (\\Seen)")
    f, _, _ = c.fetch("c6", "FETCH 1:* (UID FLAGS) (CHANGEDSINCE %d)" % high)
    assert list(f) == [2] and f[2]["FLAGS"] == [b"\\Seen", b"\\Recent"] and "MODSEQ" in f[2], f
    m2 = int(f[2]["MODSEQ"][0])
    # a conditional STORE: message 2 changed after `high`, 3 did not
    f, _, tagged = c.fetch("c7", "STORE 2:3 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % high)
    assert tagged == "c7 OK [MODIFIED 2] Conditional STORE failed", tagged
    assert list(f) == [3] and f[3]["FLAGS"] == [b"\\Flagged", b"\\Recent"] and int(f[3]["MODSEQ"][0]) > m2, f
    f, _, tagged = c.fetch("c8", "UID STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert tagged == "c8 OK [MODIFIED 1] Conditional STORE failed", tagged
    # .SILENT still tells the new mod-sequence
    lines = c.cmd("c9", "STORE 4 +FLAGS.SILENT (\\Answered)")
    assert re.match(r"\* 4 FETCH \(MODSEQ \(\d+\)\)", lines[0]), lines
    lines = c.cmd("c10", "UID STORE 4 -FLAGS.SILENT (\\Answered)")
    assert re.match(r"\* 4 FETCH \(UID 4 MODSEQ \(\d+\)\)", lines[0]), lines
    assert c.cmd("c11", "FETCH 1 FLAGS (CHANGEDSINCE x)")[-1].startswith("c11 BAD")
    assert c.cmd("c12", "FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)")[-1].startswith("c12 BAD")
    c.close()


def test_qresync():
    w = world()
    a = login(w, "bob")
    a.cmd("q0", "CREATE Box")
    for i in range(1, 7):
        append(a, "a%d" % i, "Box", i)
    lines = a.cmd("q1", "SELECT Box")
    uidvalidity, high = code(lines, "UIDVALIDITY"), code(lines, "HIGHESTMODSEQ")
    a.close()
    # while the client is away: flags on 2, 3 and 5 expunged, 7 added
    b = login(w, "bob")
    b.cmd("b1", "SELECT Box")
    b.cmd("b2", "STORE 2 +FLAGS (\\Flagged)")
    b.cmd("b3", "STORE 3,5 +FLAGS (\\Deleted)")
    b.cmd("b4", "EXPUNGE")
    append(b, "b5", "Box", 7)
    c = login(w, "bob")
    assert c.cmd("r0", "SELECT Box (QRESYNC (%d %d))" % (uidvalidity, high))[-1].startswith("r0 BAD")
    assert c.cmd("r1", "ENABLE QRESYNC")[0] == "* ENABLED QRESYNC"
    lines = c.cmd("r2", "SELECT Box (QRESYNC (%d %d))" % (uidvalidity, high))
    assert "* VANISHED (EARLIER) 3,5" in lines, lines
    fetches = [l for l in lines if " FETCH " in l]
    assert len(fetches) == 2, lines  # 2 changed, 7 is new (and told by EXISTS)
    assert fetches[0].startswith("* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ ("), fetches
    assert fetches[1].startswith("* 5 FETCH (UID 7 FLAGS () MODSEQ ("), fetches
    assert "* 5 EXISTS" in lines and lines[-1].startswith("r2 OK [READ-WRITE]"), lines
    # with known UIDs only those are told of
    c.cmd("r3", "UNSELECT")
    lines = c.cmd("r4", "SELECT Box (QRESYNC (%d %d 1:4))" % (uidvalidity, high))
    assert "* VANISHED (EARLIER) 3" in lines and not any("UID 7" in l for l in lines), lines
    # another UIDVALIDITY: a full resync, nothing incremental
    c.cmd("r5", "UNSELECT")
    lines = c.cmd("r6", "SELECT Box (QRESYNC (%d %d))" % (uidvalidity + 1, high))
    assert not any("VANISHED" in l or "FETCH" in l for l in lines), lines
    f, other, tagged = c.fetch("r7", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % high)
    assert "* VANISHED (EARLIER) 3,5" in other, other
    assert sorted(int(v["UID"]) for v in f.values()) == [2, 7], f
    # once QRESYNC is on, expunges come as VANISHED
    c.cmd("r8", "STORE 1 +FLAGS (\\Deleted)")
    lines = c.cmd("r9", "EXPUNGE")
    assert lines == ["* VANISHED 1", "r9 OK EXPUNGE completed"], lines
    b.cmd("b6", "UID STORE 2 +FLAGS (\\Deleted)")
    b.cmd("b7", "UID EXPUNGE 2")
    lines = c.cmd("r10", "NOOP")
    assert "* VANISHED 2" in lines, lines
    lines = c.cmd("r11", "SELECT INBOX")
    assert lines[0] == "* OK [CLOSED] Previous mailbox closed", lines
    b.close()
    c.close()


def test_imap4rev2():
    w = world()
    c = login(w, "alice")
    assert c.cmd("v1", "ENABLE IMAP4rev2")[0] == "* ENABLED IMAP4rev2"
    c.cmd("v2", "CREATE Ärger")
    lines = c.cmd("v3", "SELECT Ärger")
    assert not any("RECENT" in l for l in lines), lines
    assert '* LIST () "/" "Ärger"' in lines, lines
    append(c, "v4", '"Ärger"', 1)
    lines = c.cmd("v5", "SEARCH ALL")
    assert lines[0] == '* ESEARCH (TAG "v5") ALL 1', lines
    lines = c.cmd("v6", 'LIST "" "Ä*"')
    assert lines[0] == '* LIST (\\HasNoChildren) "/" "Ärger"', lines
    c.close()


def main():
    try:
        run([test_condstore, test_qresync, test_imap4rev2])
    finally:
        if W is not None:
            W.close()


if __name__ == "__main__":
    main()
