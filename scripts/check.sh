#!/usr/bin/env bash
# make check / make check-debug / make check-kcsan: set up, build
# everything for the chosen guest kernel, lint (release tier), then run
# the test programs in several guest boots ("groups") and add them up.
# Ends with one line "N passed, N failed[, N skipped]" (the sum over all
# groups and the host-side lint/build results) and exits 1 on any failure.
#
# Usage: scripts/check.sh release|next|debug|kcsan
#   release: Debian's 6.1 cloud kernel; next: the 6.12 one (bookworm-
#   backports); debug: the KASAN/lockdep/kmemleak 6.1 build; kcsan: the
#   KCSAN 6.1 build (only the chaos/race programs, see XS_PROGRAMS)
#   env: XS_CACHE, XS_TEST_TIMEOUT (per program, s: the same for all,
#        instead of the budgets below), XS_VM_TIMEOUT (per boot, s),
#        XS_TEST_SCALE (iteration divisor; 1 release, 20 debug),
#        XS_GROUPS (boots: 2 release/next, 4 debug, 2 kcsan),
#        XS_PROGRAMS (space-separated: run only these programs),
#        XS_FUZZ_SECS, XS_FUZZ_SEED (selftests/fuzz.c),
#        XS_KMEMLEAK_EACH (1: kmemleak scan after every program)
#
# Groups. One boot per group, each with its own VM timeout, so a program
# that hangs the guest (or panics it: the debug kernel has panic_on_warn=1)
# costs only its group. Programs are spread over the groups by their
# measured guest time (scripts/test-times; longest first, each to the
# least loaded group). Each program gets its own timeout: 4x its measured
# time plus a margin, within a floor and a ceiling per tier; a program not
# in the table gets the tier default (300 s release, 900 s debug). A
# group's VM timeout is twice its measured time plus its largest budget
# (one program may hang to its timeout while the rest run 2x slow) plus
# boot and kmemleak slack. A kernel report (WARNING, BUG, KASAN, lockdep,
# kmemleak, KCSAN), an rmmod failure or a panic in any boot fails the run.
# At the end: each group's wall time, the slowest programs, the failures.
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
kcsan)
	step "kcsan kernel (cached after the first build)"
	kdir=$(scripts/build-debug-kernel.sh --config kcsan)
	;;
*) echo "usage: $0 release|next|debug|kcsan" >&2; exit 2 ;;
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
	# and once as DKMS builds it on a user's machine (dkms.conf)
	if [[ $kernel == release ]]; then
		step "DKMS build against $kdir"
		st=0; scripts/dkms-check.sh "$kdir" || st=$?
		result dkms $st
	fi
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

# --- groups ---
case $kernel in
release | next) col=2 ngroups=${XS_GROUPS:-2} floor=120 ceil=600 margin=60 dflt=300 slack=120 ;;
debug) col=3 ngroups=${XS_GROUPS:-4} floor=300 ceil=2400 margin=120 dflt=900 slack=300 ;;
kcsan) col=3 ngroups=${XS_GROUPS:-2} floor=300 ceil=2400 margin=120 dflt=900 slack=300 ;;
esac
progs=${XS_PROGRAMS:-$(find selftests/build -maxdepth 1 -type f -perm -u+x -printf '%f\n' 2>/dev/null | sort)}
out=build/vm-$kernel
rm -rf "$out"
mkdir -p "$out"
# "group budget name weight" lines (weight: measured seconds, or the
# default timeout / 4 when the table does not know the program).
for p in $progs; do
	w=$(awk -v n="$p" -v c="$col" '$1 == n { print $c }' scripts/test-times 2>/dev/null)
	echo "$p ${w:-}"
done | awk -v g="$ngroups" -v floor="$floor" -v ceil="$ceil" -v margin="$margin" -v dflt="$dflt" '
	{ n[NR] = $1; known[NR] = ($2 != ""); w[NR] = known[NR] ? $2 + 0 : dflt / 4 }
	END {
		# longest first, each to the least loaded group
		for (i = 1; i <= NR; i++) order[i] = i
		for (i = 1; i <= NR; i++)
			for (j = i + 1; j <= NR; j++)
				if (w[order[j]] > w[order[i]]) { t = order[i]; order[i] = order[j]; order[j] = t }
		for (k = 1; k <= g; k++) load[k] = 0
		for (i = 1; i <= NR; i++) {
			x = order[i]; best = 1
			for (k = 2; k <= g; k++) if (load[k] < load[best]) best = k
			load[best] += w[x]
			b = known[x] ? int(4 * w[x] + margin) : dflt
			if (b < floor) b = floor
			if (b > ceil) b = ceil
			printf "%d %d %s %s\n", best, b, n[x], w[x]
		}
	}' | sort -k1,1n -k3,3 >"$out/plan"

st=0
p=0 f=0 s=0
g=0
: >"$out/walls"
while read -r gi; do
	g=$((g + 1))
	names=$(awk -v k="$gi" '$1 == k { printf "%s ", $3 }' "$out/plan")
	awk -v k="$gi" '$1 == k { print $3, $2 }' "$out/plan" >"$out/budgets-g$gi"
	# VM timeout: 2x the measured time, plus the largest budget, plus slack
	vmt=$(awk -v k="$gi" -v slack="$slack" '$1 == k { t += 2 * $4; if ($2 > m) m = $2 }
		END { printf "%d", t + m + slack }' "$out/plan")
	vmt=${XS_VM_TIMEOUT:-$vmt}
	args=(--kernel "$kernel" --module "$ko" --tests selftests/build --only "$names"
	      --vm-timeout "$vmt" --name "group $gi of $ngroups" --out "$out/g$gi")
	[[ -n ${XS_TEST_TIMEOUT:-} ]] || args+=(--budgets "$out/budgets-g$gi")
	((g > 1)) || args+=(--extra-tap "$tap")
	step "boot and test: group $gi of $ngroups: $names"
	gt0=$(date +%s)
	set +e
	scripts/vm-run.sh "${args[@]}" 2>&1 | tee "$out/g$gi.out"
	gst=${PIPESTATUS[0]}
	set -e
	echo "group $gi: $(( $(date +%s) - gt0 )) s wall: $names" >>"$out/walls"
	line=$(tail -n 3 "$out/g$gi.out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1 || true)
	if [[ -z $line ]]; then
		f=$((f + 1))	# vm-run.sh died before its summary
		echo "group $gi: no summary (vm-run.sh exit $gst)" >>"$out/failures"
	else
		read -r tp tf ts <<<"$(sed -E 's/^([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\1 \2 \4/' <<<"$line")"
		p=$((p + tp)) f=$((f + tf)) s=$((s + ${ts:-0}))
	fi
	[[ ! -s $out/g$gi/failures ]] || sed "s/^/group $gi: /" "$out/g$gi/failures" >>"$out/failures"
	((gst == 0)) || st=1
done < <(cut -d' ' -f1 "$out/plan" | sort -un)

if ((g == 0)); then	# no program to run: the host-side results alone
	p=$(grep -c '^ok ' "$tap" || true) f=$(grep -c '^not ok ' "$tap" || true)
fi
echo
echo "==================== check ($kernel): all groups ===================="
cat "$out/walls"
echo "--- slowest programs (guest seconds, of their budget) ---"
cat "$out"/g*/programs 2>/dev/null | awk 'NF { t = $NF; sub(/s$/, "", t); print t + 0, $1 }' |
	sort -k1,1nr | head -8 | while read -r secs name; do
		b=$(awk -v n="$name" '$3 == n { print $2 }' "$out/plan")
		printf '  %-24s %7.1f s  (budget %s s)\n' "$name" "$secs" "${b:-${XS_TEST_TIMEOUT:-?}}"
	done
if [[ -s $out/failures ]]; then
	echo "--- FAILED ---"
	cat "$out/failures"
fi
echo "logs: $out/g*/serial.log"
echo "total wall time: $(( $(date +%s) - t0 )) s"
((f == 0)) || st=1
if ((s)); then echo "$p passed, $f failed, $s skipped"; else echo "$p passed, $f failed"; fi
exit $st
