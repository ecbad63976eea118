// SPDX-License-Identifier: GPL-2.0
/*
 * cowguard top: processes by memory kept shared with their fault rates, and
 * the user instructions whose writes break sharing, resolved to file and
 * symbol and summed over processes (workers share their code).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ps.h"
#include "symbols.h"

/* A site summed over the processes that share its code. */
struct top_site {
	uint32_t kind;
	uint64_t count, error;
	size_t procs;
	uint32_t pid;		/* one of them, with its address */
	uint64_t ip;
	struct sym_loc loc;
	int in_proof;		/* in its registration's proof table */
	uint64_t proof_writes, proof_refused;
	char patch[48];		/* patch state (site_patch_state()) */
};

struct top_state {
	struct cli *cli;
	double interval;
	uint32_t pid;
	struct ps_proc *prev;	/* the last refresh, for rates */
	size_t nprev;
	struct sym_cache *syms;
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

static int same_place(const struct top_site *t, uint32_t kind,
		      const struct sym_loc *loc, uint32_t pid, uint64_t ip)
{
	if (t->kind != kind)
		return 0;
	if (!loc->path[0])	/* unresolved: only the same address */
		return t->pid == pid && t->ip == ip && !t->loc.path[0];
	return !strcmp(t->loc.path, loc->path) &&
	       !strcmp(t->loc.symbol, loc->symbol) && t->loc.offset == loc->offset;
}

static int site_by_count(const void *a, const void *b)
{
	const struct top_site *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

/*
 * Is the site patched (cowguard_patch_sites(3)) in the process, and if not,
 * why not: "patched" when its bytes are now a jump (up to two 0x48
 * prefixes, E9: no refcount write starts so); else from the proof:
 * "untracked" (not in the table), "N other" (writes that were not
 * refcount-only: never patched), "N/8" (not proven yet), "proven" (proven,
 * not patched: no patcher running, no window, or an odd form).
 */
static void site_patch_state(struct top_site *t)
{
	struct iovec local, remote;
	uint8_t b[3] = { 0 };
	int i = 0;

	local.iov_base = b;
	local.iov_len = sizeof(b);
	remote.iov_base = (void *)(uintptr_t)t->ip;
	remote.iov_len = sizeof(b);
	if (process_vm_readv(t->pid, &local, 1, &remote, 1, 0) == sizeof(b)) {
		while (i < 2 && b[i] == 0x48)
			i++;
		if (b[i] == 0xe9) {
			snprintf(t->patch, sizeof(t->patch), "patched");
			return;
		}
	}
	if (!t->in_proof)
		snprintf(t->patch, sizeof(t->patch), "untracked");
	else if (t->proof_refused)
		snprintf(t->patch, sizeof(t->patch), "%" PRIu64 " other", t->proof_refused);
	else if (t->proof_writes < COWGUARD_PROOF_MIN_WRITES)
		snprintf(t->patch, sizeof(t->patch), "%" PRIu64 "/%d", t->proof_writes,
			 COWGUARD_PROOF_MIN_WRITES);
	else
		snprintf(t->patch, sizeof(t->patch), "proven");
}

/* Resolve and sum the sites; *@out is sorted by count (free() it). */
static int top_sites(struct top_state *st, const struct cg_list *sites,
		     struct top_site **out, size_t *n)
{
	struct top_site *agg = calloc(sites->n ? sites->n : 1, sizeof(*agg));
	struct sym_loc loc;
	size_t i, k, na = 0;

	if (!agg)
		return -ENOMEM;
	sym_cache_forget_maps(st->syms);
	for (i = 0; i < sites->n; i++) {
		const struct cg_site_info *s = cg_list_at(sites, struct cg_site_info, i);

		if (sym_resolve(st->syms, s->pid, s->ip, &loc))
			memset(&loc, 0, sizeof(loc));
		for (k = 0; k < na; k++)
			if (same_place(&agg[k], s->kind, &loc, s->pid, s->ip))
				break;
		if (k == na) {
			agg[na].kind = s->kind;
			agg[na].pid = s->pid;
			agg[na].ip = s->ip;
			agg[na].loc = loc;
			na++;
		}
		agg[k].count += s->count;
		agg[k].error += s->error;
		agg[k].procs++;
		if (s->in_proof) {	/* one table per tree: the same counts */
			agg[k].in_proof = 1;
			agg[k].proof_writes = s->proof_writes;
			agg[k].proof_refused = s->proof_refused;
		}
	}
	qsort(agg, na, sizeof(*agg), site_by_count);
	for (k = 0; k < na; k++)
		site_patch_state(&agg[k]);
	*out = agg;
	*n = na;
	return 0;
}

static const struct ps_proc *find_prev(const struct top_state *st, uint32_t pid)
{
	size_t i;

	for (i = 0; i < st->nprev; i++)
		if (st->prev[i].sum.pid == pid)
			return &st->prev[i];
	return NULL;
}

/* Per-second change of a counter since the last refresh; 0 the first time. */
static double rate(const struct top_state *st, uint64_t now, uint64_t before,
		   const struct ps_proc *prev)
{
	if (!prev || now < before || st->interval <= 0)
		return 0;
	return (double)(now - before) / st->interval;
}

static void where(char *buf, size_t len, const struct top_site *t)
{
	if (t->loc.symbol[0])
		snprintf(buf, len, "%s %s+0x%" PRIx64, base_name(t->loc.path),
			 t->loc.symbol, t->loc.offset);
	else if (t->loc.path[0])
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(t->loc.path),
			 t->loc.offset);
	else
		snprintf(buf, len, "pid %u 0x%" PRIx64, t->pid, t->ip);
}

static void top_json(struct top_state *st, const struct cg_module_info *m,
		     const struct ps_proc *procs, size_t np,
		     const struct top_site *sites, size_t ns)
{
	struct json j;
	size_t i;

	json_init(&j, stdout);
	json_object(&j, NULL);
	json_u64(&j, "time", (uint64_t)time(NULL));
	json_double(&j, "interval", st->interval);
	json_u64(&j, "page_size", m->page_size);
	json_u64(&j, "views", m->views);
	json_u64(&j, "shared_pages", m->mapped_pages - m->shadow_pages);
	json_u64(&j, "shadow_pages", m->shadow_pages);
	json_array(&j, "processes");
	for (i = 0; i < np; i++) {
		const struct ps_proc *p = &procs[i], *prev = find_prev(st, p->sum.pid);

		json_object(&j, NULL);
		json_u64(&j, "pid", p->sum.pid);
		json_string(&j, "comm", p->comm);
		json_u64(&j, "shared_pages", p->shared);
		json_u64(&j, "shadow_pages", p->sum.shadow_pages);
		json_u64(&j, "emulated", p->sum.emulated);
		json_u64(&j, "shadow_faults", p->sum.shadow_faults);
		json_u64(&j, "budget_shadows", p->sum.budget_shadows);
		json_double(&j, "emulated_per_s",
			    rate(st, p->sum.emulated, prev ? prev->sum.emulated : 0, prev));
		json_double(&j, "shadow_faults_per_s",
			    rate(st, p->sum.shadow_faults,
				 prev ? prev->sum.shadow_faults : 0, prev));
		json_end(&j);
	}
	json_end(&j);
	json_array(&j, "sites");
	for (i = 0; i < ns; i++) {
		json_object(&j, NULL);
		json_string(&j, "kind", cg_site_kind_names[sites[i].kind]);
		json_u64(&j, "count", sites[i].count);
		json_u64(&j, "error", sites[i].error);
		json_u64(&j, "processes", sites[i].procs);
		json_u64(&j, "pid", sites[i].pid);
		json_u64(&j, "ip", sites[i].ip);
		json_string(&j, "file", sites[i].loc.path);
		json_string(&j, "symbol", sites[i].loc.symbol);
		json_u64(&j, "offset", sites[i].loc.offset);
		json_string(&j, "patch", sites[i].patch);
		if (sites[i].in_proof) {
			json_u64(&j, "proof_writes", sites[i].proof_writes);
			json_u64(&j, "proof_refused", sites[i].proof_refused);
		}
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	json_finish(&j);
}

static int term_rows(void)
{
	struct winsize ws;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row >= 10)
		return ws.ws_row;
	return 24;
}

static void top_text(struct top_state *st, const struct cg_module_info *m,
		     const struct ps_proc *procs, size_t np,
		     const struct top_site *sites, size_t ns)
{
	int tty = isatty(STDOUT_FILENO), rows = term_rows() - 6;
	size_t i, max_procs, max_sites;
	char a[32], b[32], place[600];
	time_t now = time(NULL);
	char clock[16];

	/* Half the screen each, the rest to whichever needs it. */
	max_procs = np < (size_t)rows / 2 ? np : (size_t)rows / 2;
	max_sites = ns < (size_t)rows - max_procs ? ns : (size_t)rows - max_procs;
	if (max_sites < ns && max_procs < np)
		max_procs = np < (size_t)rows - max_sites ? np : (size_t)rows - max_sites;
	if (!tty) {
		max_procs = np;
		max_sites = ns;
	}
	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&now));
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("cowguard top  %s  every %.1fs  views %" PRIu64 "  shared %s  shadow %s\n\n",
	       clock, st->interval, m->views,
	       cli_size(a, sizeof(a), m->mapped_pages - m->shadow_pages, m->page_size),
	       cli_size(b, sizeof(b), m->shadow_pages, m->page_size));
	printf("%7s %-15s %9s %9s %8s %8s %9s %7s\n", "PID", "COMMAND",
	       "SHARED", "SHADOW", "EMUL/s", "COPY/s", "EMULATED", "BUDGET");
	for (i = 0; i < max_procs; i++) {
		const struct ps_proc *p = &procs[i], *prev = find_prev(st, p->sum.pid);

		printf("%7u %-15.15s %9s %9s %8.1f %8.1f %9" PRIu64 " %7" PRIu64 "\n",
		       p->sum.pid, p->comm,
		       cli_size(a, sizeof(a), p->shared, m->page_size),
		       cli_size(b, sizeof(b), p->sum.shadow_pages, m->page_size),
		       rate(st, p->sum.emulated, prev ? prev->sum.emulated : 0, prev),
		       rate(st, p->sum.shadow_faults,
			    prev ? prev->sum.shadow_faults : 0, prev),
		       p->sum.emulated, p->sum.budget_shadows);
	}
	if (max_procs < np)
		printf("%7s (%zu more)\n", "", np - max_procs);
	printf("\n%-9s %10s %6s %-10s  %s\n", "KIND", "WRITES", "PROCS", "PATCH",
	       "INSTRUCTION");
	for (i = 0; i < max_sites; i++) {
		where(place, sizeof(place), &sites[i]);
		printf("%-9s %10" PRIu64 " %6zu %-10s  %s\n",
		       cg_site_kind_names[sites[i].kind], sites[i].count,
		       sites[i].procs, sites[i].patch, place);
	}
	fflush(stdout);
}

static int top_once(struct top_state *st)
{
	struct cg_list views = { 0 }, sites = { 0 };
	struct top_site *agg = NULL;
	struct ps_proc *procs = NULL;
	struct cg_module_info m;
	size_t np = 0, ns = 0;
	int err;

	err = cg_nl_get_module(st->cli->nl, &m);
	if (!err)
		err = cg_nl_get_views(st->cli->nl, st->pid, &views);
	if (!err)
		err = cg_nl_get_sites(st->cli->nl, st->pid, &sites);
	if (!err && ps_collect(&views, &procs, &np))
		err = -ENOMEM;
	if (!err)
		err = top_sites(st, &sites, &agg, &ns);
	if (!err) {
		if (st->cli->json)
			top_json(st, &m, procs, np, agg, ns);
		else
			top_text(st, &m, procs, np, agg, ns);
		free(st->prev);
		st->prev = procs;
		st->nprev = np;
		procs = NULL;
	}
	free(procs);
	free(agg);
	cg_list_free(&views);
	cg_list_free(&sites);
	return err;
}

int cmd_top(struct cli *cli, int argc, char **argv)
{
	struct top_state st = { .cli = cli, .interval = 2.0 };
	long count = cli->json ? 1 : 0, i;
	char *end;
	int opt, err;

	optind = 1;
	while ((opt = getopt(argc, argv, "d:n:p:")) != -1) {
		switch (opt) {
		case 'd':
			st.interval = strtod(optarg, &end);
			if (*end || end == optarg || !(st.interval >= 0.1) ||
			    st.interval > 86400)
				return cli_usage(cli, argv[0]);
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || end == optarg || count < 0)
				return cli_usage(cli, argv[0]);
			break;
		case 'p':
			if (cli_parse_pid(optarg, &st.pid))
				return cli_usage(cli, argv[0]);
			break;
		default:
			return cli_usage(cli, argv[0]);
		}
	}
	if (optind != argc)
		return cli_usage(cli, argv[0]);
	err = cli_connect(cli);
	if (err)
		return err;
	st.syms = sym_cache_new();
	if (!st.syms)
		return cli_fail(cli, -ENOMEM, "top");
	for (i = 0; !count || i < count; i++) {
		struct timespec ts = {
			.tv_sec = (time_t)st.interval,
			.tv_nsec = (long)((st.interval - (time_t)st.interval) * 1e9),
		};

		if (i)
			nanosleep(&ts, NULL);
		err = top_once(&st);
		if (err == -ESRCH) {
			fprintf(stderr, "%s: top: no such process: %u\n", cli->prog, st.pid);
			err = CG_EXIT_NO_PID;
			break;
		}
		if (err) {
			err = cli_fail(cli, err, "top");
			break;
		}
	}
	free(st.prev);
	sym_cache_free(st.syms);
	return err;
}
