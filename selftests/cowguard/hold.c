// SPDX-License-Identifier: GPL-2.0
/*
 * What a registration holds and what it keeps: pages that read as zeros
 * are not materialised, the golden pages are charged to RLIMIT_MEMLOCK and
 * shown as VmPin, and the VMA attributes a shared mapping could not keep
 * are refused (protection keys, mempolicy, userfaultfd) or carried over
 * (MADV_DONTDUMP); registered memory cannot be made executable.
 */
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "cg_test.h"
#include "kselftest_harness.h"

static long status_kb(const char *field)
{
	return cg_proc_kb("/proc/self/status", field);
}

/* Does the smaps VmFlags line of the VMA at @p carry the flag @fl? */
static int vma_has_flag(void *p, const char *fl)
{
	unsigned long lo, hi, a = (uintptr_t)p;
	char line[512];
	int in = 0, found = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = lo <= a && a < hi;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			char want[8];

			snprintf(want, sizeof(want), " %s", fl);
			found = strstr(line, want) != NULL;
		}
	}
	fclose(f);
	return found;
}

FIXTURE(hold) {
	int fd;
};

FIXTURE_SETUP(hold)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/cowguard: %s", strerror(errno));
}

FIXTURE_TEARDOWN(hold)
{
	close(self->fd);
}

TEST_F(hold, untouched_memory_is_not_materialised)
{
	const size_t len = 1UL << 30, step = 61 * PG;
	long avail, live0 = cg_live_pages();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	size_t off;

	ASSERT_NE(MAP_FAILED, p);
	p[5 * PG] = 'x';		/* one populated page among 262,144 */
	avail = cg_meminfo_kb("MemAvailable");
	ASSERT_EQ(0, cg_register(self->fd, p, len));
	/* The zero page and the populated one. */
	EXPECT_EQ(2, cg_live_pages() - live0);
	EXPECT_GT(16 * 1024, avail - cg_meminfo_kb("MemAvailable"));
	EXPECT_EQ(4, status_kb("VmPin"));
	for (off = 0; off < len; off += step)
		ASSERT_EQ(0, p[off]) TH_LOG("byte at %zu", off);
	EXPECT_EQ('x', p[5 * PG]);
	p[7 * PG + 1] = 'y';		/* a hole written: its own shadow */
	EXPECT_EQ('y', p[7 * PG + 1]);
	EXPECT_EQ(0, p[7 * PG]);
	EXPECT_EQ(0, p[8 * PG]);
	EXPECT_EQ(3, cg_live_pages() - live0);
	ASSERT_EQ(0, munmap(p, len));
	EXPECT_EQ(live0, cg_live_pages());
	EXPECT_EQ(0, status_kb("VmPin"));
}

TEST_F(hold, golden_pages_count_as_pinned)
{
	char *p = cg_map_filled(8);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, cg_register(self->fd, p, 8 * PG));
	EXPECT_EQ(8 * PG / 1024, status_kb("VmPin"));
	ASSERT_EQ(0, cg_unregister(self->fd, p));
	/* Unregistered, the process maps none of them: the region is gone. */
	EXPECT_EQ(0, status_kb("VmPin"));
	munmap(p, 8 * PG);
}

/* As nobody without capabilities, with RLIMIT_MEMLOCK at 16 pages. */
TEST_F(hold, memlock_limits_what_a_user_registers)
{
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit rl = { 16 * PG, 16 * PG };
		char *big = cg_map_filled(32), *small = cg_map_filled(8);
		long live0 = cg_live_pages();
		char *zeros;

		if (!big || !small || setrlimit(RLIMIT_MEMLOCK, &rl) ||
		    setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		if (cg_register(self->fd, big, 32 * PG) != -ENOMEM)
			_exit(11);
		if (cg_live_pages() != live0)	/* the refusal took nothing */
			_exit(12);
		if (memcmp(big + 31 * PG, (char [PG]){ [0 ... PG - 1] = 32 }, PG))
			_exit(13);
		if (cg_register(self->fd, small, 8 * PG))
			_exit(14);
		/* Zeros cost nothing, so they fit on top. */
		zeros = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (zeros == MAP_FAILED || cg_register(self->fd, zeros, 64 * PG))
			_exit(15);
		if (cg_register(self->fd, big, 9 * PG) != -ENOMEM)
			_exit(16);
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ(0, cg_live_pages());
}

TEST_F(hold, refuses_protection_keys)
{
	char *p = cg_map_filled(2);
	int key = syscall(SYS_pkey_alloc, 0, 0);

	ASSERT_NE(NULL, p);
	if (key < 0)
		SKIP(return, "no protection keys: %s", strerror(errno));
	ASSERT_EQ(0, syscall(SYS_pkey_mprotect, p, PG, PROT_READ | PROT_WRITE, key));
	EXPECT_EQ(-EACCES, cg_register(self->fd, p, 2 * PG));
	EXPECT_EQ(-EACCES, cg_register(self->fd, p, PG));
	EXPECT_EQ(0, cg_register(self->fd, p + PG, PG));	/* key 0 */
	syscall(SYS_pkey_free, key);
	munmap(p, 2 * PG);
}

TEST_F(hold, refuses_a_vma_mempolicy)
{
	char *p = cg_map_filled(2);
	unsigned long node0 = 1;

	ASSERT_NE(NULL, p);
	if (syscall(SYS_mbind, p, PG, 2 /* MPOL_BIND */, &node0, 64, 0))
		SKIP(return, "mbind: %s", strerror(errno));
	EXPECT_EQ(-EACCES, cg_register(self->fd, p, 2 * PG));
	EXPECT_EQ(0, cg_register(self->fd, p + PG, PG));
	munmap(p, 2 * PG);
}

TEST_F(hold, refuses_userfaultfd_ranges)
{
	char *p = cg_map_filled(2);
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = PG },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	ASSERT_NE(NULL, p);
	if (uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	EXPECT_EQ(-EACCES, cg_register(self->fd, p, 2 * PG));
	EXPECT_EQ(0, cg_register(self->fd, p + PG, PG));
	close(uffd);
	munmap(p, 2 * PG);
}

TEST_F(hold, keeps_dontdump)
{
	char *p = cg_map_filled(2);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, PG, MADV_DONTDUMP));
	ASSERT_EQ(0, cg_register(self->fd, p, 2 * PG));
	EXPECT_EQ(1, vma_has_flag(p, "dd"));
	EXPECT_EQ(0, vma_has_flag(p + PG, "dd"));
	EXPECT_EQ(1, p[0]);
	munmap(p, 2 * PG);
}

TEST_F(hold, cannot_be_made_executable)
{
	char *p = cg_map_filled(1);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, cg_register(self->fd, p, PG));
	EXPECT_EQ(-1, mprotect(p, PG, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	EXPECT_EQ(0, mprotect(p, PG, PROT_READ));
	EXPECT_EQ(1, p[0]);
	munmap(p, PG);
}

TEST_F(hold, msync_succeeds_as_on_anonymous_memory)
{
	char *p = cg_map_filled(2);

	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, cg_register(self->fd, p, 2 * PG));
	p[0] = 9;
	EXPECT_EQ(0, msync(p, 2 * PG, MS_SYNC));
	EXPECT_EQ(0, msync(p, 2 * PG, MS_ASYNC | MS_INVALIDATE));
	EXPECT_EQ(9, p[0]);
	munmap(p, 2 * PG);
}

/*
 * 16 GiB of 4-byte slots is 2^32 of them, where bitmap_from_arr32()'s bit
 * count wrapped to 0 and the slot map came out empty: an increment of the
 * last slot must still be emulated. Untouched memory registers for free.
 */
TEST_F_TIMEOUT(hold, slot_map_of_2_32_slots, 240)
{
	const size_t len = 16UL << 30, maplen = len / 4 / 8;
	long max = cg_param_read(CG_PARAM("max_register_mb"));
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint8_t *map = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	volatile uint32_t *last = (uint32_t *)(p + len - 4);
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)p, .length = len,
		.slot_width = 4, .slot_map = (uintptr_t)map, .slot_map_len = maplen,
		.band_low = 1U << 30, .band_high = 3U << 30,
	};
	struct cowguard_stats st;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(MAP_FAILED, map);
	if (max < 16384)
		SKIP(return, "max_register_mb %ld is below 16 GiB", max);
	if (cg_debug_kernel())	/* 4M pages read one by one under KASAN */
		SKIP(return, "too slow on the debug kernel; Debian's runs it");
	*last = 1U << 31;
	map[maplen - 1] = 0x80;		/* slot 2^32 - 1 */
	ASSERT_EQ(0, ioctl(self->fd, COWGUARD_IOC_REGISTER, &r) ? -errno : 0);
	munmap(map, maplen);
	asm volatile("lock incl (%0)" : : "r"(last) : "memory", "cc");
	ASSERT_EQ(0, cg_stats(self->fd, p, &st));
	EXPECT_EQ(1, st.emulated);
	EXPECT_EQ(0, st.shadow_pages);
	EXPECT_EQ(1U << 31, *last);
	munmap(p, len);
}

struct racer {
	int fd;
	char *p;
	pthread_barrier_t *go;
	int ret;
};

static void *register_at_once(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->ret = cg_register(r->fd, r->p, 256 * PG);
	return NULL;
}

/* Two threads registering at once cannot both pass max_register_mb. */
TEST_F(hold, limit_holds_across_threads)
{
	long max = cg_param_read(CG_PARAM("max_register_mb"));
	int round, both = 0, one = 0;

	ASSERT_LT(0, max);
	ASSERT_EQ(0, cg_param_set(CG_PARAM("max_register_mb"), 1));
	for (round = 0; round < 20; round++) {
		pthread_barrier_t go;
		struct racer r[2];
		pthread_t t[2];
		int i;

		pthread_barrier_init(&go, NULL, 2);
		for (i = 0; i < 2; i++) {
			r[i] = (struct racer){ self->fd, cg_map_filled(256), &go, 1 };
			ASSERT_NE(NULL, r[i].p);
			pthread_create(&t[i], NULL, register_at_once, &r[i]);
		}
		for (i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		both += !r[0].ret && !r[1].ret;
		one += !r[0].ret != !r[1].ret;
		for (i = 0; i < 2; i++)
			munmap(r[i].p, 256 * PG);
		pthread_barrier_destroy(&go);
	}
	cg_param_set(CG_PARAM("max_register_mb"), max);
	EXPECT_EQ(0, both);
	EXPECT_EQ(20, one);
}

TEST_HARNESS_MAIN
