/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _COWGUARD_H
#define _COWGUARD_H

#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/cowguard.h>

/**
 * struct cg_region - one registration: the golden pages of a range.
 * @kref: one reference per view, plus transient ones.
 * @id: stable id reported to userspace.
 * @start: user address the range was registered at.
 * @npages: pages in the range.
 * @golden: the golden pages, never written after registration.
 * @slot_map: one bit per slot_width-byte word; NULL without a map.
 * @slot_width: 4 or 8; 0 without a map.
 * @band_low: lowest refcount value a dropped write may leave.
 * @band_high: highest such value.
 * @trap_budget: emulated writes per page and process before shadowing.
 * @registrar: the task allowed to mmap the region's file (registration).
 * @lock: protects @views.
 * @views: the per-process views (struct cg_view.node).
 * @node: entry in the module's list of regions.
 * @emulated: emulated writes, all processes.
 * @budget_shadows: shadows made because a budget ran out, all processes.
 */
struct cg_region {
	struct kref kref;
	u64 id;
	unsigned long start;
	unsigned long npages;
	struct page **golden;
	unsigned long *slot_map;
	unsigned int slot_width;
	u64 band_low;
	u64 band_high;
	unsigned int trap_budget;
	struct task_struct *registrar;
	struct mutex lock;	/* protects views; nests in cg_regions_lock */
	struct list_head views;
	struct list_head node;
	atomic64_t emulated;
	atomic64_t budget_shadows;
};

/* A view's page entry: 0 means "the golden page"; otherwise a shadow page
 * pointer with CG_EXCLUSIVE set when no other view shares that shadow, so it
 * may be mapped writable.
 */
#define CG_EXCLUSIVE	1UL

/**
 * struct cg_view - what one process (mm) sees of a region.
 * @kref: one reference per VMA of the mm mapping the region.
 * @region: the region (referenced).
 * @mm: the process's mm (grabbed).
 * @lock: protects @pages and @nr_shadows; taken in the fault path.
 * @pages: per page 0 (golden) or a shadow entry, see CG_EXCLUSIVE.
 * @traps: per page, writes emulated so far (against the trap budget).
 * @nr_shadows: shadow entries in @pages.
 * @mapped_pages: pages of the region this mm maps (changed under mmap_lock).
 * @node: entry in the region's list of views.
 * @read_faults: faults that mapped a page read-only.
 * @shadow_faults: writes that made a shadow.
 * @write_faults: writes to an exclusive shadow.
 * @emulated: refcount-only writes emulated.
 * @budget_shadows: shadows made because the trap budget ran out.
 * @refused: writes not emulated, by enum cowguard_refuse_reason.
 */
struct cg_view {
	struct kref kref;
	struct cg_region *region;
	struct mm_struct *mm;
	spinlock_t lock;	/* protects pages, nr_shadows */
	unsigned long *pages;
	u16 *traps;
	unsigned long nr_shadows;
	unsigned long mapped_pages;
	struct list_head node;
	atomic64_t read_faults;
	atomic64_t shadow_faults;
	atomic64_t write_faults;
	atomic64_t emulated;
	atomic64_t budget_shadows;
	atomic64_t refused[COWGUARD_REFUSE_SLOTS];
};

extern const struct file_operations cowguard_dev_fops;
extern const struct file_operations cg_region_fops;
extern const struct vm_operations_struct cg_vm_ops;
extern const struct attribute_group *cg_dev_groups[];

/* Module-wide figures and tunables (main.c). */
extern atomic64_t cg_live_pages;
extern atomic64_t cg_nr_regions;
extern unsigned int cg_max_register_mb;
extern unsigned int cg_trap_budget;
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
struct cg_view *cg_view_create(struct cg_region *region, struct mm_struct *mm);
struct cg_view *cg_view_fork(struct cg_view *parent, struct mm_struct *mm);
void cg_view_put(struct cg_view *view);
struct page *cg_page_alloc(void);
void cg_page_put(struct page *page);

/* emulate.c */
bool cg_try_emulate(struct cg_view *view, struct vm_fault *vmf);

/* stats.c */
long cg_ioctl_stats(void __user *arg);

static inline struct page *cg_entry_page(unsigned long entry)
{
	return (struct page *)(entry & ~CG_EXCLUSIVE);
}

/* The page a view maps at @idx, given its entry there. */
static inline struct page *cg_view_page(struct cg_view *view,
					unsigned long entry, unsigned long idx)
{
	return entry ? cg_entry_page(entry) : view->region->golden[idx];
}

#endif /* _COWGUARD_H */
