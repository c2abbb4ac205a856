#!/usr/bin/env bash
# Build (once) a checker kernel: Debian's linux-source-6.1 with tinyconfig
# + a config fragment. Two exist:
#   debug  scripts/debug.config (KASAN, lockdep, kmemleak, fault
#          injection...): make check-debug; cache $XS_CACHE/debug-kernel
#   kcsan  scripts/kcsan.config (KCSAN, the data-race detector; it cannot
#          be combined with KASAN): make check-kcsan; $XS_CACHE/kcsan-kernel
# The tree is kept in the cache because the module is built against it
# with `make -C <tree> M=...`.
#
# The cache key is a hash of the fragment, the source package version and
# the compiler version: change any of them and a new tree is built next to
# the old one (older trees of the same config are removed to save disk).
#
# Usage: scripts/build-debug-kernel.sh [--config debug|kcsan]        build if needed, print the tree
#        scripts/build-debug-kernel.sh [--config debug|kcsan] --dir  only print where the tree is/will be
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
XS_CACHE=${XS_CACHE:-$HOME/.cache/af_xs}
config=debug
if [[ ${1:-} == --config ]]; then
	config=$2
	shift 2
fi
case $config in
debug | kcsan) ;;
*) echo "build-debug-kernel: --config debug|kcsan" >&2; exit 2 ;;
esac
frag=$here/$config.config
src_tar=/usr/src/linux-source-6.1.tar.xz

src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || echo none)
cc_ver=$(gcc --version 2>/dev/null | head -1 || echo none)
# bump "recipe" when the build steps below change in a way that matters
key=$( { echo "recipe 1"; echo "$src_ver"; echo "$cc_ver"; cat "$frag"; } |
       sha256sum | cut -c1-16)
base=$XS_CACHE/$config-kernel
tree=$base/$key/linux

if [[ ${1:-} == --dir ]]; then
	echo "$tree"
	exit 0
fi

mkdir -p "$base"
# One builder at a time (make check-debug may start while a background
# build is still running: it then just waits for it).
exec 9>"$base/.lock"
flock 9

if [[ -f $base/$key/.done ]]; then
	echo "$tree"
	exit 0
fi

[[ -f $src_tar ]] || { echo "missing $src_tar: run scripts/setup.sh" >&2; exit 1; }

log=$base/$key.log
echo "building $config kernel in $tree (log: $log); ~4 min on 2 idle cores, ~15 when busy" >&2
start=$(date +%s)
{
	# Old keys are stale trees of ~2 GB each: drop them.
	find "$base" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
	rm -rf "$base/$key"
	mkdir -p "$tree"
	tar -xJf "$src_tar" -C "$tree" --strip-components=1

	cd "$tree"
	make ARCH=x86_64 tinyconfig
	scripts/kconfig/merge_config.sh -m .config "$frag"
	make ARCH=x86_64 olddefconfig
} >"$log" 2>&1 || { echo "configure failed, see $log" >&2; tail -30 "$log" >&2; exit 1; }

cd "$tree"
# Every option the fragment asks for must have survived olddefconfig: a
# missing dependency would otherwise silently give a kernel without, say,
# KASAN, and check-debug would pass while checking nothing.
bad=0
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		grep -qxF "$line" .config || { echo "$config.config: $line not applied (got: $(grep "^${BASH_REMATCH[1]}=" .config || echo unset))" >&2; bad=1; }
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		! grep -q "^${BASH_REMATCH[1]}=" .config || { echo "$config.config: ${BASH_REMATCH[1]} should be unset" >&2; bad=1; }
	fi
done <"$frag"
[[ $bad == 0 ]] || exit 1

# `all` = vmlinux + bzImage + modules: that also writes Module.symvers and
# prepares the tree (modules_prepare) for out-of-tree builds with M=.
if ! nice -n 10 make ARCH=x86_64 -j"$(nproc)" all >>"$log" 2>&1; then
	echo "kernel build failed, see $log" >&2
	tail -30 "$log" >&2
	exit 1
fi
touch "$base/$key/.done"
echo "$config kernel built in $(( $(date +%s) - start )) s: $tree/arch/x86/boot/bzImage" >&2
echo "$tree"
