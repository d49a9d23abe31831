#!/usr/bin/env python3
"""test_sendmail.py: sluice-sendmail as PHP's mail() and cron call it, the
maildrop hand-off to sluice-qmgr (with the daemons down, then up), alias
expansion at pickup, the fields qmgr adds, an unprivileged caller, and
damaged maildrop files. Real processes, a real PostgreSQL, a scripted LMTP
server (fake_lmtp.py).
"""
import email.header
import json
import os
import pwd
import re
import subprocess

from qmgrtest import SENDMAIL, QEnv, dsn_parts, parse
from sluicetest import run


def sendmail(env, args, text, user=None, check=True):
    cmd = [SENDMAIL, "-C", env.conf] + args
    if user is not None:
        cmd = ["runuser", "-u", user, "--"] + cmd
    p = subprocess.run(cmd, input=text.encode() if isinstance(text, str) else text,
                       capture_output=True, timeout=30)
    if check:
        assert p.returncode == 0, "rc %d: %s" % (p.returncode, p.stderr)
    return p


def test_queue_while_down_then_pickup():
    env = QEnv("qmgr_first_retry = 1h\nqmgr_max_retry = 1h\n")
    try:
        # PHP mail(): sendmail -t -i, LF line ends, no Date: or Message-ID:.
        text = ("From: Web <www@example.test>\nTo: bob@example.test\nCc: List <list@example.test>\n"
                "Bcc: carol@example.test\nSubject: php\n\nline one\n.\nline after a dot\n")
        sendmail(env, ["-t", "-i"], text)
        assert len(env.files("maildrop")) == 1 and env.files("incoming") == []
        env.start_qmgr()
        # the remote recipient's entry reaches deferred/ after the local delivery
        env.wait(lambda: env.lmtp.count() == 1 and env.files("maildrop") == [] and
                 len(env.files("deferred")) == 1, what="pickup")
        frm, rcpts, data = env.lmtp.messages[0]
        # Sender: the caller's login in sendmail_domain; list@ expanded once, bob only once.
        assert frm == "root@example.test", frm
        assert sorted(rcpts) == ["bob@example.test", "carol@example.test"], rcpts
        m = parse(data)
        assert m["Bcc"] is None and b"carol" not in data.split(b"\r\n\r\n")[0].split(b"Received")[0]
        assert re.match(r"by mx\.example\.test \(sluice-sendmail, from userid 0\)", m["Received"]), m["Received"]
        assert m["Date"] and m["Message-ID"].endswith("@mx.example.test>")
        assert m["From"] == "Web <www@example.test>"  # kept as given
        assert data.endswith(b"line one\r\n.\r\nline after a dot\r\n"), data
        # The remote destination of the alias waits in the queue.
        deferred = env.files("deferred")
        assert len(deferred) == 1
        show = json.loads(env.queue_tool("--json", "show", deferred[0]).stdout)
        assert show["origin"] == "sendmail" and show["client"] == "local"
        remote = [r for r in show["recipients"] if not r["local"]]
        assert remote[0]["address"] == "dave@remote.example"
        assert remote[0]["given"] == "list@example.test" and remote[0]["status"] == "deferred"
        assert re.search(r"[0-9A-Z]{16}: uid=0 from=<root@example.test>", env.log())
        # mailq is sendmail -bp.
        p = sendmail(env, ["-bp"], "")
        assert deferred[0] in p.stdout.decode() and "dave@remote.example" in p.stdout.decode()
    finally:
        env.close()


def test_cron_style_and_options():
    env = QEnv()
    try:
        env.start_qmgr()
        # cron: recipients as arguments, -F, -oi; no From: so qmgr adds one.
        sendmail(env, ["-FCron Daemon", "-oi", "bob@example.test"], "Subject: cron\n\nout\n")
        env.wait(lambda: env.lmtp.count() == 1, what="delivery")
        m = parse(env.lmtp.messages[0][2])
        assert m["From"] == '"Cron Daemon" <root@example.test>', m["From"]
        assert m["Subject"] == "cron"
        # Without -i a line with a single dot ends the message.
        sendmail(env, ["-f", "alice@example.test", "carol"], "Subject: dot\n\nkept\n.\nlost\n")
        env.wait(lambda: env.lmtp.count() == 2, what="delivery")
        frm, rcpts, data = env.lmtp.messages[1]
        assert frm == "alice@example.test" and rcpts == ["carol@example.test"]  # bare name qualified
        assert data.endswith(b"kept\r\n") and b"lost" not in data
        # DSN options: -N success -V -R; the success report names the ENVID.
        sendmail(env, ["-f", "alice@example.test", "-N", "success,failure", "-V", "ENV7", "-R", "hdrs",
                       "bob@example.test"], "Subject: dsn\n\nx\n")
        env.wait(lambda: any(m[0] == "" for m in env.lmtp.messages), what="success DSN")
        dsn = [m for m in env.lmtp.messages if m[0] == ""][0]
        assert dsn[1] == ["alice@example.test"]
        _, _, per_msg, per_rcpt, _ = dsn_parts(dsn[2])
        assert per_msg["original-envelope-id"] == "ENV7" and per_rcpt[0]["action"] == "delivered"
        # -f '<>': the null sender.
        sendmail(env, ["-f", "<>", "bob@example.test"], "Subject: null\n\nx\n")
        env.wait(lambda: any(m[0] == "" and m[1] == ["bob@example.test"] for m in env.lmtp.messages),
                 what="null-sender delivery")
        env.wait_empty(10)
    finally:
        env.close()


def test_smtp_on_stdin():
    env = QEnv()
    try:
        env.start_qmgr()
        # sendmail -bs, as Symfony Mailer runs it: SMTP on standard input and output.
        dialogue = ("EHLO app.example\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
                    "RCPT TO:<not an address>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n"
                    "Subject: bs\r\n\r\n..dotted\r\nend\r\n.\r\n"
                    "MAIL FROM:<>\r\nRCPT TO:<carol@example.test>\r\nDATA\r\nSubject: second\r\n\r\nx\r\n.\r\n"
                    "NOOP\r\nQUIT\r\n")
        p = sendmail(env, ["-bs"], dialogue)
        codes = [line[:3] for line in p.stdout.decode().split("\r\n") if line and line[3:4] == " "]
        assert codes == ["220", "250", "250", "250", "501", "250", "354", "250", "250", "250", "354", "250",
                         "250", "221"], p.stdout
        env.wait(lambda: env.lmtp.count() == 2, what="two deliveries")
        first, second = sorted(env.lmtp.messages, key=lambda m: m[0], reverse=True)
        assert first[0] == "alice@example.test"
        assert sorted(first[1]) == ["bob@example.test", "postmaster@example.test"]
        assert first[2].endswith(b"\r\n.dotted\r\nend\r\n"), first[2]
        assert second[0] == "" and second[1] == ["carol@example.test"]
    finally:
        env.close()


def test_unprivileged_caller():
    env = QEnv()
    try:
        nobody = pwd.getpwnam("nobody")
        # The caller can write into maildrop/ but not list it.
        p = subprocess.run(["runuser", "-u", "nobody", "--", "ls", os.path.join(env.queue, "maildrop")],
                           capture_output=True)
        assert p.returncode != 0
        sendmail(env, ["-F", "Jörg Nobody", "bob@example.test"], "Subject: from nobody\n\nhi\n",
                 user="nobody")
        env.start_qmgr()
        env.wait(lambda: env.lmtp.count() == 1, what="delivery")
        frm, _, data = env.lmtp.messages[0]
        m = parse(data)
        assert frm == "nobody@example.test", frm
        assert "from userid %d)" % nobody.pw_uid in m["Received"], m["Received"]
        # RFC 2047 Q (mostly ASCII), only phrase-safe characters as they are
        assert m["From"] == "=?utf-8?Q?J=C3=B6rg_Nobody?= <nobody@example.test>", m["From"]
        assert str(email.header.make_header(email.header.decode_header(m["From"]))) == \
            "Jörg Nobody <nobody@example.test>", m["From"]
        assert re.search(r"uid=%d from=<nobody@example.test>" % nobody.pw_uid, env.log())
    finally:
        env.close()


def test_refusals_and_damaged_drops():
    env = QEnv("sendmail_max_message_size = 2K\nsendmail_max_recipients = 3\n")
    try:
        p = sendmail(env, [], "Subject: x\n\nno recipients\n", check=False)
        assert p.returncode == 64 and b"no recipients" in p.stderr, p
        p = sendmail(env, ["bad address@@x"], "x\n", check=False)
        assert p.returncode == 65, p
        p = sendmail(env, ["bob@example.test"], "Subject: big\n\n" + "x" * 4000 + "\n", check=False)
        assert p.returncode == 65 and b"larger than" in p.stderr, p
        p = sendmail(env, ["a@example.test", "b@example.test", "c@example.test", "d@example.test"],
                     "x\n", check=False)
        assert p.returncode == 65 and b"too many recipients" in p.stderr, p
        p = sendmail(env, ["-N", "never,success", "bob@example.test"], "x\n", check=False)
        assert p.returncode == 64, p
        assert env.files("maildrop") == []
        # A file a user made by hand is checked by qmgr and removed, not delivered.
        drop = os.path.join(env.queue, "maildrop")
        with open(os.path.join(drop, "0000000000GARBAG"), "wb") as f:
            f.write(b"SLUICE-MAILDROP 1\nsize 00000000000000000099\nrcpt bob@example.test\ndata\nshort")
        with open(os.path.join(drop, "0000000000LINKED"), "wb") as f:
            f.write(b"x")
        os.link(os.path.join(drop, "0000000000LINKED"), os.path.join(env.dir, "second-link"))
        # A temporary file is left alone (a sendmail may still be writing it).
        with open(os.path.join(drop, ".tmp.0000000000WRITNG"), "wb") as f:
            f.write(b"SLUICE-MAILDROP 1\n")
        env.start_qmgr()
        env.wait(lambda: sorted(os.listdir(drop)) == [".tmp.0000000000WRITNG"], what="cleanup")
        log = env.log()
        assert "0000000000GARBAG: length does not match the size field; removed" in log, log
        assert "0000000000LINKED: not a plain file with one link; removed" in log, log
        assert env.lmtp.count() == 0 and env.queued() == 0
    finally:
        env.close()


if __name__ == "__main__":
    run([
        test_queue_while_down_then_pickup,
        test_cron_style_and_options,
        test_smtp_on_stdin,
        test_unprivileged_caller,
        test_refusals_and_damaged_drops,
    ])
