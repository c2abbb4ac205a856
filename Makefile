# AF_XS top-level Makefile.
#
#   make / make modules   kmod/af_xs.ko against KDIR
#   make libxs            libxs/libxs.so, libxs/libxs.a
#   make selftests        selftests/build/* (kselftest headers from XS_CACHE)
#   make tools            tools/build/* (demo_pushpull...)
#   make install          libxs (PREFIX=/usr/local DESTDIR=)
#   make setup            apt packages, kernel image, extracted headers
#   make debug-kernel     build (once, cached) the KASAN/lockdep kernel
#   make kcsan-kernel     build (once, cached) the KCSAN kernel
#   make lint             checkpatch --strict + sparse on kmod/ and uapi/
#   make check            everything, in qemu guests on Debian's 6.1 and
#                         6.12 kernels (2 boots each), lint included
#   make check-debug      every test on the debug kernel (KASAN, lockdep,
#                         kmemleak, panic_on_warn), in 4 boots
#   make check-kcsan      the chaos/race programs (KCSAN_PROGRAMS) on the
#                         KCSAN kernel; any data-race report fails (not in CI)
#
# Every check ends with "N passed, N failed[, N skipped]", the sum over its
# guest boots. Programs are spread over the boots by the measured times in
# scripts/test-times, each with its own timeout (scripts/check.sh);
# knobs: XS_GROUPS, XS_PROGRAMS, XS_TEST_TIMEOUT, XS_VM_TIMEOUT,
# XS_FUZZ_SECS, XS_FUZZ_SEED (selftests/fuzz.c: replay a run).
#   make demo             boot a guest and run tools/demo_pushpull
#   make clean
#
# The module is never loaded into the host kernel: check, check-debug and
# demo load it inside qemu only (scripts/vm-run.sh).

XS_CACHE ?= $(HOME)/.cache/af_xs
export XS_CACHE

# scripts/setup.sh writes XS_RELEASE_KDIR (Debian cloud headers it pinned).
-include $(XS_CACHE)/release.env

RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
ifneq ($(wildcard $(RUNNING_KDIR)/Makefile),)
KDIR ?= $(RUNNING_KDIR)
else ifneq ($(XS_RELEASE_KDIR),)
KDIR ?= $(XS_RELEASE_KDIR)
else
KDIR ?= $(lastword $(sort $(wildcard /usr/src/linux-headers-*-cloud-amd64)))
endif

CC ?= cc
TOOLS := $(patsubst tools/%.c,tools/build/%,$(wildcard tools/*.c))

.PHONY: all modules libxs selftests tools install setup debug-kernel lint \
	check check-debug check-kcsan kcsan-kernel demo clean

all: modules

modules:
	@test -n "$(KDIR)" -a -f "$(KDIR)/Makefile" || \
		{ echo "no kernel headers (KDIR=$(KDIR)): run make setup" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules

libxs:
	$(MAKE) -C libxs

selftests: libxs
	$(MAKE) -C selftests KSFT_INC=$(XS_CACHE)/kselftest

tools: $(TOOLS)

# Tools use the family directly through the uapi header, no library.
tools/build/%: tools/%.c uapi/linux/xs.h
	@mkdir -p tools/build
	$(CC) -O2 -g -Wall -Wextra -Werror -Iuapi -o $@ $<

install:
	$(MAKE) -C libxs install

setup:
	scripts/setup.sh

debug-kernel: setup
	scripts/build-debug-kernel.sh

kcsan-kernel: setup
	scripts/build-debug-kernel.sh --config kcsan

lint:
	scripts/lint.sh $(KDIR)

# Both kernel generations: Debian's 6.1 and the 6.12 from bookworm-backports.
check:
	scripts/check-all.sh release next

check-debug:
	scripts/check.sh debug

# The programs that race sockets, names and processes against each other.
KCSAN_PROGRAMS ?= crash fuzz hardening pubsub reqrep shutdown stress survey
check-kcsan:
	XS_PROGRAMS="$(KCSAN_PROGRAMS)" scripts/check.sh kcsan

demo:
	scripts/demo.sh

clean:
	-test -f "$(KDIR)/Makefile" && $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean
	-test -f libxs/Makefile && $(MAKE) -C libxs clean
	-test -f selftests/Makefile && $(MAKE) -C selftests clean
	rm -rf tools/build build

# Fan-out benchmark: AF_XS (syscalls, libxs) vs AF_UNIX vs libzmq, one VM
# boot; writes bench/results/fanout.{md,png}.
.PHONY: bench-fanout
bench-fanout: modules libxs
	scripts/bench-fanout.sh

# REQ/REP round-trip latency: AF_XS (syscalls, libxs) vs AF_UNIX vs libzmq,
# one VM boot; writes bench/results/latency.md.
.PHONY: bench-latency
bench-latency: modules libxs
	scripts/bench-latency.sh
