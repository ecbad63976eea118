/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DOC: Overview
 *
 * The one place that knows kernel versions. The module's files are written
 * against 6.12's interfaces; what 6.1 lacks is supplied here, each probed
 * by feature where a vendor 6.1 may carry a backport (module/Kbuild greps
 * the headers and sets CG_HAVE_*), so no other file tests a version.
 * Supported: the 6.1 and 6.12 LTS series (Debian 12's linux-image-amd64 and
 * linux-image-6.12-amd64); module/Kbuild refuses any other.
 */
#ifndef _COWGUARD_COMPAT_H
#define _COWGUARD_COMPAT_H

#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <net/genetlink.h>

/*
 * VMA flags are read-only on 6.12 (changing them write-locks the VMA for
 * the per-VMA lock's readers); 6.1 writes the field.
 */
#ifndef CG_HAVE_VM_FLAGS_MOD
static inline void vm_flags_mod(struct vm_area_struct *vma, vm_flags_t set,
				vm_flags_t clear)
{
	mmap_assert_write_locked(vma->vm_mm);
	vma->vm_flags = (vma->vm_flags | set) & ~clear;
}
#endif

/*
 * 6.1 exports zap_page_range() (any range) but not its one-VMA variant
 * zap_page_range_single(); 6.12 has only the latter, exported. Every zap
 * here is of pages inside one VMA, which both do the same way.
 */
#ifndef CG_HAVE_ZAP_SINGLE_EXPORTED
static inline void cg_zap_page_range_single(struct vm_area_struct *vma,
					    unsigned long address,
					    unsigned long size,
					    struct zap_details *details)
{
	zap_page_range(vma, address, size);
}

#define zap_page_range_single cg_zap_page_range_single
#endif

/*
 * 6.12 allocates shrinkers itself (shrinker_alloc(), freed after an RCU
 * grace period); 6.1 registers a caller's. Only what reclaim.c uses is
 * provided.
 */
#ifndef CG_HAVE_SHRINKER_ALLOC
/* 6.1 names a shrinker when it is registered: the module's name. */
static inline __printf(2, 3)
struct shrinker *shrinker_alloc(unsigned int flags, const char *fmt, ...)
{
	return kzalloc(sizeof(struct shrinker), GFP_KERNEL);
}

static inline int cg_shrinker_register(struct shrinker *shrinker)
{
	return register_shrinker(shrinker, KBUILD_MODNAME);
}

static inline void shrinker_free(struct shrinker *shrinker)
{
	if (!shrinker)
		return;
	unregister_shrinker(shrinker);	/* a no-op when not registered */
	kfree(shrinker);
}
#else
/* shrinker_register() cannot fail; 6.1's register_shrinker() can. */
static inline int cg_shrinker_register(struct shrinker *shrinker)
{
	shrinker_register(shrinker);
	return 0;
}
#endif

/*
 * A dump's parsed attributes: in struct genl_dumpit_info's attrs on 6.1,
 * in its struct genl_info on 6.12 (genl_info_dump()).
 */
#ifdef CG_HAVE_GENL_INFO_DUMP
static inline struct nlattr **cg_dump_attrs(struct netlink_callback *cb)
{
	return genl_info_dump(cb)->attrs;
}
#else
static inline struct nlattr **cg_dump_attrs(struct netlink_callback *cb)
{
	return genl_dumpit_info(cb)->attrs;
}
#endif

/*
 * VMA flags that 6.12 has and 6.1 does not, refused at registration: a
 * shadow stack is written by the CPU on calls, a droppable mapping may
 * lose its contents, a sealed one must not be replaced by our mapping.
 */
#ifndef VM_SHADOW_STACK
#define VM_SHADOW_STACK	VM_NONE
#endif
#ifndef VM_DROPPABLE
#define VM_DROPPABLE	VM_NONE
#endif
#ifndef VM_SEALED
#define VM_SEALED	VM_NONE
#endif

/*
 * Who made a write fault, as ->page_mkwrite can tell. do_page_mkwrite()
 * replaces vmf->flags with FAULT_FLAG_WRITE | FAULT_FLAG_MKWRITE on both
 * kernels, so FAULT_FLAG_USER is lost there; handle_mm_fault() also sets
 * current->in_user_fault for a fault from user mode, but only when memcg
 * v1's OOM handling is built in: CONFIG_MEMCG on 6.1, CONFIG_MEMCG_V1 on
 * 6.12 (off in Debian's 6.12). Without it the caller cannot decide in
 * ->page_mkwrite and must let the access come back through ->fault,
 * which sees the fault's own flags.
 */
enum cg_fault_origin {
	CG_FAULT_KERNEL,	/* kernel mode, GUP, another mm */
	CG_FAULT_USER,		/* a user instruction of current's own mm */
	CG_FAULT_UNKNOWN,	/* ->page_mkwrite without in_user_fault */
};

#ifdef CG_HAVE_IN_USER_FAULT
static inline enum cg_fault_origin cg_mkwrite_origin(struct vm_fault *vmf)
{
	if (!current->in_user_fault || current->mm != vmf->vma->vm_mm ||
	    (current->flags & PF_KTHREAD))
		return CG_FAULT_KERNEL;
	return CG_FAULT_USER;
}
#else
static inline enum cg_fault_origin cg_mkwrite_origin(struct vm_fault *vmf)
{
	return CG_FAULT_UNKNOWN;
}
#endif

#endif /* _COWGUARD_COMPAT_H */
