#!/usr/bin/env bash
# The throughput benchmark (make bench-thr): one PUSH process, one PULL
# process, 64-byte and 4 KiB records, in the manner of ZeroMQ's
# local_thr/remote_thr, for AF_XS PUSH/PULL (plain syscalls and libxs), an
# AF_UNIX SOCK_SEQPACKET loop, libzmq and nng over ipc://, and the limit:
# a shared-memory ring between the two processes (bench/shmring.h).  All
# of it runs in ONE boot of the release test VM (scripts/vm-run.sh, QEMU
# TCG).
#
# Writes bench/results/thr.md (tables, ratios against the goals, the
# machine, the load); the raw CSV and the serial log stay in
# build/bench-thr/.  It measures; it asserts nothing about speed.
#
# Environment:
#   THR_DURATION_MS  how long the sender sends per run (default 500)
#   THR_REPS         passes over every point, implementations interleaved;
#                    the tables keep each point's best pass (default 5)
#   THR_IMPLS, THR_SIZES  a smaller matrix
#   THR_RESULTS      where thr.md goes (default bench/results)
#   THR_REPORT_ONLY=1  rewrite thr.md from the last run's build/bench-thr/
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$repo/scripts/bench-lib.sh"
out=$repo/build/bench-thr
results=${THR_RESULTS:-$repo/bench/results}
ms=${THR_DURATION_MS:-500}
reps=${THR_REPS:-5}
impls=${THR_IMPLS:-xs libxs unix zmq nng shm}
sizes=${THR_SIZES:-64 4096}

run_vm() {
	bench_prepare "$out" "$results"

	cat >"$out/thr-matrix.sh" <<-GUEST
	#!/bin/sh
	echo "@@THR-INFO kernel=\$(uname -r)"
	echo "@@THR-INFO nproc=\$(grep -c ^processor /proc/cpuinfo)"
	echo "@@THR-INFO cpu=\$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)"
	for rep in \$(seq $reps); do
		for size in $sizes; do
			for impl in $impls; do
				if line=\$(/bench/thr -i \$impl -s \$size -d $ms); then
					echo "@@THR \$rep,\$line"
				else
					echo "@@THR-FAIL \$impl,\$size"
				fi
			done
		done
	done
	GUEST

	# one VM boot, from a private copy of vm-run.sh (its build/ is ours)
	cp "$repo/scripts/vm-run.sh" "$repo/scripts/guest-init.sh" "$out/vm/scripts/"
	cut -d' ' -f1-3 /proc/loadavg >"$out/load-before"
	set +e
	"$out/vm/scripts/vm-run.sh" --kernel release \
		--module "$out/src/kmod/af_xs.ko" --tests "$out/vm/empty" \
		--add "$repo/bench/build/thr:/bench/thr" \
		--add "$out/thr-matrix.sh:/bench/thr-matrix.sh" \
		--cmd "sh /bench/thr-matrix.sh" \
		--timeout 600 --vm-timeout 720 --log "$out/serial.log" --out "$out/vm/run"
	vm_rc=$?
	set -e
	cut -d' ' -f1-3 /proc/loadavg >"$out/load-after"
	tr -d '\r' <"$out/serial.log" >"$out/vm.log"
	((vm_rc == 0)) || echo "bench-thr: warning: vm-run exited $vm_rc (see its summary above)" >&2
}

[[ ${THR_REPORT_ONLY:-0} == 1 ]] || run_vm
# vm-all.csv: rep,impl,size,records,seconds,records_per_s,mb_per_s,
# send_cpu_ns,recv_cpu_ns,recv_sleeps; vm.csv: per point the best pass
# (other jobs on the host only ever slow a pass down), with the worst
# pass's records/s appended.
sed -n 's/^@@THR //p' "$out/vm.log" >"$out/vm-all.csv"
if [[ ! -s $out/vm-all.csv ]]; then
	echo "bench-thr: the VM produced no results, see $out/serial.log" >&2
	exit 1
fi
awk -F, '{ k = $2 "," $3; if (!(k in best) || $6 > best[k]) { best[k] = $6; line[k] = $0 }
	if (!(k in worst) || $6 < worst[k]) worst[k] = $6; n[k]++ }
	END { for (k in line) print line[k] "," worst[k] "," n[k] }' "$out/vm-all.csv" |
	sort -t, -k3,3n -k2,2 >"$out/vm.csv"

info() { sed -n "s/^@@THR-INFO $1=//p" "$out/vm.log" | head -1; }
host_cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)
qemu=$(qemu-system-x86_64 --version | head -1)
fails=$(sed -n 's/^@@THR-FAIL //p' "$out/vm.log" | sort | uniq -c | awk '{ printf "%s%s (%d)", sep, $2, $1; sep = ", " }')
zmq_ver=$(dpkg-query -W -f='${Version}' libzmq5 2>/dev/null || echo 4.3)
nng_ver=$(dpkg-query -W -f='${Version}' libnng1 2>/dev/null || echo 1.5)

tables() {
	awk -F, -v sizes="$sizes" '
	{ k = $2 SUBSEP $3; rate[k] = $6; mb[k] = $7; scpu[k] = $8; rcpu[k] = $9; sl[k] = $10; worst[k] = $11; passes[k] = $12 }
	function has(i, s) { return (i, s) in rate }
	function num(x) {
		if (x >= 1e6) return sprintf("%.2fM", x / 1e6)
		if (x >= 1e3) return sprintf("%.1fk", x / 1e3)
		return sprintf("%.0f", x)
	}
	function ratio(i, j, s) { return has(i, s) && has(j, s) && rate[j, s] > 0 ? sprintf("%.2fx", rate[i, s] / rate[j, s]) : "n/a" }
	function pct(i, s) { return has(i, s) && has("shm", s) && rate["shm", s] > 0 ? sprintf("%.1f%%", 100 * rate[i, s] / rate["shm", s]) : "n/a" }
	function verdict(i, j, s, lim,   x) {
		if (!has(i, s) || !has(j, s) || rate[j, s] <= 0) return "not measured"
		x = rate[i, s] / rate[j, s]
		return sprintf("**%.2fx** (%s)", x, x >= lim ? "met" : "NOT met")
	}
	END {
		k = split(sizes, sz, " ")
		split("xs libxs unix zmq nng shm", im, " ")
		split("AF_XS (syscalls)|AF_XS (libxs)|AF_UNIX SOCK_SEQPACKET|libzmq ipc://|nng ipc://|limit: shared-memory ring", nm, "|")
		for (a = 1; a <= k; a++) {
			s = sz[a]
			printf "\n### %d-byte records\n\n", s
			print "| implementation | records/s | MB/s | of the limit | worst pass records/s | sender CPU ns/record | receiver CPU ns/record | receiver sleeps/record |"
			print "|---|---:|---:|---:|---:|---:|---:|---:|"
			for (b = 1; b <= 6; b++) {
				i = im[b]
				if (!has(i, s)) { printf "| %s | n/a | | | | | | |\n", nm[b]; continue }
				printf "| %s | %s | %.1f | %s | %s | %.0f | %.0f | %.3f |\n", nm[b], num(rate[i, s]), mb[i, s],
					pct(i, s), num(worst[i, s]), scpu[i, s], rcpu[i, s], sl[i, s]
			}
			print ""
			printf "Ratios (records/s): AF_XS / AF_UNIX %s, AF_XS / libzmq %s, AF_XS / nng %s, libxs / AF_XS %s, libxs / libzmq %s, libxs / nng %s, libzmq / nng %s.\n",
				ratio("xs", "unix", s), ratio("xs", "zmq", s), ratio("xs", "nng", s), ratio("libxs", "xs", s),
				ratio("libxs", "zmq", s), ratio("libxs", "nng", s), ratio("zmq", "nng", s)
		}
		print ""
		print "## Goals"
		print ""
		for (a = 1; a <= k; a++) {
			s = sz[a]
			printf "- %d bytes: AF_XS syscalls / AF_UNIX SOCK_SEQPACKET >= 1.0x: %s; libxs / libzmq >= 1.5x: %s.\n", s,
				verdict("xs", "unix", s, 1.0), verdict("libxs", "zmq", s, 1.5)
		}
	}' "$out/vm.csv"
}

md=$results/thr.md
mkdir -p "$results"
{
	echo "# Throughput (PUSH to PULL): AF_XS vs AF_UNIX vs libzmq vs nng, and the limit"
	echo
	echo "Generated by \`make bench-thr\` (scripts/bench-thr.sh, bench/thr.c); run started $(cat "$out/date" 2>/dev/null || echo unknown)."
	echo
	echo "## Machine"
	echo
	echo "- Host: $(nproc) CPUs, ${host_cpu:-unknown CPU}, kernel $(uname -r)."
	echo "- Guest: $qemu, **TCG** (software emulation, no KVM), -smp 2 ($(info nproc) CPUs seen: $(info cpu)),"
	echo "  kernel $(info kernel) with af_xs.ko built from $(cat "$out/revision" 2>/dev/null || echo unknown)."
	echo "- TCG emulates every instruction: absolute rates are far below native ones, and system calls, context switches and"
	echo "  wake-ups cost relatively more than under KVM or on bare metal. Compare implementations within one table."
	echo "- Host load average (1, 5, 15 min) before the VM run: $(cat "$out/load-before" 2>/dev/null || echo unknown);"
	echo "  after: $(cat "$out/load-after" 2>/dev/null || echo unknown). Above ~2, other jobs shared the host's 2 CPUs with the"
	echo "  guest's 2 vCPUs, and the figures are only indicative."
	echo
	echo "## Method"
	echo
	echo "Two processes: the receiver (PULL, binds) and a forked sender (PUSH, connects). The sender sends records for"
	echo "${ms} ms, then an end record; the receiver's clock runs from its first record to the end record (as ZeroMQ's"
	echo "local_thr's does), and it checks that every record arrived with its size. Every point ran $reps times, all points of"
	echo "a pass before the next pass; each table keeps the pass with the most records/s (\"worst pass\" shows the spread)."
	echo "All passes: build/bench-thr/vm-all.csv. MB is 10^6 bytes of payload. CPU is each process's user+system time"
	echo "(getrusage, library threads included) per record; \"receiver sleeps\" are its voluntary context switches per record."
	echo
	echo "- **AF_XS (syscalls)**: PUSH/PULL sockets; the sender sends batches of 32 records with one \`sendmmsg(MSG_EOR)\`, the"
	echo "  receiver drains with \`recvmmsg(MSG_WAITFORONE)\` (64 entries)."
	echo "- **AF_XS (libxs)**: the same through libxs (\`xs_send\` and \`xs_recv\` per record), linked statically."
	echo "- **AF_UNIX**: a SOCK_SEQPACKET socketpair, \`send\` and \`recv\` of one record per call."
	echo "- **libzmq** $zmq_ver: PUSH/PULL over \`ipc://\` in /tmp, \`zmq_send\`/\`zmq_recv\`, default HWMs (1000)."
	echo "- **nng** $nng_ver: push0/pull0 over \`ipc://\` in /tmp, \`nng_send\`/\`nng_recv\`, send and receive buffers of 1000 messages."
	echo "- **limit**: a ring of 1024 slots in a memfd both processes map (bench/shmring.h): the sender copies each record into"
	echo "  it and publishes batches of 32 with one atomic store, the receiver reads the records in place; whoever finds the ring"
	echo "  empty (full) sleeps on a futex and is woken with one FUTEX_WAKE per batch. One copy per record and at most one"
	echo "  wake-up per batch: what any message passing between two processes must pay at the least. \"of the limit\" is an"
	echo "  implementation's records/s as a fraction of the ring's."
	echo
	echo "## Results in the VM (QEMU TCG)"
	tables
	if [[ -n $fails ]]; then
		echo
		echo "Runs that failed (impl,size (count)): $fails; a point in the tables comes from its other passes."
	fi
	echo
	echo "Raw CSV: build/bench-thr/vm-all.csv (rep,impl,size,records,seconds,records_per_s,mb_per_s,send_cpu_ns_per_record,"
	echo "recv_cpu_ns_per_record,recv_sleeps_per_record)."
} >"$md"

echo
cat "$md"
echo
echo "bench-thr: wrote $md"
