// SPDX-License-Identifier: GPL-2.0
/*
 * Refcount-only writes: whitelisted instructions on a marked slot with band
 * values are emulated (page stays shared, value unchanged, registers and
 * flags as if executed); anything else takes the shadow path and keeps the
 * write; the trap budget turns a hot page into a shadow.
 */
#include "cg_test.h"
#include "kselftest_harness.h"

#define BAND_VAL	(1ULL << 60)

FIXTURE(emu) {
	int fd;
	uint64_t *w;
};

static int reg_slots(int fd, void *p, unsigned int budget)
{
	static uint8_t map[PG / 8 / 8];
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)p, .length = PG,
		.slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map), .trap_budget = budget,
		.band_low = 1ULL << 59, .band_high = 1ULL << 61,
	};

	map[0] = 0x05;		/* words 0 and 2 are refcounts */
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? -errno : 0;
}

FIXTURE_SETUP(emu)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->w = (uint64_t *)cg_map_filled(1);
	ASSERT_NE(NULL, self->w);
	self->w[0] = BAND_VAL;
	self->w[2] = BAND_VAL;
	ASSERT_EQ(0, reg_slots(self->fd, self->w, 0));
}

FIXTURE_TEARDOWN(emu)
{
	close(self->fd);
}

static struct cowguard_stats stats_of(int fd, void *p)
{
	struct cowguard_stats st;

	cg_stats(fd, p, &st);
	return st;
}

TEST_F(emu, whitelisted_writes_are_dropped)
{
	volatile uint64_t *w = self->w;
	uint64_t rax = 5, out;
	unsigned char zf = 1;
	struct cowguard_stats st;

	asm volatile("lock addq $1, (%1)\n\tsetz %0" : "=r"(zf) : "r"(w) : "memory", "cc");
	EXPECT_EQ(0, zf);
	asm volatile("lock xaddq %0, (%1)" : "+r"(rax) : "r"(w) : "memory", "cc");
	EXPECT_EQ(BAND_VAL, rax);		/* xadd loaded the page's value */
	asm volatile("incq (%0)" : : "r"(w + 2) : "memory", "cc");
	asm volatile("decq (%0)" : : "r"(w + 2) : "memory", "cc");
	asm volatile("subq $3, (%0)" : : "r"(w) : "memory", "cc");
	out = BAND_VAL + 7;
	asm volatile("movq %0, (%1)" : : "r"(out), "r"(w) : "memory");
	asm volatile("lock subl $1, (%0)" : : "r"(w) : "memory", "cc");	/* 4-byte: refused */
	st = stats_of(self->fd, self->w);
	EXPECT_EQ(6, st.emulated);
	EXPECT_EQ(1, st.shadow_pages);
	EXPECT_EQ(1, st.refused[COWGUARD_REFUSE_NOT_SLOT]);
	/* The 32-bit write landed on the shadow: the low word moved by -1. */
	EXPECT_EQ(BAND_VAL - 1 + (1ULL << 32), w[0]);
}

TEST_F(emu, emulated_page_stays_golden)
{
	volatile uint64_t *w = self->w;
	struct cowguard_stats st;
	int i;

	for (i = 0; i < 10; i++)
		asm volatile("lock addq $1, (%0)" : : "r"(w) : "memory", "cc");
	st = stats_of(self->fd, self->w);
	EXPECT_EQ(10, st.emulated);
	EXPECT_EQ(0, st.shadow_pages);
	EXPECT_EQ(BAND_VAL, w[0]);
	EXPECT_EQ(0, cg_smaps_kb(getpid(), self->w, PG, "Private_Dirty"));
}

TEST_F(emu, other_writes_take_the_shadow_path)
{
	volatile uint64_t *w = self->w;
	struct cowguard_stats st;
	pid_t pid;
	int fds[2];

	pid = fork();
	if (!pid) {
		uint64_t v = 42;

		asm volatile("movq %0, 8(%1)" : : "r"(v), "r"(w) : "memory");	/* unmarked */
		st = stats_of(self->fd, self->w);
		_exit(w[1] == 42 && st.shadow_pages == 1 &&
		      st.refused[COWGUARD_REFUSE_NOT_SLOT] == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, cg_wait(pid));
	pid = fork();
	if (!pid) {
		uint64_t v = 5;

		asm volatile("movq %0, (%1)" : : "r"(v), "r"(w) : "memory");	/* leaves the band */
		st = stats_of(self->fd, self->w);
		_exit(w[0] == 5 && st.refused[COWGUARD_REFUSE_BAND] == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, cg_wait(pid));
	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	if (!pid) {
		uint64_t v = BAND_VAL + 1;

		/* A kernel-mode write of a band value is never emulated. */
		if (write(fds[1], &v, 8) != 8 || read(fds[0], (void *)(w + 2), 8) != 8)
			_exit(2);
		st = stats_of(self->fd, self->w);
		_exit(w[2] == BAND_VAL + 1 &&
		      st.refused[COWGUARD_REFUSE_KERNEL] == 1 ? 0 : 1);
	}
	EXPECT_EQ(0, cg_wait(pid));
	pid = fork();
	if (!pid) {
		/* Single-stepping (TF) refuses emulation: the add executes. */
		asm volatile("pushfq\n\torq $0x100, (%%rsp)\n\tpopfq\n\t"
			     "lock addq $1, (%0)\n\t"
			     "pushfq\n\tandq $~0x100, (%%rsp)\n\tpopfq"
			     : : "r"(w) : "memory", "cc");
		_exit(2);
	}
	EXPECT_EQ(128 + SIGTRAP, cg_wait(pid));
	EXPECT_EQ(BAND_VAL, w[0]);
	EXPECT_EQ(0, stats_of(self->fd, self->w).shadow_pages);
}

TEST_F(emu, budget_turns_a_hot_page_into_a_shadow)
{
	volatile uint64_t *w = (uint64_t *)cg_map_filled(1);
	struct cowguard_stats st;
	int i;

	w[0] = BAND_VAL;
	w[2] = BAND_VAL;
	ASSERT_EQ(0, reg_slots(self->fd, (void *)w, 4));
	for (i = 0; i < 10; i++)
		asm volatile("lock addq $1, (%0)" : : "r"(w) : "memory", "cc");
	st = stats_of(self->fd, (void *)w);
	EXPECT_EQ(4, st.emulated);
	EXPECT_EQ(1, st.budget_shadows);
	EXPECT_EQ(1, st.shadow_pages);
	EXPECT_EQ(BAND_VAL + 6, w[0]);		/* the writes after it landed */
}

TEST_HARNESS_MAIN
