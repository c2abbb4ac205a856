# AF_XS top-level Makefile. `make help` lists the targets.

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

.PHONY: all help modules modules_install modules_uninstall dkms-install \
	dkms-uninstall libxs selftests tools install uninstall setup \
	debug-kernel lint lint-man check check-debug check-kcsan kcsan-kernel \
	demo clean

# Install locations (make install / uninstall); see README "Installing on
# your machine". LIBDIR may be multiarch: LIBDIR=/usr/lib/x86_64-linux-gnu.
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
export PREFIX DESTDIR LIBDIR INCLUDEDIR

VERSION := $(strip $(file <VERSION))
# The kernel release KDIR's headers are for (modules_install, depmod): the
# `uname -r` of that kernel. (Debian's include/config/kernel.release holds
# the upstream version instead.)
KVER = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
# Modules go to $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/extra/af_xs.ko.
INSTALL_MOD_PATH ?=
MAN7 := $(wildcard man/*.7)
MAN3 := $(wildcard man/*.3)
MAN1 := $(wildcard man/*.1)
BINDIR ?= $(PREFIX)/bin

all: modules

help:
	@echo 'Build (against KDIR=$(KDIR)):'
	@echo '  make [modules]          kmod/af_xs.ko'
	@echo '  make libxs              libxs/libxs.so, libxs/libxs.a'
	@echo '  make tools              tools/build/*'
	@echo '  make selftests          selftests/build/*'
	@echo 'Install on this machine (as root):'
	@echo '  make modules_install    af_xs.ko into /lib/modules/$(KVER)/extra, then depmod'
	@echo '                          (MOK_KEY=key.priv MOK_CERT=cert.der: sign it; INSTALL_MOD_PATH=)'
	@echo '  make modules_uninstall  remove it again, depmod'
	@echo '  make dkms-install       register with DKMS: rebuilt for every new kernel'
	@echo '  make dkms-uninstall     remove it from DKMS'
	@echo '  make install            libxs, <linux/xs.h>, xsstat, xscat, xs_bridge, xs_*_thr/lat, man pages, pkg-config and CMake'
	@echo '                          files (PREFIX=/usr/local LIBDIR= DESTDIR= LIBNAME=xs)'
	@echo '  make uninstall          remove what make install installed (same variables)'
	@echo 'Test (qemu guests; the module never loads into this kernel):'
	@echo '  make setup              apt packages, Debian kernel images and headers'
	@echo '  make demo               a guest runs a PUSH/PULL demo'
	@echo '  make lint               checkpatch, sparse, man pages (mandoc -T lint)'
	@echo '  make check              lint + every test on Debian 6.1 and 6.12 kernels'
	@echo '  make check-debug        every test on a KASAN/lockdep/kmemleak kernel'
	@echo '  make check-kcsan        the race programs on a KCSAN kernel'
	@echo '  make debug-kernel, make kcsan-kernel   only build those kernels'
	@echo '  make bench-fanout, make bench-latency, make bench-thr  benchmarks in a guest'
	@echo '  make clean'

# A KDIR the user gave is used as given: say so when it is not a build tree.
ifneq ($(filter command line environment,$(origin KDIR)),)
KDIR_HINT = KDIR=$(KDIR), which you gave, is not a kernel build tree (it has no Makefile): give the headers of the kernel the module is for, e.g. KDIR=/lib/modules/<release>/build (Debian: apt-get install linux-headers-<release>)
else
KDIR_HINT = no kernel headers found (KDIR=$(KDIR)): install those of your kernel (Debian: apt-get install linux-headers-$(shell uname -r)), or run make setup to fetch the headers of the kernel the test guests boot
endif

modules:
	@test -n "$(KDIR)" -a -f "$(KDIR)/Makefile" || \
		{ echo '$(KDIR_HINT)' >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules

# kbuild's own signing (CONFIG_MODULE_SIG_ALL) needs the distribution's
# private key, which nobody outside it has: it is switched off, and the
# module is signed with the machine owner's key when one is given.
modules_install: modules
	@test -n "$(KVER)" || { echo "no kernel release in $(KDIR)/include/generated/utsrelease.h" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod INSTALL_MOD_DIR=extra \
		INSTALL_MOD_PATH=$(INSTALL_MOD_PATH) CONFIG_MODULE_SIG_ALL= modules_install
	@if [ -n "$(MOK_KEY)" ]; then \
		echo "signing with $(MOK_KEY) $(MOK_CERT)"; \
		$(KDIR)/scripts/sign-file sha256 "$(MOK_KEY)" "$(MOK_CERT)" \
			$(INSTALL_MOD_PATH)/lib/modules/$(KVER)/extra/af_xs.ko || exit 1; \
	fi
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KVER)

# Both places a build can install to: ours, and kbuild's default when run
# from the root as M=$$PWD (extra/kmod/).
modules_uninstall:
	rm -f $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/extra/af_xs.ko \
	      $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/extra/kmod/af_xs.ko
	depmod $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) -a $(KVER)

# DKMS builds from a copy of the sources in /usr/src/af_xs-<version>.
DKMS_SRC = /usr/src/af_xs-$(VERSION)
dkms-install:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r Kbuild VERSION dkms.conf kmod uapi LICENSES $(DKMS_SRC)/
	rm -f $(DKMS_SRC)/kmod/*.o $(DKMS_SRC)/kmod/*.ko $(DKMS_SRC)/kmod/.*.cmd
	dkms install af_xs/$(VERSION)

dkms-uninstall:
	dkms remove af_xs/$(VERSION) --all
	rm -rf $(DKMS_SRC)

libxs:
	$(MAKE) -C libxs

selftests: libxs
	$(MAKE) -C selftests KSFT_INC=$(XS_CACHE)/kselftest

tools: $(TOOLS)

# Tools use the family directly through the uapi header, no library...
tools/build/%: tools/%.c uapi/linux/xs.h $(wildcard tools/*.h)
	@mkdir -p tools/build
	$(CC) -O2 -g -Wall -Wextra -Werror -Iuapi -o $@ $<

# ...except the perf tools, xscat and xs_bridge, which are libxs programs (xs.h) and
# link the static library, so they run wherever they are copied.
XS_TOOLS := tools/build/xs_local_thr tools/build/xs_remote_thr \
	tools/build/xs_local_lat tools/build/xs_remote_lat tools/build/xscat \
	tools/build/xs_bridge
$(XS_TOOLS): tools/build/%: tools/%.c libxs/libxs.a libxs/xs.h $(wildcard tools/*.h)
	@mkdir -p tools/build
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Iuapi -Ilibxs \
		-o $@ $< libxs/libxs.a -pthread -ldl

libxs/libxs.a: $(wildcard libxs/*.c libxs/*.h)
	$(MAKE) -C libxs

# Everything but the module (modules_install): the library, its header,
# the libxs tools (perf tools, xscat),
# pkg-config and CMake files, the uapi header and the manual.
install: $(XS_TOOLS) tools/build/xsstat
	$(MAKE) -C libxs install
	install -d $(DESTDIR)$(INCLUDEDIR)/linux $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BINDIR)
	install -m 0755 $(XS_TOOLS) tools/build/xsstat $(DESTDIR)$(BINDIR)/
	$(if $(MAN1),install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/)
	install -m 0644 uapi/linux/xs.h $(DESTDIR)$(INCLUDEDIR)/linux/xs.h
	$(if $(MAN7),install -m 0644 $(MAN7) $(DESTDIR)$(MANDIR)/man7/)
	$(if $(MAN3),install -m 0644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/)

uninstall:
	$(MAKE) -C libxs uninstall
	rm -f $(DESTDIR)$(INCLUDEDIR)/linux/xs.h \
	      $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(XS_TOOLS)) xsstat) \
	      $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1))) \
	      $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(MAN7))) \
	      $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(MAN3)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/linux 2>/dev/null

setup:
	scripts/setup.sh

debug-kernel: setup
	scripts/build-debug-kernel.sh

kcsan-kernel: setup
	scripts/build-debug-kernel.sh --config kcsan

lint:
	scripts/lint.sh $(KDIR)

# The manual alone (also part of make lint).
lint-man:
	scripts/lint.sh --man-only

# Both kernel generations: Debian's 6.1 and the 6.12 from bookworm-backports.
# The tests build the module for the kernels the guests boot, not KDIR.
KDIR_IGNORED = $(if $(filter command line environment,$(origin KDIR)),@echo 'note: make $@ builds the module for the kernels its guests boot; KDIR=$(KDIR) is not used' >&2)

check:
	$(KDIR_IGNORED)
	scripts/check-all.sh release next

check-debug:
	$(KDIR_IGNORED)
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

# PUSH/PULL throughput: AF_XS (syscalls, libxs) vs AF_UNIX vs libzmq vs nng
# vs a shared-memory ring (the limit), one VM boot; bench/results/thr.md.
.PHONY: bench-thr
bench-thr: modules libxs
	scripts/bench-thr.sh
