/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The module's tunables: one table (tunables.c) that the module parameters
 * in sysfs, netlink's COWGUARD_CMD_SET_TUNABLE and COWGUARD_CMD_GET_MODULE
 * all use, so that every interface accepts the same values.
 */
#ifndef _COWGUARD_TUNABLES_H
#define _COWGUARD_TUNABLES_H

#include <linux/types.h>

/**
 * struct cg_tunable - a module parameter and the values it takes.
 * @name: the module parameter's name.
 * @value: the parameter.
 * @min: the smallest value accepted.
 * @max: the largest value accepted.
 * @changed: called after a change, with the module's parameter lock held.
 */
struct cg_tunable {
	const char *name;
	unsigned int *value;
	unsigned int min;
	unsigned int max;
	void (*changed)(void);
};

extern const struct cg_tunable cg_tunables[];
extern const unsigned int cg_nr_tunables;

const struct cg_tunable *cg_tunable_find(const char *name);
int cg_tunable_set(const struct cg_tunable *t, u64 v);

#endif /* _COWGUARD_TUNABLES_H */
