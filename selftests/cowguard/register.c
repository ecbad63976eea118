// SPDX-License-Identifier: GPL-2.0
/*
 * Registration: what is refused and with which errno, what is taken over,
 * golden reads without copies, one shadow per written page, unregistration
 * and the module's page count returning to zero.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "cg_test.h"
#include "kselftest_harness.h"

FIXTURE(reg) {
	int fd;
	char *p;
	size_t n;
};

FIXTURE_SETUP(reg)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/cowguard: %s", strerror(errno));
	self->n = 8;
	self->p = cg_map_filled(self->n);
	ASSERT_NE(NULL, self->p);
}

FIXTURE_TEARDOWN(reg)
{
	munmap(self->p, self->n * PG);
	close(self->fd);
}

static int reg_raw(int fd, struct cowguard_register *r)
{
	return ioctl(fd, COWGUARD_IOC_REGISTER, r) ? -errno : 0;
}

TEST_F(reg, refuses_bad_ranges)
{
	char *p = self->p;

	EXPECT_EQ(-EINVAL, cg_register(self->fd, p + 1, PG));
	EXPECT_EQ(-EINVAL, cg_register(self->fd, p, PG + 1));
	EXPECT_EQ(-EINVAL, cg_register(self->fd, p, 0));
	EXPECT_EQ(-EINVAL, cg_register(self->fd, (void *)-PG, 2 * PG));
	EXPECT_EQ(-EINVAL, cg_register(self->fd, (void *)(1UL << 57), PG));
	ASSERT_EQ(0, munmap(p + 3 * PG, PG));
	EXPECT_EQ(-ENOMEM, cg_register(self->fd, p, 5 * PG));	/* a hole */
	EXPECT_EQ(0, cg_live_pages());
}

TEST_F(reg, refuses_struct_errors)
{
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)self->p, .length = PG,
	};
	struct { struct cowguard_register r; uint64_t extra; } big = { r, 1 };

	r.flags = 1;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	r.flags = 0;
	r.reserved[2] = 1;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	r.reserved[2] = 0;
	r.size = COWGUARD_REGISTER_SIZE_VER0 - 8;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	big.r.size = sizeof(big);
	EXPECT_EQ(-E2BIG, reg_raw(self->fd, &big.r));
	EXPECT_EQ(-EFAULT, ioctl(self->fd, COWGUARD_IOC_REGISTER, (void *)8) ? -errno : 0);
	ASSERT_EQ(0, munmap(self->p + 7 * PG, PG));
	EXPECT_EQ(-EFAULT, ioctl(self->fd, COWGUARD_IOC_REGISTER, self->p + 7 * PG) ? -errno : 0);
}

TEST_F(reg, refuses_bad_slot_maps)
{
	uint64_t *w = (uint64_t *)self->p;
	uint8_t map[PG / 8 / 8] = { 1 };
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)self->p, .length = PG,
		.slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map),
		.band_low = 1ULL << 59, .band_high = 1ULL << 61,
	};

	w[0] = 1ULL << 60;
	r.slot_width = 2;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	r.slot_width = 8;
	r.slot_map_len--;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));	/* does not match */
	r.slot_map_len++;
	r.band_low = 2;				/* near zero */
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	r.band_low = COWGUARD_BAND_MIN_64 - 1;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	r.band_low = 1ULL << 62;			/* high < low */
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	r.band_low = 1ULL << 59;
	r.slot_width = 4;				/* high over 32 bits */
	r.slot_map_len = PG / 4 / 8;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));
	r.slot_width = 8;
	r.slot_map_len = sizeof(map);
	r.slot_map = 16;
	EXPECT_EQ(-EFAULT, reg_raw(self->fd, &r));
	r.slot_map = (uintptr_t)map;
	w[0] = 5;					/* marked slot out of band */
	EXPECT_EQ(-ERANGE, reg_raw(self->fd, &r));
	w[0] = 1ULL << 60;
	r.slot_map = 0;
	EXPECT_EQ(-EINVAL, reg_raw(self->fd, &r));	/* width without a map */
	r.slot_map = (uintptr_t)map;
	EXPECT_EQ(0, reg_raw(self->fd, &r));
	EXPECT_LT(0, r.id);
	EXPECT_EQ(1ULL << 60, w[0]);
}

TEST_F(reg, refuses_memory_it_cannot_own)
{
	int tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	char *file, *shared, *locked, *exec;
	char stack_var[1];
	FILE *maps;
	char line[256];
	unsigned long lo = 0, hi = 0;

	ASSERT_LE(0, tmp);
	ASSERT_EQ(0, ftruncate(tmp, PG));
	file = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, tmp, 0);
	ASSERT_NE(MAP_FAILED, file);
	EXPECT_EQ(-EACCES, cg_register(self->fd, file, PG));
	shared = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	EXPECT_EQ(-EACCES, cg_register(self->fd, shared, PG));
	exec = mmap(NULL, PG, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, exec);
	EXPECT_EQ(-EACCES, cg_register(self->fd, exec, PG));
	EXPECT_EQ(-EACCES, cg_register(self->fd,
		(void *)((uintptr_t)stack_var & ~(PG - 1)), PG));
	locked = cg_map_filled(1);
	ASSERT_EQ(0, mlock(locked, PG));
	EXPECT_EQ(-EPERM, cg_register(self->fd, locked, PG));
	ASSERT_EQ(0, madvise(self->p, PG, MADV_WIPEONFORK));
	EXPECT_EQ(-EACCES, cg_register(self->fd, self->p, PG));
	/* [vvar] is VM_IO | VM_PFNMAP special memory. */
	maps = fopen("/proc/self/maps", "r");
	ASSERT_NE(NULL, maps);
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[vvar]"))
			sscanf(line, "%lx-%lx", &lo, &hi);
	fclose(maps);
	if (lo)
		EXPECT_EQ(-EACCES, cg_register(self->fd, (void *)lo, PG));
	munmap(file, PG);
	munmap(shared, PG);
	munmap(exec, PG);
	munmap(locked, PG);
	close(tmp);
	EXPECT_EQ(0, cg_live_pages());
}

TEST_F(reg, refuses_hugetlb)
{
	int nr = open("/proc/sys/vm/nr_hugepages", O_WRONLY);
	char *h;

	if (nr >= 0) {
		if (write(nr, "2", 1) != 1)
			TH_LOG("cannot reserve huge pages");
		close(nr);
	}
	h = mmap(NULL, 2UL << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (h == MAP_FAILED)
		SKIP(return, "no huge pages reserved");
	EXPECT_EQ(-EACCES, cg_register(self->fd, h, 2UL << 20));
	munmap(h, 2UL << 20);
}

TEST_F(reg, refuses_double_registration)
{
	ASSERT_EQ(0, cg_register(self->fd, self->p + PG, 2 * PG));
	EXPECT_EQ(-EEXIST, cg_register(self->fd, self->p, 4 * PG));
	EXPECT_EQ(-EEXIST, cg_register(self->fd, self->p + 2 * PG, PG));
	EXPECT_EQ(0, cg_register(self->fd, self->p + 4 * PG, PG));
}

TEST_F(reg, per_process_limit)
{
	int lim = open("/sys/module/cowguard/parameters/max_register_mb", O_RDWR);
	char *big;

	ASSERT_LE(0, lim);
	ASSERT_EQ(1, write(lim, "1", 1));
	big = cg_map_filled(257);
	ASSERT_NE(NULL, big);
	EXPECT_EQ(-E2BIG, cg_register(self->fd, big, 257 * PG));
	EXPECT_EQ(0, cg_register(self->fd, big, 200 * PG));
	EXPECT_EQ(-E2BIG, cg_register(self->fd, big + 200 * PG, 57 * PG));
	EXPECT_EQ(0, cg_register(self->fd, big + 200 * PG, 56 * PG));
	ASSERT_EQ(5, pwrite(lim, "16384", 5, 0));
	close(lim);
	munmap(big, 257 * PG);
}

TEST_F(reg, takes_over_contents_and_protections)
{
	char *p = self->p;
	size_t i;
	unsigned char expect;

	ASSERT_EQ(0, mprotect(p + 2 * PG, PG, PROT_READ));
	ASSERT_EQ(0, mprotect(p + 3 * PG, PG, PROT_NONE));
	ASSERT_EQ(0, cg_register(self->fd, p, self->n * PG));
	ASSERT_EQ(0, mprotect(p + 3 * PG, PG, PROT_READ));
	for (i = 0; i < self->n * PG; i++) {
		expect = (unsigned char)(i / PG + 1);
		if ((unsigned char)p[i] != expect) {
			EXPECT_EQ(expect, (unsigned char)p[i]) TH_LOG("byte %zu", i);
			break;
		}
	}
	/* The read-only VMA stays read-only. */
	pid_t pid = fork();

	if (!pid) {
		p[2 * PG] = 1;
		_exit(0);
	}
	EXPECT_EQ(128 + SIGSEGV, cg_wait(pid));
	EXPECT_EQ((long)self->n, cg_live_pages());
}

TEST_F(reg, golden_reads_copy_nothing_and_writes_copy_once)
{
	struct cowguard_stats st;
	char *p = self->p;
	volatile char sink;
	size_t i;

	ASSERT_EQ(0, cg_register(self->fd, p, self->n * PG));
	for (i = 0; i < self->n * PG; i += 64)
		sink = p[i];
	(void)sink;
	ASSERT_EQ(0, cg_stats(self->fd, p, &st));
	EXPECT_EQ(self->n, st.mapped_pages);
	EXPECT_EQ(0, st.shadow_pages);
	/* Registration left the golden pages mapped, as the memory was. */
	EXPECT_EQ(0, st.read_faults);
	EXPECT_EQ(self->n, st.reg_golden_pages);
	EXPECT_EQ(1, st.reg_processes);
	EXPECT_EQ((long)self->n, cg_live_pages());
	for (i = 0; i < 3 * PG; i += 8)
		p[PG + i % (3 * PG)] = 'x';
	p[PG] = 'y';
	ASSERT_EQ(0, cg_stats(self->fd, p, &st));
	EXPECT_EQ(3, st.shadow_pages);
	EXPECT_EQ(3, st.shadow_faults);
	EXPECT_EQ(3, st.reg_shadow_pages);
	EXPECT_EQ((long)self->n + 3, cg_live_pages());
	EXPECT_EQ('y', p[PG]);
	EXPECT_EQ('x', p[2 * PG + 8]);
	EXPECT_EQ(5, p[4 * PG]);
	/* Whole-process figures equal the one registration's. */
	ASSERT_EQ(0, cg_stats(self->fd, NULL, &st));
	EXPECT_EQ(3, st.shadow_pages);
	EXPECT_EQ(0, st.reg_id);
	EXPECT_EQ(-EINVAL, cg_stats(self->fd, p + self->n * PG, &st));
}

/*
 * A child starts with its parent's mappings, as under plain fork: reading
 * the heap costs a prefork worker no fault per page. What it writes is
 * still its own, and what the parent writes after the fork is not seen.
 */
TEST_F(reg, children_inherit_the_mappings)
{
	struct cowguard_stats st;
	char *p = self->p;
	volatile char sink;
	size_t i;
	pid_t pid;

	ASSERT_EQ(0, cg_register(self->fd, p, self->n * PG));
	p[PG] = 'a';			/* an exclusive shadow before the fork */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		for (i = 0; i < self->n * PG; i += 64)
			sink = p[i];
		(void)sink;
		if (cg_stats(self->fd, p, &st) || st.read_faults != 1 ||
		    p[PG] != 'a' || p[3 * PG] != 4)
			_exit(1);
		p[3 * PG] = 'c';	/* a golden page, inherited mapped */
		p[PG] = 'b';		/* the shadow, now shared */
		usleep(100000);
		_exit(p[3 * PG] == 'c' && p[PG] == 'b' && p[2 * PG] == 3 ? 0 : 2);
	}
	p[2 * PG] = 'p';		/* not seen by the child */
	EXPECT_EQ(0, cg_wait(pid)) TH_LOG("the child faulted or saw wrong bytes");
	EXPECT_EQ('a', p[PG]);
	EXPECT_EQ(4, p[3 * PG]);
	EXPECT_EQ('p', p[2 * PG]);
}

TEST_F(reg, unregister_restores_anonymous_memory)
{
	char *p = self->p;
	char line[256];
	FILE *maps;
	int shared_vmas = 0;

	ASSERT_EQ(0, mprotect(p + 5 * PG, PG, PROT_READ));
	ASSERT_EQ(0, cg_register(self->fd, p, self->n * PG));
	p[0] = 'a';
	EXPECT_EQ(-EINVAL, cg_unregister(self->fd, p + self->n * PG));
	ASSERT_EQ(0, cg_unregister(self->fd, p + 3 * PG));
	EXPECT_EQ('a', p[0]);
	EXPECT_EQ(2, p[PG]);
	EXPECT_EQ(6, p[5 * PG]);
	maps = fopen("/proc/self/maps", "r");
	while (fgets(line, sizeof(line), maps))
		shared_vmas += !!strstr(line, "anon_inode:[cowguard]");
	fclose(maps);
	EXPECT_EQ(0, shared_vmas);
	EXPECT_EQ(0, cg_live_pages());
	EXPECT_EQ(0, cg_sysfs_long("registrations"));
	p[PG] = 'b';	/* plain memory again */
	EXPECT_EQ(-EINVAL, cg_unregister(self->fd, p));
	pid_t pid = fork();

	if (!pid) {
		p[5 * PG] = 1;	/* still read-only */
		_exit(0);
	}
	EXPECT_EQ(128 + SIGSEGV, cg_wait(pid));
}

TEST_F(reg, pages_are_freed_with_the_last_process)
{
	int ready[2], go[2];
	pid_t pid;
	char c;

	ASSERT_EQ(0, cg_register(self->fd, self->p, self->n * PG));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	if (!pid) {
		self->p[0] = 1;
		if (write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(self->p[0] == 1 ? 0 : 2);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	EXPECT_EQ((long)self->n + 1, cg_live_pages());
	ASSERT_EQ(0, munmap(self->p, self->n * PG));
	EXPECT_EQ((long)self->n + 1, cg_live_pages());	/* the child still maps it */
	EXPECT_EQ(1, cg_sysfs_long("registrations"));
	ASSERT_EQ(1, write(go[1], "x", 1));
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ(0, cg_live_pages());
	EXPECT_EQ(0, cg_sysfs_long("registrations"));
	self->p = mmap(NULL, self->n * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

TEST_F(reg, module_cannot_be_unloaded_while_mapped)
{
	ASSERT_EQ(0, cg_register(self->fd, self->p, self->n * PG));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(-1, syscall(SYS_delete_module, "cowguard", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY) TH_LOG("errno %d", errno);
	EXPECT_EQ(1, self->p[0]);
}

TEST_F(reg, memcg_charges_the_registering_process)
{
	char path[128], buf[32];
	long before, after;
	int fd;
	char *big;

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) &&
	    mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL))
		SKIP(return, "no cgroup2");
	fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY);
	if (fd < 0 || write(fd, "+memory", 7) != 7)
		SKIP(return, "memory controller unavailable");
	close(fd);
	mkdir("/sys/fs/cgroup/cgtest", 0755);
	fd = open("/sys/fs/cgroup/cgtest/cgroup.procs", O_WRONLY);
	ASSERT_LE(0, fd);
	snprintf(buf, sizeof(buf), "%d", getpid());
	ASSERT_LT(0, write(fd, buf, strlen(buf)));
	close(fd);
	big = cg_map_filled(1024);
	ASSERT_NE(NULL, big);
	snprintf(path, sizeof(path), "/sys/fs/cgroup/cgtest/memory.current");
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	buf[read(fd, buf, sizeof(buf) - 1)] = 0;
	before = atol(buf);
	/* The golden pages replace the anonymous ones: if they were not
	 * charged, memory.current would drop by the 4 MiB registered.
	 */
	ASSERT_EQ(0, cg_register(self->fd, big, 1024 * PG));
	buf[pread(fd, buf, sizeof(buf) - 1, 0)] = 0;
	after = atol(buf);
	close(fd);
	TH_LOG("memory.current %ld -> %ld", before, after);
	EXPECT_LE(before - (1L << 19), after);
	munmap(big, 1024 * PG);
}

TEST_HARNESS_MAIN
