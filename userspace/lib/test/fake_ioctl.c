// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fake_ioctl.h"

struct fake_ioctl fake_ioctl;

int __real_ioctl(int fd, unsigned long request, ...);
int __wrap_ioctl(int fd, unsigned long request, ...);

void fake_ioctl_reset(void)
{
	memset(&fake_ioctl, 0, sizeof(fake_ioctl));
}

int __wrap_ioctl(int fd, unsigned long request, ...)
{
	size_t size = _IOC_SIZE(request);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	fake_ioctl.calls++;
	if (!fake_ioctl.enabled)
		return __real_ioctl(fd, request, arg);

	fake_ioctl.fd = fd;
	fake_ioctl.request = request;
	fake_ioctl.arg_was_null = !arg;
	memset(fake_ioctl.arg, 0, sizeof(fake_ioctl.arg));
	if (arg && size <= sizeof(fake_ioctl.arg))
		memcpy(fake_ioctl.arg, arg, size);
	if (fake_ioctl.fill)
		fake_ioctl.fill(request, arg);
	if (fake_ioctl.ret < 0) {
		errno = -fake_ioctl.ret;
		return -1;
	}
	return fake_ioctl.ret;
}
