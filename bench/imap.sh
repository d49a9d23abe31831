#!/usr/bin/env bash
# bench/imap.sh: sluice-imapd beside Dovecot 2.3's imap, measured in one invocation on this
# machine with the same client, the same mailbox and the same method (issue #7):
#
#   mailbox: imapbench@example.test, N (10,000) messages of 4 KiB from Postfix's
#     `smtp-source -L -l 4096 -m N/2 -s 4` into the server's LMTP socket, then one message
#     with "Subject: needle" and the word "somethingrare" (swaks), then the other half
#     (the reference stack's bench.sh t_imap; for Sluice into sluice-lmtpd's socket)
#   timings: the reference's own client, `tools/benchlib.py imapbench` (python imaplib, plain
#     IMAP on loopback): LOGIN, EXAMINE INBOX, FETCH 1:* (FLAGS UID RFC822.SIZE),
#     FETCH 1:* BODY.PEEK[], SEARCH TEXT "somethingrare"; RUNS (5) runs, medians;
#     ratio = Dovecot time / Sluice time (> 1: Sluice is faster; goal >= 1.5)
#   the same commands from bench/imap_bench.py rawbench (a raw socket client that reads the
#     answers into memory without parsing them), on both servers: their own time, since
#     imaplib's parsing is a large part of imapbench's FETCH figures; and imaplib's own CPU time
#     in each command (imap_bench.py imapcpu: imapbench's steps), below which imapbench's
#     timing of a server cannot go; and, not goals, other commands clients
#     send on a big folder (imap_bench.py clientbench: Thunderbird's header fetch, SEARCH,
#     SORT, THREAD) from the raw client
#   memory: SESSIONS (1,000) logged-in idle sessions over implicit TLS (IMAPS), INBOX examined,
#     opened one after the other by the reference's `tools/benchlib.py imapidle`; while they
#     are open bench/imap_bench.py reads /proc/PID/smaps_rollup (PSS) and /proc/PID/status:
#       Dovecot: the imap and imap-login processes (one of each per TLS session), summed / SESSIONS
#       Sluice:  sluice-imapd (one process, a thread per session), its PSS minus the PSS of the
#                same fresh process after one session came and went, / SESSIONS
#     ratio = Sluice / Dovecot (goal <= 0.5). The whole Dovecot instance (master, auth,
#     config, log, anvil, stats... plus the per-session processes) is reported too.
#
# Dovecot runs from a copy of ../shared/reference-stack (up.sh; its bench.sh imap rss with
# its stock config; then, for the 1,000 sessions only, the copy's dovecot.conf gets higher
# process and connection limits: imap and imap-login process_limit, default_client_limit,
# mail_max_userip_connections; doveadm reload). It is stopped (down.sh) before Sluice runs.
# Sluice runs from a release build through bench/imap_bench.py (PostgreSQL 15 with its
# defaults, sluice-authd, sluice-lmtpd, sluice-imapd; all stopped when it ends).
#
# Usage: bench/imap.sh          (as root: installs postfix for smtp-source)
# Environment: IMAP_MSGS=10000 SIZE=4096 IMAP_RUNS=5 SESSIONS=1000 REFERENCE=1 (0: Sluice only)
#   WORK=/tmp/sluice-bench-imap (the copy of the reference stack, Sluice's stack, logs,
#   results.txt, dovecot.json, sluice.json)  BUILD=build-bench (release build, set up if missing)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. deploy/common.sh
. bench/common.sh

MSGS=${IMAP_MSGS:-10000}
SIZE=${SIZE:-4096}
RUNS=${IMAP_RUNS:-5}
SESSIONS=${SESSIONS:-1000}
REFERENCE=${REFERENCE:-1}
WORK=${WORK:-/tmp/sluice-bench-imap}
BUILD=${BUILD:-$top/build-bench}
IMAP_USER=imapbench@example.test
IMAP_PASS=secret

bench_init bench/imap.sh
# the client holds SESSIONS sockets; Dovecot's master sizes its services by this limit too
want_fds=$((SESSIONS * 4 + 4096))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want_fds" ]; then
	ulimit -n "$want_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -gt $((SESSIONS + 64)) ] ||
	die "open files limit $(ulimit -n) is too low for $SESSIONS sessions"

bench_workdir "$WORK"
bench_uptime before "$WORK/load.txt"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
helper="python3 $top/bench/imap_bench.py"

ref=$WORK/refstack
sluice_pid=""
cleanup() {
	if [ -n "$sluice_pid" ] && kill -0 "$sluice_pid" 2>/dev/null; then
		kill -TERM "$sluice_pid" 2>/dev/null
		wait "$sluice_pid" 2>/dev/null
	fi
	bench_ref_down "$ref"
}
trap cleanup EXIT

# ------------------------------------------------------------ the reference: Dovecot 2.3
if [ "$REFERENCE" = 1 ]; then
	bench_ref_up "$ref" "$WORK/ref-up.log"
	"$ref/provision.sh" mailbox "$IMAP_USER" "$IMAP_PASS" 0 >/dev/null 2>&1 ||
		die "provision.sh mailbox $IMAP_USER failed"
	tsv=$ref/run/bench/results.tsv # new with the copy: every row is this run's
	log "Dovecot: bench.sh imap (IMAP_MSGS=$MSGS IMAP_RUNS=$RUNS SIZE=$SIZE)"
	IMAP_MSGS=$MSGS IMAP_RUNS=$RUNS SIZE=$SIZE IMAP_USER=$IMAP_USER IMAP_PASS=$IMAP_PASS \
		"$ref/bench.sh" imap >"$WORK/ref-bench.log" 2>&1 || die "reference bench failed: $WORK/ref-bench.log"
	cp "$ref/run/bench/imap.out" "$WORK/dovecot-imapbench.out"
	$helper imapout "$WORK/dovecot-imapbench.out" --expect $((MSGS + 1)) --runs "$RUNS" >"$WORK/dovecot-imapbench.json" ||
		die "Dovecot's imapbench did not see the whole mailbox: $WORK/dovecot-imapbench.out"
	log "Dovecot: the same commands from a raw socket client (imap_bench.py rawbench)"
	$helper rawbench 127.0.0.1 10143 "$IMAP_USER" "$IMAP_PASS" "$RUNS" somethingrare >"$WORK/dovecot-rawbench.out" ||
		die "rawbench against Dovecot failed: $WORK/dovecot-rawbench.out"
	$helper imapout "$WORK/dovecot-rawbench.out" --expect $((MSGS + 1)) --runs "$RUNS" >"$WORK/dovecot-rawbench.json" ||
		die "rawbench did not see Dovecot's whole mailbox: $WORK/dovecot-rawbench.out"
	log "Dovecot: other commands clients send (imap_bench.py clientbench)"
	$helper clientbench 127.0.0.1 10143 "$IMAP_USER" "$IMAP_PASS" "$RUNS" >"$WORK/dovecot-client.out" ||
		die "clientbench against Dovecot failed: $WORK/dovecot-client.out"
	log "Dovecot: imaplib's own CPU time in each command (imap_bench.py imapcpu)"
	$helper imapcpu 127.0.0.1 10143 "$IMAP_USER" "$IMAP_PASS" "$RUNS" somethingrare >"$WORK/dovecot-imapcpu.out" ||
		die "imapcpu against Dovecot failed: $WORK/dovecot-imapcpu.out"
	$helper imapout "$WORK/dovecot-imapcpu.out" --prefix "cpu " --expect $((MSGS + 1)) --runs "$RUNS" \
		>"$WORK/dovecot-imapcpu.json" || die "imapcpu did not see Dovecot's whole mailbox: $WORK/dovecot-imapcpu.out"
	log "Dovecot: bench.sh rss (RCPT=$IMAP_USER: 10 sessions of the same user, INBOX examined)"
	RCPT=$IMAP_USER "$ref/bench.sh" rss >>"$WORK/ref-bench.log" 2>&1 || die "reference bench failed: $WORK/ref-bench.log"
	rss_row() {
		awk -F'\t' -v p="$1" '$2 == "rss" && $3 == p && $5 == "avg_pss_kib" {v = $6} END {print v}' "$tsv"
	}
	rss_imap=$(rss_row "imap, 10 logged-in sessions (tls), SELECT INBOX")
	rss_login=$(rss_row "imap-login, same 10 sessions (tls)")
	[ -n "$rss_imap" ] && [ -n "$rss_login" ] || die "no rss rows in $tsv"
	dc_tls=$($helper tlsinfo 127.0.0.1 10993)

	log "Dovecot: raising its limits for $SESSIONS sessions, doveadm reload"
	. "$ref/env.sh"
	lim=$((SESSIONS + 100))
	cat >>"$DC_CONF" <<EOF
# --- bench/imap.sh: room for $SESSIONS idle TLS sessions of one user from one address ---
default_client_limit = $((SESSIONS * 4 + 1000))
service imap-login {
  process_limit = $lim
}
service imap {
  process_limit = $lim
}
protocol imap {
  mail_max_userip_connections = $lim
}
EOF
	doveconf -c "$DC_CONF" -n >"$WORK/dovecot-conf-n.txt" 2>"$WORK/doveconf.err" ||
		die "the raised Dovecot config does not parse: $WORK/doveconf.err"
	grep -q "mail_max_userip_connections = $lim" "$WORK/dovecot-conf-n.txt" ||
		die "mail_max_userip_connections did not take: $WORK/dovecot-conf-n.txt"
	doveadm -c "$DC_CONF" reload
	sleep 3
	master=$(cat "$DC_BASE/master.pid")
	$helper pss --ppid "$master" --tree "$master" --port 10993 --out "$WORK/dovecot-pss-0.json"
	log "Dovecot: $SESSIONS idle TLS sessions (benchlib.py imapidle 127.0.0.1 10993 $SESSIONS tls)"
	t0=$(date +%s)
	python3 "$ref/tools/benchlib.py" imapidle 127.0.0.1 10993 "$SESSIONS" tls "$IMAP_USER" "$IMAP_PASS" \
		"$helper pss --ppid $master --tree $master --port 10993 --out $WORK/dovecot-pss-$SESSIONS.json" \
		>"$WORK/dovecot-idle.log" 2>&1 || die "Dovecot did not hold $SESSIONS sessions: $WORK/dovecot-idle.log"
	log "Dovecot: the sessions took $(($(date +%s) - t0)) s"
	$helper dovecot-memory "$WORK/dovecot-pss-0.json" "$WORK/dovecot-pss-$SESSIONS.json" "$SESSIONS" \
		>"$WORK/dovecot-memory.json"
	python3 - "$WORK" "$rss_imap" "$rss_login" "$dc_tls" "$SESSIONS" <<'EOF'
import json, sys
work, rss_imap, rss_login, tls, n = sys.argv[1:6]
mem = json.load(open(work + "/dovecot-memory.json"))
if mem["established"] < int(n) or mem["imap_procs"] < int(n) or mem["login_procs"] < int(n):
    sys.exit("Dovecot held %d connections, %d imap and %d imap-login processes of %s"
             % (mem["established"], mem["imap_procs"], mem["login_procs"], n))
json.dump({"imapbench": json.load(open(work + "/dovecot-imapbench.json")),
           "rawbench": json.load(open(work + "/dovecot-rawbench.json")),
           "imapcpu": json.load(open(work + "/dovecot-imapcpu.json")),
           "client": [json.loads(l) for l in open(work + "/dovecot-client.out") if l.strip()],
           "memory": mem, "tls": tls,
           "rss10": {"imap_pss_kib": float(rss_imap), "login_pss_kib": float(rss_login)}},
          open(work + "/dovecot.json", "w"), indent=1)
EOF
	bench_ref_down "$ref"
else
	echo '{"imapbench": [], "memory": null, "rss10": null}' >"$WORK/dovecot.json"
fi

# ------------------------------------------------------------ Sluice: sluice-imapd
bench_build "$BUILD" imapd/sluice-imapd auth/sluice-authd mda/sluice-lmtpd admin-cli/sluice-admin
log "Sluice: bench/imap_bench.py sluice (IMAP_MSGS=$MSGS IMAP_RUNS=$RUNS SESSIONS=$SESSIONS)"
$helper sluice --build "$BUILD" --work "$WORK/sluice" --benchlib "$BENCH_REF_SRC/tools/benchlib.py" \
	--messages "$MSGS" --size "$SIZE" --runs "$RUNS" --sessions "$SESSIONS" --json "$WORK/sluice.json" \
	2> >(tee "$WORK/sluice-bench.log" >&2) &
sluice_pid=$!
wait "$sluice_pid" || die "the Sluice half failed: $WORK/sluice-bench.log"
sluice_pid=""

bench_uptime after "$WORK/load.txt"
if [ "$REFERENCE" != 1 ]; then
	log "REFERENCE=0: Sluice only, see $WORK/sluice.json"
	exit 0
fi
{
	echo "bench/imap.sh, started $started, ended $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	$helper table --dovecot "$WORK/dovecot.json" --sluice "$WORK/sluice.json"
	cat "$WORK/load.txt"
} | tee "$WORK/results.txt"
