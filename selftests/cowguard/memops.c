// SPDX-License-Identifier: GPL-2.0
/*
 * Everything a process can do to its memory either keeps plain-memory
 * semantics on a registered range or fails with a clear error. The two
 * documented differences: MADV_DONTNEED keeps the bytes, and ptrace or
 * /proc/PID/mem cannot force a write into a read-only registered VMA.
 */
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "cg_test.h"
#include "kselftest_harness.h"

FIXTURE(ops) {
	int fd;
	char *p;
	size_t n;
};

FIXTURE_SETUP(ops)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->n = 4;
	self->p = cg_map_filled(self->n);
	ASSERT_NE(NULL, self->p);
	ASSERT_EQ(0, cg_register(self->fd, self->p, self->n * PG));
}

FIXTURE_TEARDOWN(ops)
{
	close(self->fd);
}

static int child_touch(char *addr, int write_it)
{
	pid_t pid = fork();

	if (!pid) {
		if (write_it)
			*(volatile char *)addr = 1;
		_exit(*(volatile char *)addr == 0x7f);
	}
	return cg_wait(pid);
}

TEST_F(ops, munmap_part_refused_whole_works)
{
	EXPECT_EQ(-1, munmap(self->p + PG, PG));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(2, self->p[PG]);
	EXPECT_EQ(0, munmap(self->p, self->n * PG));
	EXPECT_EQ(128 + SIGSEGV, child_touch(self->p, 0));
	EXPECT_EQ(0, cg_live_pages());
}

TEST_F(ops, mprotect_whole_or_refused)
{
	EXPECT_EQ(-1, mprotect(self->p, PG, PROT_READ));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, mprotect(self->p, self->n * PG, PROT_READ));
	EXPECT_EQ(0, child_touch(self->p, 0));
	EXPECT_EQ(128 + SIGSEGV, child_touch(self->p, 1));
	ASSERT_EQ(0, mprotect(self->p, self->n * PG, PROT_NONE));
	EXPECT_EQ(128 + SIGSEGV, child_touch(self->p, 0));
	ASSERT_EQ(0, mprotect(self->p, self->n * PG, PROT_READ | PROT_WRITE));
	self->p[0] = 9;
	EXPECT_EQ(9, self->p[0]);
}

TEST_F(ops, mremap_refused)
{
	/* A target of our own: MREMAP_FIXED unmaps whatever is there first
	 * (a fixed offset from the range hit the harness's own mappings on
	 * 6.12, whose layout differs).
	 */
	char *t = mmap(NULL, self->n * PG, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *q;

	ASSERT_NE(MAP_FAILED, t);
	q = mremap(self->p, self->n * PG, self->n * PG,
		   MREMAP_MAYMOVE | MREMAP_FIXED, t);
	EXPECT_EQ(MAP_FAILED, q);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mremap(self->p, self->n * PG, 8 * self->n * PG, 0));
	EXPECT_EQ(1, self->p[0]);
}

TEST_F(ops, madvise)
{
	self->p[0] = 'w';
	/* Documented difference: the bytes stay (no zero-fill). */
	EXPECT_EQ(0, madvise(self->p, self->n * PG, MADV_DONTNEED));
	EXPECT_EQ('w', self->p[0]);
	EXPECT_EQ(2, self->p[PG]);
	EXPECT_EQ(-1, madvise(self->p, PG, MADV_FREE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, madvise(self->p, self->n * PG, MADV_WIPEONFORK));
	EXPECT_EQ(EINVAL, errno);
	/* As for anonymous memory, DONTFORK leaves the child without it. */
	ASSERT_EQ(0, madvise(self->p, self->n * PG, MADV_DONTFORK));
	EXPECT_EQ(128 + SIGSEGV, child_touch(self->p, 0));
	ASSERT_EQ(0, madvise(self->p, self->n * PG, MADV_DOFORK));
	EXPECT_EQ(0, child_touch(self->p, 0));
}

TEST_F(ops, mlock_keeps_working)
{
	EXPECT_EQ(0, mlock(self->p, self->n * PG));
	self->p[PG] = 'l';
	EXPECT_EQ('l', self->p[PG]);
	EXPECT_EQ(0, munlock(self->p, self->n * PG));
	EXPECT_EQ(0, mlockall(MCL_CURRENT));
	EXPECT_EQ(0, munlockall());
}

TEST_F(ops, exec_and_exit_drop_the_view)
{
	pid_t pid = fork();

	if (!pid) {
		self->p[0] = 'e';
		execl("/bin/true", "true", NULL);
		_exit(127);
	}
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ((long)self->n, cg_live_pages());
}

/* A child writes into the parent through each kernel path; the parent
 * must see each write, and the parent's own child must not.
 */
TEST_F(ops, kernel_writes_land)
{
	char *p = self->p;
	char buf[8] = "remote!";
	struct iovec local = { buf, 7 }, remote = { p + PG, 7 };
	pid_t parent = getpid(), pid, watcher;
	int go[2];
	char c, path[64];

	ASSERT_EQ(0, pipe(go));
	watcher = fork();		/* shares the golden pages */
	if (!watcher) {
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(p[PG] == 2 && p[2 * PG] == 3 && p[3 * PG] == 4 ? 0 : 1);
	}
	pid = fork();
	if (!pid) {
		int mem;

		if (process_vm_writev(parent, &local, 1, &remote, 1, 0) != 7)
			_exit(1);
		snprintf(path, sizeof(path), "/proc/%d/mem", parent);
		mem = open(path, O_RDWR);
		if (mem < 0 || pwrite(mem, "procmem", 7,
				       (off_t)(uintptr_t)(p + 2 * PG)) != 7)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ(0, memcmp(p + PG, "remote!", 7));
	EXPECT_EQ(0, memcmp(p + 2 * PG, "procmem", 7));

	/* read() into the range: a kernel-mode copy_to_user(). */
	int fds[2];

	ASSERT_EQ(0, pipe(fds));
	ASSERT_EQ(5, write(fds[1], "piped", 5));
	ASSERT_EQ(5, read(fds[0], p + 3 * PG, 5));
	EXPECT_EQ(0, memcmp(p + 3 * PG, "piped", 5));
	ASSERT_EQ(1, write(go[1], "x", 1));
	EXPECT_EQ(0, cg_wait(watcher));
}

TEST_F(ops, ptrace_pokedata)
{
	char *p = self->p;
	int ready[2], go[2];
	pid_t pid;
	long word;
	char c;

	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	if (!pid) {
		if (write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(memcmp(p, "poked!!!", 8) ? 1 : 0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_EQ(0, ptrace(PTRACE_ATTACH, pid, 0, 0));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	memcpy(&word, "poked!!!", 8);
	EXPECT_EQ(0, ptrace(PTRACE_POKEDATA, pid, p, word));
	EXPECT_EQ(word, ptrace(PTRACE_PEEKDATA, pid, p, 0));
	ASSERT_EQ(0, ptrace(PTRACE_DETACH, pid, 0, 0));
	ASSERT_EQ(1, write(go[1], "x", 1));
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ(1, p[0]);
}

TEST_F(ops, o_direct_read_into_range)
{
	char path[] = "/tmp/scratch/cg-odirect-XXXXXX";
	int f = mkstemp(path), d;
	char *src = cg_map_filled(1);

	if (f < 0)
		SKIP(return, "no scratch folder");
	memset(src, 'D', PG);
	ASSERT_EQ((ssize_t)PG, write(f, src, PG));
	close(f);
	d = open(path, O_RDONLY | O_DIRECT);
	unlink(path);
	if (d < 0)
		SKIP(return, "O_DIRECT unsupported here: %s", strerror(errno));
	if (pread(d, self->p + PG, PG, 0) != (ssize_t)PG)
		SKIP(return, "O_DIRECT read failed: %s", strerror(errno));
	EXPECT_EQ('D', self->p[PG]);
	EXPECT_EQ('D', self->p[2 * PG - 1]);
	EXPECT_EQ(1, self->p[0]);
	close(d);
}

TEST_HARNESS_MAIN
