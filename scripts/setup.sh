#!/usr/bin/env bash
# Install and fetch everything the build and the VM tests need, on a fresh
# Debian 12 (bookworm) machine, as root. Idempotent and fast when already
# done: apt is skipped when every package is installed.
#
# What it leaves behind (outside the repo, in $XS_CACHE, default
# ~/.cache/af_xs):
#   release.env            XS_ABI, XS_RELEASE_KDIR, XS_RELEASE_VMLINUZ
#                          (shell and make syntax: Makefile includes it)
#   release/vmlinuz-<abi>  the Debian cloud kernel the release tier boots
#   kselftest/             kselftest_harness.h, kselftest.h (flat)
#   linux-scripts/         checkpatch.pl, spelling.txt, const_structs.checkpatch
# All three come from Debian packages; nothing is copied into the repo.
set -euo pipefail

XS_CACHE=${XS_CACHE:-$HOME/.cache/af_xs}
mkdir -p "$XS_CACHE"
export DEBIAN_FRONTEND=noninteractive

# Build tools, the emulator, the guest userland (busybox-static), the
# kernel sources (for kselftest headers, checkpatch and the debug kernel)
# and the headers of Debian's cloud kernel (the release tier).
pkgs=(
	build-essential qemu-system-x86 busybox-static
	linux-headers-cloud-amd64 linux-source-6.1
	libzmq3-dev sparse cpio bc flex bison libelf-dev libssl-dev kmod
	gnuplot-nox xz-utils dwarves pkg-config perl gzip util-linux
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
updated=0
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	apt-get update -qq
	updated=1
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Resolve the kernel ABI from Debian's metapackage ---
# linux-headers-cloud-amd64 Depends: linux-headers-<abi>-cloud-amd64. The
# installed metapackage is the source of truth (no network needed); the
# image we boot must be the same ABI and the same package version as the
# headers we build against, so modversions and vermagic match.
dep=$(dpkg-query -W -f='${Depends}' linux-headers-cloud-amd64)
abi=$(sed -n 's/.*linux-headers-\([0-9][^ ,]*\)-cloud-amd64.*/\1/p' <<<"$dep")
[[ -n $abi ]] || { echo "setup: cannot parse ABI from '$dep'" >&2; exit 1; }
flavour=$abi-cloud-amd64
kver=$(dpkg-query -W -f='${Version}' linux-headers-cloud-amd64)

# The concrete headers package (normally pulled in by the metapackage).
if ! installed "linux-headers-$flavour"; then
	((updated)) || apt-get update -qq
	updated=1
	apt-get install -y -qq --no-install-recommends "linux-headers-$flavour"
fi
kdir=/usr/src/linux-headers-$flavour
[[ -f $kdir/Makefile ]] || { echo "setup: $kdir missing" >&2; exit 1; }

# --- The release kernel image: downloaded, never installed on the host ---
rel=$XS_CACHE/release
mkdir -p "$rel"
vmlinuz=$rel/vmlinuz-$flavour
if [[ ! -s $vmlinuz ]]; then
	# Cross-check with the image metapackage when the apt lists know it.
	img_dep=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-.*\)/\1/p' | head -1)
	if [[ -n $img_dep && $img_dep != "linux-image-$flavour" ]]; then
		echo "setup: note: linux-image-cloud-amd64 now depends on $img_dep; headers say $flavour (run apt-get upgrade to move both)" >&2
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && { apt-get download "linux-image-$flavour=$kver" 2>/dev/null ||
		{ apt-get update -qq && apt-get download "linux-image-$flavour=$kver"; }; })
	dpkg-deb -x "$tmp"/linux-image-"$flavour"_*.deb "$tmp/x"
	cp "$tmp/x/boot/vmlinuz-$flavour" "$vmlinuz.part"
	mv "$vmlinuz.part" "$vmlinuz"
fi

# --- Files extracted from Debian's linux-source-6.1 (not kept in the repo) ---
src_tar=/usr/src/linux-source-6.1.tar.xz
src_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
stamp=$XS_CACHE/extracted.version
if [[ ! -f $stamp || $(cat "$stamp") != "$src_ver" ]]; then
	echo "setup: extracting kselftest headers and checkpatch from $src_tar"
	rm -rf "$XS_CACHE/kselftest" "$XS_CACHE/linux-scripts"
	mkdir -p "$XS_CACHE/kselftest" "$XS_CACHE/linux-scripts"
	tar -xJf "$src_tar" -C "$XS_CACHE/kselftest" --strip-components=4 \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/tools/testing/selftests/kselftest.h
	tar -xJf "$src_tar" -C "$XS_CACHE/linux-scripts" --strip-components=2 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	echo "$src_ver" >"$stamp"
fi

cat >"$XS_CACHE/release.env" <<EOF
XS_ABI=$flavour
XS_RELEASE_KDIR=$kdir
XS_RELEASE_VMLINUZ=$vmlinuz
XS_KSFT_INC=$XS_CACHE/kselftest
XS_CHECKPATCH=$XS_CACHE/linux-scripts/checkpatch.pl
EOF

echo "setup: kernel ABI $flavour (package $kver)"
echo "setup:   headers  $kdir"
echo "setup:   image    $vmlinuz"
echo "setup:   kselftest headers $XS_CACHE/kselftest, checkpatch $XS_CACHE/linux-scripts (linux-source $src_ver)"
