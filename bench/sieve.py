#!/usr/bin/env python3
"""
bench/sieve.py: Sieve evaluation throughput, sluice-sieve vs Pigeonhole's sieve-test.

    bench/sieve.py [--messages N] [--sample N] [--block N] [--build DIR] [--keep-tmp]

Generates one 50-rule Sieve script (header, address, body, regex, variables, fileinto,
imap4flags) and N varied ~4 KiB messages from a fixed seed, then runs both tools on the
same script and messages in the same run. Both tools take one message per process, so
both are measured with the same loop: this driver spawns the tool once per message
(stdout and stderr to /dev/null, as the unprivileged `sluice` user because sieve-test
refuses to run as root), one at a time. The messages are split into blocks and the tools
take turns block by block, so a change in machine load hits all of them alike.

Measured per tool: messages/second of wall time, and messages per CPU second (user+sys of
the spawned processes, from RUSAGE_CHILDREN), which is steadier on a shared machine.

- sluice-sieve: compiles the script for every message (it has no compiled-script cache).
- sieve-test (compile): the script lives in a directory sieve-test cannot write, so it
  compiles the script for every message too: the same work as sluice-sieve.
- sieve-test (cached .svbin): the script's directory is writable and holds an up-to-date
  compiled binary, so sieve-test loads it instead of compiling (Pigeonhole's normal mode).
- "config preloaded": every Dovecot tool started plainly execs doveconf, which parses
  /etc/dovecot and execs the tool again with the settings in its environment (three execs
  per message). The preloaded variants take that environment once from
  `doveconf -m mail -e env` and start sieve-test with it, so each message costs one exec, as
  it does for sluice-sieve. The script checks that this prints the same as a plain run.
- process floor: both tools on a one-line script (`keep;`) and a tiny message, which is
  what process start-up alone costs.

Then both tools run on a sample of the messages and their outputs are compared after
turning sieve-test's "Performed actions" report into the lines of
shared/sieve/FORMAT.md; the count of differing messages is printed (information only).

Builds mda/sluice-sieve in a release build (build-bench, or build-bench-sieve when another
ninja/meson is running on build-bench) and installs dovecot-sieve if sieve-test is missing.
"""
import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = 20261125
FROM, TO, FOLDER = "alice@example.org", "bob@example.com", "INBOX"
RUN_USER = "sluice"


# ---------------------------------------------------------------- setup

def other_build_running(build):
    """True when some ninja or meson process names BUILD (another helper uses it)."""
    out = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    for line in out.splitlines():
        words = line.split()
        if not words or os.path.basename(words[0]) not in ("ninja", "meson", "python3"):
            continue
        if any(w.rstrip("/") in (build, os.path.join(ROOT, build)) for w in words[1:]):
            if os.path.basename(words[0]) != "python3" or "meson" in line:
                return True
    return False


def build_tool(build):
    if build is None:
        build = "build-bench"
        if other_build_running(build):
            build = "build-bench-sieve"
    path = os.path.join(ROOT, build)
    if not os.path.exists(os.path.join(path, "build.ninja")):
        subprocess.run(["meson", "setup", build, "--buildtype=release"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", build, "mda/sluice-sieve"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return build, os.path.join(path, "mda", "sluice-sieve")


def ensure_sieve_test():
    if shutil.which("sieve-test"):
        return shutil.which("sieve-test")
    # Keep services off during the install, as deploy/common.sh does.
    with open("/usr/sbin/policy-rc.d", "w") as f:
        f.write("#!/bin/sh\nexit 101\n")
    os.chmod("/usr/sbin/policy-rc.d", 0o755)
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "dovecot-sieve"], check=True, stdout=subprocess.DEVNULL)
    finally:
        os.unlink("/usr/sbin/policy-rc.d")
    return shutil.which("sieve-test")


# ---------------------------------------------------------------- generation

TOPICS = ["invoice", "meeting", "report", "release", "outage", "holiday", "budget", "review",
          "deploy", "security", "newsletter", "survey", "contract", "ticket", "backup"]
DOMAINS = ["example.org", "example.net", "corp.example", "lists.example.com", "mail.test",
           "partner.example", "vendor.test", "Example.COM"]
LISTS = ["dev", "announce", "ops", "users", "sales"]
WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when "
         "if so no what up out them more can its time about only into other new some could "
         "these two may first then do any like my now over such our man me even most made "
         "after also did many before must through back years where much your way well down "
         "should because each just those people how too little state good very make world "
         "still own see men work long get here between both life being under never day same "
         "another know while last might us great old year off come since against go came right "
         "used take three").split()
PHRASES = ["unsubscribe", "wire transfer", "lottery", "password reset", "action required",
           "attached invoice", "quarterly numbers", "server down", "free offer", "tracking number"]


def make_script():
    """The 50-rule script: 50 top-level `if` rules, deterministic."""
    r = []
    # Variables from headers, used by later rules.
    r.append('if header :matches "from" "*@*" { set :lower "fromdomain" "${2}"; }')
    r.append('if header :matches "subject" "*" { set "subj" "${1}"; }')
    r.append('if address :localpart :matches "to" "*" { set :lower "rcpt" "${1}"; }')
    r.append('if header :regex "x-mailer" "^([A-Za-z]+)[ /]([0-9]+)" '
             '{ set "mailer" "${1}"; set "mver" "${2}"; }')
    # Subject keywords -> folders (header).
    for t in TOPICS[:10]:
        r.append('if header :contains "subject" "%s" { fileinto "Topics/%s"; }' % (t, t))
    # Sender domains (address).
    for d in DOMAINS[:6]:
        folder = d.split(".")[0]
        r.append('if address :domain :is "from" "%s" { fileinto "Domains/%s"; }' % (d, folder))
    # Mailing lists via List-Id and regex with match variables.
    r.append('if header :regex "list-id" "<([a-z]+)\\\\.lists\\\\.example\\\\.com>" '
             '{ set "list" "${1}"; fileinto "Lists/${list}"; }')
    r.append('if address :regex :localpart "to" "^list-([a-z]+)$" '
             '{ fileinto "Lists/to-${1}"; }')
    r.append('if header :regex "subject" "^\\\\[([a-z]+)-([0-9]+)\\\\]" '
             '{ set :upper "tag" "${1}"; fileinto :flags "$Tagged" "Tags/${tag}"; }')
    r.append('if header :regex "subject" "^(re|fwd?): " { addflag "$Reply"; }')
    r.append('if address :regex :all "from" "^[a-z]+\\\\.[a-z]+@" { addflag "$Person"; }')
    r.append('if header :regex "message-id" "@(mx[0-9]+)\\\\." { set "mx" "${1}"; }')
    # Body tests.
    for i, p in enumerate(PHRASES):
        if i % 2 == 0:
            r.append('if body :text :contains "%s" { addflag "$Body%d"; }' % (p, i))
        else:
            r.append('if body :contains "%s" { fileinto "Body/%s"; }' % (p, p.split()[0]))
    r.append('if body :regex "order #[0-9]{6}" { fileinto :flags ["$Order", "\\\\Flagged"] '
             '"Orders"; }')
    # Header tests on priority, cc, size-like headers.
    r.append('if header :is "x-priority" "1" { addflag "\\\\Flagged"; }')
    r.append('if header :contains ["to", "cc"] "boss@" { addflag "$Boss"; }')
    r.append('if exists "x-spam-flag" { if header :is "x-spam-flag" "YES" '
             '{ fileinto :flags "\\\\Seen" "Junk"; } }')
    r.append('if anyof (header :contains "subject" "urgent", header :is "importance" "high") '
             '{ addflag "\\\\Flagged"; }')
    r.append('if allof (address :domain :is "from" "vendor.test", '
             'not header :contains "subject" "invoice") { fileinto "Vendors"; }')
    r.append('if header :matches "date" "*, * * 2026 *" { set "yr" "2026"; }')
    # Variables used in tests.
    r.append('if string :is "${fromdomain}" "partner.example" { fileinto "Partners/${rcpt}"; }')
    r.append('if string :matches "${subj}" "*weekly*" { fileinto "Weekly"; }')
    r.append('if string :is "${mailer}" "Thunderbird" { addflag "$TB${mver}"; }')
    r.append('if string :regex "${mx}" "^mx[0-4]$" { addflag "$LowMX"; }')
    r.append('if allof (string :is "${yr}" "2026", header :contains "subject" "budget") '
             '{ fileinto "Budget/${yr}"; }')
    r.append('if header :contains "subject" "holiday" { removeflag "$Reply"; }')
    r.append('if header :contains "x-mailer" "mutt" { fileinto :flags "$Text" "Clients/${mailer}"; }')
    assert len(r) == 50, len(r)
    head = ('require ["fileinto", "imap4flags", "variables", "regex", "body"];\n'
            '# 50 rules generated by bench/sieve.py (seed %d)\n' % SEED)
    return head + "\n".join(r) + "\n"


def make_message(rng, i):
    first = rng.choice(["ann", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"])
    last = rng.choice(["smith", "jones", "brown", "lee", "martin", "clark"])
    dom = rng.choice(DOMAINS)
    sender = ("%s.%s@%s" % (first, last, dom)) if rng.random() < 0.6 else ("%s@%s" % (first, dom))
    to = rng.choice(["bob@example.com", "list-%s@example.com" % rng.choice(LISTS),
                     "Bob Builder <bob@example.com>", "team@example.com"])
    subj_words = [rng.choice(WORDS) for _ in range(rng.randint(2, 7))]
    if rng.random() < 0.5:
        subj_words.insert(rng.randint(0, len(subj_words)), rng.choice(TOPICS))
    subj = " ".join(subj_words)
    x = rng.random()
    if x < 0.15:
        subj = "[%s-%d] %s" % (rng.choice(["proj", "ops", "hr"]), rng.randint(1, 999), subj)
    elif x < 0.3:
        subj = rng.choice(["Re: ", "Fwd: ", "RE: "]) + subj
    if rng.random() < 0.05:
        subj += " weekly"
    if rng.random() < 0.05:
        subj = "URGENT " + subj
    day = rng.randint(1, 28)
    hdr = [
        "Return-Path: <%s>" % sender,
        "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\r\n\tby mail.example.com"
        " with ESMTPS id %08X for <bob@example.com>; Tue, %d Nov 2026 10:%02d:00 +0000"
        % (rng.randint(0, 9), rng.randint(0, 9), rng.randint(1, 254), rng.getrandbits(32), day,
           rng.randint(0, 59)),
        "From: %s" % (sender if rng.random() < 0.5 else "\"%s %s\" <%s>" % (
            first.title(), last.title(), sender)),
        "To: %s" % to,
    ]
    if rng.random() < 0.3:
        hdr.append("Cc: %s@example.com" % rng.choice(["boss", "carol", "ops"]))
    hdr += [
        "Subject: %s" % subj,
        "Date: Tue, %d Nov 2026 10:%02d:%02d +0000" % (day, rng.randint(0, 59), rng.randint(0, 59)),
        "Message-ID: <%d.%08x@mx%d.example.net>" % (i, rng.getrandbits(32), rng.randint(0, 9)),
        "MIME-Version: 1.0",
    ]
    if rng.random() < 0.3:
        hdr.append("List-Id: <%s.lists.example.com>" % rng.choice(LISTS))
    if rng.random() < 0.2:
        hdr.append("X-Priority: %d" % rng.choice([1, 3, 5]))
    if rng.random() < 0.1:
        hdr.append("X-Spam-Flag: %s" % rng.choice(["YES", "NO"]))
    if rng.random() < 0.05:
        hdr.append("Importance: high")
    if rng.random() < 0.5:
        hdr.append("X-Mailer: %s" % rng.choice(["Thunderbird 115", "Outlook/16", "mutt 2",
                                                 "Thunderbird/102"]))
    # Body: ~4 KiB of words, with a phrase now and then.
    lines, size, target = [], 0, rng.randint(3300, 4300)
    while size < target:
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 13))]
        if rng.random() < 0.01:
            words.insert(rng.randint(0, len(words)), rng.choice(PHRASES))
        if rng.random() < 0.002:
            words.append("order #%06d" % rng.randint(0, 999999))
        line = " ".join(words)
        lines.append(line)
        size += len(line) + 1
    text = "\n".join(lines) + "\n"
    if rng.random() < 0.2:
        b = "=_b%08x" % rng.getrandbits(32)
        hdr.append('Content-Type: multipart/alternative; boundary="%s"' % b)
        html = "<html><body><p>%s</p></body></html>\n" % rng.choice(PHRASES)
        body = ("--%s\nContent-Type: text/plain; charset=us-ascii\n\n%s--%s\n"
                "Content-Type: text/html; charset=us-ascii\n\n%s--%s--\n" % (b, text, b, html, b))
    else:
        hdr.append("Content-Type: text/plain; charset=us-ascii")
        body = text
    msg = "\n".join(hdr) + "\n\n" + body
    return msg.replace("\r\n", "\n").encode()


# ---------------------------------------------------------------- running

def as_user(user):
    """subprocess arguments that run the child as USER with only its own group."""
    import pwd
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def child_rusage():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_loop(argv_prefix, script, messages, user, env=None):
    """Spawn the tool once per message, one at a time; every run must exit 0.
    Returns (wall s, cpu s)."""
    c0, t0 = child_rusage(), time.perf_counter()
    for m in messages:
        rc = subprocess.run(argv_prefix + [script, m], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, **as_user(user), env=env).returncode
        if rc != 0:
            sys.exit("%s exited %d on %s" % (" ".join(argv_prefix + [script]), rc, m))
    return time.perf_counter() - t0, child_rusage() - c0


SYSTEM_FLAGS = {f.lower(): f for f in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                        "\\Draft")}


def fmt_string(s):
    out = []
    for ch in s.replace("\r\n", "\n"):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02X" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def flag_list(text):
    seen, flags = set(), []
    for f in text.split():
        f = SYSTEM_FLAGS.get(f.lower(), f)
        if f.lower() not in seen:
            seen.add(f.lower())
            flags.append(f)
    return sorted(flags, key=lambda f: f.encode())


def normalize_sieve_test(out, rc):
    """sieve-test's report -> FORMAT.md lines, for the actions this script uses."""
    if rc != 0:
        return "error %s\n" % ("compile" if "ompil" in out else "runtime")
    lines, stores = [], {}
    section = None
    for raw in out.splitlines():
        s = raw.strip()
        if s == "Performed actions:":
            section = "explicit"
            continue
        if s == "Implicit keep:":
            section = "implicit"
            continue
        m = re.match(r"\* store message in folder: (.*)$", s)
        if m:
            folder = m.group(1)
            if folder in stores:
                cur = stores[folder]
                lines[cur][1] = []
            else:
                stores[folder] = len(lines)
                lines.append([folder, []])
            continue
        m = re.match(r"\+ add IMAP flags: (.*)$", s)
        if m and lines:
            lines[-1][1] = flag_list(m.group(1))
            continue
        if s == "* discard":
            lines.append(["discard", None])
            continue
        m = re.match(r"\* redirect message to: <(.*)>$", s)
        if m:
            lines.append(["redirect", m.group(1)])
    res = []
    for what, arg in lines:
        if what == "discard":
            res.append("discard")
        elif what == "redirect":
            res.append("redirect " + fmt_string(arg))
        else:
            head = "keep" if what == FOLDER else "fileinto " + fmt_string(what)
            res.append(" ".join([head] + list(arg)))
    return "".join(r + "\n" for r in res)


def compare(sluice, sieve_test, script, messages, user):
    differ, examples = 0, []
    for m in messages:
        a = subprocess.run([sluice, "-f", FROM, "-r", TO, "-m", FOLDER, script, m],
                           capture_output=True, **as_user(user))
        b = subprocess.run([sieve_test, "-f", FROM, "-r", TO, "-m", FOLDER, script, m],
                           capture_output=True, **as_user(user))
        na = a.stdout.decode("utf-8", "replace")
        nb = normalize_sieve_test(b.stdout.decode("utf-8", "replace") +
                                  b.stderr.decode("utf-8", "replace") * (b.returncode != 0),
                                  b.returncode)
        if na != nb:
            differ += 1
            if len(examples) < 5:
                examples.append((os.path.basename(m), na, nb))
    return differ, examples


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--sample", type=int, default=500, help="messages to compare outputs on")
    ap.add_argument("--block", type=int, default=500, help="messages per turn")
    ap.add_argument("--floor", type=int, default=500, help="runs of the keep; floor test")
    ap.add_argument("--build", default=None, help="build directory (default build-bench)")
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()

    print("uptime before: %s" % uptime(), flush=True)
    build, sluice = build_tool(args.build)
    sieve_test = ensure_sieve_test()
    print("sluice-sieve: %s (release build in %s)" % (sluice, build))
    print("sieve-test:   %s (%s)" % (sieve_test, subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version}", "dovecot-sieve"],
        capture_output=True, text=True).stdout))

    tmp = tempfile.mkdtemp(prefix="sluice-bench-sieve-")
    os.chmod(tmp, 0o755)
    try:
        return run(args, sluice, sieve_test, tmp)
    finally:
        if args.keep_tmp:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, sluice, sieve_test, tmp):
    import pwd
    pw = pwd.getpwnam(RUN_USER)
    text = make_script()
    ro_dir = os.path.join(tmp, "script-ro")      # sieve-test cannot save a .svbin here
    cache_dir = os.path.join(tmp, "script-cache")  # writable: sieve-test keeps a .svbin
    for d in (ro_dir, cache_dir):
        os.mkdir(d, 0o755)
        with open(os.path.join(d, "bench.sieve"), "w") as f:
            f.write(text)
        os.chmod(os.path.join(d, "bench.sieve"), 0o644)
    os.chown(cache_dir, pw.pw_uid, pw.pw_gid)
    script_ro = os.path.join(ro_dir, "bench.sieve")
    script_cache = os.path.join(cache_dir, "bench.sieve")
    with open(os.path.join(tmp, "keep.sieve"), "w") as f:
        f.write("keep;\n")
    with open(os.path.join(tmp, "tiny.eml"), "w") as f:
        f.write("From: a@example.org\nTo: bob@example.com\nSubject: x\n\nx\n")

    rng = random.Random(SEED)
    mdir = os.path.join(tmp, "msgs")
    os.mkdir(mdir, 0o755)
    messages, total = [], 0
    for i in range(args.messages):
        data = make_message(rng, i)
        p = os.path.join(mdir, "%05d.eml" % i)
        with open(p, "wb") as f:
            f.write(data)
        messages.append(p)
        total += len(data)
    print("script: 50 rules, %d bytes; messages: %d, mean %.0f bytes (seed %d)"
          % (len(text), len(messages), total / len(messages), SEED), flush=True)

    opts = ["-f", FROM, "-r", TO, "-m", FOLDER]
    # Check both tools accept the script, and create the .svbin in the writable dir.
    for tool in (sluice, sieve_test):
        r = subprocess.run([tool] + opts + [script_cache, messages[0]], capture_output=True,
                           **as_user(RUN_USER))
        if r.returncode != 0:
            sys.exit("%s failed on the script (exit %d): %s" % (tool, r.returncode,
                                                                r.stderr.decode()[-2000:]))
    if not os.path.exists(os.path.join(cache_dir, "bench.svbin")):
        sys.exit("sieve-test did not save a compiled binary in %s" % cache_dir)

    # Every Dovecot tool first execs doveconf, which parses dovecot.conf and execs the tool
    # again with the settings in its environment. Preloading that environment once (as
    # Dovecot's own services receive it) leaves one exec per message, like sluice-sieve.
    preload = subprocess.run(["doveconf", "-f", "service=sieve-test", "-c",
                              "/etc/dovecot/dovecot.conf", "-m", "mail", "-e", "/usr/bin/env",
                              "-0"], capture_output=True, env={}, **as_user(RUN_USER),
                             check=True).stdout.decode()
    dove_env = dict(v.split("=", 1) for v in preload.split("\0") if "=" in v)
    if dove_env.get("DOVECONF_ENV") != "1":
        sys.exit("doveconf -e did not export DOVECONF_ENV")
    dove_env.update(PATH="/usr/bin:/bin", HOME=os.environ.get("HOME", pw.pw_dir),
                    USER=RUN_USER)
    for script in (script_ro, script_cache):
        r1 = subprocess.run([sieve_test] + opts + [script, messages[0]], capture_output=True,
                            **as_user(RUN_USER))
        r2 = subprocess.run([sieve_test] + opts + [script, messages[0]], capture_output=True,
                            env=dove_env, **as_user(RUN_USER))
        if r1.stdout != r2.stdout or r1.returncode != r2.returncode:
            sys.exit("sieve-test with the preloaded configuration prints something else")
    tools = [("sluice-sieve", [sluice] + opts, script_ro, None),
             ("sieve-test (compile every run)", [sieve_test] + opts, script_ro, None),
             ("sieve-test (cached .svbin)", [sieve_test] + opts, script_cache, None),
             ("sieve-test (compile every run, config preloaded)", [sieve_test] + opts, script_ro,
              dove_env),
             ("sieve-test (cached .svbin, config preloaded)", [sieve_test] + opts, script_cache,
              dove_env)]
    wall = {t[0]: 0.0 for t in tools}
    cpu = {t[0]: 0.0 for t in tools}
    for start in range(0, len(messages), args.block):
        block = messages[start:start + args.block]
        for name, argv, script, env in tools:
            w, c = run_loop(argv, script, block, RUN_USER, env)
            wall[name] += w
            cpu[name] += c
        print("  %d/%d messages done" % (start + len(block), len(messages)), flush=True)

    floor_msgs = [os.path.join(tmp, "tiny.eml")] * args.floor
    floor = {}
    for name, argv, env in (("sluice-sieve", [sluice] + opts, None),
                            ("sieve-test", [sieve_test] + opts, None),
                            ("sieve-test (config preloaded)", [sieve_test] + opts, dove_env)):
        floor[name] = run_loop(argv, os.path.join(tmp, "keep.sieve"), floor_msgs, RUN_USER, env)

    step = max(1, len(messages) // max(1, args.sample))
    sample = messages[::step][:args.sample]
    differ, examples = compare(sluice, sieve_test, script_ro, sample, RUN_USER)

    n = len(messages)
    print()
    print("| tool | msg/s (wall) | msg per CPU-s | wall s | CPU s |")
    print("|---|---:|---:|---:|---:|")
    for name, _, _, _ in tools:
        print("| %s | %.1f | %.1f | %.2f | %.2f |" % (name, n / wall[name], n / cpu[name],
                                                      wall[name], cpu[name]))
    for name, (w, c) in floor.items():
        print("| %s, `keep;` on a tiny message (process floor, %d runs) | %.1f | %.1f | %.2f |"
              " %.2f |" % (name, args.floor, args.floor / w, args.floor / c, w, c))
    s, t, tc, tp = (wall["sluice-sieve"], wall["sieve-test (compile every run)"],
                    wall["sieve-test (cached .svbin)"],
                    wall["sieve-test (cached .svbin, config preloaded)"])
    print()
    print("ratio sluice-sieve / sieve-test (compile every run), wall: %.2f, CPU: %.2f"
          % (t / s, cpu["sieve-test (compile every run)"] / cpu["sluice-sieve"]))
    print("ratio sluice-sieve / sieve-test (cached .svbin), wall: %.2f, CPU: %.2f"
          % (tc / s, cpu["sieve-test (cached .svbin)"] / cpu["sluice-sieve"]))
    tq = wall["sieve-test (compile every run, config preloaded)"]
    print("ratio sluice-sieve / sieve-test (compile every run, config preloaded), wall: %.2f, "
          "CPU: %.2f" % (tq / s, cpu["sieve-test (compile every run, config preloaded)"] /
                         cpu["sluice-sieve"]))
    print("ratio sluice-sieve / sieve-test (cached .svbin, config preloaded), wall: %.2f, CPU: %.2f"
          % (tp / s, cpu["sieve-test (cached .svbin, config preloaded)"] / cpu["sluice-sieve"]))
    print("outputs compared on %d messages: %d differ (after normalizing sieve-test's report "
          "to FORMAT.md lines)" % (len(sample), differ))
    for name, a, b in examples:
        print("  %s\n    sluice-sieve: %r\n    sieve-test:   %r" % (name, a, b))
    print("uptime after: %s" % uptime())
    return 0


if __name__ == "__main__":
    sys.exit(main())
