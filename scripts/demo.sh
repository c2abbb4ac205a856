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

scripts/setup.sh
# shellcheck disable=SC1091
. "$XS_CACHE/release.env"
make -s -C "$XS_RELEASE_KDIR" M="$repo/kmod" clean >/dev/null 2>&1 || true
make -C "$XS_RELEASE_KDIR" M="$repo/kmod" -j"$(nproc)" modules
mkdir -p build
cp kmod/af_xs.ko build/af_xs-release.ko
make tools

args=${*:--w 3 -n 12}
echo "==== demo: booting Debian's kernel; in the guest: /tools/demo_pushpull $args ===="
exec scripts/vm-run.sh --kernel release --module build/af_xs-release.ko \
	--tests /nonexistent --timeout 120 --cmd "/tools/demo_pushpull $args"
