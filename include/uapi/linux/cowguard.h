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
 * and larger (newer) ones up to 4096 bytes whose unknown tail is all zero
 * (else E2BIG).
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
 *	trap_budget	the trap budget: emulated writes per page and process
 *			in a burst before the page becomes a shadow anyway; 0
 *			takes the module default, 65535 or more never shadows.
 *	trap_refill_ms	the budget's refill: one emulated write is given back
 *			every trap_refill_ms milliseconds, up to trap_budget,
 *			so a page written now and then stays shared; 0 takes
 *			the module default, COWGUARD_REFILL_NEVER never refills.
 *	shadow_cap	this registration's share of its process's shadow cap,
 *			in pages: the most shadows the trap budget may make
 *			and a process may hold at once over all of its
 *			registrations; past it, refcount-only writes are
 *			emulated whatever the budget, so a long-lived
 *			process's copies stay bounded. A process's cap is the
 *			sum of its registrations' own shares plus
 *			shadow_cap_pct of the pages of those that set 0 (that
 *			part at least 256 pages; none when shadow_cap_pct is
 *			0). COWGUARD_SHADOW_CAP_NONE: this registration is
 *			not capped and does not count. A forked child has its
 *			own cap. Threads that fault at the same moment may
 *			each pass it by one.
 *	id		out: the registration's id (stable for its lifetime).
 *
 *	Errors:
 *	EINVAL	misaligned, empty or overflowing range; unknown flags or
 *		nonzero reserved fields; bad slot width, band or map length.
 *	EFAULT	a bad pointer (the struct or the slot map).
 *	ENOMEM	a hole in the range, out of memory, or the golden pages
 *		(the ones not all zeros) would take the registering user
 *		past RLIMIT_MEMLOCK (without CAP_IPC_LOCK).
 *	EACCES	part of the range is file-backed, shared, the stack,
 *		executable, or VM_IO/VM_PFNMAP/hugetlb special memory, or
 *		has a protection key, a VMA mempolicy or a userfaultfd
 *		registration (a shared mapping would drop them).
 *	EPERM	part of the range is mlocked.
 *	EEXIST	part of the range is already registered.
 *	E2BIG	the range is over the per-process limit, or the struct's
 *		unknown tail is not zero, or its size is over 4096.
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
 * COWGUARD_IOC_SITES (struct cowguard_sites, in/out)
 *	The registration's proof of its instruction sites, for a patcher
 *	(libcowguard's cowguard_patch_sites(3)): per user instruction address
 *	that wrote a golden page of the registration, in any of its processes
 *	(one fork tree, so one address names one instruction in all of them;
 *	all the registrations of one registering process share one table),
 *	how many of its writes were refcount-only (emulated, or shadowed
 *	because the budget ran out) and how many were refused as anything
 *	else (COWGUARD_REFUSE_INSN, _NOT_SLOT or _BAND), except that a
 *	_NOT_SLOT or _BAND write whose old value was outside the band counts
 *	in outside (at most 2^32 - 1) instead: a site rewritten to skip band
 *	values runs such a write unchanged. A site with
 *	COWGUARD_SITE_F_PROVEN has made at least COWGUARD_PROOF_MIN_WRITES
 *	refcount-only writes and nothing else counted in refused: it may be
 *	rewritten to skip band values. The table keeps up to COWGUARD_PROOF_SITES addresses, the
 *	first seen (an address that finds no free slot near its hash is not
 *	tracked and stays with the trap).
 *
 *	start	in: an address in a registration the calling process maps,
 *		or 0 for all of them, merged by address (counts summed, at
 *		most COWGUARD_PROOF_MERGED sites)
 *	sites	in: user pointer to an array of struct cowguard_site_proof
 *	nr	in: entries of that array; out: sites written, in no order
 *	total	out: sites the table holds (more than nr when it was short)
 *
 *	Errors: EINVAL (flags, reserved, start not in a registration of this
 *	process, or start 0 and the process maps none), EFAULT (the array),
 *	EOPNOTSUPP (module parameter site_patching is 0: the administrator
 *	turned patching off).
 *
 * Mapping semantics that differ from anonymous memory
 * ===================================================
 *	The range shows as "rw-p" -> "rw-s anon_inode:[cowguard]" in
 *	/proc/PID/maps. Partial munmap and partial mprotect fail with EINVAL
 *	(unmap or mprotect a whole registered VMA instead). mremap: growing
 *	(new_size > old_size, or old_size 0) fails with EFAULT, the kernel's
 *	errno for a VM_DONTEXPAND mapping, MREMAP_MAYMOVE or not; moving
 *	(MREMAP_FIXED, MREMAP_DONTUNMAP) or shrinking fails with EINVAL; the
 *	same size in place succeeds and changes nothing.
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
	__u32 trap_refill_ms;
	__u32 shadow_cap;
	__u64 reserved[3];
};

#define COWGUARD_REFILL_NEVER	0xffffffffU
#define COWGUARD_SHADOW_CAP_NONE	0xffffffffU

#define COWGUARD_REGISTER_SIZE_VER0	104

struct cowguard_unregister {
	__u32 size;
	__u32 flags;
	__u64 start;
	__u64 reserved[2];
};

#define COWGUARD_UNREGISTER_SIZE_VER0	32

/* Unregister and stats flags: none defined yet. */
#define COWGUARD_UNREGISTER_F_ALL	0U
#define COWGUARD_STATS_F_ALL		0U

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
	/* Reclaim (module parameter reclaim_interval_ms and the shrinker). */
	__u64 reclaimed;	/* its shadows given back for the golden page */
	__u64 reshadowed;	/* of those, pages copied again after reclaim */
	__u64 reg_reclaimed;	/* all processes of the registration */
	/* The shadow cap (struct cowguard_register.shadow_cap). */
	__u64 budget_shadow_pages;	/* its shadows the budget made, held now */
	__u64 capped;		/* writes emulated past the budget: cap reached */
	/* Of shadow_pages, those it copied itself and shares with no other
	 * process: its private memory here (the rest came from its parent at
	 * fork and stay shared until written).
	 */
	__u64 exclusive_shadow_pages;
	__u64 reserved[2];
};

#define COWGUARD_STATS_SIZE_VER0	264

/* COWGUARD_IOC_SITES. */
#define COWGUARD_PROOF_SITES		4096
#define COWGUARD_PROOF_MERGED		4096
#define COWGUARD_PROOF_MIN_WRITES	8
#define COWGUARD_SITE_F_PROVEN		1U
#define COWGUARD_SITES_F_ALL		0U

struct cowguard_site_proof {
	__u64 ip;		/* user instruction address */
	__u64 refcount_writes;	/* emulated, or shadowed by the budget */
	__u64 refused;		/* writes that were anything else, but: */
	__u32 flags;		/* COWGUARD_SITE_F_* */
	__u32 outside;		/* writes run as they are when patched */
};

struct cowguard_sites {
	__u32 size;
	__u32 flags;
	__u64 start;
	__u64 sites;		/* struct cowguard_site_proof __user * */
	__u32 nr;
	__u32 total;
	__u64 reserved[2];
};

#define COWGUARD_SITES_SIZE_VER0	48

#define COWGUARD_IOC_MAGIC	0xC6
#define COWGUARD_IOC_VERSION	_IO(COWGUARD_IOC_MAGIC, 0x00)
#define COWGUARD_IOC_REGISTER	_IOWR(COWGUARD_IOC_MAGIC, 0x01, struct cowguard_register)
#define COWGUARD_IOC_UNREGISTER	_IOW(COWGUARD_IOC_MAGIC, 0x02, struct cowguard_unregister)
#define COWGUARD_IOC_STATS	_IOWR(COWGUARD_IOC_MAGIC, 0x03, struct cowguard_stats)
#define COWGUARD_IOC_SITES	_IOWR(COWGUARD_IOC_MAGIC, 0x04, struct cowguard_sites)

/*
 * Generic netlink
 * ===============
 *
 * Family COWGUARD_GENL_NAME, version COWGUARD_GENL_VERSION, in the initial
 * network namespace only. Requests carry enum cowguard_attr attributes and
 * are validated strictly: an attribute a command does not take, an unknown
 * attribute type, a wrong length or a value out of range is refused with
 * EINVAL or ERANGE, and every error carries an extended-ack message
 * (NETLINK_EXT_ACK), naming the attribute where there is one. Each reply
 * uses its own attribute space, given below. u64 attributes are 8-byte
 * aligned with *_A_PAD. Counters only grow; page counts are in pages of
 * COWGUARD_MODULE_A_PAGE_SIZE bytes.
 *
 * COWGUARD_CMD_GET_MODULE (request, no attributes)
 *	One reply of module totals and tunables:
 *
 *	COWGUARD_MODULE_A_VERSION: NLA_NUL_STRING, module version
 *	COWGUARD_MODULE_A_ABI_VERSION: NLA_U32, COWGUARD_ABI_VERSION
 *	COWGUARD_MODULE_A_PAGE_SIZE: NLA_U32
 *	COWGUARD_MODULE_A_LIVE_PAGES: NLA_U64, golden and shadow pages held
 *	COWGUARD_MODULE_A_REGISTRATIONS: NLA_U64, live registrations
 *	COWGUARD_MODULE_A_VIEWS: NLA_U64, (process, registration) pairs
 *	COWGUARD_MODULE_A_GOLDEN_PAGES: NLA_U64, sum over registrations
 *	COWGUARD_MODULE_A_MAPPED_PAGES: NLA_U64, sum over views
 *	COWGUARD_MODULE_A_SHADOW_PAGES: NLA_U64, sum over views
 *	COWGUARD_MODULE_A_EMULATED: NLA_U64, sum over live views
 *	COWGUARD_MODULE_A_BUDGET_SHADOWS: NLA_U64, sum over live views
 *	COWGUARD_MODULE_A_RECLAIMED: NLA_U64, sum over live views
 *	COWGUARD_MODULE_A_RESHADOWED: NLA_U64, sum over live views
 *	COWGUARD_MODULE_A_REFUSED: NLA_NESTED, sum over live views
 *		reason + 1: NLA_U64, for each enum cowguard_refuse_reason
 *	COWGUARD_MODULE_A_TUNABLE: NLA_NESTED, once per tunable
 *		COWGUARD_TUNABLE_A_NAME: NLA_NUL_STRING (module parameter name)
 *		COWGUARD_TUNABLE_A_VALUE: NLA_U64
 *		COWGUARD_TUNABLE_A_MINIMUM: NLA_U64
 *		COWGUARD_TUNABLE_A_MAXIMUM: NLA_U64
 *
 * COWGUARD_CMD_SET_TUNABLE (request; needs CAP_SYS_ADMIN)
 *	COWGUARD_A_TUNABLE_NAME: NLA_NUL_STRING, maxlen
 *		COWGUARD_TUNABLE_NAME_MAX - 1, required
 *	COWGUARD_A_TUNABLE_VALUE: NLA_U64, required
 *
 *	Sets a module parameter, as writing /sys/module/cowguard/parameters
 *	does, with the same ranges (one table in the module); registrations
 *	made before keep the values they took. Errors, in the order checked:
 *	EINVAL (a malformed or unknown attribute, refused by the policy),
 *	EPERM (the sender or the socket's opener lacks CAP_SYS_ADMIN, which
 *	the root-only parameter files stand for), EINVAL (a missing
 *	attribute), ENOENT (no tunable of that name), ERANGE (a value outside
 *	[min, max] of the tunable, see COWGUARD_CMD_GET_MODULE; the parameter
 *	files refuse it with ERANGE too). Nothing changes on error.
 *
 * COWGUARD_CMD_GET_REGISTRATIONS (NLM_F_DUMP, no attributes)
 *	One message per registration the caller may see (*), in increasing
 *	id order:
 *
 *	COWGUARD_REG_A_ID: NLA_U64
 *	COWGUARD_REG_A_OWNER_PID: NLA_U32, the registering process (0 when
 *		it is not visible from the caller's pid namespace)
 *	COWGUARD_REG_A_START: NLA_U64, user address
 *	COWGUARD_REG_A_LENGTH: NLA_U64, bytes
 *	COWGUARD_REG_A_GOLDEN_PAGES: NLA_U64
 *	COWGUARD_REG_A_PROCESSES: NLA_U32, views of it
 *	COWGUARD_REG_A_SHADOW_PAGES: NLA_U64, held by all its processes
 *	COWGUARD_REG_A_EMULATED: NLA_U64, all its processes, ever
 *	COWGUARD_REG_A_BUDGET_SHADOWS: NLA_U64, all its processes, ever
 *	COWGUARD_REG_A_TRAP_BUDGET: NLA_U32
 *	COWGUARD_REG_A_SLOT_WIDTH: NLA_U32, 0 without a slot map
 *	COWGUARD_REG_A_RECLAIMED: NLA_U64, all its processes, ever
 *
 *	(*) Who sees what: the dumps list a view (and its sites) only to a
 *	caller who may read its process's /proc/PID/maps, as
 *	ptrace_may_access(PTRACE_MODE_READ_FSCREDS) decides it, without the
 *	LSM hook: the same fsuid and fsgid as all of the process's ids and
 *	the process dumpable, or CAP_SYS_PTRACE; both the process reading the
 *	dump and the socket's opener must pass. A registration is listed to
 *	whoever may read its registering process, or after that has exited,
 *	any process that maps it. COWGUARD_CMD_GET_MODULE's totals (every
 *	COWGUARD_MODULE_A_* figure, summed over all processes) and tunables
 *	are for every caller.
 *
 * COWGUARD_CMD_GET_VIEWS (NLM_F_DUMP)
 *	COWGUARD_A_PID: NLA_U32, optional: only this process (ESRCH when no
 *		process has that id)
 *
 *	One message per view (a process's mapping of one registration) the
 *	caller may see (*), in increasing (registration id, view id) order:
 *
 *	COWGUARD_VIEW_A_ID: NLA_U64, unique while the module is loaded
 *	COWGUARD_VIEW_A_PID: NLA_U32 (0 while exiting or not visible)
 *	COWGUARD_VIEW_A_REG_ID: NLA_U64
 *	COWGUARD_VIEW_A_MAPPED_PAGES: NLA_U64
 *	COWGUARD_VIEW_A_SHADOW_PAGES: NLA_U64
 *	COWGUARD_VIEW_A_READ_FAULTS: NLA_U64
 *	COWGUARD_VIEW_A_SHADOW_FAULTS: NLA_U64
 *	COWGUARD_VIEW_A_WRITE_FAULTS: NLA_U64
 *	COWGUARD_VIEW_A_EMULATED: NLA_U64
 *	COWGUARD_VIEW_A_BUDGET_SHADOWS: NLA_U64
 *	COWGUARD_VIEW_A_RECLAIMED: NLA_U64, shadows given back to golden
 *	COWGUARD_VIEW_A_RESHADOWED: NLA_U64, reclaimed pages copied again
 *	COWGUARD_VIEW_A_REFUSED: NLA_NESTED
 *		reason + 1: NLA_U64, for each enum cowguard_refuse_reason
 *	COWGUARD_VIEW_A_BUDGET_SHADOW_PAGES: NLA_U64, budget shadows held now
 *	COWGUARD_VIEW_A_CAPPED: NLA_U64, emulated past the budget (cap)
 *	COWGUARD_VIEW_A_EXCLUSIVE_SHADOW_PAGES: NLA_U64, shadows shared with no
 *		other process
 *
 *	The figures are those COWGUARD_IOC_STATS returns to the process.
 *
 * COWGUARD_CMD_GET_SITES (NLM_F_DUMP)
 *	COWGUARD_A_PID: NLA_U32, optional, as for COWGUARD_CMD_GET_VIEWS
 *
 *	One message per view, in the order of COWGUARD_CMD_GET_VIEWS, with
 *	the user instructions whose writes to golden pages the view saw most,
 *	at most COWGUARD_SITES_PER_KIND per kind. Every such write is counted
 *	(no sampling) in a table of that size per kind and view that keeps
 *	the most frequent addresses ("space-saving"): an address that takes
 *	over an evicted slot inherits its count as error, so count - error is
 *	a lower bound and count an upper bound on its writes.
 *
 *	COWGUARD_SITES_A_VIEW_ID: NLA_U64
 *	COWGUARD_SITES_A_PID: NLA_U32
 *	COWGUARD_SITES_A_REG_ID: NLA_U64
 *	COWGUARD_SITES_A_SITE: NLA_NESTED, once per site, in no order
 *		COWGUARD_SITE_A_KIND: NLA_U32, enum cowguard_site_kind
 *		COWGUARD_SITE_A_IP: NLA_U64, user instruction address
 *		COWGUARD_SITE_A_COUNT: NLA_U64
 *		COWGUARD_SITE_A_ERROR: NLA_U64
 *		COWGUARD_SITE_A_PROOF_WRITES: NLA_U64, the site's
 *			refcount-only writes in the registration's proof
 *			table (COWGUARD_IOC_SITES), when it is there
 *		COWGUARD_SITE_A_PROOF_REFUSED: NLA_U64, its other writes
 *
 * Dumps resume by id, so a dump split across many messages lists every
 * registration or view that exists from its start to its end exactly once;
 * those created or freed meanwhile may or may not appear.
 */
#define COWGUARD_GENL_NAME	"cowguard"
#define COWGUARD_GENL_VERSION	1

#define COWGUARD_TUNABLE_NAME_MAX	32
#define COWGUARD_SITES_PER_KIND	8

enum cowguard_cmd {
	COWGUARD_CMD_UNSPEC,
	COWGUARD_CMD_GET_MODULE,
	COWGUARD_CMD_SET_TUNABLE,
	COWGUARD_CMD_GET_REGISTRATIONS,
	COWGUARD_CMD_GET_VIEWS,
	COWGUARD_CMD_GET_SITES,
	__COWGUARD_CMD_MAX
};

#define COWGUARD_CMD_MAX (__COWGUARD_CMD_MAX - 1)

/* Request attributes. */
enum cowguard_attr {
	COWGUARD_A_UNSPEC,
	COWGUARD_A_PID,
	COWGUARD_A_TUNABLE_NAME,
	COWGUARD_A_TUNABLE_VALUE,
	__COWGUARD_A_MAX
};

#define COWGUARD_A_MAX (__COWGUARD_A_MAX - 1)

enum cowguard_module_attr {
	COWGUARD_MODULE_A_UNSPEC,
	COWGUARD_MODULE_A_PAD,
	COWGUARD_MODULE_A_VERSION,
	COWGUARD_MODULE_A_ABI_VERSION,
	COWGUARD_MODULE_A_PAGE_SIZE,
	COWGUARD_MODULE_A_LIVE_PAGES,
	COWGUARD_MODULE_A_REGISTRATIONS,
	COWGUARD_MODULE_A_VIEWS,
	COWGUARD_MODULE_A_GOLDEN_PAGES,
	COWGUARD_MODULE_A_MAPPED_PAGES,
	COWGUARD_MODULE_A_SHADOW_PAGES,
	COWGUARD_MODULE_A_EMULATED,
	COWGUARD_MODULE_A_BUDGET_SHADOWS,
	COWGUARD_MODULE_A_RECLAIMED,
	COWGUARD_MODULE_A_REFUSED,
	COWGUARD_MODULE_A_TUNABLE,
	COWGUARD_MODULE_A_RESHADOWED,
	__COWGUARD_MODULE_A_MAX
};

#define COWGUARD_MODULE_A_MAX (__COWGUARD_MODULE_A_MAX - 1)

enum cowguard_tunable_attr {
	COWGUARD_TUNABLE_A_UNSPEC,
	COWGUARD_TUNABLE_A_PAD,
	COWGUARD_TUNABLE_A_NAME,
	COWGUARD_TUNABLE_A_VALUE,
	COWGUARD_TUNABLE_A_MINIMUM,
	COWGUARD_TUNABLE_A_MAXIMUM,
	__COWGUARD_TUNABLE_A_MAX
};

#define COWGUARD_TUNABLE_A_MAX (__COWGUARD_TUNABLE_A_MAX - 1)

enum cowguard_reg_attr {
	COWGUARD_REG_A_UNSPEC,
	COWGUARD_REG_A_PAD,
	COWGUARD_REG_A_ID,
	COWGUARD_REG_A_OWNER_PID,
	COWGUARD_REG_A_START,
	COWGUARD_REG_A_LENGTH,
	COWGUARD_REG_A_GOLDEN_PAGES,
	COWGUARD_REG_A_PROCESSES,
	COWGUARD_REG_A_SHADOW_PAGES,
	COWGUARD_REG_A_EMULATED,
	COWGUARD_REG_A_BUDGET_SHADOWS,
	COWGUARD_REG_A_TRAP_BUDGET,
	COWGUARD_REG_A_SLOT_WIDTH,
	COWGUARD_REG_A_RECLAIMED,
	__COWGUARD_REG_A_MAX
};

#define COWGUARD_REG_A_MAX (__COWGUARD_REG_A_MAX - 1)

enum cowguard_view_attr {
	COWGUARD_VIEW_A_UNSPEC,
	COWGUARD_VIEW_A_PAD,
	COWGUARD_VIEW_A_ID,
	COWGUARD_VIEW_A_PID,
	COWGUARD_VIEW_A_REG_ID,
	COWGUARD_VIEW_A_MAPPED_PAGES,
	COWGUARD_VIEW_A_SHADOW_PAGES,
	COWGUARD_VIEW_A_READ_FAULTS,
	COWGUARD_VIEW_A_SHADOW_FAULTS,
	COWGUARD_VIEW_A_WRITE_FAULTS,
	COWGUARD_VIEW_A_EMULATED,
	COWGUARD_VIEW_A_BUDGET_SHADOWS,
	COWGUARD_VIEW_A_RECLAIMED,
	COWGUARD_VIEW_A_RESHADOWED,
	COWGUARD_VIEW_A_REFUSED,
	COWGUARD_VIEW_A_BUDGET_SHADOW_PAGES,
	COWGUARD_VIEW_A_CAPPED,
	COWGUARD_VIEW_A_EXCLUSIVE_SHADOW_PAGES,
	__COWGUARD_VIEW_A_MAX
};

#define COWGUARD_VIEW_A_MAX (__COWGUARD_VIEW_A_MAX - 1)

/* Which decision a write to a golden page met (COWGUARD_SITE_A_KIND). */
enum cowguard_site_kind {
	COWGUARD_SITE_EMULATED,	/* refcount-only write, emulated */
	COWGUARD_SITE_BUDGET,	/* emulable, but shadowed: budget ran out */
	COWGUARD_SITE_WRITE,	/* any other write, shadowed */
	__COWGUARD_SITE_MAX
};

enum cowguard_sites_attr {
	COWGUARD_SITES_A_UNSPEC,
	COWGUARD_SITES_A_PAD,
	COWGUARD_SITES_A_VIEW_ID,
	COWGUARD_SITES_A_PID,
	COWGUARD_SITES_A_REG_ID,
	COWGUARD_SITES_A_SITE,
	__COWGUARD_SITES_A_MAX
};

#define COWGUARD_SITES_A_MAX (__COWGUARD_SITES_A_MAX - 1)

enum cowguard_site_attr {
	COWGUARD_SITE_A_UNSPEC,
	COWGUARD_SITE_A_PAD,
	COWGUARD_SITE_A_KIND,
	COWGUARD_SITE_A_IP,
	COWGUARD_SITE_A_COUNT,
	COWGUARD_SITE_A_ERROR,
	COWGUARD_SITE_A_PROOF_WRITES,
	COWGUARD_SITE_A_PROOF_REFUSED,
	__COWGUARD_SITE_A_MAX
};

#define COWGUARD_SITE_A_MAX (__COWGUARD_SITE_A_MAX - 1)

#endif /* _UAPI_LINUX_COWGUARD_H */
