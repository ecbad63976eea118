// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * COWGUARD_IOC_STATS: the calling process's figures, summed over its views
 * or for one registration, plus that registration's figures across all of
 * its processes.
 */
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "cowguard.h"

void cg_stats_add_view(struct cowguard_stats *st, struct cg_view *view)
{
	int i;

	st->mapped_pages += view->mapped_pages;
	st->shadow_pages += READ_ONCE(view->nr_shadows);
	st->read_faults += atomic64_read(&view->read_faults);
	st->shadow_faults += atomic64_read(&view->shadow_faults);
	st->write_faults += atomic64_read(&view->write_faults);
	st->emulated += atomic64_read(&view->emulated);
	st->budget_shadows += atomic64_read(&view->budget_shadows);
	for (i = 0; i < COWGUARD_REFUSE_SLOTS; i++)
		st->refused[i] += atomic64_read(&view->refused[i]);
	st->reclaimed += atomic64_read(&view->reclaimed);
	st->reshadowed += atomic64_read(&view->reshadowed);
	st->budget_shadow_pages += READ_ONCE(view->nr_budget_shadows);
	st->capped += atomic64_read(&view->capped);
	st->exclusive_shadow_pages += READ_ONCE(view->nr_exclusive);
}

static bool cg_region_contains(struct cg_region *region, u64 addr)
{
	return addr >= region->start &&
	       addr - region->start < (u64)region->npages << PAGE_SHIFT;
}

long cg_ioctl_stats(void __user *arg)
{
	struct mm_struct *mm = current->mm;
	struct cowguard_stats st = {};
	struct cg_region *region;
	struct cg_view *view;
	bool found = false;
	u32 usize;
	int ret;

	ret = cg_copy_struct_in(&st, sizeof(st), arg, COWGUARD_STATS_SIZE_VER0, &usize);
	if (ret)
		return ret;
	if (st.flags & ~COWGUARD_STATS_F_ALL ||
	    memchr_inv(&st.mapped_pages, 0,
		       sizeof(st) - offsetof(struct cowguard_stats, mapped_pages)))
		return -EINVAL;

	mutex_lock(&cg_regions_lock);
	list_for_each_entry(region, &cg_regions, node) {
		u64 reg_shadows = 0;
		bool mine = false;

		if (st.start && !cg_region_contains(region, st.start))
			continue;
		mutex_lock(&region->lock);
		list_for_each_entry(view, &region->views, node) {
			if (view->mm == mm) {
				cg_stats_add_view(&st, view);
				mine = true;
			}
			reg_shadows += READ_ONCE(view->nr_shadows);
		}
		if (st.start && mine) {
			st.reg_processes = list_count_nodes(&region->views);
			st.reg_shadow_pages = reg_shadows;
			st.reg_id = region->id;
			st.reg_start = region->start;
			st.reg_length = (u64)region->npages << PAGE_SHIFT;
			st.reg_golden_pages = region->npages;
			st.reg_emulated = atomic64_read(&region->emulated);
			st.reg_budget_shadows = atomic64_read(&region->budget_shadows);
			st.reg_reclaimed = atomic64_read(&region->reclaimed);
		}
		mutex_unlock(&region->lock);
		found |= mine;
		if (st.start && mine)
			break;
	}
	mutex_unlock(&cg_regions_lock);
	if (st.start && !found)
		return -EINVAL;
	if (copy_to_user(arg, &st, min_t(size_t, usize, sizeof(st))))
		return -EFAULT;
	return 0;
}
