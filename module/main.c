// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * cowguard keeps a preforking master's heap shared with its workers although
 * their runtime writes reference counts into it. This file wires the module
 * together: module-wide figures, the misc device, init and exit (the
 * parameters are in tunables.c).
 */
#include <linux/miscdevice.h>
#include <linux/module.h>

#include "cowguard.h"
#include "version.h"

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
