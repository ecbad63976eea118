// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: The shadow cap
 *
 * The trap budget copies a page once it is written too often, so a process
 * whose runtime keeps hot and cold objects on the same pages (CPython
 * before 3.12 mixes them on every pymalloc page) sooner or later overdraws
 * most pages' buckets and copies back most of its heap. The cap bounds the
 * shadows the budget may make per process; past it refcount-only writes
 * are emulated whatever the budget, which costs traps, not memory.
 *
 * The cap is per process, over all of its registrations together: a
 * runtime registers its heap as many ranges (CPython: one per run of
 * arenas), and hot pages are not spread evenly over them. A process's
 * views share one struct cg_cap, found by the mm's address; every view
 * holds its mm (mmgrab), so that address is not reused while the entry
 * lives. A registration made with COWGUARD_SHADOW_CAP_NONE stays out.
 */
#include <linux/hashtable.h>
#include <linux/slab.h>

#include "cowguard.h"

/* Pages (1 MiB): a small heap's hot pages are worth their few copies. */
#define CG_SHADOW_CAP_MIN	256UL

/**
 * struct cg_cap - the shadow cap of one process
 * @node: entry in cg_caps, by @mm.
 * @mm: the process; a key only.
 * @users: views sharing this; under cg_caps_lock.
 * @pct_pages: pages of its registrations capped by shadow_cap_pct.
 * @own_cap: the sum of the caps its other registrations set themselves.
 * @budget_shadows: budget shadows its views hold now.
 */
struct cg_cap {
	struct hlist_node node;
	const struct mm_struct *mm;
	unsigned int users;
	unsigned long pct_pages;
	unsigned long own_cap;
	atomic_long_t budget_shadows;
};

static DEFINE_HASHTABLE(cg_caps, 6);
static DEFINE_SPINLOCK(cg_caps_lock);

static struct cg_cap *cg_cap_find(const struct mm_struct *mm)
{
	struct cg_cap *cap;

	hash_for_each_possible(cg_caps, cap, node, (unsigned long)mm)
		if (cap->mm == mm)
			return cap;
	return NULL;
}

/**
 * cg_cap_attach() - make a new view count under its process's cap
 * @view: the view, not yet visible to faults
 * @gfp: flags for the allocation
 *
 * Return: 0, or -ENOMEM.
 */
int cg_cap_attach(struct cg_view *view, gfp_t gfp)
{
	const struct cg_region *region = view->region;
	struct cg_cap *cap, *fresh;

	if (region->shadow_cap == COWGUARD_SHADOW_CAP_NONE)
		return 0;
	fresh = kzalloc(sizeof(*fresh), gfp);
	if (!fresh)
		return -ENOMEM;
	spin_lock(&cg_caps_lock);
	cap = cg_cap_find(view->mm);
	if (!cap) {
		cap = fresh;
		fresh = NULL;
		cap->mm = view->mm;
		hash_add(cg_caps, &cap->node, (unsigned long)view->mm);
	}
	cap->users++;
	if (region->shadow_cap)
		WRITE_ONCE(cap->own_cap, cap->own_cap + region->shadow_cap);
	else
		WRITE_ONCE(cap->pct_pages, cap->pct_pages + region->npages);
	view->cap = cap;
	spin_unlock(&cg_caps_lock);
	kfree(fresh);
	return 0;
}

/* The view is going away: its pages and budget shadows leave the cap. */
void cg_cap_detach(struct cg_view *view)
{
	const struct cg_region *region = view->region;
	struct cg_cap *cap = view->cap;

	if (!cap)
		return;
	spin_lock(&cg_caps_lock);
	atomic_long_sub(view->nr_budget_shadows, &cap->budget_shadows);
	if (region->shadow_cap)
		WRITE_ONCE(cap->own_cap, cap->own_cap - region->shadow_cap);
	else
		WRITE_ONCE(cap->pct_pages, cap->pct_pages - region->npages);
	if (--cap->users) {
		cap = NULL;
	} else {
		WARN_ON_ONCE(atomic_long_read(&cap->budget_shadows));
		hash_del(&cap->node);
	}
	spin_unlock(&cg_caps_lock);
	view->cap = NULL;
	kfree(cap);
}

/* A budget shadow of @view was made (@delta 1) or given back (-1). */
void cg_cap_charge(struct cg_view *view, long delta)
{
	if (view->cap)
		atomic_long_add(delta, &view->cap->budget_shadows);
}

/*
 * May the trap budget copy one more page of @view? The process's cap is the
 * registrations' own caps plus shadow_cap_pct of its other registered
 * pages, at least CG_SHADOW_CAP_MIN; shadow_cap_pct 0 lifts it from
 * registrations without their own. Threads faulting at once may each pass
 * it by one.
 */
bool cg_cap_allows_copy(const struct cg_view *view)
{
	unsigned int pct = READ_ONCE(cg_shadow_cap_pct);
	const struct cg_cap *cap = view->cap;
	unsigned long limit, pct_pages;

	if (!cap || (!view->region->shadow_cap && !pct))
		return true;
	limit = READ_ONCE(cap->own_cap);
	pct_pages = READ_ONCE(cap->pct_pages);
	if (pct && pct_pages)
		limit += max(pct_pages * pct / 100, CG_SHADOW_CAP_MIN);
	return atomic_long_read(&cap->budget_shadows) < limit;
}
