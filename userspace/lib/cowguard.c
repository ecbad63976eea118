// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The device calls: open, version, register, unregister, stats.
 *
 * Every function saves errno on entry and restores it before returning,
 * so callers can rely on the return value alone (see cowguard.h).
 * Arguments the kernel would refuse with EINVAL are refused here first,
 * before any system call, with the same meaning.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "cowguard.h"

/* The uapi sizes are part of the ABI: catch a header that drifted. */
_Static_assert(sizeof(struct cowguard_register) == COWGUARD_REGISTER_SIZE_VER0,
	       "struct cowguard_register changed size");
_Static_assert(sizeof(struct cowguard_unregister) == COWGUARD_UNREGISTER_SIZE_VER0,
	       "struct cowguard_unregister changed size");
_Static_assert(sizeof(struct cowguard_stats) == COWGUARD_STATS_SIZE_VER0,
	       "struct cowguard_stats changed size");

/* ioctl() returning its result or -errno, errno untouched. */
static int cg_ioctl(int fd, unsigned long request, void *arg)
{
	int saved_errno = errno;
	int ret;

	ret = ioctl(fd, request, arg);
	if (ret < 0)
		ret = -errno;
	errno = saved_errno;
	return ret;
}

static void close_keep_errno(int fd)
{
	int saved_errno = errno;

	close(fd);
	errno = saved_errno;
}

int cowguard_abi_version(int fd)
{
	return cg_ioctl(fd, COWGUARD_IOC_VERSION, NULL);
}

int cowguard_open(unsigned int flags)
{
	int saved_errno = errno;
	const char *path;
	int fd, ret;

	if (flags & ~COWGUARD_OPEN_F_ALL)
		return -EINVAL;

	/* secure_getenv: a set-id program never opens a path it was handed. */
	path = secure_getenv(COWGUARD_DEVICE_ENV);
	if (!path || !*path)
		path = COWGUARD_DEVICE_PATH;

	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}

	ret = cowguard_abi_version(fd);
	if (ret < 0)
		goto out_close;
	if (ret != COWGUARD_ABI_VERSION) {
		ret = -EPROTO;
		goto out_close;
	}
	ret = fd;
	goto out;

out_close:
	close_keep_errno(fd);
out:
	errno = saved_errno;
	return ret;
}

/* What COWGUARD_IOC_REGISTER refuses with EINVAL, checked in userspace. */
static int check_region(const struct cowguard_region *r)
{
	uintptr_t start = (uintptr_t)r->start;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);

	if (r->flags & ~COWGUARD_REGISTER_F_ALL)
		return -EINVAL;
	if (!r->length || start % page || r->length % page ||
	    start > UINTPTR_MAX - r->length)
		return -EINVAL;

	if (!r->slot_map) {
		/* No map: nothing is a slot, so no width and no band. */
		if (r->slot_map_len || r->slot_width ||
		    r->band_low || r->band_high)
			return -EINVAL;
		return 0;
	}

	switch (r->slot_width) {
	case 4:
		if (r->band_low < COWGUARD_BAND_MIN_32 ||
		    r->band_high > UINT32_MAX)
			return -EINVAL;
		break;
	case 8:
		if (r->band_low < COWGUARD_BAND_MIN_64)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	if (r->band_high < r->band_low)
		return -EINVAL;
	if (r->slot_map_len != cowguard_slot_map_len(r->length, r->slot_width))
		return -EINVAL;
	return 0;
}

int cowguard_register(int fd, const struct cowguard_region *region,
		      uint64_t *id)
{
	struct cowguard_register req;
	int ret;

	if (!region)
		return -EFAULT;
	ret = check_region(region);
	if (ret)
		return ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.flags = region->flags;
	req.start = (uintptr_t)region->start;
	req.length = region->length;
	req.slot_map = (uintptr_t)region->slot_map;
	req.slot_map_len = region->slot_map_len;
	req.band_low = region->band_low;
	req.band_high = region->band_high;
	req.slot_width = region->slot_width;
	req.trap_budget = region->trap_budget;

	ret = cg_ioctl(fd, COWGUARD_IOC_REGISTER, &req);
	if (ret < 0)
		return ret;
	if (id)
		*id = req.id;
	return 0;
}

int cowguard_unregister(int fd, const void *start)
{
	struct cowguard_unregister req;
	int ret;

	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.start = (uintptr_t)start;

	ret = cg_ioctl(fd, COWGUARD_IOC_UNREGISTER, &req);
	return ret < 0 ? ret : 0;
}

int cowguard_stats(int fd, const void *start, struct cowguard_stats *out)
{
	struct cowguard_stats st;
	int ret;

	if (!out)
		return -EFAULT;

	/* Zeroed: fields an older module does not know read as 0. */
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.start = (uintptr_t)start;

	ret = cg_ioctl(fd, COWGUARD_IOC_STATS, &st);
	if (ret < 0)
		return ret;
	memcpy(out, &st, sizeof(st));
	return 0;
}
