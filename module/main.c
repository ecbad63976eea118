// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * cowguard keeps a preforking master's heap shared with its workers although
 * their runtime writes reference counts into it. This file wires the module
 * together: parameters, module-wide figures, the misc device, init and exit.
 */
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "cowguard.h"
#include "version.h"

unsigned int cg_max_register_mb = 16384;
module_param_named(max_register_mb, cg_max_register_mb, uint, 0644);
MODULE_PARM_DESC(max_register_mb, "Registered memory allowed per process, MiB (default 16384)");

unsigned int cg_trap_budget = 64;
module_param_named(trap_budget, cg_trap_budget, uint, 0644);
MODULE_PARM_DESC(trap_budget, "Emulated writes per page and process in a burst before the page is copied (default 64)");

unsigned int cg_trap_refill_ms = 1000;
module_param_named(trap_refill_ms, cg_trap_refill_ms, uint, 0644);
MODULE_PARM_DESC(trap_refill_ms, "One emulated write per page and process is given back every this many ms (default 1000; 0 never)");

unsigned int cg_shadow_cap_pct = 4;
module_param_named(shadow_cap_pct, cg_shadow_cap_pct, uint, 0644);
MODULE_PARM_DESC(shadow_cap_pct, "Most shadows the trap budget may make per process, % of its registered pages, at least 256 (default 4; 0 no cap)");

unsigned int cg_reclaim_interval_ms = 5000;
static int cg_set_reclaim_interval(const char *val, const struct kernel_param *kp)
{
	int ret = param_set_uint(val, kp);

	if (!ret)
		cg_reclaim_kick();
	return ret;
}

static const struct kernel_param_ops cg_reclaim_interval_ops = {
	.set = cg_set_reclaim_interval,
	.get = param_get_uint,
};

module_param_cb(reclaim_interval_ms, &cg_reclaim_interval_ops,
		&cg_reclaim_interval_ms, 0644);
MODULE_PARM_DESC(reclaim_interval_ms, "Period of the scanner that gives back refcount-only shadows, ms (default 5000; 0 off)");

unsigned int cg_reclaim_batch = 4096;
module_param_named(reclaim_batch, cg_reclaim_batch, uint, 0644);
MODULE_PARM_DESC(reclaim_batch, "Shadows per process the scanner looks at per period (default 4096)");

/* Pages the module holds (golden and shadow) and live registrations: both
 * return to zero when the last process of every registration is gone.
 */
atomic64_t cg_live_pages = ATOMIC64_INIT(0);
atomic64_t cg_nr_regions = ATOMIC64_INIT(0);
/* Shadow entries over all views: what the shrinker may look at. */
atomic64_t cg_shadow_pages = ATOMIC64_INIT(0);

/* Protects cg_regions; taken outside any region->lock. */
DEFINE_MUTEX(cg_regions_lock);
LIST_HEAD(cg_regions);

static struct miscdevice cowguard_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = COWGUARD_DEVICE_NAME,
	.fops = &cowguard_dev_fops,
	.groups = cg_dev_groups,
	.mode = 0660,
};

static int __init cowguard_init(void)
{
	int ret;

	ret = misc_register(&cowguard_misc);
	if (ret)
		return ret;
	ret = cg_netlink_init();
	if (ret)
		goto out_misc;
	ret = cg_reclaim_init();
	if (ret)
		goto out_netlink;
	pr_info("version %s loaded, ABI %d\n", COWGUARD_VERSION,
		COWGUARD_ABI_VERSION);
	return 0;

out_netlink:
	cg_netlink_exit();
out_misc:
	misc_deregister(&cowguard_misc);
	return ret;
}

static void __exit cowguard_exit(void)
{
	cg_reclaim_exit();
	cg_netlink_exit();
	misc_deregister(&cowguard_misc);
	WARN_ON(atomic64_read(&cg_live_pages));
}

module_init(cowguard_init);
module_exit(cowguard_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keep a preforking master's heap shared despite refcount writes");
MODULE_VERSION(COWGUARD_VERSION);
