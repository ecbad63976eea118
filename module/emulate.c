// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * A write to a golden page that only moves a marked refcount slot inside
 * its band is emulated and dropped: the faulting user instruction is
 * decoded (decode.c), its effect on registers and flags is applied to the
 * saved user registers, execution resumes after it, and the page stays
 * shared. Anything else is left to the caller, which makes a shadow, so a
 * write is never lost and never turns into a signal.
 *
 * Only a user-mode fault of the current task's own mm is emulated; the
 * caller says whether this is one (fault.c: from the fault's flags in
 * ->fault, from what compat.h can tell in ->page_mkwrite, whose
 * vmf->flags are clobbered). Emulating a kernel-mode write would skip a
 * user instruction the kernel did not fault on; emulating under
 * single-step or ptrace would skip a trap.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/uaccess.h>

#include "cowguard.h"
#include "decode.h"

static void cg_regs_from_pt(struct cg_regs *r, const struct pt_regs *pt)
{
	r->gpr[0] = pt->ax;
	r->gpr[1] = pt->cx;
	r->gpr[2] = pt->dx;
	r->gpr[3] = pt->bx;
	r->gpr[4] = pt->sp;
	r->gpr[5] = pt->bp;
	r->gpr[6] = pt->si;
	r->gpr[7] = pt->di;
	r->gpr[8] = pt->r8;
	r->gpr[9] = pt->r9;
	r->gpr[10] = pt->r10;
	r->gpr[11] = pt->r11;
	r->gpr[12] = pt->r12;
	r->gpr[13] = pt->r13;
	r->gpr[14] = pt->r14;
	r->gpr[15] = pt->r15;
	r->ip = pt->ip;
	r->flags = pt->flags;
}

static void cg_regs_to_pt(struct pt_regs *pt, const struct cg_regs *r)
{
	pt->ax = r->gpr[0];
	pt->cx = r->gpr[1];
	pt->dx = r->gpr[2];
	pt->bx = r->gpr[3];
	pt->sp = r->gpr[4];
	pt->bp = r->gpr[5];
	pt->si = r->gpr[6];
	pt->di = r->gpr[7];
	pt->r8 = r->gpr[8];
	pt->r9 = r->gpr[9];
	pt->r10 = r->gpr[10];
	pt->r11 = r->gpr[11];
	pt->r12 = r->gpr[12];
	pt->r13 = r->gpr[13];
	pt->r14 = r->gpr[14];
	pt->r15 = r->gpr[15];
	pt->ip = r->ip;
	pt->flags = r->flags;
}

/* Fetch and decode the instruction at ip without taking mmap_lock again. */
static int cg_fetch_decode(unsigned long ip, struct cg_insn *insn)
{
	u8 buf[CG_INSN_MAX_LEN];
	unsigned int len = sizeof(buf);

	if (copy_from_user_nofault(buf, (void __user *)ip, len)) {
		/* The instruction may end right before an unmapped page. */
		len = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(ip));
		if (copy_from_user_nofault(buf, (void __user *)ip, len))
			return -EFAULT;
	}
	return cg_decode(buf, len, insn);
}

/*
 * Why the write at vmf->real_address cannot be emulated, or
 * __COWGUARD_REFUSE_MAX when it can. @outside is set when the target is a
 * whole word whose old value is outside the band: a site patched to skip
 * band values runs such a write as it is (cg_proof_note()).
 */
static enum cowguard_refuse_reason cg_check_emulate(struct cg_view *view,
						    struct vm_fault *vmf,
						    bool user,
						    struct cg_regs *regs,
						    bool *outside)
{
	struct cg_region *region = view->region;
	struct pt_regs *pt = task_pt_regs(current);
	unsigned long addr = vmf->real_address, slot;
	struct cg_insn insn;
	u64 ea, old, new, mask;
	void *kaddr;

	if (!region->slot_map)
		return COWGUARD_REFUSE_NO_MAP;
	if (!user)
		return COWGUARD_REFUSE_KERNEL;
	if ((pt->flags & X86_EFLAGS_TF) || current->ptrace)
		return COWGUARD_REFUSE_TRACED;
	if (!user_64bit_mode(pt) || cg_fetch_decode(pt->ip, &insn))
		return COWGUARD_REFUSE_INSN;

	cg_regs_from_pt(regs, pt);
	ea = cg_effective_address(&insn, regs);
	/* One naturally aligned slot of the region's width, on this page,
	 * containing the faulting address.
	 */
	if (insn.width != region->slot_width || ea & (insn.width - 1) ||
	    addr < ea || addr >= ea + insn.width ||
	    (ea & PAGE_MASK) != (vmf->address & PAGE_MASK))
		return COWGUARD_REFUSE_NOT_SLOT;
	slot = ((vmf->pgoff << PAGE_SHIFT) + offset_in_page(ea)) / insn.width;
	kaddr = kmap_local_page(vmf->page);
	old = cg_slot_value(region, kaddr + offset_in_page(ea));	/* width checked */
	kunmap_local(kaddr);
	*outside = !cg_in_band(region, old);
	if (!test_bit(slot, region->slot_map))
		return COWGUARD_REFUSE_NOT_SLOT;

	cg_emulate(&insn, regs, old, &new);
	mask = insn.width == 4 ? U32_MAX : U64_MAX;
	new &= mask;
	if (!cg_in_band(region, old) || !cg_in_band(region, new))
		return COWGUARD_REFUSE_BAND;
	return __COWGUARD_REFUSE_MAX;
}

/*
 * The trap budget is a token bucket per page and process: up to
 * trap_budget emulated writes in a burst, one given back every
 * trap_refill_ms. A page written now and then stays shared for the life of
 * the process; a hot page still becomes a shadow after one burst, so it
 * costs one copy instead of endless traps.
 *
 * The shadow cap (cap.c) bounds what the budget may copy per process.
 * Over the cap the bucket keeps counting (into debt), so a page that is
 * still hot when reclaim frees room is the one that gets it. Called with
 * view->lock held.
 */
static bool cg_take_budget(struct cg_view *view, unsigned long idx)
{
	struct cg_region *region = view->region;
	struct cg_page_state *ps = &view->state[idx];
	u32 refill_ms = region->trap_refill_ms ?: READ_ONCE(cg_trap_refill_ms);
	u32 now = (u32)jiffies;

	lockdep_assert_held(&view->lock);
	if (ps->spent && refill_ms && refill_ms != COWGUARD_REFILL_NEVER) {
		u32 period = max_t(u32, msecs_to_jiffies(refill_ms), 1);
		u32 earned = (now - ps->stamp) / period;

		if (earned >= ps->spent) {
			ps->spent = 0;
		} else {
			ps->spent -= earned;
			ps->stamp += earned * period;
		}
	}
	if (region->trap_budget < U16_MAX && ps->spent >= region->trap_budget) {
		if (cg_cap_allows_copy(view))
			return false;
		atomic64_inc(&view->capped);
	}
	if (!ps->spent)
		ps->stamp = now;	/* the refill clock starts with the first */
	if (ps->spent < U16_MAX)
		ps->spent++;
	return true;
}

/**
 * cg_try_emulate() - emulate and drop a refcount-only write
 * @view: the faulting process's view
 * @vmf: the write fault on a page this process may not write in place,
 *	vmf->page the golden page
 * @user: the fault is a user-mode instruction of current, in its own mm
 *
 * Called from ->fault or ->page_mkwrite with mmap_lock held for read
 * (fault.c says why never only the per-VMA lock).
 *
 * Return: CG_EMULATED when the instruction was emulated (the caller returns
 * VM_FAULT_NOPAGE); otherwise the caller must make a shadow.
 */
enum cg_emulate_result cg_try_emulate(struct cg_view *view,
				      struct vm_fault *vmf, bool user)
{
	struct cg_region *region = view->region;
	enum cowguard_refuse_reason why;
	bool allowed, outside = false;
	struct cg_regs regs;

	why = cg_check_emulate(view, vmf, user, &regs, &outside);
	if (why != __COWGUARD_REFUSE_MAX) {
		atomic64_inc(&view->refused[why]);
		cg_sites_note(view, user, COWGUARD_SITE_WRITE);
		cg_proof_note(view, user, why, outside);
		return CG_REFUSED;
	}
	/* Before the registers move past the instruction. */
	cg_proof_note(view, user, why, false);
	spin_lock(&view->lock);
	allowed = cg_take_budget(view, vmf->pgoff);
	spin_unlock(&view->lock);
	if (!allowed) {
		atomic64_inc(&view->budget_shadows);
		atomic64_inc(&region->budget_shadows);
		cg_sites_note(view, user, COWGUARD_SITE_BUDGET);
		return CG_BUDGET_SPENT;
	}
	/* Before the registers move past the instruction. */
	cg_sites_note(view, user, COWGUARD_SITE_EMULATED);
	cg_regs_to_pt(task_pt_regs(current), &regs);
	atomic64_inc(&view->emulated);
	atomic64_inc(&region->emulated);
	return CG_EMULATED;
}
