// SPDX-License-Identifier: GPL-2.0
/*
 * Micro-benchmark, one VM run, ratios only: the cost of a golden read fault
 * and of a shadow write fault against their plain anonymous equivalents
 * (a read fault on fresh anonymous memory, a copy-on-write fault after
 * fork), and of an emulated refcount write against a shadow fault and a
 * plain store. Absolute times under TCG mean little; the ratios are the
 * result.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/cowguard.h>

#define PG	4096UL
#define PAGES	4096UL
#define ROUNDS	5

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static char *map_filled(void)
{
	char *p = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	/* 4 KiB faults on both sides: a huge zero page would hide them. */
	madvise(p, PAGES * PG, MADV_NOHUGEPAGE);
	memset(p, 1, PAGES * PG);
	return p;
}

/* ns per page to touch every page of p, reading or writing. */
static double touch(volatile char *p, int write_it)
{
	double t0 = now_ns();
	unsigned long i;

	for (i = 0; i < PAGES; i++) {
		if (write_it)
			p[i * PG] = 2;
		else
			(void)p[i * PG];
	}
	return (now_ns() - t0) / PAGES;
}

/* Run f in a forked child and return the ns/page it measured. */
static double in_child(double (*f)(char *), char *p)
{
	int fds[2];
	double v = 0;
	pid_t pid;

	if (pipe(fds))
		exit(1);
	pid = fork();
	if (!pid) {
		v = f(p);
		_exit(write(fds[1], &v, sizeof(v)) != sizeof(v));
	}
	if (read(fds[0], &v, sizeof(v)) != sizeof(v))
		exit(1);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	return v;
}

static double child_read(char *p) { return touch(p, 0); }
static double child_write(char *p) { return touch(p, 1); }

/* ns per locked increment of the first word of every page, once each
 * page is mapped (readable for a golden page, writable for plain memory).
 */
static double incr(char *p, int writable)
{
	double t0;
	unsigned long i;

	for (i = 0; i < PAGES; i++) {
		if (writable)
			*(volatile char *)(p + i * PG + 8) = 0;
		else
			(void)*(volatile char *)(p + i * PG);
	}
	t0 = now_ns();
	for (i = 0; i < PAGES; i++)
		asm volatile("lock incq (%0)" : : "r"(p + i * PG) : "memory", "cc");
	return (now_ns() - t0) / PAGES;
}

static double child_incr(char *p) { return incr(p, 0); }

#define BAND_VALUE	(1ULL << 60)

/* Register p with every word a refcount slot holding a band value. */
static void register_slots(int fd, char *p)
{
	static uint8_t map[PAGES * PG / 8 / 8];
	struct cowguard_register req = {
		.size = sizeof(req), .start = (uintptr_t)p, .length = PAGES * PG,
		.slot_width = 8, .slot_map = (uintptr_t)map, .slot_map_len = sizeof(map),
		.band_low = BAND_VALUE / 2, .band_high = BAND_VALUE * 2,
		.trap_budget = 60000,
	};
	unsigned long i;

	for (i = 0; i < PAGES * PG / 8; i++)
		((uint64_t *)p)[i] = BAND_VALUE;
	memset(map, 0xff, sizeof(map));
	if (ioctl(fd, COWGUARD_IOC_REGISTER, &req)) {
		perror("COWGUARD_IOC_REGISTER (slot map)");
		exit(1);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	double anon_read[ROUNDS], golden_read[ROUNDS], cow[ROUNDS], shadow[ROUNDS];
	double emulated[ROUNDS], store[ROUNDS];
	int fd = open("/dev/cowguard", O_RDWR | O_CLOEXEC), r;

	if (fd < 0) {
		fprintf(stderr, "bench-micro: /dev/cowguard: %s (is the module loaded?)\n",
			strerror(errno));
		return 2;
	}
	for (r = 0; r < ROUNDS; r++) {
		char *fresh = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *anon = map_filled(), *reg = map_filled(), *slots = map_filled();
		struct cowguard_register req = {
			.size = sizeof(req), .start = (uintptr_t)reg,
			.length = PAGES * PG,
		};

		if (ioctl(fd, COWGUARD_IOC_REGISTER, &req)) {
			perror("COWGUARD_IOC_REGISTER");
			return 1;
		}
		madvise(fresh, PAGES * PG, MADV_NOHUGEPAGE);
		anon_read[r] = touch(fresh, 0);
		golden_read[r] = in_child(child_read, reg);
		cow[r] = in_child(child_write, anon);
		/* A worker's first write to a page it never mapped. */
		shadow[r] = in_child(child_write, reg);
		/* A refcount increment: trapped and dropped, or a plain store. */
		register_slots(fd, slots);
		emulated[r] = in_child(child_incr, slots);
		store[r] = incr(anon, 1);
		munmap(slots, PAGES * PG);
		munmap(fresh, PAGES * PG);
		munmap(anon, PAGES * PG);
		munmap(reg, PAGES * PG);
	}
	qsort(anon_read, ROUNDS, sizeof(double), cmp);
	qsort(golden_read, ROUNDS, sizeof(double), cmp);
	qsort(cow, ROUNDS, sizeof(double), cmp);
	qsort(shadow, ROUNDS, sizeof(double), cmp);
	qsort(emulated, ROUNDS, sizeof(double), cmp);
	qsort(store, ROUNDS, sizeof(double), cmp);
	printf("bench-micro: %lu pages x %d rounds, medians (ns/page under this VM)\n",
	       PAGES, ROUNDS);
	printf("  %-38s %10.0f\n", "anonymous read fault (zero page)", anon_read[ROUNDS / 2]);
	printf("  %-38s %10.0f\n", "golden read fault", golden_read[ROUNDS / 2]);
	printf("  %-38s %10.0f\n", "anonymous CoW write fault after fork", cow[ROUNDS / 2]);
	printf("  %-38s %10.0f\n", "shadow write fault (copy)", shadow[ROUNDS / 2]);
	printf("  %-38s %10.0f\n", "emulated refcount write (trap)", emulated[ROUNDS / 2]);
	printf("  %-38s %10.1f\n", "plain locked increment", store[ROUNDS / 2]);
	printf("ratio golden read fault / anonymous read fault: %.2f\n",
	       golden_read[ROUNDS / 2] / anon_read[ROUNDS / 2]);
	printf("ratio shadow write fault / anonymous CoW fault: %.2f\n",
	       shadow[ROUNDS / 2] / cow[ROUNDS / 2]);
	printf("ratio emulated write / shadow write fault: %.2f\n",
	       emulated[ROUNDS / 2] / shadow[ROUNDS / 2]);
	printf("ratio emulated write / plain locked increment: %.0f\n",
	       emulated[ROUNDS / 2] / store[ROUNDS / 2]);
	return 0;
}
