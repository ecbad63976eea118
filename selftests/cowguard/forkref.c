// SPDX-License-Identifier: GPL-2.0
/*
 * Shadows that someone other than the process holds a reference to (a
 * pipe after vmsplice here; O_DIRECT, AIO, io_uring and 9p zero-copy take
 * the same plain references and write through them later) are never
 * shared with a child at fork and never given back by reclaim. And fork
 * never leaves a child without its view: with allocations failing one by
 * one (/proc/self/fail-nth, on a kernel with fault injection) a child
 * either is not created or sees every byte, never SIGBUS.
 */
#include <sys/uio.h>

#include "cg_test.h"
#include "kselftest_harness.h"

#define BAND_VAL	(1ULL << 60)

static struct cowguard_stats stats_of(int fd, void *p)
{
	struct cowguard_stats st;

	cg_stats(fd, p, &st);
	return st;
}

/* Hold a reference to the page at @p in a pipe, as a DMA would. */
static int hold_in_pipe(void *p, int pipefd[2])
{
	struct iovec iov = { p, PG };

	if (pipe(pipefd))
		return -errno;
	return vmsplice(pipefd[1], &iov, 1, 0) == PG ? 0 : -EIO;
}

FIXTURE(forkref) {
	int fd;
};

FIXTURE_SETUP(forkref)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(forkref)
{
	close(self->fd);
}

TEST_F(forkref, child_gets_a_copy_of_a_shadow_others_hold)
{
	char *p = cg_map_filled(4);
	int pipefd[2];
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, cg_register(self->fd, p, 4 * PG));
	p[0] = 'a';			/* page 0: exclusive shadow, held below */
	p[PG] = 'b';			/* page 1: exclusive shadow */
	ASSERT_EQ(0, hold_in_pipe(p, pipefd));
	ASSERT_EQ(2, stats_of(self->fd, p).exclusive_shadow_pages);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct cowguard_stats st = stats_of(self->fd, p);

		/* Its own copy of page 0, page 1 shared. */
		if (st.shadow_pages != 2 || st.exclusive_shadow_pages != 1)
			_exit(10 + st.exclusive_shadow_pages);
		if (p[0] != 'a' || p[PG] != 'b')
			_exit(20);
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	/* The parent keeps page 0 to itself: writing it copies nothing. */
	EXPECT_EQ(1, stats_of(self->fd, p).exclusive_shadow_pages);
	p[1] = 'c';
	EXPECT_EQ(1, stats_of(self->fd, p).exclusive_shadow_pages);
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(p, 4 * PG);
	EXPECT_EQ(0, cg_live_pages());
}

/* n pages, word 0 of every page marked and holding BAND_VAL. */
static uint64_t *map_marked(int fd, size_t n)
{
	static uint8_t map[16 * PG / 64];
	uint64_t *p = (uint64_t *)cg_map_filled(n);
	struct cowguard_register r = {
		.size = sizeof(r), .length = n * PG, .slot_width = 8,
		.slot_map = (uintptr_t)map, .slot_map_len = n * PG / 64,
		.trap_budget = 1, .trap_refill_ms = COWGUARD_REFILL_NEVER,
		.band_low = 1ULL << 59, .band_high = 1ULL << 61,
		.shadow_cap = COWGUARD_SHADOW_CAP_NONE,
	};
	size_t i;

	if (!p || n > 16)
		return NULL;
	memset(map, 0, sizeof(map));
	for (i = 0; i < n; i++) {
		p[i * 512] = BAND_VAL;
		map[i * 512 / 8] = 1;
	}
	r.start = (uintptr_t)p;
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? NULL : p;
}

static void incq(volatile uint64_t *w)
{
	asm volatile("lock incq (%0)" : : "r"(w) : "memory", "cc");
}

TEST_F(forkref, reclaim_leaves_a_shadow_others_hold)
{
	volatile uint64_t *p = map_marked(self->fd, 2);
	int pipefd[2], i;
	char buf[PG];

	ASSERT_NE(NULL, p);
	incq(p);
	incq(p);			/* budget 1: page 0 is now a shadow */
	incq(p + 512);
	incq(p + 512);			/* and page 1 */
	ASSERT_EQ(2, stats_of(self->fd, (void *)p).shadow_pages);
	ASSERT_EQ(0, hold_in_pipe((void *)p, pipefd));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, cg_write_file("/proc/sys/vm/drop_caches", "3"));
	/* Page 1 only refcounts differ and nobody else holds it: given back. */
	EXPECT_EQ(1, stats_of(self->fd, (void *)p).reclaimed);
	EXPECT_EQ(1, stats_of(self->fd, (void *)p).shadow_pages);
	/* What the pipe holds is still the process's page. */
	ASSERT_EQ(PG, read(pipefd[0], buf, PG));
	EXPECT_EQ(BAND_VAL + 1, *(uint64_t *)buf);
	close(pipefd[0]);
	close(pipefd[1]);
	ASSERT_EQ(0, cg_write_file("/proc/sys/vm/drop_caches", "3"));
	EXPECT_EQ(2, stats_of(self->fd, (void *)p).reclaimed);
	munmap((void *)p, 2 * PG);
	EXPECT_EQ(0, cg_live_pages());
}

static int write_nth(int nth)
{
	char path[64], val[16];

	snprintf(path, sizeof(path), "/proc/thread-self/fail-nth");
	snprintf(val, sizeof(val), "%d", nth);
	return cg_write_file(path, val);
}

TEST_F_TIMEOUT(forkref, fork_fails_or_the_child_sees_everything, 600)
{
	const size_t n = 64;
	char *p = cg_map_filled(n);
	int nth, forked = 0, failed = 0, in_a_row = 0;
	size_t i;

	ASSERT_NE(NULL, p);
	if (access("/proc/thread-self/fail-nth", W_OK))
		SKIP(return, "no fault injection (CONFIG_FAULT_INJECTION)");
	/* Sleeping slab allocations too. verbose 1: one line per forced
	 * failure and no stack dump, and that line tells the splat check that
	 * the allocation-failure reports which may follow (vmalloc's) were
	 * asked for. Page allocations are left alone.
	 */
	ASSERT_EQ(0, cg_write_file("/sys/kernel/debug/failslab/ignore-gfp-wait", "N"));
	ASSERT_EQ(0, cg_write_file("/sys/kernel/debug/failslab/verbose", "1"));
	ASSERT_EQ(0, cg_register(self->fd, p, n * PG));
	for (i = 0; i < n; i += 2)
		p[i * PG] = 'w';	/* shadows to clone */
	/* Until fork's allocations are all past: 32 forks in a row succeed. */
	for (nth = 1; nth <= 1000 && in_a_row < 32; nth++) {
		pid_t pid;

		ASSERT_EQ(0, write_nth(nth));
		pid = fork();
		write_nth(0);
		if (pid < 0) {
			failed++;
			in_a_row = 0;
			continue;
		}
		in_a_row++;
		if (!pid) {
			for (i = 0; i < n; i++)
				if (p[i * PG] != (i % 2 ? (char)(i + 1) : 'w') ||
				    p[i * PG + PG - 1] != (char)(i + 1))
					_exit(1);
			_exit(0);
		}
		forked++;
		ASSERT_EQ(0, cg_wait(pid)) TH_LOG("fail-nth %d", nth);
	}
	TH_LOG("fail-nth 1..%d: %d forks failed, %d children saw every byte",
	       nth - 1, failed, forked);
	EXPECT_LT(0, failed);
	EXPECT_LT(0, forked);
	munmap(p, n * PG);
	EXPECT_EQ(0, cg_live_pages());
}

TEST_HARNESS_MAIN
