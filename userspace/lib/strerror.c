// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * cowguard_strerror(): what an error of a given call means for cowguard.
 *
 * The same errno means different things per call (ENOENT from open is a
 * missing module, EINVAL from register a bad range), hence the op argument.
 * Every errno listed in a function's ERRORS man page section has an entry
 * here; the host tests check that against the man pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "cowguard.h"

#define OP_ANY_FD	(-1)	/* any call that takes the device's fd */

struct cg_message {
	int op;
	int err;
	const char *msg;
};

static const struct cg_message messages[] = {
	{ COWGUARD_OP_OPEN, ENOENT,
	  "cowguard module not loaded (/dev/cowguard missing): modprobe cowguard" },
	{ COWGUARD_OP_OPEN, ENXIO,
	  "/dev/cowguard exists but no cowguard module serves it: modprobe cowguard" },
	{ COWGUARD_OP_OPEN, ENODEV,
	  "/dev/cowguard exists but no cowguard module serves it: modprobe cowguard" },
	{ COWGUARD_OP_OPEN, EACCES,
	  "no permission on /dev/cowguard: add yourself to the 'cowguard' group" },
	{ COWGUARD_OP_OPEN, EPERM,
	  "opening /dev/cowguard is forbidden by a device cgroup or security policy (containers: allow the device)" },
	{ COWGUARD_OP_OPEN, ENOTTY,
	  "the device opened is not a cowguard device (check $COWGUARD_DEVICE)" },
	{ COWGUARD_OP_OPEN, EPROTO,
	  "the cowguard module and libcowguard speak different ABI versions: install matching versions" },
	{ COWGUARD_OP_OPEN, EINVAL,
	  "unknown flags passed to cowguard_open()" },
	{ COWGUARD_OP_OPEN, EMFILE,
	  "cannot open /dev/cowguard: too many open files in this process" },
	{ COWGUARD_OP_OPEN, ENFILE,
	  "cannot open /dev/cowguard: too many open files in the system" },
	{ COWGUARD_OP_OPEN, ENOMEM,
	  "cannot open /dev/cowguard: out of memory" },

	{ OP_ANY_FD, EBADF,
	  "the cowguard file descriptor is not open" },
	{ OP_ANY_FD, ENOTTY,
	  "the file descriptor is not /dev/cowguard (use cowguard_open())" },

	{ COWGUARD_OP_REGISTER, EINVAL,
	  "invalid registration: start and length must be page-aligned, length > 0, "
	  "no unknown flags; with a slot map: width 4 or 8, "
	  "band_low >= COWGUARD_BAND_MIN_32/64, band_high >= band_low and fitting the width, "
	  "slot_map_len = cowguard_slot_map_len(); without one: width, band and length all 0" },
	{ COWGUARD_OP_REGISTER, EFAULT,
	  "bad pointer: the region is NULL or the slot map is not readable" },
	{ COWGUARD_OP_REGISTER, ENOMEM,
	  "the range has a hole (unmapped pages), or out of memory" },
	{ COWGUARD_OP_REGISTER, EACCES,
	  "part of the range is not private anonymous memory: it is file-backed, shared, "
	  "the stack, executable, or special (VM_IO, VM_PFNMAP, hugetlb)" },
	{ COWGUARD_OP_REGISTER, EPERM,
	  "part of the range is mlocked: munlock it before registering" },
	{ COWGUARD_OP_REGISTER, EEXIST,
	  "part of the range is already registered" },
	{ COWGUARD_OP_REGISTER, E2BIG,
	  "the range exceeds the per-process limit (module parameter max_register_mb), "
	  "or the module is older than this library and refuses fields it does not know" },
	{ COWGUARD_OP_REGISTER, ERANGE,
	  "a marked slot holds a value outside [band_low, band_high]: "
	  "move every marked refcount into the band before registering" },

	{ COWGUARD_OP_UNREGISTER, EINVAL,
	  "start is not inside a registration of this process" },

	{ COWGUARD_OP_STATS, EINVAL,
	  "start is not inside a registration of this process" },
	{ COWGUARD_OP_STATS, EFAULT,
	  "bad pointer: out is NULL" },

	{ COWGUARD_OP_SLOT_MARK, EINVAL,
	  "slot width is not 4 or 8, or the offset is not a multiple of it" },
	{ COWGUARD_OP_SLOT_MARK, ERANGE,
	  "the slot does not lie inside the region (offset + slot_width > length)" },
	{ COWGUARD_OP_SLOT_MARK, EFAULT,
	  "bad pointer: the slot map is NULL" },

	{ COWGUARD_OP_SITES, EINVAL,
	  "start is not inside a registration of this process (or, NULL, the process has none)" },
	{ COWGUARD_OP_SITES, EFAULT,
	  "bad pointer: out is not writable" },
	{ COWGUARD_OP_SITES, EOPNOTSUPP,
	  "site patching is turned off (module parameter site_patching=0)" },
	{ COWGUARD_OP_SITES, ENOTTY,
	  "the module is older than this library: it has no site proof (COWGUARD_IOC_SITES)" },
	{ COWGUARD_OP_PATCH, EINVAL,
	  "start is not inside a registration of this process (or, NULL, the process has none), "
	  "or unknown flags" },
	{ COWGUARD_OP_PATCH, ERANGE,
	  "the band does not contain every value a patched site would skip: "
	  "mark's top byte must be nonzero and [mark's top byte << 56 - 2^31, "
	  "(top byte + 1) << 56 + 2^31] inside [band_low, band_high]" },
	{ COWGUARD_OP_PATCH, EOPNOTSUPP,
	  "site patching is turned off (module parameter site_patching=0)" },
	{ COWGUARD_OP_PATCH, ENOTTY,
	  "the module is older than this library: it has no site proof (COWGUARD_IOC_SITES)" },
	{ COWGUARD_OP_PATCH, EPERM,
	  "/proc/self/mem cannot be written (a kernel or LSM that forbids it): nothing patched" },
	{ COWGUARD_OP_PATCH, EACCES,
	  "/proc/self/mem cannot be written (a kernel or LSM that forbids it): nothing patched" },
};

static int takes_fd(enum cowguard_op op)
{
	return op == COWGUARD_OP_VERSION || op == COWGUARD_OP_REGISTER ||
	       op == COWGUARD_OP_UNREGISTER || op == COWGUARD_OP_STATS ||
	       op == COWGUARD_OP_PATCH || op == COWGUARD_OP_SITES;
}

static const char *generic(int err)
{
	const char *s;

	if (err == 0)
		return "success";
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	/* Untranslated and static for every errno; NULL for unknown ones. */
	s = strerrordesc_np(err);
#else
	s = strerror(err);	/* musl and others: always a static string */
#endif
	return s ? s : "unknown error";
}

const char *cowguard_strerror(enum cowguard_op op, int err)
{
	int saved_errno = errno;
	const char *msg = NULL;
	size_t i;

	if (err < 0)
		err = err == INT_MIN ? INT_MAX : -err;	/* INT_MAX: unknown */

	for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		const struct cg_message *m = &messages[i];

		if (m->err != err)
			continue;
		if (m->op == (int)op || (m->op == OP_ANY_FD && takes_fd(op))) {
			msg = m->msg;
			break;
		}
	}
	if (!msg)
		msg = generic(err);
	errno = saved_errno;
	return msg;
}
