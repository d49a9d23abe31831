# deploy/common.sh: shared by deploy/quickstart and tests/run. Sourced, not run.
# Installs the Debian packages Sluice builds and tests with, makes the
# unprivileged `sluice` user, and finds PostgreSQL's server binaries.

SLUICE_PACKAGES="meson ninja-build pkg-config gcc libc6-dev libpq-dev libssl-dev libsodium-dev
 libsasl2-dev libsasl2-modules check libidn2-dev libcrypt-dev zlib1g-dev postgresql-15 postgresql-client-15
 openssl python3 swaks whois dovecot-core procps util-linux sieve-connect isync mutt tmux curl"

# Install what is missing (quietly, only when something is missing).
sluice_install_packages() {
	local missing="" p
	for p in $SLUICE_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages:$missing (run as root to install them)" >&2
		return 1
	fi
	echo "installing Debian packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# dovecot-core and postgresql would start system services: keep them off.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null
	local rc=$?
	rm -f /usr/sbin/policy-rc.d
	return $rc
}

# The unprivileged user that owns PostgreSQL clusters and that daemons run as.
sluice_ensure_user() {
	[ "$(id -u)" = 0 ] || return 0
	id sluice >/dev/null 2>&1 ||
		useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin sluice
}

# Run a command as the `sluice` user when we are root, else as ourselves.
sluice_as_user() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u sluice -- "$@"
	else
		"$@"
	fi
}

sluice_pg_bindir() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
