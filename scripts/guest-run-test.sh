#!/bin/busybox sh
# Run one test program in the test VM with the hygiene issue #5 asks for:
#   - the program runs in a fresh network namespace (busybox `unshare -n`,
#     or /tools/xs_netns when busybox lacks the applet);
#   - afterwards, inside that namespace, the AF_XS "sockets" column of
#     /proc/net/protocols must be back to 0;
#   - once the namespace is gone, the module must hold no record
#     (/sys/module/af_xs/parameters/live, root only: "records 0 bytes 0");
#   - with XS_KMEMLEAK_EACH=1, on kernels with kmemleak: clear before,
#     scan once after (a pause first: kmemleak never reports objects
#     younger than 5 s); any leak reported is a failure of this program.
#     One scan, and a second only to confirm what the first found. A scan
#     of the 2 GB debug guest takes 20-35 s under TCG, half the debug
#     tier's time over all programs, so by default only /init scans, twice
#     at the end of each boot (the report's allocation backtrace names
#     the code); set it to find which program leaked.
# A hygiene failure prints a "not ok" TAP line (counted with the program's
# own) and an @@XS-REPORT line, and makes the exit code non-zero.
#
# Usage (from the guest's /init): guest-run-test.sh TIMEOUT PROGRAM
#   TIMEOUT: seconds, as for busybox timeout (SIGTERM, SIGKILL 10 s later)

KML=/sys/kernel/debug/kmemleak

# --- inside the program's namespace ----------------------------------------
if [ "$1" = --inside ]; then
	# a fresh namespace has its loopback down: tcp:// tests need it
	ip link set lo up 2>/dev/null
	timeout -k 10 "$2" "$3"
	rc=$?
	# processes the program left behind may still be closing sockets
	n=-1
	for i in $(seq 50); do
		n=$(awk '$1 == "AF_XS" { print $3 }' /proc/net/protocols)
		[ "${n:-0}" = 0 ] && break
		sleep 0.1
	done
	echo "# hygiene: AF_XS sockets left in the program's netns: ${n:-none}"
	if [ -n "$n" ] && [ "$n" != 0 ]; then
		echo "not ok 9999 hygiene: $n AF_XS sockets left open in the program's network namespace"
		echo "@@XS-REPORT $(basename "$3"): $n AF_XS sockets left open"
		[ $rc = 0 ] && rc=1
	fi
	exit $rc
fi

# --- outside -------------------------------------------------------------
timeout=$1
prog=$2
name=$(basename "$prog")
[ "${XS_KMEMLEAK_EACH:-0}" = 1 ] || KML=/nonexistent
[ -w $KML ] && echo clear >$KML

if unshare -n true 2>/dev/null; then
	unshare -n sh "$0" --inside "$timeout" "$prog"
	rc=$?
elif [ -x /tools/xs_netns ]; then
	/tools/xs_netns sh "$0" --inside "$timeout" "$prog"
	rc=$?
else
	echo "# hygiene: no way to make a network namespace; running in the initial one"
	sh "$0" --inside "$timeout" "$prog"
	rc=$?
fi

# The namespace's exit (asynchronous) drops what lingers there.
LIVE=/sys/module/af_xs/parameters/live
if [ -r $LIVE ]; then
	recs=
	for i in $(seq 100); do
		recs=$(sed -n 's/^records \([0-9-]*\) bytes \([0-9-]*\).*/\1 \2/p' $LIVE)
		[ "$recs" = "0 0" ] && break
		sleep 0.1
	done
	if [ -n "$recs" ] && [ "$recs" != "0 0" ]; then
		echo "not ok 9998 hygiene: records, bytes still alive in the module after $name: $recs"
		echo "@@XS-REPORT $name: records still alive (records, bytes: $recs)"
		[ $rc = 0 ] && rc=1
	fi
fi

if [ -e $KML ]; then
	sleep 6
	k0=$(cut -d' ' -f1 /proc/uptime)
	echo scan >$KML
	leaks=$(cat $KML)
	if [ -n "$leaks" ]; then
		# confirm: a second scan drops what was only in flight
		sleep 1
		echo scan >$KML
		leaks=$(cat $KML)
	fi
	echo "# hygiene: kmemleak scan took $(awk -v a="$k0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s"
	if [ -n "$leaks" ]; then
		echo "not ok 9997 hygiene: kmemleak found leaks after $name"
		echo "@@XS-REPORT kmemleak found leaks after $name:"
		echo "$leaks" | head -80
		# reported once: the next program starts from a clean slate
		echo clear >$KML
		[ $rc = 0 ] && rc=1
	else
		echo "# hygiene: kmemleak found nothing after $name"
	fi
fi
exit $rc
