#!/usr/bin/env bash
# The REQ/REP latency benchmark (make bench-latency): round trips between a
# requester and a replier process, 64-byte and 4 KiB messages, for AF_XS
# REQ/REP (plain syscalls and libxs), an AF_UNIX SOCK_SEQPACKET ping-pong,
# libzmq REQ/REP and nng req0/rep0 over ipc://, and the limit: two
# shared-memory rings between the processes (bench/shmring.h).  All of it
# runs in ONE boot of the release test VM (scripts/vm-run.sh, QEMU TCG).
#
# Writes bench/results/latency.md (tables, ratios against the goals, the
# machine); the raw CSV and the serial log stay in build/bench-latency/.
# It measures; it asserts nothing about speed.
#
# Environment:
#   LATENCY_ROUNDS    measured round trips per run (default 600)
#   LATENCY_WARMUP    round trips before measuring (default 60)
#   LATENCY_REPS      runs per point, all points interleaved; the tables
#                     show the median of the runs' figures (default 3)
#   LATENCY_IMPLS     implementations (default "xs libxs libxs-pair libxs-spin unix zmq nng shm")
#   LATENCY_LAYOUTS   CPU layouts: same (both processes on CPU 0), split
#                     (one per CPU), any (default "same split")
#   LATENCY_RESULTS   where latency.md goes (default bench/results)
#   LATENCY_REPORT_ONLY=1  rewrite latency.md from the last run's
#                     build/bench-latency/vm.log, without building or booting
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$repo/scripts/bench-lib.sh"
out=$repo/build/bench-latency
results=${LATENCY_RESULTS:-$repo/bench/results}
rounds=${LATENCY_ROUNDS:-600}
warmup=${LATENCY_WARMUP:-60}
reps=${LATENCY_REPS:-3}
layouts=${LATENCY_LAYOUTS:-same split}
sizes="64 4096"
impls=${LATENCY_IMPLS:-xs libxs libxs-pair libxs-spin unix zmq nng shm}

run_vm() {
	# --- build ---
	bench_prepare "$out" "$results"

	# The guest's part: every point $reps times, implementations interleaved
	# so that a slow spell of the host does not hit one of them only.
	cat >"$out/latency-matrix.sh" <<-GUEST
	#!/bin/sh
	echo "@@LAT-INFO kernel=\$(uname -r)"
	echo "@@LAT-INFO nproc=\$(grep -c ^processor /proc/cpuinfo)"
	echo "@@LAT-INFO cpu=\$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)"
	for rep in \$(seq $reps); do
		for cpus in $layouts; do
			for size in $sizes; do
				for impl in $impls; do
					if line=\$(/bench/latency -i \$impl -s \$size -c \$cpus -n $rounds -w $warmup); then
						echo "@@LAT \$rep,\$line"
					else
						echo "@@LAT-FAIL \$impl,\$size,\$cpus"
					fi
				done
			done
		done
	done
	GUEST

	# --- one VM boot, from a private copy of vm-run.sh (its build/ is ours) ---
	cp "$repo/scripts/vm-run.sh" "$repo/scripts/guest-init.sh" "$out/vm/scripts/"
	cut -d' ' -f1-3 /proc/loadavg >"$out/load"
	set +e
	"$out/vm/scripts/vm-run.sh" --kernel release \
		--module "$out/src/kmod/af_xs.ko" --tests "$out/vm/empty" \
		--add "$repo/bench/build/latency:/bench/latency" \
		--add "$out/latency-matrix.sh:/bench/latency-matrix.sh" \
		--cmd "sh /bench/latency-matrix.sh" \
		--timeout 1500 --vm-timeout 1800 --log "$out/serial.log"
	vm_rc=$?
	set -e
	cut -d' ' -f1-3 /proc/loadavg >"$out/load-after"
	tr -d '\r' <"$out/serial.log" >"$out/vm.log"
}

vm_rc=0
[[ ${LATENCY_REPORT_ONLY:-0} == 1 ]] || run_vm
sed -n 's/^@@LAT //p' "$out/vm.log" >"$out/vm.csv"
if [[ ! -s $out/vm.csv ]]; then
	echo "bench-latency: the VM produced no results (vm-run exit $vm_rc), see $out/serial.log" >&2
	exit 1
fi
((vm_rc == 0)) || echo "bench-latency: warning: vm-run exited $vm_rc (see its summary above)" >&2

# --- report ---
info() { sed -n "s/^@@LAT-INFO $1=//p" "$out/vm.log" | head -1; }
host_cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)
qemu=$(qemu-system-x86_64 --version | head -1)
fails=$(sed -n 's/^@@LAT-FAIL //p' "$out/vm.log" | paste -sd' ' -)

# vm.csv: rep,impl,size,cpus,rounds,mean,p50,p99,min,max.  Per point, the
# median over the runs of each figure (a slow spell of the host lands in
# a few runs, whichever implementation they measured).
awk -F, '
	{ k = $2 "," $3 "," $4; n[k]++; for (c = 6; c <= 9; c++) v[k, c, n[k]] = $c }
	function median(k, c,   i, j, t, a, m) {
		m = n[k]
		for (i = 1; i <= m; i++) a[i] = v[k, c, i]
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	END {
		for (k in n)
			printf "0,%s,%d,%.2f,%.2f,%.2f,%.2f\n", k, n[k], median(k, 6), median(k, 7), median(k, 8), median(k, 9)
	}' "$out/vm.csv" | sort -t, -k4,4 -k3,3n -k2,2 >"$out/median.csv"

# The tables and goals of one CPU layout.
report() {
	awk -F, -v sizes="$sizes" -v cpus="$1" '
	$4 != cpus { next }
	{ mean[$2, $3] = $6; p50[$2, $3] = $7; p99[$2, $3] = $8; mn[$2, $3] = $9 }
	function v(a, i, s) { return ((i, s) in mean) ? sprintf("%.1f", a[i, s]) : "n/a" }
	function r(a, i, j, s) {
		return ((i, s) in mean && (j, s) in mean && a[j, s] > 0) ? sprintf("%.2fx", a[i, s] / a[j, s]) : "n/a"
	}
	function verdict(a, i, j, s, lim,   x) {
		if (!((i, s) in mean) || !((j, s) in mean) || a[j, s] <= 0) return "not measured"
		x = a[i, s] / a[j, s]
		return sprintf("%.2fx, %s", x, x <= lim ? "met" : "**not met**")
	}
	END {
		k = split(sizes, sz, " ")
		split("xs libxs libxs-pair libxs-spin unix zmq nng shm", im, " ")
		split("AF_XS (syscalls)|AF_XS (libxs)|AF_XS PAIR, receive ring (libxs)|the same, LIBXS_SPIN=16|AF_UNIX SOCK_SEQPACKET|libzmq ipc://|nng ipc://|limit: shared-memory rings", nm, "|")
		print "| size | implementation | mean µs | p50 µs | p99 µs | min µs | p50 / limit p50 |"
		print "|---:|---|---:|---:|---:|---:|---:|"
		for (a = 1; a <= k; a++)
			for (b = 1; b <= 8; b++)
				printf "| %d | %s | %s | %s | %s | %s | %s |\n", sz[a], nm[b],
					v(mean, im[b], sz[a]), v(p50, im[b], sz[a]), v(p99, im[b], sz[a]), v(mn, im[b], sz[a]),
					r(p50, im[b], "shm", sz[a])
		print ""
		print "| size | AF_XS / AF_UNIX: mean | p50 | p99 | min | AF_XS / libzmq: mean | p50 | min | AF_XS / nng: mean | p50 | libxs / AF_XS: mean | libxs / AF_UNIX: mean | libxs / libzmq: mean | libxs / nng: mean |"
		print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for (a = 1; a <= k; a++) {
			s = sz[a]
			printf "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s,
				r(mean, "xs", "unix", s), r(p50, "xs", "unix", s), r(p99, "xs", "unix", s), r(mn, "xs", "unix", s),
				r(mean, "xs", "zmq", s), r(p50, "xs", "zmq", s), r(mn, "xs", "zmq", s),
				r(mean, "xs", "nng", s), r(p50, "xs", "nng", s),
				r(mean, "libxs", "xs", s), r(mean, "libxs", "unix", s), r(mean, "libxs", "zmq", s), r(mean, "libxs", "nng", s)
		}
		print ""
		print "Goals (AF_XS round trip <= 1.2x AF_UNIX; < 0.5x libzmq), on the mean and on the median (p50); the"
		print "fastest round trip (min) is the figure least touched by the host, the mean the most:"
		print ""
		for (a = 1; a <= k; a++) {
			s = sz[a]
			printf "- %d bytes, syscalls: vs AF_UNIX mean %s, p50 %s (min %s); vs libzmq mean %s, p50 %s (min %s).\n", s,
				verdict(mean, "xs", "unix", s, 1.2), verdict(p50, "xs", "unix", s, 1.2), r(mn, "xs", "unix", s),
				verdict(mean, "xs", "zmq", s, 0.4999), verdict(p50, "xs", "zmq", s, 0.4999), r(mn, "xs", "zmq", s)
			printf "- %d bytes, libxs: vs AF_UNIX mean %s, p50 %s; vs libzmq mean %s, p50 %s.\n", s,
				verdict(mean, "libxs", "unix", s, 1.2), verdict(p50, "libxs", "unix", s, 1.2),
				verdict(mean, "libxs", "zmq", s, 0.4999), verdict(p50, "libxs", "zmq", s, 0.4999)
		}
		print ""
		print "Receive ring (issue 13): one record to one reader through its ring (half a PAIR round trip) below half the"
		print "AF_UNIX round trip, that is a PAIR round trip below the AF_UNIX one:"
		print ""
		split("libxs-pair|libxs-spin", ri, "|")
		split("PAIR with rings|the same with LIBXS_SPIN=16", rl, "|")
		for (a = 1; a <= k; a++)
			for (b = 1; b <= 2; b++)
				printf "- %d bytes: %s vs AF_UNIX, mean %s, p50 %s (min %s).\n", sz[a], rl[b],
					verdict(mean, ri[b], "unix", sz[a], 0.9999),
					verdict(p50, ri[b], "unix", sz[a], 0.9999), r(mn, ri[b], "unix", sz[a])
	}' "$out/median.csv"
}

md=$results/latency.md
{
	echo "# REQ/REP round-trip latency: AF_XS vs AF_UNIX vs libzmq vs nng, and the limit"
	echo
	echo "Generated by \`make bench-latency\` (scripts/bench-latency.sh, bench/latency.c); run started $(cat "$out/date" 2>/dev/null || echo unknown)."
	echo
	echo "## Machine"
	echo
	echo "- Host: $(nproc) CPUs, ${host_cpu:-unknown CPU}, kernel $(uname -r)."
	echo "- Guest: $qemu, **TCG** (software emulation, no KVM), -smp 2 ($(info nproc) CPUs seen: $(info cpu)),"
	echo "  kernel $(info kernel) with af_xs.ko built from $(cat "$out/revision" 2>/dev/null || echo unknown)."
	echo "- TCG emulates every instruction: absolute times are far above native ones, and system calls, context switches and"
	echo "  wake-ups weigh relatively more than under KVM or on bare metal. Compare implementations within one table, not with native figures."
	echo "- Host load average (1, 5, 15 min) before the VM run: $(cat "$out/load" 2>/dev/null || echo unknown); after:"
	echo "  $(cat "$out/load-after" 2>/dev/null || echo unknown). Above ~2, other jobs (other test VMs) shared the host's 2 CPUs with"
	echo "  the guest's 2 vCPUs, and the figures are only indicative; the p99 column is the most sensitive to that."
	echo
	echo "## Method"
	echo
	echo "Two processes: the requester (parent) and a replier (forked child) that echoes each request. The requester times every"
	echo "round trip with CLOCK_MONOTONIC, from before its send to after its receive returned the whole reply: $warmup round trips of"
	echo "warm-up, then $rounds measured. Each point ran $reps times, every point of a round before the next round; each figure in the"
	echo "tables is the median of that figure over the $reps runs. The processes are pinned with sched_setaffinity in the guest (-smp 2)."
	echo
	echo "- **AF_XS (syscalls)**: REQ/REP sockets, \`send(MSG_EOR)\` and \`recv\`; the kernel adds and strips the empty delimiter."
	echo "- **AF_XS (libxs)**: the same through libxs (\`xs_send\`, \`xs_recv\`), linked statically."
	echo "- **AF_XS PAIR, receive ring (libxs)**: two libxs PAIR sockets; each message is one record to one reader, which takes"
	echo "  it from its receive ring (XS_RX_RING): half this round trip is what one record takes to reach a subscriber's ring."
	echo "- **the same, LIBXS_SPIN=16**: a reader that finds its ring empty yields the CPU (\`sched_yield\`) up to 16 times,"
	echo "  looking again each time, before it sleeps in the kernel (the count adapts; see xs(7))."
	echo "- **AF_UNIX**: a SOCK_SEQPACKET socketpair, \`send\` and \`recv\` in turn (no routing, no envelope)."
	echo "- **libzmq** $(dpkg-query -W -f='${Version}' libzmq5 2>/dev/null || echo 4.3): REQ/REP over \`ipc://\` in the guest's /tmp, \`zmq_send\`/\`zmq_recv\`."
	echo "- **nng** $(dpkg-query -W -f='${Version}' libnng1 2>/dev/null || echo 1.5): req0/rep0 over \`ipc://\` in the guest's /tmp, \`nng_send\`/\`nng_recv\`."
	echo "- **limit**: two rings in a memfd both processes map (bench/shmring.h), one for requests, one for replies: a message is"
	echo "  one copy into the ring (the replier echoes straight from the request's slot, the requester reads the reply in place)"
	echo "  and one futex wake-up of the other side when it sleeps. What any request and reply between two processes must pay"
	echo "  at the least; \"p50 / limit p50\" is how many times that an implementation's median round trip is."
	echo
	for cpus in $layouts; do
		case $cpus in
		same)
			echo "## Both processes on one CPU (pinned to CPU 0)"
			echo
			echo "A round trip is two context switches on one CPU: no cross-CPU wake-up, so the host's scheduling of the vCPU"
			echo "threads matters least. This is the layout to judge the goals by under TCG."
			;;
		split)
			echo "## One process per CPU (requester on CPU 0, replier on CPU 1)"
			echo
			echo "Each message wakes the other CPU: an IPI, and under TCG a host thread that must be scheduled, so on a busy host"
			echo "these figures measure the host's scheduler more than the sockets."
			;;
		*)
			echo "## Processes where the scheduler puts them"
			;;
		esac
		echo
		report "$cpus"
		echo
	done
	if [[ -n $fails ]]; then
		echo "Runs that failed (impl,size,cpus): $fails."
		echo
	fi
	echo "Raw CSV: build/bench-latency/vm.csv (rep,impl,size,cpus,rounds,mean_us,p50_us,p99_us,min_us,max_us)."
} >"$md"

echo
cat "$md"
echo
echo "bench-latency: wrote $md"
