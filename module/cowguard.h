/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _COWGUARD_H
#define _COWGUARD_H

#include <linux/fs.h>

extern const struct file_operations cowguard_dev_fops;

#endif /* _COWGUARD_H */
