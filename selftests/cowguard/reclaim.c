// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim: the scanner and the shrinker give back exactly the shadows that
 * differ from their golden page only in band slots, and nothing written is
 * lost; the trap budget refills over time.
 */
#include <sys/mount.h>
#include "cg_test.h"
#include "kselftest_harness.h"

#define BAND_VAL	(1ULL << 60)
#define PARAM(name)	CG_PARAM(name)

/* n pages, words 0 and 2 of every page marked and holding BAND_VAL. */
static uint64_t *map_registered(int fd, size_t n, unsigned int budget,
				unsigned int refill_ms)
{
	static uint8_t map[64 * PG / 8 / 8];
	uint64_t *p = (uint64_t *)cg_map_filled(n);
	struct cowguard_register r = {
		.size = sizeof(r), .length = n * PG,
		.slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = n * PG / 8 / 8, .trap_budget = budget,
		.trap_refill_ms = refill_ms,
		.band_low = 1ULL << 59, .band_high = 1ULL << 61,
	};
	size_t i;

	if (!p || n > 64)
		return NULL;
	memset(map, 0, sizeof(map));
	for (i = 0; i < n; i++) {
		p[i * 512] = BAND_VAL;
		p[i * 512 + 2] = BAND_VAL;
		map[i * 512 / 8] = 0x05;
	}
	r.start = (uintptr_t)p;
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? NULL : p;
}

static void incq(volatile uint64_t *w)
{
	asm volatile("lock incq (%0)" : : "r"(w) : "memory", "cc");
}

static struct cowguard_stats stats_of(int fd, void *p)
{
	struct cowguard_stats st;

	cg_stats(fd, p, &st);
	return st;
}

FIXTURE(reclaim) {
	int fd;
	long interval;
};

FIXTURE_SETUP(reclaim)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->interval = cg_param_read(PARAM("reclaim_interval_ms"));
	ASSERT_LE(0, self->interval);
	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 0));
}

FIXTURE_TEARDOWN(reclaim)
{
	cg_param_set(PARAM("reclaim_interval_ms"), self->interval);
	close(self->fd);
}

/* Poll the process's reclaimed counter until it reaches @want (5 s). */
static uint64_t wait_reclaimed(int fd, void *p, uint64_t want)
{
	uint64_t got = 0;
	int i;

	for (i = 0; i < 100 && got < want; i++) {
		got = stats_of(fd, p).reclaimed;
		if (got < want)
			usleep(50000);
	}
	return got;
}

TEST_F(reclaim, scanner_reclaims_only_refcount_shadows)
{
	/* Budget 1 and no refill: the second increment makes a shadow. */
	volatile uint64_t *p = map_registered(self->fd, 4, 1, COWGUARD_REFILL_NEVER);
	volatile uint64_t *a, *b, *c, *d;
	struct cowguard_stats st;

	ASSERT_NE(NULL, p);
	a = p, b = p + 512, c = p + 1024, d = p + 1536;
	incq(a);
	incq(a);			/* a: shadow, only slot 0 moved */
	incq(b);
	incq(b);
	((volatile char *)b)[100] = 7;	/* b: one more byte changed */
	c[2] = 5;			/* c: a slot out of the band */
	incq(d);			/* d: emulated, stays golden */
	st = stats_of(self->fd, (void *)p);
	ASSERT_EQ(3, st.shadow_pages);
	ASSERT_EQ(BAND_VAL + 1, a[0]);

	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 20));
	EXPECT_EQ(1, wait_reclaimed(self->fd, (void *)p, 1));
	usleep(300000);			/* more passes change nothing more */
	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 0));
	st = stats_of(self->fd, (void *)p);
	EXPECT_EQ(1, st.reclaimed);
	EXPECT_EQ(2, st.shadow_pages);
	EXPECT_EQ(2, st.exclusive_shadow_pages);
	EXPECT_EQ(1, st.reg_reclaimed);
	EXPECT_EQ(BAND_VAL, a[0]);	/* the golden page is back */
	EXPECT_EQ(BAND_VAL + 1, b[0]);	/* the others kept every write */
	EXPECT_EQ(7, ((volatile char *)b)[100]);
	EXPECT_EQ(5, c[2]);
	EXPECT_EQ(BAND_VAL, d[0]);
	/* Of the four pages, only b's and c's shadows are private. */
	EXPECT_EQ(8, cg_smaps_kb(getpid(), (void *)a, PG, "Private_Dirty"));

	/* The budget is still spent: a is copied again, which is churn. */
	incq(a);
	st = stats_of(self->fd, (void *)p);
	EXPECT_EQ(1, st.reshadowed);
	EXPECT_EQ(3, st.shadow_pages);
	EXPECT_EQ(BAND_VAL + 1, a[0]);

	/* Churn backs the page off, but once quiet it is given back again. */
	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 20));
	EXPECT_EQ(2, wait_reclaimed(self->fd, (void *)p, 2));
	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 0));
	EXPECT_EQ(BAND_VAL, a[0]);
	st = stats_of(self->fd, (void *)p);
	EXPECT_EQ(2, st.shadow_pages);
	EXPECT_EQ(2, st.exclusive_shadow_pages);
}

TEST_F(reclaim, written_shadows_are_kept_until_quiet)
{
	volatile uint64_t *p = map_registered(self->fd, 1, 1, COWGUARD_REFILL_NEVER);
	struct cowguard_stats st;
	int i;

	ASSERT_NE(NULL, p);
	incq(p);
	incq(p);			/* shadow */
	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 100));
	/* Written more often than the scanner's period: never given back. */
	for (i = 0; i < 40; i++) {
		incq(p);
		usleep(20000);
	}
	st = stats_of(self->fd, (void *)p);
	EXPECT_EQ(0, st.reclaimed);
	EXPECT_EQ(BAND_VAL + 41, p[0]);	/* the first was dropped */
	/* Quiet now: given back within a few periods. */
	EXPECT_EQ(1, wait_reclaimed(self->fd, (void *)p, 1));
	EXPECT_EQ(BAND_VAL, p[0]);
}

/* What cg_map_filled() left in every plain word of page i. */
static uint64_t filled(int i)
{
	return (uint64_t)(i + 1) * 0x0101010101010101ULL;
}

TEST_F(reclaim, fork_during_reclaim_stays_exact)
{
	volatile uint64_t *p = map_registered(self->fd, 16, 1, COWGUARD_REFILL_NEVER);
	struct cowguard_stats st;
	int round, i;

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 1));
	for (round = 0; round < 40; round++) {
		pid_t pid;

		/* Odd rounds change a plain word, even ones put it back, so
		 * shadows keep becoming reclaimable while children fork.
		 */
		for (i = 0; i < 16; i++) {
			incq(p + i * 512);
			incq(p + i * 512);
			p[i * 512 + 1] = round % 2 ? round * 100 + i : filled(i);
		}
		pid = fork();
		if (!pid) {
			for (i = 0; i < 16; i++)
				if (p[i * 512 + 1] != (round % 2 ? round * 100 + i : filled(i)))
					_exit(1);
			_exit(0);
		}
		ASSERT_EQ(0, cg_wait(pid));
		usleep(10000);
		for (i = 0; i < 16; i++)
			ASSERT_EQ(round % 2 ? round * 100 + i : filled(i), p[i * 512 + 1]);
	}
	ASSERT_EQ(0, cg_param_set(PARAM("reclaim_interval_ms"), 0));
	st = stats_of(self->fd, (void *)p);
	TH_LOG("%llu shadows reclaimed while forking", st.reclaimed);
	EXPECT_LT(0, st.reclaimed);
	/* Every fork made them shared, every reclaim or write since moved
	 * them: the count must not have drifted (an underflow shows huge).
	 */
	EXPECT_GE(st.shadow_pages, st.exclusive_shadow_pages);
}

static void make_refcount_shadows(volatile uint64_t *p, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		incq(p + i * 512);
		incq(p + i * 512);
	}
}

TEST_F_TIMEOUT(reclaim, shrinker_gives_back_under_memory_pressure, 300)
{
	volatile uint64_t *p = map_registered(self->fd, 64, 1, COWGUARD_REFILL_NEVER);
	volatile uint64_t *q = map_registered(self->fd, 64, 1, COWGUARD_REFILL_NEVER);
	struct cowguard_stats st;

	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, q);
	make_refcount_shadows(p, 64);
	((volatile char *)p)[100] = 0x55;	/* page 0 of p must stay */
	ASSERT_EQ(64, stats_of(self->fd, (void *)p).shadow_pages);

	/* Reclaim on the root memory cgroup runs every shrinker. */
	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK))
		ASSERT_EQ(0, mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL));
	cg_write_file("/sys/fs/cgroup/memory.reclaim", "64M");
	st = stats_of(self->fd, (void *)p);
	EXPECT_EQ(63, st.reclaimed);
	EXPECT_EQ(1, st.shadow_pages);
	EXPECT_EQ(0x55, ((volatile char *)p)[100]);

	/* drop_caches drops slab objects the same way. */
	make_refcount_shadows(q, 64);
	ASSERT_EQ(0, cg_write_file("/proc/sys/vm/drop_caches", "2"));
	st = stats_of(self->fd, (void *)q);
	EXPECT_EQ(64, st.reg_reclaimed);
	EXPECT_EQ(0, st.reg_shadow_pages);
}

/*
 * Real pressure: with min_free_kbytes raised (so the watermarks sit well
 * above what an OOM needs), a child fills memory until the module's page
 * count drops (kswapd ran the shrinker) or free memory nears the min
 * watermark, then frees it all by exiting.
 */
TEST_F_TIMEOUT(reclaim, shrinker_runs_when_memory_runs_low, 300)
{
	volatile uint64_t *p = map_registered(self->fd, 64, 1, COWGUARD_REFILL_NEVER);
	long before, old_min = cg_param_read("/proc/sys/vm/min_free_kbytes");
	const long min_kb = 128 << 10, chunk = 4 << 20;
	pid_t pid;

	ASSERT_NE(NULL, p);
	ASSERT_LT(0, old_min);
	make_refcount_shadows(p, 64);
	before = cg_live_pages();
	ASSERT_EQ(0, cg_param_set("/proc/sys/vm/min_free_kbytes", min_kb));
	pid = fork();
	if (!pid) {
		long total = 0;

		/* The filler needs no view: one would outlive it when the
		 * scanner holds its mm at exit (mmput_async() then tears the
		 * gigabytes down later), and the next test finds the pages.
		 */
		munmap((void *)p, 64 * PG);
		while (cg_live_pages() >= before &&
		       cg_meminfo_kb("MemFree") > min_kb + (16 << 10)) {
			if (mmap(NULL, chunk, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				 -1, 0) == MAP_FAILED)
				break;
			total += chunk;
		}
		fprintf(stderr, "# filled %ld MiB, MemFree %ld kB\n",
			total >> 20, cg_meminfo_kb("MemFree"));
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	cg_param_set("/proc/sys/vm/min_free_kbytes", old_min);
	TH_LOG("module pages %ld -> %ld", before, cg_live_pages());
	EXPECT_LT(0, stats_of(self->fd, (void *)p).reclaimed);
}

TEST_F(reclaim, budget_refills_over_time)
{
	/* 2 writes in a burst, one given back every 100 ms. */
	volatile uint64_t *p = map_registered(self->fd, 1, 2, 100);
	struct cowguard_stats st;
	int i;

	ASSERT_NE(NULL, p);
	for (i = 0; i < 6; i++) {
		incq(p);
		usleep(150000);
	}
	st = stats_of(self->fd, (void *)p);
	EXPECT_EQ(6, st.emulated);
	EXPECT_EQ(0, st.shadow_pages);
	for (i = 0; i < 3; i++)
		incq(p);			/* a burst over the budget */
	st = stats_of(self->fd, (void *)p);
	EXPECT_EQ(1, st.budget_shadows);
	EXPECT_EQ(1, st.shadow_pages);
}

TEST_HARNESS_MAIN
