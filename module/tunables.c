// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Tunables
 *
 * Each tunable's range is defined once, here: the module parameters (at
 * load time and in /sys/module/cowguard/parameters), COWGUARD_CMD_SET_TUNABLE
 * and the ranges COWGUARD_CMD_GET_MODULE reports all check or print
 * cg_tunables[]. A value outside the range is refused with ERANGE through
 * every interface (sysfs and netlink alike) and changes nothing; a string
 * sysfs cannot parse as a number is EINVAL. modinfo shows each range too.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/stringify.h>

#include "cowguard.h"
#include "tunables.h"

/* Traps are counted per page in a u16 (emulate.c): 65535 is no limit. */
#define CG_TRAP_BUDGET_MIN		0
#define CG_TRAP_BUDGET_MAX		65535
/* 0 and 4294967295 (COWGUARD_REFILL_NEVER) both never refill. */
#define CG_TRAP_REFILL_MS_MIN		0
#define CG_TRAP_REFILL_MS_MAX		4294967295
#define CG_SHADOW_CAP_PCT_MIN		0
#define CG_SHADOW_CAP_PCT_MAX		100
/* A day: longer is as good as off (0). */
#define CG_RECLAIM_INTERVAL_MS_MIN	0
#define CG_RECLAIM_INTERVAL_MS_MAX	86400000
/* The scanner looks at one at least; 2^24 shadows are 64 GiB. */
#define CG_RECLAIM_BATCH_MIN		1
#define CG_RECLAIM_BATCH_MAX		16777216
/*
 * 32 GiB. A registration's kvmalloc'd arrays grow with its length: the slot
 * map of 4-byte slots is length / 32 bytes (as the user's copy and as a
 * bitmap), the golden array length / 512. kvmalloc() WARNs at INT_MAX bytes,
 * which the slot map reaches at 64 GiB (a panic with panic_on_warn); 32 GiB
 * keeps every array at half of that or less.
 */
/* COWGUARD_IOC_SITES answers (1) or fails with EOPNOTSUPP (0). */
#define CG_SITE_PATCHING_MIN		0
#define CG_SITE_PATCHING_MAX		1
#define CG_MAX_REGISTER_MB_MIN		1
#define CG_MAX_REGISTER_MB_MAX		32768

unsigned int cg_max_register_mb = 16384;
unsigned int cg_trap_budget = 64;
unsigned int cg_trap_refill_ms = 1000;
unsigned int cg_shadow_cap_pct = 4;
unsigned int cg_reclaim_interval_ms = 5000;
unsigned int cg_reclaim_batch = 4096;
unsigned int cg_site_patching = 1;

#define CG_TUNABLE(_name, _NAME, _changed)				\
	{ #_name, &cg_##_name, _NAME##_MIN, _NAME##_MAX, _changed }

const struct cg_tunable cg_tunables[] = {
	CG_TUNABLE(trap_budget, CG_TRAP_BUDGET, NULL),
	CG_TUNABLE(trap_refill_ms, CG_TRAP_REFILL_MS, NULL),
	CG_TUNABLE(shadow_cap_pct, CG_SHADOW_CAP_PCT, NULL),
	CG_TUNABLE(reclaim_interval_ms, CG_RECLAIM_INTERVAL_MS, cg_reclaim_kick),
	CG_TUNABLE(reclaim_batch, CG_RECLAIM_BATCH, NULL),
	CG_TUNABLE(max_register_mb, CG_MAX_REGISTER_MB, NULL),
	CG_TUNABLE(site_patching, CG_SITE_PATCHING, NULL),
};

const unsigned int cg_nr_tunables = ARRAY_SIZE(cg_tunables);

const struct cg_tunable *cg_tunable_find(const char *name)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(cg_tunables); i++)
		if (!strcmp(cg_tunables[i].name, name))
			return &cg_tunables[i];
	return NULL;
}

/**
 * cg_tunable_set() - set a tunable if @v is in its range
 * @t: the tunable
 * @v: the new value
 *
 * Called with the module's parameter lock held (kernel_param_lock()), as
 * the module parameter code holds it for sysfs, so that two setters cannot
 * interleave the value and its ->changed() call.
 *
 * Return: 0, or -ERANGE (nothing changed).
 */
int cg_tunable_set(const struct cg_tunable *t, u64 v)
{
	if (v < t->min || v > t->max)
		return -ERANGE;
	WRITE_ONCE(*t->value, v);
	if (t->changed)
		t->changed();
	return 0;
}

static int cg_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(cg_tunables); i++)
		if (cg_tunables[i].value == kp->arg)
			break;
	if (WARN_ON_ONCE(i == ARRAY_SIZE(cg_tunables)))
		return -EINVAL;
	/* As param_set_uint(): EINVAL for no number, ERANGE past U32_MAX. */
	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	return cg_tunable_set(&cg_tunables[i], v);
}

static const struct kernel_param_ops cg_param_ops = {
	.set = cg_param_set,
	.get = param_get_uint,
};

/* " [min..max]" for modinfo, from the same definitions as the table. */
#define CG_RANGE(_min, _max)	" [" __stringify(_min) ".." __stringify(_max) "]"

module_param_cb(max_register_mb, &cg_param_ops, &cg_max_register_mb, 0644);
MODULE_PARM_DESC(max_register_mb, "Registered memory allowed per process, MiB (default 16384)"
		 CG_RANGE(CG_MAX_REGISTER_MB_MIN, CG_MAX_REGISTER_MB_MAX));
module_param_cb(trap_budget, &cg_param_ops, &cg_trap_budget, 0644);
MODULE_PARM_DESC(trap_budget, "Emulated writes per page and process in a burst before the page is copied (default 64; 65535 no limit)"
		 CG_RANGE(CG_TRAP_BUDGET_MIN, CG_TRAP_BUDGET_MAX));
module_param_cb(trap_refill_ms, &cg_param_ops, &cg_trap_refill_ms, 0644);
MODULE_PARM_DESC(trap_refill_ms, "One emulated write per page and process is given back every this many ms (default 1000; 0 never)"
		 CG_RANGE(CG_TRAP_REFILL_MS_MIN, CG_TRAP_REFILL_MS_MAX));
module_param_cb(shadow_cap_pct, &cg_param_ops, &cg_shadow_cap_pct, 0644);
MODULE_PARM_DESC(shadow_cap_pct, "Most shadows the trap budget may make per process, % of its registered pages, at least 256 (default 4; 0 no cap)"
		 CG_RANGE(CG_SHADOW_CAP_PCT_MIN, CG_SHADOW_CAP_PCT_MAX));
module_param_cb(reclaim_interval_ms, &cg_param_ops, &cg_reclaim_interval_ms, 0644);
MODULE_PARM_DESC(reclaim_interval_ms, "Period of the scanner that gives back refcount-only shadows, ms (default 5000; 0 off)"
		 CG_RANGE(CG_RECLAIM_INTERVAL_MS_MIN, CG_RECLAIM_INTERVAL_MS_MAX));
module_param_cb(reclaim_batch, &cg_param_ops, &cg_reclaim_batch, 0644);
MODULE_PARM_DESC(reclaim_batch, "Shadows per process the scanner looks at per period (default 4096)"
		 CG_RANGE(CG_RECLAIM_BATCH_MIN, CG_RECLAIM_BATCH_MAX));
module_param_cb(site_patching, &cg_param_ops, &cg_site_patching, 0644);
MODULE_PARM_DESC(site_patching, "Report proven refcount instruction sites to patchers (COWGUARD_IOC_SITES); 0 turns patching off (default 1)"
		 CG_RANGE(CG_SITE_PATCHING_MIN, CG_SITE_PATCHING_MAX));
