#!/bin/bash
# tests/sieve/run_cases.sh TOOL CASES_DIR
# Runs every case folder NNN-name/ under CASES_DIR (script.sieve, message.eml,
# expected.txt and an optional env file with from=, to=, folder= lines) as
#   TOOL -f FROM -r TO -m FOLDER script.sieve message.eml
# and scores it the way shared/sieve/run.sh does: a case passes when stdout
# equals expected.txt byte for byte and the exit status is the one FORMAT.md
# prescribes (0; 1 for "error compile"; 2 for "error runtime").
# Ends with "N passed, M failed"; exits non-zero when anything failed.
set -u
TOOL=${1:?usage: run_cases.sh TOOL CASES_DIR}
CASES=${2:?usage: run_cases.sh TOOL CASES_DIR}
TIMEOUT=${SIEVE_CASE_TIMEOUT:-10}
if [ ! -x "$TOOL" ]; then
	echo "run_cases.sh: $TOOL is not an executable" >&2
	exit 2
fi
if [ ! -d "$CASES" ]; then
	echo "run_cases.sh: the cases folder $CASES is missing" >&2
	echo "(the shared corpus is expected at ../shared/sieve/cases beside the repository)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
pass=0
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for d in "$CASES"/*/; do
	d=${d%/}
	name=$(basename "$d")
	[ -f "$d/script.sieve" ] || continue
	from=alice@example.org
	to=bob@example.com
	folder=INBOX
	if [ -f "$d/env" ]; then
		while IFS='=' read -r k v; do
			case "$k" in from) from=$v ;; to) to=$v ;; folder) folder=$v ;; esac
		done <"$d/env"
	fi
	timeout "$TIMEOUT" "$TOOL" -f "$from" -r "$to" -m "$folder" "$d/script.sieve" \
		"$d/message.eml" >"$out" 2>"$out.err"
	rc=$?
	case "$(head -n1 "$d/expected.txt")" in
	"error compile") want=1 ;;
	"error runtime") want=2 ;;
	*) want=0 ;;
	esac
	if cmp -s "$out" "$d/expected.txt" && [ "$rc" -eq "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $name (exit $rc, want $want)"
		diff "$d/expected.txt" "$out" | grep '^[<>]' | head -n 6 | sed 's/^</  want:/; s/^>/  got: /'
		grep -E 'ERROR|Sanitizer|runtime error' "$out.err" | head -n 3 | sed 's/^/  stderr: /'
	fi
	rm -f "$out.err"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
