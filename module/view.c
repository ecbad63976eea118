// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * A view is what one process sees of a region: for each page either the
 * golden page or a shadow page of its own. Fork clones the parent's view;
 * shadows are then shared by both sides and neither may write them in
 * place any more, so the clone revokes the parent's writable mappings of
 * them. Fork then copies the parent's PTEs into the child (the VMA is
 * VM_MIXEDMAP: vma_needs_copy()), so a worker starts with its master's
 * mappings, as under plain fork. dup_mmap() calls ->open() before
 * copy_page_range(), on 6.1 as on 6.12, so the revocation has removed
 * every writable PTE by then: the child inherits only read-only mappings
 * of pages its view shares with the parent, golden pages and shared
 * shadows (a shadow the child gets its own copy of was exclusive, so its
 * PTE was revoked too). The parent is write-locked throughout, on 6.12
 * each of its VMAs too (vma_start_write()), and our faults never run under
 * the per-VMA lock alone (fault.c).
 */
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "cowguard.h"

/* View ids, for netlink dumps that resume where they stopped. */
static atomic64_t cg_next_view_id = ATOMIC64_INIT(1);

/**
 * cg_page_alloc() - a page for a region, charged like anonymous memory
 * @mm: the process whose memory cgroup pays: the one that maps the page,
 *	not whoever writes it (process_vm_writev and ptrace write remotely)
 * @gfp: extra flags (__GFP_NOFAIL in fork, which cannot fail a VMA)
 *
 * Not movable because it is not on the LRU.
 *
 * Return: the page, or NULL.
 */
struct page *cg_page_alloc(struct mm_struct *mm, gfp_t gfp)
{
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(mm), *old;
	struct page *page;

	old = set_active_memcg(memcg);
	page = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT | gfp);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	if (page)
		atomic64_inc(&cg_live_pages);
	return page;
}

void cg_page_put(struct page *page)
{
	atomic64_dec(&cg_live_pages);
	put_page(page);
}

/**
 * cg_view_create() - a new view of @region for @mm
 * @region: the region
 * @mm: the process
 * @gfp: GFP_KERNEL_ACCOUNT, with __GFP_NOFAIL from fork
 *
 * The caller holds both region and mm for as long as this runs.
 *
 * Return: the view, or NULL when out of memory.
 */
struct cg_view *cg_view_create(struct cg_region *region, struct mm_struct *mm,
			       gfp_t gfp)
{
	struct cg_view *view;

	view = kzalloc(sizeof(*view), gfp);
	if (!view)
		return NULL;
	/* At most max_register_mb of pages: well below kvmalloc's INT_MAX. */
	view->pages = kvcalloc(region->npages, sizeof(*view->pages), gfp);
	view->state = kvcalloc(region->npages, sizeof(*view->state), gfp);
	view->region = region;
	view->mm = mm;
	if (!view->pages || !view->state || cg_cap_attach(view, gfp)) {
		kvfree(view->pages);
		kvfree(view->state);
		kfree(view);
		return NULL;
	}
	kref_init(&view->kref);
	spin_lock_init(&view->lock);
	cg_sites_init(&view->sites);
	kref_get(&region->kref);
	mmgrab(mm);
	mutex_lock(&region->lock);
	/* Under the lock: the list stays in increasing id order. */
	view->id = atomic64_inc_return(&cg_next_view_id) - 1;
	list_add_tail(&view->node, &region->views);
	mutex_unlock(&region->lock);
	return view;
}

/* The page @view maps at @idx, with a reference: reclaim may free it. */
struct page *cg_view_get_page(struct cg_view *view, unsigned long idx)
{
	struct page *page;

	spin_lock(&view->lock);
	page = cg_view_page(view, view->pages[idx], idx);
	get_page(page);
	spin_unlock(&view->lock);
	return page;
}

static void cg_view_release(struct kref *kref)
{
	struct cg_view *view = container_of(kref, struct cg_view, kref);
	struct cg_region *region = view->region;
	unsigned long i;

	mutex_lock(&region->lock);
	list_del(&view->node);
	mutex_unlock(&region->lock);
	for (i = 0; i < region->npages; i++)
		if (view->pages[i])
			cg_page_put(cg_entry_page(view->pages[i]));
	atomic64_sub(view->nr_shadows, &cg_shadow_pages);
	cg_cap_detach(view);
	kvfree(view->pages);
	kvfree(view->state);
	mmdrop(view->mm);
	kfree(view);
	cg_region_put(region);
}

void cg_view_put(struct cg_view *view)
{
	kref_put(&view->kref, cg_view_release);
}

/* In a child's entry during fork only: the parent's entry was exclusive. */
#define CG_FORK_WAS_EXCL	2UL

/*
 * Revoke the parent's mappings of the shadows it now shares with a child
 * (the child's entries marked CG_FORK_WAS_EXCL), in every VMA of the parent
 * that maps this view. Called with the parent's mmap_lock held for write
 * (dup_mmap), so no fault can map them again before the view says they
 * are shared.
 */
static void cg_view_revoke_shared(struct cg_view *view, struct cg_view *child)
{
	struct cg_region *region = view->region;
	unsigned long end = region->start + (region->npages << PAGE_SHIFT);
	struct vm_area_struct *vma;
	unsigned long addr = region->start;

	mmap_assert_write_locked(view->mm);
	while ((vma = find_vma(view->mm, addr)) && vma->vm_start < end) {
		unsigned long first = vma->vm_pgoff, last = first + vma_pages(vma);
		unsigned long i, run;

		addr = vma->vm_end;
		if (vma->vm_ops != &cg_vm_ops || vma->vm_private_data != view)
			continue;
		for (i = first; i < last; i += run) {
			for (run = 0; i + run < last &&
			     (child->pages[i + run] & CG_FORK_WAS_EXCL); run++)
				;
			if (!run) {
				run = 1;
				continue;
			}
			zap_page_range_single(vma, vma->vm_start +
					      ((i - first) << PAGE_SHIFT),
					      run << PAGE_SHIFT, NULL);
		}
	}
}

/**
 * cg_view_fork() - clone a parent's view for a child being forked
 * @parent: the parent's view
 * @mm: the child's mm
 *
 * Called from ->open() in dup_mmap() with both mms write-locked. The child
 * sees exactly what the parent sees. Shadows become shared, except those
 * someone else holds a reference to, which a device or a kernel thread may
 * still write behind the page tables' back (DMA pins, and the plain
 * FOLL_GET references of O_DIRECT, AIO and 9p zero-copy): the child gets
 * its own copy of those now, as copy_present_pte() does for pinned
 * anonymous pages. As there, the parent's writable mappings are revoked
 * first and the references counted after, so no new one can appear in
 * between: the parent cannot fault (mmap_lock), remote GUP needs that lock
 * too, and GUP-fast finds no PTE.
 *
 * ->open() cannot fail, and a child without a view would get SIGBUS where
 * plain fork gives it memory, so every allocation here is __GFP_NOFAIL;
 * their sizes are bounded by max_register_mb.
 *
 * Return: the child's view.
 */
struct cg_view *cg_view_fork(struct cg_view *parent, struct mm_struct *mm)
{
	struct cg_region *region = parent->region;
	struct cg_view *child;
	unsigned long i;

	child = cg_view_create(region, mm, GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	for (i = 0; i < region->npages; i++) {
		unsigned long entry = parent->pages[i];
		struct page *page = cg_entry_page(entry);

		if (!entry)
			continue;
		get_page(page);
		atomic64_inc(&cg_live_pages);
		child->pages[i] = (unsigned long)page |
				  (entry & CG_EXCLUSIVE ? CG_FORK_WAS_EXCL : 0);
		child->nr_shadows++;
		atomic64_inc(&cg_shadow_pages);
	}

	/* No fault of the parent can run (its mmap_lock is write-held); the
	 * lock keeps the pages[] contract simple all the same.
	 */
	spin_lock(&parent->lock);
	for (i = 0; i < region->npages; i++)
		if (child->pages[i] & CG_FORK_WAS_EXCL) {
			parent->pages[i] &= ~CG_EXCLUSIVE;
			parent->nr_exclusive--;
		}
	spin_unlock(&parent->lock);
	cg_view_revoke_shared(parent, child);

	for (i = 0; i < region->npages; i++) {
		unsigned long entry = child->pages[i];
		struct page *page = cg_entry_page(entry & ~CG_FORK_WAS_EXCL), *copy;

		if (!(entry & CG_FORK_WAS_EXCL))
			continue;
		/* The parent's entry and the child's: anything more is not ours. */
		if (page_ref_count(page) == 2) {
			child->pages[i] = (unsigned long)page;
			continue;
		}
		copy = cg_page_alloc(mm, __GFP_NOFAIL);
		copy_highpage(copy, page);
		child->pages[i] = (unsigned long)copy | CG_EXCLUSIVE;
		child->nr_exclusive++;
		cg_page_put(page);
		spin_lock(&parent->lock);
		parent->pages[i] |= CG_EXCLUSIVE;
		parent->nr_exclusive++;
		spin_unlock(&parent->lock);
	}
	return child;
}
