/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _COWGUARD_PROOF_H
#define _COWGUARD_PROOF_H

#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/cowguard.h>

/**
 * struct cg_proof_site - what one user instruction wrote to golden pages.
 * @ip: the instruction's address; 0 for a free slot.
 * @refcount_writes: its writes decoded as refcount-only.
 * @refused: its writes that were anything else.
 */
struct cg_proof_site {
	unsigned long ip;
	u64 refcount_writes;
	u64 refused;
};

/**
 * struct cg_proof - a registration's instruction sites, all its processes.
 * @lock: protects @site and @nr; taken in the fault path, nests in nothing.
 * @nr: slots in use.
 * @site: open-addressed on the address; a slot once taken stays taken.
 */
struct cg_proof {
	spinlock_t lock;	/* protects site, nr */
	unsigned int nr;
	struct cg_proof_site site[COWGUARD_PROOF_SITES];
};

struct cg_view;
struct vm_fault;

struct cg_proof *cg_proof_alloc(void);
void cg_proof_free(struct cg_proof *proof);
void cg_proof_note(struct cg_view *view, struct vm_fault *vmf,
		   enum cowguard_refuse_reason why);
long cg_ioctl_sites(void __user *arg);

#endif /* _COWGUARD_PROOF_H */
