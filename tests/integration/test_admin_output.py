#!/usr/bin/env python3
"""test_admin_output.py: the exact output of sluice-admin, as a golden transcript.

test_admin.py and test_admin_sieve.py check what the commands do; this test
pins what they print, byte for byte: plain tables and "key: value" blocks,
--json text as written (not re-serialized), result lines, notes and error
lines on stderr, exit codes (sysexits), and the audit log rows each change
writes. One database, one scenario of every command family (domain, mailbox,
alias, alias-domain, quota, sieve, vacation, config, db, quota recalc), each
output path in plain and --json form, and the errors of lookups, option
parsing and confirmations. Times and the temporary paths are replaced by
placeholders; everything else must match. On a difference it prints a
unified diff of the transcript.
"""
import difflib
import json
import os
import re
import shlex

from sluicetest import run
from test_admin import Env

# Local times in result lines ("from 2099-01-01 00:00:00 +0000") must not depend on the host.
os.environ["TZ"] = "UTC"

TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d(:?\d\d)?)?")

GOOD = 'require "fileinto";\nif header :contains "subject" "[list]" {\n  fileinto "Lists";\n}\n'
BAD = 'require "fileinto";\n\nif true {\n  fileinto "A"\n}\n'
INCLUDER = 'require "include";\ninclude :personal "helper";\nkeep;\n'


def steps(e):
    """The scenario: (argv, stdin) pairs, run in order against one database."""
    good = e.file("good.sieve", GOOD)
    bad = e.file("bad.sieve", BAD)
    body = e.file("away.txt", 'I am away.\nBack on Monday: "urgent" to carol@example.org.\n')
    S = []

    def add(*args, stdin=None):
        S.append((list(args), stdin))

    # domains
    add("domain", "list")
    add("domain", "list", "--json")
    add("domain", "add", "example.org", "--description", 'Main "one"', "--quota", "10G",
        "--max-mailboxes", "5", "--max-aliases", "8", "--default-mailbox-quota", "1G")
    add("domain", "add", "second.example", "--backup-mx", "--inactive", "--json")
    add("domain", "add", "third.example")
    add("domain", "add", "EXAMPLE.org")
    add("domain", "add", "bad..example")
    add("domain", "add", "c.example", "--quota", "1G", "--default-mailbox-quota", "2G")
    add("domain", "add", "c.example", "--bogus")
    add("domain", "add", "c.example", "--desc=x")
    add("domain", "add")
    add("domain", "add", "a.example", "b.example")
    add("domain", "add", "a.example", "--quota")
    add("domain", "list")
    add("domain", "list", "--json")
    add("domain", "list", "--limit", "1")
    add("domain", "list", "--limit", "x")
    add("domain", "list", "extra")
    add("domain", "show", "example.org")
    add("domain", "show", "example.org", "--json")
    add("domain", "show", "nowhere.example")
    add("domain", "show", "example.org", "--yes")
    add("domain", "show")
    add("domain", "edit", "third.example", "--description", "Third", "--max-mailboxes", "0",
        "--active", "no", "--backup-mx", "yes")
    add("domain", "edit", "third.example", "--quota", "2G", "--json")
    add("domain", "edit", "third.example")
    add("domain", "edit", "third.example", "--active", "maybe")
    add("domain", "edit", "nowhere.example", "--quota", "1G")
    # mailboxes
    add("mailbox", "add", "bob@example.org", "--password-stdin", "--name", "Bob Ä",
        stdin="pw-Bob-1\n")
    add("mailbox", "add", "carol@example.org", "--no-password", "--quota", "2G",
        "--quota-messages", "100", "--send-as-domain", "--json")
    add("mailbox", "add", "dave@example.org", "--no-password", "--inactive", "--quota", "0")
    add("mailbox", "add", "dave@example.org", "--no-password", "--inactive", "--quota", "1M")
    add("mailbox", "add", "bob@example.org", "--no-password")
    add("mailbox", "add", "x@nowhere.example", "--no-password")
    add("mailbox", "add", "x@second.example", "--no-password")
    add("mailbox", "add", "x@example.org", "--no-password", "--quota", "9G")
    add("mailbox", "add", "x@example.org", "--password-stdin", "--no-password")
    add("mailbox", "add", "x@example.org", "--password")
    add("mailbox", "add", "bob", "--no-password")
    add("mailbox", "list")
    add("mailbox", "list", "--json")
    add("mailbox", "list", "--domain", "example.org", "--limit", "2")
    add("mailbox", "list", "--domain", "third.example")
    add("mailbox", "list", "--domain", "third.example", "--json")
    add("mailbox", "list", "--domain", "nowhere.example")
    add("mailbox", "list", "--domain", "bad..example")
    add("mailbox", "show", "bob@example.org")
    add("mailbox", "show", "Carol@Example.ORG", "--json")
    add("mailbox", "show", "nobody@example.org")
    add("mailbox", "show", "nobody@nowhere.example")
    add("mailbox", "passwd", "bob@example.org", "--password-stdin", stdin="pw-Bob-2\n")
    add("mailbox", "passwd", "bob@example.org", "--password-stdin", "--json", stdin="pw-3\n")
    add("mailbox", "passwd", "nobody@example.org", "--password-stdin", stdin="pw\n")
    add("mailbox", "passwd", "bob@example.org", "--password-stdin", stdin="\n")
    add("mailbox", "passwd", "bob@example.org", "--yes")
    add("mailbox", "edit", "bob@example.org", "--name", "Bob B", "--quota", "1536M",
        "--quota-messages", "50", "--active", "no", "--send-as-domain", "yes")
    add("mailbox", "edit", "bob@example.org", "--quota", "1G", "--json")
    add("mailbox", "edit", "bob@example.org", "--quota", "20G")
    add("mailbox", "edit", "bob@example.org")
    add("mailbox", "edit", "nobody@example.org", "--quota", "1G")
    # aliases and alias domains
    add("alias", "add", "info@example.org", "bob@example.org", "carol@elsewhere.test")
    add("alias", "add", "@example.org", "bob@example.org", "--json")
    add("alias", "add", "dave@example.org", "dave@example.org", "keep@remote.example")
    add("alias", "add", "team@example.org", "carol@example.org", "dave@example.org")
    add("alias", "add", "sales@example.org", "nobody@example.org")
    add("alias", "add", "later@example.org", "nobody@example.org", "-f", "--inactive")
    add("alias", "add", "info@example.org", "bob@example.org")
    add("alias", "add", "x@example.org", "x@example.org", "--force")
    add("alias", "add", "y@example.org", "z@example.org", "--force")
    add("alias", "add", "x@second.example", "bob@example.org")
    add("alias", "add", "info@example.org")
    add("mailbox", "add", "info@example.org", "--no-password", "--quota", "1M")
    add("alias", "edit", "info@example.org", "--add", "x@remote.example", "--remove",
        "carol@elsewhere.test")
    add("alias", "edit", "info@example.org", "z@remote.example", "--active", "no", "--json")
    add("alias", "edit", "info@example.org", "--remove", "q@remote.example")
    add("alias", "edit", "info@example.org")
    add("alias", "edit", "nobody@example.org", "--add", "x@remote.example")
    add("alias-domain", "add", "example.net", "example.org")
    add("alias-domain", "add", "example.com", "example.org", "--inactive", "--json")
    add("alias-domain", "add", "example.net", "example.org")
    add("alias-domain", "add", "example.org", "third.example")
    add("alias-domain", "add", "example.info", "nowhere.example")
    add("alias-domain", "add", "self.example", "self.example")
    add("alias-domain", "add", "example.edu", "example.net")
    add("domain", "add", "example.net")
    add("domain", "show", "example.net")
    add("alias-domain", "list")
    add("alias-domain", "list", "--json")
    add("alias-domain", "list", "--domain", "example.org", "--limit", "1")
    add("alias-domain", "list", "--domain", "example.net")
    add("alias", "list")
    add("alias", "list", "--json")
    add("alias", "list", "--domain", "example.org", "--limit", "2")
    add("alias", "list", "--destination", "Bob@example.org")
    add("alias", "list", "--destination", "bob@example.org", "--json")
    add("alias", "list", "--domain", "example.org", "--destination", "bob@example.org")
    add("alias", "list", "--domain", "example.com")
    add("alias", "show", "@example.org")
    add("alias", "show", "info@example.org", "--json")
    add("alias", "show", "nobody@example.org")
    add("domain", "show", "example.org")
    add("domain", "edit", "example.org", "--max-mailboxes", "1")
    add("domain", "edit", "example.org", "--max-aliases", "1", "--json")
    add("domain", "add", "limits.example", "--max-mailboxes", "1", "--max-aliases", "1")
    add("mailbox", "add", "a@limits.example", "--no-password")
    add("mailbox", "add", "b@limits.example", "--no-password")
    add("alias", "add", "x@limits.example", "a@limits.example")
    add("alias", "add", "y@limits.example", "a@limits.example")
    add("domain", "delete", "limits.example", "--yes")
    add("mailbox", "show", "bob@example.org")
    # quota
    add("quota", "show")
    add("quota", "show", "--json")
    add("quota", "show", "--domain", "example.org")
    add("quota", "show", "--domain", "example.org", "--json", "--limit", "1")
    add("quota", "show", "bob@example.org")
    add("quota", "show", "carol@example.org", "--json")
    add("quota", "show", "nobody@example.org")
    add("quota", "show", "bob@example.org", "--domain", "example.org")
    add("quota", "show", "--domain", "nowhere.example")
    add("quota", "recalc", "bob@example.org")
    add("quota", "recalc", "--domain", "example.org", "--json")
    add("quota", "recalc", "bob@example.org", "--domain", "example.org")
    # sieve
    add("sieve", "list", "bob@example.org")
    add("sieve", "list", "bob@example.org", "--json")
    add("sieve", "put", "bob@example.org", "filter", bad)
    add("sieve", "put", "bob@example.org", "filter", good)
    add("sieve", "put", "bob@example.org", "filter", "--json", stdin=GOOD + "# v2\n")
    add("sieve", "put", "bob@example.org", "main", stdin=INCLUDER)
    add("sieve", "put", "bob@example.org", "main", "--activate", stdin=INCLUDER)
    add("sieve", "put", "bob@example.org", "a/b", good)
    add("sieve", "put", "bob@example.org", "big", stdin="# " + "x" * 5000 + "\nkeep;\n")
    add("sieve", "put", "bob@example.org", "nul", stdin="keep;\0")
    add("sieve", "put", "bob@example.org", "missing", e.dir + "/no-such-file")
    add("sieve", "put", "bob@example.org")
    add("sieve", "list", "bob@example.org")
    add("sieve", "show", "bob@example.org")
    add("sieve", "show", "bob@example.org", "filter")
    add("sieve", "show", "bob@example.org", "filter", "--json")
    add("sieve", "show", "bob@example.org", "nope")
    add("sieve", "activate", "bob@example.org", "main")
    add("sieve", "activate", "bob@example.org", "nope")
    add("sieve", "put", "bob@example.org", "helper", stdin='require "fileinto";\nfileinto "H";\n')
    add("sieve", "activate", "bob@example.org", "main", "--json")
    add("sieve", "show", "bob@example.org")
    add("sieve", "delete", "bob@example.org", "main")
    add("sieve", "delete", "bob@example.org", "helper")
    add("sieve", "put", "bob@example.org", "helper", stdin='require "include";\n'
        'include :personal "missing";\n')
    add("sieve", "delete", "bob@example.org", "helper", "--force")
    add("sieve", "deactivate", "bob@example.org")
    add("sieve", "deactivate", "bob@example.org", "--json")
    add("sieve", "deactivate", "bob@example.org")
    add("sieve", "delete", "bob@example.org", "main", "--json")
    add("sieve", "delete", "bob@example.org", "nope")
    add("sieve", "put", "bob@example.org", "x", "--activate", stdin="keep;\n")
    add("sieve", "put", "bob@example.org", "x", "--json", stdin="keep;\n# 2\n")
    add("sieve", "put", "bob@example.org", "x", stdin="keep;\n# 3\n")
    add("sieve", "delete", "bob@example.org", "x", "--force")
    add("sieve", "put", "bob@example.org", "y", "--activate", "--json", stdin="discard;\n")
    add("sieve", "delete", "bob@example.org", "y", "--force", "--json")
    add("sieve", "list", "nobody@example.org")
    add("sieve", "list", "x@example.net")
    add("sieve", "list", "bob@example.org", "extra")
    add("sieve", "deactivate", "bob@example.org", "--force")
    # vacation
    add("vacation", "show", "bob@example.org")
    add("vacation", "off", "bob@example.org")
    add("vacation", "set", "bob@example.org", "--subject", "Away")
    add("vacation", "set", "bob@example.org", "--subject", "Away", "--body-file", body,
        "--from", "2024-13-01")
    add("vacation", "set", "bob@example.org", "--subject", "Away", "--body-file",
        e.dir + "/no-such-file")
    add("vacation", "set", "bob@example.org", "--subject", "Away", "--body-file", "-",
        stdin="x" * 70000)
    add("vacation", "set", "bob@example.org", "--subject", "Away", "--body-file", "-",
        stdin="\n\n")
    add("vacation", "set", "nobody@example.org", "--subject", "x", "--body-file", body)
    add("vacation", "set", "bob@example.org", "--subject", "Away until Monday", "--body-file",
        body, "--from", "2099-01-01", "--until", "2099-01-06", "--days", "3", "--address",
        "sales@example.org")
    add("vacation", "show", "bob@example.org")
    add("vacation", "show", "bob@example.org", "--json")
    add("vacation", "set", "bob@example.org", "--subject", "Old", "--body-file", "-",
        "--until", "2020-01-01T12:00Z", "--json", stdin="Gone.\n")
    add("vacation", "show", "bob@example.org")
    add("vacation", "off", "bob@example.org")
    add("vacation", "off", "bob@example.org", "--json")
    add("vacation", "show", "bob@example.org", "--json")
    add("vacation", "show", "nobody@example.org")
    # deletions: --yes
    add("mailbox", "delete", "dave@example.org")
    add("mailbox", "delete", "dave@example.org", "--yes")
    add("alias", "show", "dave@example.org")
    add("mailbox", "delete", "carol@example.org", "--yes")
    add("mailbox", "delete", "info@example.org", "-y", "--json")
    add("mailbox", "delete", "carol@example.org", "--yes", "--bogus")
    add("mailbox", "delete", "nobody@example.org", "--yes")
    add("alias", "delete", "later@example.org")
    add("alias", "delete", "@example.org", "--json")
    add("alias", "delete", "nobody@example.org")
    add("alias-domain", "delete", "example.com")
    add("alias-domain", "delete", "example.net", "--json")
    add("alias-domain", "delete", "example.net")
    add("domain", "delete", "example.org")
    add("domain", "delete", "third.example", "--yes")
    add("domain", "delete", "second.example", "-y", "--json")
    add("domain", "delete", "example.org", "--yes")
    add("domain", "delete", "nowhere.example", "--yes")
    add("domain", "list")
    # configuration and schema
    add("config", "show", "mail_root", "sieve_max_script_size")
    add("config", "show", "-n", "--json", "sieve_max_script_size")
    add("config", "show", "no_such_setting")
    add("db", "status", "extra")
    add("frobnicate")
    add("domain", "frob")
    return S


def transcript(e, scenario):
    """Run the scenario; its transcript, with times and temporary paths as placeholders."""
    out = []
    for args, stdin in scenario:
        rc, stdout, stderr = e.run(*args, stdin=stdin)
        out.append("$ sluice-admin %s\n" % shlex.join(args))
        out.append(stdout)
        if stdout and not stdout.endswith("\n"):
            out.append("[no newline at end]\n")
        out.extend("! %s\n" % line for line in stderr.splitlines())
        out.append("= %d\n" % rc)
    # Every row but db migrate's (Env made that one, and it lists the schema's migrations).
    rows = [row for row in e.audit() if row["action"] != "db.migrate"]
    actor = json.dumps(rows[0]["actor"])
    for row in rows:
        out.append("audit %s\n" % json.dumps(row, sort_keys=True, ensure_ascii=False))
    text = "".join(out).replace(e.mail_root, "<mail_root>").replace(e.dir, "<dir>")
    return TIME.sub("<time>", text).replace(actor, '"<actor>"')


class OutputEnv(Env):
    def __init__(self):
        super().__init__(extra_conf="sieve_max_script_size = 4K\nsieved_max_script_name = 16\n")

    def file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path


def test_golden_transcript():
    e = OutputEnv()
    got = transcript(e, steps(e))
    if got != GOLDEN:
        diff = "".join(difflib.unified_diff(GOLDEN.splitlines(True), got.splitlines(True),
                                            "want", "got"))
        raise AssertionError("sluice-admin output differs from the golden transcript:\n"
                             + diff)


GOLDEN = r"""
$ sluice-admin domain list
DOMAIN  ACTIVE  MAILBOXES  MAX-MAILBOXES  ALIASES  MAX-ALIASES  QUOTA  MAILBOX-QUOTA
= 0
$ sluice-admin domain list --json
[]
= 0
$ sluice-admin domain add example.org --description 'Main "one"' --quota 10G --max-mailboxes 5 --max-aliases 8 --default-mailbox-quota 1G
added domain example.org
= 0
$ sluice-admin domain add second.example --backup-mx --inactive --json
{"action":"domain.add","object":"second.example","details":{"description":"","max_mailboxes":0,"max_aliases":0,"quota_bytes":0,"default_mailbox_quota_bytes":0,"backup_mx":true,"active":false}}
= 0
$ sluice-admin domain add third.example
added domain third.example
= 0
$ sluice-admin domain add EXAMPLE.org
! sluice-admin: error: domain example.org already exists
= 73
$ sluice-admin domain add bad..example
! sluice-admin: error: invalid domain name 'bad..example': empty label in domain
= 65
$ sluice-admin domain add c.example --quota 1G --default-mailbox-quota 2G
! sluice-admin: error: default mailbox quota 2G is larger than the domain quota 1G
= 65
$ sluice-admin domain add c.example --bogus
! sluice-admin: error: domain add: unknown option '--bogus' (see 'sluice-admin domain add --help')
= 64
$ sluice-admin domain add c.example --desc=x
! sluice-admin: error: domain add: unknown option '--desc=x' (see 'sluice-admin domain add --help')
= 64
$ sluice-admin domain add
! sluice-admin: error: domain add: missing argument (see 'sluice-admin domain add --help')
= 64
$ sluice-admin domain add a.example b.example
! sluice-admin: error: domain add: too many arguments (see 'sluice-admin domain add --help')
= 64
$ sluice-admin domain add a.example --quota
! sluice-admin: error: domain add: option '--quota' needs a value (see 'sluice-admin domain add --help')
= 64
$ sluice-admin domain list
DOMAIN          ACTIVE  MAILBOXES  MAX-MAILBOXES  ALIASES  MAX-ALIASES  QUOTA      MAILBOX-QUOTA
example.org     yes     0          5              0        8            10G        1G
second.example  no      0          unlimited      0        unlimited    unlimited  unlimited
third.example   yes     0          unlimited      0        unlimited    unlimited  unlimited
= 0
$ sluice-admin domain list --json
[
{"name":"example.org","description":"Main \"one\"","active":true,"backup_mx":false,"mailboxes":0,"max_mailboxes":5,"aliases":0,"max_aliases":8,"quota_bytes":10737418240,"default_mailbox_quota_bytes":1073741824,"created":"<time>"},
{"name":"second.example","description":"","active":false,"backup_mx":true,"mailboxes":0,"max_mailboxes":0,"aliases":0,"max_aliases":0,"quota_bytes":0,"default_mailbox_quota_bytes":0,"created":"<time>"},
{"name":"third.example","description":"","active":true,"backup_mx":false,"mailboxes":0,"max_mailboxes":0,"aliases":0,"max_aliases":0,"quota_bytes":0,"default_mailbox_quota_bytes":0,"created":"<time>"}
]
= 0
$ sluice-admin domain list --limit 1
DOMAIN       ACTIVE  MAILBOXES  MAX-MAILBOXES  ALIASES  MAX-ALIASES  QUOTA  MAILBOX-QUOTA
example.org  yes     0          5              0        8            10G    1G
= 0
$ sluice-admin domain list --limit x
! sluice-admin: error: --limit 'x': not a count (0 or more)
= 65
$ sluice-admin domain list extra
! sluice-admin: error: domain list: too many arguments (see 'sluice-admin domain list --help')
= 64
$ sluice-admin domain show example.org
name:                        example.org
description:                 Main "one"
active:                      yes
backup_mx:                   no
mailboxes:                   0
max_mailboxes:               5
aliases:                     0
max_aliases:                 8
quota_bytes:                 10G
default_mailbox_quota_bytes: 1G
created:                     <time>
modified:                    <time>
quota_allocated_bytes:       0
quota_used_bytes:            0
alias_domains:               -
= 0
$ sluice-admin domain show example.org --json
{"name":"example.org","description":"Main \"one\"","active":true,"backup_mx":false,"mailboxes":0,"max_mailboxes":5,"aliases":0,"max_aliases":8,"quota_bytes":10737418240,"default_mailbox_quota_bytes":1073741824,"created":"<time>","modified":"<time>","quota_allocated_bytes":0,"quota_used_bytes":0,"alias_domains":[]}
= 0
$ sluice-admin domain show nowhere.example
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin domain show example.org --yes
! sluice-admin: error: domain show: unknown option '--yes' (see 'sluice-admin domain show --help')
= 64
$ sluice-admin domain show
! sluice-admin: error: domain show: missing argument (see 'sluice-admin domain show --help')
= 64
$ sluice-admin domain edit third.example --description Third --max-mailboxes 0 --active no --backup-mx yes
changed domain third.example
= 0
$ sluice-admin domain edit third.example --quota 2G --json
{"action":"domain.edit","object":"third.example","details":{"quota_bytes":2147483648}}
= 0
$ sluice-admin domain edit third.example
! sluice-admin: error: domain edit: nothing to change (see 'sluice-admin domain edit --help')
= 64
$ sluice-admin domain edit third.example --active maybe
! sluice-admin: error: --active 'maybe': say yes or no
= 65
$ sluice-admin domain edit nowhere.example --quota 1G
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin mailbox add bob@example.org --password-stdin --name 'Bob Ä'
added mailbox bob@example.org (quota 1G)
= 0
$ sluice-admin mailbox add carol@example.org --no-password --quota 2G --quota-messages 100 --send-as-domain --json
{"action":"mailbox.add","object":"carol@example.org","details":{"id":2,"display_name":"","quota_bytes":2147483648,"quota_messages":100,"active":true,"send_as_domain":true,"password_set":false,"storage_dir":"example.org/carol.2"}}
= 0
$ sluice-admin mailbox add dave@example.org --no-password --inactive --quota 0
! sluice-admin: error: domain example.org has a quota, so its mailboxes need one: give --quota
= 65
$ sluice-admin mailbox add dave@example.org --no-password --inactive --quota 1M
added mailbox dave@example.org (quota 1M) without a password: set one with 'sluice-admin mailbox passwd'
= 0
$ sluice-admin mailbox add bob@example.org --no-password
! sluice-admin: error: mailbox bob@example.org already exists
= 73
$ sluice-admin mailbox add x@nowhere.example --no-password
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin mailbox add x@second.example --no-password
! sluice-admin: error: second.example is a backup MX domain: it relays mail and holds no mailboxes
= 65
$ sluice-admin mailbox add x@example.org --no-password --quota 9G
! sluice-admin: error: a mailbox quota of 9G does not fit in the domain quota of 10G (example.org: 7167M left)
= 73
$ sluice-admin mailbox add x@example.org --password-stdin --no-password
! sluice-admin: error: mailbox add: --password-stdin and --no-password exclude each other (see 'sluice-admin mailbox add --help')
= 64
$ sluice-admin mailbox add x@example.org --password
! sluice-admin: error: mailbox add: unknown option '--password' (see 'sluice-admin mailbox add --help')
= 64
$ sluice-admin mailbox add bob --no-password
! sluice-admin: error: invalid address 'bob': missing @domain
= 65
$ sluice-admin mailbox list
ADDRESS            QUOTA  USED  MESSAGES  ACTIVE
bob@example.org    1G     0     0         yes
carol@example.org  2G     0     0         yes
dave@example.org   1M     0     0         no
= 0
$ sluice-admin mailbox list --json
[
{"address":"bob@example.org","domain":"example.org","local_part":"bob","display_name":"Bob Ä","quota_bytes":1073741824,"used_bytes":0,"quota_messages":0,"messages":0,"active":true,"send_as_domain":false,"storage_dir":"example.org/bob.1","created":"<time>"},
{"address":"carol@example.org","domain":"example.org","local_part":"carol","display_name":"","quota_bytes":2147483648,"used_bytes":0,"quota_messages":100,"messages":0,"active":true,"send_as_domain":true,"storage_dir":"example.org/carol.2","created":"<time>"},
{"address":"dave@example.org","domain":"example.org","local_part":"dave","display_name":"","quota_bytes":1048576,"used_bytes":0,"quota_messages":0,"messages":0,"active":false,"send_as_domain":false,"storage_dir":"example.org/dave.3","created":"<time>"}
]
= 0
$ sluice-admin mailbox list --domain example.org --limit 2
ADDRESS            QUOTA  USED  MESSAGES  ACTIVE
bob@example.org    1G     0     0         yes
carol@example.org  2G     0     0         yes
= 0
$ sluice-admin mailbox list --domain third.example
ADDRESS  QUOTA  USED  MESSAGES  ACTIVE
= 0
$ sluice-admin mailbox list --domain third.example --json
[]
= 0
$ sluice-admin mailbox list --domain nowhere.example
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin mailbox list --domain bad..example
! sluice-admin: error: invalid domain name 'bad..example': empty label in domain
= 65
$ sluice-admin mailbox show bob@example.org
address:        bob@example.org
domain:         example.org
local_part:     bob
display_name:   Bob Ä
quota_bytes:    1G
used_bytes:     0
quota_messages: unlimited
messages:       0
active:         yes
send_as_domain: no
storage_dir:    example.org/bob.1
created:        <time>
domain_active:  yes
modified:       <time>
last_login:     -
aliases:        -
= 0
$ sluice-admin mailbox show Carol@Example.ORG --json
{"address":"carol@example.org","domain":"example.org","local_part":"carol","display_name":"","quota_bytes":2147483648,"used_bytes":0,"quota_messages":100,"messages":0,"active":true,"send_as_domain":true,"storage_dir":"example.org/carol.2","created":"<time>","domain_active":true,"modified":"<time>","last_login":null,"aliases":[]}
= 0
$ sluice-admin mailbox show nobody@example.org
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin mailbox show nobody@nowhere.example
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin mailbox passwd bob@example.org --password-stdin
changed the password of bob@example.org
= 0
$ sluice-admin mailbox passwd bob@example.org --password-stdin --json
{"action":"mailbox.passwd","object":"bob@example.org","details":{}}
= 0
$ sluice-admin mailbox passwd nobody@example.org --password-stdin
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin mailbox passwd bob@example.org --password-stdin
! sluice-admin: error: empty password; nothing changed
= 65
$ sluice-admin mailbox passwd bob@example.org --yes
! sluice-admin: error: mailbox passwd: unknown option '--yes' (see 'sluice-admin mailbox passwd --help')
= 64
$ sluice-admin mailbox edit bob@example.org --name 'Bob B' --quota 1536M --quota-messages 50 --active no --send-as-domain yes
changed mailbox bob@example.org
= 0
$ sluice-admin mailbox edit bob@example.org --quota 1G --json
{"action":"mailbox.edit","object":"bob@example.org","details":{"quota_bytes":1073741824}}
= 0
$ sluice-admin mailbox edit bob@example.org --quota 20G
! sluice-admin: error: a mailbox quota of 20G does not fit in the domain quota of 10G (example.org: 8191M left)
= 73
$ sluice-admin mailbox edit bob@example.org
! sluice-admin: error: mailbox edit: nothing to change (see 'sluice-admin mailbox edit --help')
= 64
$ sluice-admin mailbox edit nobody@example.org --quota 1G
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin alias add info@example.org bob@example.org carol@elsewhere.test
added alias info@example.org -> bob@example.org, carol@elsewhere.test
= 0
$ sluice-admin alias add @example.org bob@example.org --json
{"action":"alias.add","object":"@example.org","details":{"destinations":["bob@example.org"],"active":true}}
= 0
$ sluice-admin alias add dave@example.org dave@example.org keep@remote.example
added alias dave@example.org -> dave@example.org, keep@remote.example
= 0
$ sluice-admin alias add team@example.org carol@example.org dave@example.org
added alias team@example.org -> carol@example.org, dave@example.org
= 0
$ sluice-admin alias add sales@example.org nobody@example.org
! sluice-admin: error: destination nobody@example.org is in a local domain but no such mailbox or alias exists (use --force to add it anyway)
= 67
$ sluice-admin alias add later@example.org nobody@example.org -f --inactive
added alias later@example.org -> nobody@example.org
= 0
$ sluice-admin alias add info@example.org bob@example.org
! sluice-admin: error: alias info@example.org already exists (change it with 'sluice-admin alias edit')
= 73
$ sluice-admin alias add x@example.org x@example.org --force
! sluice-admin: error: alias loop: mail to x@example.org would be sent back to x@example.org, and it has no mailbox to keep a copy in; nothing changed
= 65
$ sluice-admin alias add y@example.org z@example.org --force
added alias y@example.org -> z@example.org
= 0
$ sluice-admin alias add x@second.example bob@example.org
! sluice-admin: error: second.example is a backup MX domain: it relays mail and has no aliases
= 65
$ sluice-admin alias add info@example.org
! sluice-admin: error: alias add: missing argument (see 'sluice-admin alias add --help')
= 64
$ sluice-admin mailbox add info@example.org --no-password --quota 1M
added mailbox info@example.org (quota 1M) without a password: set one with 'sluice-admin mailbox passwd'
! sluice-admin: note: the alias info@example.org takes precedence over the mailbox; add info@example.org as one of its destinations to deliver here too
= 0
$ sluice-admin alias edit info@example.org --add x@remote.example --remove carol@elsewhere.test
changed alias info@example.org -> bob@example.org, x@remote.example
= 0
$ sluice-admin alias edit info@example.org z@remote.example --active no --json
{"action":"alias.edit","object":"info@example.org","details":{"destinations":["z@remote.example"],"active":false}}
= 0
$ sluice-admin alias edit info@example.org --remove q@remote.example
! sluice-admin: error: q@remote.example is not a destination of info@example.org
= 65
$ sluice-admin alias edit info@example.org
! sluice-admin: error: alias edit: nothing to change (see 'sluice-admin alias edit --help')
= 64
$ sluice-admin alias edit nobody@example.org --add x@remote.example
! sluice-admin: error: no such alias: nobody@example.org
= 67
$ sluice-admin alias-domain add example.net example.org
added alias domain example.net -> example.org
= 0
$ sluice-admin alias-domain add example.com example.org --inactive --json
{"action":"alias_domain.add","object":"example.com","details":{"target":"example.org","active":false}}
= 0
$ sluice-admin alias-domain add example.net example.org
! sluice-admin: error: alias domain example.net already exists (for example.org)
= 73
$ sluice-admin alias-domain add example.org third.example
! sluice-admin: error: example.org is already a domain; delete it first to make it an alias domain
= 73
$ sluice-admin alias-domain add example.info nowhere.example
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin alias-domain add self.example self.example
! sluice-admin: error: an alias domain cannot point to itself
= 65
$ sluice-admin alias-domain add example.edu example.net
! sluice-admin: error: example.net is an alias domain of example.org, not a domain: use example.org
= 67
$ sluice-admin domain add example.net
! sluice-admin: error: example.net is already an alias domain of example.org
= 73
$ sluice-admin domain show example.net
! sluice-admin: error: example.net is an alias domain of example.org, not a domain: use example.org
= 67
$ sluice-admin alias-domain list
ALIAS-DOMAIN  TARGET       ACTIVE  CREATED
example.com   example.org  no      <time>
example.net   example.org  yes     <time>
= 0
$ sluice-admin alias-domain list --json
[
{"name":"example.com","target":"example.org","active":false,"created":"<time>"},
{"name":"example.net","target":"example.org","active":true,"created":"<time>"}
]
= 0
$ sluice-admin alias-domain list --domain example.org --limit 1
ALIAS-DOMAIN  TARGET       ACTIVE  CREATED
example.com   example.org  no      <time>
= 0
$ sluice-admin alias-domain list --domain example.net
! sluice-admin: error: example.net is an alias domain of example.org, not a domain: use example.org
= 67
$ sluice-admin alias list
ALIAS              ACTIVE  DESTINATIONS
@example.org       yes     bob@example.org
dave@example.org   yes     dave@example.org, keep@remote.example
info@example.org   no      z@remote.example
later@example.org  no      nobody@example.org
team@example.org   yes     carol@example.org, dave@example.org
y@example.org      yes     z@example.org
= 0
$ sluice-admin alias list --json
[
{"address":"@example.org","domain":"example.org","local_part":"","catch_all":true,"active":true,"destinations":["bob@example.org"],"created":"<time>","modified":"<time>"},
{"address":"dave@example.org","domain":"example.org","local_part":"dave","catch_all":false,"active":true,"destinations":["dave@example.org","keep@remote.example"],"created":"<time>","modified":"<time>"},
{"address":"info@example.org","domain":"example.org","local_part":"info","catch_all":false,"active":false,"destinations":["z@remote.example"],"created":"<time>","modified":"<time>"},
{"address":"later@example.org","domain":"example.org","local_part":"later","catch_all":false,"active":false,"destinations":["nobody@example.org"],"created":"<time>","modified":"<time>"},
{"address":"team@example.org","domain":"example.org","local_part":"team","catch_all":false,"active":true,"destinations":["carol@example.org","dave@example.org"],"created":"<time>","modified":"<time>"},
{"address":"y@example.org","domain":"example.org","local_part":"y","catch_all":false,"active":true,"destinations":["z@example.org"],"created":"<time>","modified":"<time>"}
]
= 0
$ sluice-admin alias list --domain example.org --limit 2
ALIAS             ACTIVE  DESTINATIONS
@example.org      yes     bob@example.org
dave@example.org  yes     dave@example.org, keep@remote.example
= 0
$ sluice-admin alias list --destination Bob@example.org
ALIAS         ACTIVE  DESTINATIONS
@example.org  yes     bob@example.org
= 0
$ sluice-admin alias list --destination bob@example.org --json
[
{"address":"@example.org","domain":"example.org","local_part":"","catch_all":true,"active":true,"destinations":["bob@example.org"],"created":"<time>","modified":"<time>"}
]
= 0
$ sluice-admin alias list --domain example.org --destination bob@example.org
! sluice-admin: error: alias list: --domain and --destination exclude each other (see 'sluice-admin alias list --help')
= 64
$ sluice-admin alias list --domain example.com
! sluice-admin: error: example.com is an alias domain of example.org, not a domain: use example.org
= 67
$ sluice-admin alias show @example.org
address:      @example.org
domain:       example.org
local_part:   -
catch_all:    yes
active:       yes
destinations: bob@example.org
created:      <time>
modified:     <time>
= 0
$ sluice-admin alias show info@example.org --json
{"address":"info@example.org","domain":"example.org","local_part":"info","catch_all":false,"active":false,"destinations":["z@remote.example"],"created":"<time>","modified":"<time>"}
= 0
$ sluice-admin alias show nobody@example.org
! sluice-admin: error: no such alias: nobody@example.org
= 67
$ sluice-admin domain show example.org
name:                        example.org
description:                 Main "one"
active:                      yes
backup_mx:                   no
mailboxes:                   4
max_mailboxes:               5
aliases:                     6
max_aliases:                 8
quota_bytes:                 10G
default_mailbox_quota_bytes: 1G
created:                     <time>
modified:                    <time>
quota_allocated_bytes:       3074M
quota_used_bytes:            0
alias_domains:               example.com, example.net
= 0
$ sluice-admin domain edit example.org --max-mailboxes 1
! sluice-admin: error: example.org has 4 mailboxes, more than a limit of 1
= 65
$ sluice-admin domain edit example.org --max-aliases 1 --json
! sluice-admin: error: example.org has 6 aliases, more than a limit of 1
= 65
$ sluice-admin domain add limits.example --max-mailboxes 1 --max-aliases 1
added domain limits.example
= 0
$ sluice-admin mailbox add a@limits.example --no-password
added mailbox a@limits.example (quota unlimited) without a password: set one with 'sluice-admin mailbox passwd'
= 0
$ sluice-admin mailbox add b@limits.example --no-password
! sluice-admin: error: domain limits.example is at its limit of 1 mailboxes (--max-mailboxes)
= 73
$ sluice-admin alias add x@limits.example a@limits.example
added alias x@limits.example -> a@limits.example
= 0
$ sluice-admin alias add y@limits.example a@limits.example
! sluice-admin: error: domain limits.example is at its limit of 1 aliases (--max-aliases)
= 73
$ sluice-admin domain delete limits.example --yes
deleted domain limits.example with 1 mailboxes, 1 aliases and 0 alias domains; the mail files under <mail_root>/limits.example/ are left on disk
= 0
$ sluice-admin mailbox show bob@example.org
address:        bob@example.org
domain:         example.org
local_part:     bob
display_name:   Bob B
quota_bytes:    1G
used_bytes:     0
quota_messages: 50
messages:       0
active:         no
send_as_domain: yes
storage_dir:    example.org/bob.1
created:        <time>
domain_active:  yes
modified:       <time>
last_login:     -
aliases:        @example.org
= 0
$ sluice-admin quota show
DOMAIN          QUOTA      ALLOCATED  USED  USED%  MAILBOXES  MESSAGES
example.org     10G        3074M      0     0      4          0
second.example  unlimited  0          0     -      0          0
third.example   2G         0          0     0      0          0
= 0
$ sluice-admin quota show --json
[
{"domain":"example.org","quota_bytes":10737418240,"allocated_bytes":3223322624,"used_bytes":0,"used_percent":0,"mailboxes":4,"messages":0},
{"domain":"second.example","quota_bytes":0,"allocated_bytes":0,"used_bytes":0,"used_percent":null,"mailboxes":0,"messages":0},
{"domain":"third.example","quota_bytes":2147483648,"allocated_bytes":0,"used_bytes":0,"used_percent":0,"mailboxes":0,"messages":0}
]
= 0
$ sluice-admin quota show --domain example.org
ADDRESS            QUOTA  USED  USED%  MSG-QUOTA  MESSAGES  MSG%
bob@example.org    1G     0     0      50         0         0
carol@example.org  2G     0     0      100        0         0
dave@example.org   1M     0     0      unlimited  0         -
info@example.org   1M     0     0      unlimited  0         -
= 0
$ sluice-admin quota show --domain example.org --json --limit 1
[
{"address":"bob@example.org","quota_bytes":1073741824,"used_bytes":0,"used_percent":0,"quota_messages":50,"messages":0,"messages_percent":0,"warned_percent":0}
]
= 0
$ sluice-admin quota show bob@example.org
address:          bob@example.org
quota_bytes:      1G
used_bytes:       0
used_percent:     0
quota_messages:   50
messages:         0
messages_percent: 0
warned_percent:   0
= 0
$ sluice-admin quota show carol@example.org --json
{"address":"carol@example.org","quota_bytes":2147483648,"used_bytes":0,"used_percent":0,"quota_messages":100,"messages":0,"messages_percent":0,"warned_percent":0}
= 0
$ sluice-admin quota show nobody@example.org
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin quota show bob@example.org --domain example.org
! sluice-admin: error: quota show: give a mailbox or --domain, not both (see 'sluice-admin quota show --help')
= 64
$ sluice-admin quota show --domain nowhere.example
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin quota recalc bob@example.org
recounted 1 mailbox(es): 0 bytes in 0 messages (was 0 bytes in 0 messages)
= 0
$ sluice-admin quota recalc --domain example.org --json
{"action":"quota recalc","repaired":true,"mailboxes":4,"rows":0,"files":0,"orphan_files":0,"missing_files":0,"young_files":0,"tmp_files":0,"uidnext_fixed":0,"old_bytes":0,"old_messages":0,"new_bytes":0,"new_messages":0}
= 0
$ sluice-admin quota recalc bob@example.org --domain example.org
! sluice-admin: error: quota recalc: give a mailbox or --domain, not both (see 'sluice-admin quota recalc --help')
= 64
$ sluice-admin sieve list bob@example.org
NAME  ACTIVE  SIZE  MODIFIED
= 0
$ sluice-admin sieve list bob@example.org --json
[]
= 0
$ sluice-admin sieve put bob@example.org filter <dir>/bad.sieve
! sluice-admin: error: filter does not compile: line 5, column 1: expected ';' or '{' after the command's arguments
= 65
$ sluice-admin sieve put bob@example.org filter <dir>/good.sieve
added script "filter" of bob@example.org (83 bytes)
= 0
$ sluice-admin sieve put bob@example.org filter --json
{"action":"sieve.put","object":"bob@example.org","details":{"name":"filter","size":88,"active":false}}
= 0
$ sluice-admin sieve put bob@example.org main
added script "main" of bob@example.org (53 bytes)
! sluice-admin: note: include: script "helper" does not exist yet; upload it before this script is activated
= 0
$ sluice-admin sieve put bob@example.org main --activate
! sluice-admin: error: main does not compile: line 2, column 1: included script 'helper' not found
= 65
$ sluice-admin sieve put bob@example.org a/b <dir>/good.sieve
! sluice-admin: error: invalid script name: a script name cannot hold "/"
= 65
$ sluice-admin sieve put bob@example.org big
! sluice-admin: error: -: larger than sieve_max_script_size (4096 bytes)
= 65
$ sluice-admin sieve put bob@example.org nul
! sluice-admin: error: -: a Sieve script cannot contain NUL bytes
= 65
$ sluice-admin sieve put bob@example.org missing <dir>/no-such-file
! sluice-admin: error: <dir>/no-such-file: No such file or directory
= 66
$ sluice-admin sieve put bob@example.org
! sluice-admin: error: sieve put: missing argument (see 'sluice-admin sieve put --help')
= 64
$ sluice-admin sieve list bob@example.org
NAME    ACTIVE  SIZE  MODIFIED
filter  no      88    <time>
main    no      53    <time>
= 0
$ sluice-admin sieve show bob@example.org
! sluice-admin: error: bob@example.org has no active script
= 67
$ sluice-admin sieve show bob@example.org filter
require "fileinto";
if header :contains "subject" "[list]" {
  fileinto "Lists";
}
# v2
= 0
$ sluice-admin sieve show bob@example.org filter --json
{"name":"filter","active":false,"size":88,"modified":"<time>","content":"require \"fileinto\";\nif header :contains \"subject\" \"[list]\" {\n  fileinto \"Lists\";\n}\n# v2\n"}
= 0
$ sluice-admin sieve show bob@example.org nope
! sluice-admin: error: bob@example.org has no script named "nope"
= 67
$ sluice-admin sieve activate bob@example.org main
! sluice-admin: error: main does not compile: line 2, column 1: included script 'helper' not found
= 65
$ sluice-admin sieve activate bob@example.org nope
! sluice-admin: error: bob@example.org has no script named "nope"
= 67
$ sluice-admin sieve put bob@example.org helper
added script "helper" of bob@example.org (34 bytes)
= 0
$ sluice-admin sieve activate bob@example.org main --json
{"action":"sieve.activate","object":"bob@example.org","details":{"name":"main","active":true}}
= 0
$ sluice-admin sieve show bob@example.org
require "include";
include :personal "helper";
keep;
= 0
$ sluice-admin sieve delete bob@example.org main
! sluice-admin: error: "main" is the active script of bob@example.org (deactivate it first, or use --force)
= 65
$ sluice-admin sieve delete bob@example.org helper
! sluice-admin: error: after this change, the active script "main" does not compile: line 2, column 1: included script 'helper' not found
! sluice-admin: note: --force makes the change anyway
= 65
$ sluice-admin sieve put bob@example.org helper
! sluice-admin: error: after this change, the active script "main" does not compile: helper: line 2, column 1: included script 'missing' not found
! sluice-admin: note: --force makes the change anyway
= 65
$ sluice-admin sieve delete bob@example.org helper --force
deleted script "helper" of bob@example.org
! sluice-admin: note: the active script "main" no longer compiles (--force)
= 0
$ sluice-admin sieve deactivate bob@example.org
deactivated script "main" of bob@example.org
= 0
$ sluice-admin sieve deactivate bob@example.org --json
{"action":"sieve.deactivate","object":"bob@example.org","details":{}}
= 0
$ sluice-admin sieve deactivate bob@example.org
bob@example.org has no active script
= 0
$ sluice-admin sieve delete bob@example.org main --json
{"action":"sieve.delete","object":"bob@example.org","details":{"name":"main","active":false}}
= 0
$ sluice-admin sieve delete bob@example.org nope
! sluice-admin: error: bob@example.org has no script named "nope"
= 67
$ sluice-admin sieve put bob@example.org x --activate
added script "x" of bob@example.org (6 bytes), active
= 0
$ sluice-admin sieve put bob@example.org x --json
{"action":"sieve.put","object":"bob@example.org","details":{"name":"x","size":10,"active":true}}
= 0
$ sluice-admin sieve put bob@example.org x
replaced script "x" of bob@example.org (10 bytes), still active
= 0
$ sluice-admin sieve delete bob@example.org x --force
deleted script "x" of bob@example.org (it was active: no script runs now)
= 0
$ sluice-admin sieve put bob@example.org y --activate --json
{"action":"sieve.put","object":"bob@example.org","details":{"name":"y","size":9,"active":true}}
= 0
$ sluice-admin sieve delete bob@example.org y --force --json
{"action":"sieve.delete","object":"bob@example.org","details":{"name":"y","active":true}}
= 0
$ sluice-admin sieve list nobody@example.org
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin sieve list x@example.net
! sluice-admin: error: example.net is an alias domain of example.org, not a domain: use example.org
= 67
$ sluice-admin sieve list bob@example.org extra
! sluice-admin: error: sieve list: too many arguments (see 'sluice-admin sieve list --help')
= 64
$ sluice-admin sieve deactivate bob@example.org --force
! sluice-admin: error: sieve deactivate: unknown option '--force' (see 'sluice-admin sieve deactivate --help')
= 64
$ sluice-admin vacation show bob@example.org
! sluice-admin: error: bob@example.org has no vacation reply
= 67
$ sluice-admin vacation off bob@example.org
! sluice-admin: error: bob@example.org has no vacation reply
= 67
$ sluice-admin vacation set bob@example.org --subject Away
! sluice-admin: error: vacation set: --subject and --body-file are required (see 'sluice-admin vacation set --help')
= 64
$ sluice-admin vacation set bob@example.org --subject Away --body-file <dir>/away.txt --from 2024-13-01
! sluice-admin: error: --from: '2024-13-01' is not a date like 2024-07-01 or 2024-07-01T18:00 (with Z or +02:00 for a zone)
= 65
$ sluice-admin vacation set bob@example.org --subject Away --body-file <dir>/no-such-file
! sluice-admin: error: --body-file: <dir>/no-such-file: No such file or directory
= 66
$ sluice-admin vacation set bob@example.org --subject Away --body-file -
! sluice-admin: error: --body-file: longer than 65536 bytes
= 65
$ sluice-admin vacation set bob@example.org --subject Away --body-file -
! sluice-admin: error: --body-file: the text is empty
= 65
$ sluice-admin vacation set nobody@example.org --subject x --body-file <dir>/away.txt
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin vacation set bob@example.org --subject 'Away until Monday' --body-file <dir>/away.txt --from 2099-01-01 --until 2099-01-06 --days 3 --address sales@example.org
vacation reply set for bob@example.org from <time> +0000 until <time> +0000
= 0
$ sluice-admin vacation show bob@example.org
mailbox:   bob@example.org
state:     scheduled
subject:   Away until Monday
from:      <time>
until:     <time>
days:      3
addresses: sales@example.org
modified:  <time>
body:      I am away.
Back on Monday: "urgent" to carol@example.org.
= 0
$ sluice-admin vacation show bob@example.org --json
{"mailbox":"bob@example.org","state":"scheduled","subject":"Away until Monday","from":"<time>","until":"<time>","days":3,"addresses":["sales@example.org"],"modified":"<time>","body":"I am away.\nBack on Monday: \"urgent\" to carol@example.org."}
= 0
$ sluice-admin vacation set bob@example.org --subject Old --body-file - --until 2020-01-01T12:00Z --json
{"action":"vacation.set","object":"bob@example.org","details":{"subject":"Old","body_size":5,"until":1577880000,"addresses":[]}}
! sluice-admin: note: --until is already past: no reply will be sent
= 0
$ sluice-admin vacation show bob@example.org
mailbox:   bob@example.org
state:     ended
subject:   Old
from:      -
until:     <time>
days:      -
addresses: -
modified:  <time>
body:      Gone.
= 0
$ sluice-admin vacation off bob@example.org
vacation reply of bob@example.org switched off
= 0
$ sluice-admin vacation off bob@example.org --json
{"action":"vacation.off","object":"bob@example.org","details":{}}
= 0
$ sluice-admin vacation show bob@example.org --json
{"mailbox":"bob@example.org","state":"off","subject":"Old","from":null,"until":"<time>","days":null,"addresses":[],"modified":"<time>","body":"Gone."}
= 0
$ sluice-admin vacation show nobody@example.org
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin mailbox delete dave@example.org
! sluice-admin: error: not deleted: mailbox dave@example.org holds 0 messages (0 bytes); deleting it removes it, its folders, message index and Sieve scripts from the database and leaves its mail files under <mail_root>/example.org/dave.3 on disk; run again with --yes to delete it
= 64
$ sluice-admin mailbox delete dave@example.org --yes
deleted mailbox dave@example.org with 0 messages (0 bytes); its mail files under <mail_root>/example.org/dave.3 are left on disk
! sluice-admin: note: 1 alias destinations still name dave@example.org; see 'sluice-admin alias list --destination dave@example.org'
= 0
$ sluice-admin alias show dave@example.org
address:      dave@example.org
domain:       example.org
local_part:   dave
catch_all:    no
active:       yes
destinations: keep@remote.example
created:      <time>
modified:     <time>
= 0
$ sluice-admin mailbox delete carol@example.org --yes
deleted mailbox carol@example.org with 0 messages (0 bytes); its mail files under <mail_root>/example.org/carol.2 are left on disk
! sluice-admin: note: 1 alias destinations still name carol@example.org; see 'sluice-admin alias list --destination carol@example.org'
= 0
$ sluice-admin mailbox delete info@example.org -y --json
{"action":"mailbox.delete","object":"info@example.org","details":{"messages":0,"bytes":0,"mail_files_left":"<mail_root>/example.org/info.4"}}
= 0
$ sluice-admin mailbox delete carol@example.org --yes --bogus
! sluice-admin: error: mailbox delete: unknown option '--bogus' (see 'sluice-admin mailbox delete --help')
= 64
$ sluice-admin mailbox delete nobody@example.org --yes
! sluice-admin: error: no such mailbox: nobody@example.org
= 67
$ sluice-admin alias delete later@example.org
deleted alias later@example.org
= 0
$ sluice-admin alias delete @example.org --json
{"action":"alias.delete","object":"@example.org","details":{}}
= 0
$ sluice-admin alias delete nobody@example.org
! sluice-admin: error: no such alias: nobody@example.org
= 67
$ sluice-admin alias-domain delete example.com
deleted alias domain example.com (of example.org)
= 0
$ sluice-admin alias-domain delete example.net --json
{"action":"alias_domain.delete","object":"example.net","details":{"target":"example.org"}}
= 0
$ sluice-admin alias-domain delete example.net
! sluice-admin: error: no such alias domain: example.net
= 67
$ sluice-admin domain delete example.org
! sluice-admin: error: not deleted: domain example.org has 1 mailboxes, 4 aliases and 0 alias domains; deleting it removes them all from the database and leaves the mail files under <mail_root>/example.org/ on disk; run again with --yes to delete it
= 64
$ sluice-admin domain delete third.example --yes
deleted domain third.example with 0 mailboxes, 0 aliases and 0 alias domains; the mail files under <mail_root>/third.example/ are left on disk
= 0
$ sluice-admin domain delete second.example -y --json
{"action":"domain.delete","object":"second.example","details":{"mailboxes":0,"aliases":0,"alias_domains":0,"mail_files_left":"<mail_root>/second.example/"}}
= 0
$ sluice-admin domain delete example.org --yes
deleted domain example.org with 1 mailboxes, 4 aliases and 0 alias domains; the mail files under <mail_root>/example.org/ are left on disk
= 0
$ sluice-admin domain delete nowhere.example --yes
! sluice-admin: error: no such domain: nowhere.example
= 67
$ sluice-admin domain list
DOMAIN  ACTIVE  MAILBOXES  MAX-MAILBOXES  ALIASES  MAX-ALIASES  QUOTA  MAILBOX-QUOTA
= 0
$ sluice-admin config show mail_root sieve_max_script_size
mail_root = <mail_root>
sieve_max_script_size = 4K
= 0
$ sluice-admin config show -n --json sieve_max_script_size
{"sieve_max_script_size":4096}
= 0
$ sluice-admin config show no_such_setting
! sluice-admin: error: unknown setting 'no_such_setting'
= 65
$ sluice-admin db status extra
! sluice-admin: error: db status: too many arguments (see 'sluice-admin db status --help')
= 64
$ sluice-admin frobnicate
! sluice-admin: error: unknown command 'frobnicate' (see 'sluice-admin --help')
= 64
$ sluice-admin domain frob
! sluice-admin: error: unknown command 'domain frob' (see 'sluice-admin domain --help')
= 64
audit {"action": "domain.add", "actor": "<actor>", "details": {"active": true, "backup_mx": false, "default_mailbox_quota_bytes": 1073741824, "description": "Main \"one\"", "max_aliases": 8, "max_mailboxes": 5, "quota_bytes": 10737418240}, "object": "example.org"}
audit {"action": "domain.add", "actor": "<actor>", "details": {"active": false, "backup_mx": true, "default_mailbox_quota_bytes": 0, "description": "", "max_aliases": 0, "max_mailboxes": 0, "quota_bytes": 0}, "object": "second.example"}
audit {"action": "domain.add", "actor": "<actor>", "details": {"active": true, "backup_mx": false, "default_mailbox_quota_bytes": 0, "description": "", "max_aliases": 0, "max_mailboxes": 0, "quota_bytes": 0}, "object": "third.example"}
audit {"action": "domain.edit", "actor": "<actor>", "details": {"active": false, "backup_mx": true, "description": "Third", "max_mailboxes": 0}, "object": "third.example"}
audit {"action": "domain.edit", "actor": "<actor>", "details": {"quota_bytes": 2147483648}, "object": "third.example"}
audit {"action": "mailbox.add", "actor": "<actor>", "details": {"active": true, "display_name": "Bob Ä", "id": 1, "password_set": true, "quota_bytes": 1073741824, "quota_messages": 0, "send_as_domain": false, "storage_dir": "example.org/bob.1"}, "object": "bob@example.org"}
audit {"action": "mailbox.add", "actor": "<actor>", "details": {"active": true, "display_name": "", "id": 2, "password_set": false, "quota_bytes": 2147483648, "quota_messages": 100, "send_as_domain": true, "storage_dir": "example.org/carol.2"}, "object": "carol@example.org"}
audit {"action": "mailbox.add", "actor": "<actor>", "details": {"active": false, "display_name": "", "id": 3, "password_set": false, "quota_bytes": 1048576, "quota_messages": 0, "send_as_domain": false, "storage_dir": "example.org/dave.3"}, "object": "dave@example.org"}
audit {"action": "mailbox.passwd", "actor": "<actor>", "details": {}, "object": "bob@example.org"}
audit {"action": "mailbox.passwd", "actor": "<actor>", "details": {}, "object": "bob@example.org"}
audit {"action": "mailbox.edit", "actor": "<actor>", "details": {"active": false, "display_name": "Bob B", "quota_bytes": 1610612736, "quota_messages": 50, "send_as_domain": true}, "object": "bob@example.org"}
audit {"action": "mailbox.edit", "actor": "<actor>", "details": {"quota_bytes": 1073741824}, "object": "bob@example.org"}
audit {"action": "alias.add", "actor": "<actor>", "details": {"active": true, "destinations": ["bob@example.org", "carol@elsewhere.test"]}, "object": "info@example.org"}
audit {"action": "alias.add", "actor": "<actor>", "details": {"active": true, "destinations": ["bob@example.org"]}, "object": "@example.org"}
audit {"action": "alias.add", "actor": "<actor>", "details": {"active": true, "destinations": ["dave@example.org", "keep@remote.example"]}, "object": "dave@example.org"}
audit {"action": "alias.add", "actor": "<actor>", "details": {"active": true, "destinations": ["carol@example.org", "dave@example.org"]}, "object": "team@example.org"}
audit {"action": "alias.add", "actor": "<actor>", "details": {"active": false, "destinations": ["nobody@example.org"]}, "object": "later@example.org"}
audit {"action": "alias.add", "actor": "<actor>", "details": {"active": true, "destinations": ["z@example.org"]}, "object": "y@example.org"}
audit {"action": "mailbox.add", "actor": "<actor>", "details": {"active": true, "display_name": "", "id": 4, "password_set": false, "quota_bytes": 1048576, "quota_messages": 0, "send_as_domain": false, "storage_dir": "example.org/info.4"}, "object": "info@example.org"}
audit {"action": "alias.edit", "actor": "<actor>", "details": {"active": true, "destinations": ["bob@example.org", "x@remote.example"]}, "object": "info@example.org"}
audit {"action": "alias.edit", "actor": "<actor>", "details": {"active": false, "destinations": ["z@remote.example"]}, "object": "info@example.org"}
audit {"action": "alias_domain.add", "actor": "<actor>", "details": {"active": true, "target": "example.org"}, "object": "example.net"}
audit {"action": "alias_domain.add", "actor": "<actor>", "details": {"active": false, "target": "example.org"}, "object": "example.com"}
audit {"action": "domain.add", "actor": "<actor>", "details": {"active": true, "backup_mx": false, "default_mailbox_quota_bytes": 0, "description": "", "max_aliases": 1, "max_mailboxes": 1, "quota_bytes": 0}, "object": "limits.example"}
audit {"action": "mailbox.add", "actor": "<actor>", "details": {"active": true, "display_name": "", "id": 5, "password_set": false, "quota_bytes": 0, "quota_messages": 0, "send_as_domain": false, "storage_dir": "limits.example/a.5"}, "object": "a@limits.example"}
audit {"action": "alias.add", "actor": "<actor>", "details": {"active": true, "destinations": ["a@limits.example"]}, "object": "x@limits.example"}
audit {"action": "domain.delete", "actor": "<actor>", "details": {"alias_domains": 0, "aliases": 1, "mail_files_left": "<mail_root>/limits.example/", "mailboxes": 1}, "object": "limits.example"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": false, "name": "filter", "size": 83}, "object": "bob@example.org"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": false, "name": "filter", "size": 88}, "object": "bob@example.org"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": false, "name": "main", "size": 53}, "object": "bob@example.org"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": false, "name": "helper", "size": 34}, "object": "bob@example.org"}
audit {"action": "sieve.activate", "actor": "<actor>", "details": {"active": true, "name": "main"}, "object": "bob@example.org"}
audit {"action": "sieve.delete", "actor": "<actor>", "details": {"active": false, "name": "helper"}, "object": "bob@example.org"}
audit {"action": "sieve.deactivate", "actor": "<actor>", "details": {"active": false, "name": "main"}, "object": "bob@example.org"}
audit {"action": "sieve.delete", "actor": "<actor>", "details": {"active": false, "name": "main"}, "object": "bob@example.org"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": true, "name": "x", "size": 6}, "object": "bob@example.org"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": true, "name": "x", "size": 10}, "object": "bob@example.org"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": true, "name": "x", "size": 10}, "object": "bob@example.org"}
audit {"action": "sieve.delete", "actor": "<actor>", "details": {"active": true, "name": "x"}, "object": "bob@example.org"}
audit {"action": "sieve.put", "actor": "<actor>", "details": {"active": true, "name": "y", "size": 9}, "object": "bob@example.org"}
audit {"action": "sieve.delete", "actor": "<actor>", "details": {"active": true, "name": "y"}, "object": "bob@example.org"}
audit {"action": "vacation.set", "actor": "<actor>", "details": {"addresses": ["sales@example.org"], "body_size": 57, "days": 3, "from": 4070908800, "subject": "Away until Monday", "until": 4071427200}, "object": "bob@example.org"}
audit {"action": "vacation.set", "actor": "<actor>", "details": {"addresses": [], "body_size": 5, "subject": "Old", "until": 1577880000}, "object": "bob@example.org"}
audit {"action": "vacation.off", "actor": "<actor>", "details": {}, "object": "bob@example.org"}
audit {"action": "vacation.off", "actor": "<actor>", "details": {"was_off": true}, "object": "bob@example.org"}
audit {"action": "mailbox.delete", "actor": "<actor>", "details": {"bytes": 0, "mail_files_left": "<mail_root>/example.org/dave.3", "messages": 0}, "object": "dave@example.org"}
audit {"action": "mailbox.delete", "actor": "<actor>", "details": {"bytes": 0, "mail_files_left": "<mail_root>/example.org/carol.2", "messages": 0}, "object": "carol@example.org"}
audit {"action": "mailbox.delete", "actor": "<actor>", "details": {"bytes": 0, "mail_files_left": "<mail_root>/example.org/info.4", "messages": 0}, "object": "info@example.org"}
audit {"action": "alias.delete", "actor": "<actor>", "details": {}, "object": "later@example.org"}
audit {"action": "alias.delete", "actor": "<actor>", "details": {}, "object": "@example.org"}
audit {"action": "alias_domain.delete", "actor": "<actor>", "details": {"target": "example.org"}, "object": "example.com"}
audit {"action": "alias_domain.delete", "actor": "<actor>", "details": {"target": "example.org"}, "object": "example.net"}
audit {"action": "domain.delete", "actor": "<actor>", "details": {"alias_domains": 0, "aliases": 0, "mail_files_left": "<mail_root>/third.example/", "mailboxes": 0}, "object": "third.example"}
audit {"action": "domain.delete", "actor": "<actor>", "details": {"alias_domains": 0, "aliases": 0, "mail_files_left": "<mail_root>/second.example/", "mailboxes": 0}, "object": "second.example"}
audit {"action": "domain.delete", "actor": "<actor>", "details": {"alias_domains": 0, "aliases": 4, "mail_files_left": "<mail_root>/example.org/", "mailboxes": 1}, "object": "example.org"}
"""[1:]


if __name__ == "__main__":
    run([test_golden_transcript])
