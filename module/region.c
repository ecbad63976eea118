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
 * Unregistration is the inverse for one process: each of its VMAs of the
 * region becomes private anonymous memory again, holding that process's
 * view of the bytes.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/mman.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "cowguard.h"

/* At most this many VMAs in one registered range. */
#define CG_MAX_SEGMENTS	64

struct cg_segment {
	unsigned long start, end;
	unsigned long prot;
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
	kvfree(region->golden);
	kvfree(region->slot_map);
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
		if (vma->vm_flags & VM_LOCKED)
			return -EPERM;
		if (n == CG_MAX_SEGMENTS)
			return -E2BIG;
		seg[n].start = addr;
		seg[n].end = min(vma->vm_end, end);
		seg[n].prot = cg_vma_prot(vma);
		n++;
		addr = vma->vm_end;
	}
	*nseg = n;
	return 0;
}

/* Pages this mm already has registered, against max_register_mb. */
static unsigned long cg_mm_registered_pages(struct mm_struct *mm)
{
	struct cg_region *region;
	struct cg_view *view;
	unsigned long pages = 0;

	mutex_lock(&cg_regions_lock);
	list_for_each_entry(region, &cg_regions, node) {
		mutex_lock(&region->lock);
		list_for_each_entry(view, &region->views, node)
			if (view->mm == mm)
				pages += region->npages;
		mutex_unlock(&region->lock);
	}
	mutex_unlock(&cg_regions_lock);
	return pages;
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

/* Copy the user's bitmap (byte i, bit j = slot 8 * i + j) into a bitmap. */
static unsigned long *cg_copy_slot_map(const struct cowguard_register *req,
				       unsigned long nslots)
{
	unsigned long *map;
	u8 *bytes;

	bytes = kvmalloc(req->slot_map_len, GFP_KERNEL_ACCOUNT);
	if (!bytes)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(bytes, u64_to_user_ptr(req->slot_map),
			   req->slot_map_len)) {
		kvfree(bytes);
		return ERR_PTR(-EFAULT);
	}
	map = kvcalloc(BITS_TO_LONGS(nslots), sizeof(long), GFP_KERNEL_ACCOUNT);
	if (!map) {
		kvfree(bytes);
		return ERR_PTR(-ENOMEM);
	}
	bitmap_from_arr32(map, (u32 *)bytes, nslots);
	kvfree(bytes);
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
	unsigned long per_page = PAGE_SIZE / region->slot_width, slot;
	unsigned long nslots = region->npages * per_page;

	for_each_set_bit(slot, region->slot_map, nslots) {
		struct page *page = region->golden[slot / per_page];
		unsigned int off = (slot % per_page) * region->slot_width;
		void *kaddr = kmap_local_page(page);
		u64 val = cg_slot_value(region, kaddr + off);

		kunmap_local(kaddr);
		if (!cg_in_band(region, val))
			return -ERANGE;
	}
	return 0;
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
	vma->vm_flags |= VM_DONTEXPAND;
	vma->vm_ops = &cg_vm_ops;
	vma->vm_private_data = view;
	view->mapped_pages += vma_pages(vma);
	return 0;
}

const struct file_operations cg_region_fops = {
	.owner = THIS_MODULE,
	.mmap = cg_region_mmap,
	.llseek = noop_llseek,
};

/*
 * Turn [seg->start, seg->end) of the caller back into private anonymous
 * memory holding @view's bytes. Other threads must not touch the range
 * meanwhile: they would see zeros until the copy lands.
 */
static int cg_restore_segment(struct cg_view *view, struct cg_segment *seg)
{
	struct cg_region *region = view->region;
	unsigned long addr, ret;
	int err = 0;

	ret = vm_mmap(NULL, seg->start, seg->end - seg->start,
		      seg->prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, 0);
	if (IS_ERR_VALUE(ret))
		return ret;
	for (addr = seg->start; addr < seg->end && !err; addr += PAGE_SIZE) {
		unsigned long idx = (addr - region->start) >> PAGE_SHIFT;
		unsigned long entry = READ_ONCE(view->pages[idx]);
		struct page *page = cg_view_page(view, entry, idx);
		void *kaddr = kmap_local_page(page);

		/* Fresh anonymous memory reads as zeros already. */
		if (memchr_inv(kaddr, 0, PAGE_SIZE) &&
		    access_process_vm(current, addr, kaddr, PAGE_SIZE,
				      FOLL_FORCE | FOLL_WRITE) != PAGE_SIZE)
			err = -EFAULT;
		kunmap_local(kaddr);
	}
	return err;
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
	unsigned long i, max_pages;
	int ret, nseg = 0, mapped = 0;
	u32 usize;

	ret = cg_copy_struct_in(&req, sizeof(req), arg, COWGUARD_REGISTER_SIZE_VER0, &usize);
	if (ret)
		return ret;
	ret = cg_validate_register(&req);
	if (ret)
		return ret;
	max_pages = (unsigned long)READ_ONCE(cg_max_register_mb) << (20 - PAGE_SHIFT);
	if (cg_mm_registered_pages(mm) + (req.length >> PAGE_SHIFT) > max_pages)
		return -E2BIG;

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

	for (i = 0; i < region->npages; i++) {
		unsigned long addr = req.start + (i << PAGE_SHIFT);
		int s;

		for (s = 0; addr >= seg[s].end; s++)
			;
		region->golden[i] = cg_page_alloc();
		if (!region->golden[i]) {
			ret = -ENOMEM;
			goto out_free;
		}
		ret = cg_snapshot_page(region->golden[i], addr, seg[s].prot);
		if (ret)
			goto out_free;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto out_free;
		}
		cond_resched();
	}
	if (region->slot_map) {
		ret = cg_check_band(region);
		if (ret)
			goto out_free;
	}

	view = cg_view_create(region, mm);
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
	mutex_lock(&cg_regions_lock);
	list_add_tail(&region->node, &cg_regions);
	mutex_unlock(&cg_regions_lock);

	region->registrar = current;
	for (mapped = 0; mapped < nseg; mapped++) {
		unsigned long addr;

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

	req.id = region->id;
	if (put_user(req.id, &((struct cowguard_register __user *)arg)->id))
		ret = -EFAULT;	/* registered all the same, like a lost read() */
out_free:
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
