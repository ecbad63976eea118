// SPDX-License-Identifier: GPL-2.0
/* cowguard ps: per process, sorted by memory kept shared. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ps.h"

static int view_by_pid(const void *a, const void *b)
{
	const struct cg_view_info *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->reg_id < y->reg_id ? -1 : x->reg_id > y->reg_id;
}

static int proc_by_shared(const void *a, const void *b)
{
	const struct ps_proc *x = a, *y = b;

	if (x->shared != y->shared)
		return x->shared > y->shared ? -1 : 1;
	return x->sum.pid < y->sum.pid ? -1 : x->sum.pid > y->sum.pid;
}

static void add_view(struct cg_view_info *sum, const struct cg_view_info *v)
{
	int i;

	sum->mapped_pages += v->mapped_pages;
	sum->shadow_pages += v->shadow_pages;
	sum->read_faults += v->read_faults;
	sum->shadow_faults += v->shadow_faults;
	sum->write_faults += v->write_faults;
	sum->emulated += v->emulated;
	sum->budget_shadows += v->budget_shadows;
	sum->reclaimed += v->reclaimed;
	sum->reshadowed += v->reshadowed;
	sum->budget_shadow_pages += v->budget_shadow_pages;
	sum->capped += v->capped;
	sum->exclusive_shadow_pages += v->exclusive_shadow_pages;
	for (i = 0; i < __COWGUARD_REFUSE_MAX; i++)
		sum->refused[i] += v->refused[i];
}

int ps_collect(struct cg_list *views, struct ps_proc **out, size_t *n)
{
	struct ps_proc *procs;
	size_t i, np = 0;

	qsort(views->items, views->n, sizeof(struct cg_view_info), view_by_pid);
	procs = calloc(views->n ? views->n : 1, sizeof(*procs));
	if (!procs)
		return -1;
	for (i = 0; i < views->n; i++) {
		const struct cg_view_info *v = cg_list_at(views, struct cg_view_info, i);
		struct ps_proc *p = np ? &procs[np - 1] : NULL;

		if (!p || p->sum.pid != v->pid) {
			p = &procs[np++];
			p->sum.pid = v->pid;
			p->first = i;
		}
		p->nviews++;
		add_view(&p->sum, v);
	}
	for (i = 0; i < np; i++) {
		procs[i].shared = procs[i].sum.mapped_pages - procs[i].sum.shadow_pages;
		cli_comm(procs[i].sum.pid, procs[i].comm, sizeof(procs[i].comm));
	}
	qsort(procs, np, sizeof(*procs), proc_by_shared);
	*out = procs;
	*n = np;
	return 0;
}

uint64_t ps_refused(const struct cg_view_info *v)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < __COWGUARD_REFUSE_MAX; i++)
		sum += v->refused[i];
	return sum;
}

static void json_view_fields(struct json *j, const struct cg_view_info *v)
{
	json_u64(j, "mapped_pages", v->mapped_pages);
	json_u64(j, "shadow_pages", v->shadow_pages);
	json_u64(j, "shared_pages", v->mapped_pages - v->shadow_pages);
	json_u64(j, "read_faults", v->read_faults);
	json_u64(j, "shadow_faults", v->shadow_faults);
	json_u64(j, "write_faults", v->write_faults);
	json_u64(j, "emulated", v->emulated);
	json_u64(j, "budget_shadows", v->budget_shadows);
	json_u64(j, "reclaimed", v->reclaimed);
	json_u64(j, "reshadowed", v->reshadowed);
	json_u64(j, "budget_shadow_pages", v->budget_shadow_pages);
	json_u64(j, "capped", v->capped);
	json_u64(j, "exclusive_shadow_pages", v->exclusive_shadow_pages);
	cli_json_refused(j, v->refused);
}

static void ps_json(const struct cg_list *views, const struct ps_proc *procs,
		    size_t n, uint32_t page_size)
{
	struct json j;
	size_t i, k;

	json_init(&j, stdout);
	json_object(&j, NULL);
	json_u64(&j, "page_size", page_size);
	json_array(&j, "processes");
	for (i = 0; i < n; i++) {
		json_object(&j, NULL);
		json_u64(&j, "pid", procs[i].sum.pid);
		json_string(&j, "comm", procs[i].comm);
		json_view_fields(&j, &procs[i].sum);
		json_array(&j, "views");
		for (k = 0; k < procs[i].nviews; k++) {
			const struct cg_view_info *v =
				cg_list_at(views, struct cg_view_info, procs[i].first + k);

			json_object(&j, NULL);
			json_u64(&j, "view_id", v->id);
			json_u64(&j, "registration", v->reg_id);
			json_view_fields(&j, v);
			json_end(&j);
		}
		json_end(&j);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	json_finish(&j);
}

void ps_print_header(void)
{
	printf("%7s %-15s %9s %9s %9s %7s %7s %7s\n", "PID", "COMMAND",
	       "SHARED", "SHADOW", "EMULATED", "BUDGET", "REFUSED", "RECLAIM");
}

void ps_print_proc(const struct ps_proc *p, uint32_t page_size)
{
	char a[32], b[32];

	printf("%7u %-15.15s %9s %9s %9" PRIu64 " %7" PRIu64 " %7" PRIu64
	       " %7" PRIu64 "\n", p->sum.pid, p->comm,
	       cli_size(a, sizeof(a), p->shared, page_size),
	       cli_size(b, sizeof(b), p->sum.shadow_pages, page_size),
	       p->sum.emulated, p->sum.budget_shadows, ps_refused(&p->sum),
	       p->sum.reclaimed);
}

int cmd_ps(struct cli *cli, int argc, char **argv)
{
	struct cg_list views = { 0 };
	struct cg_module_info m;
	struct ps_proc *procs = NULL;
	uint32_t pid = 0;
	size_t n = 0, i;
	int err;

	if (argc > 2 || (argc == 2 && cli_parse_pid(argv[1], &pid))) {
		if (argc == 2)
			fprintf(stderr, "%s: ps: '%s' is not a process id\n",
				cli->prog, argv[1]);
		return cli_usage(cli, argv[0]);
	}
	err = cli_connect(cli);
	if (err)
		return err;
	err = cg_nl_get_module(cli->nl, &m);
	if (err)
		return cli_fail(cli, err, "reading module totals");
	err = cg_nl_get_views(cli->nl, pid, &views);
	if (err) {
		cg_list_free(&views);
		if (err == -ESRCH) {
			fprintf(stderr, "%s: ps: no such process: %u\n", cli->prog, pid);
			return CG_EXIT_NO_PID;
		}
		return cli_fail(cli, err, "listing views");
	}
	if (ps_collect(&views, &procs, &n)) {
		cg_list_free(&views);
		return cli_fail(cli, -ENOMEM, "ps");
	}
	if (cli->json) {
		ps_json(&views, procs, n, m.page_size);
	} else if (pid && !n) {
		printf("process %u maps no cowguard registration\n", pid);
	} else {
		ps_print_header();
		for (i = 0; i < n; i++)
			ps_print_proc(&procs[i], m.page_size);
	}
	free(procs);
	cg_list_free(&views);
	return CG_EXIT_OK;
}
