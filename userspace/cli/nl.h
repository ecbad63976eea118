/* SPDX-License-Identifier: GPL-2.0 */
/* The cowguard generic netlink family, as the CLI sees it. */
#ifndef CG_CLI_NL_H
#define CG_CLI_NL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/cowguard.h>

#define CG_MAX_TUNABLES	32

struct cg_tunable_info {
	char name[COWGUARD_TUNABLE_NAME_MAX];
	uint64_t value, min, max;
};

struct cg_module_info {
	char version[64];
	uint32_t abi_version, page_size;
	uint64_t live_pages, registrations, views, golden_pages;
	uint64_t mapped_pages, shadow_pages, emulated, budget_shadows;
	uint64_t reclaimed, reshadowed;
	uint64_t refused[__COWGUARD_REFUSE_MAX];
	struct cg_tunable_info tunables[CG_MAX_TUNABLES];
	size_t n_tunables;
};

struct cg_reg_info {
	uint64_t id, start, length, golden_pages, shadow_pages;
	uint64_t emulated, budget_shadows, reclaimed;
	uint32_t owner_pid, processes, trap_budget, slot_width;
};

struct cg_view_info {
	uint64_t id, reg_id;
	uint32_t pid;
	uint64_t mapped_pages, shadow_pages, read_faults, shadow_faults;
	uint64_t write_faults, emulated, budget_shadows, reclaimed, reshadowed;
	uint64_t budget_shadow_pages, capped, exclusive_shadow_pages;
	uint64_t refused[__COWGUARD_REFUSE_MAX];
};

struct cg_site_info {
	uint64_t view_id, reg_id;
	uint32_t pid, kind;
	uint64_t ip, count, error;
	int in_proof;			/* the registration's proof table has it */
	uint64_t proof_writes, proof_refused;
};

/* A growable array of one of the *_info structs. */
struct cg_list {
	void *items;
	size_t n, cap, size;
};

struct cg_nl;

/*
 * Every function returns 0 or a negative errno; -ENOENT from cg_nl_open()
 * means the family is not registered (the module is not loaded).
 * cg_nl_message() is the kernel's extended-ack message of the last error,
 * or "".
 */
int cg_nl_open(struct cg_nl **nl);
void cg_nl_close(struct cg_nl *nl);
const char *cg_nl_message(const struct cg_nl *nl);

int cg_nl_get_module(struct cg_nl *nl, struct cg_module_info *mod);
int cg_nl_set_tunable(struct cg_nl *nl, const char *name, uint64_t value);
/* pid 0: every process. The lists are initialised by the calls. */
int cg_nl_get_registrations(struct cg_nl *nl, struct cg_list *regs);
int cg_nl_get_views(struct cg_nl *nl, uint32_t pid, struct cg_list *views);
int cg_nl_get_sites(struct cg_nl *nl, uint32_t pid, struct cg_list *sites);

void cg_list_free(struct cg_list *list);
#define cg_list_at(list, type, i) (&((type *)(list)->items)[i])

/* Names of enum cowguard_refuse_reason and enum cowguard_site_kind. */
extern const char *const cg_refuse_names[__COWGUARD_REFUSE_MAX];
extern const char *const cg_site_kind_names[__COWGUARD_SITE_MAX];

#endif /* CG_CLI_NL_H */
