// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * /dev/cowguard: the ioctl entry points. Each handler copies its struct in,
 * validates it completely, and only then acts, so a refused call changes
 * nothing.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/cowguard.h>

#include "cowguard.h"

static long cowguard_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	switch (cmd) {
	case COWGUARD_IOC_VERSION:
		return COWGUARD_ABI_VERSION;
	default:
		return -ENOTTY;
	}
}

const struct file_operations cowguard_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = cowguard_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
