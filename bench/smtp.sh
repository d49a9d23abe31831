#!/usr/bin/env bash
# bench/smtp.sh: SMTP acceptance and end-to-end (SMTP -> stored) rates of Sluice
# (sluice-smtpd -> queue -> sluice-qmgr -> sluice-lmtpd -> mail store) beside Postfix +
# Dovecot, measured in one invocation on this machine with the same client, message and
# method: the reference stack's `bench.sh smtp` (shared/reference-stack/bench.sh, t_smtp).
#
#   before each run: wait until the MTA's queue is empty, sleep 0.5 s, empty the mailbox
#   timeout 900 smtp-source -l 4096 -m N -s S -f a@x.test -t RCPT 127.0.0.1:PORT
#     (Postfix's load generator; a new SMTP connection per message, one recipient)
#   acceptance = N / wall time of smtp-source
#   end-to-end = N / time from smtp-source's start until all N are in the mailbox
#     (Dovecot: files in the maildir's new/+cur/; Sluice: index rows, each written after
#     its file and directory were fsynced; both polled every 20 ms)
#
# Every message is durable before its 250 on both stacks: Postfix fsyncs its queue file,
# sluice-smtpd fsyncs its queue file and the incoming/ directory; delivery fsyncs the
# mailbox file on both (Dovecot maildir, sluice-lmtpd file + directory + PostgreSQL commit
# with its defaults fsync = on, synchronous_commit = on).
#
# Usage: bench/smtp.sh            (as root: installs postfix for smtp-source, runs the
#                                  reference stack from ../shared/reference-stack)
# Environment: RUNS=3 N=5000 SIZE=4096 SESSIONS=20 REFERENCE=1 (0: Sluice only)
#   WORK=/tmp/sluice-bench-smtp (the copy of the reference stack, Sluice's stack, logs,
#   results.txt)  BUILD=build-bench (release build, set up if missing)
# Everything (both queues, both mail stores, all three PostgreSQL clusters) is on the same
# disk. The reference stack is stopped (its down.sh) before Sluice runs, and Sluice's
# daemons and cluster are stopped by bench/mta_e2e.py when it ends.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. deploy/common.sh
. bench/common.sh

RUNS=${RUNS:-3}
N=${N:-5000}
SIZE=${SIZE:-4096}
SESSIONS=${SESSIONS:-20}
REFERENCE=${REFERENCE:-1}
WORK=${WORK:-/tmp/sluice-bench-smtp}
BUILD=${BUILD:-$top/build-bench}

ratio() { python3 -c "import sys; print(round(float(sys.argv[1]) / float(sys.argv[2]), 2))" "$1" "$2"; }

bench_init bench/smtp.sh
bench_workdir "$WORK"
bench_uptime before "$WORK/load.txt"

# ------------------------------------------------------------ the reference: Postfix + Dovecot
REF_ACC=""
REF_E2E=""
ref=$WORK/refstack
trap 'bench_ref_down "$ref"' EXIT
if [ "$REFERENCE" = 1 ]; then
	bench_ref_up "$ref" "$WORK/ref-up.log"
	"$ref/provision.sh" mailbox bench@example.test secret 0 >/dev/null 2>&1 || true
	tsv=$ref/run/bench/results.tsv # new with the copy: every row is this run's
	log "Postfix + Dovecot: bench.sh smtp, RUNS=$RUNS N=$N SIZE=$SIZE sessions $SESSIONS"
	RUNS=$RUNS N=$N SIZE=$SIZE SMTP_SESSIONS="$SESSIONS" "$ref/bench.sh" smtp >"$WORK/ref-bench.log" 2>&1 ||
		die "reference bench failed: $WORK/ref-bench.log"
	pick() {
		awk -F'\t' -v s="s=$SESSIONS " -v m="$1" '$2 == "smtp" && index($3, s) == 1 && $5 == m {print $6}' "$tsv" |
			tr '\n' ' '
	}
	REF_ACC=$(pick accept_msgs_per_s)
	REF_E2E=$(pick end2end_msgs_per_s)
	awk -F'\t' '$2 == "smtp" && $3 !~ / rc=0$/ {bad = 1} END {exit bad}' "$tsv" ||
		die "smtp-source failed against Postfix: $tsv"
	! grep -q "delivery incomplete" "$WORK/ref-bench.log" || die "Postfix+Dovecot did not store all: $WORK/ref-bench.log"
	bench_ref_down "$ref"
fi

# ------------------------------------------------------------ Sluice
bench_build "$BUILD" mta/sluice-smtpd mta/sluice-qmgr mda/sluice-lmtpd admin-cli/sluice-admin
log "Sluice: bench/mta_e2e.py --mode rate, RUNS=$RUNS N=$N SIZE=$SIZE sessions $SESSIONS"
python3 bench/mta_e2e.py --build "$BUILD" --work "$WORK/sluice" --mode rate --runs "$RUNS" \
	--sessions "$SESSIONS" --messages "$N" --size "$SIZE" --json "$WORK/sluice.json" |
	tee "$WORK/sluice-bench.log" >&2
SL_ACC=$(python3 -c 'import json,sys; print(" ".join(str(r["accept_msgs_per_s"]) for r in json.load(open(sys.argv[1]))["runs"]))' "$WORK/sluice.json")
SL_E2E=$(python3 -c 'import json,sys; print(" ".join(str(r["end2end_msgs_per_s"]) for r in json.load(open(sys.argv[1]))["runs"]))' "$WORK/sluice.json")

bench_uptime after "$WORK/load.txt"

{
	echo "SMTP, smtp-source -l $SIZE -m $N -s $SESSIONS, $RUNS runs each, median (runs) ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	printf '%-22s %-34s %-34s %s\n' metric "Sluice msg/s" "Postfix(+Dovecot) msg/s" ratio
	for m in acceptance end-to-end; do
		if [ "$m" = acceptance ]; then s=$SL_ACC; r=$REF_ACC; else s=$SL_E2E; r=$REF_E2E; fi
		sm=$(bench_median $s)
		if [ -n "$r" ]; then
			rm_=$(bench_median $r)
			q=$(ratio "$sm" "$rm_")
		else
			rm_="-"
			q="-"
		fi
		printf '%-22s %-34s %-34s %s\n' "$m s=$SESSIONS" "$sm ($s)" "$rm_ (${r% })" "$q"
	done
	cat "$WORK/load.txt"
} | tee "$WORK/results.txt"
