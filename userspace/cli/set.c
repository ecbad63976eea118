// SPDX-License-Identifier: GPL-2.0
/* cowguard set KEY=VALUE: change a tunable (module parameter). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int parse_assignment(char *arg, char **key, uint64_t *value)
{
	char *eq = strchr(arg, '='), *end;
	unsigned long long v;

	if (!eq || eq == arg || eq - arg >= COWGUARD_TUNABLE_NAME_MAX)
		return -EINVAL;
	*eq = '\0';
	errno = 0;
	v = strtoull(eq + 1, &end, 0);
	if (errno || end == eq + 1 || *end || eq[1] == '-')
		return -EINVAL;
	*key = arg;
	*value = v;
	return 0;
}

/* After ENOENT or ERANGE: say what would have been accepted. */
static void explain(struct cli *cli, const char *key)
{
	struct cg_module_info m;
	size_t i;

	if (cg_nl_get_module(cli->nl, &m))
		return;
	for (i = 0; i < m.n_tunables; i++) {
		if (!strcmp(m.tunables[i].name, key)) {
			fprintf(stderr, "%s: %s takes %" PRIu64 "..%" PRIu64
				" (now %" PRIu64 ")\n", cli->prog, key,
				m.tunables[i].min, m.tunables[i].max,
				m.tunables[i].value);
			return;
		}
	}
	fprintf(stderr, "%s: tunables:", cli->prog);
	for (i = 0; i < m.n_tunables; i++)
		fprintf(stderr, " %s", m.tunables[i].name);
	fprintf(stderr, "\n");
}

int cmd_set(struct cli *cli, int argc, char **argv)
{
	uint64_t value;
	char what[96];
	char *key;
	int i, err;

	if (argc < 2 || cli->json)
		return cli_usage(cli, argv[0]);
	for (i = 1; i < argc; i++) {
		if (parse_assignment(argv[i], &key, &value)) {
			fprintf(stderr, "%s: set: '%s' is not KEY=VALUE with a decimal or 0x value\n",
				cli->prog, argv[i]);
			return cli_usage(cli, argv[0]);
		}
		argv[i][strlen(key)] = '=';	/* parse again below */
	}
	err = cli_connect(cli);
	if (err)
		return err;
	for (i = 1; i < argc; i++) {
		parse_assignment(argv[i], &key, &value);
		err = cg_nl_set_tunable(cli->nl, key, value);
		if (!err)
			continue;
		snprintf(what, sizeof(what), "setting %s to %" PRIu64, key, value);
		err = cli_fail(cli, err, what);
		if (err == CG_EXIT_INVALID)
			explain(cli, key);
		return err;
	}
	return CG_EXIT_OK;
}
