/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/* A minimal TAP producer for the host tests: ok(), diag(), tap_done(). */
#ifndef COWGUARD_TEST_TAP_H
#define COWGUARD_TEST_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3)))
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2)))
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Print the plan (at the end, as TAP allows) and the exit status. */
static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	if (tap_failed)
		diag("%d of %d tests failed", tap_failed, tap_count);
	return tap_failed ? 1 : 0;
}

#endif
