/* SPDX-License-Identifier: GPL-2.0 */
/* What the cowguard subcommands share. */
#ifndef CG_CLI_H
#define CG_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "nl.h"

/* Exit statuses, documented in cowguard(8). */
enum {
	CG_EXIT_OK = 0,
	CG_EXIT_FAIL = 1,	/* anything not below */
	CG_EXIT_USAGE = 2,	/* bad command line */
	CG_EXIT_NO_MODULE = 3,	/* the module is not loaded */
	CG_EXIT_PERM = 4,	/* permission denied */
	CG_EXIT_NO_PID = 5,	/* no such process */
	CG_EXIT_INVALID = 6,	/* unknown tunable or value out of range */
};

struct cli {
	const char *prog;
	int json;
	struct cg_nl *nl;
};

struct cli_cmd {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;
	const char *help;
};

int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_ps(struct cli *cli, int argc, char **argv);
int cmd_top(struct cli *cli, int argc, char **argv);
int cmd_set(struct cli *cli, int argc, char **argv);

/* Connect to the family; on failure print why and return an exit status
 * (else 0).
 */
int cli_connect(struct cli *cli);
/* Print what went wrong with @what (negative errno @err, the kernel's
 * message) and return the exit status that says so.
 */
int cli_fail(struct cli *cli, int err, const char *what);
int cli_usage(struct cli *cli, const char *cmd);

/* "12.5 MiB" for @pages pages of @page_size bytes. */
const char *cli_size(char *buf, size_t len, uint64_t pages, uint32_t page_size);
/* /proc/PID/comm, or "?" */
void cli_comm(uint32_t pid, char *buf, size_t len);
int cli_parse_pid(const char *s, uint32_t *pid);
void cli_json_refused(struct json *j, const uint64_t *refused);

#endif /* CG_CLI_H */
