/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The tests link libcowguard.a with -Wl,--wrap=ioctl: every ioctl() the
 * library makes lands in __wrap_ioctl(), which counts it and either passes
 * it to the real ioctl() or, with fake_ioctl.enabled, records it and
 * answers as told (a fake cowguard module).
 */
#ifndef COWGUARD_TEST_FAKE_IOCTL_H
#define COWGUARD_TEST_FAKE_IOCTL_H

#include <stddef.h>

struct fake_ioctl {
	int calls;			/* ioctl() calls seen, fake or real */
	int enabled;			/* answer instead of the kernel */
	/* the last faked call */
	int fd;
	unsigned long request;
	unsigned char arg[512];		/* _IOC_SIZE(request) bytes of it */
	int arg_was_null;
	/* the answer */
	int ret;			/* >= 0: return it; < 0: fail with -ret */
	void (*fill)(unsigned long request, void *arg);	/* or NULL */
};

extern struct fake_ioctl fake_ioctl;

void fake_ioctl_reset(void);

#endif
