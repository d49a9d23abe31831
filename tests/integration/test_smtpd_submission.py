#!/usr/bin/env python3
"""test_smtpd_submission.py: sluice-smtpd's submission ports (587 with
STARTTLS, 465 with implicit TLS): AUTH only after TLS, PLAIN and LOGIN
through Cyrus SASL checked by a real sluice-authd, failures and their
limit, an unavailable authd, the envelope senders an authenticated user may
use (own address, +tag, aliases that reach it, alias domains,
send_as_domain, refused otherwise with 553 5.7.1), relaying for
authenticated users, and the Received: field with the TLS version and
cipher (and the user only when configured). Clients: python3 smtplib and
swaks.
"""
import base64
import os
import re
import signal
import smtplib
import subprocess

from sluicetest import psql, run
from smtptest import PASSWORDS, Raw, Smtpd, World, as_sluice, queue_id, tls_context

W = None
S = None


def setup():
    global W, S
    W = World()
    S = Smtpd(W, "main", smtpd_max_auth_failures="3")


def submission(user=None, port=None):
    c = smtplib.SMTP("127.0.0.1", port or S.submission_port, local_hostname="mua.test", timeout=30)
    c.starttls(context=tls_context())
    c.ehlo()
    if user is not None:
        c.login(user, PASSWORDS[user])
    return c


def test_tls_then_auth_required():
    r = Raw(S.submission_port)
    assert r.reply()[0] == 220
    code, lines = r.cmd("EHLO mua.test")
    assert "STARTTLS" in lines and not any(x.startswith("AUTH") for x in lines), lines
    assert r.cmd("AUTH PLAIN") == (538, ["5.7.11 Encryption required for requested authentication mechanism"])
    assert r.cmd("MAIL FROM:<alice@example.test>") == (530, ["5.7.0 Must issue a STARTTLS command first"])
    assert r.cmd("STARTTLS") == (220, ["2.0.0 Ready to start TLS"])
    r.starttls()
    # RFC 3207 4.2: the client must say EHLO again
    assert r.cmd("MAIL FROM:<alice@example.test>")[0] == 503
    code, lines = r.cmd("EHLO mua.test")
    assert "AUTH PLAIN LOGIN" in lines and "STARTTLS" not in lines, lines
    assert r.cmd("STARTTLS") == (503, ["5.5.1 Error: TLS already active"])
    assert r.cmd("MAIL FROM:<alice@example.test>") == (530, ["5.7.0 Authentication required"])
    assert r.cmd("AUTH CRAM-MD5")[0] == 504
    plain = base64.b64encode(b"\0alice@example.test\0" + PASSWORDS["alice@example.test"].encode())
    assert r.cmd("AUTH PLAIN " + plain.decode()) == (235, ["2.7.0 Authentication successful"])
    assert r.cmd("AUTH PLAIN " + plain.decode()) == (503, ["5.5.1 Already authenticated"])
    assert r.cmd("MAIL FROM:<alice@example.test>")[0] == 250
    r.cmd("QUIT")


def test_auth_mechanisms_and_failures():
    # PLAIN through smtplib, with the user name in another case: the canonical name counts
    c = smtplib.SMTP("127.0.0.1", S.submission_port, local_hostname="mua.test", timeout=30)
    c.starttls(context=tls_context())
    c.ehlo()
    assert c.login("ALICE@Example.TEST", PASSWORDS["alice@example.test"])[0] == 235
    c.mail("alice@example.test")
    c.rcpt("bob@example.test")
    code, text = c.data("Subject: canonical\r\n\r\nx\r\n")
    assert code == 250
    env, _, content = S.queued(queue_id(text.decode()))
    assert env["auth"] == "alice@example.test" and env["origin"] == "submission", env
    c.quit()
    # LOGIN, through its 334 challenges
    c = submission()
    c.user, c.password = "bob@example.test", PASSWORDS["bob@example.test"]
    assert c.auth("LOGIN", c.auth_login, initial_response_ok=False)[0] == 235
    c.quit()
    # the "=" empty initial response, "*" to cancel, bad base64, wrong password, then 421
    r = Raw(S.submission_port)
    r.reply()
    r.cmd("EHLO mua.test")
    r.cmd("STARTTLS")
    r.starttls()
    r.cmd("EHLO mua.test")
    assert r.cmd("AUTH PLAIN =")[0] == 535
    assert r.cmd("AUTH LOGIN") == (334, ["VXNlcm5hbWU6"])
    assert r.cmd("*") == (501, ["5.7.0 Authentication aborted"])
    plain = base64.b64encode(b"\0alice@example.test\0wrong").decode()
    r.send("AUTH PLAIN %s\r\n" % plain)
    assert r.reply() == (535, ["5.7.8 Authentication credentials invalid"])
    assert r.reply() == (421, ["4.7.0 mx.test Error: too many failed authentications"])
    assert r.closed()
    assert re.search(r"localhost\[127\.0\.0\.1\]: SASL PLAIN authentication failed", S.log())
    assert "wrong" not in re.sub(r"wrong credentials", "", S.log()), "a password in the log"


def test_sender_rules():
    rules = {
        "alice@example.test": {
            "allowed": ["alice@example.test", "Alice@Example.Test", "alice+news@example.test",
                        "alice@alias.test", "alice+x@alias.test", "team@example.test",
                        "sales@example.test", "postmaster@example.test", "team@alias.test", ""],
            "refused": ["bob@example.test", "carol@example.test", "x@gmail.com", "alice@two.test",
                        "webapp@example.test", "nobody@example.test"],
        },
        # an alias that keeps a copy: carol gets bob's mail, so carol may send as bob
        "carol@example.test": {"allowed": ["carol@example.test", "bob@example.test"],
                               "refused": ["alice@example.test", "fwd@example.test"]},
        # send_as_domain: the whole domain and its alias domain, nothing else
        "webapp@example.test": {"allowed": ["noreply@example.test", "alice@example.test",
                                            "anything@alias.test"],
                                "refused": ["x@two.test", "x@gmail.com"]},
        # a catch-all reaches dave but gives no right to send as every address
        "dave@two.test": {"allowed": ["dave@two.test", "dave+x@two.test"],
                          "refused": ["random@two.test", "alice@example.test"]},
    }
    for user, r in rules.items():
        c = submission(user)
        for sender in r["allowed"]:
            code, text = c.mail(sender)
            assert code == 250, (user, sender, code, text)
            c.rset()
        for sender in r["refused"]:
            code, text = c.mail(sender)
            want = "5.7.1 <%s>: Sender address rejected: not owned by user %s" % (
                sender.lower() if "@" in sender else sender, user)
            assert code == 553 and text.decode().lower() == want.lower(), (user, sender, code, text)
        c.quit()
    # per domain: every mailbox of two.test may send as any address of it (schema 0004)
    psql(W.super_url, "UPDATE domains SET send_as_domain = true WHERE name = 'two.test'")
    c = submission("dave@two.test")
    assert c.mail("random@two.test")[0] == 250
    c.rset()
    assert c.mail("alice@example.test")[0] == 553
    c.quit()
    psql(W.super_url, "UPDATE domains SET send_as_domain = false WHERE name = 'two.test'")
    # the check can be switched off
    S.reload(smtpd_sender_login_check="no")
    c = submission("alice@example.test")
    assert c.mail("bob@example.test")[0] == 250
    c.quit()
    S.reload(smtpd_sender_login_check="yes")


def test_authenticated_relay_and_received():
    c = submission("alice@example.test")
    c.mail("alice@example.test")
    assert c.rcpt("friend@gmail.com")[0] == 250
    code, text = c.data("Subject: out\r\n\r\nx\r\n")
    c.quit()
    assert code == 250
    _, rcpts, content = S.queued(queue_id(text.decode()))
    assert rcpts[0]["address"] == "friend@gmail.com" and not rcpts[0]["local"]
    head = content.split(b"\r\nSubject:")[0].decode()
    assert re.search(r"^Received: from mua\.test \(localhost \[127\.0\.0\.1\]\)\r\n"
                     r"\t\(using TLSv1\.[23] with cipher \S+ \(\d+/\d+ bits\)\)\r\n"
                     r"\tby mx\.test \(Sluice\) with ESMTPSA id [0-9A-Z]{16}\r\n", head), head
    assert "Authenticated" not in head
    # the user in Received only when configured
    S.reload(smtpd_received_auth_user="yes")
    c = submission("alice@example.test")
    c.mail("alice@example.test")
    c.rcpt("bob@example.test")
    code, text = c.data("Subject: out\r\n\r\nx\r\n")
    c.quit()
    _, _, content = S.queued(queue_id(text.decode()))
    assert b"\t(Authenticated sender: alice@example.test)\r\n" in content.split(b"\r\nSubject:")[0]
    S.reload(smtpd_received_auth_user="no")
    # no AUTH, no relay on submission
    c = smtplib.SMTP("127.0.0.1", S.submission_port, timeout=30)
    c.starttls(context=tls_context())
    c.ehlo()
    assert c.mail("alice@example.test") == (530, b"5.7.0 Authentication required")
    c.quit()


def test_implicit_tls_port():
    c = smtplib.SMTP_SSL("127.0.0.1", S.submissions_port, local_hostname="mua.test", timeout=30,
                         context=tls_context())
    code, text = c.ehlo()
    assert "AUTH PLAIN LOGIN" in text.decode() and "STARTTLS" not in text.decode(), text
    c.login("bob@example.test", PASSWORDS["bob@example.test"])
    c.mail("bob@example.test")
    c.rcpt("alice@example.test")
    code, text = c.data("Subject: 465\r\n\r\nx\r\n")
    c.quit()
    assert code == 250
    _, _, content = S.queued(queue_id(text.decode()))
    assert b"with ESMTPSA id" in content and b"(using TLSv1." in content


def test_swaks_submission():
    out = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % S.submission_port, "--tls",
                          "--auth", "LOGIN", "--auth-user", "alice@example.test",
                          "--auth-password", PASSWORDS["alice@example.test"],
                          "--from", "alice+swaks@example.test", "--to", "team@example.test",
                          "--timeout", "30"], capture_output=True, text=True).stdout
    assert "<~  235 2.7.0 Authentication successful" in out, out
    assert re.search(r"<~  250 2\.0\.0 Ok: queued as [0-9A-Z]{16}", out), out
    out = subprocess.run(["swaks", "--server", "127.0.0.1:%d" % S.submission_port, "--tls",
                          "--auth", "PLAIN", "--auth-user", "alice@example.test",
                          "--auth-password", PASSWORDS["alice@example.test"],
                          "--from", "bob@example.test", "--to", "team@example.test",
                          "--timeout", "30"], capture_output=True, text=True).stdout
    assert "<~* 553 5.7.1 <bob@example.test>: Sender address rejected" in out, out


def test_plaintext_auth_for_trusted_networks():
    # off by default, even for trusted clients
    r = Raw(S.submission_port, source="127.0.0.2")
    r.reply()
    assert not any(x.startswith("AUTH") for x in r.cmd("EHLO mua.test")[1])
    r.close()
    S.reload(smtpd_auth_plaintext_trusted="yes")
    r = Raw(S.submission_port, source="127.0.0.2")
    r.reply()
    assert "AUTH PLAIN LOGIN" in r.cmd("EHLO mua.test")[1]
    plain = base64.b64encode(b"\0bob@example.test\0" + PASSWORDS["bob@example.test"].encode())
    assert r.cmd("AUTH PLAIN " + plain.decode())[0] == 235
    r.close()
    r = Raw(S.submission_port, source="127.0.0.1")
    r.reply()
    assert not any(x.startswith("AUTH") for x in r.cmd("EHLO mua.test")[1])
    r.close()
    S.reload(smtpd_auth_plaintext_trusted="no")


def test_authd_unavailable():
    authd = W.procs[0]
    authd.send_signal(signal.SIGTERM)
    authd.wait(15)
    try:
        c = submission()
        try:
            c.login("alice@example.test", PASSWORDS["alice@example.test"])
            raise AssertionError("logged in without authd")
        except smtplib.SMTPAuthenticationError as e:
            assert (e.smtp_code, e.smtp_error) == (454, b"4.7.0 Temporary authentication failure"), e
        c.quit()
    finally:
        os.unlink(W.auth_sock) if os.path.exists(W.auth_sock) else None
        W.start_authd()
    c = submission("alice@example.test")
    c.quit()


def test_certificate_reload():
    def subject():
        c = smtplib.SMTP_SSL("127.0.0.1", S.submissions_port, timeout=30, context=tls_context())
        der = c.sock.getpeercert(binary_form=True)
        c.quit()
        return der

    assert b"mx.test" in subject()
    new_cert, new_key = W.cert + ".new", W.key + ".new"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=mx2.test", "-keyout", new_key, "-out",
                    new_cert], check=True, capture_output=True)
    for p in (new_cert, new_key):
        as_sluice(p)
    os.rename(new_key, W.key)
    os.rename(new_cert, W.cert)
    S.reload()
    assert b"mx2.test" in subject()


def teardown():
    if S is not None:
        S.stop()
        assert S.proc.returncode == 0, S.log()[-3000:]
    if W is not None:
        W.close()


if __name__ == "__main__":
    setup()
    try:
        run([test_tls_then_auth_required, test_auth_mechanisms_and_failures, test_sender_rules,
             test_authenticated_relay_and_received, test_implicit_tls_port, test_swaks_submission,
             test_plaintext_auth_for_trusted_networks, test_authd_unavailable,
             test_certificate_reload])
    finally:
        teardown()
