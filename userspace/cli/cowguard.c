// SPDX-License-Identifier: GPL-2.0
/*
 * cowguard(8): what the cowguard module keeps shared and what it costs, read
 * through its generic netlink family; and its tunables.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct cli_cmd cli_cmds[] = {
	{ "status", cmd_status, "status [--json]",
	  "module totals, tunables and registrations" },
	{ "ps", cmd_ps, "ps [--json] [PID]",
	  "per process, sorted by memory kept shared" },
	{ "top", cmd_top, "top [--json] [-d SECONDS] [-n COUNT] [-p PID]",
	  "refreshing view of processes and the instructions that break sharing" },
	{ "set", cmd_set, "set KEY=VALUE...",
	  "set a tunable (needs CAP_SYS_ADMIN)" },
};

static void show_usage(FILE *out, const char *prog)
{
	size_t i;

	fprintf(out, "Usage: %s COMMAND [OPTIONS]\n\n", prog);
	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		fprintf(out, "  %-48s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
	fprintf(out, "\n--json prints a JSON document instead of text; see cowguard(8).\n");
}

int cli_usage(struct cli *cli, const char *cmd)
{
	size_t i;

	for (i = 0; i < sizeof(cli_cmds) / sizeof(cli_cmds[0]); i++)
		if (!strcmp(cli_cmds[i].name, cmd))
			fprintf(stderr, "Usage: %s %s\n", cli->prog, cli_cmds[i].usage);
	return CG_EXIT_USAGE;
}

int cli_connect(struct cli *cli)
{
	int err = cg_nl_open(&cli->nl);

	if (!err)
		return 0;
	if (err == -ENOENT) {
		fprintf(stderr, "%s: the cowguard module is not loaded "
			"(no generic netlink family \"%s\"); try: modprobe cowguard\n",
			cli->prog, COWGUARD_GENL_NAME);
		return CG_EXIT_NO_MODULE;
	}
	fprintf(stderr, "%s: cannot open a generic netlink socket: %s\n",
		cli->prog, strerror(-err));
	return CG_EXIT_FAIL;
}

int cli_fail(struct cli *cli, int err, const char *what)
{
	const char *msg = cli->nl ? cg_nl_message(cli->nl) : "";
	int status = CG_EXIT_FAIL;

	switch (-err) {
	case EPERM:
	case EACCES:
		/* The kernel says what is missing; an older one says nothing. */
		fprintf(stderr, "%s: %s: permission denied: %s (run it as root)\n",
			cli->prog, what, *msg ? msg : "this needs CAP_SYS_ADMIN");
		return CG_EXIT_PERM;
	case ESRCH:
		status = CG_EXIT_NO_PID;
		break;
	case ENOENT:
	case ERANGE:
		status = CG_EXIT_INVALID;
		break;
	}
	fprintf(stderr, "%s: %s: %s%s%s\n", cli->prog, what, strerror(-err),
		*msg ? ": " : "", msg);
	return status;
}

const char *cli_size(char *buf, size_t len, uint64_t pages, uint32_t page_size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)pages * page_size;
	size_t u = 0;

	while (v >= 1024 && u < sizeof(units) / sizeof(units[0]) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

void cli_comm(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(buf, len, "?");
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int cli_parse_pid(const char *s, uint32_t *pid)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !v || v > 4194304 || *s == '-')
		return -EINVAL;
	*pid = (uint32_t)v;
	return 0;
}

void cli_json_refused(struct json *j, const uint64_t *refused)
{
	int i;

	json_object(j, "refused");
	for (i = 0; i < __COWGUARD_REFUSE_MAX; i++)
		json_u64(j, cg_refuse_names[i], refused[i]);
	json_end(j);
}

int main(int argc, char **argv)
{
	struct cli cli = { .prog = "cowguard" };
	char **args;
	int i, n = 0, status;
	size_t c;

	/* --json may come anywhere; the rest goes to the subcommand. */
	args = calloc(argc + 1, sizeof(*args));
	if (!args)
		return CG_EXIT_FAIL;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			cli.json = 1;
		else
			args[n++] = argv[i];
	}
	if (!n || !strcmp(args[0], "-h") || !strcmp(args[0], "--help") ||
	    !strcmp(args[0], "help")) {
		show_usage(n ? stdout : stderr, cli.prog);
		free(args);
		return n ? CG_EXIT_OK : CG_EXIT_USAGE;
	}
	for (c = 0; c < sizeof(cli_cmds) / sizeof(cli_cmds[0]); c++)
		if (!strcmp(cli_cmds[c].name, args[0]))
			break;
	if (c == sizeof(cli_cmds) / sizeof(cli_cmds[0])) {
		fprintf(stderr, "%s: unknown command '%s'\n", cli.prog, args[0]);
		show_usage(stderr, cli.prog);
		free(args);
		return CG_EXIT_USAGE;
	}
	/* Each command checks its arguments, then calls cli_connect(). */
	status = cli_cmds[c].run(&cli, n, args);
	cg_nl_close(cli.nl);
	free(args);
	return status;
}
