#!/usr/bin/env bash
# Run scripts/check.sh for each tier given (make check: release next) and
# end with one combined "N passed, N failed" line; exit 1 if any tier
# failed. Each tier's own summary stays in the output above.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
p=0 f=0 s=0 rc=0
for tier in "$@"; do
	scripts/check.sh "$tier" 2>&1 | tee "$log/$tier"
	st=${PIPESTATUS[0]}
	line=$(tail -n 5 "$log/$tier" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
	if [[ -z $line ]]; then
		f=$((f + 1))	# a tier that died before its summary
	else
		read -r tp tf ts <<<"$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' <<<"$line")"
		p=$((p + tp)) f=$((f + tf)) s=$((s + ${ts:-0}))
	fi
	((st == 0)) || rc=1
	echo "check-all: tier $tier: ${line:-no summary} (exit $st)"
done
echo
if ((s)); then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
exit $rc
