/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _COWGUARD_H
#define _COWGUARD_H

#include <linux/atomic.h>
#include <linux/bitfield.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/cowguard.h>

#include "compat.h"
#include "proof.h"
#include "sites.h"

/**
 * struct cg_region - one registration: the golden pages of a range.
 * @kref: one reference per view, plus transient ones.
 * @id: stable id reported to userspace.
 * @start: user address the range was registered at.
 * @npages: pages in the range.
 * @golden: the golden pages, never written after registration; NULL for a
 *	page that read as zeros, which @zero_page stands in for.
 * @zero_page: the one zeroed page all of the region's zero pages map, so
 *	registering untouched memory materialises nothing; NULL without one.
 * @locked_pages: golden pages charged to @user and to @mm's pinned_vm.
 * @user: the registering user, charged for @locked_pages (RLIMIT_MEMLOCK).
 * @mm: the registering process's mm (grabbed), for its pinned_vm.
 * @slot_map: one bit per slot_width-byte word; NULL without a map.
 * @slot_width: 4 or 8; 0 without a map.
 * @band_low: lowest refcount value a dropped write may leave.
 * @band_high: highest such value.
 * @trap_budget: emulated writes per page and process in a burst.
 * @trap_refill_ms: ms per emulated write given back; 0 for the module's.
 * @shadow_cap: most budget shadows per process; 0 for the module's.
 * @registrar: the task allowed to mmap the region's file (registration).
 * @map_flags: VMA flags the segment being mapped by @registrar carries over.
 * @owner: the registering process (thread group), for reporting.
 * @lock: protects @views.
 * @views: the per-process views (struct cg_view.node).
 * @node: entry in the module's list of regions.
 * @emulated: emulated writes, all processes.
 * @budget_shadows: shadows made because a budget ran out, all processes.
 * @reclaimed: shadows given back for the golden page, all processes.
 * @proof: what its instruction sites wrote, all processes (proof.c).
 */
struct cg_region {
	struct kref kref;
	u64 id;
	unsigned long start;
	unsigned long npages;
	struct page **golden;
	struct page *zero_page;
	unsigned long locked_pages;
	struct user_struct *user;
	struct mm_struct *mm;
	unsigned long *slot_map;
	unsigned int slot_width;
	u64 band_low;
	u64 band_high;
	unsigned int trap_budget;
	u32 trap_refill_ms;
	u32 shadow_cap;
	struct task_struct *registrar;
	unsigned long map_flags;
	struct pid *owner;
	struct mutex lock;	/* protects views; nests in cg_regions_lock */
	struct list_head views;
	struct list_head node;
	atomic64_t emulated;
	atomic64_t budget_shadows;
	atomic64_t reclaimed;
	struct cg_proof *proof;
};

/* A view's page entry: 0 means "the golden page"; otherwise a shadow page
 * pointer with CG_EXCLUSIVE set when no other view shares that shadow, so it
 * may be mapped writable.
 */
#define CG_EXCLUSIVE	1UL

/**
 * struct cg_page_state - one process's state for one page of a region.
 * @spent: emulated writes taken from the trap budget and not yet refilled.
 * @flags: CG_PAGE_* below.
 * @stamp: jiffies when the budget's refill clock last advanced.
 *
 * Zeroed memory is a page with a full budget and nothing pending.
 */
struct cg_page_state {
	u16 spent;
	u16 flags;
	u32 stamp;
};

/* The reclaim scanner revoked the page's mappings and no write fault has
 * happened since: an exclusive shadow with this flag is not mapped writable.
 */
#define CG_PAGE_PROBED		BIT(0)
/* The page's shadow was reclaimed: a new shadow counts as churn. */
#define CG_PAGE_RECLAIMED	BIT(1)
/* The shadow was made because the trap budget ran out: it counts in the
 * view's nr_budget_shadows until it is reclaimed.
 */
#define CG_PAGE_BUDGET		BIT(2)
/* ->page_mkwrite could not tell who wrote the golden page and sent the
 * access back through ->fault: the next user fault on it decides (fault.c).
 */
#define CG_PAGE_REFAULT		BIT(3)
/* Churn back-off: a page copied again after reclaim must stay quiet for
 * 2^level scanner passes before the next reclaim (level kept across
 * shadows of the page, up to CG_BACKOFF_MAX).
 */
#define CG_PAGE_LEVEL		GENMASK(7, 4)
#define CG_PAGE_QUIET		GENMASK(15, 8)	/* passes since the probe */
#define CG_BACKOFF_MAX		6

/**
 * struct cg_view - what one process (mm) sees of a region.
 * @kref: one reference per VMA of the mm mapping the region.
 * @region: the region (referenced).
 * @mm: the process's mm (grabbed).
 * @lock: protects @pages and @nr_shadows; taken in the fault path.
 * @pages: per page 0 (golden) or a shadow entry, see CG_EXCLUSIVE.
 * @state: per page, the trap budget and reclaim state.
 * @nr_shadows: shadow entries in @pages.
 * @nr_budget_shadows: of those, the ones with CG_PAGE_BUDGET.
 * @nr_exclusive: of those, the ones with CG_EXCLUSIVE.
 * @cap: its process's shadow cap (cap.c); NULL when it has none.
 * @reclaim_cursor: the page the reclaim scanner looks at next.
 * @mapped_pages: pages of the region this mm maps (changed under mmap_lock).
 * @node: entry in the region's list of views.
 * @read_faults: faults that mapped a page read-only.
 * @shadow_faults: writes that made a shadow.
 * @write_faults: writes to an exclusive shadow.
 * @emulated: refcount-only writes emulated.
 * @budget_shadows: shadows made because the trap budget ran out.
 * @refused: writes not emulated, by enum cowguard_refuse_reason.
 * @reclaimed: shadows given back for the golden page by reclaim.
 * @reshadowed: pages copied again after their shadow was reclaimed.
 * @capped: writes emulated past an empty budget because of the shadow cap.
 * @id: unique id; a region's views are listed in increasing id order.
 * @sites: the instructions that wrote its golden pages most (sites.c).
 */
struct cg_view {
	struct kref kref;
	struct cg_region *region;
	struct mm_struct *mm;
	spinlock_t lock;	/* protects pages, state, nr_*shadows */
	unsigned long *pages;
	struct cg_page_state *state;
	unsigned long nr_shadows;
	unsigned long nr_budget_shadows;
	unsigned long nr_exclusive;
	struct cg_cap *cap;
	unsigned long reclaim_cursor;
	unsigned long mapped_pages;
	struct list_head node;
	atomic64_t read_faults;
	atomic64_t shadow_faults;
	atomic64_t write_faults;
	atomic64_t emulated;
	atomic64_t budget_shadows;
	atomic64_t refused[COWGUARD_REFUSE_SLOTS];
	atomic64_t reclaimed;
	atomic64_t reshadowed;
	atomic64_t capped;
	u64 id;
	struct cg_sites sites;
};

extern const struct file_operations cowguard_dev_fops;
extern const struct file_operations cg_region_fops;
extern const struct vm_operations_struct cg_vm_ops;
extern const struct attribute_group *cg_dev_groups[];

/* Module-wide figures and tunables (main.c). */
extern atomic64_t cg_live_pages;
extern atomic64_t cg_nr_regions;
extern atomic64_t cg_shadow_pages;
extern unsigned int cg_max_register_mb;
extern unsigned int cg_trap_budget;
extern unsigned int cg_trap_refill_ms;
extern unsigned int cg_shadow_cap_pct;
extern unsigned int cg_reclaim_interval_ms;
extern unsigned int cg_reclaim_batch;
extern unsigned int cg_site_patching;
extern struct mutex cg_regions_lock;
extern struct list_head cg_regions;

/* device.c */
int cg_copy_struct_in(void *dst, size_t ksize, void __user *arg,
		      u32 min_size, u32 *usize);

/* region.c */
long cg_ioctl_register(struct file *file, void __user *arg);
long cg_ioctl_unregister(void __user *arg);
void cg_region_put(struct cg_region *region);

/* view.c */
struct cg_view *cg_view_create(struct cg_region *region, struct mm_struct *mm,
			       gfp_t gfp);
struct cg_view *cg_view_fork(struct cg_view *parent, struct mm_struct *mm);
void cg_view_put(struct cg_view *view);
struct page *cg_view_get_page(struct cg_view *view, unsigned long idx);
struct page *cg_page_alloc(struct mm_struct *mm, gfp_t gfp);
void cg_page_put(struct page *page);

/* cap.c */
int cg_cap_attach(struct cg_view *view, gfp_t gfp);
void cg_cap_detach(struct cg_view *view);
void cg_cap_charge(struct cg_view *view, long delta);
bool cg_cap_allows_copy(const struct cg_view *view);

/* emulate.c */
enum cg_emulate_result {
	CG_EMULATED,		/* dropped; the caller returns VM_FAULT_NOPAGE */
	CG_REFUSED,		/* not a refcount-only write: make a shadow */
	CG_BUDGET_SPENT,	/* refcount-only, but the budget says copy */
};

enum cg_emulate_result cg_try_emulate(struct cg_view *view,
				      struct vm_fault *vmf, bool user);

/* reclaim.c */
int cg_reclaim_init(void);
void cg_reclaim_exit(void);
void cg_reclaim_kick(void);

/* stats.c */
long cg_ioctl_stats(void __user *arg);
void cg_stats_add_view(struct cowguard_stats *st, struct cg_view *view);

/* netlink.c */
int cg_netlink_init(void);
void cg_netlink_exit(void);

/* Is @v a value a marked slot of @region may hold and a write may leave? */
static inline bool cg_in_band(const struct cg_region *region, u64 v)
{
	return v >= region->band_low && v <= region->band_high;
}

/* The value of the slot of @region at @p (mapped kernel memory). */
static inline u64 cg_slot_value(const struct cg_region *region, const void *p)
{
	return region->slot_width == 4 ? *(const u32 *)p : *(const u64 *)p;
}

static inline struct page *cg_entry_page(unsigned long entry)
{
	return (struct page *)(entry & ~CG_EXCLUSIVE);
}

/* The golden page at @idx of @region. */
static inline struct page *cg_golden_page(const struct cg_region *region,
					  unsigned long idx)
{
	return region->golden[idx] ?: region->zero_page;
}

/* The page a view maps at @idx, given its entry there. */
static inline struct page *cg_view_page(struct cg_view *view,
					unsigned long entry, unsigned long idx)
{
	return entry ? cg_entry_page(entry) : cg_golden_page(view->region, idx);
}

#endif /* _COWGUARD_H */
