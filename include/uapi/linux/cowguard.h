/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * cowguard: keep a preforking master's heap shared with its workers.
 *
 * Protocol
 * ========
 *
 * The device /dev/cowguard takes ioctls. Every struct starts with a __u32
 * size that the caller sets to sizeof() of the struct it was built with:
 * the kernel accepts smaller (older) structs down to the *_SIZE_VER0 size
 * and larger (newer) ones whose unknown tail is all zero (else E2BIG).
 * Unknown flag bits and nonzero reserved fields are refused with EINVAL.
 *
 * COWGUARD_IOC_VERSION (no argument)
 *	Returns COWGUARD_ABI_VERSION as the ioctl's return value.
 *
 * COWGUARD_IOC_REGISTER (struct cowguard_register, in/out)
 *	Takes over [start, start + length) of the caller's private anonymous
 *	memory at the same address, contents and protections preserved. The
 *	pages become "golden": shared read-only by the caller and every process
 *	later forked from it. A process's first write to a golden page gives it
 *	a private "shadow" copy, unless the write is a refcount-only write
 *	(below), which is emulated and dropped. Only the calling thread may
 *	touch the range while the call runs.
 *
 *	start, length	page-aligned; length > 0; no overflow; at most the
 *			module parameter max_register_mb per process in all.
 *	slot_map	user pointer to a bitmap, or 0 for none. Bit i (byte
 *			i / 8, bit i % 8, least significant first) marks the
 *			slot_width-byte word at start + i * slot_width as a
 *			refcount slot.
 *	slot_map_len	bytes of the bitmap: exactly
 *			DIV_ROUND_UP(length / slot_width, 8), or 0 with no map.
 *	slot_width	4 or 8 with a map, 0 without.
 *	band_low/high	the band: every marked slot holds a value in
 *			[band_low, band_high] at registration time, and only
 *			writes that keep it inside are dropped. band_low must be
 *			at least COWGUARD_BAND_MIN_32 (4-byte slots) or
 *			COWGUARD_BAND_MIN_64 (8-byte slots), band_high must fit
 *			the width and be >= band_low. Both 0 without a map.
 *	trap_budget	emulated writes per page and process before the page
 *			becomes a shadow anyway; 0 takes the module default.
 *	id		out: the registration's id (stable for its lifetime).
 *
 *	Errors:
 *	EINVAL	misaligned, empty or overflowing range; unknown flags or
 *		nonzero reserved fields; bad slot width, band or map length.
 *	EFAULT	a bad pointer (the struct or the slot map).
 *	ENOMEM	a hole in the range, or out of memory.
 *	EACCES	part of the range is file-backed, shared, the stack,
 *		executable, or VM_IO/VM_PFNMAP/hugetlb special memory.
 *	EPERM	part of the range is mlocked.
 *	EEXIST	part of the range is already registered.
 *	E2BIG	the range is over the per-process limit, or the struct's
 *		unknown tail is not zero.
 *	ERANGE	a marked slot holds a value outside the band.
 *
 * COWGUARD_IOC_UNREGISTER (struct cowguard_unregister, in)
 *	Turns the calling process's view of the registration that contains
 *	start back into private anonymous memory with the same contents and
 *	protections. Other processes keep their views; the registration is
 *	freed when the last process leaves it (unregister, munmap, exec or
 *	exit). Errors: EINVAL (flags, reserved, start not in a registration of
 *	this process).
 *
 * COWGUARD_IOC_STATS (struct cowguard_stats, in/out)
 *	Figures for the calling process. With start == 0 they sum over every
 *	registration the process maps; otherwise they are for the registration
 *	that contains start, and the reg_* fields describe that registration
 *	as a whole (all its processes). Errors: EINVAL as for UNREGISTER.
 *
 * Mapping semantics that differ from anonymous memory
 * ===================================================
 *	The range shows as "rw-p" -> "rw-s anon_inode:[cowguard]" in
 *	/proc/PID/maps. Partial munmap, partial mprotect and mremap fail with
 *	EINVAL (unmap or mprotect a whole registered VMA instead).
 *	MADV_DONTNEED keeps the contents instead of zero-filling; MADV_FREE and
 *	MADV_WIPEONFORK fail with EINVAL; MADV_DONTFORK leaves the child without
 *	the range, as for anonymous memory.
 */
#ifndef _UAPI_LINUX_COWGUARD_H
#define _UAPI_LINUX_COWGUARD_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define COWGUARD_ABI_VERSION	1
#define COWGUARD_DEVICE_NAME	"cowguard"

/* The smallest band values: far from 0 and 1 so a dropped decrement can
 * never make an object look dead or uniquely referenced.
 */
#define COWGUARD_BAND_MIN_32	(1ULL << 30)
#define COWGUARD_BAND_MIN_64	(1ULL << 31)

/* Registration flags: none defined yet. */
#define COWGUARD_REGISTER_F_ALL	0U

struct cowguard_register {
	__u32 size;
	__u32 flags;
	__u64 start;
	__u64 length;
	__u64 slot_map;
	__u64 slot_map_len;
	__u64 band_low;
	__u64 band_high;
	__u32 slot_width;
	__u32 trap_budget;
	__u64 id;
	__u64 reserved[4];
};

#define COWGUARD_REGISTER_SIZE_VER0	104

struct cowguard_unregister {
	__u32 size;
	__u32 flags;
	__u64 start;
	__u64 reserved[2];
};

#define COWGUARD_UNREGISTER_SIZE_VER0	32

/* Why a write to a golden page was not emulated (index of refused[]). */
enum cowguard_refuse_reason {
	COWGUARD_REFUSE_KERNEL,	/* kernel-mode or remote write (GUP, read()) */
	COWGUARD_REFUSE_TRACED,	/* single-stepping (TF) or ptraced */
	COWGUARD_REFUSE_INSN,	/* instruction not in the whitelist */
	COWGUARD_REFUSE_NOT_SLOT,	/* target is not one marked slot */
	COWGUARD_REFUSE_BAND,	/* old or new value outside the band */
	COWGUARD_REFUSE_NO_MAP,	/* registration has no slot map */
	__COWGUARD_REFUSE_MAX
};

#define COWGUARD_REFUSE_SLOTS	8	/* room in refused[] for new reasons */

struct cowguard_stats {
	__u32 size;
	__u32 flags;
	__u64 start;		/* in: 0, or an address in a registration */
	/* The calling process. */
	__u64 mapped_pages;	/* registered pages this process maps */
	__u64 shadow_pages;	/* its private (shadow) pages */
	__u64 read_faults;	/* faults that mapped a page read-only */
	__u64 shadow_faults;	/* writes that made a shadow copy */
	__u64 write_faults;	/* writes to a shadow it already owned */
	__u64 emulated;		/* refcount-only writes emulated, dropped */
	__u64 budget_shadows;	/* shadows made because the budget ran out */
	__u64 refused[COWGUARD_REFUSE_SLOTS];
	/* The registration (only with start != 0). */
	__u64 reg_id;
	__u64 reg_start;
	__u64 reg_length;
	__u64 reg_golden_pages;
	__u64 reg_shadow_pages;	/* shadows held by all its processes */
	__u64 reg_processes;
	__u64 reg_emulated;
	__u64 reg_budget_shadows;
	__u64 reserved[8];
};

#define COWGUARD_STATS_SIZE_VER0	264

#define COWGUARD_IOC_MAGIC	0xC6
#define COWGUARD_IOC_VERSION	_IO(COWGUARD_IOC_MAGIC, 0x00)
#define COWGUARD_IOC_REGISTER	_IOWR(COWGUARD_IOC_MAGIC, 0x01, struct cowguard_register)
#define COWGUARD_IOC_UNREGISTER	_IOW(COWGUARD_IOC_MAGIC, 0x02, struct cowguard_unregister)
#define COWGUARD_IOC_STATS	_IOWR(COWGUARD_IOC_MAGIC, 0x03, struct cowguard_stats)

#endif /* _UAPI_LINUX_COWGUARD_H */
