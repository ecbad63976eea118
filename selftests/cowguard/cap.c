// SPDX-License-Identifier: GPL-2.0
/*
 * The shadow cap: a process holds at most so many shadows made because the
 * trap budget ran out; past it refcount-only writes are emulated whatever
 * the budget. The cap is the process's, over all of its registrations.
 * Other writes always get their shadow, reclaim makes room, and a forked
 * child starts with none of its own.
 */
#include "cg_test.h"
#include "kselftest_harness.h"

#define BAND_VAL	(1ULL << 60)
#define MAX_PAGES	512
#define WORDS		(PG / 8)

/* n pages, word 0 of every page marked and holding BAND_VAL. */
static uint64_t *map_capped(int fd, size_t n, unsigned int cap)
{
	static uint8_t map[MAX_PAGES * WORDS / 8];
	uint64_t *p = (uint64_t *)cg_map_filled(n);
	struct cowguard_register r = {
		.size = sizeof(r), .length = n * PG,
		.slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = n * WORDS / 8, .trap_budget = 2,
		.trap_refill_ms = COWGUARD_REFILL_NEVER, .shadow_cap = cap,
		.band_low = 1ULL << 59, .band_high = 1ULL << 61,
	};
	size_t i;

	if (!p || n > MAX_PAGES)
		return NULL;
	memset(map, 0, sizeof(map));
	for (i = 0; i < n; i++) {
		p[i * WORDS] = BAND_VAL;
		map[i * WORDS / 8] = 0x01;
	}
	r.start = (uintptr_t)p;
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? NULL : p;
}

static void incq(volatile uint64_t *w)
{
	asm volatile("lock incq (%0)" : : "r"(w) : "memory", "cc");
}

/* @times refcount increments on word 0 of each of pages [first, last). */
static void hammer(volatile uint64_t *p, size_t first, size_t last, int times)
{
	size_t i;
	int k;

	for (i = first; i < last; i++)
		for (k = 0; k < times; k++)
			incq(p + i * WORDS);
}

static struct cowguard_stats stats_of(int fd, volatile void *p)
{
	struct cowguard_stats st;

	cg_stats(fd, (void *)p, &st);
	return st;
}

FIXTURE(cap) {
	int fd;
	long interval;
	long pct;
};

FIXTURE_SETUP(cap)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->interval = cg_param_read(CG_PARAM("reclaim_interval_ms"));
	self->pct = cg_param_read(CG_PARAM("shadow_cap_pct"));
	ASSERT_LE(0, self->interval);
	ASSERT_LE(0, self->pct);
	ASSERT_EQ(0, cg_param_set(CG_PARAM("reclaim_interval_ms"), 0));
}

FIXTURE_TEARDOWN(cap)
{
	cg_param_set(CG_PARAM("reclaim_interval_ms"), self->interval);
	cg_param_set(CG_PARAM("shadow_cap_pct"), self->pct);
	close(self->fd);
}

TEST_F(cap, budget_copies_stop_at_the_cap)
{
	/* Budget 2, no refill: the third increment of a page asks for a copy. */
	volatile uint64_t *p = map_capped(self->fd, 64, 8);
	struct cowguard_stats st;
	size_t i;

	ASSERT_NE(NULL, p);
	hammer(p, 0, 64, 5);
	st = stats_of(self->fd, p);
	EXPECT_EQ(8, st.shadow_pages);
	EXPECT_EQ(8, st.budget_shadow_pages);
	EXPECT_EQ(8, st.budget_shadows);
	/* 8 pages: 2 dropped, then a copy takes 3; 56 pages: all 5 dropped. */
	EXPECT_EQ(8 * 2 + 56 * 5, st.emulated);
	EXPECT_EQ(56 * 3, st.capped);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(i < 8 ? BAND_VAL + 3 : BAND_VAL, p[i * WORDS]) {
			TH_LOG("page %zu", i);
		}
	EXPECT_GE(8 * 4, cg_smaps_kb(getpid(), (void *)p, 64 * PG, "Private_Dirty"));

	/* A write that is not a refcount change gets its copy over the cap. */
	((volatile char *)p)[20 * PG + 100] = 7;
	st = stats_of(self->fd, p);
	EXPECT_EQ(9, st.shadow_pages);
	EXPECT_EQ(8, st.budget_shadow_pages);
	EXPECT_EQ(7, ((volatile char *)p)[20 * PG + 100]);
}

TEST_F(cap, reclaim_makes_room_for_the_hottest_page)
{
	volatile uint64_t *p = map_capped(self->fd, 64, 8);
	struct cowguard_stats st;
	int i;

	ASSERT_NE(NULL, p);
	hammer(p, 0, 64, 5);
	((volatile char *)p)[20 * PG + 100] = 7;	/* kept by reclaim */
	ASSERT_EQ(0, cg_param_set(CG_PARAM("reclaim_interval_ms"), 20));
	for (i = 0; i < 100 && stats_of(self->fd, p).reclaimed < 8; i++)
		usleep(50000);
	ASSERT_EQ(0, cg_param_set(CG_PARAM("reclaim_interval_ms"), 0));
	st = stats_of(self->fd, p);
	ASSERT_EQ(8, st.reclaimed);
	EXPECT_EQ(1, st.shadow_pages);
	EXPECT_EQ(0, st.budget_shadow_pages);
	EXPECT_EQ(BAND_VAL, p[0]);	/* the golden value again */
	EXPECT_EQ(7, ((volatile char *)p)[20 * PG + 100]);

	/* Page 30 ran its bucket into debt while capped: its next
	 * refcount write takes the room at once.
	 */
	hammer(p, 30, 31, 5);
	st = stats_of(self->fd, p);
	EXPECT_EQ(2, st.shadow_pages);
	EXPECT_EQ(1, st.budget_shadow_pages);
	EXPECT_EQ(BAND_VAL + 5, p[30 * WORDS]);
}

TEST_F(cap, one_cap_over_all_registrations_of_a_process)
{
	volatile uint64_t *a = map_capped(self->fd, 64, 8);
	volatile uint64_t *b = map_capped(self->fd, 64, 8);
	struct cowguard_stats st;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	/* Two caps of 8 make room for 16, wherever the hot pages are. */
	hammer(a, 0, 64, 3);
	EXPECT_EQ(16, stats_of(self->fd, a).budget_shadow_pages);
	hammer(b, 0, 64, 3);
	st = stats_of(self->fd, b);
	EXPECT_EQ(0, st.budget_shadow_pages);
	EXPECT_EQ(64, st.capped);
	/* a leaves with its shadows and its share: 8 for b, in debt. */
	ASSERT_EQ(0, cg_unregister(self->fd, (void *)a));
	hammer(b, 0, 64, 1);
	st = stats_of(self->fd, b);
	EXPECT_EQ(8, st.budget_shadow_pages);
	/* The three before were dropped; this one landed in the copy. */
	EXPECT_EQ(BAND_VAL + 1, b[0]);
	EXPECT_EQ(BAND_VAL, b[63 * WORDS]);
}

TEST_F(cap, the_percentage_is_of_all_registered_pages)
{
	volatile uint64_t *p[4];
	struct cowguard_stats st;
	int i;

	/* 4 x 128 pages at 50%: one cap of 256 pages for the process, not
	 * 4 x 256 (each registration's own minimum).
	 */
	ASSERT_EQ(0, cg_param_set(CG_PARAM("shadow_cap_pct"), 50));
	for (i = 0; i < 4; i++) {
		p[i] = map_capped(self->fd, 128, 0);
		ASSERT_NE(NULL, p[i]);
	}
	for (i = 0; i < 4; i++)
		hammer(p[i], 0, 128, 3);
	ASSERT_EQ(0, cg_stats(self->fd, NULL, &st));
	EXPECT_EQ(256, st.budget_shadow_pages);
	EXPECT_EQ(256, st.capped);
	EXPECT_EQ(256, st.shadow_pages);
	EXPECT_EQ(128, stats_of(self->fd, p[1]).budget_shadow_pages);
	EXPECT_EQ(0, stats_of(self->fd, p[2]).budget_shadow_pages);
}

TEST_F(cap, no_cap_and_the_module_default)
{
	volatile uint64_t *p = map_capped(self->fd, 64, COWGUARD_SHADOW_CAP_NONE);
	volatile uint64_t *q;
	struct cowguard_stats st;

	ASSERT_NE(NULL, p);
	hammer(p, 0, 64, 3);
	st = stats_of(self->fd, p);
	EXPECT_EQ(64, st.budget_shadow_pages);
	EXPECT_EQ(0, st.capped);

	/* 0 takes shadow_cap_pct of the registration's pages, read at the
	 * time of the write: 60% of 512 pages.
	 */
	ASSERT_EQ(0, cg_param_set(CG_PARAM("shadow_cap_pct"), 60));
	q = map_capped(self->fd, 512, 0);
	ASSERT_NE(NULL, q);
	hammer(q, 0, 512, 3);
	st = stats_of(self->fd, q);
	EXPECT_EQ(512 * 60 / 100, st.budget_shadow_pages);
	EXPECT_EQ(512 - 512 * 60 / 100, st.capped);

	/* ... never fewer than 256 pages (1% would be 5)... */
	ASSERT_EQ(0, cg_param_set(CG_PARAM("shadow_cap_pct"), 1));
	hammer(q, 400, 401, 1);
	EXPECT_EQ(512 - 512 * 60 / 100 + 1, stats_of(self->fd, q).capped);
	/* ... and 0% is no cap: every page in debt copies at once. */
	ASSERT_EQ(0, cg_param_set(CG_PARAM("shadow_cap_pct"), 0));
	hammer(q, 307, 512, 1);
	st = stats_of(self->fd, q);
	EXPECT_EQ(512, st.budget_shadow_pages);
}

TEST_F(cap, a_forked_child_starts_with_none_of_its_own)
{
	volatile uint64_t *p = map_capped(self->fd, 64, 8);
	pid_t pid;

	ASSERT_NE(NULL, p);
	hammer(p, 0, 64, 5);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct cowguard_stats st = stats_of(self->fd, p);

		/* The parent's eight are shared now, not the child's. */
		if (st.shadow_pages != 8 || st.budget_shadow_pages)
			_exit(1);
		/* A fresh budget: two writes dropped, the third copies. */
		hammer(p, 40, 41, 3);
		st = stats_of(self->fd, p);
		if (st.budget_shadow_pages != 1 || st.shadow_pages != 9 ||
		    p[40 * WORDS] != BAND_VAL + 1 || p[0] != BAND_VAL + 3)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(0, cg_wait(pid));
	EXPECT_EQ(8, stats_of(self->fd, p).budget_shadow_pages);
	EXPECT_EQ(BAND_VAL, p[40 * WORDS]);
}

TEST_HARNESS_MAIN
