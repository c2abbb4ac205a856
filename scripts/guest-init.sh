#!/bin/busybox sh
# /init of the test VM (PID 1, busybox only). scripts/vm-run.sh copies it
# into the initramfs with /xs-env (settings) and /xs-cmd (the command to
# run, in --cmd mode) and /xs-budgets ("PROGRAM SECONDS" lines: that
# program's timeout instead of XS_TEST_TIMEOUT). Everything it prints goes
# to the serial console; the host parses these markers:
#   @@XS-KERNEL <uname -r>
#   @@XS-TEST-BEGIN <name> budget=<timeout>
#   @@XS-TEST-END <name> rc=<exit code> secs=<time>
#   @@XS-REPORT <what>         a failure found by the guest itself
#   @@XS-DONE                  the guest reached the end (no hang)
# No `set -e`: PID 1 must get to the end and power off whatever happens
# (if it exited, the kernel would panic; panic=-1 turns that into a reboot,
# which qemu -no-reboot turns into an exit, so the host still finishes).

/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/tools
export HOME=/tmp

mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up 2>/dev/null

. /xs-env
export XS_TEST_SCALE XS_FUZZ_SECS XS_FUZZ_SEED XS_KMEMLEAK_EACH LD_LIBRARY_PATH=/lib:/usr/lib:/usr/local/lib

echo "@@XS-KERNEL $(uname -r)"

# kmemleak: forget whatever boot itself left (known false positives of the
# base kernel), so only leaks made while our code ran are reported.
KML=/sys/kernel/debug/kmemleak
if [ -e $KML ]; then
	echo scan >$KML
	echo clear >$KML
fi

# Unsigned out-of-tree module: Debian kernels taint but load it (no
# lockdown without UEFI Secure Boot, and qemu boots SeaBIOS).
if ! insmod /af_xs.ko; then
	echo "@@XS-REPORT insmod failed"
fi

# Guest-side duration of each program (guest clock, seconds).
uptime_s() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(uptime_s)" 'BEGIN { printf "%.1f", b - a }'; }

cd /tmp
if [ "$XS_MODE" = cmd ]; then
	echo "@@XS-TEST-BEGIN cmd budget=$XS_TEST_TIMEOUT"
	s=$(uptime_s)
	timeout -k 10 "$XS_TEST_TIMEOUT" sh /xs-cmd 2>&1 </dev/null
	echo "@@XS-TEST-END cmd rc=$? secs=$(since "$s")"
else
	# One program at a time, in sorted order, each under its own timeout
	# (SIGTERM, then SIGKILL 10 s later).
	for t in $(ls /tests 2>/dev/null | sort); do
		[ -x "/tests/$t" ] || continue
		b=$(awk -v n="$t" '$1 == n { print $2 }' /xs-budgets 2>/dev/null)
		b=${b:-$XS_TEST_TIMEOUT}
		echo "@@XS-TEST-BEGIN $t budget=$b"
		s=$(uptime_s)
		sh /guest-run-test.sh "$b" "/tests/$t" 2>&1 </dev/null
		echo "@@XS-TEST-END $t rc=$? secs=$(since "$s")"
	done
fi
cd /

# Leftover test processes would keep sockets (and the module) busy.
sleep 1
if grep -q '^af_xs ' /proc/modules; then
	if ! rmmod af_xs; then
		echo "@@XS-REPORT rmmod failed"
		cat /proc/modules
	fi
fi

# Two scans with a pause, as kmemleak's documentation recommends (an object
# younger than ~5 s is never reported, and the second scan confirms).
if [ -e $KML ]; then
	echo "@@XS kmemleak: scanning"
	sleep 6
	echo scan >$KML
	sleep 6
	echo scan >$KML
	leaks=$(cat $KML)
	if [ -n "$leaks" ]; then
		echo "@@XS-REPORT kmemleak found leaks:"
		echo "$leaks"
	fi
fi

# Taint bits that mean the kernel complained: 32 bad page, 128 oops/died,
# 512 WARN, 16384 soft lockup (4096 out-of-tree and 8192 unsigned are
# expected for our module).
taint=$(cat /proc/sys/kernel/tainted)
echo "@@XS tainted=$taint"
if [ $((taint & (32 | 128 | 512 | 16384))) -ne 0 ]; then
	echo "@@XS-REPORT kernel tainted ($taint)"
fi

echo "@@XS-DMESG-BEGIN"
dmesg
echo "@@XS-DMESG-END"
echo "@@XS-DONE"
sync
reboot -f
