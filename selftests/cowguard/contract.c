// SPDX-License-Identifier: GPL-2.0
/*
 * One contract through every interface. Each tunable takes exactly the
 * range below, the same through a write to its sysfs file and through
 * netlink's COWGUARD_CMD_SET_TUNABLE, and reads back the same through sysfs
 * and COWGUARD_CMD_GET_MODULE, which reports that range; a value out of it
 * is ERANGE everywhere and changes nothing. max_register_mb is also the
 * limit the register ioctl applies. The ioctl structs' sizes are bounded,
 * and mremap of a registered range fails with the documented errno for
 * each of its forms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/cowguard.h>

#include "kselftest_harness.h"
#include "cg_test.h"
#include "cg_nl.h"

/*
 * The contract, as README.md ("Tunables") and cowguard(8) state it; the
 * module's one definition is the table in module/tunables.c.
 */
static const struct {
	const char *name;
	uint64_t min, max;
} contract[] = {
	{ "trap_budget", 0, 65535 },
	{ "trap_refill_ms", 0, 4294967295ULL },
	{ "shadow_cap_pct", 0, 100 },
	{ "reclaim_interval_ms", 0, 86400000 },
	{ "reclaim_batch", 1, 16777216 },
	{ "max_register_mb", 1, 32768 },
	{ "site_patching", 0, 1 },
};

#define N_TUNABLES	(sizeof(contract) / sizeof(contract[0]))

static void param_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/sys/module/cowguard/parameters/%s", name);
}

/* Write @val to the parameter file: 0 or the write's -errno. */
static int sysfs_write(const char *name, const char *val)
{
	char path[128];
	ssize_t n;
	int fd;

	param_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static int sysfs_write_u64(const char *name, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return sysfs_write(name, buf);
}

static int64_t sysfs_read(const char *name)
{
	char path[128];

	param_path(path, sizeof(path), name);
	return cg_param_read(path);
}

FIXTURE(contract) {
	struct nl nl;
	int64_t saved[N_TUNABLES];
};

FIXTURE_SETUP(contract)
{
	size_t i;

	ASSERT_EQ(0, nl_open(&self->nl));
	for (i = 0; i < N_TUNABLES; i++) {
		self->saved[i] = sysfs_read(contract[i].name);
		ASSERT_LE(0, self->saved[i]) TH_LOG("%s", contract[i].name);
	}
}

FIXTURE_TEARDOWN(contract)
{
	size_t i;

	for (i = 0; i < N_TUNABLES; i++) {
		sysfs_write_u64(contract[i].name, self->saved[i]);
		EXPECT_EQ(self->saved[i], sysfs_read(contract[i].name));
	}
	close(self->nl.fd);
}

/* sysfs and GET_MODULE agree that tunable @i is @v. */
static void expect_value(struct __test_metadata *_metadata, struct nl *nl,
			 size_t i, uint64_t v, const char *how)
{
	EXPECT_EQ((int64_t)v, sysfs_read(contract[i].name))
		TH_LOG("%s after %s", contract[i].name, how);
	EXPECT_EQ((int64_t)v, get_tunable(nl, contract[i].name))
		TH_LOG("%s after %s: GET_MODULE", contract[i].name, how);
}

TEST_F(contract, get_module_reports_each_range)
{
	size_t i;

	for (i = 0; i < N_TUNABLES; i++) {
		struct tunable_query q = { .name = contract[i].name };

		ASSERT_EQ(0, get_module(&self->nl, &q));
		EXPECT_EQ((int64_t)contract[i].min, q.min) TH_LOG("%s", q.name);
		EXPECT_EQ((int64_t)contract[i].max, q.max) TH_LOG("%s", q.name);
		EXPECT_EQ(self->saved[i], q.value) TH_LOG("%s", q.name);
	}
}

TEST_F(contract, sysfs_takes_the_range_and_no_more)
{
	size_t i;

	for (i = 0; i < N_TUNABLES; i++) {
		const char *name = contract[i].name;
		uint64_t min = contract[i].min, max = contract[i].max;

		EXPECT_EQ(0, sysfs_write_u64(name, min)) TH_LOG("%s=%llu", name,
								 (unsigned long long)min);
		expect_value(_metadata, &self->nl, i, min, "sysfs min");
		EXPECT_EQ(0, sysfs_write_u64(name, max)) TH_LOG("%s=%llu", name,
								 (unsigned long long)max);
		expect_value(_metadata, &self->nl, i, max, "sysfs max");
		EXPECT_EQ(-ERANGE, sysfs_write_u64(name, max + 1))
			TH_LOG("%s=%llu", name, (unsigned long long)max + 1);
		expect_value(_metadata, &self->nl, i, max, "sysfs max + 1");
		if (min) {
			EXPECT_EQ(-ERANGE, sysfs_write_u64(name, min - 1))
				TH_LOG("%s=%llu", name, (unsigned long long)min - 1);
			expect_value(_metadata, &self->nl, i, max, "sysfs min - 1");
		}
		/* Not a number at all: EINVAL, as for any uint parameter. */
		EXPECT_EQ(-EINVAL, sysfs_write(name, "-1")) TH_LOG("%s=-1", name);
		EXPECT_EQ(-EINVAL, sysfs_write(name, "lots")) TH_LOG("%s=lots", name);
		expect_value(_metadata, &self->nl, i, max, "sysfs garbage");
		sysfs_write_u64(name, self->saved[i]);
	}
}

/* The fuzzer's find: 70000 went in through sysfs and GET_MODULE said so. */
TEST_F(contract, trap_budget_70000)
{
	EXPECT_EQ(-ERANGE, sysfs_write("trap_budget", "70000"));
	EXPECT_EQ(-ERANGE, set_tunable(&self->nl, "trap_budget", 70000));
	EXPECT_EQ(self->saved[0], get_tunable(&self->nl, "trap_budget"));
	EXPECT_EQ(self->saved[0], sysfs_read("trap_budget"));
}

TEST_F(contract, netlink_takes_the_range_and_no_more)
{
	size_t i;

	for (i = 0; i < N_TUNABLES; i++) {
		const char *name = contract[i].name;
		uint64_t min = contract[i].min, max = contract[i].max;

		EXPECT_EQ(0, set_tunable(&self->nl, name, min)) TH_LOG("%s", self->nl.msg);
		expect_value(_metadata, &self->nl, i, min, "SET min");
		EXPECT_EQ(0, set_tunable(&self->nl, name, max)) TH_LOG("%s", self->nl.msg);
		expect_value(_metadata, &self->nl, i, max, "SET max");
		EXPECT_EQ(-ERANGE, set_tunable(&self->nl, name, max + 1))
			TH_LOG("%s=%llu", name, (unsigned long long)max + 1);
		EXPECT_NE(NULL, strstr(self->nl.msg, "out of range"))
			TH_LOG("message \"%s\"", self->nl.msg);
		expect_value(_metadata, &self->nl, i, max, "SET max + 1");
		if (min) {
			EXPECT_EQ(-ERANGE, set_tunable(&self->nl, name, min - 1))
				TH_LOG("%s=%llu", name, (unsigned long long)min - 1);
			expect_value(_metadata, &self->nl, i, max, "SET min - 1");
		}
		EXPECT_EQ(-ERANGE, set_tunable(&self->nl, name, UINT64_MAX));
		expect_value(_metadata, &self->nl, i, max, "SET 2^64 - 1");
		EXPECT_EQ(0, set_tunable(&self->nl, name, self->saved[i]));
	}
}

/* Register @pages pages of a fresh mapping: 0 or -errno, unregistered. */
static int register_pages(int fd, size_t pages)
{
	char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int err;

	if (p == MAP_FAILED)
		return -ENOMEM;
	memset(p, 1, pages * PG);
	err = cg_register(fd, p, pages * PG);
	if (!err)
		err = cg_unregister(fd, p);
	munmap(p, pages * PG);
	return err;
}

/* max_register_mb, set either way, is what the register ioctl allows. */
TEST_F(contract, max_register_mb_is_the_ioctls_limit)
{
	const size_t mib = 256;	/* pages */
	int fd = cg_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_tunable(&self->nl, "max_register_mb", 1));
	EXPECT_EQ(0, register_pages(fd, mib));
	EXPECT_EQ(-E2BIG, register_pages(fd, mib + 1));
	ASSERT_EQ(0, sysfs_write("max_register_mb", "2"));
	EXPECT_EQ(0, register_pages(fd, 2 * mib));
	EXPECT_EQ(-E2BIG, register_pages(fd, 2 * mib + 1));
	close(fd);
}

/*
 * At the largest value, 32 GiB: one page more is refused before anything is
 * allocated or looked at (the range is not even mapped).
 */
TEST_F(contract, max_register_mb_at_its_maximum)
{
	struct cowguard_register r = {
		.size = sizeof(r), .start = 1UL << 40,
		.length = (32ULL << 30) + PG,
	};
	int fd = cg_open();

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, sysfs_write("max_register_mb", "32768"));
	EXPECT_EQ(-1, ioctl(fd, COWGUARD_IOC_REGISTER, &r));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(-ERANGE, sysfs_write("max_register_mb", "32769"));
	EXPECT_EQ(-ERANGE, set_tunable(&self->nl, "max_register_mb", 32769));
	/* What the old module took (1 TiB) would let a register WARN. */
	EXPECT_EQ(-ERANGE, sysfs_write("max_register_mb", "1048576"));
	close(fd);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A struct's size is bounded at a page: a huge size with an all-zero tail
 * (256 MiB of mapped zero pages here) is E2BIG at once instead of a scan of
 * the whole tail; up to a page, a zero tail is accepted as before.
 */
TEST(struct_size_is_bounded)
{
	const size_t big = 256UL << 20;
	struct cowguard_stats *st;
	double t;
	int fd = cg_open();
	char *p;

	ASSERT_LE(0, fd);
	p = mmap(NULL, big, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	st = (struct cowguard_stats *)p;

	st->size = PG;
	EXPECT_EQ(0, ioctl(fd, COWGUARD_IOC_STATS, st)) TH_LOG("%s", strerror(errno));
	memset(p, 0, sizeof(*st));
	st->size = PG + 8;
	EXPECT_EQ(-1, ioctl(fd, COWGUARD_IOC_STATS, st));
	EXPECT_EQ(E2BIG, errno);

	memset(p, 0, sizeof(*st));
	st->size = big;
	t = now();
	EXPECT_EQ(-1, ioctl(fd, COWGUARD_IOC_STATS, st));
	EXPECT_EQ(E2BIG, errno);
	t = now() - t;
	TH_LOG("STATS with size %zu MiB: %.3f s", big >> 20, t);

	/* Every ioctl that takes a struct. */
	memset(p, 0, PG * 2);
	((struct cowguard_register *)p)->size = PG + 8;
	EXPECT_EQ(-1, ioctl(fd, COWGUARD_IOC_REGISTER, p));
	EXPECT_EQ(E2BIG, errno);
	((struct cowguard_unregister *)p)->size = PG + 8;
	EXPECT_EQ(-1, ioctl(fd, COWGUARD_IOC_UNREGISTER, p));
	EXPECT_EQ(E2BIG, errno);
	((struct cowguard_unregister *)p)->size = 0xffffffff;
	EXPECT_EQ(-1, ioctl(fd, COWGUARD_IOC_UNREGISTER, p));
	EXPECT_EQ(E2BIG, errno);
	munmap(p, big);
	close(fd);
}

/* mremap(2) of a registered range, form by form (README, cowguard(7)). */
FIXTURE(remap) {
	int fd;
	char *p;
	char *spare;	/* a mapping of ours to move to */
};

#define RPAGES	4

FIXTURE_SETUP(remap)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->p = cg_map_filled(RPAGES);
	ASSERT_NE(NULL, self->p);
	ASSERT_EQ(0, cg_register(self->fd, self->p, RPAGES * PG));
	self->spare = mmap(NULL, 4 * RPAGES * PG, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->spare);
}

FIXTURE_TEARDOWN(remap)
{
	size_t i;

	/* Whatever was refused left the range as it was. */
	for (i = 0; i < RPAGES; i++)
		EXPECT_EQ((char)(i + 1), self->p[i * PG]);
	EXPECT_EQ(0, cg_unregister(self->fd, self->p));
	munmap(self->p, RPAGES * PG);
	munmap(self->spare, 4 * RPAGES * PG);
	close(self->fd);
}

static int remap(void *old, size_t old_len, size_t new_len, int flags,
		 void *new_addr)
{
	void *q = mremap(old, old_len, new_len, flags, new_addr);

	return q == MAP_FAILED ? -errno : q == old ? 0 : 1;
}

/* Growing: the kernel refuses VM_DONTEXPAND mappings with EFAULT. */
TEST_F(remap, grow_is_efault)
{
	size_t len = RPAGES * PG;

	EXPECT_EQ(-EFAULT, remap(self->p, len, 2 * len, 0, NULL));
	EXPECT_EQ(-EFAULT, remap(self->p, len, 2 * len, MREMAP_MAYMOVE, NULL));
	EXPECT_EQ(-EFAULT, remap(self->p, len, 2 * len,
				 MREMAP_MAYMOVE | MREMAP_FIXED, self->spare));
	/* old_len 0 ("duplicate" a shared mapping) is a growth too. */
	EXPECT_EQ(-EFAULT, remap(self->p, 0, len, MREMAP_MAYMOVE, NULL));
}

/* Moving, shrinking, MREMAP_DONTUNMAP: EINVAL from the module. */
TEST_F(remap, move_and_shrink_are_einval)
{
	size_t len = RPAGES * PG;

	EXPECT_EQ(-EINVAL, remap(self->p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED,
				 self->spare));
	EXPECT_EQ(-EINVAL, remap(self->p, len, len / 2, 0, NULL));
	EXPECT_EQ(-EINVAL, remap(self->p, len, len / 2, MREMAP_MAYMOVE, NULL));
	EXPECT_EQ(-EINVAL, remap(self->p, len, len / 2,
				 MREMAP_MAYMOVE | MREMAP_FIXED, self->spare + 2 * len));
	EXPECT_EQ(-EINVAL, remap(self->p, len, len,
				 MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
}

/* The same size in place changes nothing and succeeds, as for any mapping. */
TEST_F(remap, same_size_in_place_is_a_no_op)
{
	size_t len = RPAGES * PG;

	EXPECT_EQ(0, remap(self->p, len, len, 0, NULL));
	EXPECT_EQ(0, remap(self->p, len, len, MREMAP_MAYMOVE, NULL));
	self->p[0] = 1;
}

TEST_HARNESS_MAIN
