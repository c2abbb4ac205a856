#!/usr/bin/env bash
# Build the module the way DKMS does on a user's machine (dkms.conf, the
# file list `make dkms-install` copies), for the kernel whose headers are
# KDIR, in a throwaway DKMS tree: nothing is registered or installed on
# this machine and nothing is loaded. Checks that dkms built af_xs.ko for
# that kernel, with the version of the VERSION file.
# (dkms signs what it builds with its machine owner key, creating
# /var/lib/dkms/mok.key on first use, as any DKMS install would.)
#
# Usage: scripts/dkms-check.sh KDIR
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
kdir=$1
command -v dkms >/dev/null || { echo "dkms-check: dkms missing: run make setup" >&2; exit 1; }
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h")
version=$(cat "$repo/VERSION")
[[ -n $kver ]] || { echo "dkms-check: no kernel release in $kdir" >&2; exit 1; }

t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
src=$t/src/af_xs-$version
mkdir -p "$src" "$t/tree" "$t/inst"
# what make dkms-install copies, without build products
(cd "$repo" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' \
	--exclude='*.mod' --exclude='*.mod.c' --exclude=modules.order \
	--exclude=Module.symvers Kbuild VERSION dkms.conf kmod uapi LICENSES) |
	tar -xf - -C "$src"
# dkms finds the headers as /lib/modules/<kver>/build: KDIR must be that
[[ $(readlink -f "/lib/modules/$kver/build") == $(readlink -f "$kdir") ]] ||
	{ echo "dkms-check: /lib/modules/$kver/build is not $kdir" >&2; exit 1; }

dkms build "af_xs/$version" -k "$kver" --dkmstree "$t/tree" \
	--sourcetree "$t/src" --installtree "$t/inst" >"$t/log" 2>&1 ||
	{ cat "$t/log" >&2; echo "dkms-check: dkms build failed" >&2; exit 1; }
ko=$(find "$t/tree/af_xs/$version/$kver" -name 'af_xs.ko*' | head -1)
[[ -n $ko ]] || { cat "$t/log" >&2; echo "dkms-check: dkms built no af_xs.ko" >&2; exit 1; }
got_ver=$(modinfo -F version "$ko")
got_magic=$(modinfo -F vermagic "$ko")
echo "dkms-check: dkms built $(basename "$ko") version $got_ver for $got_magic"
[[ $got_ver == "$version" ]] || { echo "dkms-check: version $got_ver, expected $version" >&2; exit 1; }
[[ $got_magic == "$kver "* ]] || { echo "dkms-check: built for '$got_magic', expected $kver" >&2; exit 1; }
