# bench/common.sh: the steps bench/smtp.sh, bench/lmtp.sh and bench/imap.sh share. Sourced
# after deploy/common.sh, not run. bench_init: log/die under the script's name, root check,
# Sluice's packages, the sluice user and Postfix's smtp-source; bench_workdir, bench_uptime,
# bench_median: the work folder, load.txt and medians; bench_build: a release build;
# bench_ref_up / bench_ref_down: a writable copy of the read-only reference stack
# (../shared/reference-stack, Postfix + Dovecot + PostgreSQL) started and stopped.
# May touch: Debian packages (postfix with its services off: a temporary
# /usr/sbin/policy-rc.d), the sluice user, the folders the caller names, and the reference
# stack's processes on ports 10025 10143 10993 15432 (only the copy's own).
# shellcheck shell=bash

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_REF_SRC=$BENCH_TOP/../shared/reference-stack
# The reference stack's listeners (its env.sh): SMTP, IMAP, IMAPS, PostgreSQL
BENCH_REF_PORTS="10025 10143 10993 15432"

log() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# bench_init NAME: messages as NAME (bench/smtp.sh...); root, packages, user, smtp-source.
# INT and TERM exit through the caller's EXIT trap, so what it started is stopped.
bench_init() {
	BENCH_NAME=$1
	trap 'exit 130' INT
	trap 'exit 143' TERM
	[ "$(id -u)" = 0 ] || die "run as root (PostgreSQL and the daemons run as the sluice user)"
	sluice_install_packages
	sluice_ensure_user
	bench_install_smtp_source
}

# Postfix's load generator; installing postfix must not start its system-wide service.
bench_install_smtp_source() {
	command -v smtp-source >/dev/null && return 0
	log "installing postfix for smtp-source (its services stay off)"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
	rm -f /usr/sbin/policy-rc.d
}

# bench_workdir DIR: makes DIR (readable by the sluice user) and empties DIR/results.txt.
bench_workdir() {
	mkdir -p "$1"
	chmod 755 "$1"
	: >"$1/results.txt"
}

# bench_uptime before|after FILE: the load average into FILE (before: a new FILE) and stderr.
bench_uptime() {
	[ "$1" != before ] || : >"$2"
	echo "uptime $1: $(uptime)" | tee -a "$2" >&2
}

# bench_median VALUE...: their median, one decimal.
bench_median() {
	python3 -c 'import statistics,sys; print(round(statistics.median(map(float, sys.argv[1:])), 1))' "$@"
}

# bench_build DIR TARGET...: a release build in DIR (set up if missing) of the TARGETs.
bench_build() {
	local dir=$1
	shift
	[ -f "$dir/build.ninja" ] || meson setup "$dir" "$BENCH_TOP" --buildtype=release >/dev/null
	ninja -C "$dir" "$@" >/dev/null
}

# bench_ref_up DIR LOGFILE: a fresh copy of the reference stack in DIR, started (up.sh's
# output in LOGFILE). shared/ is read-only and the stack's scripts derive every path from
# their folder, so it runs from the copy; its run/ (data, logs, results.tsv) starts empty.
bench_ref_up() {
	local dir=$1 uplog=$2 p
	[ -x "$BENCH_REF_SRC/up.sh" ] || die "no reference stack at $BENCH_REF_SRC"
	bench_ref_down "$dir" # one that an interrupted run left behind
	for p in $BENCH_REF_PORTS; do
		[ -z "$(ss -Hltn "sport = :$p")" ] || die "port $p is taken: another reference stack runs (stop it first)"
	done
	rm -rf "$dir"
	mkdir -p "$dir"
	cp -a "$BENCH_REF_SRC/." "$dir/"
	rm -rf "$dir/run"
	chmod -R u+w "$dir"
	log "reference stack: up.sh"
	"$dir/up.sh" >"$uplog" 2>&1 || die "reference stack did not start: $uplog"
}

# bench_ref_down DIR: stops the copy in DIR if there is one (its down.sh); never fails.
bench_ref_down() {
	[ -x "$1/down.sh" ] && "$1/down.sh" >/dev/null 2>&1
	return 0
}
