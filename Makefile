# SPDX-License-Identifier: GPL-2.0
# cowguard: the module, the userspace library and tools, the tests.
# Kernel builds go through Kbuild; this file is for people.

KERNELRELEASE ?= $(shell uname -r)
# The running kernel's build tree when it has one, else Debian's 6.1 headers.
KDIR ?= $(or $(wildcard /lib/modules/$(KERNELRELEASE)/build),/usr/src/linux-headers-$(shell HEADERS_ONLY=1 scripts/kernel-release))
# The kernel the VM boots for vm-test, vm, cli-test, python-test, dkms-test
# and demo: a Debian series (6.1, 6.12, or 6.1-rt, 6.12-rt for PREEMPT_RT)
# or release; empty for KDIR's (6.1). Another than KDIR's gets cowguard.ko
# built against its headers in build/kmod (scripts/kernel-module).
KERNEL ?=
# 1: python-test runs only what exercises the module in KERNEL; its host
# tests and its guest without the module do not depend on the kernel and
# ran with the first (selftests/run-all sets it for the second and later
# of KERNELS). cli-test and dkms-test exercise the module throughout.
KERNEL_ONLY ?=
# The kernels `make test` runs the kselftests, the CLI, the adapter and
# DKMS on (selftests/run-all), and whose PREEMPT_RT flavours it boots for
# vm-test-rt. 6.12 is not in the default: race.probed_writes_not_lost
# loses stores there (README, "Requirements and supported kernels");
# KERNELS="6.1 6.12" runs both.
KERNELS ?= 6.1
PREFIX ?= /usr/local
DESTDIR ?=
VM_MEM ?= 4096
VM_CPUS ?= 2
# The debug kernel's run (test-debug): guest memory (KASAN's shadow takes
# an eighth) and each test binary's timeout, for a kernel several times
# slower than Debian's under TCG.
DEBUG_VM_MEM ?= 4096
DEBUG_TEST_TIMEOUT ?= 1200
CMD ?=
# KDIR is not exported: the headers it names may be installed by this very
# run (scripts/setup), and a value fixed before that would be empty.
export VM_MEM VM_CPUS KERNELS

SETUP := scripts/setup
# Suites that selftests/run-all runs side by side (A+B) build in this one
# tree: their userspace builds take turns, as module's Kbuild does.
SERIAL = mkdir -p build && flock build/.build.lock
KTREE := build/linux-source-6.1/.stamp

all: module userspace selftests

setup:
	@$(SETUP) build vm test demo

# A prerequisite, not a recipe line: make expands a whole recipe (KDIR
# with it) before running its first line.
setup-build:
	@$(SETUP) build

# Kbuild in one tree is not safe to run twice at once: serialise.
module: setup-build
	@mkdir -p build
	flock build/.module.lock $(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	@$(SETUP) build
	$(SERIAL) $(MAKE) -C userspace/lib
	$(SERIAL) $(MAKE) -C userspace/cli

$(KTREE):
	@$(SETUP) test
	scripts/kernel-tree

selftests: $(KTREE) module userspace
	$(MAKE) -C selftests
	$(MAKE) -C $(KDIR) M=$(CURDIR)/selftests/runner/testmod modules

host-test: userspace
	@$(SETUP) build test
	$(MAKE) -C userspace/lib check
	$(MAKE) -C selftests/host check

# cowguard.ko (and the runner's test module) for KERNEL, when it is set.
kmod: setup-build $(if $(filter %-rt,$(KERNEL)),setup-rt)
	$(if $(KERNEL),scripts/kernel-module $(KERNEL) >/dev/null)

setup-rt:
	@$(SETUP) rt

vm-test: all kmod
	@$(SETUP) vm
	selftests/runner/vm-tests $(if $(KERNEL),-k $(KERNEL) --) \
		$(sort $(wildcard $(patsubst %.c,%,$(wildcard selftests/cowguard/*.c))))

# The kselftests on a PREEMPT_RT kernel (KERNEL: 6.1-rt, the default, or
# 6.12-rt), where spinlocks sleep: the binaries that take the module's
# locks on every path (registration, fork, the fault and emulation paths,
# reclaim's scanner and shrinker, unregister under reclaim, kernel-side
# writes), kwrite and race shortened. The long hunts are vm-test's.
RT_TESTS := register fork emulate reclaim race kwrite
RT_TEST_ENV := CG_KWRITE_OPS=20000 CG_KWRITE_SECS=60 CG_RACE_SECS=40
vm-test-rt: KERNEL := $(or $(KERNEL),6.1-rt)
vm-test-rt: all kmod
	@$(SETUP) vm rt
	selftests/runner/vm-tests -k $(KERNEL) -- $(RT_TEST_ENV) \
		$(addprefix selftests/cowguard/,$(RT_TESTS))

# cowguard(8) against a live registration in the VM, on KERNEL.
cli-test: module userspace kmod
	@$(SETUP) vm
	$(SERIAL) $(MAKE) -C userspace/cli
	$(SERIAL) $(MAKE) -C selftests/cli
	scripts/vm-run $(if $(KERNEL),-k $(KERNEL)) -- selftests/cli/cli-test

runner-test: all
	@$(SETUP) vm
	selftests/runner/selftest

# The debug kernel (KASAN, lockdep, DEBUG_VM, DEBUG_PAGEALLOC, fault
# injection; scripts/debug-kernel.config), built once into build/ and
# cached, and cowguard.ko and the runner's test module built against it.
debug-kernel:
	scripts/debug-kernel

debug-module: debug-kernel
	scripts/debug-kernel module

# Every kselftest binary on the debug kernel with the module built against
# it, after the runner's check that a use after free turns the run red.
test-debug: all debug-module
	@$(SETUP) vm
	status=0; \
	selftests/runner/selftest -D || status=1; \
	selftests/runner/vm-tests -D -m $(DEBUG_VM_MEM) -- -t $(DEBUG_TEST_TIMEOUT) \
		$(sort $(wildcard $(patsubst %.c,%,$(wildcard selftests/cowguard/*.c)))) || status=1; \
	exit $$status

# The CPython adapter for Debian's /usr/bin/python3: host tests, then the
# module-present tests and gunicorn in the VM (on KERNEL), and the fallback
# in a VM without the module (selftests/python/run; KERNEL_ONLY=1: only
# the module-present tests).
python-test: module kmod
	@$(SETUP) build vm demo
	$(SERIAL) $(MAKE) -C userspace/python PYTHON=/usr/bin/python3
	selftests/python/run

# The project's one test command: every suite below in turn (style, host
# unit tests, the runner's own test, the kselftests, vm-run, the CLI, the
# Python adapter, install and DKMS), then one summary line.
test:
	selftests/run-all

style: $(KTREE)
	perl build/linux-source-6.1/scripts/checkpatch.pl --no-tree --strict -q -f \
		$(filter-out %.mod.c,$(wildcard module/*.[ch] selftests/runner/testmod/*.c)) \
		include/uapi/linux/cowguard.h

# What the guest needs: the module, libcowguard, the Python adapter in place.
vm-deps: module userspace
	@$(SETUP) vm
	$(SERIAL) $(MAKE) -C userspace/python PYTHON=$(firstword $(wildcard /usr/bin/python3) python3)

# CMD reaches bash as typed (make does not expand it), through the
# environment so that quotes and newlines survive.
vm: override export CMD := $(value CMD)
vm: vm-deps kmod
	scripts/vm-run $(if $(KERNEL),-k $(KERNEL)) $(if $(CMD),-- bash -c "$$CMD")

vmrun-test: vm-deps
	$(MAKE) -C $(KDIR) M=$(CURDIR)/selftests/runner/testmod modules
	selftests/vmrun/test

bench-micro: module
	@$(SETUP) vm
	$(MAKE) -C bench
	scripts/vm-run -- bench/micro

# The prefork demo (bench/demo/README.md): gunicorn --preload and a
# multiprocessing pool, plain fork vs gc.freeze vs cowguard, in the VM.
demo: module kmod
	@$(SETUP) build vm demo
	bench/demo/run

# The long run (issue 8): at least 10x the short run's work, private memory
# per worker over time, with the reclaim scanner off and on; <= 30 min.
demo-long: module kmod
	@$(SETUP) build vm demo
	DEMO_LONG=1 bench/demo/run

# Site patching natively on the host, no module, from the site list the
# last make demo saved (bench/native/native.py): plain vs gc.freeze vs patched.
bench-native: userspace
	bench/native/run

# Install paths (DESTDIR stages them; then depmod, groupadd and udevadm are
# left to the package's scripts). The adapter goes straight into the system
# interpreter's dist-packages under PREFIX, where pip does not see it.
MODULE_RELEASE = $(shell KDIR=$(KDIR) scripts/kernel-release)
MODULEDIR ?= /lib/modules/$(MODULE_RELEASE)/extra
UDEVRULESDIR ?= /etc/udev/rules.d
INSTALL_PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
PYTHON_SITEDIR ?= $(PREFIX)/lib/python$(shell $(INSTALL_PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')/dist-packages
PYTHON_EXT = $(shell $(INSTALL_PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
CLI_MAKEFILE := $(wildcard userspace/cli/Makefile)

install: module userspace
	install -D -m 644 module/cowguard.ko $(DESTDIR)$(MODULEDIR)/cowguard.ko
	$(if $(DESTDIR),,depmod -a $(MODULE_RELEASE))
	$(MAKE) -C userspace/lib install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	$(if $(CLI_MAKEFILE),$(MAKE) -C userspace/cli install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR))
	$(MAKE) -C userspace/python PYTHON=$(INSTALL_PYTHON)
	install -d $(DESTDIR)$(PYTHON_SITEDIR)/cowguard
	install -m 644 userspace/python/cowguard/*.py \
		userspace/python/cowguard/_cowguard$(PYTHON_EXT) $(DESTDIR)$(PYTHON_SITEDIR)/cowguard/
	install -D -m 644 scripts/udev/60-cowguard.rules $(DESTDIR)$(UDEVRULESDIR)/60-cowguard.rules
	$(if $(DESTDIR),,getent group cowguard >/dev/null || groupadd --system cowguard)
	$(if $(DESTDIR),,-udevadm control --reload-rules)

# The cowguard group stays: it may have members (groupdel cowguard).
uninstall:
	rm -f $(DESTDIR)$(MODULEDIR)/cowguard.ko
	$(if $(DESTDIR),,depmod -a $(MODULE_RELEASE))
	$(MAKE) -C userspace/lib uninstall PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	$(if $(CLI_MAKEFILE),$(MAKE) -C userspace/cli uninstall PREFIX=$(PREFIX) DESTDIR=$(DESTDIR))
	rm -rf $(DESTDIR)$(PYTHON_SITEDIR)/cowguard
	rm -f $(DESTDIR)$(UDEVRULESDIR)/60-cowguard.rules

# The module's source as DKMS wants it, in /usr/src/cowguard-VERSION; then
# dkms install cowguard/VERSION.
COWGUARD_VERSION := $(shell sed -n 's/^\#define COWGUARD_VERSION "\(.*\)"$$/\1/p' module/version.h)
DKMS_SRCDIR ?= /usr/src/cowguard-$(COWGUARD_VERSION)
DKMS_FILES = dkms.conf Kbuild module/Kbuild $(filter-out %.mod.c,$(wildcard module/*.c)) \
	$(wildcard module/*.h) include/uapi/linux/cowguard.h LICENSE

dkms-source:
	install -d $(DESTDIR)$(DKMS_SRCDIR)
	cp --parents $(DKMS_FILES) $(DESTDIR)$(DKMS_SRCDIR)/

# dkms add/build/install against the Debian headers of KERNEL (default
# 6.1), the module loaded by modprobe in the VM, then dkms remove.
dkms-test: module
	@$(SETUP) dkms vm
	selftests/dkms/test

install-test:
	selftests/install/test

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C $(KDIR) M=$(CURDIR)/selftests/runner/testmod clean
	$(MAKE) -C selftests clean
	$(MAKE) -C userspace/lib clean
	rm -rf build

.PHONY: all setup setup-build setup-rt module kmod userspace selftests host-test vm-test vm-test-rt runner-test debug-kernel debug-module test-debug python-test test style vm-deps vm vmrun-test bench-micro bench-native demo demo-long install uninstall dkms-source dkms-test install-test cli-test clean
