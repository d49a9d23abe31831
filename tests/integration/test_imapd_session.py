#!/usr/bin/env python3
"""test_imapd_session.py: sluice-imapd's session core and mailbox commands.

Against a real PostgreSQL, sluice-authd and sluice-imapd (imapd_world.py):
the greeting and CAPABILITY, STARTTLS and implicit TLS, LOGIN and
AUTHENTICATE PLAIN/LOGIN with SASL-IR, LOGINDISABLED for a client that is
not on loopback, ID, ENABLE, NAMESPACE, literals (synchronizing,
LITERAL+, too large), garbage and floods (BAD, then BYE, the server stays
up), the per-user cap, timeouts, and the mailbox commands: LIST (with
LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CHILDREN), LSUB, CREATE (with
USE), DELETE, RENAME, SUBSCRIBE, STATUS, SELECT, EXAMINE, CLOSE, UNSELECT,
with modified UTF-7 names and names that play path games.
"""
import base64
import imaplib
import signal
import time

from imapd_world import PASSWORD, World, non_loopback_ip
from sluicetest import run

W = None


def world():
    global W
    if W is None:
        W = World(users=("alice", "bob", "carol"), listen_all=True)
    return W


def caps_of(line):
    start = line.index("[CAPABILITY ") + len("[CAPABILITY ")
    return line[start:line.index("]", start)].split()


def test_greeting_and_capability():
    w = world()
    c = w.raw()
    assert c.greeting.startswith("* OK [CAPABILITY IMAP4rev1 "), c.greeting
    caps = caps_of(c.greeting)
    for cap in ("STARTTLS", "AUTH=PLAIN", "AUTH=LOGIN", "SASL-IR", "LITERAL+", "ID", "ENABLE",
                "NAMESPACE", "LIST-EXTENDED", "SPECIAL-USE", "CHILDREN"):
        assert cap in caps, (cap, caps)
    assert "LOGINDISABLED" not in caps  # loopback may send passwords in plaintext
    lines = c.cmd("a1", "CAPABILITY")
    assert lines[0].startswith("* CAPABILITY IMAP4rev1 "), lines
    assert lines[-1].startswith("a1 OK"), lines
    lines = c.cmd("a2", "NOOP")
    assert lines == ["a2 OK NOOP completed"], lines
    lines = c.cmd("a3", "SELECT INBOX")
    assert lines[-1].startswith("a3 BAD"), lines  # not logged in
    lines = c.cmd("a4", "LOGOUT")
    assert lines[0].startswith("* BYE"), lines
    assert lines[1].startswith("a4 OK"), lines
    assert c.closed()


def test_logindisabled_off_loopback():
    w = world()
    ip = non_loopback_ip()
    if ip is None:
        print("  (no address off loopback here: skipped)")
        return
    c = w.raw(host=ip)
    caps = caps_of(c.greeting)
    assert "LOGINDISABLED" in caps and "AUTH=PLAIN" not in caps, caps
    lines = c.cmd("a1", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
    assert lines[-1].startswith("a1 NO [PRIVACYREQUIRED]"), lines
    lines = c.cmd("a2", "AUTHENTICATE PLAIN " +
                  base64.b64encode(("\0%s\0%s" % (w.users["alice"], PASSWORD)).encode()).decode())
    assert lines[-1].startswith("a2 NO [PRIVACYREQUIRED]"), lines
    c.close()
    m = imaplib.IMAP4(ip, w.imap_port, timeout=30)
    m.starttls(ssl_context=__import__("imapd_world").tls_context())
    typ, caps = m.capability()
    assert b"LOGINDISABLED" not in caps[0] and b"STARTTLS" not in caps[0], caps
    assert m.login(w.users["alice"], PASSWORD)[0] == "OK"
    m.logout()


def test_login():
    w = world()
    m = w.connect()
    try:
        m.login(w.users["alice"], "wrong")
        raise AssertionError("a wrong password was accepted")
    except imaplib.IMAP4.error as e:
        assert "AUTHENTICATIONFAILED" in str(e), e
    typ, data = m.login(w.users["alice"].upper(), PASSWORD)
    assert typ == "OK" and b"[CAPABILITY IMAP4rev1" in data[0], data
    assert m.state == "AUTH"
    m.logout()
    c = w.raw()
    # a password as a synchronizing literal, the name as a non-synchronizing one
    user = w.users["bob"]
    c.send("b1 LOGIN {%d+}\r\n%s {%d}\r\n" % (len(user), user, len(PASSWORD)))
    assert c.line().startswith("+ "), "no continuation request"
    c.send(PASSWORD + "\r\n")
    lines = c.until_tagged("b1")
    assert lines[-1].startswith("b1 OK [CAPABILITY"), lines
    lines = c.cmd("b2", "LOGIN x y")
    assert lines[-1].startswith("b2 BAD"), lines  # already logged in
    c.close()


def test_authenticate():
    w = world()
    user = w.users["carol"]
    plain = base64.b64encode(("\0%s\0%s" % (user, PASSWORD)).encode()).decode()
    c = w.raw()
    lines = c.cmd("c1", "AUTHENTICATE PLAIN " + plain)  # SASL-IR
    assert lines[-1].startswith("c1 OK [CAPABILITY"), lines
    c.close()
    c = w.raw()
    c.send("c2 AUTHENTICATE PLAIN\r\n")
    assert c.line() == "+ ", "PLAIN starts with an empty challenge"
    c.send(plain + "\r\n")
    assert c.until_tagged("c2")[-1].startswith("c2 OK"), "PLAIN without SASL-IR"
    c.close()
    c = w.raw()
    c.send("c3 AUTHENTICATE LOGIN\r\n")
    for answer in (user, PASSWORD):
        line = c.line()
        assert line.startswith("+ "), line
        c.send(base64.b64encode(answer.encode()).decode() + "\r\n")
    assert c.until_tagged("c3")[-1].startswith("c3 OK"), "LOGIN mechanism"
    c.close()
    c = w.raw()
    c.send("c4 AUTHENTICATE PLAIN\r\n")
    c.line()
    c.send("*\r\n")
    assert c.until_tagged("c4")[-1].startswith("c4 BAD"), "cancel is BAD"
    bad = base64.b64encode(("\0%s\0nope" % user).encode()).decode()
    assert c.cmd("c5", "AUTHENTICATE PLAIN " + bad)[-1].startswith("c5 NO [AUTHENTICATIONFAILED]")
    assert c.cmd("c6", "AUTHENTICATE PLAIN !!!")[-1].startswith("c6 BAD")
    assert c.cmd("c7", "AUTHENTICATE CRAM-MD5")[-1].startswith("c7 NO")
    assert c.cmd("c8", "AUTHENTICATE PLAIN =")[-1].startswith("c8 NO")
    c.close()


def test_implicit_tls():
    w = world()
    m = w.connect(tls=True)
    typ, caps = m.capability()
    assert b"STARTTLS" not in caps[0], caps
    assert m.login(w.users["alice"], PASSWORD)[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    c = w.raw(tls=True)
    assert c.cmd("t1", "STARTTLS")[-1].startswith("t1 BAD"), "STARTTLS inside TLS"
    c.close()


def test_id_enable_namespace():
    w = world()
    c = w.raw()
    lines = c.cmd("d1", 'ID ("name" "test-client" "version" "1.0")')
    assert lines[0].startswith('* ID ("name" "Sluice"'), lines
    assert c.cmd("d2", "ID NIL")[-1].startswith("d2 OK")
    assert c.cmd("d3", 'ID ("name")')[-1].startswith("d3 BAD")
    assert c.cmd("d4", "ENABLE UTF8=ACCEPT")[-1].startswith("d4 BAD"), "ENABLE before login"
    c.cmd("d5", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
    lines = c.cmd("d6", "ENABLE UTF8=ACCEPT X-UNKNOWN")
    assert lines == ["* ENABLED UTF8=ACCEPT", "d6 OK ENABLE completed"], lines
    lines = c.cmd("d7", "ENABLE UTF8=ACCEPT")
    assert lines[0] == "* ENABLED", lines  # only what is newly enabled
    lines = c.cmd("d8", "NAMESPACE")
    assert lines[0] == '* NAMESPACE (("" "/")) NIL NIL', lines
    c.close()


def test_garbage_and_limits():
    w = world()
    c = w.raw()
    assert c.cmd("g1", "FROB")[-1] == "g1 BAD Unknown command"
    assert c.cmd("g2", "LOGIN (a b")[-1].startswith("g2 BAD")
    c.send("g3 LOGIN \"abc\r\n")
    assert c.line().startswith("g3 BAD")
    c.send("g4 X " + "a" * 70000 + "\r\n")
    assert c.line() == "g4 BAD Command line too long"
    # a synchronizing literal over the command size: no go-ahead, BAD at once
    c.send("g5 LOGIN {5000000}\r\n")
    assert c.line().startswith("g5 BAD"), "huge literal"
    # a non-synchronizing one is read and thrown away with its command
    c.send("g6 LOGIN {5+}\r\nab\r\nc )\r\n")
    assert c.line().startswith("g6 BAD")
    assert c.cmd("g7", "NOOP")[-1].startswith("g7 OK"), "resynchronized"
    c.send(b"\x00\xff\xfe garbage\r\n")
    assert "BAD" in c.line()
    # a non-synchronizing literal too large even to skip: BYE
    c2 = w.raw()
    c2.send("h1 LOGIN {999999999+}\r\nabc\r\n")
    assert c2.line().startswith("* BYE"), "huge LITERAL+"
    assert c2.closed()
    # a flood of bad commands ends in BYE
    c.send("".join("f%d FROB\r\n" % i for i in range(40)))
    seen_bye = False
    for _ in range(40):
        try:
            line = c.line(10)
        except EOFError:
            break
        if line.startswith("* BYE"):
            seen_bye = True
            break
    assert seen_bye, "no BYE after too many bad commands"
    assert c.closed()
    # the server is still there
    m = w.login("alice")
    m.logout()


def test_mailbox_names():
    w = world()
    m = w.login("bob")
    typ, data = m.list('""', "*")
    names = {line.decode() for line in data}
    assert '(\\HasNoChildren) "/" "INBOX"' in names, names
    assert '(\\HasNoChildren \\Sent) "/" "Sent"' in names, names
    assert m.create("Entw&APw-rfe")[0] == "OK"
    assert m.create("Projects/2024/Q1")[0] == "OK"  # the parents are made too
    typ, data = m.list('""', "Projects/%")
    assert [d.decode() for d in data] == ['(\\HasChildren) "/" "Projects/2024"'], data
    typ, data = m.list('""', "*")
    names = [d.decode() for d in data]
    assert names[0] == '(\\HasNoChildren) "/" "INBOX"', names
    assert '(\\HasNoChildren) "/" "Entw&APw-rfe"' in names, names
    assert '(\\HasChildren) "/" "Projects"' in names, names
    for bad in ("a/../b", "a//b", "/a", "a/", "./x", "Entw&AP-rfe", "bad&", "x*", "x%y"):
        typ, data = m.create('"%s"' % bad) if bad != "a/" else m.create("a//")
        assert typ == "NO", (bad, typ, data)
    assert m.create("inbox")[0] == "NO"
    assert m.create("Sent")[0] == "NO"
    assert b"ALREADYEXISTS" in m.create("Sent")[1][0]
    # INBOX in any case
    typ, data = m.select("iNbOx")
    assert typ == "OK", data
    typ, data = m.status("inbox", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE DELETED HIGHESTMODSEQ)")
    assert typ == "OK" and data[0].startswith(b'"INBOX" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY '), data
    assert m.rename("Entw&APw-rfe", "Drafts2")[0] == "OK"
    assert m.rename("Projects", "Archive2/Projects")[0] == "OK"
    typ, data = m.list('""', "Archive2/*")
    assert {d.decode() for d in data} == {
        '(\\HasChildren) "/" "Archive2/Projects"', '(\\HasChildren) "/" "Archive2/Projects/2024"',
        '(\\HasNoChildren) "/" "Archive2/Projects/2024/Q1"'}, data
    assert m.rename("Nope", "X")[0] == "NO"
    assert m.rename("Drafts2", "Sent")[0] == "NO"
    assert m.rename("Archive2", "Archive2/inner")[0] == "NO"
    # RFC 3501 6.3.5: renaming INBOX moves its messages; INBOX stays, empty
    assert m.append("INBOX", None, None, b"Subject: keep\r\n\r\nx\r\n")[0] == "OK"
    assert m.rename("inbox", '"Old Inbox"')[0] == "OK"
    assert m.status("INBOX", "(MESSAGES)")[1] == [b'"INBOX" (MESSAGES 0)']
    assert m.status('"Old Inbox"', "(MESSAGES)")[1] == [b'"Old Inbox" (MESSAGES 1)']
    assert m.delete("Drafts2")[0] == "OK"
    assert m.delete("Drafts2")[0] == "NO"
    assert m.delete("INBOX")[0] == "NO"
    m.logout()


def test_utf8_names():
    w = world()
    c = w.raw()
    c.cmd("u1", "LOGIN %s %s" % (w.users["bob"], PASSWORD))
    c.cmd("u2", "CREATE \"Entw&APw-rfe2\"")
    c.cmd("u3", "ENABLE UTF8=ACCEPT")
    lines = c.cmd("u4", 'LIST "" "Entw*"')
    assert '* LIST (\\HasNoChildren) "/" "Entwürfe2"' in lines, lines
    lines = c.cmd("u5", 'SELECT "Entwürfe2"')
    assert lines[-1].startswith("u5 OK"), lines
    c.close()


def test_subscriptions_and_list_extended():
    w = world()
    m = w.login("carol")
    for name in ("Lists/a", "Lists/b", "Other"):
        assert m.create(name)[0] == "OK"
    assert m.unsubscribe("Lists")[0] == "OK"
    assert m.unsubscribe("Lists/b")[0] == "OK"
    assert m.unsubscribe("Other")[0] == "OK"
    assert m.unsubscribe("Nope")[0] == "NO"
    typ, data = m.lsub('""', "Lists/*")
    assert [d.decode() for d in data] == ['() "/" "Lists/a"'], data
    typ, data = m.lsub('""', "%")
    lsub = [d.decode() for d in data]
    assert '(\\Noselect) "/" "Lists"' in lsub and '() "/" "INBOX"' in lsub, lsub
    assert not any('"Other"' in x for x in lsub), lsub
    typ, data = m._simple_command("LIST", "(SUBSCRIBED RECURSIVEMATCH)", '""', "Lists*")
    typ, data = m._untagged_response(typ, data, "LIST")
    got = [d.decode() for d in data]
    assert got == ['(\\HasChildren) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))',
                   '(\\HasNoChildren \\Subscribed) "/" "Lists/a"'], got
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
    typ, data = m._untagged_response(typ, data, "LIST")
    got = sorted(d.decode() for d in data)
    assert got == sorted('(\\HasNoChildren %s) "/" "%s"' % (a, n) for a, n in (
        ("\\Archive", "Archive"), ("\\Drafts", "Drafts"), ("\\Junk", "Junk"), ("\\Sent", "Sent"),
        ("\\Trash", "Trash"))), got
    typ, data = m._simple_command("LIST", '""', '(INBOX "Lists/b")', "RETURN",
                                  "(SUBSCRIBED STATUS (MESSAGES UIDNEXT))")
    assert typ == "OK", data
    got = [d.decode() for d in m.untagged_responses.pop("LIST")]
    assert got == ['(\\HasNoChildren \\Subscribed) "/" "INBOX"',
                   '(\\HasNoChildren) "/" "Lists/b"'], got
    status = [d.decode() for d in m.untagged_responses.pop("STATUS")]
    assert status == ['"INBOX" (MESSAGES 0 UIDNEXT 1)', '"Lists/b" (MESSAGES 0 UIDNEXT 1)'], status
    typ, data = m.list('""', '""')
    assert data == [b'(\\Noselect) "/" ""'], data
    typ, data = m._simple_command("CREATE", "Outbox", "(USE (\\Sent))")
    assert typ == "OK", data
    typ, data = m.list('""', "Outbox")
    assert data == [b'(\\HasNoChildren \\Sent) "/" "Outbox"'], data
    typ, data = m._simple_command("CREATE", "All", "(USE (\\All))")
    assert typ == "NO" and b"USEATTR" in data[0], data
    m.logout()


def test_subscriptions_are_names():
    """RFC 3501 6.3.6-7, RFC 5258 3.1: a subscription outlives its folder and may precede it."""
    w = world()
    m = w.login("carol")

    def listing(*args):
        typ, data = m._simple_command(*args)
        assert typ == "OK", data
        return [d.decode() for d in m.untagged_responses.pop(args[0], []) if d is not None]

    assert m.subscribe("Later/Box")[0] == "OK"
    assert '(\\Noselect) "/" "Later/Box"' in listing("LSUB", '""', "Later/*")
    got = listing("LIST", "(SUBSCRIBED)", '""', "Later/*")
    assert got == ['(\\NonExistent \\Subscribed) "/" "Later/Box"'], got
    assert not any("Later" in x for x in listing("LIST", '""', "*"))
    assert m.create("Later/Box")[0] == "OK"
    assert listing("LIST", '""', "Later/*") == ['(\\HasNoChildren) "/" "Later/Box"']
    assert listing("LIST", '""', "Later") == ['(\\HasChildren) "/" "Later"']  # made as a parent
    assert m.delete("Later/Box")[0] == "OK"
    assert listing("LSUB", '""', "Later/*") == ['(\\Noselect) "/" "Later/Box"']
    # RENAME carries the subscriptions of the folder and those below it
    assert m.create("Ren/x")[0] == "OK"
    assert m.rename("Ren", "Moved")[0] == "OK"
    got = listing("LSUB", '""', "*")
    assert '() "/" "Moved/x"' in got and not any('"Ren' in x for x in got), got
    assert m.unsubscribe("Later/Box")[0] == "OK"
    assert m.unsubscribe("Later/Box")[0] == "NO"
    assert listing("LSUB", '""', "Later*") == ['() "/" "Later"']
    m.logout()


def test_select_examine_close():
    w = world()
    c = w.raw()
    c.cmd("s1", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
    lines = c.cmd("s2", "SELECT INBOX")
    text = "\n".join(lines)
    for want in ("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
                 "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)]",
                 "* 0 EXISTS", "* 0 RECENT", "* OK [UIDVALIDITY ", "* OK [UIDNEXT 1]",
                 "s2 OK [READ-WRITE] SELECT completed"):
        assert want in text, (want, lines)
    lines = c.cmd("s3", "EXAMINE Sent")
    assert lines[-1] == "s3 OK [READ-ONLY] EXAMINE completed", lines
    assert "* OK [PERMANENTFLAGS ()] Read-only mailbox" in lines, lines
    assert c.cmd("s4", "EXPUNGE")[-1].startswith("s4 NO [READ-ONLY]")
    assert c.cmd("s5", "CHECK")[-1].startswith("s5 OK")
    assert c.cmd("s6", "UNSELECT")[-1].startswith("s6 OK")
    assert c.cmd("s7", "CLOSE")[-1].startswith("s7 BAD"), "CLOSE with nothing selected"
    lines = c.cmd("s8", "SELECT Nope")
    assert lines[-1].startswith("s8 NO [NONEXISTENT]"), lines
    c.cmd("s9", "SELECT INBOX")
    assert c.cmd("s10", "CLOSE")[-1].startswith("s10 OK")
    assert c.cmd("s11", "FETCH 1 FLAGS")[-1].startswith("s11 BAD")
    c.close()


def test_compress():
    w = world()
    for tls in (False, True):
        c = w.raw(tls=tls)
        c.cmd("z0", "LOGIN %s %s" % (w.users["alice"], PASSWORD))
        assert "COMPRESS=DEFLATE" in c.cmd("z1", "CAPABILITY")[0]
        assert c.cmd("z2", "COMPRESS FOO")[-1].startswith("z2 BAD")
        assert c.cmd("z3", "COMPRESS DEFLATE") == ["z3 OK DEFLATE active"]
        c.start_deflate()
        lines = c.cmd("z4", 'LIST "" "*"')
        assert '* LIST (\\HasNoChildren) "/" "INBOX"' in lines, lines
        body = b"Subject: deflated\r\n\r\n" + b"compress me " * 5000 + b"\r\n"
        c.send(b"z5 APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
        assert c.until_tagged("z5")[-1].startswith("z5 OK [APPENDUID"), "APPEND under DEFLATE"
        c.cmd("z6", "SELECT INBOX")
        f, _, tagged = c.fetch("z7", "FETCH * (BODY.PEEK[])")
        assert list(f.values())[0]["BODY[]"] == body, tagged
        assert c.cmd("z8", "COMPRESS DEFLATE")[-1].startswith("z8 NO [COMPRESSIONACTIVE]")
        caps = c.cmd("z9", "CAPABILITY")[0]
        assert "STARTTLS" not in caps, caps
        lines = c.cmd("z10", "LOGOUT")
        assert lines[0].startswith("* BYE") and lines[-1].startswith("z10 OK"), lines
        assert c.closed()


def test_per_user_cap_and_timeouts():
    w = World(users=("dave",), imapd_settings={"imapd_max_per_user": "2",
                                               "imapd_max_per_ip": "6",
                                               "imapd_login_timeout": "1s",
                                               "imapd_idle_timeout": "2s"})
    try:
        # the per-address cap: the seventh connection is refused with BYE
        many = [w.raw() for _ in range(6)]
        seventh = w.raw()
        assert seventh.greeting.startswith("* BYE [UNAVAILABLE] Too many connections"), \
            seventh.greeting
        assert seventh.closed()
        for c in many:
            c.close()
        time.sleep(0.2)
        a, b = w.login("dave"), w.login("dave")
        third = w.connect()
        try:
            third.login(w.users["dave"], PASSWORD)
            raise AssertionError("a third session was let in")
        except imaplib.IMAP4.error as e:
            assert "[LIMIT]" in str(e), e
        a.logout()
        assert third.login(w.users["dave"], PASSWORD)[0] == "OK"
        third.logout()
        b.logout()
        c = w.raw()
        start = time.monotonic()
        assert c.line(10).startswith("* BYE Autologout"), "login timeout"
        assert time.monotonic() - start < 5
        c = w.raw()
        c.cmd("x1", "LOGIN %s %s" % (w.users["dave"], PASSWORD))
        assert c.line(10).startswith("* BYE Autologout"), "idle timeout"
        assert c.closed()
        # SIGTERM: an idle session is told goodbye
        c = w.raw()
        c.cmd("x2", "LOGIN %s %s" % (w.users["dave"], PASSWORD))
        w.stop("sluice-imapd")
        assert c.line(10).startswith("* BYE"), "BYE at shutdown"
    finally:
        w.close()


def main():
    try:
        run([test_greeting_and_capability, test_logindisabled_off_loopback, test_login,
             test_authenticate, test_implicit_tls, test_id_enable_namespace,
             test_garbage_and_limits, test_mailbox_names, test_utf8_names,
             test_subscriptions_and_list_extended, test_subscriptions_are_names,
             test_select_examine_close, test_compress,
             test_per_user_cap_and_timeouts])
    finally:
        if W is not None:
            W.close()


if __name__ == "__main__":
    main()
