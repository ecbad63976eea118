# SPDX-License-Identifier: GPL-2.0
# cowguard: the module, the userspace library and tools, the tests.
# Kernel builds go through Kbuild; this file is for people.

KERNELRELEASE ?= $(shell uname -r)
# The running kernel's build tree when it has one, else Debian's 6.1 headers.
KDIR ?= $(or $(wildcard /lib/modules/$(KERNELRELEASE)/build),/usr/src/linux-headers-$(shell HEADERS_ONLY=1 scripts/kernel-release))
PREFIX ?= /usr/local
DESTDIR ?=
VM_MEM ?= 4096
VM_CPUS ?= 2
CMD ?=
export KDIR VM_MEM VM_CPUS

SETUP := scripts/setup
KTREE := build/linux-source-6.1/.stamp

all: module userspace selftests

setup:
	@$(SETUP) build vm test demo

# Kbuild in one tree is not safe to run twice at once: serialise.
module:
	@$(SETUP) build
	@mkdir -p build
	flock build/.module.lock $(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	@$(SETUP) build
	$(MAKE) -C userspace/lib

$(KTREE):
	@$(SETUP) test
	scripts/kernel-tree

selftests: $(KTREE) module
	$(MAKE) -C selftests
	$(MAKE) -C $(KDIR) M=$(CURDIR)/selftests/runner/testmod modules

host-test: userspace
	@$(SETUP) build test
	$(MAKE) -C userspace/lib check
	$(MAKE) -C selftests/host check

vm-test: all
	@$(SETUP) vm
	selftests/runner/vm-tests $(sort $(wildcard $(patsubst %.c,%,$(wildcard selftests/cowguard/*.c))))

runner-test: all
	@$(SETUP) vm
	selftests/runner/selftest

# The project's one test command: host unit tests, the runner's own
# test, then the kselftests in the VM.
test: style host-test runner-test vm-test

style: $(KTREE)
	perl build/linux-source-6.1/scripts/checkpatch.pl --no-tree --strict -q -f \
		$(filter-out %.mod.c,$(wildcard module/*.[ch] selftests/runner/testmod/*.c)) \
		include/uapi/linux/cowguard.h

vm: module
	@$(SETUP) vm
	scripts/vm-run $(if $(CMD),-- sh -c '$(CMD)')

bench-micro: module
	@$(SETUP) vm
	$(MAKE) -C bench
	scripts/vm-run -- bench/micro

demo:
	@echo "make demo will boot the VM, load cowguard and run gunicorn --preload and a"
	@echo "multiprocessing pool side by side: plain fork, gc.freeze, cowguard."
	@echo "It arrives with the CPython adapter (issue 5)."

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	depmod -a $(shell KDIR=$(KDIR) scripts/kernel-release)
	$(MAKE) -C userspace/lib install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C $(KDIR) M=$(CURDIR)/selftests/runner/testmod clean
	$(MAKE) -C selftests clean
	$(MAKE) -C userspace/lib clean
	rm -rf build

.PHONY: all setup module userspace selftests host-test vm-test runner-test test style vm bench-micro demo install clean
