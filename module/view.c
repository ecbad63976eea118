// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * A view is what one process sees of a region: for each page either the
 * golden page or a shadow page of its own. Fork clones the parent's view;
 * shadows are then shared by both sides and neither may write them in
 * place any more, so the clone revokes the parent's writable mappings of
 * them. Nothing here depends on whether dup_mmap() runs ->open() before or
 * after copy_page_range(): a shared driver VMA has no PTEs copied either way
 * (vma_needs_copy() is false), and the parent is write-locked throughout.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "cowguard.h"

/* View ids, for netlink dumps that resume where they stopped. */
static atomic64_t cg_next_view_id = ATOMIC64_INIT(1);

struct page *cg_page_alloc(void)
{
	/* Charged to the current task's memory cgroup, like the anonymous
	 * memory it replaces; not movable because it is not on the LRU.
	 */
	struct page *page = alloc_page(GFP_HIGHUSER | __GFP_ACCOUNT);

	if (page)
		atomic64_inc(&cg_live_pages);
	return page;
}

void cg_page_put(struct page *page)
{
	atomic64_dec(&cg_live_pages);
	put_page(page);
}

struct cg_view *cg_view_create(struct cg_region *region, struct mm_struct *mm)
{
	struct cg_view *view;

	view = kzalloc(sizeof(*view), GFP_KERNEL_ACCOUNT);
	if (!view)
		return NULL;
	view->pages = kvcalloc(region->npages, sizeof(*view->pages),
			       GFP_KERNEL_ACCOUNT);
	view->state = kvcalloc(region->npages, sizeof(*view->state),
			       GFP_KERNEL_ACCOUNT);
	view->region = region;
	view->mm = mm;
	/* The caller holds both region and mm for as long as this runs. */
	if (!view->pages || !view->state || cg_cap_attach(view)) {
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

/*
 * Revoke the parent's mappings of the shadows it now shares with a child, in
 * every VMA of the parent that maps this view. Called with the parent's
 * mmap_lock held for write (dup_mmap), so no fault can map them again
 * before the view says they are shared.
 */
static void cg_view_revoke_shared(struct cg_view *view, unsigned long *was_excl)
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
		for (i = find_next_bit(was_excl, last, first); i < last;
		     i = find_next_bit(was_excl, last, i + run)) {
			run = find_next_zero_bit(was_excl, last, i) - i;
			zap_page_range(vma, vma->vm_start +
				       ((i - first) << PAGE_SHIFT),
				       run << PAGE_SHIFT);
		}
	}
}

/**
 * cg_view_fork() - clone a parent's view for a child being forked
 * @parent: the parent's view
 * @mm: the child's mm
 *
 * Called from ->open() in dup_mmap() with both mms write-locked. The child
 * sees exactly what the parent sees. Shadows become shared, except those a
 * device may be writing through a DMA pin: the child gets its own copy of
 * those now, as copy_present_pte() does for pinned anonymous pages.
 *
 * Return: the child's view, or NULL when out of memory.
 */
struct cg_view *cg_view_fork(struct cg_view *parent, struct mm_struct *mm)
{
	struct cg_region *region = parent->region;
	unsigned long *was_excl, i;
	struct cg_view *child;

	child = cg_view_create(region, mm);
	if (!child)
		return NULL;
	was_excl = bitmap_zalloc(region->npages, GFP_KERNEL);
	if (!was_excl)
		goto out_put;

	for (i = 0; i < region->npages; i++) {
		unsigned long entry = parent->pages[i];
		struct page *page = cg_entry_page(entry), *copy;

		if (!entry)
			continue;
		if (page_maybe_dma_pinned(page)) {
			copy = cg_page_alloc();
			if (!copy)
				goto out_free;
			copy_highpage(copy, page);
			child->pages[i] = (unsigned long)copy | CG_EXCLUSIVE;
			child->nr_shadows++;
			child->nr_exclusive++;
			atomic64_inc(&cg_shadow_pages);
			continue;
		}
		get_page(page);
		atomic64_inc(&cg_live_pages);
		child->pages[i] = (unsigned long)page;
		child->nr_shadows++;
		atomic64_inc(&cg_shadow_pages);
		if (entry & CG_EXCLUSIVE)
			__set_bit(i, was_excl);
	}

	/* No fault of the parent can run (its mmap_lock is write-held); the
	 * lock keeps the pages[] contract simple all the same.
	 */
	spin_lock(&parent->lock);
	for (i = 0; i < region->npages; i++)
		if (test_bit(i, was_excl)) {
			parent->pages[i] &= ~CG_EXCLUSIVE;
			parent->nr_exclusive--;
		}
	spin_unlock(&parent->lock);
	cg_view_revoke_shared(parent, was_excl);
	bitmap_free(was_excl);
	return child;

out_free:
	bitmap_free(was_excl);
out_put:
	cg_view_put(child);
	return NULL;
}
