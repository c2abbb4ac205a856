# shellcheck shell=bash
# Shared by scripts/bench-*.sh (sourced; they set $repo).
#
# bench_prepare OUT RESULTS: build libxs and bench/, and the module from a
# copy of kmod/ and uapi/ against the release kernel's headers (so that a
# `make check-debug` rebuilding kmod/ for the debug kernel meanwhile cannot
# hand the guest the wrong module: OUT/src/kmod/af_xs.ko); write what was
# measured (OUT/revision: the tree and the last commit of the module's
# sources) and when (OUT/date). Leaves OUT/vm/scripts, OUT/vm/empty and
# RESULTS made, and XS_RELEASE_KDIR & co. set from the set-up.
bench_prepare() {
	local out=$1 results=$2
	# shellcheck disable=SC1091
	. "${XS_CACHE:-$HOME/.cache/af_xs}/release.env"
	make -C "$repo/libxs" >/dev/null
	make -C "$repo/bench" >/dev/null
	rm -rf "$out"
	mkdir -p "$out/vm/scripts" "$out/vm/empty" "$out/src" "$results"
	cp -r "$repo/kmod" "$repo/uapi" "$out/src/"
	make -s -C "$XS_RELEASE_KDIR" M="$out/src/kmod" clean >/dev/null 2>&1 || true
	make -C "$XS_RELEASE_KDIR" M="$out/src/kmod" -j"$(nproc)" modules >"$out/kmod-build.log" 2>&1 ||
		{ cat "$out/kmod-build.log" >&2; exit 1; }
	{
		echo "$(git -C "$repo" describe --always --dirty) (tree);"
		echo "kmod/ and uapi/ last changed in"
		git -C "$repo" log -1 --format='%h (%cd)' --date=format:'%Y-%m-%d %H:%M' -- kmod uapi
		git -C "$repo" diff --quiet HEAD -- kmod uapi || echo "+ uncommitted changes"
	} 2>/dev/null | paste -sd' ' >"$out/revision"
	date -u '+%Y-%m-%d %H:%M UTC' >"$out/date"
}
