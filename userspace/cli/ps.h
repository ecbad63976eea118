/* SPDX-License-Identifier: GPL-2.0 */
/* Views summed per process, shared by ps and top. */
#ifndef CG_CLI_PS_H
#define CG_CLI_PS_H

#include <stddef.h>
#include <stdint.h>

#include "nl.h"

struct ps_proc {
	struct cg_view_info sum;	/* pid and the sums of its views */
	uint64_t shared;		/* mapped - shadow pages */
	char comm[32];
	size_t first, nviews;		/* its views in the sorted list */
};

/* Sorts @views by pid and sums them into *@out (free() it), sorted by
 * pages kept shared. Return: 0, or -1 when out of memory.
 */
int ps_collect(struct cg_list *views, struct ps_proc **out, size_t *n);
uint64_t ps_refused(const struct cg_view_info *v);
void ps_print_header(void);
void ps_print_proc(const struct ps_proc *p, uint32_t page_size);

#endif /* CG_CLI_PS_H */
