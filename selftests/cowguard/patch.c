// SPDX-License-Identifier: GPL-2.0
/*
 * Site patching end to end (libcowguard's cowguard_patch_sites() on the
 * module's proof): a proven site stops trapping and skips band writes;
 * values outside the band still change; an unproven or disproven site is
 * left alone; threads running the site while it is written lose no
 * increment; a forked child runs patched; unpatching brings the trap back;
 * site_patching=0 patches nothing.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "cg_test.h"
#include "kselftest_harness.h"
#include "cowguard.h"		/* libcowguard */

#define MARK		(1ULL << 60)
#define BAND_LOW	(1ULL << 59)
#define BAND_HIGH	(1ULL << 61)

/* Sites at known addresses; the nops give each a neighbour to pun on. */
asm(".text\n"
    ".globl cg_inc_site\n.type cg_inc_site,@function\ncg_inc_site:\n"
    "\taddq $1, (%rdi)\n\tnop\n\tret\n"
    ".globl cg_dec_site\n.type cg_dec_site,@function\ncg_dec_site:\n"
    "\tsubq $1, (%rdi)\n\tnop\n\tret\n"
    ".globl cg_other_site\n.type cg_other_site,@function\ncg_other_site:\n"
    "\taddq $1, (%rdi)\n\tnop\n\tret\n"
    ".globl cg_pair_site\n.type cg_pair_site,@function\ncg_pair_site:\n"
    "\taddq $1, (%rdi)\n\taddq $1, (%rsi)\n\tnop\n\tret\n");
void cg_pair_site(volatile uint64_t *a, volatile uint64_t *b);
void cg_inc_site(volatile uint64_t *p);
void cg_dec_site(volatile uint64_t *p);
void cg_other_site(volatile uint64_t *p);

FIXTURE(patch) {
	int fd;
	volatile uint64_t *w;
};

FIXTURE_SETUP(patch)
{
	static uint8_t map[PG / 8 / 8];
	struct cowguard_register r = {
		.size = sizeof(r), .slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map), .trap_budget = 65535,
		.band_low = BAND_LOW, .band_high = BAND_HIGH,
	};

	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->w = (uint64_t *)cg_map_filled(1);
	ASSERT_NE(NULL, self->w);
	self->w[0] = MARK;		/* words 0 and 2 are refcounts */
	self->w[1] = MARK + 3;		/* a band value, not a refcount */
	self->w[2] = MARK - 5;
	map[0] = 0x05;
	r.start = (uintptr_t)self->w;
	r.length = PG;
	ASSERT_EQ(0, ioctl(self->fd, COWGUARD_IOC_REGISTER, &r));
}

FIXTURE_TEARDOWN(patch)
{
	cowguard_unpatch_sites();
	close(self->fd);
}

static uint64_t emulated(int fd, volatile void *p)
{
	struct cowguard_stats st;

	cg_stats(fd, (void *)p, &st);
	return st.emulated;
}

static void prove(volatile uint64_t *w, void (*site)(volatile uint64_t *))
{
	int i;

	for (i = 0; i < COWGUARD_PROOF_MIN_WRITES; i++)
		site(w);
}

static int patch(int fd, volatile void *p, struct cowguard_patch_report *rep)
{
	return cowguard_patch_sites(fd, (const void *)p, MARK, BAND_LOW,
				    BAND_HIGH, 0, rep);
}

TEST_F(patch, a_proven_site_stops_trapping)
{
	struct cowguard_patch_report rep;
	uint64_t before, private = 5;
	int i;

	prove(self->w, cg_inc_site);
	cg_other_site(self->w);		/* seen, not proven */
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(2, rep.sites);
	EXPECT_EQ(1, rep.proven);
	EXPECT_EQ(1, rep.unproven);
	EXPECT_EQ(1, rep.patched_now);
	EXPECT_EQ(1, rep.patched);
	EXPECT_NE(0x48, *(volatile uint8_t *)cg_inc_site);	/* now a jump */
	EXPECT_EQ(0x48, *(volatile uint8_t *)cg_other_site);

	before = emulated(self->fd, self->w);
	for (i = 0; i < 10000; i++)
		cg_inc_site(self->w);
	EXPECT_EQ(before, emulated(self->fd, self->w));	/* no trap */
	EXPECT_EQ(MARK, self->w[0]);
	cg_other_site(self->w);		/* unpatched: still traps */
	EXPECT_EQ(before + 1, emulated(self->fd, self->w));
	/* Outside the band the write lands, as before. */
	cg_inc_site(&private);
	EXPECT_EQ(6, private);
	/* Again: nothing new to do. */
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(0, rep.patched_now);
	EXPECT_EQ(1, rep.patched);
}

TEST_F(patch, a_value_below_the_top_byte_still_traps_and_stays_exact)
{
	struct cowguard_patch_report rep;
	uint64_t before;

	prove(self->w, cg_dec_site);
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	ASSERT_EQ(1, rep.patched_now);
	/* Word 2 holds MARK - 5: top byte 0x0f, in the band but not skipped:
	 * the write goes to the module, which emulates it.
	 */
	before = emulated(self->fd, self->w);
	cg_dec_site(self->w + 2);
	EXPECT_EQ(before + 1, emulated(self->fd, self->w));
	EXPECT_EQ(MARK - 5, self->w[2]);
}

TEST_F(patch, a_disproven_site_is_never_patched)
{
	struct cowguard_patch_report rep;

	prove(self->w, cg_other_site);
	cg_other_site(self->w + 1);	/* a band value, not a marked slot */
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(0, rep.proven);
	EXPECT_EQ(0, rep.patched_now);
	EXPECT_EQ(0x48, *(volatile uint8_t *)cg_other_site);
}

struct spinner {
	atomic_int stop;
	uint64_t count;		/* private: every increment must land */
	unsigned long loops;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;

	while (!atomic_load(&s->stop)) {
		cg_inc_site(&s->count);
		s->loops++;
	}
	return NULL;
}

TEST_F(patch, threads_running_the_site_lose_nothing)
{
	struct spinner s[2] = {};
	struct cowguard_patch_report rep;
	pthread_t t[2];
	int i;

	prove(self->w, cg_inc_site);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, spin, &s[i]));
	usleep(20000);
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(1, rep.patched_now);
	usleep(20000);
	EXPECT_EQ(1, cowguard_unpatch_sites());
	usleep(20000);
	for (i = 0; i < 2; i++) {
		atomic_store(&s[i].stop, 1);
		pthread_join(t[i], NULL);
		EXPECT_EQ(s[i].loops, s[i].count);
		EXPECT_LT(1000, s[i].loops);
	}
}

TEST_F(patch, a_child_forked_later_runs_patched)
{
	struct cowguard_patch_report rep;
	uint64_t before;
	pid_t pid;

	prove(self->w, cg_inc_site);
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	before = emulated(self->fd, self->w);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct cowguard_stats st;
		int i;

		for (i = 0; i < 1000; i++)
			cg_inc_site(self->w);
		cg_stats(self->fd, (void *)self->w, &st);
		_exit(st.emulated == 0 && st.shadow_pages == 0 &&
		      self->w[0] == MARK ? 0 : 1);
	}
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ(before, emulated(self->fd, self->w));
}

TEST_F(patch, unpatching_brings_the_trap_back)
{
	struct cowguard_patch_report rep;
	uint64_t before;

	prove(self->w, cg_inc_site);
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(1, cowguard_unpatch_sites());
	EXPECT_EQ(0x48, *(volatile uint8_t *)cg_inc_site);
	before = emulated(self->fd, self->w);
	cg_inc_site(self->w);
	EXPECT_EQ(before + 1, emulated(self->fd, self->w));
}

/*
 * A low, non-PIE-like text: a 4-byte site followed by a "jmp rel32" whose
 * bytes make every punned window land below address 0 (0, 1 or 2
 * prefixes): only moving the jmp (successor eviction) makes room.
 */
TEST_F(patch, a_jmp_after_the_site_is_moved_out_of_the_way)
{
	static const uint8_t site[] = { 0x48, 0x83, 0x07, 0x01 };	/* addq $1,(%rdi) */
	const unsigned long at = 0x1000000, ret_at = 0x8090;
	struct cowguard_patch_report rep;
	void (*fn)(volatile uint64_t *);
	uint64_t before, private = 7;
	uint8_t *code;
	int32_t rel;
	int i;

	code = mmap((void *)at, 0x10000, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ASSERT_EQ((void *)at, code);
	memset(code, 0xcc, 0x10000);
	memcpy(code, site, sizeof(site));
	code[4] = 0xe9;
	rel = ret_at - 9;			/* 0x8087: 87 80 00 00 */
	memcpy(code + 5, &rel, 4);
	code[ret_at] = 0xc3;
	ASSERT_EQ(0, mprotect(code, 0x10000, PROT_READ | PROT_EXEC));
	fn = (void (*)(volatile uint64_t *))code;

	prove(self->w, fn);
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(1, rep.patched_now);
	EXPECT_EQ(1, rep.evicted);
	EXPECT_EQ(0, rep.no_window);
	EXPECT_EQ(0xe9, code[4]);
	EXPECT_NE(0, memcmp(code + 5, &rel, 4));	/* the jmp moved */
	before = emulated(self->fd, self->w);
	for (i = 0; i < 1000; i++)
		fn(self->w);
	EXPECT_EQ(before, emulated(self->fd, self->w));
	EXPECT_EQ(MARK, self->w[0]);
	fn(&private);
	EXPECT_EQ(8, private);
	EXPECT_EQ(2, cowguard_unpatch_sites());	/* the site and its jmp */
	EXPECT_EQ(0, memcmp(code, site, sizeof(site)));
	EXPECT_EQ(0, memcmp(code + 5, &rel, 4));
	fn(&private);
	EXPECT_EQ(9, private);
	munmap(code, 0x10000);
}

/*
 * Two sites back to back, the first patched before the second is proven:
 * the first's punned jump reads the second's first byte, so patching the
 * second undoes and redoes the first around it.
 */
TEST_F(patch, a_neighbour_proven_later_is_patched_around)
{
	volatile uint8_t *a = (volatile uint8_t *)cg_pair_site;
	struct cowguard_patch_report rep;
	uint64_t before, x = 1, y = 10;
	int i;

	for (i = 0; i < COWGUARD_PROOF_MIN_WRITES; i++)
		cg_pair_site(self->w, &x);	/* only the first traps */
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(1, rep.patched_now);
	EXPECT_EQ(0x48, a[4]);			/* the second: not yet */
	for (i = 0; i < COWGUARD_PROOF_MIN_WRITES; i++)
		cg_pair_site(&x, self->w);	/* the first runs patched */
	ASSERT_EQ(0, patch(self->fd, self->w, &rep));
	EXPECT_EQ(1, rep.patched_now);
	EXPECT_EQ(1, rep.repatched);
	EXPECT_EQ(2, rep.patched);
	EXPECT_NE(0x48, a[4]);
	before = emulated(self->fd, self->w);
	for (i = 0; i < 1000; i++)
		cg_pair_site(self->w, self->w);
	EXPECT_EQ(before, emulated(self->fd, self->w));
	x = 1;
	cg_pair_site(&x, &y);
	EXPECT_EQ(2, x);
	EXPECT_EQ(11, y);
	EXPECT_EQ(2, cowguard_unpatch_sites());
	EXPECT_EQ(0x48, a[0]);
	EXPECT_EQ(0x48, a[4]);
}

TEST_F(patch, bad_calls_patch_nothing)
{
	struct cowguard_patch_report rep;
	long was = cg_param_read(CG_PARAM("site_patching"));

	prove(self->w, cg_inc_site);
	EXPECT_EQ(-ERANGE, cowguard_patch_sites(self->fd, (const void *)self->w,
						MARK, MARK, BAND_HIGH, 0, &rep));
	EXPECT_EQ(-ERANGE, cowguard_patch_sites(self->fd, (const void *)self->w,
						5, BAND_LOW, BAND_HIGH, 0, &rep));
	EXPECT_EQ(-EINVAL, cowguard_patch_sites(self->fd, (const void *)self->w,
						MARK, BAND_LOW, BAND_HIGH, 1, &rep));
	EXPECT_EQ(-EINVAL, cowguard_patch_sites(self->fd, &rep, MARK, BAND_LOW,
						BAND_HIGH, 0, &rep));
	EXPECT_EQ(0x48, *(volatile uint8_t *)cg_inc_site);
	ASSERT_EQ(0, cg_param_set(CG_PARAM("site_patching"), 0));
	EXPECT_EQ(-EOPNOTSUPP, patch(self->fd, self->w, &rep));
	ASSERT_EQ(0, cg_param_set(CG_PARAM("site_patching"), was));
	EXPECT_EQ(0x48, *(volatile uint8_t *)cg_inc_site);
}

TEST_HARNESS_MAIN
