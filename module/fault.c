// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * The registered range is a MAP_SHARED mapping of a cowguard file whose
 * pages come from ->fault as ordinary pages (no VM_PFNMAP/VM_MIXEDMAP), so
 * GUP, smaps Rss/Pss and core dumps see them as usual. Write-notify keeps
 * every PTE read-only until ->page_mkwrite agrees to a write:
 *
 * - an exclusive shadow of this process: lock the page and let the core
 *   make the PTE writable;
 * - a golden page or a shadow shared with another process: copy it into a
 *   new exclusive shadow, zap this PTE and return VM_FAULT_NOPAGE, so the
 *   retried access maps the shadow (two faults per copy, but no PTE is ever
 *   rewritten in place, which a module cannot do with a correct TLB flush);
 * - a PTE whose page is no longer this view's (a racing copy in another
 *   thread): zap it and retry.
 *
 * Every path makes progress, which kernel-mode and GUP writes rely on: they
 * retry on VM_FAULT_NOPAGE until the write can land.
 *
 * A shadow leaves a view (a copy replaces it, or reclaim gives it back)
 * only under its page lock, and ->fault hands out a shadow locked and
 * still the view's, so no PTE ever maps a shadow its view let go: such a
 * PTE would hold the page's last reference while the core holds its lock.
 */
#include <linux/bitfield.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "cowguard.h"

static struct cg_view *cg_vma_view(struct vm_fault *vmf)
{
	struct cg_view *view = vmf->vma->vm_private_data;

	if (!view || vmf->pgoff >= view->region->npages)
		return NULL;
	return view;
}

/*
 * A shadow is returned locked, and only while it is still the view's: the
 * core installs the PTE after ->fault with no lock of ours, so a shadow
 * swapped out of the view meanwhile (a copy, or reclaim) would otherwise
 * be mapped stale, its only reference the PTE's, and freed by the next
 * zap while the core still holds it locked. Whoever takes a shadow out of
 * a view holds its lock to do so (fault.c, reclaim.c). Golden pages live
 * as long as the region and need none of this.
 */
static vm_fault_t cg_fault(struct vm_fault *vmf)
{
	struct cg_view *view = cg_vma_view(vmf);
	unsigned long entry;
	struct page *page;

	if (!view)
		return VM_FAULT_SIGBUS;
	spin_lock(&view->lock);
	entry = view->pages[vmf->pgoff];
	page = cg_view_page(view, entry, vmf->pgoff);
	get_page(page);
	spin_unlock(&view->lock);
	if (!(vmf->flags & FAULT_FLAG_WRITE))
		atomic64_inc(&view->read_faults);
	vmf->page = page;
	if (!entry)
		return 0;
	lock_page(page);
	if (READ_ONCE(view->pages[vmf->pgoff]) != entry) {
		unlock_page(page);
		put_page(page);
		return VM_FAULT_NOPAGE;	/* the access retries */
	}
	return VM_FAULT_LOCKED;
}

static void cg_zap_one(struct vm_fault *vmf)
{
	zap_page_range_single(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE,
			      NULL);
}

/*
 * Give this process its own copy of the page at vmf->pgoff, which it maps
 * (read-only) as @old; @budget when the trap budget asked for it. Called
 * with mmap_lock held for read.
 */
static vm_fault_t cg_make_shadow(struct cg_view *view, struct vm_fault *vmf,
				 unsigned long entry, bool budget)
{
	struct page *copy;
	bool installed = false, reshadowed = false;

	copy = cg_page_alloc(view->mm, 0);
	if (!copy)
		return VM_FAULT_OOM;
	/* @old is mapped read-only everywhere: it cannot change under us. */
	copy_highpage(copy, vmf->page);
	/* Taking a shadow out of the view: see cg_fault(). */
	if (entry)
		lock_page(vmf->page);

	spin_lock(&view->lock);
	if (view->pages[vmf->pgoff] == entry) {
		struct cg_page_state *ps = &view->state[vmf->pgoff];

		view->pages[vmf->pgoff] = (unsigned long)copy | CG_EXCLUSIVE;
		view->nr_exclusive++;	/* @entry was golden or shared */
		if (!entry) {
			view->nr_shadows++;
			atomic64_inc(&cg_shadow_pages);
		}
		reshadowed = !entry && (ps->flags & CG_PAGE_RECLAIMED);
		/* A copy of a shared shadow still counts where it did. */
		ps->flags &= CG_PAGE_LEVEL | CG_PAGE_BUDGET;
		if (!entry && budget) {
			ps->flags |= CG_PAGE_BUDGET;
			view->nr_budget_shadows++;
			cg_cap_charge(view, 1);
		}
		if (reshadowed && FIELD_GET(CG_PAGE_LEVEL, ps->flags) < CG_BACKOFF_MAX)
			ps->flags += FIELD_PREP(CG_PAGE_LEVEL, 1);
		installed = true;
	}
	spin_unlock(&view->lock);

	cg_zap_one(vmf);
	if (installed) {
		/* The core holds vmf->page: the lock outlives the put. */
		if (entry)
			cg_page_put(cg_entry_page(entry));
		atomic64_inc(&view->shadow_faults);
		if (reshadowed)
			atomic64_inc(&view->reshadowed);
	} else {
		cg_page_put(copy);
	}
	if (entry)
		unlock_page(vmf->page);
	return VM_FAULT_NOPAGE;
}

static vm_fault_t cg_page_mkwrite(struct vm_fault *vmf)
{
	struct cg_view *view = cg_vma_view(vmf);
	unsigned long entry;
	struct page *cur;

	if (!view)
		return VM_FAULT_SIGBUS;
	spin_lock(&view->lock);
	entry = view->pages[vmf->pgoff];
	cur = cg_view_page(view, entry, vmf->pgoff);
	/* This write is what the reclaim scanner's probe waits for. */
	if (cur == vmf->page && (entry & CG_EXCLUSIVE))
		view->state[vmf->pgoff].flags &= ~(CG_PAGE_PROBED | CG_PAGE_QUIET);
	spin_unlock(&view->lock);

	if (cur != vmf->page) {
		cg_zap_one(vmf);
		return VM_FAULT_NOPAGE;
	}
	if (entry & CG_EXCLUSIVE) {
		/* Module pages have no ->mapping: the core would retry forever
		 * if we returned 0 and let it lock the page itself.
		 */
		lock_page(vmf->page);
		atomic64_inc(&view->write_faults);
		return VM_FAULT_LOCKED;
	}
	/* Only golden pages hold the band values the slot map describes. */
	if (entry)
		return cg_make_shadow(view, vmf, entry, false);
	switch (cg_try_emulate(view, vmf)) {
	case CG_EMULATED:
		return VM_FAULT_NOPAGE;
	case CG_BUDGET_SPENT:
		return cg_make_shadow(view, vmf, entry, true);
	default:
		return cg_make_shadow(view, vmf, entry, false);
	}
}

static void cg_vma_open(struct vm_area_struct *vma)
{
	struct cg_view *view = vma->vm_private_data, *child = NULL;
	struct cg_view *pos;

	if (!view)
		return;
	if (view->mm == vma->vm_mm) {
		/* A copy in the same mm (mremap, about to be undone). */
		kref_get(&view->kref);
		view->mapped_pages += vma_pages(vma);
		return;
	}
	/* Fork: another VMA of this region may already have made the child's
	 * view.
	 */
	mutex_lock(&view->region->lock);
	list_for_each_entry(pos, &view->region->views, node) {
		if (pos->mm == vma->vm_mm && kref_get_unless_zero(&pos->kref)) {
			child = pos;
			break;
		}
	}
	mutex_unlock(&view->region->lock);
	if (!child)
		child = cg_view_fork(view, vma->vm_mm);	/* cannot fail */
	child->mapped_pages += vma_pages(vma);
	vma->vm_private_data = child;
}

static void cg_vma_close(struct vm_area_struct *vma)
{
	struct cg_view *view = vma->vm_private_data;

	if (!view)
		return;
	view->mapped_pages -= vma_pages(vma);
	cg_view_put(view);
}

static int cg_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	/* A view is per VMA range; unmap or mprotect a whole VMA instead. */
	return -EINVAL;
}

static int cg_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const char *cg_vma_name(struct vm_area_struct *vma)
{
	/* A name makes the VMA always dumped in core files (a shared file
	 * mapping is not, by default), but MADV_DONTDUMP must still win.
	 */
	return vma->vm_flags & VM_DONTDUMP ? NULL : "[cowguard]";
}

const struct vm_operations_struct cg_vm_ops = {
	.open = cg_vma_open,
	.close = cg_vma_close,
	.may_split = cg_may_split,
	.mremap = cg_mremap,
	.fault = cg_fault,
	.page_mkwrite = cg_page_mkwrite,
	.name = cg_vma_name,
};
