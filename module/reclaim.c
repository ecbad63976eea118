// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * Giving back shadows that only hold refcount changes. A shadow made
 * because a trap budget ran out, or one that only ever received refcount
 * writes since, differs from its golden page only in marked slots with
 * values inside the band. Mapping the golden page back in its place is
 * what emulation would have done with those writes, so the shadow can be
 * freed. Any other difference keeps the shadow.
 *
 * Only a shadow nobody can write while it is compared is given back, and
 * only once nobody but the view holds it, so no write can land in it
 * after it is freed:
 *
 * - an exclusive shadow's mappings in the view's mm are zapped first (with
 *   the TLB flush): any later access faults, and a fault takes its page
 *   reference under view->lock. Under that lock the page is then frozen
 *   at exactly the view's own reference, page_ref_freeze(page, 1). Any
 *   other reference fails the freeze and the shadow stays: a racing
 *   fault, a FOLL_PIN, and the plain FOLL_GET references of O_DIRECT,
 *   AIO, io_uring, 9p zero-copy, /proc/PID/mem and ptrace, which write
 *   the page later without a PTE (page_maybe_dma_pinned(), used before,
 *   sees FOLL_PIN only). While it is frozen nobody can take a reference
 *   (GUP-fast's try-get fails on 0, our faults wait for the lock), so the
 *   comparison and the swap to the golden page see the final bytes;
 * - a shadow shared with other views is mapped writable nowhere, and fork
 *   gives a child its own copy of any shadow someone else holds (view.c),
 *   so it has no writer; the other views keep their references;
 * - either way the page is trylocked first and held locked until this mm
 *   maps it no more: a fault holds a shadow locked, without a reference
 *   of its own once the PTE has it, until it unlocks it, so a locked page
 *   is skipped, and one we hold cannot be mapped stale (cg_fault()).
 *
 * CG_PAGE_PROBED is policy, not safety: the scanner sets it and zaps the
 * page, ->page_mkwrite clears it, and a later pass that still finds it
 * knows the page has been quiet. That protocol has an ABA window (a read
 * refault can reinstall an identical PTE while a writer sleeps in
 * lock_page(), and the core then makes it writable with the flag still
 * set), which is harmless: the zap, the freeze and the comparison decide.
 *
 * The scanner (a delayed work every reclaim_interval_ms) waits one
 * interval between probe and reclaim, so a page in use keeps its shadow;
 * a page that was copied again after a reclaim waits twice as many quiet
 * intervals each time (up to 64), so a page that is hot every few seconds
 * stops going round reclaim, traps and a copy. The shrinker reclaims at
 * once under memory pressure and only trylocks. Neither sleeps on a
 * process's mmap_lock. A budget shadow given back makes room under the
 * process's shadow cap (emulate.c).
 */
#include <linux/bitfield.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/shrinker.h>
#include <linux/workqueue.h>

#include "cowguard.h"

/* Does @shadow differ from the golden page at @idx only in band slots? */
static bool cg_only_refcounts_differ(struct cg_region *region,
				     struct page *shadow, unsigned long idx)
{
	const u8 *s = kmap_local_page(shadow);
	const u8 *g = kmap_local_page(cg_golden_page(region, idx));
	unsigned int w = region->slot_width, off;
	unsigned long slot;
	bool ok = true;

	if (!region->slot_map) {
		ok = !memcmp(s, g, PAGE_SIZE);
		goto out_unmap;
	}
	for (off = 0; off < PAGE_SIZE && ok; off += w) {
		if (!memcmp(s + off, g + off, w))
			continue;
		slot = ((idx << PAGE_SHIFT) + off) / w;
		ok = test_bit(slot, region->slot_map) &&
		     cg_in_band(region, cg_slot_value(region, s + off)) &&
		     cg_in_band(region, cg_slot_value(region, g + off));
	}
out_unmap:
	kunmap_local(g);
	kunmap_local(s);
	return ok;
}

/*
 * A probed page that stayed quiet this pass: count the pass, and say
 * whether its churn back-off still asks for more. Called with view->lock.
 */
static bool cg_backing_off(struct cg_page_state *ps)
{
	unsigned int quiet = FIELD_GET(CG_PAGE_QUIET, ps->flags) + 1;
	unsigned int level = FIELD_GET(CG_PAGE_LEVEL, ps->flags);

	if (quiet >= 1U << level)
		return false;
	ps->flags = (ps->flags & ~CG_PAGE_QUIET) | FIELD_PREP(CG_PAGE_QUIET, quiet);
	return true;
}

/* Zap @view's mappings of page @idx. Called with its mmap_lock held. */
static void cg_zap_view_page(struct cg_view *view, unsigned long idx)
{
	unsigned long addr = view->region->start + (idx << PAGE_SHIFT);
	struct vm_area_struct *vma = find_vma(view->mm, addr);

	mmap_assert_locked(view->mm);
	/* Registered VMAs never move (->mremap refuses), so the address of a
	 * page is fixed for the life of the view.
	 */
	if (vma && vma->vm_start <= addr && vma->vm_ops == &cg_vm_ops &&
	    vma->vm_private_data == view)
		zap_page_range_single(vma, addr, PAGE_SIZE, NULL);
}

/*
 * Probe or reclaim the shadow at @idx. With @at_once, an exclusive shadow
 * is probed and, if no write slipped in, reclaimed in the same call.
 * Called with the view's mmap_lock held for read and region->lock held.
 *
 * Return: true when the shadow was given back.
 */
static bool cg_reclaim_page(struct cg_view *view, unsigned long idx, bool at_once)
{
	struct cg_page_state *ps = &view->state[idx];
	bool probe = false, take = false, frozen = false, locked = false;
	unsigned long entry;
	struct page *page;

	spin_lock(&view->lock);
	entry = view->pages[idx];
	if (entry && (entry & CG_EXCLUSIVE) && !(ps->flags & CG_PAGE_PROBED)) {
		ps->flags |= CG_PAGE_PROBED;
		probe = true;
	} else if (entry && (entry & CG_EXCLUSIVE) && !at_once &&
		   cg_backing_off(ps)) {
		entry = 0;	/* quiet, but not for long enough yet */
	}
	page = cg_entry_page(entry);
	if (entry)
		get_page(page);	/* a fault may replace a shared shadow */
	spin_unlock(&view->lock);
	if (!entry)
		return false;
	if (probe)
		cg_zap_view_page(view, idx);
	/* A first look, racy for an exclusive shadow: one holding real data
	 * stays as it is mapped. The look that decides is the one below,
	 * without this reference, which would fail the freeze.
	 */
	take = (!probe || at_once) &&
	       cg_only_refcounts_differ(view->region, page, idx);
	put_page(page);
	if (!take)
		return false;
	take = false;
	/* Stops writes through a PTE the probe's ABA window let through, and
	 * drops read-only mappings, which hold references too.
	 */
	if ((entry & CG_EXCLUSIVE) && !probe)
		cg_zap_view_page(view, idx);

	spin_lock(&view->lock);
	if (view->pages[idx] != entry)
		goto out_unlock;
	/* A fault keeps the page locked from ->fault until it unlocks it,
	 * holding no reference of its own once finish_fault() has given its
	 * one to the PTE (and a write fault marks the page dirty first): a
	 * locked page is not ours to free. Held until this mm maps it no
	 * more, so no fault is in that window when its last reference goes.
	 */
	if (!trylock_page(page))
		goto out_unlock;
	locked = true;
	if (entry & CG_EXCLUSIVE) {
		if (!(ps->flags & CG_PAGE_PROBED) || !page_ref_freeze(page, 1))
			goto out_unlock;
		frozen = true;
	}
	if (cg_only_refcounts_differ(view->region, page, idx)) {
		view->pages[idx] = 0;
		view->nr_shadows--;
		if (entry & CG_EXCLUSIVE)
			view->nr_exclusive--;
		if (ps->flags & CG_PAGE_BUDGET) {
			view->nr_budget_shadows--;
			cg_cap_charge(view, -1);
		}
		ps->flags = (ps->flags & CG_PAGE_LEVEL) | CG_PAGE_RECLAIMED;
		take = true;
	}
	if (frozen)
		page_ref_unfreeze(page, 1);
out_unlock:
	spin_unlock(&view->lock);
	/* A shared shadow may still be mapped here (read-only): unmap it. */
	if (take && !frozen)
		cg_zap_view_page(view, idx);
	if (locked)
		unlock_page(page);
	if (!take)
		return false;

	atomic64_dec(&cg_shadow_pages);
	atomic64_inc(&view->reclaimed);
	atomic64_inc(&view->region->reclaimed);
	cg_page_put(page);
	return true;
}

/*
 * Look at up to @budget shadows of @view, resuming where the last pass
 * stopped. Called with region->lock held; takes the mm's mmap_lock only
 * if it is free. Read-held, it keeps our VMAs from being unmapped, moved,
 * changed or forked (all write-lock it, on 6.12 too) while our own faults
 * may run beside it (each under the read lock: on 6.12 never under the
 * per-VMA lock alone, fault.c); page locks and view->lock order those.
 */
static unsigned long cg_reclaim_view(struct cg_view *view, unsigned long budget,
				     bool at_once, unsigned long *seen)
{
	unsigned long npages = view->region->npages, idx, n, freed = 0;
	struct mm_struct *mm = view->mm;

	if (!READ_ONCE(view->nr_shadows) || !mmget_not_zero(mm))
		return 0;
	if (!mmap_read_trylock(mm))
		goto out_put;
	idx = view->reclaim_cursor % npages;
	for (n = 0; n < npages && *seen < budget; n++) {
		if (READ_ONCE(view->pages[idx])) {
			(*seen)++;
			freed += cg_reclaim_page(view, idx, at_once);
		}
		idx = idx + 1 < npages ? idx + 1 : 0;
	}
	view->reclaim_cursor = idx;
	mmap_read_unlock(mm);
out_put:
	/* Never the exit path here: that would take region->lock again. */
	mmput_async(mm);
	return freed;
}

/*
 * One pass over every view, at most @budget shadows per view (the scanner)
 * or in all (the shrinker, @trylock). Return: shadows given back.
 */
static unsigned long cg_reclaim_pass(unsigned long budget, bool per_view,
				     bool at_once, bool trylock)
{
	struct cg_region *region;
	struct cg_view *view;
	unsigned long freed = 0, seen = 0;

	if (!trylock)
		mutex_lock(&cg_regions_lock);
	else if (!mutex_trylock(&cg_regions_lock))
		return 0;
	list_for_each_entry(region, &cg_regions, node) {
		if (!trylock)
			mutex_lock(&region->lock);
		else if (!mutex_trylock(&region->lock))
			continue;
		list_for_each_entry(view, &region->views, node) {
			if (per_view)
				seen = 0;
			freed += cg_reclaim_view(view, budget, at_once, &seen);
			if (!per_view && seen >= budget)
				break;
		}
		mutex_unlock(&region->lock);
		if (!per_view && seen >= budget)
			break;
		cond_resched();
	}
	mutex_unlock(&cg_regions_lock);
	return freed;
}

static void cg_reclaim_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(cg_reclaim_dwork, cg_reclaim_work);
/* Serialises kicks against exit: a kick seen after the cancel below would
 * queue the work of a module being unloaded (a parameter write can run
 * until the module's sysfs files are gone, after its exit function).
 */
static DEFINE_MUTEX(cg_reclaim_kick_lock);
static bool cg_reclaim_running;

static void cg_reclaim_work(struct work_struct *work)
{
	unsigned int interval = READ_ONCE(cg_reclaim_interval_ms);

	if (!interval)
		return;
	cg_reclaim_pass(max(READ_ONCE(cg_reclaim_batch), 1U), true, false, false);
	queue_delayed_work(system_unbound_wq, &cg_reclaim_dwork,
			   msecs_to_jiffies(interval));
}

/* Start, speed up or stop the scanner after reclaim_interval_ms changed. */
void cg_reclaim_kick(void)
{
	mutex_lock(&cg_reclaim_kick_lock);
	if (cg_reclaim_running && READ_ONCE(cg_reclaim_interval_ms))
		mod_delayed_work(system_unbound_wq, &cg_reclaim_dwork, 0);
	mutex_unlock(&cg_reclaim_kick_lock);
}

static unsigned long cg_shrink_count(struct shrinker *shrinker,
				     struct shrink_control *sc)
{
	long n = atomic64_read(&cg_shadow_pages);

	return n > 0 ? n : SHRINK_EMPTY;
}

static unsigned long cg_shrink_scan(struct shrinker *shrinker,
				    struct shrink_control *sc)
{
	unsigned long freed;

	freed = cg_reclaim_pass(sc->nr_to_scan, false, true, true);
	return freed ?: SHRINK_STOP;
}

static struct shrinker *cg_shrinker;

int cg_reclaim_init(void)
{
	int ret;

	cg_shrinker = shrinker_alloc(0, KBUILD_MODNAME);
	if (!cg_shrinker)
		return -ENOMEM;
	cg_shrinker->count_objects = cg_shrink_count;
	cg_shrinker->scan_objects = cg_shrink_scan;
	cg_shrinker->seeks = DEFAULT_SEEKS;
	ret = cg_shrinker_register(cg_shrinker);
	if (ret) {
		shrinker_free(cg_shrinker);
		return ret;
	}
	mutex_lock(&cg_reclaim_kick_lock);
	cg_reclaim_running = true;
	mutex_unlock(&cg_reclaim_kick_lock);
	cg_reclaim_kick();
	return 0;
}

void cg_reclaim_exit(void)
{
	mutex_lock(&cg_reclaim_kick_lock);
	cg_reclaim_running = false;
	mutex_unlock(&cg_reclaim_kick_lock);
	/* The work requeues itself: the cancel copes with that. */
	cancel_delayed_work_sync(&cg_reclaim_dwork);
	shrinker_free(cg_shrinker);
}
