#!/usr/bin/env bash
# The fan-out benchmark (make bench-fanout): one publisher, N = 1, 4, 16,
# 64 (and 256 on request) subscriber processes, 64-byte and 4 KiB records,
# for AF_XS
# PUB/SUB (plain syscalls and libxs), a publisher looping send(2) over N
# AF_UNIX SOCK_SEQPACKET sockets, libzmq PUB/SUB and nng pub0/sub0 over
# ipc://, and the limit: one shared-memory ring all subscribers read
# (bench/shmring.h).  All of it runs in ONE boot of the release test VM
# (scripts/vm-run.sh, QEMU TCG), and natively too when af_xs is loaded on
# the running kernel.
#
# Writes bench/results/fanout.md (tables, ratios, the machine) and
# bench/results/fanout.png (gnuplot); raw CSV and the serial log stay in
# build/bench-fanout/.  It measures; it asserts nothing about speed.
#
# Environment:
#   FANOUT_DURATION_MS   publishing time per point in the VM (default 300)
#   FANOUT_NATIVE_MS     the same natively (default 3000)
#   FANOUT_SUBS, FANOUT_SIZES, FANOUT_IMPLS   another matrix (default
#                        N = 1 4 16 64: FANOUT_SUBS="1 4 16 64 256" adds
#                        N = 256, which takes minutes more, mostly to
#                        start and connect the subscribers), and
#   FANOUT_REPS          passes over it (default 2; bench/fanout-matrix.sh)
#   FANOUT_RESULTS       where fanout.md/.png go (default bench/results)
#   FANOUT_REPORT_ONLY=1 only write the report again from the last run's
#                        build/bench-fanout/
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/bench-lib.sh
. "$repo/scripts/bench-lib.sh"
out=$repo/build/bench-fanout
results=${FANOUT_RESULTS:-$repo/bench/results}
vm_ms=${FANOUT_DURATION_MS:-300}
native_ms=${FANOUT_NATIVE_MS:-3000}
# the guest gets its environment from the command line only
guest_env=
for v in FANOUT_SUBS FANOUT_SIZES FANOUT_IMPLS FANOUT_REPS FANOUT_TCP_SUBS; do
	[[ -n ${!v:-} ]] && guest_env+="$v='${!v}' "
	export "${v?}"
done

run_benchmark() {
	# --- build ---
	command -v gnuplot >/dev/null || { echo "bench-fanout: gnuplot missing: run make setup" >&2; exit 2; }
	bench_prepare "$out" "$results"
	cut -d' ' -f1-3 /proc/loadavg >"$out/load-before"

	# --- one VM boot ---
	# vm-run.sh keeps its initramfs and log under <its repo>/build/vm-release;
	# running a private copy of it keeps this long run from colliding with a
	# `make check` started meanwhile in the same tree.
	cp "$repo/scripts/vm-run.sh" "$repo/scripts/guest-init.sh" "$out/vm/scripts/"
	set +e
	"$out/vm/scripts/vm-run.sh" --kernel release \
		--module "$out/src/kmod/af_xs.ko" --tests "$out/vm/empty" \
		--add "$repo/bench/build/fanout:/bench/fanout" \
		--add "$repo/bench/fanout-matrix.sh:/bench/fanout-matrix.sh" \
		--cmd "${guest_env}sh /bench/fanout-matrix.sh /bench/fanout $vm_ms" \
		--timeout 2400 --vm-timeout 2700 --log "$out/serial.log"
	vm_rc=$?
	set -e
	# Every pass's rows stay in *-all.csv; the report keeps, per point, the
	# pass that delivered most (other jobs on the host only ever slow a pass).
	best_of() {
		sed -n 's/^@@FANOUT //p' "$1" | tee "${2%.csv}-all.csv" |
			sort -t, -k1,1 -k2,2n -k3,3n -k7,7nr | awk -F, '!seen[$1 "," $2 "," $3]++' >"$2"
	}
	cut -d' ' -f1-3 /proc/loadavg >"$out/load-after"
	tr -d '\r' <"$out/serial.log" >"$out/vm.log"
	best_of "$out/vm.log" "$out/vm.csv"
	if [[ ! -s $out/vm.csv ]]; then
		echo "bench-fanout: the VM produced no results (vm-run exit $vm_rc), see $out/serial.log" >&2
		exit 1
	fi
	((vm_rc == 0)) || echo "bench-fanout: warning: vm-run exited $vm_rc (see its summary above)" >&2

	# --- natively, only where the module is already loaded ---
	rm -f "$out/native.csv"
	if [[ -d /sys/module/af_xs ]]; then
		echo "bench-fanout: af_xs is loaded on $(uname -r): running natively"
		sh "$repo/bench/fanout-matrix.sh" "$repo/bench/build/fanout" "$native_ms" |
			tee "$out/native.log"
		best_of "$out/native.log" "$out/native.csv"
	else
		echo "bench-fanout: native run skipped: af_xs is not loaded on the running kernel ($(uname -r))"
	fi

}

if [[ ${FANOUT_REPORT_ONLY:-} != 1 ]]; then
	run_benchmark
fi
mkdir -p "$results"
native=skipped
[[ -s $out/native.csv ]] && native=ran
load_before=$(cat "$out/load-before" 2>/dev/null || echo unknown)
load_after=$(cat "$out/load-after" 2>/dev/null || echo unknown)
revision=$(cat "$out/revision" 2>/dev/null || echo unknown)
run_date=$(cat "$out/date" 2>/dev/null || echo unknown)

# --- report ---
info() { sed -n "s/^@@FANOUT-INFO $2=//p" "$1" | head -1; }
guest_kernel=$(info "$out/vm.log" kernel)
guest_cpu=$(info "$out/vm.log" cpu)
guest_nproc=$(info "$out/vm.log" nproc)
guest_mem=$(info "$out/vm.log" mem_kb)
host_cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)
qemu=$(qemu-system-x86_64 --version | head -1)
fails=$(sed -n 's/^@@FANOUT-FAIL //p' "$out/vm.log" | paste -sd, -)

# One markdown section per CSV: a table per record size.
tables() {
	awk -F, -v title="$2" -v nlist="$(cut -d, -f2 "$1" | sort -un | paste -sd' ')" \
		-v zlist="$(cut -d, -f3 "$1" | sort -un | paste -sd' ')" '
	{ k = $1 SUBSEP $2 SUBSEP $3; rate[k] = $7; cpu[k] = $8; frac[k] = $9; sw[k] = $10; sl[k] = $11; sc[k] = $13 }
	function r(i, n, s) { return ((i, n, s) in rate) ? rate[i, n, s] : "" }
	function num(x) {
		if (x == "") return "n/a"
		if (x >= 1e6) return sprintf("%.2fM", x / 1e6)
		if (x >= 1e3) return sprintf("%.1fk", x / 1e3)
		return sprintf("%.0f", x)
	}
	function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.2fx", a / b) }
	function pct(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.1f%%", 100 * a / b) }
	function c(i, n, s) { return ((i, n, s) in cpu) ? sprintf("%.0f", cpu[i, n, s]) : "n/a" }
	function f(i, n, s) { return ((i, n, s) in frac) ? sprintf("%.0f%%", 100 * frac[i, n, s]) : "n/a" }
	function w(i, n, s) { return ((i, n, s) in sw) ? sprintf("%.2f", sw[i, n, s]) : "n/a" }
	function z(i, n, s) { return ((i, n, s) in sl) ? sprintf("%.3f", sl[i, n, s]) : "n/a" }
	function u(i, n, s) { return ((i, n, s) in sc && sc[i, n, s] != "") ? sprintf("%.0f", sc[i, n, s]) : "n/a" }
	END {
		ns = split(nlist, nsort, " "); zs = split(zlist, zsort, " ")
		split("xs libxs libxs-q unix zmq nng shm", im, " ")
		for (zi = 1; zi <= zs; zi++) {
			s = zsort[zi]
			printf "\n### %s, %d-byte records\n\n", title, s
			print "| N | AF_XS rec/s | libxs rec/s | libxs, no ring rec/s | AF_UNIX rec/s | libzmq rec/s | nng rec/s | limit rec/s | AF_XS / AF_UNIX | AF_XS / libzmq | libxs / libzmq | libxs / no ring | AF_XS / nng | libxs / nng | AF_XS of limit | libxs of limit |"
			print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			for (ni = 1; ni <= ns; ni++) {
				n = nsort[ni]
				printf "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n,
					num(r("xs", n, s)), num(r("libxs", n, s)), num(r("libxs-q", n, s)), num(r("unix", n, s)),
					num(r("zmq", n, s)), num(r("nng", n, s)), num(r("shm", n, s)),
					ratio(r("xs", n, s), r("unix", n, s)), ratio(r("xs", n, s), r("zmq", n, s)),
					ratio(r("libxs", n, s), r("zmq", n, s)), ratio(r("libxs", n, s), r("libxs-q", n, s)),
					ratio(r("xs", n, s), r("nng", n, s)),
					ratio(r("libxs", n, s), r("nng", n, s)),
					pct(r("xs", n, s), r("shm", n, s)), pct(r("libxs", n, s), r("shm", n, s))
			}
			print ""
			print "| N | publisher CPU ns/record: AF_XS | libxs | no ring | AF_UNIX | libzmq | nng | limit | delivered/published: AF_XS | libxs | no ring | AF_UNIX | libzmq | nng | limit |"
			print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			for (ni = 1; ni <= ns; ni++) {
				n = nsort[ni]
				printf "| %d", n
				for (j = 1; j <= 7; j++) printf " | %s", c(im[j], n, s)
				for (j = 1; j <= 7; j++) printf " | %s", f(im[j], n, s)
				print " |"
			}
			print ""
			print "| N | publisher context switches/record: AF_XS | libxs | no ring | AF_UNIX | libzmq | nng | limit | subscriber sleeps/record received: AF_XS | libxs | no ring | AF_UNIX | libzmq | nng | limit | subscriber CPU ns/record received: AF_XS | libxs | no ring | AF_UNIX | libzmq | nng | limit |"
			print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
			for (ni = 1; ni <= ns; ni++) {
				n = nsort[ni]
				printf "| %d", n
				for (j = 1; j <= 7; j++) printf " | %s", w(im[j], n, s)
				for (j = 1; j <= 7; j++) printf " | %s", z(im[j], n, s)
				for (j = 1; j <= 7; j++) printf " | %s", u(im[j], n, s)
				print " |"
			}
		}
	}' "$1"
}

# Points the warm-up did not fully reach (bench/fanout.c: cold_subs).
cold_notes() {
	awk -F, '$12 > 0 { printf "- %s, N = %d, %d-byte records: %d of %d subscribers never received a warm-up record within 20 s and took no part (they count as receiving nothing).\n", $1, $2, $3, $12, $2 }' "$1"
}

# goal CSV IMPL FACTOR: IMPL against libzmq at N = 64, 64-byte records
goal() {
	awk -F, -v i="$2" -v want="$3" '$2 == 64 && $3 == 64 { r[$1] = $7 }
	END {
		if (!(i in r) || !("zmq" in r) || r["zmq"] == 0) { print "not measured"; exit }
		x = r[i] / r["zmq"]
		printf "%.0f rec/s vs libzmq %.0f rec/s = **%.2fx** (%s)", r[i], r["zmq"], x,
			(x >= want ? "goal met" : "goal NOT met")
	}' "$1"
}

# of_limit CSV IMPL: IMPL as a fraction of the limit at N = 64, 64-byte records
of_limit() {
	awk -F, -v i="$2" '$2 == 64 && $3 == 64 { r[$1] = $7 }
	END {
		if (!(i in r) || !("shm" in r) || r["shm"] == 0) { print "not measured"; exit }
		x = r[i] / r["shm"]
		printf "%.0f rec/s vs %.0f rec/s = **%.0f%%** (%s)", r[i], r["shm"], 100 * x,
			(x >= 0.75 ? "goal met" : "goal NOT met")
	}' "$1"
}

# Points where an AF_XS implementation delivered less than libzmq.
below_zmq() {
	awk -F, '{ r[$1, $2, $3] = $7; n[$2] = 1; z[$3] = 1 }
	END {
		for (nn in n) for (s in z) {
			if (!(("zmq", nn, s) in r)) continue
			if (("xs", nn, s) in r && r["xs", nn, s] < r["zmq", nn, s]) out = out sprintf("%ssyscalls N=%d %dB", sep++ ? "; " : "", nn, s)
			if (("libxs", nn, s) in r && r["libxs", nn, s] < r["zmq", nn, s]) out = out sprintf("%slibxs N=%d %dB", sep++ ? "; " : "", nn, s)
		}
		print out == "" ? "none" : out
	}' "$1"
}

md=$results/fanout.md
{
	echo "# Fan-out benchmark: AF_XS vs AF_UNIX vs libzmq vs nng, and the limit"
	echo
	echo "Generated by \`make bench-fanout\` (scripts/bench-fanout.sh, bench/fanout.c); run started $run_date."
	echo
	echo "## Machine"
	echo
	echo "- Host: $(nproc) CPUs, ${host_cpu:-unknown CPU}, kernel $(uname -r)."
	echo "- Guest: $qemu, **TCG** (software emulation, no KVM), -smp 2 (${guest_nproc:-?} CPUs seen: ${guest_cpu:-?}), $((${guest_mem:-0} / 1024)) MiB, kernel ${guest_kernel:-?} with af_xs.ko"
	echo "  built from kmod/ at $revision."
	echo "- TCG emulates every instruction: absolute rates are far below native ones and system calls, context switches and wake-ups cost"
	echo "  relatively more than under KVM or on bare metal. Compare implementations within one table, not with native figures."
	echo "- Host load average (1, 5, 15 min) before the VM run: $load_before; after: $load_after. Anything above ~2 means other jobs"
	echo "  shared the host's 2 CPUs with the VM's 2 vCPUs during the run, and the figures are only indicative."
	echo
	echo "## Method"
	echo
	echo "One publisher process, N subscriber processes (fork), every subscriber subscribed to everything; ${vm_ms} ms of publishing"
	echo "per point in the VM, after a warm-up that waits until every subscriber has received a record. The matrix runs"
	echo "$(info "$out/vm.log" reps) times with the implementations interleaved; each table shows the pass that delivered most for that point"
	echo "(other jobs on the host only ever slow a pass down). All passes: build/bench-fanout/vm-all.csv."
	echo
	echo "- **AF_XS**: PUB/SUB sockets with plain system calls; the publisher sends batches of 32 records with one"
	echo "  \`sendmmsg(MSG_EOR | MSG_MORE)\` (\"more records follow soon\": sleeping subscribers are woken once per burst, as libxs does),"
	echo "  subscribers drain with \`recvmmsg(MSG_WAITFORONE)\` (64 entries)."
	echo "- **libxs**: the same sockets through libxs, linked statically: \`xs_send\` per record; \`xs_recv\` takes records from the"
	echo "  socket's receive ring (XS_RX_RING, 512 KiB, mapped by libxs), with no system call while records keep coming."
	echo "- **libxs, no ring**: the same with \`LIBXS_RING=0\`: \`xs_recv\` reads the socket's queue ahead with \`recvmmsg\`."
	echo "- **AF_UNIX**: the hand-written alternative: the publisher loops a blocking \`send\` over N SOCK_SEQPACKET sockets (socketpair),"
	echo "  subscribers \`recv\` one record per call."
	echo "- **libzmq** $(dpkg-query -W -f='${Version}' libzmq5 2>/dev/null || echo 4.3): PUB/SUB over \`ipc://\` in /tmp, \`zmq_send\`/\`zmq_recv\`, default HWMs (1000)."
	echo "- **nng** $(dpkg-query -W -f='${Version}' libnng1 2>/dev/null || echo 1.5): pub0/sub0 over \`ipc://\` in /tmp, \`nng_send\`/\`nng_recv\`, send and receive buffers of 1000 messages."
	echo "- **limit**: one ring of 1024 slots in a memfd that every process maps (bench/shmring.h): the publisher copies each record"
	echo "  into it once and publishes batches of 32 with one atomic store and, when a subscriber sleeps, one FUTEX_WAKE; every"
	echo "  subscriber reads the records in place and advances its own tail. The publisher waits for the slowest subscriber (no"
	echo "  drops). One copy per record and one wake-up per batch: what the machine can do; \"of limit\" is a rate as a fraction of it."
	echo
	echo "PUB (AF_XS, libxs, libzmq, nng) drops records for a subscriber at its limit; AF_UNIX and the ring block instead. So \"rec/s\" is"
	echo "records the subscribers actually **received**, summed over subscribers, divided by the time from the start of publishing until"
	echo "the last subscriber had drained its queue. \"Publisher CPU\" is the publishing process's user+system time (getrusage, all its"
	echo "threads, so libzmq's I/O thread counts) per record published. \"delivered/published\" is received / (published x N)."
	echo "\"Publisher context switches\" (voluntary + involuntary, getrusage) per record published and \"subscriber sleeps\" (voluntary"
	echo "switches of the subscriber processes, i.e. times they blocked and had to be woken) per record received, and the subscribers'"
	echo "CPU time (all their threads) per record received show where the time goes: with 2 CPUs, N subscribers can receive at most"
	echo "about 2 s / (subscriber CPU per record) records per second in total, whatever the publisher does."
	echo
	echo "## Goals: at N = 64 with 64-byte records, libxs delivers >= 5x libzmq's records/s, plain syscalls >= 10x; never below libzmq"
	echo
	echo "- In the VM, libxs: $(goal "$out/vm.csv" libxs 5)."
	echo "- In the VM, syscalls: $(goal "$out/vm.csv" xs 10)."
	echo "- Points where AF_XS delivered less than libzmq: $(below_zmq "$out/vm.csv")."
	echo "- Receive ring (issue 13): libxs >= 20x libzmq and within 25% of the limit: $(goal "$out/vm.csv" libxs 20);"
	echo "  of the limit: $(of_limit "$out/vm.csv" libxs)."
	if [[ $native == ran ]]; then
		echo "- Natively, libxs: $(goal "$out/native.csv" libxs 5); syscalls: $(goal "$out/native.csv" xs 10)."
	fi
	echo
	echo "## Results in the VM (QEMU TCG)"
	tables "$out/vm.csv" "VM"
	notes=$(cold_notes "$out/vm.csv")
	if [[ -n $notes ]]; then
		echo
		echo "$notes"
	fi
	if [[ -n $fails ]]; then
		echo
		echo "Runs that failed (a point still in the tables comes from its other pass): $fails."
	fi
	echo
	echo "## Local and remote subscribers at once (tcp:// through libzmq)"
	echo
	echo "One libxs PUB bound to an AF_XS name and to \`tcp://127.0.0.1\`: even-numbered subscribers are local (libxs, through the"
	echo "kernel), odd-numbered ones \"remote\" (libxs over tcp, which libxs carries on libzmq; here on the loopback, in one guest),"
	echo "against libzmq alone with every subscriber over tcp, as a deployment across hosts would otherwise run. 64-byte records,"
	echo "best pass per point."
	echo
	sed -n 's/^@@FANOUT-TCP //p' "$out/vm.log" | sort -t, -k1,1 -k2,2n -k7,7nr | awk -F, '!seen[$1 "," $2]++' >"$out/vm-tcp.csv"
	if [[ -s $out/vm-tcp.csv ]]; then
		echo "| N | libxs local+tcp rec/s | libzmq tcp rec/s | ratio | publisher CPU ns/record: libxs local+tcp | libzmq tcp |"
		echo "|---|---|---|---|---|---|"
		awk -F, '{ r[$1 "," $2] = $7; c[$1 "," $2] = $8; n[$2] = 1 }
			END { for (k in n) printf "| %d | %.0f | %.0f | %s | %.0f | %.0f |\n", k, r["libxs-mix," k], r["zmq-tcp," k],
				(r["zmq-tcp," k] > 0 ? sprintf("%.2fx", r["libxs-mix," k] / r["zmq-tcp," k]) : "-"),
				c["libxs-mix," k], c["zmq-tcp," k] }' "$out/vm-tcp.csv" | sort -t'|' -k2,2n
	else
		echo "Not run (FANOUT_TCP_SUBS empty) or no result."
	fi
	echo
	echo "## Native"
	echo
	if [[ $native == ran ]]; then
		echo "On the host kernel $(uname -r), ${native_ms} ms per point."
		tables "$out/native.csv" "Native"
	else
		echo "Skipped: af_xs was not loaded on the running kernel ($(uname -r)); the module is only ever loaded inside the VM."
	fi
	echo
	echo "Plot: fanout.png. Raw CSV (bench/fanout.c documents the columns): build/bench-fanout/vm.csv, vm-all.csv."
} >"$md"

# --- plot: delivered records/s against N, one panel per record size ---
for s in $(cut -d, -f3 "$out/vm.csv" | sort -un); do
	awk -F, -v s="$s" -v nlist="$(cut -d, -f2 "$out/vm.csv" | sort -un | paste -sd' ')" \
		'$3 == s { r[$2, $1] = $7 }
	END {
		print "# N xs libxs unix zmq nng shm"
		k = split(nlist, ns, " ")
		for (i = 1; i <= k; i++) {
			printf "%d", ns[i]
			split("xs libxs unix zmq nng shm", im, " ")
			for (j = 1; j <= 6; j++) printf " %s", ((ns[i], im[j]) in r) ? r[ns[i], im[j]] : "NaN"
			print ""
		}
	}' "$out/vm.csv" >"$out/vm-$s.dat"
done
{
	echo "set terminal pngcairo size 1400,560 font 'sans,10'"
	echo "set output '$results/fanout.png'"
	echo "set multiplot layout 1,2 title 'Fan-out: records/s received by all subscribers (QEMU TCG, ${guest_kernel:-guest})'"
	echo "set logscale xy; set grid; set key top left; set xlabel 'subscriber processes N'; set ylabel 'delivered records/s'"
	echo "set xtics (1, 4, 16, 64, 256); set xrange [0.8:350]; set format y '%.0s%c'"
	for s in $(cut -d, -f3 "$out/vm.csv" | sort -un); do
		f=$out/vm-$s.dat
		echo "set title '$s-byte records'"
		echo "plot '$f' using 1:2 with linespoints lw 2 title 'AF\\_XS (syscalls)', \\"
		echo "     '' using 1:3 with linespoints lw 2 title 'AF\\_XS (libxs)', \\"
		echo "     '' using 1:4 with linespoints lw 2 title 'AF\\_UNIX loop', \\"
		echo "     '' using 1:5 with linespoints lw 2 title 'libzmq ipc', \\"
		echo "     '' using 1:6 with linespoints lw 2 title 'nng ipc', \\"
		echo "     '' using 1:7 with linespoints lw 1 dt 2 lc rgb 'black' title 'limit: shm ring'"
	done
	echo "unset multiplot"
} >"$out/fanout.gp"
gnuplot "$out/fanout.gp"

echo
cat "$md"
echo
echo "bench-fanout: wrote $md and $results/fanout.png"
