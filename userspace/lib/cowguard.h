/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * libcowguard: the C interface to /dev/cowguard.
 *
 * Conventions, for every function below:
 *  - failure is reported as a negative errno value (-EINVAL, ...), success
 *    as a value >= 0;
 *  - errno is never changed, whatever the outcome;
 *  - there is no global state: every function is thread-safe.
 *
 * What each errno means depends on the call: cowguard_strerror() takes the
 * operation and the error and returns a cowguard-specific explanation.
 * See cowguard(7) for an overview and one man page per function.
 */
#ifndef COWGUARD_H
#define COWGUARD_H

#include <errno.h>	/* the functions return -ENOENT, -EINVAL, ... */
#include <stddef.h>
#include <stdint.h>
#include <linux/cowguard.h>	/* the kernel ABI; installed with this header */

#ifdef __cplusplus
extern "C" {
#endif

/* Environment variable overriding the device path in cowguard_open(). */
#define COWGUARD_DEVICE_ENV	"COWGUARD_DEVICE"
#define COWGUARD_DEVICE_PATH	"/dev/" COWGUARD_DEVICE_NAME

/* cowguard_open() flags: none defined yet, pass 0. */
#define COWGUARD_OPEN_F_ALL	0U

/*
 * A range to register. Fields mirror struct cowguard_register of the uapi
 * header, as native types; see cowguard_register(3).
 *
 * This struct is part of the library ABI: it never grows. A later version
 * that needs more fields adds a new function under a new symbol version.
 * Options that fit in a bit go in flags (COWGUARD_REGISTER_F_*).
 */
struct cowguard_region {
	void *start;			/* page-aligned */
	size_t length;			/* page-aligned, > 0 */
	const uint8_t *slot_map;	/* bitmap of refcount slots, or NULL */
	size_t slot_map_len;		/* cowguard_slot_map_len(), 0 w/o map */
	unsigned int slot_width;	/* 4 or 8 with a map, 0 without */
	unsigned int trap_budget;	/* 0: the module's default */
	uint64_t band_low;		/* 0 without a map */
	uint64_t band_high;		/* 0 without a map */
	unsigned int flags;		/* COWGUARD_REGISTER_F_*; 0 */
};

/* The calls whose errors cowguard_strerror() explains. */
enum cowguard_op {
	COWGUARD_OP_OPEN,	/* cowguard_open() */
	COWGUARD_OP_VERSION,	/* cowguard_abi_version() */
	COWGUARD_OP_REGISTER,	/* cowguard_register() */
	COWGUARD_OP_UNREGISTER,	/* cowguard_unregister() */
	COWGUARD_OP_STATS,	/* cowguard_stats() */
	COWGUARD_OP_SLOT_MARK,	/* cowguard_slot_mark() */
	COWGUARD_OP_PATCH,	/* cowguard_patch_sites() */
	COWGUARD_OP_SITES,	/* cowguard_sites() */
};

/*
 * Open the device read-write, close-on-exec, and check that the module
 * speaks COWGUARD_ABI_VERSION. Returns the file descriptor; close(2) it.
 * -ENOENT means the module is not loaded.
 */
int cowguard_open(unsigned int flags);

/* The ABI version the module behind fd speaks. */
int cowguard_abi_version(int fd);

/*
 * Take over region->start .. +length (see COWGUARD_IOC_REGISTER). On
 * success stores the registration's id in *id unless id is NULL, returns 0.
 */
int cowguard_register(int fd, const struct cowguard_region *region,
		      uint64_t *id);

/* Give the calling process's view of the registration containing start
 * back as private anonymous memory. */
int cowguard_unregister(int fd, const void *start);

/*
 * Figures for the calling process: summed over all its registrations when
 * start is NULL, else for the registration containing start. *out is
 * written only on success.
 */
int cowguard_stats(int fd, const void *start, struct cowguard_stats *out);

/*
 * A static, never NULL, explanation of err (negative or positive errno) as
 * returned by the call op. Unknown combinations get strerror(3)'s text.
 */
const char *cowguard_strerror(enum cowguard_op op, int err);

/* Bytes of the slot map for length bytes of slot_width-byte slots; 0 when
 * slot_width is not 4 or 8. */
size_t cowguard_slot_map_len(uint64_t length, unsigned int slot_width);

/*
 * Mark the slot_width-byte slot at byte offset (from the region's start) in
 * map, the slot map of a region of length bytes (cowguard_slot_map_len()
 * bytes long). offset must be a multiple of slot_width and the slot must
 * lie inside the region.
 */
int cowguard_slot_mark(uint8_t *map, uint64_t length, uint64_t offset,
		       unsigned int slot_width);

/*
 * The module's proof of the instruction sites of the registration
 * containing start (NULL: all of the process's, merged by address), see
 * COWGUARD_IOC_SITES: up to nr entries into out; the table's size in
 * *total unless total is NULL. Returns the number written.
 */
int cowguard_sites(int fd, const void *start, struct cowguard_site_proof *out,
		   unsigned int nr, unsigned int *total);

/* cowguard_patch_sites() flags: none defined yet, pass 0. */
#define COWGUARD_PATCH_F_ALL	0U

/*
 * What cowguard_patch_sites() found. Part of the library ABI: never grows.
 */
struct cowguard_patch_report {
	unsigned int sites;	/* sites in the registration's proof table */
	unsigned int proven;	/* of those, proven refcount writes */
	unsigned int unproven;	/* not (yet) proven: too few writes, or other writes */
	unsigned int patched;	/* sites this process runs patched, in all */
	unsigned int patched_now;	/* of those, patched by this call */
	unsigned int bad_form;	/* proven, but a form the patcher does not know */
	unsigned int no_window;	/* proven, but no room for the jump's target */
	unsigned int evicted;	/* of patched_now, sites whose successor moved */
	unsigned int repatched;	/* patched sites redone around a new neighbour */
	unsigned int reserved[7];
};

/*
 * Rewrite, in the calling process, the instruction sites the module has
 * proven to be refcount writes for the registration containing start (NULL:
 * all of the process's registrations), so
 * that they skip a write whose slot holds mark's top byte (see
 * cowguard_patch_sites(3)). band_low/high are the registration's band: the
 * call fails with -ERANGE unless every write it would skip is one the
 * module drops. Sites already patched are skipped; processes forked later
 * inherit the patched text. *report is written when not NULL, also on
 * failure (what was done so far).
 */
int cowguard_patch_sites(int fd, const void *start, uint64_t mark,
			 uint64_t band_low, uint64_t band_high,
			 unsigned int flags, struct cowguard_patch_report *report);

/*
 * As cowguard_patch_sites(), for sites proven earlier and given by address
 * (a site list the module proved in an earlier run of the same binary; see
 * cowguard_patch_sites(3)): no module needed. -E2BIG past 4096 addresses.
 * An address that does not hold a known form is left alone (bad_form).
 */
int cowguard_patch_addrs(const uint64_t *ips, unsigned int nr, uint64_t mark,
			 uint64_t band_low, uint64_t band_high,
			 unsigned int flags, struct cowguard_patch_report *report);

/*
 * Restore every site this process has patched (lowest address first).
 * Returns the number restored.
 */
int cowguard_unpatch_sites(void);

#ifdef __cplusplus
}
#endif

#endif /* COWGUARD_H */
