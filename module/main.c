// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * cowguard keeps a preforking master's heap shared with its workers although
 * their runtime writes reference counts into it. This file only wires the
 * module together: parameters, the misc device, init and exit.
 */
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/cowguard.h>

#include "cowguard.h"
#include "version.h"

static struct miscdevice cowguard_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = COWGUARD_DEVICE_NAME,
	.fops = &cowguard_dev_fops,
	.mode = 0660,
};

static int __init cowguard_init(void)
{
	int ret;

	ret = misc_register(&cowguard_misc);
	if (ret)
		return ret;
	pr_info("version %s loaded, ABI %d\n", COWGUARD_VERSION,
		COWGUARD_ABI_VERSION);
	return 0;
}

static void __exit cowguard_exit(void)
{
	misc_deregister(&cowguard_misc);
}

module_init(cowguard_init);
module_exit(cowguard_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keep a preforking master's heap shared despite refcount writes");
MODULE_VERSION(COWGUARD_VERSION);
