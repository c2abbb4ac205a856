#!/usr/bin/env bash
# make check / make check-debug: set up, build everything for the chosen
# guest kernel, lint (release tier), boot the guest and run every test.
# Ends with one line "N passed, N failed" and exits 1 on any failure.
#
# Usage: scripts/check.sh release|next|debug
#   release: Debian's 6.1 cloud kernel; next: the 6.12 one (bookworm-
#   backports); debug: the KASAN/lockdep/kmemleak 6.1 build
#   env: XS_CACHE, XS_TEST_TIMEOUT (per program, s), XS_VM_TIMEOUT (s),
#        XS_TEST_SCALE (iteration divisor; 1 release, 20 debug)
set -euo pipefail

kernel=${1:-release}
repo=$(cd "$(dirname "$0")/.." && pwd)
export XS_CACHE=${XS_CACHE:-$HOME/.cache/af_xs}
cd "$repo"
t0=$(date +%s)
jobs=$(nproc)

step() { echo; echo "==== check ($kernel): $* ===="; }

step setup
scripts/setup.sh
# shellcheck disable=SC1091
. "$XS_CACHE/release.env"

case $kernel in
release) kdir=$XS_RELEASE_KDIR ;;
next) kdir=$XS_NEXT_KDIR ;;
debug)
	step "debug kernel (cached after the first build)"
	kdir=$(scripts/build-debug-kernel.sh)
	;;
*) echo "usage: $0 release|next|debug" >&2; exit 2 ;;
esac

mkdir -p build
tap=build/host-tap-$kernel
: >"$tap"
n=0
# Host-side results go in as TAP lines, counted with the guest's.
result() { # result NAME STATUS
	n=$((n + 1))
	if [[ $2 == 0 ]]; then echo "ok $n $1"; else echo "not ok $n $1"; fi | tee -a "$tap"
}
shopt -s nullglob
have_kmod=(kmod/*.c)

# Lint once, on the release tier (the code does not change between tiers).
if [[ $kernel == release && ${#have_kmod[@]} -gt 0 ]]; then
	step "lint"
	st=0; scripts/lint.sh "$kdir" || st=$?
	result lint $st
fi

# A build failure is a failure, and booting stale binaries would hide it:
# report and stop.
fail_build() {
	result "build $1" 1
	echo "check: build of $1 failed, not booting the guest"
	echo "$(grep -c "^ok" "$tap") passed, $(grep -c "^not ok" "$tap") failed"
	exit 1
}

ko=$repo/build/af_xs-$kernel.ko
rm -f "$ko"
if ((${#have_kmod[@]})); then
	step "module against $kdir"
	# Objects of the other tier must not be reused: clean first.
	make -s -C "$kdir" M="$repo/kmod" clean >/dev/null 2>&1 || true
	make -C "$kdir" M="$repo/kmod" -j"$jobs" modules || fail_build module
	cp kmod/af_xs.ko "$ko"
	modinfo -F vermagic "$ko"
fi
if [[ -f libxs/Makefile ]]; then
	step libxs
	make -C libxs -j"$jobs" || fail_build libxs
fi
if [[ -f selftests/Makefile ]]; then
	step selftests
	make -C selftests -j"$jobs" KSFT_INC="$XS_CACHE/kselftest" || fail_build selftests
fi
step tools
make -j"$jobs" tools || fail_build tools

step "boot and test"
st=0
# vm-run.sh prints the total wall time (from --t0) and then, last, the
# "N passed, N failed" line.
scripts/vm-run.sh --kernel "$kernel" --module "$ko" --extra-tap "$tap" --t0 "$t0" || st=$?
exit $st
