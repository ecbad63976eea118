// SPDX-License-Identifier: GPL-2.0
/*
 * COWGUARD_IOC_SITES: the registration's proof of its instruction sites.
 * A site is proven by COWGUARD_PROOF_MIN_WRITES refcount-only writes and
 * no other; one other write disproves it, unless it wrote an unmarked word
 * holding a value outside the band (counted apart); every process of the fork tree
 * and every registration of one process count in one table; kernel-mode writes name no site; the module
 * parameter site_patching turns the ioctl off.
 */
#include "cg_test.h"
#include "kselftest_harness.h"

#define BAND_VAL	(1ULL << 60)

/* Two instruction sites at known addresses: the same add in each. */
asm(".text\n"
    ".globl cg_site_a\n.type cg_site_a,@function\ncg_site_a:\n"
    "\taddq $1, (%rdi)\n\tret\n"
    ".globl cg_site_b\n.type cg_site_b,@function\ncg_site_b:\n"
    "\tsubq $1, (%rdi)\n\tret\n");
void cg_site_a(volatile uint64_t *p);
void cg_site_b(volatile uint64_t *p);

FIXTURE(proof) {
	int fd;
	volatile uint64_t *w;
};

FIXTURE_SETUP(proof)
{
	static uint8_t map[PG / 8 / 8];
	struct cowguard_register r = {
		.size = sizeof(r), .slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map), .trap_budget = 65535,
		.band_low = 1ULL << 59, .band_high = 1ULL << 61,
	};

	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->w = (uint64_t *)cg_map_filled(1);
	ASSERT_NE(NULL, self->w);
	self->w[0] = BAND_VAL;		/* word 0 is a refcount, the rest not */
	self->w[1] = BAND_VAL + 7;	/* a band value, not a refcount */
	map[0] = 0x01;
	r.start = (uintptr_t)self->w;
	r.length = PG;
	ASSERT_EQ(0, ioctl(self->fd, COWGUARD_IOC_REGISTER, &r));
}

FIXTURE_TEARDOWN(proof)
{
	close(self->fd);
}

static int get_sites(int fd, volatile void *p, struct cowguard_site_proof *out,
		     uint32_t nr, uint32_t *total)
{
	struct cowguard_sites s = {
		.size = sizeof(s), .start = (uintptr_t)p,
		.sites = (uintptr_t)out, .nr = nr,
	};

	if (ioctl(fd, COWGUARD_IOC_SITES, &s))
		return -errno;
	if (total)
		*total = s.total;
	return (int)s.nr;
}

/* The table's entry for ip, or NULL. */
static struct cowguard_site_proof *find_site(int fd, volatile void *p,
					     void (*fn)(volatile uint64_t *))
{
	static struct cowguard_site_proof out[COWGUARD_PROOF_SITES];
	int i, n = get_sites(fd, p, out, COWGUARD_PROOF_SITES, NULL);

	for (i = 0; i < n; i++)
		if (out[i].ip == (uintptr_t)fn)
			return &out[i];
	return NULL;
}

TEST_F(proof, proven_after_min_writes_and_nothing_else)
{
	struct cowguard_site_proof *s;
	int i;

	for (i = 0; i < COWGUARD_PROOF_MIN_WRITES - 1; i++)
		cg_site_a(self->w);
	s = find_site(self->fd, self->w, cg_site_a);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(COWGUARD_PROOF_MIN_WRITES - 1, s->refcount_writes);
	EXPECT_EQ(0, s->refused);
	EXPECT_EQ(0, s->flags);
	cg_site_a(self->w);
	s = find_site(self->fd, self->w, cg_site_a);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(COWGUARD_PROOF_MIN_WRITES, s->refcount_writes);
	EXPECT_EQ(COWGUARD_SITE_F_PROVEN, s->flags);
	/* Emulated: the page is still golden, the value unchanged. */
	EXPECT_EQ(BAND_VAL, self->w[0]);
	EXPECT_EQ(NULL, find_site(self->fd, self->w, cg_site_b));
}

TEST_F(proof, one_other_write_disproves_for_good)
{
	struct cowguard_site_proof *s;
	int i;

	for (i = 0; i < 2 * COWGUARD_PROOF_MIN_WRITES; i++)
		cg_site_b(self->w);
	cg_site_b(self->w + 1);		/* not a marked slot: a shadow */
	EXPECT_EQ(BAND_VAL + 6, self->w[1]);
	s = find_site(self->fd, self->w, cg_site_b);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(2 * COWGUARD_PROOF_MIN_WRITES, s->refcount_writes);
	EXPECT_EQ(1, s->refused);
	EXPECT_EQ(0, s->outside);
	EXPECT_EQ(0, s->flags);
}

/*
 * A write to an unmarked word whose value is outside the band (an INCREF
 * of an object the adapter did not mark) is run unchanged by a patched
 * site: it is counted apart and leaves the site proven.
 */
TEST_F(proof, unmarked_words_outside_the_band_are_not_evidence)
{
	struct cowguard_site_proof *s;
	int i;

	for (i = 0; i < COWGUARD_PROOF_MIN_WRITES; i++)
		cg_site_a(self->w);
	cg_site_a(self->w + 2);		/* not a marked slot: a shadow */
	EXPECT_EQ(0x0101010101010101ULL + 1, self->w[2]);
	EXPECT_EQ(BAND_VAL, self->w[0]);
	s = find_site(self->fd, self->w, cg_site_a);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(COWGUARD_PROOF_MIN_WRITES, s->refcount_writes);
	EXPECT_EQ(0, s->refused);
	EXPECT_EQ(1, s->outside);
	EXPECT_EQ(COWGUARD_SITE_F_PROVEN, s->flags);
}

TEST_F(proof, a_child_proves_for_the_whole_tree)
{
	struct cowguard_site_proof *s;
	pid_t pid = fork();
	int i;

	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < COWGUARD_PROOF_MIN_WRITES; i++)
			cg_site_a(self->w);
		_exit(0);
	}
	ASSERT_EQ(0, cg_wait(pid));
	s = find_site(self->fd, self->w, cg_site_a);
	ASSERT_NE(NULL, s);
	EXPECT_EQ(COWGUARD_SITE_F_PROVEN, s->flags);
	EXPECT_EQ(BAND_VAL, self->w[0]);
}

TEST_F(proof, kernel_writes_name_no_site)
{
	uint64_t v = BAND_VAL + 1;
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(sizeof(v), write(p[1], &v, sizeof(v)));
	ASSERT_EQ(sizeof(v), read(p[0], (void *)self->w, sizeof(v)));
	EXPECT_EQ(BAND_VAL + 1, self->w[0]);	/* the write landed */
	EXPECT_EQ(0, get_sites(self->fd, self->w, NULL, 0, NULL));
	close(p[0]);
	close(p[1]);
}

TEST_F(proof, short_array_gets_the_total)
{
	struct cowguard_site_proof out[1] = {};
	uint32_t total = 0;
	int i;

	for (i = 0; i < 3; i++) {
		cg_site_a(self->w);
		cg_site_b(self->w);
	}
	EXPECT_EQ(1, get_sites(self->fd, self->w, out, 1, &total));
	EXPECT_EQ(2, total);
	EXPECT_TRUE(out[0].ip == (uintptr_t)cg_site_a ||
		    out[0].ip == (uintptr_t)cg_site_b);
	EXPECT_EQ(3, out[0].refcount_writes);
}

TEST_F(proof, bad_requests_change_nothing)
{
	struct cowguard_site_proof out[2];
	struct cowguard_sites s = {
		.size = sizeof(s), .start = (uintptr_t)self->w,
		.sites = (uintptr_t)out, .nr = 2,
	};
	char *other = cg_map_filled(1);

	cg_site_a(self->w);
	s.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, COWGUARD_IOC_SITES, &s));
	EXPECT_EQ(EINVAL, errno);
	s.flags = 0;
	s.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, COWGUARD_IOC_SITES, &s));
	EXPECT_EQ(EINVAL, errno);
	s.reserved[1] = 0;
	s.total = 5;		/* an output field: must come in as 0 */
	EXPECT_EQ(-1, ioctl(self->fd, COWGUARD_IOC_SITES, &s));
	EXPECT_EQ(EINVAL, errno);
	s.total = 0;
	s.start = (uintptr_t)other;	/* not registered */
	EXPECT_EQ(-1, ioctl(self->fd, COWGUARD_IOC_SITES, &s));
	EXPECT_EQ(EINVAL, errno);
	s.start = (uintptr_t)self->w;
	s.sites = 16;		/* a bad pointer */
	EXPECT_EQ(-1, ioctl(self->fd, COWGUARD_IOC_SITES, &s));
	EXPECT_EQ(EFAULT, errno);
	s.sites = (uintptr_t)out;
	s.size = COWGUARD_SITES_SIZE_VER0 - 1;
	EXPECT_EQ(-1, ioctl(self->fd, COWGUARD_IOC_SITES, &s));
	EXPECT_EQ(EINVAL, errno);
	s.size = sizeof(s);
	EXPECT_EQ(0, ioctl(self->fd, COWGUARD_IOC_SITES, &s));
	EXPECT_EQ(1, s.nr);
	munmap(other, PG);
}

TEST_F(proof, one_process_registrations_share_one_table)
{
	static uint8_t map[PG / 8 / 8] = { 0x01 };
	struct cowguard_register r = {
		.size = sizeof(r), .slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map), .trap_budget = 65535,
		.band_low = 1ULL << 59, .band_high = 1ULL << 61, .length = PG,
	};
	volatile uint64_t *w2 = (uint64_t *)cg_map_filled(1);
	struct cowguard_site_proof out[COWGUARD_PROOF_MERGED];
	int i, n, half = COWGUARD_PROOF_MIN_WRITES / 2;

	ASSERT_NE(NULL, w2);
	w2[0] = BAND_VAL;
	r.start = (uintptr_t)w2;
	ASSERT_EQ(0, ioctl(self->fd, COWGUARD_IOC_REGISTER, &r));
	for (i = 0; i < half; i++) {
		cg_site_a(self->w);
		cg_site_a(w2);
	}
	/* Either registration shows the writes to both. */
	EXPECT_EQ(COWGUARD_SITE_F_PROVEN, find_site(self->fd, self->w, cg_site_a)->flags);
	EXPECT_EQ(2 * half, find_site(self->fd, w2, cg_site_a)->refcount_writes);
	/* start 0 shows the one table once, not once per registration. */
	n = get_sites(self->fd, NULL, out, COWGUARD_PROOF_MERGED, NULL);
	ASSERT_EQ(1, n);
	EXPECT_EQ((uintptr_t)cg_site_a, out[0].ip);
	EXPECT_EQ(2 * half, out[0].refcount_writes);
	EXPECT_EQ(COWGUARD_SITE_F_PROVEN, out[0].flags);
	munmap((void *)w2, PG);
}

TEST_F(proof, site_patching_off_refuses)
{
	long was = cg_param_read(CG_PARAM("site_patching"));

	ASSERT_EQ(1, was);
	ASSERT_EQ(0, cg_param_set(CG_PARAM("site_patching"), 0));
	EXPECT_EQ(-EOPNOTSUPP, get_sites(self->fd, self->w, NULL, 0, NULL));
	EXPECT_NE(0, cg_param_set(CG_PARAM("site_patching"), 2));	/* ERANGE */
	ASSERT_EQ(0, cg_param_set(CG_PARAM("site_patching"), was));
	EXPECT_EQ(0, get_sites(self->fd, self->w, NULL, 0, NULL));
}

TEST_HARNESS_MAIN
