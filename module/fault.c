// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * The registered range is a MAP_SHARED mapping of a cowguard file whose
 * pages are ordinary pages, from ->fault or mapped at registration
 * (region.c). The VMA is VM_MIXEDMAP only so that fork copies its PTEs
 * (view.c); every PTE maps a struct page, which vm_normal_page() returns,
 * so GUP, smaps Rss/Pss and core dumps see them as usual. Write-notify
 * keeps every PTE read-only until ->page_mkwrite agrees to a write:
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
 * A write to a golden page is emulated only for a user-mode instruction of
 * this mm (emulate.c). ->fault sees the fault's own flags; ->page_mkwrite
 * sees them clobbered (do_page_mkwrite()) and asks compat.h, and where the
 * kernel keeps no other trace of a user fault (6.12 without memcg v1) it
 * zaps the read-only PTE and lets the access come back through ->fault,
 * one fault more per write to a page that was read first. The retry may
 * be a read fault (an RMW instruction reads first), so the next user
 * fault on the page decides, read or write (CG_PAGE_REFAULT); a second
 * ->page_mkwrite before that makes a shadow instead of sending it back
 * again, so the write lands whoever made it.
 *
 * Every path makes progress, which kernel-mode and GUP writes rely on: they
 * retry on VM_FAULT_NOPAGE until the write can land.
 *
 * Every handler here runs with mmap_lock held for read, never under the
 * per-VMA lock alone (6.12; 6.1 has none): without ->map_pages, vmf_can_call_fault()
 * makes a fault taken under the VMA lock drop it and retry with mmap_lock
 * before ->fault or ->page_mkwrite is called.
 *
 * A view's entry changes (a copy replaces a golden page or a shadow,
 * reclaim gives a shadow back) only under the lock of the page it
 * replaces, and ->fault hands out every page locked and still the view's,
 * so no PTE ever maps a page its view let go (cg_fault()).
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

static vm_fault_t cg_write_golden(struct cg_view *view, struct vm_fault *vmf,
				  bool user);

/*
 * A page is returned locked, and only while it is still the view's: the
 * core installs the PTE after ->fault with no lock of ours, so a page
 * swapped out of the view meanwhile would otherwise be mapped stale.
 * Whoever changes a view's entry holds the lock of the page it replaces
 * (fault.c, reclaim.c). For a shadow taken out (a copy, or reclaim) a
 * stale PTE would hold its last reference, freed by the next zap while
 * the core still holds it locked. For a golden page a copy replaced, a
 * stale PTE would show the golden bytes instead of the copy's: a store
 * another thread made would read back lost until the next zap (a read
 * fault that slept in the core's lock_page() while a writer copied the
 * page, stored, and had its PTE zapped).
 */
static vm_fault_t cg_fault(struct vm_fault *vmf)
{
	struct cg_view *view = cg_vma_view(vmf);
	bool user = (vmf->flags & FAULT_FLAG_USER) &&
		    current->mm == vmf->vma->vm_mm &&
		    !(current->flags & PF_KTHREAD);
	bool write = vmf->flags & FAULT_FLAG_WRITE, refault = false;
	struct cg_page_state *ps;
	unsigned long entry;
	struct page *page;
	vm_fault_t ret;

	if (!view)
		return VM_FAULT_SIGBUS;
	spin_lock(&view->lock);
	entry = view->pages[vmf->pgoff];
	page = cg_view_page(view, entry, vmf->pgoff);
	get_page(page);
	/* A write cg_page_mkwrite() sent back is decided by the next user
	 * fault on the page, the write's retry: a read fault when the
	 * instruction reads before it writes (x86 RMW instructions may
	 * fault as reads on a PTE that is not there).
	 */
	ps = &view->state[vmf->pgoff];
	if (!entry && (ps->flags & CG_PAGE_REFAULT) && (user || write)) {
		ps->flags &= ~CG_PAGE_REFAULT;
		refault = user;
	}
	spin_unlock(&view->lock);
	if (!write)
		atomic64_inc(&view->read_faults);
	vmf->page = page;
	if (!entry && (write || refault)) {
		/* Decided here, where FAULT_FLAG_USER is still the fault's:
		 * emulated, or a shadow made for the access to retry on. A
		 * user instruction that only reads the page makes a shadow
		 * it did not need, which is never wrong.
		 */
		ret = cg_write_golden(view, vmf, user);
		put_page(page);	/* nothing is mapped on VM_FAULT_NOPAGE */
		return ret;
	}
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
 * The page was copied again after a reclaim: the scanner waits twice as
 * long before its next reclaim (reclaim.c). Called with view->lock held.
 */
static void cg_page_back_off(struct cg_page_state *ps)
{
	if (FIELD_GET(CG_PAGE_LEVEL, ps->flags) < CG_BACKOFF_MAX)
		ps->flags += FIELD_PREP(CG_PAGE_LEVEL, 1);
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
	/* Changing the view's entry: see cg_fault(). */
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
		if (reshadowed)
			cg_page_back_off(ps);
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
	unlock_page(vmf->page);
	return VM_FAULT_NOPAGE;
}

static vm_fault_t cg_page_mkwrite(struct vm_fault *vmf)
{
	struct cg_view *view = cg_vma_view(vmf);
	struct cg_page_state *ps;
	unsigned long entry;
	struct page *cur;
	bool again;

	if (!view)
		return VM_FAULT_SIGBUS;
	spin_lock(&view->lock);
	entry = view->pages[vmf->pgoff];
	cur = cg_view_page(view, entry, vmf->pgoff);
	/* This write is what the reclaim scanner's probe waits for. */
	ps = &view->state[vmf->pgoff];
	if (cur == vmf->page && (entry & CG_EXCLUSIVE))
		ps->flags &= ~(CG_PAGE_PROBED | CG_PAGE_QUIET);
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
	switch (cg_mkwrite_origin(vmf)) {
	case CG_FAULT_USER:
		return cg_write_golden(view, vmf, true);
	case CG_FAULT_KERNEL:
		return cg_write_golden(view, vmf, false);
	default:
		break;
	}
	/* Who wrote cannot be told here: zap the PTE, and the retried
	 * access finds none and comes through ->fault, which can tell.
	 * Once only: if the page was mapped again before a user fault
	 * decided (a kernel-mode read, another thread), this write gets a
	 * shadow, which is right whoever wrote, and no retry loop forms.
	 */
	spin_lock(&view->lock);
	again = ps->flags & CG_PAGE_REFAULT;
	ps->flags ^= CG_PAGE_REFAULT;
	spin_unlock(&view->lock);
	if (again)
		return cg_write_golden(view, vmf, false);
	cg_zap_one(vmf);
	return VM_FAULT_NOPAGE;
}

/*
 * A write to the golden page vmf->page (a reference the caller holds):
 * emulate it if @user and it only moves a refcount inside the band, else
 * give this process a shadow.
 */
static vm_fault_t cg_write_golden(struct cg_view *view, struct vm_fault *vmf,
				  bool user)
{
	switch (cg_try_emulate(view, vmf, user)) {
	case CG_EMULATED:
		return VM_FAULT_NOPAGE;
	case CG_BUDGET_SPENT:
		return cg_make_shadow(view, vmf, 0, true);
	default:
		return cg_make_shadow(view, vmf, 0, false);
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
