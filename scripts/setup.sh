#!/usr/bin/env bash
# Install and fetch everything the build and the VM tests need, on a fresh
# Debian 12 (bookworm) machine, as root. Idempotent and fast when already
# done: apt is skipped when every package is installed.
#
# What it leaves behind (outside the repo, in $XS_CACHE, default
# ~/.cache/af_xs):
#   release.env            XS_ABI, XS_RELEASE_KDIR, XS_RELEASE_VMLINUZ, and
#                          XS_NEXT_* for the 6.12 generation
#                          (shell and make syntax: Makefile includes it)
#   release/vmlinuz-<abi>  the Debian cloud kernel the release tier boots
#   release/veth-<abi>.ko  its veth module (the two-host tests join two
#                          network namespaces with a veth pair)
#   kselftest/             kselftest_harness.h, kselftest.h (flat)
#   linux-scripts/         checkpatch.pl, spelling.txt, const_structs.checkpatch
# All three come from Debian packages; nothing is copied into the repo.
set -euo pipefail

XS_CACHE=${XS_CACHE:-$HOME/.cache/af_xs}
mkdir -p "$XS_CACHE"
export DEBIAN_FRONTEND=noninteractive

# --demo (make demo): only what building the module, libxs and the tools
# and booting the 6.1 guest need; the rest (the 6.12 generation, the
# kernel sources, linters, test and plotting libraries) is for make check.
demo=0
case ${1:-} in
--demo) demo=1 ;;
"") ;;
*) echo "usage: $0 [--demo]" >&2; exit 2 ;;
esac

# Build tools, the emulator, the guest userland (busybox-static); for make
# check also the kernel sources (kselftest headers, checkpatch, the debug
# kernel), the linters and what tests and plots link. The cloud kernel's
# headers are added below, once their ABI is resolved.
pkgs=(
	build-essential qemu-system-x86 busybox-static cpio bc flex bison
	libelf-dev libssl-dev kmod xz-utils dwarves pkg-config perl gzip
	util-linux libzmq3-dev
)
((demo)) || pkgs+=(mandoc linux-source-6.1 sparse gnuplot-nox liburing-dev libnng-dev dkms openssl)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }
updated=0
need_root() { # need_root WHAT
	((EUID == 0)) && return
	echo "setup: $1 needs root: run 'sudo make setup' once, then retry as any user" >&2
	exit 1
}
apt_update() { ((updated)) || { need_root "updating apt's package lists"; apt-get update -qq; }; updated=1; }

missing=()
for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})) && ((EUID != 0)); then
	echo "setup: these Debian packages are missing and installing them needs root:" >&2
	echo "  ${missing[*]}" >&2
	echo "run 'sudo make setup' once (or install them yourself), then retry as any user" >&2
	exit 1
fi
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	apt_update
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- Resolve the kernel ABI from Debian's metapackage ---
# linux-headers-cloud-amd64 Depends: linux-headers-<abi>-cloud-amd64, and
# linux-image-cloud-amd64 the matching image. We take bookworm's 6.1
# series (the same series as linux-source-6.1, which the debug tier
# builds): the newest metapackage version 6.1.* that is not a backport,
# whatever else apt knows or has installed (a bookworm-backports 6.12
# metapackage on the machine must not move the release tier).
newest_61() { # newest_61 PACKAGE -> version
	local v best=
	for v in $(apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'); do
		[[ $v == 6.1.* && $v != *bpo* ]] || continue
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	echo "$best"
}
meta_ver=$(newest_61 linux-headers-cloud-amd64)
if [[ -z $meta_ver ]]; then
	apt_update   # no apt lists yet (fresh machine)
	meta_ver=$(newest_61 linux-headers-cloud-amd64)
fi
[[ -n $meta_ver ]] || { echo "setup: apt knows no linux-headers-cloud-amd64 6.1.*" >&2; exit 1; }
dep=$(apt-cache show "linux-headers-cloud-amd64=$meta_ver" | sed -n 's/^Depends: //p' | head -1)
abi=$(sed -n 's/.*linux-headers-\([0-9][^ ,]*\)-cloud-amd64.*/\1/p' <<<"$dep")
[[ -n $abi ]] || { echo "setup: cannot parse ABI from '$dep'" >&2; exit 1; }
flavour=$abi-cloud-amd64
img_dep=$(apt-cache show "linux-image-cloud-amd64=$meta_ver" 2>/dev/null | sed -n 's/^Depends: //p' | head -1)
if [[ -n $img_dep && $img_dep != *"linux-image-$flavour"* ]]; then
	echo "setup: linux-image-cloud-amd64 $meta_ver depends on '$img_dep', headers on $flavour" >&2
	exit 1
fi

# The concrete headers package (KDIR for the release tier).
if ! installed "linux-headers-$flavour"; then
	need_root "installing linux-headers-$flavour"
	apt_update
	apt-get install -y -qq --no-install-recommends "linux-headers-$flavour"
fi
kdir=/usr/src/linux-headers-$flavour
[[ -f $kdir/Makefile ]] || { echo "setup: $kdir missing" >&2; exit 1; }
# The image we boot is the very build the headers describe (same package
# version), so vermagic and modversions CRCs match.
kver=$(dpkg-query -W -f='${Version}' "linux-headers-$flavour")

# --- The release kernel image: downloaded, never installed on the host ---
rel=$XS_CACHE/release
mkdir -p "$rel"
vmlinuz=$rel/vmlinuz-$flavour
# veth.ko (xz-compressed in 6.12 packages: busybox insmod wants it plain)
take_veth() { # take_veth EXTRACTED-TREE FLAVOUR
	local f
	f=$(find "$1/lib/modules" -name 'veth.ko*' | head -1)
	[[ -n $f ]] || { echo "setup: no veth module in linux-image-$2" >&2; exit 1; }
	case $f in
	*.xz) xz -dc "$f" >"$rel/veth-$2.ko.part" ;;
	*) cp "$f" "$rel/veth-$2.ko.part" ;;
	esac
	mv "$rel/veth-$2.ko.part" "$rel/veth-$2.ko"
}
if [[ ! -s $vmlinuz || ! -s $rel/veth-$flavour.ko ]]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && { apt-get download "linux-image-$flavour=$kver" 2>/dev/null ||
		{ apt-get update -qq && apt-get download "linux-image-$flavour=$kver"; }; })
	dpkg-deb -x "$tmp"/linux-image-"$flavour"_*.deb "$tmp/x"
	cp "$tmp/x/boot/vmlinuz-$flavour" "$vmlinuz.part"
	mv "$vmlinuz.part" "$vmlinuz"
	take_veth "$tmp/x" "$flavour"
fi

next_flavour= next_kdir= next_vmlinuz= next_meta= src_ver=
# --demo keeps what an earlier full set-up recorded
if ((demo)) && [[ -f $XS_CACHE/release.env ]]; then
	next_flavour=$(sed -n 's/^XS_NEXT_ABI=//p' "$XS_CACHE/release.env")
	next_kdir=$(sed -n 's/^XS_NEXT_KDIR=//p' "$XS_CACHE/release.env")
	next_vmlinuz=$(sed -n 's/^XS_NEXT_VMLINUZ=//p' "$XS_CACHE/release.env")
fi
if ((!demo)); then
# --- The second kernel generation: 6.12 from bookworm-backports ---
# Added in its own apt sources file and only downloaded from, never
# installed from: Debian's 6.12 headers package depends on the 6.12 image,
# and installing it would pull systemd, udev, linux-libc-dev and an
# initramfs from backports onto the host. The newest 6.12.* cloud
# metapackage there names the ABI; its headers, their -common part and
# the matching kbuild tools are unpacked into $XS_CACHE/next-headers (the
# tree keeps Debian's relative layout, usr/src and usr/lib), the image
# into the vmlinuz below.
bpo_list=/etc/apt/sources.list.d/af-xs-bookworm-backports.sources
if [[ ! -f $bpo_list ]]; then
	need_root "adding bookworm-backports to apt's sources"
	cat >"$bpo_list" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	updated=0
	apt_update
fi
newest_bpo() { # newest_bpo PACKAGE SERIES -> version
	local v best=
	for v in $(apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }'); do
		[[ $v == "$2".* && $v == *bpo* ]] || continue
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
	done
	echo "$best"
}
next_meta=$(newest_bpo linux-headers-cloud-amd64 6.12)
if [[ -z $next_meta ]]; then
	apt_update
	next_meta=$(newest_bpo linux-headers-cloud-amd64 6.12)
fi
[[ -n $next_meta ]] || { echo "setup: bookworm-backports has no linux-headers-cloud-amd64 6.12.*" >&2; exit 1; }
next_dep=$(apt-cache show "linux-headers-cloud-amd64=$next_meta" | sed -n 's/^Depends: //p' | head -1)
next_flavour=$(grep -o 'linux-headers-[^ ,]*-cloud-amd64' <<<"$next_dep" | head -1)
next_flavour=${next_flavour#linux-headers-}
[[ -n $next_flavour ]] || { echo "setup: cannot parse the 6.12 ABI from '$next_dep'" >&2; exit 1; }
next_kver=$(apt-cache show "linux-headers-$next_flavour" | sed -n 's/^Version: //p' | sort -V | tail -1)
next_root=$XS_CACHE/next-headers/$next_flavour
next_kdir=$next_root/usr/src/linux-headers-$next_flavour
if [[ ! -f $next_root/.done ]]; then
	# the headers' own Depends name the -common and kbuild packages
	hdr_dep=$(apt-cache show "linux-headers-$next_flavour=$next_kver" | sed -n 's/^Depends: //p' | head -1)
	common=$(grep -o 'linux-headers-[^ ,]*-common' <<<"$hdr_dep" | head -1)
	kbuild=$(grep -o 'linux-kbuild-[^ ,]*' <<<"$hdr_dep" | head -1)
	[[ -n $common && -n $kbuild ]] || { echo "setup: cannot parse '$hdr_dep'" >&2; exit 1; }
	rm -rf "$next_root"
	mkdir -p "$next_root"
	tmp3=$(mktemp -d)
	(cd "$tmp3" && apt-get download "linux-headers-$next_flavour=$next_kver" \
		"$common=$next_kver" "$kbuild=$next_kver")
	for deb in "$tmp3"/*.deb; do dpkg-deb -x "$deb" "$next_root"; done
	rm -rf "$tmp3"
	# its Makefile includes the -common tree by absolute path
	sed -i "s|^include /usr/src/|include $next_root/usr/src/|" "$next_kdir/Makefile"
	touch "$next_root/.done"
fi
[[ -f $next_kdir/Makefile ]] || { echo "setup: $next_kdir missing" >&2; exit 1; }
next_vmlinuz=$rel/vmlinuz-$next_flavour
if [[ ! -s $next_vmlinuz || ! -s $rel/veth-$next_flavour.ko ]]; then
	tmp2=$(mktemp -d)
	(cd "$tmp2" && { apt-get download "linux-image-$next_flavour=$next_kver" 2>/dev/null ||
		apt-get download "linux-image-$next_flavour-unsigned=$next_kver"; })
	dpkg-deb -x "$(ls "$tmp2"/linux-image-*.deb | head -1)" "$tmp2/x"
	cp "$tmp2/x/boot/vmlinuz-$next_flavour" "$next_vmlinuz.part"
	mv "$next_vmlinuz.part" "$next_vmlinuz"
	take_veth "$tmp2/x" "$next_flavour"
	rm -rf "$tmp2"
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

fi

cat >"$XS_CACHE/release.env" <<EOF
XS_ABI=$flavour
XS_RELEASE_KDIR=$kdir
XS_RELEASE_VMLINUZ=$vmlinuz
XS_NEXT_ABI=$next_flavour
XS_NEXT_KDIR=$next_kdir
XS_NEXT_VMLINUZ=$next_vmlinuz
XS_KSFT_INC=$XS_CACHE/kselftest
XS_CHECKPATCH=$XS_CACHE/linux-scripts/checkpatch.pl
EOF

echo "setup: kernel ABI $flavour (metapackage linux-headers-cloud-amd64 $meta_ver, headers/image $kver)"
echo "setup:   headers  $kdir"
echo "setup:   image    $vmlinuz"
if ((!demo)); then
	echo "setup: second generation $next_flavour (bookworm-backports $next_meta): $next_kdir, $next_vmlinuz"
	echo "setup:   kselftest headers $XS_CACHE/kselftest, checkpatch $XS_CACHE/linux-scripts (linux-source $src_ver)"
fi
