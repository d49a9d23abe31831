#!/usr/bin/env python3
"""test_admin_sieve.py: `sluice-admin sieve ...` and `sluice-admin vacation ...`
against a real PostgreSQL.

A fresh database per run, migrated by `sluice-admin db migrate` as its owner;
the commands run as a login role in sluice_admin, as in production. Every
error must be one line with its sysexits code and change nothing; every
change writes its audit row. The vacation script that `vacation show
--script` prints is run by sluice-sieve on messages, as the delivery agent
runs it.
"""
import calendar
import json
import os
import subprocess
import tempfile
import time
import uuid

import sluicetest
from sluicetest import build_path, psql, run

ADMIN = build_path("admin-cli", "sluice-admin")
SIEVE_TOOL = build_path("mda", "sluice-sieve")

EX_USAGE, EX_DATAERR, EX_NOUSER, EX_CANTCREAT = 64, 65, 67, 73

BOB = "bob@example.org"
GOOD = 'require "fileinto";\nif header :contains "subject" "[list]" {\n  fileinto "Lists";\n}\n'
BAD = 'require "fileinto";\n\nif true {\n  fileinto "A"\n}\n'


class Env:
    def __init__(self):
        self.url = sluicetest.fresh_database()
        self.dir = tempfile.mkdtemp(prefix="sluice-admin-sieve-")
        role = "adm_" + uuid.uuid4().hex[:10]
        base, dbname = self.url.rsplit("/", 1)
        scheme, rest = base.split("://", 1)
        role_url = "%s://%s@%s/%s" % (scheme, role, rest.split("@", 1)[1], dbname)
        mail_root = os.path.join(self.dir, "mail")
        owner = self.file("owner.conf", "db_url = %s\nmail_root = %s\n" % (self.url, mail_root))
        self.conf = self.file("sluice.conf", "admin_db_url = %s\nmail_root = %s\n"
                              "sieve_max_script_size = 4K\nsieved_max_script_name = 16\n"
                              % (role_url, mail_root))
        self.ok("db", "migrate", conf=owner)
        psql(self.url, "CREATE ROLE %s LOGIN IN ROLE sluice_admin" % role)
        self.ok("domain", "add", "example.org")
        self.ok("mailbox", "add", BOB, "--password-stdin", stdin="pw-Bob-1\n")
        self.ok("mailbox", "add", "carol@example.org", "--password-stdin", stdin="pw-Carol-2\n")

    def file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def run(self, *args, stdin="", conf=None):
        p = subprocess.run([ADMIN, "-c", conf or self.conf] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=60, start_new_session=True)
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, stdin="", conf=None):
        rc, out, err = self.run(*args, stdin=stdin, conf=conf)
        assert rc == 0, "%r: rc %d, stderr %r" % (args, rc, err)
        return out

    def fail(self, code, want, *args, stdin=""):
        before = self.state()
        rc, out, err = self.run(*args, stdin=stdin)
        assert rc == code, "%r: rc %d, want %d; stderr %r" % (args, rc, code, err)
        errors = [l for l in err.splitlines() if l.startswith("sluice-admin: error: ")]
        assert len(errors) == 1, "%r: want one error line, got %r" % (args, err)
        assert want in errors[0], "%r: %r lacks %r" % (args, errors[0], want)
        assert self.state() == before, "%r changed the database" % (args,)
        return err

    def sql(self, query):
        return psql(self.url, query).strip()

    def state(self):
        return self.sql("SELECT (SELECT coalesce(string_agg(name || active || md5(content), ','"
                        " ORDER BY name), '') FROM sieve_scripts),"
                        " (SELECT coalesce(string_agg(active || subject || coalesce(ends::text, ''),"
                        " ','), '') FROM vacations), (SELECT count(*) FROM audit_log)")

    def audit_actions(self):
        out = self.sql("SELECT string_agg(action, ' ' ORDER BY id) FROM audit_log"
                       " WHERE action LIKE 'sieve.%' OR action LIKE 'vacation.%'")
        return out.split() if out else []


E = None


def test_sieve_put_list_show():
    e = E
    bad = e.file("bad.sieve", BAD)
    good = e.file("good.sieve", GOOD)
    err = e.fail(EX_DATAERR, "line 5", "sieve", "put", BOB, "filter", bad)
    assert "does not compile" in err
    out = e.ok("sieve", "put", BOB, "filter", good)
    assert out.strip() == 'added script "filter" of %s (%d bytes)' % (BOB, len(GOOD)), out
    # from standard input, replacing
    out = e.ok("sieve", "put", BOB, "filter", stdin=GOOD + "# v2\n")
    assert out.startswith('replaced script "filter"'), out
    assert e.ok("sieve", "show", BOB, "filter") == GOOD + "# v2\n"
    rows = json.loads(e.ok("sieve", "list", BOB, "--json"))
    assert rows == [{"name": "filter", "active": False, "size": len(GOOD) + 5,
                     "modified": rows[0]["modified"]}], rows
    plain = e.ok("sieve", "list", BOB)
    assert plain.splitlines()[0].split() == ["NAME", "ACTIVE", "SIZE", "MODIFIED"], plain
    assert "filter" in plain and "no" in plain.splitlines()[1], plain
    # no active script yet
    e.fail(EX_NOUSER, "no active script", "sieve", "show", BOB)
    e.fail(EX_NOUSER, 'no script named "nope"', "sieve", "show", BOB, "nope")
    # activate, and show without a name shows it
    assert e.ok("sieve", "activate", BOB, "filter").startswith('activated script "filter"')
    assert e.ok("sieve", "show", BOB) == GOOD + "# v2\n"
    j = json.loads(e.ok("sieve", "show", BOB, "--json"))
    assert j["name"] == "filter" and j["active"] is True and j["content"].startswith("require")
    # carol sees none of it
    assert json.loads(e.ok("sieve", "list", "carol@example.org", "--json")) == []
    assert e.audit_actions() == ["sieve.put", "sieve.put", "sieve.activate"]


def test_sieve_errors():
    e = E
    good = e.file("good.sieve", GOOD)
    e.fail(EX_NOUSER, "no such mailbox", "sieve", "list", "nobody@example.org")
    e.fail(EX_NOUSER, "example.net", "sieve", "list", "x@example.net")
    e.fail(EX_DATAERR, "invalid script name", "sieve", "put", BOB, "a/b", good)
    e.fail(EX_DATAERR, "at most 16", "sieve", "put", BOB, "x" * 17, good)
    e.fail(EX_DATAERR, "larger than", "sieve", "put", BOB, "big",
           stdin="# " + "x" * 5000 + "\nkeep;\n")
    e.fail(EX_DATAERR, "NUL", "sieve", "put", BOB, "nul", stdin="keep;\0")
    e.fail(EX_USAGE, "missing argument", "sieve", "put", BOB)
    e.fail(EX_USAGE, "unknown option", "sieve", "put", BOB, "x", good, "--activat")
    e.fail(EX_NOUSER, 'no script named "nope"', "sieve", "activate", BOB, "nope")
    e.fail(EX_NOUSER, 'no script named "nope"', "sieve", "delete", BOB, "nope")
    e.ok("sieve", "--help")
    for verb in ("list", "show", "put", "activate", "deactivate", "delete"):
        assert "Usage: sluice-admin sieve %s" % verb in e.ok("sieve", verb, "--help")


def test_sieve_includes_active_delete():
    e = E
    e.sql("DELETE FROM sieve_scripts")
    main = 'require "include";\ninclude :personal "helper";\nkeep;\n'
    # an include that does not exist yet: a note, stored
    rc, out, err = e.run("sieve", "put", BOB, "main", stdin=main)
    assert rc == 0 and "note:" in err and "helper" in err, (rc, out, err)
    # but it cannot become active
    e.fail(EX_DATAERR, "helper", "sieve", "activate", BOB, "main")
    e.fail(EX_DATAERR, "helper", "sieve", "put", BOB, "main", "--activate", stdin=main)
    e.ok("sieve", "put", BOB, "helper", stdin='require "fileinto";\nfileinto "H";\n')
    e.ok("sieve", "put", BOB, "main", "--activate", stdin=main)
    # the active script and what it includes are protected
    e.fail(EX_DATAERR, "active script", "sieve", "delete", BOB, "main")
    e.fail(EX_DATAERR, 'the active script "main"', "sieve", "delete", BOB, "helper")
    e.fail(EX_DATAERR, 'the active script "main"', "sieve", "put", BOB, "helper",
           stdin='require "include";\ninclude :personal "missing";\n')
    # --force deletes anyway
    rc, out, err = e.run("sieve", "delete", BOB, "helper", "--force")
    assert rc == 0 and "no longer compiles" in err, (rc, err)
    out = e.ok("sieve", "deactivate", BOB)
    assert out.strip() == 'deactivated script "main" of %s' % BOB, out
    assert e.ok("sieve", "deactivate", BOB).strip() == "%s has no active script" % BOB
    assert e.sql("SELECT count(*) FROM sieve_scripts WHERE active") == "0"
    out = e.ok("sieve", "delete", BOB, "main", "--json")
    assert json.loads(out)["action"] == "sieve.delete", out
    assert e.sql("SELECT count(*) FROM sieve_scripts") == "0"
    # delete the active one with --force
    e.ok("sieve", "put", BOB, "x", "--activate", stdin="keep;\n")
    out = e.ok("sieve", "delete", BOB, "x", "--force")
    assert "it was active" in out, out


def local_midnight(y, m, d):
    return int(time.mktime((y, m, d, 0, 0, 0, 0, 0, -1)))


def vacation_row():
    return E.sql("SELECT v.active, subject, coalesce(extract(epoch FROM starts)::bigint, 0),"
                 " coalesce(extract(epoch FROM ends)::bigint, 0), coalesce(days, 0),"
                 " array_to_string(addresses, ',') FROM vacations v JOIN mailbox_directory m"
                 " ON m.id = v.mailbox_id WHERE m.local_part = 'bob'").split("|")


def sieve_tool(script, message, sender="carol@example.net"):
    sf = E.file("vac.sieve", script)
    mf = E.file("msg.eml", message)
    p = subprocess.run([SIEVE_TOOL, "-f", sender, "-r", BOB, sf, mf], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, (p.stdout, p.stderr)
    return p.stdout


MESSAGE = ("From: Carol <carol@example.net>\r\nTo: Bob <%s>\r\nSubject: Lunch\r\n"
           "Message-ID: <1@example.net>\r\n\r\nFriday?\r\n" % BOB)
LIST_MESSAGE = ("From: list@example.net\r\nTo: %s\r\nSubject: News\r\n"
                "List-Id: <news.example.net>\r\n\r\nNews\r\n" % BOB)


def test_vacation():
    e = E
    body = e.file("away.txt", "I am away.\nBack on Monday: \"urgent\" to carol@example.org.\n")
    e.fail(EX_USAGE, "--subject and --body-file are required", "vacation", "set", BOB,
           "--subject", "Away")
    e.fail(EX_DATAERR, "not a date", "vacation", "set", BOB, "--subject", "Away",
           "--body-file", body, "--from", "2024-13-01")
    e.fail(EX_DATAERR, "not a date", "vacation", "set", BOB, "--subject", "Away",
           "--body-file", body, "--until", "2024-02-30")
    e.fail(EX_DATAERR, "after --from", "vacation", "set", BOB, "--subject", "Away",
           "--body-file", body, "--from", "2030-01-05", "--until", "2030-01-04")
    e.fail(EX_DATAERR, "control characters", "vacation", "set", BOB, "--subject", "a\tb",
           "--body-file", body)
    e.fail(EX_DATAERR, "--days", "vacation", "set", BOB, "--subject", "Away",
           "--body-file", body, "--days", "0")
    e.fail(EX_NOUSER, "has no vacation reply", "vacation", "show", BOB)
    e.fail(EX_NOUSER, "has no vacation reply", "vacation", "off", BOB)
    e.fail(EX_NOUSER, "no such mailbox", "vacation", "set", "zed@example.org", "--subject", "x",
           "--body-file", body)

    # a vacation in the future: scheduled; a date alone for --until is the end of that day
    out = e.ok("vacation", "set", BOB, "--subject", "Away until Monday", "--body-file", body,
               "--from", "2030-01-01", "--until", "2030-01-06", "--days", "3",
               "--address", "sales@example.org")
    assert out.startswith("vacation reply set for %s from 2030-01-01 00:00:00" % BOB), out
    active, subject, starts, ends, days, addrs = vacation_row()
    assert active == "t" and subject == "Away until Monday", vacation_row()
    assert int(starts) == local_midnight(2030, 1, 1), (starts, local_midnight(2030, 1, 1))
    assert int(ends) == local_midnight(2030, 1, 7), (ends, local_midnight(2030, 1, 7))
    assert days == "3" and addrs == "sales@example.org"
    j = json.loads(e.ok("vacation", "show", BOB, "--json"))
    assert j["state"] == "scheduled" and j["days"] == 3, j
    assert j["addresses"] == ["sales@example.org"] and j["body"].startswith("I am away."), j
    # its script compiles and does nothing today
    script = e.ok("vacation", "show", BOB, "--script")
    assert "currentdate" in script and ":days 3" in script, script
    assert sieve_tool(script, MESSAGE).strip() == "keep"

    # now: on, with a zone given explicitly
    now = int(time.time())
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))
    e.ok("vacation", "set", BOB, "--subject", "Away", "--body-file", body, "--until", until)
    active, subject, starts, ends, days, addrs = vacation_row()
    assert starts == "0" and int(ends) == calendar.timegm(time.strptime(until,
                                                                        "%Y-%m-%dT%H:%M:%SZ"))
    assert days == "0" and addrs == "", vacation_row()
    assert json.loads(e.ok("vacation", "show", BOB, "--json"))["state"] == "on"
    script = e.ok("vacation", "show", BOB, "--script")
    out = sieve_tool(script, MESSAGE)
    assert "vacation to=" in out and "Away" in out and "keep" in out, out
    # RFC 3834: never to a list, nor to the null sender
    assert "vacation" not in sieve_tool(script, LIST_MESSAGE, sender="list@example.net")
    assert "vacation" not in sieve_tool(script, MESSAGE, sender="")
    # a body from standard input
    e.ok("vacation", "set", BOB, "--subject", "Away", "--body-file", "-", "--until", until,
         stdin="Back soon.\n")
    assert "Back soon." in e.ok("vacation", "show", BOB)

    # ended: the until is past; set says so
    rc, out, err = e.run("vacation", "set", BOB, "--subject", "Old", "--body-file", body,
                         "--until", "2020-01-01")
    assert rc == 0 and "already past" in err, (rc, out, err)
    assert json.loads(e.ok("vacation", "show", BOB, "--json"))["state"] == "ended"
    assert "vacation" not in sieve_tool(e.ok("vacation", "show", BOB, "--script"), MESSAGE)

    # off, and off again
    out = e.ok("vacation", "off", BOB)
    assert out.strip() == "vacation reply of %s switched off" % BOB, out
    assert "already off" in e.ok("vacation", "off", BOB)
    assert json.loads(e.ok("vacation", "show", BOB, "--json"))["state"] == "off"
    assert vacation_row()[0] == "f"
    acts = [a for a in e.audit_actions() if a.startswith("vacation.")]
    assert acts == ["vacation.set"] * 4 + ["vacation.off"] * 2, acts
    for verb in ("set", "off", "show"):
        assert "Usage: sluice-admin vacation %s" % verb in e.ok("vacation", verb, "--help")


def main():
    global E
    E = Env()
    run([test_sieve_put_list_show, test_sieve_errors, test_sieve_includes_active_delete,
         test_vacation])


if __name__ == "__main__":
    main()
