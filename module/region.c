// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * Registration takes over a range of the caller's private anonymous memory
 * at the same address. The range is validated completely first (so a
 * refused call changes nothing), snapshotted into order-0 golden pages,
 * and then each of its VMAs is replaced by a MAP_SHARED mapping of the
 * region's file with the same protections. The file is an anon inode that
 * is never installed in a file table: only the registering ioctl maps it.
 *
 * Pages that read as zeros (never populated, or zeroed) are not copied:
 * they all map one zeroed page of the region, so registering untouched
 * MAP_NORESERVE memory materialises nothing. The other golden pages are
 * unswappable memory held for as long as any process of the tree maps
 * them, as mlocked or pinned memory is: like io_uring's and RDMA's pinned
 * buffers they are charged to the registering user's RLIMIT_MEMLOCK
 * (unless it has CAP_IPC_LOCK) and shown as the registering process's
 * VmPin in /proc/PID/status, besides its memory cgroup.
 *
 * Attributes of the range that a shared mapping of the region could not
 * keep are refused rather than dropped: a protection key other than the
 * default, a NUMA memory policy of the VMA, userfaultfd registration.
 * MADV_DONTDUMP is carried over.
 *
 * Unregistration is the inverse for one process: each of its VMAs of the
 * region becomes private anonymous memory again, holding that process's
 * view of the bytes.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/mempolicy.h>
#include <linux/mman.h>
#include <linux/mm.h>
#include <linux/pkeys.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

#include "cowguard.h"

/* At most this many VMAs in one registered range. */
#define CG_MAX_SEGMENTS	64

struct cg_segment {
	unsigned long start, end;
	unsigned long prot;
	unsigned long keep_flags;	/* VM_DONTDUMP, carried over */
};

static atomic64_t cg_next_id = ATOMIC64_INIT(1);

static void cg_region_release(struct kref *kref)
{
	struct cg_region *region = container_of(kref, struct cg_region, kref);
	unsigned long i;

	mutex_lock(&cg_regions_lock);
	list_del(&region->node);
	mutex_unlock(&cg_regions_lock);
	for (i = 0; i < region->npages; i++)
		if (region->golden[i])
			cg_page_put(region->golden[i]);
	if (region->zero_page)
		cg_page_put(region->zero_page);
	if (region->user)
		atomic_long_sub(region->locked_pages, &region->user->locked_vm);
	free_uid(region->user);
	if (region->mm) {
		atomic64_sub(region->locked_pages, &region->mm->pinned_vm);
		mmdrop(region->mm);
	}
	kvfree(region->golden);
	kvfree(region->slot_map);
	cg_proof_put(region->proof);
	put_pid(region->owner);
	kfree(region);
	atomic64_dec(&cg_nr_regions);
}

void cg_region_put(struct cg_region *region)
{
	kref_put(&region->kref, cg_region_release);
}

static unsigned long cg_vma_prot(struct vm_area_struct *vma)
{
	return (vma->vm_flags & VM_READ ? PROT_READ : 0) |
	       (vma->vm_flags & VM_WRITE ? PROT_WRITE : 0);
}

/*
 * Check that [start, end) is wholly private anonymous memory we may take
 * over, and record its VMAs. Called with mmap_lock held for read.
 */
static int cg_check_range(struct mm_struct *mm, unsigned long start,
			  unsigned long end, struct cg_segment *seg, int *nseg)
{
	unsigned long addr = start;
	struct vm_area_struct *vma;
	int n = 0;

	mmap_assert_locked(mm);
	while (addr < end) {
		vma = find_vma(mm, addr);
		if (!vma || vma->vm_start > addr)
			return -ENOMEM;	/* a hole, as mprotect() says */
		if (vma->vm_ops == &cg_vm_ops)
			return -EEXIST;
		if (is_vm_hugetlb_page(vma) ||
		    (vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP)))
			return -EACCES;
		if (!vma_is_anonymous(vma) || (vma->vm_flags & VM_MAYSHARE))
			return -EACCES;	/* file-backed, shared or special */
		if ((vma->vm_flags & (VM_GROWSDOWN | VM_GROWSUP | VM_EXEC)) ||
		    (vma->vm_start <= mm->start_stack &&
		     mm->start_stack < vma->vm_end))
			return -EACCES;
		if (vma->vm_flags & (VM_WIPEONFORK | VM_DONTCOPY))
			return -EACCES;	/* fork semantics we cannot keep */
		/* Written by the CPU, dropped under pressure, or not to be
		 * replaced (VM_NONE where the kernel has no such flag).
		 */
		if (vma->vm_flags & (VM_SHADOW_STACK | VM_DROPPABLE | VM_SEALED))
			return -EACCES;
		if (vma->vm_flags & VM_LOCKED)
			return -EPERM;
		/* What a shared mapping of the region would silently drop. */
		if (vma_pkey(vma) || vma_policy(vma) || userfaultfd_armed(vma))
			return -EACCES;
		if (n == CG_MAX_SEGMENTS)
			return -E2BIG;
		seg[n].start = addr;
		seg[n].end = min(vma->vm_end, end);
		seg[n].prot = cg_vma_prot(vma);
		seg[n].keep_flags = vma->vm_flags & VM_DONTDUMP;
		n++;
		addr = vma->vm_end;
	}
	*nseg = n;
	return 0;
}

/* May @mm register @npages more under max_register_mb? */
static bool cg_mm_may_register(struct mm_struct *mm, unsigned long npages)
{
	unsigned long max = (unsigned long)READ_ONCE(cg_max_register_mb) << (20 - PAGE_SHIFT);
	struct cg_region *region;
	struct cg_view *view;

	lockdep_assert_held(&cg_regions_lock);
	list_for_each_entry(region, &cg_regions, node) {
		mutex_lock(&region->lock);
		list_for_each_entry(view, &region->views, node)
			if (view->mm == mm)
				npages += region->npages;
		mutex_unlock(&region->lock);
	}
	return npages <= max;
}

static int cg_check_slots(const struct cowguard_register *req,
			  unsigned long npages)
{
	u64 max;

	if (!req->slot_width)
		return req->slot_map || req->slot_map_len || req->band_low ||
		       req->band_high ? -EINVAL : 0;
	if (req->slot_width != 4 && req->slot_width != 8)
		return -EINVAL;
	max = req->slot_width == 4 ? U32_MAX : U64_MAX;
	if (req->band_low < (req->slot_width == 4 ? COWGUARD_BAND_MIN_32 :
						    COWGUARD_BAND_MIN_64) ||
	    req->band_high < req->band_low || req->band_high > max)
		return -EINVAL;
	if (!req->slot_map || req->slot_map_len !=
	    DIV_ROUND_UP((npages << PAGE_SHIFT) / req->slot_width, 8))
		return -EINVAL;
	return 0;
}

/*
 * Copy the user's map (byte i, bit j = slot 8 * i + j) into a bitmap. On a
 * little-endian machine that is a bitmap's own layout, so it is copied
 * straight in: no second buffer, and no 32-bit bit count to overflow
 * (bitmap_from_arr32() truncates at 2^32 slots, 16 GiB of 4-byte slots).
 */
static unsigned long *cg_copy_slot_map(const struct cowguard_register *req,
				       unsigned long nslots)
{
	unsigned long *map;

	BUILD_BUG_ON(!IS_ENABLED(CONFIG_X86_64));	/* decode.c, and this */
	map = kvcalloc(BITS_TO_LONGS(nslots), sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!map)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(map, u64_to_user_ptr(req->slot_map),
			   req->slot_map_len)) {
		kvfree(map);
		return ERR_PTR(-EFAULT);
	}
	/* Bits past the last slot are not slots. */
	bitmap_clear(map, nslots, req->slot_map_len * BITS_PER_BYTE - nslots);
	return map;
}

/* Snapshot one page of the caller's memory, whatever its protection. */
static int cg_snapshot_page(struct page *page, unsigned long addr,
			    unsigned long prot)
{
	void *kaddr = kmap_local_page(page);
	int ret = 0;

	if (prot & PROT_READ) {
		if (copy_from_user(kaddr, (void __user *)addr, PAGE_SIZE))
			ret = -EFAULT;
	} else if (access_process_vm(current, addr, kaddr, PAGE_SIZE,
				     FOLL_FORCE) != PAGE_SIZE) {
		ret = -EFAULT;
	}
	kunmap_local(kaddr);
	return ret;
}

/* Every marked slot must hold a band value now, or dropping writes to it
 * would not be safe.
 */
static int cg_check_band(struct cg_region *region)
{
	unsigned long per_page = PAGE_SIZE / region->slot_width, idx, slot;
	int ret = 0;

	for (idx = 0; idx < region->npages && !ret; idx++) {
		unsigned long first = idx * per_page, last = first + per_page;
		const void *kaddr;

		slot = find_next_bit(region->slot_map, last, first);
		if (slot >= last)
			continue;
		kaddr = kmap_local_page(cg_golden_page(region, idx));
		for (; slot < last; slot = find_next_bit(region->slot_map, last, slot + 1))
			if (!cg_in_band(region, cg_slot_value(region, kaddr +
					(slot - first) * region->slot_width))) {
				ret = -ERANGE;
				break;
			}
		kunmap_local(kaddr);
		cond_resched();
	}
	return ret;
}

static int cg_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct cg_region *region = file->private_data;
	struct cg_view *view;

	/* Only the registering ioctl maps this file (it may be reopened
	 * through /proc/PID/map_files by a privileged user: refuse that).
	 */
	if (region->registrar != current || !(vma->vm_flags & VM_SHARED) ||
	    vma->vm_pgoff + vma_pages(vma) > region->npages ||
	    vma->vm_start != region->start + (vma->vm_pgoff << PAGE_SHIFT))
		return -EPERM;
	mutex_lock(&region->lock);
	view = list_first_entry_or_null(&region->views, struct cg_view, node);
	if (view)
		kref_get(&view->kref);
	mutex_unlock(&region->lock);
	if (!view || view->mm != vma->vm_mm) {
		if (view)
			cg_view_put(view);
		return -EPERM;
	}
	/* Executable registered memory is refused, so is making it so later.
	 * VM_MIXEDMAP makes fork copy the PTEs (vma_needs_copy()), as it
	 * does anonymous memory's: see cg_region_populate().
	 */
	vm_flags_mod(vma, VM_DONTEXPAND | VM_MIXEDMAP | region->map_flags,
		     VM_MAYEXEC);
	vma->vm_ops = &cg_vm_ops;
	vma->vm_private_data = view;
	view->mapped_pages += vma_pages(vma);
	return 0;
}

const struct file_operations cg_region_fops = {
	.owner = THIS_MODULE,
	.mmap = cg_region_mmap,
	/* msync(MS_SYNC) succeeds, as on the anonymous memory it replaces. */
	.fsync = noop_fsync,
	.llseek = noop_llseek,
};

/*
 * Map @view's golden pages read-only in its process, as the anonymous
 * memory they replace was mapped. Its children inherit these PTEs at fork
 * (VM_MIXEDMAP: copy_page_range() copies them, as it copies anonymous
 * PTEs), where a shared mapping would leave a child to take one read fault
 * per page it ever touches, which is most of what a prefork worker's
 * requests cost over plain fork's. Zero pages are left to fault in, so an
 * untouched range still costs no page tables. Best effort: a page not
 * mapped here faults in as before.
 *
 * Called with the region's VMAs in place; the write lock keeps every fault
 * (each runs under mmap_lock, fault.c), reclaim and fork away, so a page
 * still golden in the view is mapped nowhere else in this mm.
 */
static void cg_region_populate(struct cg_view *view)
{
	struct cg_region *region = view->region;
	unsigned long end = region->start + (region->npages << PAGE_SHIFT);
	unsigned long addr = region->start, idx, last;
	struct mm_struct *mm = view->mm;
	struct vm_area_struct *vma;

	mmap_write_lock(mm);
	while ((vma = find_vma(mm, addr)) && vma->vm_start < end) {
		addr = vma->vm_end;
		if (vma->vm_ops != &cg_vm_ops || vma->vm_private_data != view)
			continue;
		last = vma->vm_pgoff + vma_pages(vma);
		for (idx = vma->vm_pgoff; idx < last; idx++) {
			if (!(idx % 1024))
				cond_resched();
			if (!region->golden[idx] || view->pages[idx])
				continue;
			/* -EBUSY: mapped already; -ENOMEM: left to fault. */
			vm_insert_page(vma, region->start + (idx << PAGE_SHIFT),
				       region->golden[idx]);
		}
	}
	mmap_write_unlock(mm);
}

/*
 * Turn [seg->start, seg->end) of the caller back into private anonymous
 * memory holding @view's bytes. Other threads must not touch the range
 * meanwhile: they would see zeros until the copy lands.
 */
static int cg_restore_segment(struct cg_view *view, struct cg_segment *seg)
{
	struct cg_region *region = view->region;
	unsigned long addr, len = seg->end - seg->start, ret;
	int err = 0;

	/* A MAP_FIXED mmap unmaps the old range before it charges the commit
	 * limit, so under overcommit_memory=2 a refusal would leave a hole:
	 * try the charge elsewhere first. (Memory committed by someone else
	 * in between can still make the second fail.)
	 */
	ret = vm_mmap(NULL, 0, len, seg->prot, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(ret))
		return ret;
	vm_munmap(ret, len);
	ret = vm_mmap(NULL, seg->start, len, seg->prot,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	if (IS_ERR_VALUE(ret))
		return ret;
	for (addr = seg->start; addr < seg->end && !err; addr += PAGE_SIZE) {
		/* With a reference: reclaim may give the shadow back meanwhile. */
		struct page *page = cg_view_get_page(view, (addr - region->start) >>
						     PAGE_SHIFT);
		void *kaddr = kmap_local_page(page);

		/* Fresh anonymous memory reads as zeros already. */
		if (memchr_inv(kaddr, 0, PAGE_SIZE) &&
		    access_process_vm(current, addr, kaddr, PAGE_SIZE,
				      FOLL_FORCE | FOLL_WRITE) != PAGE_SIZE)
			err = -EFAULT;
		kunmap_local(kaddr);
		put_page(page);
		cond_resched();
	}
	return err;
}

static bool cg_page_is_zero(struct page *page)
{
	void *kaddr = kmap_local_page(page);
	bool zero = !memchr_inv(kaddr, 0, PAGE_SIZE);

	kunmap_local(kaddr);
	return zero;
}

/*
 * Charge one more golden page to the registering user's RLIMIT_MEMLOCK,
 * as io_uring does for its pinned buffers, and show it as VmPin.
 */
static int cg_charge_locked(struct cg_region *region, bool bypass)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	long cur = atomic_long_read(&region->user->locked_vm);

	do {
		if (!bypass && (unsigned long)cur + 1 > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&region->user->locked_vm, &cur, cur + 1));
	region->locked_pages++;
	atomic64_inc(&region->mm->pinned_vm);
	return 0;
}

/*
 * Take the caller's page at @addr into the region as golden page @idx, or
 * map it to the region's zero page. @spare is a page to copy into; it is
 * used up (set to NULL) when it becomes the golden page.
 */
static int cg_take_page(struct cg_region *region, unsigned long idx,
			unsigned long addr, unsigned long prot, struct page **spare,
			bool bypass)
{
	struct mm_struct *mm = current->mm;
	int ret;

	if (!*spare) {
		*spare = cg_page_alloc(mm, 0);
		if (!*spare)
			return -ENOMEM;
	}
	ret = cg_snapshot_page(*spare, addr, prot);
	if (ret)
		return ret;
	if (cg_page_is_zero(*spare)) {
		if (!region->zero_page) {
			region->zero_page = *spare;
			*spare = NULL;
		}
		return 0;	/* golden[idx] stays NULL: the zero page */
	}
	ret = cg_charge_locked(region, bypass);
	if (ret)
		return ret;
	region->golden[idx] = *spare;
	*spare = NULL;
	return 0;
}

static struct cg_region *cg_region_alloc(const struct cowguard_register *req)
{
	struct cg_region *region;

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return NULL;
	region->npages = req->length >> PAGE_SHIFT;
	region->golden = kvcalloc(region->npages, sizeof(struct page *),
				  GFP_KERNEL_ACCOUNT);
	if (!region->golden) {
		kfree(region);
		return NULL;
	}
	kref_init(&region->kref);
	mutex_init(&region->lock);
	INIT_LIST_HEAD(&region->views);
	INIT_LIST_HEAD(&region->node);
	region->id = atomic64_inc_return(&cg_next_id) - 1;
	region->start = req->start;
	region->owner = get_pid(task_tgid(current));
	region->slot_width = req->slot_width;
	region->band_low = req->band_low;
	region->band_high = req->band_high;
	region->trap_budget = req->trap_budget ?: READ_ONCE(cg_trap_budget);
	region->trap_refill_ms = req->trap_refill_ms;
	region->shadow_cap = req->shadow_cap;
	region->user = get_current_user();
	region->mm = current->mm;
	mmgrab(region->mm);
	atomic64_inc(&cg_nr_regions);
	return region;
}

static int cg_validate_register(const struct cowguard_register *req)
{
	unsigned long npages;

	if (req->flags & ~COWGUARD_REGISTER_F_ALL ||
	    memchr_inv(req->reserved, 0, sizeof(req->reserved)) ||
	    req->id)
		return -EINVAL;
	if (!req->length || !PAGE_ALIGNED(req->start) ||
	    !PAGE_ALIGNED(req->length) || req->start + req->length < req->start ||
	    req->start + req->length > TASK_SIZE)
		return -EINVAL;
	npages = req->length >> PAGE_SHIFT;
	if (npages > ((unsigned long)READ_ONCE(cg_max_register_mb) << (20 - PAGE_SHIFT)))
		return -E2BIG;
	return cg_check_slots(req, npages);
}

long cg_ioctl_register(struct file *file, void __user *arg)
{
	struct cg_segment *seg = NULL;
	struct mm_struct *mm = current->mm;
	struct cowguard_register req;
	struct cg_region *region = NULL;
	struct cg_view *view = NULL;
	struct file *rfile = NULL;
	struct page *spare = NULL;
	int ret, nseg = 0, mapped = 0, s;
	unsigned long i;
	bool bypass;
	u32 usize;

	ret = cg_copy_struct_in(&req, sizeof(req), arg, COWGUARD_REGISTER_SIZE_VER0, &usize);
	if (ret)
		return ret;
	ret = cg_validate_register(&req);
	if (ret)
		return ret;
	/* Early, before any work; checked again where it counts, below. */
	mutex_lock(&cg_regions_lock);
	ret = cg_mm_may_register(mm, req.length >> PAGE_SHIFT) ? 0 : -E2BIG;
	mutex_unlock(&cg_regions_lock);
	if (ret)
		return ret;

	seg = kcalloc(CG_MAX_SEGMENTS, sizeof(*seg), GFP_KERNEL);
	region = cg_region_alloc(&req);
	if (!seg || !region) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (req.slot_width) {
		region->slot_map = cg_copy_slot_map(&req, req.length / req.slot_width);
		if (IS_ERR(region->slot_map)) {
			ret = PTR_ERR(region->slot_map);
			region->slot_map = NULL;
			goto out_free;
		}
	}

	if (mmap_read_lock_killable(mm)) {
		ret = -EINTR;
		goto out_free;
	}
	ret = cg_check_range(mm, req.start, req.start + req.length, seg, &nseg);
	mmap_read_unlock(mm);
	if (ret)
		goto out_free;

	bypass = capable(CAP_IPC_LOCK);
	for (i = 0, s = 0; i < region->npages; i++) {
		unsigned long addr = req.start + (i << PAGE_SHIFT);

		while (addr >= seg[s].end)
			s++;
		ret = cg_take_page(region, i, addr, seg[s].prot, &spare, bypass);
		if (ret)
			goto out_free;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out_free;
		}
		cond_resched();
	}
	if (spare)
		cg_page_put(spare);
	spare = NULL;
	if (region->slot_map) {
		ret = cg_check_band(region);
		if (ret)
			goto out_free;
	}

	view = cg_view_create(region, mm, GFP_KERNEL_ACCOUNT);
	if (!view) {
		ret = -ENOMEM;
		goto out_free;
	}
	rfile = anon_inode_getfile("[cowguard]", &cg_region_fops, region, O_RDWR);
	if (IS_ERR(rfile)) {
		ret = PTR_ERR(rfile);
		rfile = NULL;
		goto out_free;
	}
	/* The check and the insertion under one lock: two threads of a
	 * process registering at once cannot both pass max_register_mb.
	 * The region's view is not counted until it is on the list.
	 */
	mutex_lock(&cg_regions_lock);
	ret = cg_mm_may_register(mm, region->npages) ? 0 : -E2BIG;
	if (!ret) {
		region->proof = cg_proof_get_for(mm);
		if (!region->proof)
			ret = -ENOMEM;
	}
	if (!ret)
		list_add_tail(&region->node, &cg_regions);
	mutex_unlock(&cg_regions_lock);
	if (ret)
		goto out_free;

	region->registrar = current;
	for (mapped = 0; mapped < nseg; mapped++) {
		unsigned long addr;

		region->map_flags = seg[mapped].keep_flags;
		addr = vm_mmap(rfile, seg[mapped].start,
			       seg[mapped].end - seg[mapped].start,
			       seg[mapped].prot, MAP_SHARED | MAP_FIXED,
			       seg[mapped].start - req.start);
		if (IS_ERR_VALUE(addr)) {
			ret = addr;
			break;
		}
	}
	region->registrar = NULL;
	if (ret) {
		/* Give back what was taken over, bytes as they were. */
		while (mapped--)
			cg_restore_segment(view, &seg[mapped]);
		goto out_free;
	}

	cg_region_populate(view);
	req.id = region->id;
	if (put_user(req.id, &((struct cowguard_register __user *)arg)->id))
		ret = -EFAULT;	/* registered all the same, like a lost read() */
out_free:
	if (spare)
		cg_page_put(spare);
	if (rfile)
		fput(rfile);
	/* The VMAs hold their own references to the view and the region. */
	if (view)
		cg_view_put(view);
	if (region)
		cg_region_put(region);
	kfree(seg);
	return ret;
}

long cg_ioctl_unregister(void __user *arg)
{
	struct mm_struct *mm = current->mm;
	struct cowguard_unregister req;
	struct cg_segment *seg;
	struct vm_area_struct *vma;
	struct cg_view *view = NULL;
	unsigned long addr, end;
	int ret, nseg = 0, s;
	u32 usize;

	ret = cg_copy_struct_in(&req, sizeof(req), arg, COWGUARD_UNREGISTER_SIZE_VER0, &usize);
	if (ret)
		return ret;
	if (req.flags & ~COWGUARD_UNREGISTER_F_ALL ||
	    memchr_inv(req.reserved, 0, sizeof(req.reserved)))
		return -EINVAL;
	seg = kcalloc(CG_MAX_SEGMENTS, sizeof(*seg), GFP_KERNEL);
	if (!seg)
		return -ENOMEM;

	if (mmap_read_lock_killable(mm)) {
		kfree(seg);
		return -EINTR;
	}
	vma = find_vma(mm, req.start);
	if (vma && vma->vm_start <= req.start && vma->vm_ops == &cg_vm_ops &&
	    vma->vm_private_data) {
		view = vma->vm_private_data;
		kref_get(&view->kref);
		addr = view->region->start;
		end = addr + (view->region->npages << PAGE_SHIFT);
		while ((vma = find_vma(mm, addr)) && vma->vm_start < end &&
		       nseg < CG_MAX_SEGMENTS) {
			addr = vma->vm_end;
			if (vma->vm_private_data != view)
				continue;
			seg[nseg].start = vma->vm_start;
			seg[nseg].end = vma->vm_end;
			seg[nseg].prot = cg_vma_prot(vma);
			nseg++;
		}
	}
	mmap_read_unlock(mm);
	if (!view) {
		kfree(seg);
		return -EINVAL;
	}
	for (s = 0; s < nseg; s++) {
		int err = cg_restore_segment(view, &seg[s]);

		ret = ret ?: err;
	}
	cg_view_put(view);
	kfree(seg);
	return ret;
}
