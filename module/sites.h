/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _COWGUARD_SITES_H
#define _COWGUARD_SITES_H

#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/cowguard.h>

/**
 * struct cg_site - one user instruction address and its writes.
 * @ip: the instruction's address; 0 for a free slot.
 * @count: writes counted for it (an upper bound, see @error).
 * @error: count inherited from the address it evicted.
 */
struct cg_site {
	unsigned long ip;
	u64 count;
	u64 error;
};

/**
 * struct cg_sites - the most frequent faulting instructions of a view.
 * @lock: protects @site; taken in the fault path, nests in nothing.
 * @site: per enum cowguard_site_kind, a bounded table of sites.
 */
struct cg_sites {
	spinlock_t lock;	/* protects site */
	struct cg_site site[__COWGUARD_SITE_MAX][COWGUARD_SITES_PER_KIND];
};

struct cg_view;

void cg_sites_init(struct cg_sites *sites);
unsigned long cg_sites_user_ip(bool user);
void cg_sites_note(struct cg_view *view, bool user,
		   enum cowguard_site_kind kind);
void cg_sites_copy(struct cg_sites *sites,
		   struct cg_site out[__COWGUARD_SITE_MAX][COWGUARD_SITES_PER_KIND]);

#endif /* _COWGUARD_SITES_H */
