/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _COWGUARD_PROOF_H
#define _COWGUARD_PROOF_H

#include <linux/kref.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/cowguard.h>

/**
 * struct cg_proof_site - what one user instruction wrote to golden pages.
 * @ip: the instruction's address; 0 for a free slot.
 * @refcount_writes: its writes decoded as refcount-only.
 * @refused: its writes that were anything else, but those of @outside.
 * @outside: its writes to a word not marked as a slot, or leaving the
 *	band, whose old value was outside the band.
 */
struct cg_proof_site {
	unsigned long ip;
	u64 refcount_writes;
	u64 refused;
	u64 outside;
};

/**
 * struct cg_proof - the instruction sites of one process's registrations,
 *	written by every process of its fork tree.
 * @kref: one reference per region registered by that process.
 * @lock: protects @site and @nr; taken in the fault path, nests in nothing.
 * @nr: slots in use.
 * @site: open-addressed on the address; a slot once taken stays taken.
 */
struct cg_proof {
	struct kref kref;
	spinlock_t lock;	/* protects site, nr */
	unsigned int nr;
	struct cg_proof_site site[COWGUARD_PROOF_SITES];
};

struct cg_view;
struct vm_fault;

struct mm_struct;

struct cg_proof *cg_proof_get_for(struct mm_struct *mm);
void cg_proof_put(struct cg_proof *proof);
void cg_proof_note(struct cg_view *view, bool user,
		   enum cowguard_refuse_reason why, bool outside);
bool cg_proof_lookup(struct cg_proof *proof, unsigned long ip,
		     struct cg_proof_site *out);
long cg_ioctl_sites(void __user *arg);

#endif /* _COWGUARD_PROOF_H */
