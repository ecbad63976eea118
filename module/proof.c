// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Proof of instruction sites
 *
 * A patcher may rewrite a user instruction so that it skips band values
 * only if the instruction is known to be a refcount write. Its shape does
 * not say so (a carry into a bignum word is the same add as an INCREF);
 * what the module saw it do does. Every write to a golden page that the
 * fault path decodes is counted here against its instruction's address,
 * once per registration: a refcount-only write (emulated, or one the
 * budget turned into a shadow) as evidence for, a write refused as an
 * instruction outside the whitelist, a target that is not a marked slot
 * or a value leaving the band as evidence against. A site is proven after
 * COWGUARD_PROOF_MIN_WRITES writes for and none against; one write against
 * disproves it for the life of the registration.
 *
 * Except a refused write to a whole word whose old value was outside the
 * band: counted apart (outside), it is neither. A patched site skips a
 * write only when the old value is a band value and runs every other as
 * it is, so such a write is exactly what it was, and its target says
 * nothing about the writes the patch changes. Those are the refcounts a
 * runtime's INCREF and DECREF sites also write in objects the adapter did
 * not mark (made after protect(), or skipped); counting them against
 * would disprove the hottest sites (a DECREF in dict code, 5,355 traps in
 * one demo run, was disproved by 3 such writes). An unmarked word holding
 * a band value, a band value leaving the band, or an instruction outside
 * the whitelist still disproves.
 *
 * One table per fork tree, not per process: all the regions one process
 * registers share it (an adapter registers many ranges), and every process
 * forked from it writes to it. They map the same text at the same
 * addresses, so an address a worker proves names the same instruction in
 * the master, which can patch it for every worker it forks later. A
 * restarted tree has new addresses (ASLR): a patcher that saves what it
 * learned keys it by file, build-id and offset.
 *
 * Kernel-mode and remote writes name no instruction; a write refused
 * because the process is traced or the registration has no slot map says
 * nothing about the instruction: none of them count.
 */
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cowguard.h"

static_assert((COWGUARD_PROOF_SITES & (COWGUARD_PROOF_SITES - 1)) == 0);
static_assert((COWGUARD_PROOF_MERGED & (COWGUARD_PROOF_MERGED - 1)) == 0);

/**
 * cg_proof_get_for() - the proof table for a new region of @mm
 * @mm: the registering process's mm
 *
 * The table @mm's other regions hold (one fork tree, one table), else a
 * new one. Called with cg_regions_lock held, before the region is listed.
 *
 * Return: a referenced table, or NULL when out of memory.
 */
struct cg_proof *cg_proof_get_for(struct mm_struct *mm)
{
	struct cg_region *region;
	struct cg_proof *proof;

	lockdep_assert_held(&cg_regions_lock);
	list_for_each_entry(region, &cg_regions, node) {
		if (region->mm == mm && region->proof) {
			kref_get(&region->proof->kref);
			return region->proof;
		}
	}
	proof = kvzalloc(sizeof(*proof), GFP_KERNEL_ACCOUNT);
	if (proof) {
		kref_init(&proof->kref);
		spin_lock_init(&proof->lock);
	}
	return proof;
}

static void cg_proof_release(struct kref *kref)
{
	kvfree(container_of(kref, struct cg_proof, kref));
}

void cg_proof_put(struct cg_proof *proof)
{
	if (proof)
		kref_put(&proof->kref, cg_proof_release);
}

/*
 * Probes per lookup: a bound on the time under the lock in the fault path.
 * Slots are never freed, so a site found once is found again.
 */
#define CG_PROOF_PROBES	64

/* The slot of @ip, or the free slot it would take; NULL when none is near. */
static struct cg_proof_site *cg_proof_slot(struct cg_proof *proof,
					   unsigned long ip)
{
	unsigned int i, h = hash_long(ip, ilog2(COWGUARD_PROOF_SITES));

	lockdep_assert_held(&proof->lock);
	for (i = 0; i < CG_PROOF_PROBES; i++) {
		struct cg_proof_site *site =
			&proof->site[(h + i) & (COWGUARD_PROOF_SITES - 1)];

		if (site->ip == ip || !site->ip)
			return site;
	}
	return NULL;
}

/**
 * cg_proof_lookup() - a copy of @ip's entry in @proof
 * @proof: the table
 * @ip: the instruction address
 * @out: the entry, when there is one
 *
 * Return: whether @ip is in the table.
 */
bool cg_proof_lookup(struct cg_proof *proof, unsigned long ip,
		     struct cg_proof_site *out)
{
	struct cg_proof_site *site;
	bool found;

	spin_lock(&proof->lock);
	site = cg_proof_slot(proof, ip);
	found = site && site->ip == ip;
	if (found)
		*out = *site;
	spin_unlock(&proof->lock);
	return found;
}

static bool cg_refusal_is_evidence(enum cowguard_refuse_reason why)
{
	return why == COWGUARD_REFUSE_INSN || why == COWGUARD_REFUSE_NOT_SLOT ||
	       why == COWGUARD_REFUSE_BAND;
}

/**
 * cg_proof_note() - count a decoded write against its instruction
 * @view: the writing process's view
 * @user: the write is a user-mode instruction of current (cg_try_emulate())
 * @why: why it was refused, or __COWGUARD_REFUSE_MAX for a refcount-only
 *	write
 * @outside: the refused write's old value was outside the band
 */
void cg_proof_note(struct cg_view *view, bool user,
		   enum cowguard_refuse_reason why, bool outside)
{
	struct cg_proof *proof = view->region->proof;
	struct cg_proof_site *site;
	unsigned long ip;

	if (why != __COWGUARD_REFUSE_MAX && !cg_refusal_is_evidence(why))
		return;
	ip = cg_sites_user_ip(user);
	if (!ip)
		return;
	spin_lock(&proof->lock);
	site = cg_proof_slot(proof, ip);
	if (site) {
		if (!site->ip) {
			site->ip = ip;
			proof->nr++;
		}
		if (why == __COWGUARD_REFUSE_MAX)
			site->refcount_writes++;
		else if (outside && why != COWGUARD_REFUSE_INSN)
			site->outside++;
		else
			site->refused++;
	}
	spin_unlock(&proof->lock);
}

static bool cg_region_maps(struct cg_region *region, struct mm_struct *mm,
			   u64 addr)
{
	struct cg_view *view;
	bool mine = false;

	if (addr < region->start ||
	    addr - region->start >= (u64)region->npages << PAGE_SHIFT)
		return false;
	mutex_lock(&region->lock);
	list_for_each_entry(view, &region->views, node)
		mine |= view->mm == mm;
	mutex_unlock(&region->lock);
	return mine;
}

/* @site's entry in @out (a table of COWGUARD_PROOF_MERGED), added. */
static void cg_proof_merge(struct cowguard_site_proof *out, u32 *total,
			   const struct cg_proof_site *site)
{
	unsigned int i, h = hash_long(site->ip, ilog2(COWGUARD_PROOF_MERGED));

	for (i = 0; i < COWGUARD_PROOF_MERGED; i++) {
		struct cowguard_site_proof *p =
			&out[(h + i) & (COWGUARD_PROOF_MERGED - 1)];

		if (!p->ip) {
			p->ip = site->ip;
			(*total)++;
		}
		if (p->ip == site->ip) {
			p->refcount_writes += site->refcount_writes;
			p->refused += site->refused;
			p->outside = min_t(u64, p->outside + site->outside, U32_MAX);
			return;
		}
	}
}

/* Tables merged at most by one snapshot: one per registering process. */
#define CG_PROOF_MERGE_TABLES	16

/*
 * The sites of the caller's registration at @start, or with @start 0 of
 * all its registrations' tables merged by address (a process that maps
 * the regions of several registering processes sees each table once),
 * packed at the front of @out.
 */
static int cg_proof_snapshot(u64 start, struct cowguard_site_proof *out,
			     u32 *total)
{
	struct cg_proof *seen[CG_PROOF_MERGE_TABLES];
	unsigned int i, n, nseen = 0;
	struct cg_region *region;
	int ret = -EINVAL;

	*total = 0;
	mutex_lock(&cg_regions_lock);
	list_for_each_entry(region, &cg_regions, node) {
		struct cg_proof *proof = region->proof;

		if (!cg_region_maps(region, current->mm,
				    start ?: region->start))
			continue;
		ret = 0;
		for (i = 0; i < nseen && seen[i] != proof; i++)
			;
		if (i < nseen || nseen == CG_PROOF_MERGE_TABLES)
			continue;
		seen[nseen++] = proof;
		spin_lock(&proof->lock);
		for (i = 0; i < COWGUARD_PROOF_SITES; i++)
			if (proof->site[i].ip)
				cg_proof_merge(out, total, &proof->site[i]);
		spin_unlock(&proof->lock);
		if (start)
			break;
	}
	mutex_unlock(&cg_regions_lock);
	for (i = 0, n = 0; i < COWGUARD_PROOF_MERGED; i++) {
		struct cowguard_site_proof *p = &out[i];

		if (!p->ip)
			continue;
		if (!p->refused &&
		    p->refcount_writes >= COWGUARD_PROOF_MIN_WRITES)
			p->flags = COWGUARD_SITE_F_PROVEN;
		out[n++] = *p;
	}
	return ret;
}

long cg_ioctl_sites(void __user *arg)
{
	struct cowguard_site_proof *out;
	struct cowguard_sites req = {};
	u32 usize, total = 0;
	int ret;

	ret = cg_copy_struct_in(&req, sizeof(req), arg, COWGUARD_SITES_SIZE_VER0,
				&usize);
	if (ret)
		return ret;
	if (req.flags & ~COWGUARD_SITES_F_ALL || req.total ||
	    memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	if (!READ_ONCE(cg_site_patching))
		return -EOPNOTSUPP;
	out = kvcalloc(COWGUARD_PROOF_MERGED, sizeof(*out), GFP_KERNEL);
	if (!out)
		return -ENOMEM;
	ret = cg_proof_snapshot(req.start, out, &total);
	if (ret)
		goto out;
	req.nr = min(req.nr, total);
	req.total = total;
	ret = -EFAULT;
	if (copy_to_user(u64_to_user_ptr(req.sites), out,
			 array_size(req.nr, sizeof(*out))))
		goto out;
	if (copy_to_user(arg, &req, min_t(size_t, usize, sizeof(req))))
		goto out;
	ret = 0;
out:
	kvfree(out);
	return ret;
}
