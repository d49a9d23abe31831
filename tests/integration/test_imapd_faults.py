#!/usr/bin/env python3
"""test_imapd_faults.py: sluice-imapd when PostgreSQL goes away and comes back.

A private PostgreSQL cluster (sluicetest.PgCluster) is stopped while
sessions are open: every command that needs the index answers
NO [UNAVAILABLE] (never BAD, never a crash), NOOP and IDLE go on, a new
login is refused for the time being; when the cluster is back, the very
same sessions work again, and IDLE tells of a new message again (the
LISTEN connection came back on its own).
"""
import time

import sluicetest
from imapd_world import PASSWORD, World
from sluicetest import run


def crlf(text):
    return text.replace("\n", "\r\n").encode()


def append(c, tag, box, n):
    data = crlf("Subject: %d\n\nx\n" % n)
    c.send("%s APPEND %s {%d+}\r\n" % (tag, box, len(data)))
    c.send(data + b"\r\n")
    return c.until_tagged(tag)


def test_database_outage():
    cluster = sluicetest.PgCluster()
    w = World(users=("alice",), cluster=cluster)
    try:
        a = w.raw()
        assert a.cmd("a0", "LOGIN %s %s" % (w.users["alice"], PASSWORD))[-1].startswith("a0 OK")
        for i in range(3):
            assert append(a, "a%d" % (i + 1), "INBOX", i)[-1].startswith("a%d OK" % (i + 1))
        a.cmd("a4", "SELECT INBOX")
        idle = w.raw()
        idle.cmd("i0", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
        idle.cmd("i1", "SELECT INBOX")
        idle.send("i2 IDLE\r\n")
        assert idle.line() == "+ idling"

        cluster.stop()
        # flags, UIDs and sizes of a folder nobody changed come from imapd's memory
        lines = a.cmd("f0", "FETCH 1:* (UID FLAGS RFC822.SIZE)", timeout=60)
        assert lines[-1] == "f0 OK FETCH completed" and len(lines) == 4, lines
        for tag, cmd in (("f1", "FETCH 1 (FLAGS INTERNALDATE)"), ("f2", "STORE 1 +FLAGS (\\Seen)"),
                         ("f3", "SEARCH ALL"), ("f4", 'LIST "" "*"'), ("f5", "STATUS INBOX (MESSAGES)"),
                         ("f6", "COPY 1 Trash"), ("f7", "GETQUOTAROOT INBOX"), ("f8", "CREATE New"),
                         ("f8b", "SELECT INBOX")):
            lines = a.cmd(tag, cmd, timeout=60)
            assert lines[-1].startswith(tag + " NO [UNAVAILABLE]"), (cmd, lines)
        assert append(a, "f9", "INBOX", 9)[-1].startswith("f9 NO [UNAVAILABLE]")
        assert a.cmd("f10", "NOOP")[-1] == "f10 OK NOOP completed"
        b = w.raw()
        lines = b.cmd("b0", "LOGIN %s %s" % (w.users["alice"], PASSWORD), timeout=60)
        assert lines[-1].startswith("b0 NO [UNAVAILABLE]"), lines
        b.close()
        assert w.daemons["sluice-imapd"].poll() is None, "the server is up"

        cluster.start()
        time.sleep(0.5)
        # the same session again (it had nothing selected after the failed SELECT)
        lines = a.cmd("g1", "SELECT INBOX", timeout=30)
        assert lines[-1].startswith("g1 OK"), lines
        lines = a.cmd("g2", "FETCH 1:* (UID)")
        assert lines[-1].startswith("g2 OK") and len(lines) == 4, lines
        assert append(a, "g3", "INBOX", 4)[-1].startswith("g3 OK")
        # the IDLE session hears of it (notifications resumed, or polling meanwhile)
        deadline = time.monotonic() + 10
        seen = []
        while time.monotonic() < deadline:
            line = idle.line(deadline - time.monotonic())
            seen.append(line)
            if line == "* 4 EXISTS":
                break
        assert "* 4 EXISTS" in seen, seen
        idle.send("DONE\r\n")
        assert idle.until_tagged("i2")[-1].startswith("i2 OK")
        a.close()
        idle.close()
    finally:
        w.close()
        cluster.destroy()


def main():
    run([test_database_outage])


if __name__ == "__main__":
    main()
