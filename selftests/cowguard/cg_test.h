/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the cowguard kselftests. */
#ifndef CG_TEST_H
#define CG_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/cowguard.h>

#define PG 4096UL

static inline int cg_open(void)
{
	return open("/dev/cowguard", O_RDWR | O_CLOEXEC);
}

/* Register [p, p + len) without a slot map: 0 or -errno. */
static inline int cg_register(int fd, void *p, size_t len)
{
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)p, .length = len,
	};

	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? -errno : 0;
}

static inline int cg_unregister(int fd, void *p)
{
	struct cowguard_unregister u = { .size = sizeof(u), .start = (uintptr_t)p };

	return ioctl(fd, COWGUARD_IOC_UNREGISTER, &u) ? -errno : 0;
}

static inline int cg_stats(int fd, void *p, struct cowguard_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	st->start = (uintptr_t)p;
	return ioctl(fd, COWGUARD_IOC_STATS, st) ? -errno : 0;
}

/* A private anonymous mapping of n pages, page i filled with byte i + 1. */
static inline char *cg_map_filled(size_t n)
{
	char *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < n; i++)
		memset(p + i * PG, (int)(i + 1), PG);
	return p;
}

static inline long cg_sysfs_long(const char *name)
{
	char path[128], buf[32] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/sys/class/misc/cowguard/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atol(buf) : -1;
}

static inline int cg_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (int)strlen(val) ? 0 : -EIO;
}

#define CG_PARAM(name)	"/sys/module/cowguard/parameters/" name

/* A module parameter (CG_PARAM path), or -1. */
static inline long cg_param_read(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atol(buf) : -1;
}

static inline int cg_param_set(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return cg_write_file(path, buf);
}

/* Wait for the module's page count to settle at zero (PTE references of
 * exited children go away asynchronously only in the sense of wait()).
 */
static inline long cg_live_pages(void)
{
	return cg_sysfs_long("live_pages");
}

/* Exit status of a child, or -1 if it did not exit normally. */
static inline int cg_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Sum of an smaps field (kB) over the VMAs overlapping [p, p + len). */
static inline long cg_smaps_kb(pid_t pid, void *p, size_t len, const char *field)
{
	unsigned long lo, hi, start = (uintptr_t)p, end = start + len;
	char path[64], line[256];
	size_t flen = strlen(field);
	long sum = 0, v;
	int in = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = lo < end && hi > start;
			continue;
		}
		if (in && !strncmp(line, field, flen) && line[flen] == ':' &&
		    sscanf(line + flen + 1, "%ld", &v) == 1)
			sum += v;
	}
	fclose(f);
	return sum;
}

/* A "Field: N kB" line of a /proc file such as /proc/meminfo, or -1. */
static inline long cg_proc_kb(const char *path, const char *field)
{
	char line[256];
	size_t flen = strlen(field);
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, flen) && line[flen] == ':')
			sscanf(line + flen + 1, "%ld", &v);
	fclose(f);
	return v;
}

static inline long cg_meminfo_kb(const char *field)
{
	return cg_proc_kb("/proc/meminfo", field);
}

#include <signal.h>

/*
 * Reclaim pressure for the race tests (kwrite.c, race.c): a sibling process
 * that writes @val ("2": slab objects, which runs every shrinker) to
 * drop_caches in a loop until killed. Return: its pid, or -1.
 */
static inline pid_t cg_dropper_start(const char *val)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	/* 4 first: the kernel then stops logging each write (thousands of
	 * console lines a run under TCG).
	 */
	cg_write_file("/proc/sys/vm/drop_caches", "4");
	/* A refused write ends it, which cg_dropper_stop() reports. */
	while (!cg_write_file("/proc/sys/vm/drop_caches", val))
		;
	_exit(1);
}

/* Stop a cg_dropper_start() process: 0 if it was still dropping caches. */
static inline int cg_dropper_stop(pid_t pid)
{
	int status = 0;

	if (pid <= 0)
		return -1;
	kill(pid, SIGCONT);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

/* The seeded generator of the randomized tests (xorshift64). */
static inline uint64_t cg_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * On the debug kernel (scripts/debug-kernel: KASAN, lockdep, and the rest;
 * its release ends in -cgdebug) everything runs several times slower, so
 * the tests that run for a fixed time shorten it there, to keep make test
 * within its budget: the debug kernel is for what it detects, not for
 * volume.
 */
static inline int cg_debug_kernel(void)
{
	struct utsname u;

	return !uname(&u) && strstr(u.release, "-cgdebug") != NULL;
}

#endif /* CG_TEST_H */
