#!/usr/bin/env python3
"""test_recipient.py: lib/recipient.c, the resolver sluice-smtpd,
sluice-qmgr and sluice-lmtpd share, driven through tests/helpers/
recipient_probe against a fresh database made with `sluice-admin`: address
classes, alias expansion (chains, alias domains, catch-all, the recipient
delimiter and where the extension goes, a copy kept by an alias of a
mailbox's own address, duplicates), loops and the depth and size bounds,
the delivery agent's mailbox lookup without aliases, and the sender rights
of a logged-in mailbox.
"""
import os
import subprocess
import tempfile

import sluicetest
from sluicetest import build_path, psql, run
from smtptest import ADMIN, populate

PROBE = build_path("tests", "helpers", "recipient_probe")
URL = None
TMP = None


def setup():
    global URL, TMP
    URL = sluicetest.fresh_database()
    TMP = tempfile.mkdtemp(prefix="sluice-recipient-test-")
    conf = os.path.join(TMP, "admin.conf")
    with open(conf, "w") as f:
        f.write("db_url = %s\n" % URL)

    def admin(*args, stdin=None):
        return subprocess.run([ADMIN, "-c", conf] + list(args), input=stdin, check=True,
                              capture_output=True, text=True).stdout

    admin("db", "migrate")
    populate(admin, URL)
    admin("mailbox", "add", "ext+exact@example.test", "--password-stdin", stdin="x-Secret-8\n")
    # a chain deeper than the walk may go: c1 -> c2 -> ... -> c6 -> alice
    for i in range(6, 0, -1):
        admin("alias", "add", "c%d@example.test" % i,
              "c%d@example.test" % (i + 1) if i < 6 else "alice@example.test")


def probe(commands, delimiters="+", depth=5, max_dest=50):
    """Run commands; returns one list of answer lines per command."""
    text = "".join("\t".join(c) + "\n" for c in commands)
    out = subprocess.run([PROBE, URL, delimiters, str(depth), str(max_dest)], input=text,
                         capture_output=True, text=True, check=True).stdout
    blocks, cur = [], []
    for line in out.splitlines():
        if line == "end":
            blocks.append(cur)
            cur = []
        else:
            cur.append(line)
    assert len(blocks) == len(commands), out
    return blocks


def resolve(address, *flags, **kw):
    block = probe([("resolve", address) + flags], **kw)[0]
    assert block[0].startswith("flags "), block
    head = dict(kv.split("=") for kv in block[0].split()[1:])
    dests = {}
    for line in block[1:]:
        kind, addr, *rest = line.split(" ")
        dests[addr] = dict([("kind", kind)] + [kv.split("=", 1) for kv in rest])
    return head, dests


def kinds(address, *flags, **kw):
    head, dests = resolve(address, *flags, **kw)
    return head, {a: d["kind"] for a, d in dests.items()}


def test_address_classes():
    cases = {
        "alice@example.test": ("1", {"alice@example.test": "mailbox"}),
        "ALICE@Example.TEST": ("1", {"alice@example.test": "mailbox"}),
        "off@example.test": ("1", {"off@example.test": "disabled"}),
        "eve@off.test": ("1", {"eve@off.test": "unknown"}),
        "nobody@example.test": ("1", {"nobody@example.test": "unknown"}),
        "x@relay.test": ("0", {"x@relay.test": "relay"}),
        "x@gmail.com": ("0", {"x@gmail.com": "remote"}),
        "fwd@example.test": ("1", {"someone@remote.test": "remote"}),
        "nobody@alias.test": ("1", {"nobody@example.test": "unknown"}),
    }
    for address, (ours, want) in cases.items():
        head, got = kinds(address)
        assert head["ours"] == ours and got == want, (address, head, got)


def test_expansion_rules():
    head, d = resolve("sales+q@alias.test")
    assert head == {"ours": "1", "loop": "0", "truncated": "0"}, head
    assert {a: (x["kind"], x["ext"]) for a, x in d.items()} == {
        "alice+q@example.test": ("mailbox", "+q"), "bob+q@example.test": ("mailbox", "+q"),
        "carol+q@example.test": ("mailbox", "+q"), "friend@remote.test": ("remote", "")}, d
    # the catch-all, and without it (the sender check)
    head, d = resolve("random@two.test")
    assert d["dave@two.test"]["catchall"] == "1", d
    assert kinds("random@two.test", "nocatchall")[1] == {"random@two.test": "unknown"}
    # an address that exists is never the catch-all's
    assert resolve("dave@two.test")[1]["dave@two.test"]["catchall"] == "0"
    # an exact mailbox with a delimiter in its name wins over the base
    assert kinds("ext+exact@example.test")[1] == {"ext+exact@example.test": "mailbox"}
    assert kinds("ext+other@example.test")[1] == {"ext+other@example.test": "unknown"}
    # another delimiter set; none at all
    assert kinds("alice-x@example.test", delimiters="+-")[1] == {"alice-x@example.test": "mailbox"}
    assert kinds("alice+x@example.test", delimiters="")[1] == {"alice+x@example.test": "unknown"}
    # "+tag" alone has no base to go to
    assert kinds("+alice@example.test")[1] == {"+alice@example.test": "unknown"}
    # quota figures come along for mailboxes
    d = resolve("fullmix@example.test")[1]
    assert (d["full@example.test"]["quota"], d["full@example.test"]["used"]) == ("10240/0", "10240/3"), d
    assert d["alice@example.test"]["dir"] != "-"


def test_loops_and_bounds():
    head, d = kinds("loop1@example.test")
    assert head["loop"] == "1" and d == {}, (head, d)
    # c1 .. c6 -> alice is 7 steps: too deep for 5, fine for 10
    head, d = kinds("c1@example.test", depth=5)
    assert head["loop"] == "1" and d == {}, (head, d)
    head, d = kinds("c1@example.test", depth=10)
    assert head["loop"] == "0" and d == {"alice@example.test": "mailbox"}, (head, d)
    head, d = kinds("sales@example.test", max_dest=2)
    assert head["truncated"] == "1" and len(d) <= 2, (head, d)


def test_mailbox_lookup():
    blocks = probe([("mailbox", "Alice+x@alias.test"), ("mailbox", "team@example.test"),
                    ("mailbox", "off@example.test"), ("mailbox", "ext+exact@example.test"),
                    ("mailbox", "random@two.test"), ("mailbox", "x@gmail.com")])
    assert blocks[0][0].startswith("mailbox alice+x@example.test ") and " ext=+x " in blocks[0][0]
    assert blocks[1] == ["none"], blocks[1]  # aliases are not the delivery agent's business
    assert blocks[2][0].startswith("disabled off@example.test ")
    assert blocks[3][0].startswith("mailbox ext+exact@example.test ") and " ext= " in blocks[3][0]
    assert blocks[4] == ["none"] and blocks[5] == ["none"]


def test_send_as():
    cases = [
        ("alice@example.test", "alice@example.test", "allowed"),
        ("alice@example.test", "alice+tag@alias.test", "allowed"),
        ("alice@example.test", "team@example.test", "allowed"),
        ("alice@example.test", "<>", "allowed"),
        ("alice@example.test", "bob@example.test", "refused"),
        ("alice@example.test", "c1@example.test", "allowed"),
        ("webapp@example.test", "whoever@alias.test", "allowed"),
        ("webapp@example.test", "whoever@two.test", "refused"),
        ("dave@two.test", "random@two.test", "refused"),
        ("ghost@example.test", "ghost@example.test", "refused"),
    ]
    blocks = probe([("sendas", login, sender) for login, sender, _ in cases], depth=10)
    for (login, sender, want), got in zip(cases, blocks):
        assert got == [want], (login, sender, got)
    psql(URL, "UPDATE domains SET send_as_domain = true WHERE name = 'two.test'")
    assert probe([("sendas", "dave@two.test", "random@two.test")]) == [["allowed"]]


if __name__ == "__main__":
    setup()
    run([test_address_classes, test_expansion_rules, test_loops_and_bounds, test_mailbox_lookup,
         test_send_as])
