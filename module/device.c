// SPDX-License-Identifier: GPL-2.0
/*
 * DOC: Overview
 *
 * /dev/cowguard: the ioctl entry points and the device's sysfs figures.
 * Each handler copies its struct in, validates it completely, and only then
 * acts, so a refused call changes nothing.
 */
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched.h>

#include "cowguard.h"

/**
 * cg_copy_struct_in() - copy in an ioctl struct that starts with its size
 * @dst: kernel struct
 * @ksize: sizeof(*dst)
 * @arg: user struct
 * @min_size: the oldest size this struct was ever built with
 * @usize: out: the caller's size
 *
 * Return: 0; -EFAULT, -EINVAL (smaller than @min_size) or -E2BIG (a larger
 * struct whose unknown tail is not zero, or one over PAGE_SIZE).
 */
int cg_copy_struct_in(void *dst, size_t ksize, void __user *arg,
		      u32 min_size, u32 *usize)
{
	if (get_user(*usize, (u32 __user *)arg))
		return -EFAULT;
	if (*usize < min_size)
		return -EINVAL;
	/*
	 * No struct will grow to a page; a larger size is a lie that would
	 * have the tail check read gigabytes. As clone3() and openat2().
	 */
	if (*usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, arg, *usize);
}

static long cowguard_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (cmd != COWGUARD_IOC_VERSION && !current->mm)
		return -EINVAL;
	switch (cmd) {
	case COWGUARD_IOC_VERSION:
		return COWGUARD_ABI_VERSION;
	case COWGUARD_IOC_REGISTER:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return cg_ioctl_register(file, uarg);
	case COWGUARD_IOC_UNREGISTER:
		return cg_ioctl_unregister(uarg);
	case COWGUARD_IOC_STATS:
		return cg_ioctl_stats(uarg);
	case COWGUARD_IOC_SITES:
		return cg_ioctl_sites(uarg);
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

static ssize_t live_pages_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&cg_live_pages));
}
static DEVICE_ATTR_RO(live_pages);

static ssize_t registrations_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&cg_nr_regions));
}
static DEVICE_ATTR_RO(registrations);

static struct attribute *cg_dev_attrs[] = {
	&dev_attr_live_pages.attr,
	&dev_attr_registrations.attr,
	NULL,
};

static const struct attribute_group cg_dev_group = {
	.attrs = cg_dev_attrs,
};

const struct attribute_group *cg_dev_groups[] = {
	&cg_dev_group,
	NULL,
};
