#!/usr/bin/env python3
"""test_store.py: the mail store library (lib/store.h) as sluice-imapd will use
it, driven through tests/helpers/store_probe against a private PostgreSQL:
append with flags and keywords, read back, copy (new hard links, UIDs, quota),
move (same file, new UID, expunge recorded), flag changes with MODSEQ, expunge
(rows, usage, files), folders (create, rename with children, delete with
files), NOTIFY on the mailbox's channel; and `sluice-admin store check` and
`quota recalc` repairing what a crash or a hand broke: files without rows,
rows without files, tmp leftovers, a bad UIDNEXT, drifted usage, and the
grace period that protects a delivery in flight.
"""
import json
import os
import subprocess
import tempfile
import time

import storetest
from sluicetest import run

W = None
BOX = "ivy@example.test"


def setup():
    global W
    W = storetest.World("sluice-store-test-")
    W.admin("domain", "add", "example.test")
    W.mailbox(BOX)
    W.mailbox("jon@example.test", "--quota", "10K")


def write_msg(subject, body="Body text.\r\n"):
    fd, path = tempfile.mkstemp(dir=W.tmp)
    os.write(fd, storetest.message(subject, body))
    os.close(fd)
    return path


def uids(out):
    return [tuple(int(x) for x in p.split()) for p in out.get("pair", [])]


def test_append_and_read():
    path = write_msg("one")
    out = W.probe("append", BOX, "INBOX", path, "1", "$Label1", "work")
    assert out["uid"] == ["1"], out
    row = W.probe("row", BOX, "INBOX", "1")
    assert row["flags"] == ["1"] and row["keywords"] == ["{$Label1,work}"], row
    assert row["header_prefix"] == [""], row
    data = W.probe("read", BOX, "INBOX", "1", binary=True)
    assert data == open(path, "rb").read(), data
    assert W.usage(BOX)[:2] == (len(data), 1)
    out = W.probe("append", BOX, "INBOX", write_msg("two"))
    assert out["uid"] == ["2"] and int(out["modseq"][0]) > int(row["modseq"][0]), out


def test_copy_move_flags_expunge():
    W.probe("mkdir", BOX, "Work")
    before = W.usage(BOX)
    out = W.probe("copy", BOX, "INBOX", "1,2,99", "Work")
    assert uids(out) == [(1, 1), (2, 2)], out
    after = W.usage(BOX)
    assert after[1] == before[1] + 2 and after[0] > before[0], (before, after)
    src = {r[0]: r[1] for r in W.rows(BOX, "INBOX")}
    dst = {r[0]: r[1] for r in W.rows(BOX, "Work")}
    sdir = W.storage_dir(BOX)
    # a copy is a new name for the same file
    a, b = os.stat(W.blob_path(sdir, src["1"])), os.stat(W.blob_path(sdir, dst["1"]))
    assert a.st_ino == b.st_ino and src["1"] != dst["1"], (src, dst)
    # move: same file, new UID in Archive, expunge remembered in Work
    out = W.probe("move", BOX, "Work", "2", "Archive")
    assert uids(out) == [(2, 1)], out
    (uid, blob, _, _), = W.rows(BOX, "Archive")
    assert blob == dst["2"]
    assert W.sql("SELECT count(*) FROM expunged_messages e JOIN folders f ON f.id = e.folder_id "
                 "WHERE f.name = 'Work' AND e.uid = 2") == "1"
    assert W.usage(BOX) == after
    # flags: one new MODSEQ for what changed, nothing for what did not
    out = W.probe("flags", BOX, "INBOX", "1,2", "add", "2", "todo")
    assert len(out["changed"]) == 2, out
    m1 = int(out["changed"][0].split()[2])
    out = W.probe("flags", BOX, "INBOX", "1,2", "add", "2", "todo")
    assert "changed" not in out, out
    out = W.probe("flags", BOX, "INBOX", "1", "remove", "1", "$Label1")
    assert out["changed"] == ["1 modseq %d flags 2 keywords todo work" % (m1 + 1)], out
    out = W.probe("flags", BOX, "INBOX", "2", "replace", "8")
    assert out["changed"][0].endswith("flags 8 keywords"), out
    # expunge: rows, usage and the file
    path = W.blob_path(sdir, dst["1"])
    out = W.probe("expunge", BOX, "Work", "1,5")
    assert out["expunged"] == ["1"], out
    assert not os.path.exists(path)
    assert os.path.exists(W.blob_path(sdir, src["1"]))  # the other link stays
    assert W.usage(BOX)[1] == after[1] - 1


def test_copy_over_quota():
    W.probe("append", "jon@example.test", "INBOX", write_msg("big", "b" * 6000 + "\r\n"))
    out = W.probe("copy", "jon@example.test", "INBOX", "1", "Trash", check=False)
    assert out.get("status") == ["over quota"], out
    assert W.rows("jon@example.test", "Trash") == []
    # no link left behind for the refused copy
    sdir = os.path.join(W.mail_root, W.storage_dir("jon@example.test"))
    files = [f for d, _, fs in os.walk(sdir) for f in fs]
    assert len(files) == 1, files
    out = W.probe("append", "jon@example.test", "INBOX", write_msg("big2", "b" * 6000 + "\r\n"),
                  check=False)
    assert out.get("status") == ["over quota"], out


def test_folders():
    W.probe("mkdir", BOX, "Lists")
    W.probe("mkdir", BOX, "Lists/dev")
    out = W.probe("mkdir", BOX, "Lists", check=False)
    assert out.get("status") == ["already exists"], out
    assert W.probe("mkdir", BOX, "bad//name", check=False).get("status") == ["invalid"]
    W.probe("append", BOX, "Lists/dev", write_msg("in dev"))
    W.probe("rename", BOX, "Lists", "Groups")
    names = W.sql("SELECT string_agg(f.name, ',' ORDER BY f.name) FROM folders f JOIN "
                  "mailbox_directory d ON d.id = f.mailbox_id WHERE d.local_part = 'ivy'")
    assert "Groups,Groups/dev" in names and "Lists" not in names, names
    assert W.probe("rename", BOX, "INBOX", "X", check=False).get("status") == ["invalid"]
    assert W.probe("rmdir", BOX, "inbox", check=False).get("status") == ["invalid"]
    (_, blob, _, _), = W.rows(BOX, "Groups/dev")
    path = W.blob_path(W.storage_dir(BOX), blob)
    used = W.usage(BOX)
    W.probe("rmdir", BOX, "Groups/dev")
    assert not os.path.exists(path)
    assert W.usage(BOX)[1] == used[1] - 1


def test_notify():
    sub = subprocess.Popen(["psql", "-X", "-q", "-d", W.super_url], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    mbox = W.probe("lookup", BOX)["id"][0]
    sub.stdin.write("LISTEN sluice_mailbox_%s;\nSELECT 1;\n" % mbox)
    sub.stdin.flush()
    time.sleep(0.3)
    out = W.probe("append", BOX, "INBOX", write_msg("notified"))
    time.sleep(0.3)
    out, _ = sub.communicate("SELECT 2;\n", timeout=20)
    inbox = W.probe("lookup", BOX)["inbox"][0]
    assert 'notification "sluice_mailbox_%s" with payload "%s ' % (mbox, inbox) in out, out


def check_json(*args):
    r = W.admin("--json", "store", "check", *args)
    return json.loads(r.stdout)


def test_store_check_repairs():
    sdir = os.path.join(W.mail_root, W.storage_dir(BOX))
    rows = W.rows(BOX, "INBOX")
    clean = check_json("--dry-run", "--grace", "0")
    assert clean["orphan_files"] == 0 and clean["missing_files"] == 0, clean
    # a file without a row (old, and a young one), a row without a file, a tmp leftover
    month = os.path.dirname(os.path.join(sdir, rows[0][1]))
    old = os.path.join(month, "1.deadbeef")
    young = os.path.join(month, "2.cafebabe")
    for p in (old, young):
        with open(p, "w") as f:
            f.write("orphan\r\n")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    lost_uid, lost_blob = rows[-1][0], rows[-1][1]
    os.unlink(os.path.join(sdir, lost_blob))
    os.makedirs(os.path.join(W.mail_root, "tmp"), exist_ok=True)
    tmpfile = os.path.join(W.mail_root, "tmp", "123.left")
    open(tmpfile, "w").close()
    os.utime(tmpfile, (time.time() - 7200, time.time() - 7200))
    # the usage drifted and a UIDNEXT went wrong
    W.sql("UPDATE quota_usage SET bytes = 1, messages = 999")
    W.sql("UPDATE folders SET uidnext = 1 WHERE name = 'INBOX'")
    report = check_json("--dry-run")
    assert report["orphan_files"] == 1 and report["young_files"] == 1, report
    assert report["missing_files"] == 1 and report["tmp_files"] == 1, report
    assert os.path.exists(old)  # a dry run changes nothing
    report = check_json()  # default grace (15 minutes): the young file stays
    assert report["orphan_files"] == 1 and report["missing_files"] == 1, report
    assert report["uidnext_fixed"] >= 1, report
    assert not os.path.exists(old) and os.path.exists(young) and not os.path.exists(tmpfile)
    assert lost_uid not in [r[0] for r in W.rows(BOX, "INBOX")]
    count = int(W.sql("SELECT count(*) FROM messages m JOIN folders f ON f.id = m.folder_id "
                      "JOIN mailbox_directory d ON d.id = f.mailbox_id WHERE d.local_part = 'ivy'"))
    assert W.usage(BOX)[1] == count
    # a new append never reuses a UID
    out = W.probe("append", BOX, "INBOX", write_msg("after check"))
    assert int(out["uid"][0]) > max(int(r[0]) for r in rows), out
    report = check_json("--grace", "0", BOX)
    assert report["orphan_files"] == 1 and not os.path.exists(young), report
    report = check_json("--dry-run", "--grace", "0")
    assert report["orphan_files"] == 0 and report["missing_files"] == 0, report


def test_quota_recalc_and_show():
    W.sql("UPDATE quota_usage SET bytes = bytes + 5000, messages = messages + 3")
    r = W.admin("quota", "recalc")
    assert r.stdout.startswith("recounted"), r.stdout
    total = int(W.sql("SELECT coalesce(sum(size), 0) FROM messages"))
    assert int(W.sql("SELECT sum(bytes) FROM quota_usage")) == total
    r = W.admin("--json", "quota", "recalc", "--domain", "example.test")
    assert json.loads(r.stdout)["new_bytes"] == total
    r = W.admin("quota", "recalc", "nobody@example.test", check=False)
    assert r.returncode == 67, r
    r = W.admin("--json", "quota", "show", BOX)
    assert json.loads(r.stdout)["used_bytes"] == W.usage(BOX)[0]


def main():
    setup()
    try:
        run([test_append_and_read, test_copy_move_flags_expunge, test_copy_over_quota,
             test_folders, test_notify, test_store_check_repairs, test_quota_recalc_and_show])
    finally:
        W.close()


if __name__ == "__main__":
    main()
