#!/usr/bin/env python3
"""test_imapd_faults.py: sluice-imapd when PostgreSQL goes away and comes back,
and when the mail store's disk is full.

A private PostgreSQL cluster (sluicetest.PgCluster) is stopped while
sessions are open: every command that needs the index answers
NO [UNAVAILABLE] (never BAD, never a crash), NOOP and IDLE go on, a new
login is refused for the time being; when the cluster is back, the very
same sessions work again, and IDLE tells of a new message again (the
LISTEN connection came back on its own).

sluice-imapd killed (SIGKILL) in the middle of an APPEND literal and of a
FETCH: the clients see the connection end, after a restart every message
acknowledged before is there and whole, the half-received APPEND is not,
and `sluice-admin store check` finds and removes its temporary file.

A mail store on a 1 MiB tmpfs: an APPEND that does not fit is read to its
end and answered NO [UNAVAILABLE], a MULTIAPPEND whose second message does
not fit stores neither, nothing is indexed and no temporary file stays
behind; the session goes on and APPENDs that fit work again.
"""
import json
import os
import signal
import subprocess
import tempfile
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
        lines = a.cmd("f0b", "SEARCH UNSEEN LARGER 10 NOT KEYWORD $x", timeout=60)
        assert lines == ["* SEARCH 1 2 3", "f0b OK SEARCH completed"], lines
        for tag, cmd in (("f1", "FETCH 1 (FLAGS INTERNALDATE)"), ("f2", "STORE 1 +FLAGS (\\Seen)"),
                         ("f3", "SEARCH SINCE 1-Jan-2020"), ("f4", 'LIST "" "*"'), ("f5", "STATUS INBOX (MESSAGES)"),
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


def login(w, user="alice"):
    c = w.raw()
    assert c.cmd("l0", "LOGIN %s %s" % (w.users[user], PASSWORD))[-1].startswith("l0 OK")
    return c


def store_report(w, *args):
    return json.loads(w.admin("--json", "store", "check", "--grace", "0", *args))


def test_killed():
    w = World(users=("alice",))
    try:
        a = login(w)
        for i in range(3):
            assert append(a, "a%d" % (i + 1), "INBOX", i)[-1].startswith("a%d OK" % (i + 1))
        assert a.cmd("a4", "SELECT INBOX")[-1].startswith("a4 OK")
        # b is half-way through a 1 MiB literal, a is reading bodies, when the server dies
        big = b"Subject: half\r\n\r\n" + (b"z" * 1022 + b"\r\n") * 1024
        b = login(w)
        b.send("b1 APPEND INBOX {%d+}\r\n" % len(big))
        b.send(big[:len(big) // 2])
        deadline = time.monotonic() + 10
        while store_report(w, "--dry-run")["tmp_files"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        a.send("a5 FETCH 1:* BODY.PEEK[]\r\n")
        w.stop("sluice-imapd", sig=signal.SIGKILL)
        assert a.closed() and b.closed()
        a.close()
        b.close()

        w.start_imapd()
        c = login(w)
        lines = c.cmd("c1", "STATUS INBOX (MESSAGES)")
        assert '* STATUS "INBOX" (MESSAGES 3)' in lines, lines
        assert c.cmd("c2", "SELECT INBOX")[-1].startswith("c2 OK")
        f, _, tagged = c.fetch("c3", "FETCH 1:* BODY.PEEK[]")
        assert tagged == "c3 OK FETCH completed", tagged
        assert [f[n]["BODY[]"] for n in (1, 2, 3)] == [crlf("Subject: %d\n\nx\n" % i) for i in range(3)], f
        # the half-received literal left a temporary file: store check finds it and removes it
        report = store_report(w, "--dry-run")
        assert report["tmp_files"] == 1, report
        assert report["orphan_files"] == 0 and report["missing_files"] == 0, report
        store_report(w)
        report = store_report(w, "--dry-run")
        assert report["tmp_files"] == 0 and report["orphan_files"] == 0, report
        assert append(c, "c4", "INBOX", 4)[-1].startswith("c4 OK")
        c.close()
    finally:
        w.close()


def used_kib(path):
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize // 1024


def test_disk_full():
    if os.geteuid() != 0:
        print("skip: mounting a tmpfs needs root")
        return
    root = tempfile.mkdtemp(prefix="sluice-imapd-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", root], check=True)
    w = None
    try:
        w = World(users=("alice",), mail_root=root)
        subprocess.run(["chown", "-R", "sluice:", root], check=True)
        a = w.raw()
        assert a.cmd("a0", "LOGIN %s %s" % (w.users["alice"], PASSWORD))[-1].startswith("a0 OK")
        assert append(a, "a1", "INBOX", 1)[-1].startswith("a1 OK")
        before = used_kib(root)
        # 2 MiB into a 1 MiB store, sent as a non-synchronizing literal: read to its end, then NO
        big = b"Subject: big\r\n\r\n" + b"x" * 78 + b"\r\n"
        big = big + b"y" * 78 * 27000
        a.send("a2 APPEND INBOX {%d+}\r\n" % len(big))
        a.send(big + b"\r\n")
        lines = a.until_tagged("a2", timeout=60)
        assert lines[-1].startswith("a2 NO [UNAVAILABLE]"), lines
        # MULTIAPPEND (RFC 3502): the second does not fit, so neither is stored
        small = crlf("Subject: multi\n\nx\n")
        a.send("a3 APPEND INBOX {%d+}\r\n" % len(small))
        a.send(small + b" {%d+}\r\n" % len(big))
        a.send(big + b"\r\n")
        lines = a.until_tagged("a3", timeout=60)
        assert lines[-1].startswith("a3 NO [UNAVAILABLE]"), lines
        lines = a.cmd("a4", "STATUS INBOX (MESSAGES)")
        assert '* STATUS "INBOX" (MESSAGES 1)' in lines, lines
        assert w.sql("SELECT count(*) FROM messages") == "1"
        # the temporary files went: the store uses what it used before
        assert used_kib(root) <= before + 8, (before, used_kib(root))
        # the session goes on; what fits is stored again
        assert a.cmd("a5", "NOOP")[-1] == "a5 OK NOOP completed"
        assert append(a, "a6", "INBOX", 6)[-1].startswith("a6 OK")
        a.cmd("a7", "SELECT INBOX")
        lines = a.cmd("a8", "FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        assert lines[-1].startswith("a8 OK") and "Subject: 6" in "\n".join(lines), lines
        assert w.daemons["sluice-imapd"].poll() is None, "the server is up"
        a.close()
    finally:
        if w is not None:
            w.close()
        subprocess.run(["umount", "-l", root])
        os.rmdir(root)


def main():
    run([test_database_outage, test_killed, test_disk_full])


if __name__ == "__main__":
    main()
