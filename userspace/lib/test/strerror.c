// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * cowguard_strerror() has a cowguard-specific message for every errno that
 * a function's man page lists under ERRORS (the man pages are parsed, so
 * code and documentation cannot drift apart), and for every registration
 * error of the uapi header. Usage: strerror MAN_DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cowguard.h>
#include "tap.h"

#define ERRNO_SENTINEL	4242

static const struct {
	const char *page;
	enum cowguard_op op;
	int takes_fd;
} pages[] = {
	{ "cowguard_open.3", COWGUARD_OP_OPEN, 0 },
	{ "cowguard_abi_version.3", COWGUARD_OP_VERSION, 1 },
	{ "cowguard_register.3", COWGUARD_OP_REGISTER, 1 },
	{ "cowguard_unregister.3", COWGUARD_OP_UNREGISTER, 1 },
	{ "cowguard_stats.3", COWGUARD_OP_STATS, 1 },
	{ "cowguard_slot_mark.3", COWGUARD_OP_SLOT_MARK, 0 },
};

static int errno_by_name(const char *name)
{
	int e;

	for (e = 1; e < 4096; e++) {
		const char *n = strerrorname_np(e);

		if (n && !strcmp(n, name))
			return e;
	}
	return 0;
}

/* A message of its own, the same for err and -err. */
static int specific(enum cowguard_op op, int err)
{
	const char *msg = cowguard_strerror(op, -err);
	const char *generic = strerrordesc_np(err);

	return msg && generic && strcmp(msg, generic) != 0 &&
	       msg == cowguard_strerror(op, err);
}

/* Check every ".B Exxx" item of the page's ERRORS section. */
static void check_page(const char *dir, int i)
{
	char path[4096], line[512];
	int in_errors = 0, listed = 0, bad = 0, has_ebadf = 0, has_enotty = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, pages[i].page);
	f = fopen(path, "r");
	if (!f) {
		ok(0, "%s: cannot open", path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[32];
		int e;

		if (!strncmp(line, ".SH", 3)) {
			in_errors = strstr(line, "ERRORS") != NULL;
			continue;
		}
		if (!in_errors || sscanf(line, ".B %31[A-Z0-9]", name) != 1 || name[0] != 'E')
			continue;
		e = errno_by_name(name);
		listed++;
		has_ebadf |= e == EBADF;
		has_enotty |= e == ENOTTY;
		if (!e || !specific(pages[i].op, e)) {
			diag("%s lists %s, which has no message of its own", pages[i].page, name);
			bad++;
		}
	}
	fclose(f);
	ok(listed > 0 && !bad, "%s: all %d errors listed have a message", pages[i].page, listed);
	if (pages[i].takes_fd)
		ok(has_ebadf && has_enotty, "%s lists EBADF and ENOTTY", pages[i].page);
}

int main(int argc, char **argv)
{
	static const int uapi_register_errors[] = {
		EINVAL, EFAULT, ENOMEM, EACCES, EPERM, EEXIST, E2BIG, ERANGE,
	};
	const char *msg;
	unsigned int i;

	if (argc != 2) {
		printf("Bail out! usage: %s MAN_DIR\n", argv[0]);
		return 1;
	}
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
		check_page(argv[1], i);

	/* From here on only cowguard_strerror() runs: errno must survive. */
	errno = ERRNO_SENTINEL;

	for (i = 0; i < sizeof(uapi_register_errors) / sizeof(uapi_register_errors[0]); i++)
		ok(specific(COWGUARD_OP_REGISTER, uapi_register_errors[i]),
		   "register %s (uapi Errors): %s", strerrorname_np(uapi_register_errors[i]),
		   cowguard_strerror(COWGUARD_OP_REGISTER, uapi_register_errors[i]));

	ok(specific(COWGUARD_OP_UNREGISTER, EINVAL) && specific(COWGUARD_OP_STATS, EINVAL),
	   "unregister and stats EINVAL (uapi Errors)");

	/* One errno, several meanings. */
	ok(strcmp(cowguard_strerror(COWGUARD_OP_OPEN, -EINVAL),
		  cowguard_strerror(COWGUARD_OP_REGISTER, -EINVAL)) != 0,
	   "EINVAL from open and from register differ");
	ok(strcmp(cowguard_strerror(COWGUARD_OP_OPEN, -EACCES),
		  cowguard_strerror(COWGUARD_OP_REGISTER, -EACCES)) != 0,
	   "EACCES from open and from register differ");
	ok(strstr(cowguard_strerror(COWGUARD_OP_OPEN, -EACCES), "'cowguard' group") != NULL,
	   "open EACCES: %s", cowguard_strerror(COWGUARD_OP_OPEN, -EACCES));
	ok(strstr(cowguard_strerror(COWGUARD_OP_REGISTER, -EEXIST), "already registered") != NULL,
	   "register EEXIST: %s", cowguard_strerror(COWGUARD_OP_REGISTER, -EEXIST));

	/* Fallbacks. */
	msg = cowguard_strerror(COWGUARD_OP_OPEN, -EEXIST);
	ok(msg && !strcmp(msg, strerrordesc_np(EEXIST)), "an errno open does not document: %s", msg);
	msg = cowguard_strerror((enum cowguard_op)1000, -EINVAL);
	ok(msg && !strcmp(msg, strerrordesc_np(EINVAL)), "an unknown op: %s", msg);
	msg = cowguard_strerror(COWGUARD_OP_REGISTER, 0);
	ok(msg && !strcmp(msg, "success"), "0: %s", msg);
	msg = cowguard_strerror(COWGUARD_OP_REGISTER, -99999);
	ok(msg && *msg, "an unknown errno: %s", msg);
	msg = cowguard_strerror(COWGUARD_OP_REGISTER, INT_MIN);
	ok(msg && *msg, "INT_MIN: %s", msg);
	msg = cowguard_strerror(COWGUARD_OP_REGISTER, INT_MAX);
	ok(msg && *msg, "INT_MAX: %s", msg);

	ok(errno == ERRNO_SENTINEL, "errno kept throughout");
	return tap_done();
}
