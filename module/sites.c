// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * Which user instructions break sharing: each view counts, per kind of
 * decision (emulated, shadowed by budget, shadowed as another write), the
 * instruction addresses of the writes to golden pages it saw, in a table of
 * COWGUARD_SITES_PER_KIND entries. The table keeps the most frequent
 * addresses with the space-saving algorithm: a new address takes the slot
 * of the least counted one and inherits its count as error, so any address
 * that makes more than 1/COWGUARD_SITES_PER_KIND of the writes of a kind is
 * in the table. Every write is counted: the faults counted are already
 * slow (a decode, or a page copy), and a short scan under a per-view lock
 * costs little next to them.
 */
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>

#include "cowguard.h"

void cg_sites_init(struct cg_sites *sites)
{
	spin_lock_init(&sites->lock);
}

static void cg_sites_count(struct cg_site *site, unsigned long ip)
{
	struct cg_site *least = &site[0];
	int i;

	for (i = 0; i < COWGUARD_SITES_PER_KIND; i++) {
		if (site[i].ip == ip) {
			site[i].count++;
			return;
		}
		if (site[i].count < least->count)
			least = &site[i];
	}
	/* A free slot has count 0, so it is the least counted one. */
	least->error = least->count;
	least->count++;
	least->ip = ip;
}

/**
 * cg_sites_user_ip() - the user instruction behind a write fault
 * @user: the write fault is a user-mode instruction of current, in its
 *	own mm (cg_try_emulate())
 *
 * Return: the faulting instruction's address; 0 for kernel-mode and remote
 * writes, which have no instruction to name (0 also marks a free slot in
 * the tables).
 */
unsigned long cg_sites_user_ip(bool user)
{
	return user ? instruction_pointer(task_pt_regs(current)) : 0;
}

/**
 * cg_sites_note() - count the faulting user instruction of a write
 * @view: the view whose golden page was written
 * @user: the write fault is a user-mode instruction of current, in its
 *	own mm (cg_try_emulate())
 * @kind: what the write led to
 *
 * Only a user-mode fault of the view's own process has an instruction to
 * name; kernel-mode and remote writes are not counted here.
 */
void cg_sites_note(struct cg_view *view, bool user,
		   enum cowguard_site_kind kind)
{
	unsigned long ip = cg_sites_user_ip(user);

	if (!ip)
		return;
	spin_lock(&view->sites.lock);
	cg_sites_count(view->sites.site[kind], ip);
	spin_unlock(&view->sites.lock);
}

/* A consistent snapshot of a view's sites, for reporting. */
void cg_sites_copy(struct cg_sites *sites,
		   struct cg_site out[__COWGUARD_SITE_MAX][COWGUARD_SITES_PER_KIND])
{
	spin_lock(&sites->lock);
	memcpy(out, sites->site, sizeof(sites->site));
	spin_unlock(&sites->lock);
}
