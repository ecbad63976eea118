// SPDX-License-Identifier: GPL-2.0
/* cowguard status: module totals, tunables and registrations. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

/* Pages processes map but do not hold a copy of, beyond the golden ones. */
static uint64_t saved_pages(const struct cg_module_info *m)
{
	uint64_t held = m->golden_pages + m->shadow_pages;

	return m->mapped_pages > held ? m->mapped_pages - held : 0;
}

static void status_json(struct cli *cli, const struct cg_module_info *m,
			const struct cg_list *regs)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_object(&j, NULL);
	json_object(&j, "module");
	json_string(&j, "version", m->version);
	json_u64(&j, "abi_version", m->abi_version);
	json_u64(&j, "page_size", m->page_size);
	json_u64(&j, "live_pages", m->live_pages);
	json_u64(&j, "registrations", m->registrations);
	json_u64(&j, "views", m->views);
	json_u64(&j, "golden_pages", m->golden_pages);
	json_u64(&j, "mapped_pages", m->mapped_pages);
	json_u64(&j, "shadow_pages", m->shadow_pages);
	json_u64(&j, "shared_pages", m->mapped_pages - m->shadow_pages);
	json_u64(&j, "saved_pages", saved_pages(m));
	json_u64(&j, "emulated", m->emulated);
	json_u64(&j, "budget_shadows", m->budget_shadows);
	json_u64(&j, "reclaimed", m->reclaimed);
	json_u64(&j, "reshadowed", m->reshadowed);
	cli_json_refused(&j, m->refused);
	json_end(&j);
	json_array(&j, "tunables");
	for (i = 0; i < m->n_tunables; i++) {
		json_object(&j, NULL);
		json_string(&j, "name", m->tunables[i].name);
		json_u64(&j, "value", m->tunables[i].value);
		json_u64(&j, "min", m->tunables[i].min);
		json_u64(&j, "max", m->tunables[i].max);
		json_end(&j);
	}
	json_end(&j);
	json_array(&j, "registrations");
	for (i = 0; i < regs->n; i++) {
		const struct cg_reg_info *r = cg_list_at(regs, struct cg_reg_info, i);

		json_object(&j, NULL);
		json_u64(&j, "id", r->id);
		json_u64(&j, "owner_pid", r->owner_pid);
		json_u64(&j, "start", r->start);
		json_u64(&j, "length", r->length);
		json_u64(&j, "golden_pages", r->golden_pages);
		json_u64(&j, "processes", r->processes);
		json_u64(&j, "shadow_pages", r->shadow_pages);
		json_u64(&j, "emulated", r->emulated);
		json_u64(&j, "budget_shadows", r->budget_shadows);
		json_u64(&j, "reclaimed", r->reclaimed);
		json_u64(&j, "trap_budget", r->trap_budget);
		json_u64(&j, "slot_width", r->slot_width);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	json_finish(&j);
	(void)cli;
}

static void status_text(const struct cg_module_info *m,
			const struct cg_list *regs)
{
	char a[32], b[32], c[32];
	uint64_t shared = m->mapped_pages - m->shadow_pages;
	size_t i;
	int r;

	printf("cowguard %s (ABI %u), %u-byte pages\n\n", m->version,
	       m->abi_version, m->page_size);
	printf("  registrations %-10" PRIu64 " golden  %s\n", m->registrations,
	       cli_size(a, sizeof(a), m->golden_pages, m->page_size));
	printf("  views         %-10" PRIu64 " mapped  %s, shared %s (%.1f%%)\n",
	       m->views, cli_size(a, sizeof(a), m->mapped_pages, m->page_size),
	       cli_size(b, sizeof(b), shared, m->page_size),
	       m->mapped_pages ? 100.0 * shared / m->mapped_pages : 0.0);
	printf("  module holds  %s (shadow copies %s); saves %s\n",
	       cli_size(a, sizeof(a), m->live_pages, m->page_size),
	       cli_size(b, sizeof(b), m->shadow_pages, m->page_size),
	       cli_size(c, sizeof(c), saved_pages(m), m->page_size));
	printf("  emulated %" PRIu64 ", budget shadows %" PRIu64 ", reclaimed %" PRIu64
	       " (copied again %" PRIu64 ")\n", m->emulated, m->budget_shadows,
	       m->reclaimed, m->reshadowed);
	printf("  refused ");
	for (r = 0; r < __COWGUARD_REFUSE_MAX; r++)
		printf(" %s %" PRIu64, cg_refuse_names[r], m->refused[r]);
	printf("\n\ntunables (cowguard set KEY=VALUE)\n");
	for (i = 0; i < m->n_tunables; i++)
		printf("  %-18s %-10" PRIu64 " [%" PRIu64 "..%" PRIu64 "]\n",
		       m->tunables[i].name, m->tunables[i].value,
		       m->tunables[i].min, m->tunables[i].max);
	if (!regs->n)
		return;
	printf("\n%4s %7s %14s %9s %5s %7s %9s %6s %7s\n", "ID", "OWNER",
	       "START", "SIZE", "PROCS", "SHADOW", "EMULATED", "BUDGET", "RECLAIM");
	for (i = 0; i < regs->n; i++) {
		const struct cg_reg_info *g = cg_list_at(regs, struct cg_reg_info, i);

		printf("%4" PRIu64 " %7u %#14" PRIx64 " %9s %5u %7" PRIu64 " %9" PRIu64
		       " %6" PRIu64 " %7" PRIu64 "\n", g->id, g->owner_pid,
		       g->start, cli_size(a, sizeof(a), g->length, 1),
		       g->processes, g->shadow_pages, g->emulated,
		       g->budget_shadows, g->reclaimed);
	}
}

int cmd_status(struct cli *cli, int argc, char **argv)
{
	struct cg_module_info m;
	struct cg_list regs = { 0 };
	int err;

	if (argc != 1)
		return cli_usage(cli, argv[0]);
	err = cli_connect(cli);
	if (err)
		return err;
	err = cg_nl_get_module(cli->nl, &m);
	if (err)
		return cli_fail(cli, err, "reading module totals");
	err = cg_nl_get_registrations(cli->nl, &regs);
	if (err) {
		cg_list_free(&regs);
		return cli_fail(cli, err, "listing registrations");
	}
	if (cli->json)
		status_json(cli, &m, &regs);
	else
		status_text(&m, &regs);
	cg_list_free(&regs);
	return CG_EXIT_OK;
}
