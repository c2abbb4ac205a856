#!/usr/bin/env bash
# Boot a throwaway qemu guest (TCG, no KVM needed) with the module and
# either run the whole test suite or one command, then judge the result.
# It never touches the host kernel: the module is only ever loaded inside
# the guest.
#
# Usage: scripts/vm-run.sh [--kernel release|next|debug|kcsan] [--cmd "CMD"]
#            [--add SRC[:DEST]]... [--module KO] [--tests DIR] [--only "P..."]
#            [--budgets FILE] [--timeout SECS] [--vm-timeout SECS]
#            [--extra-tap FILE] [--name NAME] [--log FILE] [--out DIR]
#
#   --kernel     release: Debian's 6.1 cloud kernel (scripts/setup.sh fetched it)
#                next:    Debian's 6.12 cloud kernel from bookworm-backports
#                debug:   the KASAN/lockdep/kmemleak kernel built by
#                         scripts/build-debug-kernel.sh (booted with
#                         panic_on_warn=1: a WARN ends the guest, and the
#                         program that was running is named as the cause)
#                kcsan:   the KCSAN kernel (scripts/build-debug-kernel.sh
#                         --config kcsan); any "BUG: KCSAN:" report fails
#   --cmd        run CMD (with busybox sh, cwd /tmp) instead of the tests
#                in /tests; e.g. --cmd "/bench/fanout -n 8"
#   --add        copy file or directory SRC into the initramfs as DEST
#                (default /<basename SRC>); ELF files get their libraries
#   --module     the .ko to insmod (default kmod/af_xs.ko)
#   --tests      directory of test programs (default selftests/build)
#   --only       run only these programs of --tests (space-separated names);
#                one named but missing is counted as "never ran"
#   --budgets    file of "PROGRAM SECONDS" lines: that program's timeout
#                (the others get --timeout)
#   --timeout    per test program (guest side, busybox timeout)
#   --vm-timeout whole guest; a hung guest is killed and counted as failed
#   --name       label of this boot in the summary (scripts/check.sh: group)
#   --extra-tap  host-side TAP lines (e.g. lint) counted in the summary
#   --t0 EPOCH   also print the wall time since EPOCH (make check's start)
#   --out DIR    work directory: initramfs, serial.log, summary files
#                (default build/vm-<kernel>; give each concurrent run its own)
#
# What the guest gets: busybox-static, /af_xs.ko, /veth.ko (release, next),
# /tests/* (executables of selftests/build), /tools/* (tools/build),
# libxs.so* in /lib, every shared
# library they need (found with ldd) at its host path, XS_TEST_SCALE in the
# environment (1 on release, 20 on debug/kcsan: tests divide iteration
# counts by it), XS_FUZZ_SECS (selftests/fuzz.c's duration: 20 s on
# release/next, 60 on debug/kcsan, 0 skips it), XS_FUZZ_SEED when set
# on the host, and XS_KMEMLEAK_EACH (1: a kmemleak scan after each
# program instead of only at the end of the boot; see guest-run-test.sh).
#
# Output: the serial console, live, then a summary ending with one line
# "N passed, N failed" (", N skipped" when some were). Exit 1 on any failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
XS_CACHE=${XS_CACHE:-$HOME/.cache/af_xs}
for tool in qemu-system-x86_64 busybox cpio; do
	command -v "$tool" >/dev/null || {
		echo "vm-run: $tool is not installed: run 'sudo make setup' (Debian: qemu-system-x86, busybox-static, cpio)" >&2
		exit 2
	}
done

out= t0_all= kernel=release cmd= module=$repo/kmod/af_xs.ko testdir=$repo/selftests/build timeout= vm_timeout= extra_tap= log=
only= budgets= name=
adds=()
while (($#)); do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--cmd) cmd=$2; shift 2 ;;
	--add) adds+=("$2"); shift 2 ;;
	--module) module=$2; shift 2 ;;
	--tests) testdir=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--budgets) budgets=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--vm-timeout) vm_timeout=$2; shift 2 ;;
	--extra-tap) extra_tap=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--t0) t0_all=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;$d'; exit 0 ;;
	*) echo "vm-run: unknown argument $1" >&2; exit 2 ;;
	esac
done

# Per-kernel defaults. The debug kernel under TCG is 10-50x slower
# (KASAN + lockdep), hence the larger scale divisor and timeouts.
# Extra boot options on debug: every KASAN report, not only the first;
# panic_on_warn=1, so a WARN stops the guest where it happened (the judge
# below names the program that was running).
fuzz_secs=${XS_FUZZ_SECS:-20}
# tsc=unstable on every kernel: under TCG the clocksource watchdog finds
# the TSC skewed at some random moment and flips sched_clock's static key,
# and that live code patch once oopsed another vCPU (int3 in
# sched_clock_cpu, 6.12). Declared unstable at boot, the flip happens
# before the second CPU runs.
case $kernel in
release)
	# shellcheck disable=SC1091
	[[ -f $XS_CACHE/release.env ]] || { echo "vm-run: run scripts/setup.sh first" >&2; exit 2; }
	. "$XS_CACHE/release.env"
	vmlinuz=$XS_RELEASE_VMLINUZ
	scale=${XS_TEST_SCALE:-1}
	timeout=${timeout:-${XS_TEST_TIMEOUT:-300}}
	vm_timeout=${vm_timeout:-${XS_VM_TIMEOUT:-900}}
	append_extra=
	;;
next)
	# shellcheck disable=SC1091
	[[ -f $XS_CACHE/release.env ]] || { echo "vm-run: run scripts/setup.sh first" >&2; exit 2; }
	. "$XS_CACHE/release.env"
	vmlinuz=$XS_NEXT_VMLINUZ
	# 6.12's SLUB fast path (cmpxchg16b on per-cpu data) double-faults
	# now and then under Debian 12's QEMU TCG, at boot, before any module
	# loads (seen with one and with several host threads). SLUB's sanity
	# checks take the locked slow path instead, which boots every time.
	append_extra="slub_debug=F"
	scale=${XS_TEST_SCALE:-1}
	timeout=${timeout:-${XS_TEST_TIMEOUT:-300}}
	vm_timeout=${vm_timeout:-${XS_VM_TIMEOUT:-900}}
	;;
debug)
	tree=$("$repo/scripts/build-debug-kernel.sh" --dir)
	vmlinuz=$tree/arch/x86/boot/bzImage
	[[ -f $tree/../.done ]] || { echo "vm-run: debug kernel not built: scripts/build-debug-kernel.sh" >&2; exit 2; }
	scale=${XS_TEST_SCALE:-20}
	timeout=${timeout:-${XS_TEST_TIMEOUT:-900}}
	vm_timeout=${vm_timeout:-${XS_VM_TIMEOUT:-3000}}
	append_extra="kasan_multi_shot panic_on_warn=1"
	fuzz_secs=${XS_FUZZ_SECS:-60}
	;;
kcsan)
	tree=$("$repo/scripts/build-debug-kernel.sh" --config kcsan --dir)
	vmlinuz=$tree/arch/x86/boot/bzImage
	[[ -f $tree/../.done ]] || { echo "vm-run: kcsan kernel not built: scripts/build-debug-kernel.sh --config kcsan" >&2; exit 2; }
	scale=${XS_TEST_SCALE:-20}
	timeout=${timeout:-${XS_TEST_TIMEOUT:-900}}
	vm_timeout=${vm_timeout:-${XS_VM_TIMEOUT:-3000}}
	append_extra="panic_on_warn=1"
	fuzz_secs=${XS_FUZZ_SECS:-60}
	;;
*) echo "vm-run: --kernel release|next|debug|kcsan" >&2; exit 2 ;;
esac

out=${out:-$repo/build/vm-$kernel}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=${log:-$out/serial.log}
root=$out/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,etc,lib,tests,tools,proc,sys,dev,tmp}

# --- initramfs ---
cp /bin/busybox "$root/bin/busybox"   # busybox-static: no libraries needed
cp "$repo/scripts/guest-init.sh" "$root/init"
[[ ! -f $repo/scripts/guest-run-test.sh ]] || cp "$repo/scripts/guest-run-test.sh" "$root/"
chmod 755 "$root/init"
printf 'root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"

# Debian's kernels have veth as a module (scripts/setup.sh keeps it next
# to the image): /veth.ko, which the two-host tests insmod. The debug and
# kcsan kernels have no network devices (the tests say what they do then).
veth=${vmlinuz%/*}/veth-${vmlinuz##*/vmlinuz-}.ko
[[ ! -f $veth ]] || cp "$veth" "$root/veth.ko"
if [[ -f $module ]]; then
	cp "$module" "$root/af_xs.ko"
else
	echo "vm-run: warning: no module at $module (insmod will fail)" >&2
fi

elfs=()
# Test programs and tools: regular executable files only (no .o, no dirs).
if [[ -d $testdir ]]; then
	while IFS= read -r -d '' f; do
		if [[ -n $only && " $only " != *" $(basename "$f") "* ]]; then continue; fi
		cp "$f" "$root/tests/"; elfs+=("$f")
	done < <(find "$testdir" -maxdepth 1 -type f -perm -u+x -print0)
fi
: >"$root/xs-budgets"
[[ -z $budgets ]] || cp "$budgets" "$root/xs-budgets"
if [[ -d $repo/tools/build ]]; then
	while IFS= read -r -d '' f; do
		cp "$f" "$root/tools/"; elfs+=("$f")
	done < <(find "$repo/tools/build" -maxdepth 1 -type f -perm -u+x -print0)
fi
for so in "$repo"/libxs/libxs.so*; do
	[[ -e $so ]] || continue
	cp -a "$so" "$root/lib/"; elfs+=("$so")
done
for a in "${adds[@]}"; do
	src=${a%%:*}
	dest=/$(basename "$src")
	[[ $a == *:* ]] && dest=${a#*:}
	mkdir -p "$root$(dirname "$dest")"
	cp -a "$src" "$root$dest"
	while IFS= read -r -d '' f; do elfs+=("$f"); done < <(find "$src" -type f -perm -u+x -print0)
done

# Shared libraries (and the dynamic loader) at the paths ldd reports, so
# the guest's ld.so finds them exactly where the host's did.
for f in "${elfs[@]}"; do
	LD_LIBRARY_PATH=$repo/libxs ldd "$f" 2>/dev/null |
		awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' || true
done | sort -u | while read -r lib; do
	case $lib in "$repo"/*) continue ;; esac   # libxs: already in /lib
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done

# The programs the guest must run (in --cmd mode: only the command).
tests=
if [[ -z $cmd && -n $only ]]; then
	tests=$(tr ' ' '\n' <<<"$only" | sed '/^$/d')
elif [[ -z $cmd ]]; then
	tests=$(cd "$root/tests" && ls)
fi
{
	echo "XS_MODE=$([[ -n $cmd ]] && echo cmd || echo suite)"
	echo "XS_TEST_SCALE=$scale"
	echo "XS_TEST_TIMEOUT=$timeout"
	echo "XS_FUZZ_SECS=$fuzz_secs"
	[[ -z ${XS_FUZZ_SEED:-} ]] || echo "XS_FUZZ_SEED=$XS_FUZZ_SEED"
	echo "XS_KMEMLEAK_EACH=${XS_KMEMLEAK_EACH:-0}"
} >"$root/xs-env"
printf '%s\n' "$cmd" >"$root/xs-cmd"

initrd=$out/initramfs.cpio.gz
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$initrd"

# --- boot ---
# loglevel=5: warnings and errors show live on the console (so a hang or a
# splat is visible where it happens); the full dmesg is printed at the end.
# panic=-1 + -no-reboot: a panic, or init's final `reboot -f`, ends qemu.
echo "vm-run: ${name:+$name: }booting $kernel kernel $(basename "$vmlinuz"), $(du -h "$initrd" | cut -f1) initramfs, timeouts ${timeout}s/program ${vm_timeout}s/VM"
mkdir -p "$(dirname "$log")"
t0=$(date +%s)
set +e
timeout -k 10 "$vm_timeout" qemu-system-x86_64 \
	-accel tcg,thread=multi -m 2G -smp 2 -nographic -no-reboot -nic none \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 loglevel=5 tsc=unstable $append_extra" \
	</dev/null 2>&1 | tee "$log"
qrc=${PIPESTATUS[0]}
set -e
t1=$(date +%s)

# --- judge ---
clean=$out/serial.clean
tr -d '\r' <"$log" >"$clean"

echo
echo "==================== summary ($kernel kernel${name:+, $name}) ===================="
kver=$(sed -n 's/^@@XS-KERNEL //p' "$clean" | head -1)
boot=$(awk '/^@@XS-KERNEL/ { print "yes"; exit }' "$clean")
echo "kernel: ${kver:-<never reached init>}  (VM wall time $((t1 - t0)) s)"

fails=$out/failures
: >"$fails"
# Per-program TAP counting. A program counts its own ok / not ok lines; if
# it exits non-zero without a "not ok", was killed, timed out, or stopped
# short of its plan, that is one more failure. Exit 4 (KSFT_SKIP) without
# TAP is a skip; exit 0 without TAP is one pass.
progs=$out/programs
: >"$progs"
counts=$(awk -v expected="$tests" -v fails="$fails" -v progs="$progs" -v mode="${cmd:+cmd}" '
	function finish(rc,   why) {
		why = ""
		if (rc == 124 || rc == 137 || rc == 143) why = "timed out or killed (rc=" rc ", budget " budget " s)"
		else if (rc >= 128) why = "crashed (signal " rc - 128 ")"
		else if (rc != 0 && rc != 4 && nok == 0) why = "exited " rc " without a failed TAP line"
		else if (plan >= 0 && ok + nok + skip < plan && rc != 0) why = "stopped after " ok + nok + skip " of " plan " tests"
		if (ok + nok + skip == 0 && why == "") {
			if (rc == 4) skip++; else ok++
		}
		if (why != "") { nok++; print name ": " why >> fails }
		else if (nok) print name ": " nok " failed test(s)" >> fails
		printf "  %-24s %4d passed %4d failed %4d skipped  rc=%-3d %7ss\n", name, ok, nok, skip, rc, secs >> progs
		P += ok; F += nok; S += skip
	}
	/^@@XS-TEST-BEGIN / {
		name = $2; inb = 1; seen[name] = 1; ok = nok = skip = nd = 0; plan = -1
		budget = $3; sub(/^budget=/, "", budget); next
	}
	inb && /^@@XS-TEST-END / {
		rc = $3; sub(/^rc=/, "", rc); secs = $4; sub(/^secs=/, "", secs)
		finish(rc + 0); inb = 0; next
	}
	inb && /^ok / { if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) skip++; else ok++; next }
	inb && /^not ok / {
		if ($0 ~ /# *TODO/) { skip++; next }
		nok++
		# what failed, and the diagnostics just before it (CI shows
		# only the end of the output: this is where to look)
		print name ": " $0 >> fails
		for (i = (nd > 4 ? nd - 4 : 0); i < nd; i++) print "    " d[i % 4] >> fails
		nd = 0; next
	}
	inb && /^#  *RUN / { nd = 0; next }
	inb && /^# / { d[nd++ % 4] = substr($0, 1, 300); next }
	inb && /^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
	/\] Kernel panic - not syncing/ { panicked = 1 }
	END {
		if (inb) {
			F += 1
			print name ": did not finish: the guest " (panicked ? "panicked" : "hung or crashed") " while it ran (budget " budget " s)" >> fails
			printf "  %-24s %4d passed %4d failed %4d skipped  %-6s %7s\n", name, ok, nok + 1, skip, "(died)", "-" >> progs
		}
		n = split(expected, want, "\n")
		for (i = 1; i <= n; i++)
			if (want[i] != "" && !(want[i] in seen)) { F++; print want[i] ": never ran" >> fails }
		if (mode == "cmd" && !("cmd" in seen)) { F++; print "cmd: never ran" >> fails }
		print P + 0, F + 0, S + 0
	}' "$clean")
read -r passed failed skipped <<<"$counts"

if [[ -n $extra_tap && -f $extra_tap ]]; then
	p=$(grep -c '^ok ' "$extra_tap" || true)
	f=$(grep -c '^not ok ' "$extra_tap" || true)
	passed=$((passed + p)); failed=$((failed + f))
	grep '^not ok ' "$extra_tap" | sed 's/^not ok [0-9]* *-* */host: /' >>"$fails" || true
fi

# Kernel reports: printk lines (they carry a [ seconds.micro ] stamp, which
# test output does not) with one of the patterns, and the guest's own
# @@XS-REPORT lines (rmmod, kmemleak, taint). All together count as one
# failure; each distinct line is shown.
pat='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|possible recursive locking|INFO: |kmemleak: .*(suspected|disabled|Cannot)|unreferenced object|general protection fault|Call Trace|Kernel panic|kernel BUG at|rmmod failed|insmod failed'
reports=$out/kernel-reports
# A memory cgroup OOM kill is the kernel enforcing memory.max, which a test
# provokes on purpose (selftests/limits_mem.c): its report (from "invoked
# oom-killer" to "Memory cgroup out of memory: Killed process") carries a
# stack dump that is not a problem. Any other OOM report still counts.
no_memcg_oom() {
	awk '/invoked oom-killer:/ { inb = 1; n = 0 }
	inb { buf[n++] = $0
		if ($0 ~ /Memory cgroup out of memory: Killed process/) inb = 0
		else if ($0 ~ /Killed process|Kernel panic/) { for (i = 0; i < n; i++) print buf[i]; inb = 0 }
		next }
	{ print }
	END { if (inb) for (i = 0; i < n; i++) print buf[i] }' "$1"
}
{
	# "Cannot allocate a scan area" is kmemleak's own allocation failing
	# under the fault-injection tests (a vmalloc's scan area): kmemleak
	# then scans the whole object, nothing is wrong.
	no_memcg_oom "$clean" | grep -E '\[ *[0-9]+\.[0-9]+\].*('"$pat"')' |
		grep -v 'kmemleak: Cannot allocate a scan area' || true
	grep -E '^@@XS-REPORT' "$clean" || true
} | awk '!seen[$0]++' >"$reports"
problems=()
[[ -s $reports ]] && problems+=("kernel reported problems ($(wc -l <"$reports") lines, see below)")
# A panic (panic_on_warn=1 on debug: any WARN) ends the guest at once:
# say so, with the reason, rather than leave only "did not reach the end".
panic=$(grep -m1 -E '\] Kernel panic - not syncing' "$clean" | sed 's/.*Kernel panic - not syncing: *//' || true)
running=$(awk '/^@@XS-TEST-BEGIN / { n = $2 } /^@@XS-TEST-END / { n = "" } END { print n }' "$clean")
[[ -z $panic ]] || problems+=("guest panicked${running:+ while $running ran}: $panic$([[ $kernel == debug || $kernel == kcsan ]] && echo ' (panic_on_warn=1: a WARN is fatal; the WARNING is in the kernel reports)')")
((qrc == 124 || qrc == 137)) && problems+=("VM timed out after ${vm_timeout}s and was killed${running:+ while $running ran}")
grep -q '^@@XS-DONE' "$clean" || problems+=("guest did not reach the end of /init (hang, panic or crash)")
[[ -n $boot ]] || problems+=("guest never reached /init")
if ((${#problems[@]})); then
	failed=$((failed + 1))
	printf 'kernel: %s\n' "${problems[@]}" >>"$fails"
fi

if [[ -s $progs ]]; then
	echo "--- programs (guest time) ---"
	cat "$progs"
fi
if [[ -s $reports ]]; then
	echo "--- kernel reports ---"
	head -60 "$reports"
fi
if [[ -s $fails ]]; then
	echo "--- FAILED ---"
	cat "$fails"
fi
echo "log: $log"
[[ -z $t0_all ]] || echo "total wall time: $(( $(date +%s) - t0_all )) s (VM $((t1 - t0)) s)"
if ((skipped)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
((failed == 0))
