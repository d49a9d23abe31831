#!/usr/bin/env bash
# bench/lmtp.sh: LMTP delivery rate of sluice-lmtpd beside Dovecot's LMTP, measured in
# one invocation on this machine with the same client and the same message:
#
#   smtp-source -L -l 4096 -m N -s S  (Postfix's load generator; a new LMTP session per
#   message, one recipient), rate = N / wall time of smtp-source. Every message is durable
#   before its 250: Sluice fsyncs the file and its directory and commits the index row and
#   the quota change (PostgreSQL with its default fsync = on, synchronous_commit = on);
#   Dovecot fsyncs its maildir file and commits its quota_clone row.
#
# Usage: bench/lmtp.sh            (as root: installs postfix for smtp-source, runs the
#                                  reference stack from ../shared/reference-stack)
# Environment: RUNS=3 N=5000 SIZE=4096 SESSIONS="1 8" REFERENCE=1 (0: Sluice only)
#   WORK=/var/tmp/sluice-bench-lmtp (build, PostgreSQL cluster, mail store, the copy of
#   the reference stack, results.txt)  PG_PORT=25980
# The mail store and both databases are on the same disk as the reference maildirs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. deploy/common.sh
. bench/common.sh

RUNS=${RUNS:-3}
N=${N:-5000}
SIZE=${SIZE:-4096}
SESSIONS=${SESSIONS:-"1 8"}
REFERENCE=${REFERENCE:-1}
WORK=${WORK:-/var/tmp/sluice-bench-lmtp}
PG_PORT=${PG_PORT:-25980}

now() { date +%s.%N; }

bench_init bench/lmtp.sh
bench_workdir "$WORK"

# ------------------------------------------------------------ the reference: Dovecot LMTP
declare -A REF_RATES
if [ "$REFERENCE" = 1 ]; then
	ref=$WORK/refstack
	trap 'bench_ref_down "$ref"' EXIT
	bench_ref_up "$ref" "$WORK/ref-up.log"
	"$ref/provision.sh" mailbox bench@example.test secret 0 >/dev/null 2>&1 || true
	tsv=$ref/run/bench/results.tsv # new with the copy: every row is this run's
	log "Dovecot LMTP: RUNS=$RUNS N=$N sessions $SESSIONS"
	RUNS=$RUNS N=$N SIZE=$SIZE LMTP_SESSIONS="$SESSIONS" "$ref/bench.sh" lmtp >"$WORK/ref-bench.log" 2>&1 ||
		die "reference bench failed: $WORK/ref-bench.log"
	for s in $SESSIONS; do
		REF_RATES[$s]=$(awk -F'\t' -v s="s=$s " '$2 == "lmtp" && index($3, s) == 1 && $5 == "msgs_per_s" {print $6}' "$tsv" |
			tr '\n' ' ')
	done
	bench_ref_down "$ref"
fi

# ------------------------------------------------------------ Sluice: sluice-lmtpd
build=$WORK/build
bench_build "$build" mda/sluice-lmtpd admin-cli/sluice-admin
pgbin=$(sluice_pg_bindir)
pg=$WORK/pg
lmtpd_pid=""
cleanup() {
	[ -n "$lmtpd_pid" ] && kill "$lmtpd_pid" 2>/dev/null && wait "$lmtpd_pid" 2>/dev/null
	[ -f "$pg/data/postmaster.pid" ] &&
		runuser -u sluice -- "$pgbin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1
	return 0
}
trap cleanup EXIT
rm -rf "$pg" "$WORK/mail" "$WORK/run"
mkdir -p "$pg" "$WORK/mail" "$WORK/run"
chown sluice: "$pg" "$WORK/mail" "$WORK/run"
runuser -u sluice -- "$pgbin/initdb" -D "$pg/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
	>"$WORK/initdb.log" 2>&1
# PostgreSQL's defaults otherwise: fsync, synchronous_commit and full_page_writes on
runuser -u sluice -- "$pgbin/pg_ctl" -D "$pg/data" -l "$pg/log" -w \
	-o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $pg -c max_connections=100" start >/dev/null
super="postgresql://postgres@127.0.0.1:$PG_PORT"
psql -X -q -d "$super/postgres" -c "CREATE DATABASE sluice"
conf=$WORK/sluice.conf
cat >"$conf" <<EOF
db_url = $super/sluice
lmtpd_db_url = postgresql://bench_lmtpd@127.0.0.1:$PG_PORT/sluice
mail_root = $WORK/mail
lmtpd_socket = $WORK/run/lmtp.sock
run_user = sluice
log_level = warn
db_pool_size = 16
lmtpd_max_connections = 256
EOF
chmod 644 "$conf"
admin() { "$build/admin-cli/sluice-admin" -c "$conf" "$@"; }
admin db migrate >/dev/null
psql -X -q -d "$super/sluice" -c "CREATE ROLE bench_lmtpd LOGIN IN ROLE sluice_mda"
admin domain add example.test >/dev/null
"$build/mda/sluice-lmtpd" -c "$conf" >"$WORK/lmtpd.log" 2>&1 &
lmtpd_pid=$!
for _ in $(seq 1 100); do [ -S "$WORK/run/lmtp.sock" ] && break; sleep 0.1; done
[ -S "$WORK/run/lmtp.sock" ] || die "sluice-lmtpd did not start: $WORK/lmtpd.log"

declare -A SLUICE_RATES
for s in $SESSIONS; do
	rates=""
	for r in $(seq 1 "$RUNS"); do
		rcpt="bench-s$s-r$r@example.test"
		echo pw | admin mailbox add "$rcpt" --password-stdin >/dev/null
		sync
		t0=$(now)
		smtp-source -L -l "$SIZE" -m "$N" -s "$s" -f a@x.test -t "$rcpt" "unix:$WORK/run/lmtp.sock"
		t1=$(now)
		got=$(psql -X -A -t -d "$super/sluice" -c "SELECT count(*) FROM messages m JOIN folders f
			ON f.id = m.folder_id JOIN mailbox_directory d ON d.id = f.mailbox_id
			WHERE d.local_part = 'bench-s$s-r$r'")
		rate=$(python3 -c "print(round($N / ($t1 - $t0), 1))")
		[ "$got" = "$N" ] || die "s=$s run $r: $got of $N messages indexed"
		log "Sluice s=$s run $r: $rate msg/s, $got indexed"
		rates="$rates $rate"
	done
	SLUICE_RATES[$s]=$rates
done

{
	echo "LMTP delivery, smtp-source -L -l $SIZE -m $N, $RUNS runs each ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	printf '%-9s %-28s %-28s %s\n' sessions "sluice-lmtpd msg/s" "Dovecot LMTP msg/s" ratio
	for s in $SESSIONS; do
		sm=$(bench_median ${SLUICE_RATES[$s]})
		if [ -n "${REF_RATES[$s]:-}" ]; then
			dm=$(bench_median ${REF_RATES[$s]})
			ratio=$(python3 -c "print(round($sm / $dm, 1))")
		else
			dm="-"
			ratio="-"
		fi
		printf '%-9s %-28s %-28s %s\n' "$s" "$sm (${SLUICE_RATES[$s]# })" \
			"$dm (${REF_RATES[$s]:-not run})" "$ratio"
	done
} | tee "$WORK/results.txt"
