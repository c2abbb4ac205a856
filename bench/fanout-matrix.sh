#!/bin/sh
# Run the fan-out matrix with bench/build/fanout (busybox sh compatible: it
# runs inside the test VM as well as natively).  Prints one
# "@@FANOUT <csv>" line per point, "@@FANOUT-FAIL <impl> <subs> <size>"
# for a point that failed, and "@@FANOUT-INFO key=value" lines about the
# machine it ran on.
#
# Usage: fanout-matrix.sh FANOUT_BINARY [DURATION_MS]
#   FANOUT_SUBS, FANOUT_SIZES, FANOUT_IMPLS (space-separated) override
#   the matrix; FANOUT_TCP_SUBS the subscriber counts of the local+tcp
#   row (default 64); FANOUT_REPS (default 2) runs it that many times, the
#   implementations interleaved, so that a slow spell of a shared host
#   does not hit one of them only.
bin=$1
dur=${2:-2000}
subs=${FANOUT_SUBS:-"1 4 16 64"}
sizes=${FANOUT_SIZES:-"64 4096"}
impls=${FANOUT_IMPLS:-"xs libxs libxs-q unix zmq nng shm"}
reps=${FANOUT_REPS:-2}

echo "@@FANOUT-INFO kernel=$(uname -r)"
echo "@@FANOUT-INFO nproc=$(grep -c '^processor' /proc/cpuinfo)"
echo "@@FANOUT-INFO cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -1)"
echo "@@FANOUT-INFO mem_kb=$(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
echo "@@FANOUT-INFO duration_ms=$dur"
ulimit -n 4096 2>/dev/null
echo "@@FANOUT-INFO reps=$reps"
for rep in $(seq "$reps"); do
	for size in $sizes; do
		for n in $subs; do
			for impl in $impls; do
				start=$(date +%s)
				if out=$(timeout 300 "$bin" -i "$impl" -n "$n" -s "$size" -d "$dur"); then
					echo "@@FANOUT $out"
				else
					echo "@@FANOUT-FAIL $impl $n $size"
				fi
				echo "@@FANOUT-TIME $impl $n $size $(($(date +%s) - start))s"
			done
		done
	done
done

# Local and remote subscribers at once: a libxs PUB serving half its
# subscribers through the kernel and half over tcp (libzmq), against
# libzmq alone over tcp ("@@FANOUT-TCP <csv>"; FANOUT_TCP_SUBS, default 64).
for rep in $(seq "$reps"); do
	for n in ${FANOUT_TCP_SUBS-64}; do
		for impl in libxs-mix zmq-tcp; do
			if out=$(timeout 300 "$bin" -i "$impl" -n "$n" -s 64 -d "$dur"); then
				echo "@@FANOUT-TCP $out"
			else
				echo "@@FANOUT-FAIL $impl $n 64"
			fi
		done
	done
done
