#!/usr/bin/env bash
# make demo: build the module and tools/demo_pushpull for Debian's kernel,
# boot a guest, insmod, and run the demo there (a PUSH bound to a name,
# PULL workers connected to it, records of 2 parts load-balanced over them).
#
# Usage: scripts/demo.sh [demo_pushpull args, e.g. -w 4 -n 20]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
export XS_CACHE=${XS_CACHE:-$HOME/.cache/af_xs}
cd "$repo"

scripts/setup.sh --demo
# shellcheck disable=SC1091
. "$XS_CACHE/release.env"
# kbuild rebuilds what changed; a module built for another kernel (make
# check's 6.12 or debug build) is rebuilt because its .o files differ
make -s -C "$XS_RELEASE_KDIR" M="$repo/kmod" -j"$(nproc)" modules
mkdir -p build
cp kmod/af_xs.ko build/af_xs-release.ko
make -s tools

args=${*:--w 3 -n 12}
log=build/demo.log
echo "==== demo: booting Debian's kernel in qemu; in the guest: /tools/demo_pushpull $args ===="
echo "     (the guest's console goes to $log)"
rc=0
scripts/vm-run.sh --kernel release --module build/af_xs-release.ko \
	--tests /nonexistent --timeout 120 --cmd "/tools/demo_pushpull $args" \
	>"$log" 2>&1 || rc=$?
# the demo's own output: between the markers, without kernel messages
# and without the firmware's terminal control sequences
tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' |
	awk '/^@@XS-TEST-BEGIN cmd/ { on = 1; next } /^@@XS-TEST-END cmd/ { on = 0 }
	     on && !/^\[ *[0-9]+\.[0-9]+\]/ { print }'
if ((rc)); then
	echo "==== demo FAILED (exit $rc); the end of $log: ===="
	tail -n 40 "$log"
	exit "$rc"
fi
sed -n '/^==================== summary/,$p' "$log" | tail -n 3
