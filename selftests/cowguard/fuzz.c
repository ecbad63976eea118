// SPDX-License-Identifier: GPL-2.0
/*
 * A seeded garbage fuzzer for the device's ioctls and the generic netlink
 * family, while other threads fork, munmap, mprotect, madvise, mremap and
 * re-mmap the very ranges being registered. What counts as a failure:
 *
 * - an errno outside the documented set of the call, a refused "clean"
 *   request (one thing wrong) refused with another errno than the
 *   documented one, or any ioctl number but the four answering other
 *   than ENOTTY;
 * - a single call that takes seconds (issue 13: a huge struct size made
 *   the kernel scan 4 GiB for zeros);
 * - a tunable GET_MODULE reports outside its own [minimum, maximum], a
 *   netlink or sysfs value the other interface would refuse, a SET that
 *   fails but changes something, or a dump out of id order;
 * - live_pages, registrations or views not back to their start values once
 *   every process of the run has exited, and any kernel splat (the runner
 *   checks the kernel log).
 *
 * The ioctl fuzz runs in two phases: a storm of CG_FUZZ_CALLS calls
 * (default 10^6, at most CG_FUZZ_SECONDS) from CG_FUZZ_THREADS threads
 * (default 1) with nothing else running, then CG_FUZZ_CHAOS_SECONDS
 * (default 20) of the same calls while other threads munmap, mprotect,
 * madvise, mremap, re-mmap, register and unregister the same ranges, fork
 * children that touch them, and speak netlink (CG_FUZZ_CHAOS, a mask: 1
 * memory, 2 forks, 4 netlink; 0 for none). The netlink fuzz sends
 * CG_FUZZ_NL requests (default 10^5, at most CG_FUZZ_NL_SECONDS).
 *
 * Every run prints its seed; CG_FUZZ_SEED=N (or "fuzz N") replays it: the
 * storm and the netlink fuzz exactly (with one thread), the chaos phase as
 * far as the scheduler lets it.
 */
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kselftest_harness.h"
#include "cg_test.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

/* Where the fuzzed ranges live: far from anything the loader or malloc
 * place, so that a range running off either end meets a hole, never
 * another mapping of ours.
 */
#define W_ADDR		0x200000000000UL
#define W_PAGES		8192UL			/* 32 MiB */
#define ZERO_ADDR	0x300000000000UL	/* one per fuzzing thread, 8 GiB apart */
#define ZERO_LEN	((1UL << 32) + PG)	/* reads as zeros: a 4 GiB tail */
#define HOLE_ADDR	0x280000000000UL
/* Random addresses below TASK_SIZE land here, where nothing is mapped. */
#define EMPTY_LO	0x010000000000UL
#define EMPTY_HI	0x1f0000000000UL
#define MAX_CHILDREN	4
#define MAX_REGS	256
#define MAP_BUF_LEN	(2UL << 20)		/* a slot map for 64 MiB of 4-byte slots */
#define FUZZ_MAX_MB	128			/* max_register_mb while fuzzing */
#define MAX_THREADS	8
#define NL_BUF		8192

/* ---- configuration and findings ---- */

static uint64_t cfg_seed;
/* The deadlines keep a run inside the runner's 300 s on a slow or busy
 * machine (fewer calls then, and the run says so); 10^6 calls take about
 * 50 s of an idle 2-vCPU TCG guest.
 */
static long cfg_calls = 1000000, cfg_nl = 100000, cfg_seconds = 100;
/* One fuzzing thread: under TCG two threads of one mm pay for every TLB
 * shootdown between the vCPUs (a third of the calls per second); the
 * chaos threads race it with ioctls of their own.
 */
static long cfg_threads = 1, cfg_chaos = 7, cfg_chaos_seconds = 20, cfg_slow_ms = 3000;
static long total_calls, cfg_nl_seconds = 30;
static long slow_ms;	/* a call slower than this is a finding */
static int seed_given;

static pthread_mutex_t find_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long nfindings;
/* Where a finding came from, to replay it: phase and call of its thread. */
static __thread const char *where = "";
static __thread long call_no = -1;

static void finding(const char *fmt, ...)
{
	va_list ap;
	long n = atomic_fetch_add(&nfindings, 1) + 1;

	if (n > 30)
		return;
	pthread_mutex_lock(&find_lock);
	fprintf(stderr, "# FINDING (seed %llu", (unsigned long long)cfg_seed);
	if (call_no >= 0)
		fprintf(stderr, ", %s call %ld", where, call_no);
	fprintf(stderr, "): ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&find_lock);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Per call: a tick's resolution is plenty to see a call of seconds, and
 * it never leaves the vDSO whatever the guest's clocksource.
 */
static double coarse_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * What "slow" means on this kernel: CG_FUZZ_SLOW_MS, or ten times the
 * slowest thing the fuzzer asks for on purpose, registering and
 * unregistering 32 MiB of written pages, whichever is longer (a debug
 * kernel is many times slower; a 4 GiB scan is slower still).
 */
static void calibrate(int fd)
{
	char *p = mmap(NULL, 8192 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t;

	slow_ms = cfg_slow_ms;
	if (p == MAP_FAILED)
		return;
	for (size_t i = 0; i < 8192; i++)
		p[i * PG] = 1;
	t0 = now_s();
	if (cg_register(fd, p, 8192 * PG) == 0)
		cg_unregister(fd, p);
	t = now_s() - t0;
	munmap(p, 8192 * PG);
	if (10 * t * 1000 > slow_ms)
		slow_ms = 10 * t * 1000;
	fprintf(stderr, "# 32 MiB registered and back in %.3f s: a call over %.1f s is slow\n",
		t, slow_ms / 1000.0);
}

/* ---- PRNG: splitmix64, one stream per thread ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static int chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

/* 1..n, mostly small: ranges of every size, tiny ones most often. */
static uint64_t skewed(struct rng *r, uint64_t n)
{
	uint64_t lim = 1ULL << below(r, 64 - __builtin_clzll(n | 1) + 1);

	return 1 + below(r, lim < n ? lim : n);
}

static struct rng rng_for(unsigned int stream)
{
	struct rng r = { cfg_seed ^ (0x632be59bd9b4e019ULL * (stream + 1)) };

	rnd(&r);
	return r;
}

/* ---- touching memory that may vanish under us ---- */

/* volatile: the stores around a guarded access must not be elided. */
static __thread sigjmp_buf *volatile guard_jb;

static void guard_handler(int sig)
{
	if (guard_jb)
		siglongjmp(*guard_jb, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_install(void)
{
	struct sigaction sa = { .sa_handler = guard_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Read or write one byte in each of @pages pages from @p; faults skip a
 * page. Return the faults.
 */
static long touch(char *p, size_t pages, int write, char v)
{
	sigjmp_buf jb;
	volatile size_t i = 0;
	volatile long faults = 0;

	if (sigsetjmp(jb, 1)) {
		faults++;
		i++;
	}
	guard_jb = &jb;
	for (; i < pages; i++) {
		volatile char *c = p + i * PG + (i * 67 % PG);

		if (write)
			*c = v;
		else
			(void)*c;
	}
	guard_jb = NULL;
	return faults;
}

/* Store @v at @p if it is writable now. */
static int poke(void *p, const void *v, size_t len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		guard_jb = NULL;
		return -1;
	}
	guard_jb = &jb;
	memcpy(p, v, len);
	guard_jb = NULL;
	return 0;
}

/* ---- shared state of one ioctl run ---- */

static char *const W = (char *)W_ADDR;
static char *main_stack;
static int mut_fd;
static atomic_int stop;
/* Cleared after the first slow zero scan: one shows it, more only cost. */
static atomic_int zero_scans = 1;
static atomic_long calls_done, children_run, child_faults;

static pthread_mutex_t regs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { __u64 start, len; } regs[MAX_REGS];
static int nregs;

static void regs_add(__u64 start, __u64 len)
{
	pthread_mutex_lock(&regs_lock);
	if (nregs < MAX_REGS) {
		regs[nregs].start = start;
		regs[nregs].len = len;
		nregs++;
	} else {
		regs[start / PG % MAX_REGS].start = start;
		regs[start / PG % MAX_REGS].len = len;
	}
	pthread_mutex_unlock(&regs_lock);
}

static int regs_pick(struct rng *r, __u64 *start, __u64 *len)
{
	int ok = 0;

	pthread_mutex_lock(&regs_lock);
	if (nregs) {
		int i = below(r, nregs);

		*start = regs[i].start;
		*len = regs[i].len;
		ok = 1;
	}
	pthread_mutex_unlock(&regs_lock);
	return ok;
}

/* A random page-aligned range inside W: mostly small, since registering
 * and unregistering copy every page, sometimes all of W.
 */
static void w_range(struct rng *r, char **p, size_t *pages)
{
	size_t n = skewed(r, chance(r, 96) ? 16 : W_PAGES);
	size_t first = below(r, W_PAGES - n + 1);

	*p = W + first * PG;
	*pages = n;
}

/* ---- special mappings, one set per fuzzing thread ---- */

enum {
	SP_FILE, SP_MEMFD, SP_SHARED, SP_EXEC, SP_WIPE, SP_DONTFORK,
	SP_LOCKED, SP_STACK, SP_HOLE, SP_NONE, SP_RDONLY, SP_HUGETLB, SP_MAX
};

static const char *const sp_name[SP_MAX] = {
	"file", "memfd", "shared", "exec", "wipeonfork", "dontfork",
	"mlocked", "stack", "hole", "prot_none", "read_only", "hugetlb",
};

/* What a clean REGISTER of the whole special mapping returns. */
static const int sp_errno[SP_MAX] = {
	EACCES, EACCES, EACCES, EACCES, EACCES, EACCES,
	EPERM, EACCES, ENOMEM, 0, 0, EACCES,
};

struct specials {
	char *p[SP_MAX];
	size_t len[SP_MAX];
	char *buf;		/* 2 pages for the struct, then a PROT_NONE page */
	char *ro;		/* a read-only page holding a plausible struct */
	char *edge;		/* a writable page followed by an unmapped one */
	char *map;		/* MAP_BUF_LEN of slot map, then a hole */
	char *quiet;		/* 16 pages only this thread touches */
	char *zero;		/* ZERO_LEN, zeros but for the struct at its start */
};

static char *map_anon(size_t len, int prot, int flags)
{
	char *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void specials_setup(struct specials *s, void *stack_addr, unsigned int id)
{
	int fd;

	memset(s, 0, sizeof(*s));
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	s->len[SP_FILE] = PG;
	s->p[SP_FILE] = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	fd = memfd_create("cg-fuzz", MFD_CLOEXEC);
	if (ftruncate(fd, 4 * PG) == 0) {
		s->len[SP_MEMFD] = 4 * PG;
		s->p[SP_MEMFD] = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE, fd, 0);
	}
	close(fd);
	s->len[SP_SHARED] = 2 * PG;
	s->p[SP_SHARED] = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s->len[SP_EXEC] = PG;
	s->p[SP_EXEC] = map_anon(PG, PROT_READ | PROT_EXEC, 0);
	s->len[SP_WIPE] = 2 * PG;
	s->p[SP_WIPE] = map_anon(2 * PG, PROT_READ | PROT_WRITE, 0);
	madvise(s->p[SP_WIPE], 2 * PG, MADV_WIPEONFORK);
	s->len[SP_DONTFORK] = 2 * PG;
	s->p[SP_DONTFORK] = map_anon(2 * PG, PROT_READ | PROT_WRITE, 0);
	madvise(s->p[SP_DONTFORK], 2 * PG, MADV_DONTFORK);
	s->len[SP_LOCKED] = 2 * PG;
	s->p[SP_LOCKED] = map_anon(2 * PG, PROT_READ | PROT_WRITE, 0);
	if (mlock(s->p[SP_LOCKED], 2 * PG))
		s->p[SP_LOCKED] = MAP_FAILED;
	s->len[SP_STACK] = PG;
	s->p[SP_STACK] = (char *)((uintptr_t)stack_addr & ~(PG - 1));
	/* where no later mmap() can fill the hole */
	s->len[SP_HOLE] = 3 * PG;
	s->p[SP_HOLE] = mmap((char *)HOLE_ADDR + id * (1UL << 20), 3 * PG,
			     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
			     MAP_FIXED_NOREPLACE, -1, 0);
	if (s->p[SP_HOLE] != MAP_FAILED)
		munmap(s->p[SP_HOLE] + PG, PG);
	s->len[SP_NONE] = 2 * PG;
	s->p[SP_NONE] = map_anon(2 * PG, PROT_NONE, 0);
	s->len[SP_RDONLY] = 2 * PG;
	s->p[SP_RDONLY] = map_anon(2 * PG, PROT_READ | PROT_WRITE, 0);
	memset(s->p[SP_RDONLY], 0x5a, 2 * PG);
	mprotect(s->p[SP_RDONLY], 2 * PG, PROT_READ);
	s->len[SP_HUGETLB] = 2UL << 20;
	s->p[SP_HUGETLB] = map_anon(2UL << 20, PROT_READ | PROT_WRITE, MAP_HUGETLB);
	for (int i = 0; i < SP_MAX; i++)
		if (s->p[i] == MAP_FAILED)
			s->p[i] = NULL;

	s->buf = map_anon(3 * PG, PROT_READ | PROT_WRITE, 0);
	mprotect(s->buf + 2 * PG, PG, PROT_NONE);
	s->ro = map_anon(PG, PROT_READ | PROT_WRITE, 0);
	memset(s->ro, 0, PG);
	*(uint32_t *)s->ro = sizeof(struct cowguard_register);
	mprotect(s->ro, PG, PROT_READ);
	s->edge = map_anon(2 * PG, PROT_READ | PROT_WRITE, 0);
	munmap(s->edge + PG, PG);
	s->map = map_anon(MAP_BUF_LEN + PG, PROT_READ | PROT_WRITE, MAP_NORESERVE);
	munmap(s->map + MAP_BUF_LEN, PG);
	s->quiet = map_anon(16 * PG, PROT_READ | PROT_WRITE, 0);
	s->zero = mmap((char *)ZERO_ADDR + id * (8UL << 30), ZERO_LEN,
		       PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		       MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (s->zero == MAP_FAILED)
		s->zero = NULL;
	else
		madvise(s->zero, ZERO_LEN, MADV_DONTFORK);
}

static void specials_teardown(struct specials *s)
{
	for (int i = 0; i < SP_MAX; i++)
		if (s->p[i] && i != SP_STACK)
			munmap(s->p[i], s->len[i]);
	munmap(s->buf, 3 * PG);
	munmap(s->ro, PG);
	munmap(s->edge, PG);
	munmap(s->map, MAP_BUF_LEN);
	munmap(s->quiet, 16 * PG);
	if (s->zero)
		munmap(s->zero, ZERO_LEN);
}

/* ---- ioctl numbers ---- */

static const unsigned long real_cmds[] = {
	COWGUARD_IOC_VERSION, COWGUARD_IOC_REGISTER,
	COWGUARD_IOC_UNREGISTER, COWGUARD_IOC_STATS,
};

enum { K_VERSION, K_REGISTER, K_UNREGISTER, K_STATS, K_OTHER, K_MAX };
static const char *const kind_name[K_MAX] = {
	"VERSION", "REGISTER", "UNREGISTER", "STATS", "other",
};

/* A neighbour of a real number: another nr, size, direction or type. */
static unsigned long neighbour_cmd(struct rng *r)
{
	unsigned long c = real_cmds[below(r, 4)];
	unsigned int dir = _IOC_DIR(c), type = _IOC_TYPE(c);
	unsigned int nr = _IOC_NR(c), size = _IOC_SIZE(c);

	switch (below(r, 6)) {
	case 0:
		nr += below(r, 2) ? 1 : -1;
		break;
	case 1:
		nr = below(r, 256);
		break;
	case 2:
		size = below(r, 2) ? size + 8 * (below(r, 5) + 1) - 24 : below(r, 1 << 14);
		break;
	case 3:
		dir = below(r, 4);
		break;
	case 4:
		/* Not 'T', 'X', 'f' or 0x94: those are the VFS's own. */
		type = below(r, 3) ? 0xC5 + 2 * below(r, 2) : 0xA0 + below(r, 0x60);
		break;
	default:
		return ((unsigned long)(uint32_t)rnd(r) & ~(0xffUL << 8)) | COWGUARD_IOC_MAGIC << 8;
	}
	return _IOC(dir, type, nr & 0xff, size & 0x3fff);
}

static int cmd_kind(unsigned long cmd)
{
	for (int i = 0; i < 4; i++)
		if (cmd == real_cmds[i])
			return i;
	return K_OTHER;
}

/* Errnos each call may answer (the uapi header's lists). */
static int errno_allowed(int kind, int e)
{
	switch (kind) {
	case K_REGISTER:
		return e == EINVAL || e == EFAULT || e == ENOMEM || e == EACCES ||
		       e == EPERM || e == EEXIST || e == E2BIG || e == ERANGE ||
		       e == EINTR || e == EBADF;
	case K_UNREGISTER:
		return e == EINVAL || e == EFAULT || e == ENOMEM || e == E2BIG ||
		       e == EINTR;
	case K_STATS:
		return e == EINVAL || e == EFAULT || e == E2BIG;
	case K_OTHER:
		return e == ENOTTY;
	}
	return 0;
}

/* ---- one fuzzing thread ---- */

struct fuzzer {
	unsigned int id;
	const char *phase;
	struct rng r;
	int fd, fd_ro;
	struct specials sp;
	long calls, quota;
	double deadline;
	long hist[K_MAX][140];
	long succeeded[K_MAX];
	double slowest[K_MAX], spent[K_MAX];
	/* the set bits of the slot map in use, to clear after the call */
	uint32_t map_bits[64];
	int nmap_bits;
};

/* A range of some kind for REGISTER (and a start for the others). @clean
 * is cleared when no single errno is expected, else *@want is set.
 */
static void pick_range(struct fuzzer *f, __u64 *start, __u64 *len,
		       int *want, int *clean, const char **what)
{
	struct rng *r = &f->r;
	unsigned int k = below(r, 100);
	char *p;
	size_t n;

	*clean = 0;
	/* Few ranges of W: a registration that succeeds costs a hundred
	 * refused ones, and 10^6 calls must fit in the deadline.
	 */
	if (k < 18) {
		w_range(r, &p, &n);
		*start = (uintptr_t)p;
		*len = n * PG;
	} else if (k < 33 && regs_pick(r, start, len)) {
		if (chance(r, 30)) {
			/* overlapping, partly registered */
			*start += (int64_t)(below(r, 9) - 4) * PG;
			*len += below(r, 5) * PG;
		}
	} else if (k < 62) {
		int i = below(r, SP_MAX);

		if (!f->sp.p[i]) {
			*start = (uintptr_t)W;
			*len = PG;
			return;
		}
		*start = (uintptr_t)f->sp.p[i];
		*len = f->sp.len[i];
		*want = sp_errno[i];
		*what = sp_name[i];
		*clean = 1;
	} else if (k < 68) {
		/* misaligned */
		w_range(r, &p, &n);
		*start = (uintptr_t)p + (chance(r, 50) ? 1 + below(r, PG - 1) : 0);
		*len = n * PG + (*start % PG ? 0 : 1 + below(r, PG - 1));
		*want = EINVAL;
		*clean = 1;
	} else if (k < 71) {
		*start = (uintptr_t)W + below(r, W_PAGES) * PG;
		*len = 0;
		*want = EINVAL;
		*clean = 1;
	} else if (k < 74) {
		/* overflowing */
		*start = -(below(r, 16) + 1) * PG;
		*len = (below(r, 32) + 17) * PG;
		*want = EINVAL;
		*clean = 1;
	} else if (k < 79) {
		/* at or past TASK_SIZE, non-canonical, kernel */
		static const uint64_t far[] = {
			0x7ffffffff000ULL, 1ULL << 47, 1ULL << 56, 1ULL << 57,
			0xffff888000000000ULL, 0xffffffff81000000ULL,
		};
		int i = below(r, 6);

		*start = far[i];
		*len = (below(r, 4) + 2) * PG;
		*want = EINVAL;
		/* below 2^56 it is a hole where the CPU has 5-level paging */
		*clean = i >= 2;
	} else if (k < 86) {
		/* large: past max_register_mb, or into the hole after W */
		*start = (uintptr_t)W + below(r, W_PAGES) * PG;
		if (chance(r, 50)) {
			*len = ((uint64_t)FUZZ_MAX_MB << 20) + skewed(r, 1ULL << 34) * PG;
			*want = E2BIG;
			*clean = 1;
		} else {
			/* ENOMEM, or EEXIST when a registration comes first */
			*len = (W_PAGES + skewed(r, 4096)) * PG;
		}
	} else {
		*start = rnd(r) & (chance(r, 50) ? ~(PG - 1) : ~0ULL);
		if (*start < 0x800000000000ULL)
			*start = EMPTY_LO + *start % (EMPTY_HI - EMPTY_LO);
		*len = chance(r, 50) ? skewed(r, 1 << 16) * PG : rnd(r);
	}
}

/* Fill the slot map for a registration of @len bytes at @start. */
static void slot_map(struct fuzzer *f, struct cowguard_register *req,
		     int *clean)
{
	struct rng *r = &f->r;
	uint64_t nslots, bytes;
	unsigned int w = below(r, 2) ? 4 : 8;

	req->slot_width = w;
	req->band_low = w == 4 ? COWGUARD_BAND_MIN_32 : COWGUARD_BAND_MIN_64;
	req->band_high = req->band_low + below(r, 1 << 20);
	nslots = req->length / w;
	bytes = (nslots + 7) / 8;
	req->slot_map = (uintptr_t)f->sp.map;
	req->slot_map_len = bytes;
	if (bytes <= MAP_BUF_LEN && req->length % PG == 0 && req->start >= W_ADDR &&
	    req->start < W_ADDR + W_PAGES * PG &&
	    req->length <= W_ADDR + W_PAGES * PG - req->start) {
		/* a few marked slots, each given a band value if writable */
		int bits = below(r, 8);

		for (int i = 0; i < bits && f->nmap_bits < 64; i++) {
			uint64_t slot = below(r, nslots);
			uint64_t v = req->band_low + below(r, req->band_high - req->band_low + 1);

			if (chance(r, 10))
				v = below(r, 2) ? 1 : req->band_high + 1;	/* ERANGE */
			f->sp.map[slot / 8] |= 1 << (slot % 8);
			f->map_bits[f->nmap_bits++] = slot / 8;
			poke((char *)(uintptr_t)req->start + slot * w, &v, w);
		}
	}
	*clean = 0;
	switch (below(r, 12)) {
	case 0:
		req->slot_map_len += below(r, 2) ? 1 : -1;
		break;
	case 1:
		req->slot_map = 0;
		break;
	case 2:
		req->slot_map = below(r, 2) ? 0xffff888000000000ULL : (uintptr_t)f->sp.map + MAP_BUF_LEN;
		break;
	case 3:
		req->slot_width = below(r, 2) ? below(r, 17) : (uint32_t)rnd(r);
		break;
	case 4:
		req->band_low = below(r, req->band_low);
		break;
	case 5:
		req->band_high = req->band_low - 1 - below(r, 100);
		break;
	case 6:
		req->band_high = w == 4 ? (1ULL << 32) + below(r, 1000) : ~0ULL;
		break;
	case 7:
		req->slot_map_len = rnd(r);
		break;
	default:
		break;
	}
}

static void clear_map(struct fuzzer *f)
{
	for (int i = 0; i < f->nmap_bits; i++)
		f->sp.map[f->map_bits[i]] = 0;
	f->nmap_bits = 0;
}

/* A struct size that may lie. */
static uint32_t pick_size(struct rng *r, uint32_t ksize, uint32_t ver0, int *clean)
{
	static const uint32_t odd[] = {
		0, 1, 4, 7, 8, PG - 1, PG, PG + 1, 1 << 16, 0x7fffffff,
		0x80000000, 0xfffffff8, 0xffffffff,
	};

	if (chance(r, 70))
		return ksize;
	*clean = 0;
	switch (below(r, 6)) {
	case 0:
		return ver0;
	case 1:
		return ver0 - 1 - below(r, ver0);
	case 2:
		return ksize + 8 * (1 + below(r, 8));
	case 3:
		return odd[below(r, sizeof(odd) / sizeof(odd[0]))];
	case 4:
		return below(r, 2 * PG);
	default:
		return rnd(r);
	}
}

/* Where the struct goes; @len bytes of @src are copied there when the
 * place is writable.
 */
static void *place(struct fuzzer *f, const void *src, size_t len,
		   uint32_t size, int *clean)
{
	struct rng *r = &f->r;
	static const uint64_t bad[] = {
		0, 8, PG - 1, 0xffff888000000000ULL, 0xffffffff81000000ULL,
		0x0000800000000000ULL, 0xdead000000000000ULL, ~0ULL,
	};
	char *p;

	if (size > 2 * PG && f->sp.zero && atomic_load(&zero_scans) && chance(r, 25)) {
		/* a tail of zeros as long as the size says */
		*clean = 0;
		memset(f->sp.zero, 0, 2 * PG);
		memcpy(f->sp.zero, src, len);
		return f->sp.zero;
	}
	if (chance(r, 88)) {
		memcpy(f->sp.buf, src, len);
		memset(f->sp.buf + len, 0, 2 * PG - len);
		if (size > len && size <= 2 * PG && chance(r, 30))
			f->sp.buf[len + below(r, size - len)] = 1 + below(r, 255);
		return f->sp.buf;
	}
	*clean = 0;
	switch (below(r, 5)) {
	case 0:
		return (void *)(uintptr_t)bad[below(r, 8)];
	case 1:
		/* readable, not writable: REGISTER cannot write the id back */
		mprotect(f->sp.ro, PG, PROT_READ | PROT_WRITE);
		memset(f->sp.ro, 0, PG);
		memcpy(f->sp.ro, src, len);
		mprotect(f->sp.ro, PG, PROT_READ);
		return f->sp.ro;
	case 2:
		/* straddling into the unmapped page */
		p = f->sp.edge + PG - 1 - below(r, len);
		memcpy(p, src, f->sp.edge + PG - p);
		return p;
	case 3:
		/* in W, which the other threads are changing */
		p = W + below(r, W_PAGES) * PG + below(r, PG / 8) * 8;
		if (p + len > W + W_PAGES * PG)
			p -= len;
		poke(p, src, len);
		return p;
	default:
		return f->sp.buf + below(r, 2 * PG);
	}
}

/* Count a call; NULL when it is fine, else what is wrong with it (the
 * caller says what the call was).
 */
static const char *record(struct fuzzer *f, int kind, long ret, int e, double dt)
{
	static __thread char why[96];

	f->calls++;
	f->spent[kind] += dt;
	if (dt > f->slowest[kind])
		f->slowest[kind] = dt;
	if (dt * 1000 > slow_ms) {
		atomic_store(&zero_scans, 0);
		snprintf(why, sizeof(why), "took %.1f s (returned %ld, %s)", dt, ret,
			 ret < 0 ? strerror(e) : "ok");
		return why;
	}
	if (ret >= 0) {
		f->succeeded[kind]++;
		return kind == K_OTHER ? "an unknown ioctl number succeeded" : NULL;
	}
	f->hist[kind][e < 139 ? e : 139]++;
	if (!errno_allowed(kind, e)) {
		snprintf(why, sizeof(why), "errno %d (%s) is not documented", e, strerror(e));
		return why;
	}
	return NULL;
}

static long do_ioctl(int fd, unsigned long cmd, void *arg, int *e, double *dt)
{
	double t0 = coarse_s();
	long ret = ioctl(fd, cmd, arg);

	*e = ret < 0 ? errno : 0;
	*dt = coarse_s() - t0;
	return ret;
}

#define REG_FMT "REGISTER size %u start %#llx length %#llx flags %#x width %u map %#llx/%llu arg %p"
#define REG_ARGS(q, u) (q).size, (unsigned long long)(q).start,		\
	(unsigned long long)(q).length, (q).flags, (q).slot_width,		\
	(unsigned long long)(q).slot_map, (unsigned long long)(q).slot_map_len, (u)

static void fuzz_register(struct fuzzer *f)
{
	struct rng *r = &f->r;
	struct cowguard_register req = { 0 }, *u;
	int clean = 1, want = -1, e, fd = f->fd;
	const char *what = "";
	long ret;
	double dt;
	const char *why;

	pick_range(f, &req.start, &req.length, &want, &clean, &what);
	if (chance(r, 25))
		slot_map(f, &req, &clean);
	if (chance(r, 10)) {
		req.flags = rnd(r) >> below(r, 64);
		clean &= !req.flags;
	}
	if (chance(r, 8)) {
		req.reserved[below(r, 3)] = rnd(r) | 1;
		clean = 0;
	}
	if (chance(r, 4)) {
		req.id = rnd(r) | 1;
		clean = 0;
	}
	if (chance(r, 30)) {
		static const uint32_t budgets[] = { 0, 1, 64, 65534, 65535, 65536, 0xffffffff };

		req.trap_budget = below(r, 2) ? budgets[below(r, 7)] : (uint32_t)rnd(r);
		req.trap_refill_ms = below(r, 2) ? COWGUARD_REFILL_NEVER : below(r, 5000);
		req.shadow_cap = below(r, 2) ? COWGUARD_SHADOW_CAP_NONE : below(r, 1024);
	}
	req.size = pick_size(r, sizeof(req), COWGUARD_REGISTER_SIZE_VER0, &clean);
	if (chance(r, 3)) {
		fd = f->fd_ro;
		want = EBADF;
	}
	u = place(f, &req, sizeof(req), req.size, &clean);
	ret = do_ioctl(fd, COWGUARD_IOC_REGISTER, u, &e, &dt);
	clear_map(f);
	why = record(f, K_REGISTER, ret, e, dt);
	if (why)
		finding(REG_FMT ": %s", REG_ARGS(req, u), why);
	else if (fd == f->fd_ro && !ret)
		finding(REG_FMT " on a read-only fd succeeded", REG_ARGS(req, u));
	else if (clean && want >= 0 && fd == f->fd && (ret ? e : 0) != want &&
		 /* the per-process limit is checked before the range */
		 !(want != EINVAL && ret && e == E2BIG))
		finding(REG_FMT " (%s): %s, documented: %s", REG_ARGS(req, u), what,
			ret ? strerror(e) : "success", want ? strerror(want) : "success");
	if (ret && e == EFAULT && (char *)u != f->sp.buf && req.length)
		ret = 0;	/* maybe registered all the same: id not written */
	if (ret)
		return;
	if (req.start >= W_ADDR && req.start < W_ADDR + W_PAGES * PG) {
		regs_add(req.start, req.length);
		if (chance(r, 30))
			touch((char *)(uintptr_t)req.start, req.length / PG > 8 ? 8 : req.length / PG,
			      1, (char)rnd(r));
		return;
	}
	/* A special mapping, or one we did not aim at: give it back. */
	ret = cg_unregister(f->fd, (void *)(uintptr_t)req.start);
	if (ret && !(ret == -EINVAL && e == EFAULT))
		finding("UNREGISTER after " REG_FMT ": %s", REG_ARGS(req, u), strerror(-ret));
}

static void fuzz_unregister(struct fuzzer *f)
{
	struct rng *r = &f->r;
	struct cowguard_unregister req = { 0 }, *u;
	__u64 len;
	const char *what = "";
	int clean = 1, want = -1, e;
	long ret;
	double dt;
	const char *why;

	pick_range(f, &req.start, &len, &want, &clean, &what);
	if (chance(r, 20) && len)
		req.start += below(r, len);
	if (chance(r, 8))
		req.flags = rnd(r) >> below(r, 64);
	if (chance(r, 8))
		req.reserved[below(r, 2)] = rnd(r) | 1;
	req.size = pick_size(r, sizeof(req), COWGUARD_UNREGISTER_SIZE_VER0, &clean);
	u = place(f, &req, sizeof(req), req.size, &clean);
	ret = do_ioctl(f->fd, COWGUARD_IOC_UNREGISTER, u, &e, &dt);
	why = record(f, K_UNREGISTER, ret, e, dt);
	if (why)
		finding("UNREGISTER size %u start %#llx flags %#x arg %p: %s", req.size,
			(unsigned long long)req.start, req.flags, (void *)u, why);
}

static void fuzz_stats(struct fuzzer *f)
{
	struct rng *r = &f->r;
	struct cowguard_stats st = { 0 }, *u;
	__u64 len;
	const char *what = "";
	int clean = 1, want = -1, e;
	long ret;
	double dt;
	const char *why;

	if (chance(r, 30))
		st.start = 0;
	else
		pick_range(f, &st.start, &len, &want, &clean, &what);
	if (chance(r, 8))
		st.flags = rnd(r) >> below(r, 64);
	if (chance(r, 8))
		((uint64_t *)&st.mapped_pages)[below(r, (sizeof(st) -
			offsetof(struct cowguard_stats, mapped_pages)) / 8)] = rnd(r);
	st.size = pick_size(r, sizeof(st), COWGUARD_STATS_SIZE_VER0, &clean);
	u = place(f, &st, sizeof(st), st.size, &clean);
	ret = do_ioctl(f->fd, COWGUARD_IOC_STATS, u, &e, &dt);
	why = record(f, K_STATS, ret, e, dt);
	if (why)
		finding("STATS size %u start %#llx arg %p: %s", st.size,
			(unsigned long long)st.start, (void *)u, why);
	else if (!ret && (void *)u == f->sp.buf && u->reg_length % PG)
		finding("STATS start %#llx: reg_length %llu is not whole pages",
			(unsigned long long)st.start, (unsigned long long)u->reg_length);
}

static void fuzz_other(struct fuzzer *f)
{
	struct rng *r = &f->r;
	unsigned long cmd = neighbour_cmd(r);
	int kind = cmd_kind(cmd), e, clean = 1;
	char raw[PG] = "";
	long ret;
	double dt;
	void *arg;
	const char *why;

	if (kind == K_REGISTER) {
		fuzz_register(f);
		return;
	}
	if (kind == K_UNREGISTER) {
		fuzz_unregister(f);
		return;
	}
	if (kind == K_STATS) {
		fuzz_stats(f);
		return;
	}
	for (int i = 0; i < 64; i++)
		((uint64_t *)raw)[i] = chance(r, 50) ? 0 : rnd(r);
	*(uint32_t *)raw = pick_size(r, 128, 32, &clean);
	arg = chance(r, 10) ? (void *)(uintptr_t)rnd(r) : place(f, raw, sizeof(raw) / 2, PG, &clean);
	ret = do_ioctl(chance(r, 20) ? f->fd_ro : f->fd, cmd, arg, &e, &dt);
	why = kind == K_VERSION ? NULL : record(f, kind, ret, e, dt);
	if (kind == K_VERSION)
		f->calls++, f->succeeded[kind]++;
	if (why)
		finding("ioctl %#lx arg %p: %s", cmd, arg, why);
	if (kind == K_VERSION && ret != COWGUARD_ABI_VERSION)
		finding("VERSION returned %ld errno %d", ret, e);
}

/* The quiet range, only this thread's: contents survive registration,
 * shadow writes and unregistration exactly.
 */
static void quiet_round(struct fuzzer *f)
{
	struct rng *r = &f->r;
	size_t n = 1 + below(r, 16), i;
	char *q = f->sp.quiet, expect[16];
	int ret;

	for (i = 0; i < n; i++) {
		expect[i] = (char)rnd(r);
		memset(q + i * PG, expect[i], PG);
	}
	ret = cg_register(f->fd, q, n * PG);
	if (ret == -E2BIG)
		return;		/* at max_register_mb: W holds it all */
	if (ret) {
		finding("REGISTER of %zu quiet pages: %s", n, strerror(-ret));
		return;
	}
	ret = cg_register(f->fd, q, n * PG);
	if (ret != -EEXIST && ret != -E2BIG)
		finding("REGISTER of a registered range: %s, not EEXIST", strerror(-ret));
	for (i = 0; i < n; i++)
		if (q[i * PG] != expect[i] || q[i * PG + PG - 1] != expect[i])
			finding("quiet page %zu changed by REGISTER", i);
	for (i = 0; i < n; i++)
		if (chance(r, 50)) {
			expect[i] ^= 0x11;
			memset(q + i * PG, expect[i], PG);
		}
	ret = cg_unregister(f->fd, q + below(r, n) * PG);
	if (ret)
		finding("UNREGISTER of the quiet range: %s", strerror(-ret));
	for (i = 0; i < n; i++)
		if (q[i * PG] != expect[i] || q[i * PG + PG / 2] != expect[i])
			finding("quiet page %zu lost its bytes across UNREGISTER", i);
	f->calls += 3;
}

/* Opening a registration's file through /proc/PID/map_files must not let
 * anyone map it.
 */
static void map_files_round(struct fuzzer *f)
{
	__u64 start, len;
	char path[96];
	void *p;
	int fd;

	if (!regs_pick(&f->r, &start, &len))
		return;
	snprintf(path, sizeof(path), "/proc/self/map_files/%llx-%llx",
		 (unsigned long long)start, (unsigned long long)(start + len));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 chance(&f->r, 50) ? MAP_SHARED : MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED) {
		finding("mmap of a registration's file through %s succeeded", path);
		munmap(p, len);
	}
	if (ioctl(fd, COWGUARD_IOC_STATS, f->sp.buf) != -1 || errno != ENOTTY)
		finding("ioctl on a registration's file is not ENOTTY");
	close(fd);
	f->calls += 2;
}

static void *fuzz_thread(void *arg)
{
	struct fuzzer *f = arg;
	long iter = 0;

	guard_install();
	specials_setup(&f->sp, main_stack, f->id);
	where = f->phase;
	while (f->calls < f->quota && !atomic_load(&stop)) {
		unsigned int k = below(&f->r, 1000);

		call_no = f->calls;
		if (k < 280)
			fuzz_register(f);
		else if (k < 480)
			fuzz_unregister(f);
		else if (k < 700)
			fuzz_stats(f);
		else if (k < 996)
			fuzz_other(f);
		else if (k < 998)
			quiet_round(f);
		else
			map_files_round(f);
		/* often: a debug kernel under chaos makes tens of calls a second */
		if (!(++iter & 15) && coarse_s() > f->deadline)
			break;
		if (!(iter % 16384) && f->id == 0) {
			/* a new epoch: W fresh, its VMAs and registrations gone */
			mmap(W, W_PAGES * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			pthread_mutex_lock(&regs_lock);
			nregs = 0;
			pthread_mutex_unlock(&regs_lock);
			touch(W, W_PAGES, 1, (char)iter);
		}
	}
	atomic_fetch_add(&calls_done, f->calls);
	specials_teardown(&f->sp);
	return NULL;
}

/* ---- chaos: the memory under the fuzzer changes ---- */

static void *mutator_thread(void *arg)
{
	struct rng r = rng_for(100 + (uintptr_t)arg);
	static const int advice[] = {
		MADV_DONTNEED, MADV_FREE, MADV_WIPEONFORK, MADV_KEEPONFORK,
		MADV_DONTFORK, MADV_DOFORK, MADV_COLD, MADV_PAGEOUT,
		MADV_WILLNEED, MADV_NOHUGEPAGE, MADV_HUGEPAGE, MADV_DONTDUMP,
		MADV_DODUMP, MADV_POPULATE_READ, MADV_POPULATE_WRITE,
		MADV_REMOVE, MADV_NORMAL, MADV_RANDOM,
	};
	static const int prots[] = {
		PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_EXEC, PROT_READ | PROT_WRITE | PROT_EXEC,
	};
	char *p, *q;
	size_t n;

	guard_install();
	while (!atomic_load(&stop)) {
		w_range(&r, &p, &n);
		switch (below(&r, 14)) {
		case 0:
		case 1:
			/* re-mmap: fresh anonymous memory, maybe never touched */
			mmap(p, n * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
			     (chance(&r, 50) ? MAP_NORESERVE : 0), -1, 0);
			if (chance(&r, 50))
				touch(p, n > 256 ? 256 : n, 1, (char)rnd(&r));
			break;
		case 2:
			munmap(p, n * PG);
			break;
		case 3:
		case 4:
			mprotect(p, n * PG, prots[below(&r, 5)]);
			break;
		case 5:
		case 6:
			madvise(p, n * PG, advice[below(&r, sizeof(advice) / sizeof(advice[0]))]);
			break;
		case 7:
			/* move part of W elsewhere in W */
			q = W + below(&r, W_PAGES - n + 1) * PG;
			mremap(p, n * PG, n * PG, MREMAP_MAYMOVE | MREMAP_FIXED |
			       (chance(&r, 20) ? MREMAP_DONTUNMAP : 0), q);
			break;
		case 8:
			/* shrink or grow in place, never past W */
			mremap(p, n * PG, below(&r, W_PAGES - (p - W) / PG) * PG + PG, 0);
			break;
		case 12:
			/* race the fuzzer's own calls on the same ranges */
			if (!cg_register(mut_fd, p, n * PG))
				regs_add((uintptr_t)p, n * PG);
			break;
		case 13:
			cg_unregister(mut_fd, p);
			break;
		case 9:
			if (n <= 16) {
				mlock(p, n * PG);
				usleep(100);
				munlock(p, n * PG);
			}
			break;
		default:
			touch(p, n > 64 ? 64 : n, chance(&r, 50), (char)rnd(&r));
			break;
		}
		/* often enough to race every call, not so often as to starve it */
		usleep(500 + below(&r, 2000));
	}
	return NULL;
}

/* Children that touch the ranges (golden, shadow, fresh) and exit, some
 * with ioctls of their own.
 */
static void child_body(struct rng *r, int fd)
{
	long faults = 0;
	char *p;
	size_t n;

	alarm(20);
	for (int i = 0; i < 4; i++) {
		w_range(r, &p, &n);
		switch (below(r, 5)) {
		case 0:
			cg_register(fd, p, n * PG);
			break;
		case 1:
			cg_unregister(fd, p);
			break;
		case 2:
			munmap(p, n * PG);
			break;
		default:
			faults += touch(p, n > 128 ? 128 : n, chance(r, 60), (char)rnd(r));
			break;
		}
	}
	_exit(faults > 255 ? 255 : faults);
}

static void *forker_thread(void *arg)
{
	struct rng r = rng_for(200);
	int fd = (intptr_t)arg, live = 0, status;
	pid_t pid;

	guard_install();
	while (!atomic_load(&stop) || live) {
		if (live < MAX_CHILDREN && !atomic_load(&stop)) {
			pid = fork();
			if (pid == 0) {
				r.s ^= getpid();
				child_body(&r, fd);
			}
			if (pid > 0) {
				live++;
				atomic_fetch_add(&children_run, 1);
			}
		}
		pid = waitpid(-1, &status, live < MAX_CHILDREN && !atomic_load(&stop) ?
			      WNOHANG : 0);
		if (pid > 0) {
			live--;
			if (WIFEXITED(status))
				atomic_fetch_add(&child_faults, WEXITSTATUS(status));
			else if (WIFSIGNALED(status))
				finding("a child died of signal %d", WTERMSIG(status));
		} else if (pid < 0 && errno == ECHILD) {
			live = 0;
		}
		usleep(20000);
	}
	return NULL;
}

/* ---- netlink ---- */

struct nl {
	int fd;
	uint16_t family;
	uint32_t seq;
	char buf[NL_BUF];
};

static int nl_open(struct nl *nl)
{
	struct timeval tv = { .tv_sec = 5 };
	int one = 1;

	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -errno;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

static struct nlattr *put_attr(char *msg, uint16_t type, const void *data, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	struct nlattr *a = (struct nlattr *)(msg + NLMSG_ALIGN(h->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
	return a;
}

static void start_msg(char *msg, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	struct genlmsghdr *g = NLMSG_DATA(h);

	memset(msg, 0, NLMSG_LENGTH(GENL_HDRLEN));
	h->nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	g->cmd = cmd;
	g->version = COWGUARD_GENL_VERSION;
}

typedef void (*on_msg_t)(const struct nlmsghdr *h, void *arg);

/* Read until the answer to the last request is complete. Return its
 * error (0, or a negative errno), or -EAGAIN when nothing more came.
 */
static int nl_recv(struct nl *nl, on_msg_t cb, void *arg, int wait)
{
	for (;;) {
		ssize_t n = recv(nl->fd, nl->buf, sizeof(nl->buf), wait ? 0 : MSG_DONTWAIT);
		struct nlmsghdr *h;

		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)nl->buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != nl->seq)
				continue;	/* left over from an earlier request */
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (h->nlmsg_type == NLMSG_DONE) {
				int err;

				memcpy(&err, NLMSG_DATA(h), sizeof(err));
				return err;
			}
			if (cb)
				cb(h, arg);
		}
	}
}

static int nl_send(struct nl *nl, char *msg)
{
	struct nlmsghdr *h = (struct nlmsghdr *)msg;

	h->nlmsg_seq = ++nl->seq;
	return send(nl->fd, msg, h->nlmsg_len, 0) < 0 ? -errno : 0;
}

#define for_each_attr(a, start, len)					\
	for (a = (struct nlattr *)(start);				\
	     (char *)a + NLA_HDRLEN <= (char *)(start) + (len) &&	\
	     a->nla_len >= NLA_HDRLEN &&				\
	     (char *)a + a->nla_len <= (char *)(start) + (len);		\
	     a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))

static uint64_t attr_uint(const struct nlattr *a)
{
	uint64_t v = 0;

	memcpy(&v, (char *)a + NLA_HDRLEN,
	       a->nla_len - NLA_HDRLEN >= 8 ? 8 : a->nla_len - NLA_HDRLEN);
	return a->nla_len - NLA_HDRLEN == 4 ? (uint32_t)v : v;
}

static void on_family(const struct nlmsghdr *h, void *arg)
{
	struct nlattr *a;

	for_each_attr(a, (char *)NLMSG_DATA(h) + GENL_HDRLEN,
		      h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN))
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
			*(uint16_t *)arg = attr_uint(a);
}

static int nl_connect(struct nl *nl)
{
	char msg[256];
	int err = nl_open(nl);

	if (err)
		return err;
	start_msg(msg, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY);
	put_attr(msg, CTRL_ATTR_FAMILY_NAME, COWGUARD_GENL_NAME, sizeof(COWGUARD_GENL_NAME));
	nl->family = 0;
	err = nl_send(nl, msg) ?: nl_recv(nl, on_family, &nl->family, 1);
	return err ?: nl->family ? 0 : -ENOENT;
}

#define MAX_TUNABLES 16

struct module_info {
	uint64_t live_pages, registrations, views;
	int ntun;
	struct {
		char name[COWGUARD_TUNABLE_NAME_MAX];
		uint64_t value, min, max;
	} tun[MAX_TUNABLES];
};

static void on_module(const struct nlmsghdr *h, void *arg)
{
	struct module_info *mi = arg;
	struct nlattr *a, *b;

	for_each_attr(a, (char *)NLMSG_DATA(h) + GENL_HDRLEN,
		      h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN)) {
		switch (a->nla_type & NLA_TYPE_MASK) {
		case COWGUARD_MODULE_A_LIVE_PAGES:
			mi->live_pages = attr_uint(a);
			break;
		case COWGUARD_MODULE_A_REGISTRATIONS:
			mi->registrations = attr_uint(a);
			break;
		case COWGUARD_MODULE_A_VIEWS:
			mi->views = attr_uint(a);
			break;
		case COWGUARD_MODULE_A_TUNABLE:
			if (mi->ntun == MAX_TUNABLES)
				break;
			for_each_attr(b, (char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN) {
				int t = b->nla_type & NLA_TYPE_MASK;

				if (t == COWGUARD_TUNABLE_A_NAME)
					snprintf(mi->tun[mi->ntun].name, COWGUARD_TUNABLE_NAME_MAX,
						 "%.*s", (int)(b->nla_len - NLA_HDRLEN),
						 (char *)b + NLA_HDRLEN);
				else if (t == COWGUARD_TUNABLE_A_VALUE)
					mi->tun[mi->ntun].value = attr_uint(b);
				else if (t == COWGUARD_TUNABLE_A_MINIMUM)
					mi->tun[mi->ntun].min = attr_uint(b);
				else if (t == COWGUARD_TUNABLE_A_MAXIMUM)
					mi->tun[mi->ntun].max = attr_uint(b);
			}
			mi->ntun++;
			break;
		}
	}
}

static int nl_get_module(struct nl *nl, struct module_info *mi)
{
	char msg[64];

	memset(mi, 0, sizeof(*mi));
	start_msg(msg, nl->family, NLM_F_REQUEST | NLM_F_ACK, COWGUARD_CMD_GET_MODULE);
	return nl_send(nl, msg) ?: nl_recv(nl, on_module, mi, 1);
}

static int nl_set(struct nl *nl, const char *name, uint64_t v)
{
	char msg[128];

	start_msg(msg, nl->family, NLM_F_REQUEST | NLM_F_ACK, COWGUARD_CMD_SET_TUNABLE);
	put_attr(msg, COWGUARD_A_TUNABLE_NAME, name, strlen(name) + 1);
	put_attr(msg, COWGUARD_A_TUNABLE_VALUE, &v, 8);
	return nl_send(nl, msg) ?: nl_recv(nl, NULL, NULL, 1);
}

/* Every tunable's value inside its own range, and equal to sysfs. */
static void check_tunables(const struct module_info *mi, const char *when)
{
	char path[128];

	for (int i = 0; i < mi->ntun; i++) {
		long sys;

		if (mi->tun[i].value < mi->tun[i].min || mi->tun[i].value > mi->tun[i].max)
			finding("%s: GET_MODULE reports %s = %llu outside its range [%llu, %llu]",
				when, mi->tun[i].name, (unsigned long long)mi->tun[i].value,
				(unsigned long long)mi->tun[i].min,
				(unsigned long long)mi->tun[i].max);
		snprintf(path, sizeof(path), CG_PARAM("%s"), mi->tun[i].name);
		sys = cg_param_read(path);
		if (sys >= 0 && (uint64_t)sys != mi->tun[i].value)
			finding("%s: %s is %llu over netlink, %ld in sysfs", when,
				mi->tun[i].name, (unsigned long long)mi->tun[i].value, sys);
	}
}

/* The tunables as they were, to put back. */
struct saved_tunables {
	int n;
	char name[MAX_TUNABLES][COWGUARD_TUNABLE_NAME_MAX];
	long value[MAX_TUNABLES];
};

static void tunables_save(struct saved_tunables *st, const struct module_info *mi)
{
	char path[128];

	st->n = mi->ntun;
	for (int i = 0; i < mi->ntun; i++) {
		strcpy(st->name[i], mi->tun[i].name);
		snprintf(path, sizeof(path), CG_PARAM("%s"), mi->tun[i].name);
		st->value[i] = cg_param_read(path);
	}
}

static int tunables_restore(const struct saved_tunables *st)
{
	char path[128];
	int bad = 0;

	for (int i = 0; i < st->n; i++) {
		snprintf(path, sizeof(path), CG_PARAM("%s"), st->name[i]);
		if (st->value[i] < 0)
			continue;
		if (cg_param_set(path, st->value[i]) || cg_param_read(path) != st->value[i]) {
			fprintf(stderr, "# could not restore %s to %ld\n", st->name[i],
				st->value[i]);
			bad++;
		}
	}
	return bad;
}

/* Dumps list ids in increasing order (the resume-by-id contract). */
struct dump_order {
	int cmd;
	uint64_t last_a, last_b;
	long msgs;
	int bad;
};

static void on_dump(const struct nlmsghdr *h, void *arg)
{
	struct dump_order *d = arg;
	struct genlmsghdr *g = NLMSG_DATA(h);
	uint64_t a = 0, b = 0;
	struct nlattr *at;

	if (h->nlmsg_type < NLMSG_MIN_TYPE)
		return;
	d->msgs++;
	for_each_attr(at, (char *)g + GENL_HDRLEN, h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN)) {
		int t = at->nla_type & NLA_TYPE_MASK;

		if (d->cmd == COWGUARD_CMD_GET_REGISTRATIONS && t == COWGUARD_REG_A_ID)
			a = attr_uint(at);
		else if (d->cmd == COWGUARD_CMD_GET_VIEWS && t == COWGUARD_VIEW_A_REG_ID)
			a = attr_uint(at);
		else if (d->cmd == COWGUARD_CMD_GET_VIEWS && t == COWGUARD_VIEW_A_ID)
			b = attr_uint(at);
	}
	if (d->cmd == COWGUARD_CMD_GET_SITES)
		return;
	if (d->msgs > 1 && (a < d->last_a || (a == d->last_a && b <= d->last_b)) &&
	    !d->bad++)
		finding("dump %d out of order: (%llu, %llu) after (%llu, %llu)", d->cmd,
			(unsigned long long)a, (unsigned long long)b,
			(unsigned long long)d->last_a, (unsigned long long)d->last_b);
	d->last_a = a;
	d->last_b = b;
}

static long hist_nl[140];

static int nl_errno_allowed(int e)
{
	return e == 0 || e == EINVAL || e == ERANGE || e == ENOENT || e == EPERM ||
	       e == ESRCH || e == EOPNOTSUPP || e == EMSGSIZE || e == EBUSY ||
	       e == EAGAIN;
}

/* Random attributes, nested up to @depth, lengths that may lie. */
static void random_attrs(struct rng *r, char *msg, int depth)
{
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	int n = below(r, 6);

	for (int i = 0; i < n && h->nlmsg_len < 700; i++) {
		uint8_t data[48];
		uint16_t type;
		size_t len;
		struct nlattr *a;

		for (size_t j = 0; j < sizeof(data); j++)
			data[j] = chance(r, 30) ? 0 : rnd(r);
		type = chance(r, 70) ? below(r, 5) : chance(r, 50) ? below(r, 24) : rnd(r);
		if (chance(r, 10))
			type |= NLA_F_NESTED;
		switch (type & NLA_TYPE_MASK) {
		case COWGUARD_A_PID:
			len = chance(r, 70) ? 4 : below(r, 12);
			if (chance(r, 50))
				*(uint32_t *)data = below(r, 2) ? getpid() : below(r, 5000000);
			break;
		case COWGUARD_A_TUNABLE_VALUE:
			len = chance(r, 70) ? 8 : below(r, 16);
			break;
		case COWGUARD_A_TUNABLE_NAME:
			len = below(r, 40);
			if (chance(r, 50)) {
				snprintf((char *)data, sizeof(data), "%s",
					 below(r, 2) ? "trap_budget" : "max_register_mb");
				len = strlen((char *)data) + below(r, 2);
			}
			break;
		default:
			len = below(r, 41);
		}
		if (depth && chance(r, 15)) {
			struct nlattr *nest = put_attr(msg, type | NLA_F_NESTED, NULL, 0);
			uint32_t before = h->nlmsg_len;

			random_attrs(r, msg, depth - 1);
			nest->nla_len = NLA_HDRLEN + h->nlmsg_len - before;
			continue;
		}
		a = put_attr(msg, type, data, len);
		if (chance(r, 4))
			a->nla_len = below(r, 2) ? below(r, NLA_HDRLEN) : a->nla_len + 1 + below(r, 300);
	}
}

static const char *const tunable_names[] = {
	"trap_budget", "trap_refill_ms", "shadow_cap_pct",
	"reclaim_interval_ms", "reclaim_batch", "max_register_mb",
	"site_patching",
};

static uint64_t edge_value(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 99, 100, 101, 255, 256, 65534, 65535, 65536, 70000,
		86400000, 86400001, 1 << 24, (1 << 24) + 1, 1 << 27, (1 << 27) + 1,
		0x7fffffff, 0xffffffff, 0x100000000ULL, ~0ULL,
	};

	return below(r, 3) ? v[below(r, sizeof(v) / sizeof(v[0]))] : rnd(r) >> below(r, 64);
}

struct nl_fuzz {
	struct rng r;
	struct nl nl;
	long msgs, cut, sets, sets_ok;
	int restrict_memory;	/* keep max_register_mb <= FUZZ_MAX_MB */
};

/* One random request, its answers read or cut off. */
static void nl_fuzz_one(struct nl_fuzz *z)
{
	struct rng *r = &z->r;
	char msg[1024];
	struct nlmsghdr *h = (struct nlmsghdr *)msg;
	struct genlmsghdr *g = NLMSG_DATA(h);
	struct module_info before, after;
	struct dump_order order = { 0 };
	uint16_t flags = NLM_F_REQUEST;
	const char *set_name = NULL;
	uint64_t set_value = 0;
	int set = 0, err, dump, k;
	uint8_t cmd;

	cmd = chance(r, 85) ? 1 + below(r, COWGUARD_CMD_MAX) : below(r, 2) ? 0 : rnd(r);
	dump = chance(r, 35);
	if (dump)
		flags |= NLM_F_DUMP;
	if (chance(r, 80))
		flags |= NLM_F_ACK;
	if (chance(r, 5))
		flags |= rnd(r) & 0xfff0;
	/* Only our family, the controller (its policy dump shows ours) and
	 * control types the kernel skips: other families are not ours to fuzz.
	 */
	k = below(r, 100);
	if (k < 94) {
		start_msg(msg, z->nl.family, flags, cmd);
	} else if (k < 98) {
		start_msg(msg, GENL_ID_CTRL, flags,
			  below(r, 2) ? CTRL_CMD_GETFAMILY : CTRL_CMD_GETPOLICY);
		if (chance(r, 70))
			put_attr(msg, CTRL_ATTR_FAMILY_NAME, COWGUARD_GENL_NAME,
				 sizeof(COWGUARD_GENL_NAME));
		else
			put_attr(msg, CTRL_ATTR_FAMILY_ID, &z->nl.family, 2);
	} else {
		start_msg(msg, below(r, NLMSG_MIN_TYPE), flags, cmd);
	}
	if (chance(r, 5))
		g->version = rnd(r);
	if (chance(r, 4))
		g->reserved = rnd(r) | 1;
	if (cmd == COWGUARD_CMD_SET_TUNABLE && h->nlmsg_type == z->nl.family && chance(r, 60)) {
		/* well formed, random name and value */
		set_name = chance(r, 90) ? tunable_names[below(r, 6)] : "no_such_tunable";
		set_value = edge_value(r);
		if (z->restrict_memory && !strcmp(set_name, "max_register_mb") &&
		    set_value > FUZZ_MAX_MB)
			set_value = 1 + below(r, FUZZ_MAX_MB);
		if (!strcmp(set_name, "reclaim_interval_ms") && set_value > 1000 && chance(r, 70))
			set_value = 1 + below(r, 50);	/* a busy scanner */
		put_attr(msg, COWGUARD_A_TUNABLE_NAME, set_name, strlen(set_name) + 1);
		put_attr(msg, COWGUARD_A_TUNABLE_VALUE, &set_value, 8);
		if (!z->restrict_memory && chance(r, 10)) {
			/* the last of repeated attributes counts: which, we do not know */
			random_attrs(r, msg, 1);
			set_name = NULL;
		}
	} else if ((!z->restrict_memory || cmd != COWGUARD_CMD_SET_TUNABLE) &&
		   h->nlmsg_type != GENL_ID_CTRL) {
		random_attrs(r, msg, 3);
	}
	if (cmd == COWGUARD_CMD_SET_TUNABLE && h->nlmsg_type == z->nl.family) {
		/* know what a SET did: the value before and after */
		set = 1;
		h->nlmsg_flags |= NLM_F_ACK;
		if (nl_get_module(&z->nl, &before))
			return;
	}
	if (chance(r, 3)) {
		/* a length that lies about the message */
		uint32_t real = h->nlmsg_len;

		h->nlmsg_len = below(r, 2) ? below(r, real) : real + 1 + below(r, 64);
		h->nlmsg_seq = ++z->nl.seq;
		send(z->nl.fd, msg, real, 0);
		set = 0;
	} else if (nl_send(&z->nl, msg)) {
		return;
	}
	z->msgs++;
	order.cmd = cmd;
	if (dump && chance(r, 20)) {
		/* read one batch, then walk away from the dump */
		recv(z->nl.fd, z->nl.buf, sizeof(z->nl.buf), MSG_DONTWAIT);
		close(z->nl.fd);
		z->cut++;
		if (nl_connect(&z->nl))
			finding("netlink: cannot reconnect after a cut dump");
		return;
	}
	err = nl_recv(&z->nl, dump && h->nlmsg_type == z->nl.family ? on_dump : NULL,
		      &order, 0);
	if (err == -EAGAIN)
		return;		/* no ack asked and nothing to say */
	if (h->nlmsg_type == z->nl.family) {
		hist_nl[-err < 139 ? -err : 139]++;
		if (err > 0 || !nl_errno_allowed(-err))
			finding("netlink cmd %u flags %#x: error %d (%s) is not documented",
				cmd, flags, err, strerror(-err));
	}
	if (!set)
		return;
	z->sets++;
	if (nl_get_module(&z->nl, &after))
		return;
	for (int i = 0, changed = 0; i < after.ntun && i < before.ntun; i++) {
		int named = set_name && !strcmp(after.tun[i].name, set_name);

		if (after.tun[i].value == before.tun[i].value)
			continue;
		if (changed++)
			finding("one SET_TUNABLE changed more than one tunable (%s too)",
				after.tun[i].name);
		if (err)
			finding("SET_TUNABLE failed (%d) but %s changed %llu -> %llu", err,
				after.tun[i].name, (unsigned long long)before.tun[i].value,
				(unsigned long long)after.tun[i].value);
		else if (set_name && (!named || after.tun[i].value != set_value))
			finding("SET_TUNABLE %s=%llu changed %s %llu -> %llu", set_name,
				(unsigned long long)set_value, after.tun[i].name,
				(unsigned long long)before.tun[i].value,
				(unsigned long long)after.tun[i].value);
	}
	if (!err)
		z->sets_ok++;
	check_tunables(&after, "after SET_TUNABLE");
}

static void *netlink_thread(void *arg)
{
	struct nl_fuzz *z = arg;

	while (!atomic_load(&stop)) {
		nl_fuzz_one(z);
		usleep(2000);
	}
	return NULL;
}

/* ---- the figures that must come back ---- */

struct figures {
	long live_pages, registrations;
	uint64_t nl_live, nl_regs, nl_views;
};

static int figures_read(struct figures *fg)
{
	struct module_info mi;
	struct nl nl;
	int err;

	fg->live_pages = cg_sysfs_long("live_pages");
	fg->registrations = cg_sysfs_long("registrations");
	err = nl_connect(&nl) ?: nl_get_module(&nl, &mi);
	if (nl.fd >= 0)
		close(nl.fd);
	if (err)
		return err;
	fg->nl_live = mi.live_pages;
	fg->nl_regs = mi.registrations;
	fg->nl_views = mi.views;
	return 0;
}

/* Poll briefly: an exited process's views go with its last mm reference. */
static int figures_back(const struct figures *start, struct figures *end)
{
	for (int i = 0; i < 50; i++) {
		if (figures_read(end))
			return 0;
		if (end->live_pages == start->live_pages &&
		    end->registrations == start->registrations &&
		    end->nl_live == start->nl_live && end->nl_regs == start->nl_regs &&
		    end->nl_views == start->nl_views)
			return 1;
		usleep(100000);
	}
	return 0;
}

static void figures_print(const char *when, const struct figures *fg)
{
	fprintf(stderr, "# %s: live_pages %ld registrations %ld (netlink: %llu, %llu, views %llu)\n",
		when, fg->live_pages, fg->registrations, (unsigned long long)fg->nl_live,
		(unsigned long long)fg->nl_regs, (unsigned long long)fg->nl_views);
}

/* Run @fn in a child process (the leak check needs every process of the
 * run gone); its exit status is its findings.
 */
static int run_worker(int (*fn)(void))
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(fn());
	}
	return cg_wait(pid);
}

/* One phase of the ioctl fuzz: @quota calls or @seconds, with the chaos
 * threads of @chaos (1 memory operations, 2 forks, 4 netlink).
 */
static void ioctl_phase(const char *name, int fd, int fd_ro, struct nl_fuzz *z,
			long nthreads, long quota, long seconds, long chaos)
{
	pthread_t ft[MAX_THREADS], mt[2], fork_t, nl_t;
	static struct fuzzer fz[MAX_THREADS];
	static unsigned int phase;
	double t0 = now_s(), t;
	long total, hist[K_MAX][140] = { { 0 } }, ok[K_MAX] = { 0 };
	long children0 = atomic_load(&children_run), msgs0 = z->msgs;
	double slow[K_MAX] = { 0 }, spent[K_MAX] = { 0 };
	int i;

	atomic_store(&stop, 0);
	atomic_store(&calls_done, 0);
	for (i = 0; i < nthreads; i++) {
		memset(&fz[i], 0, sizeof(fz[i]));
		fz[i].id = i;
		fz[i].phase = name;
		fz[i].r = rng_for(i + 16 * phase);
		fz[i].fd = fd;
		fz[i].fd_ro = fd_ro;
		fz[i].quota = (quota + nthreads - 1) / nthreads;
		fz[i].deadline = t0 + seconds;
		pthread_create(&ft[i], NULL, fuzz_thread, &fz[i]);
	}
	phase++;
	mut_fd = fd;
	if (chaos & 1) {
		pthread_create(&mt[0], NULL, mutator_thread, (void *)0);
		pthread_create(&mt[1], NULL, mutator_thread, (void *)1);
	}
	if (chaos & 2)
		pthread_create(&fork_t, NULL, forker_thread, (void *)(intptr_t)fd);
	if (chaos & 4)
		pthread_create(&nl_t, NULL, netlink_thread, z);
	for (i = 0; i < nthreads; i++)
		pthread_join(ft[i], NULL);
	t = now_s() - t0;
	atomic_store(&stop, 1);
	if (chaos & 1) {
		pthread_join(mt[0], NULL);
		pthread_join(mt[1], NULL);
	}
	if (chaos & 2)
		pthread_join(fork_t, NULL);
	if (chaos & 4)
		pthread_join(nl_t, NULL);

	total = atomic_load(&calls_done);
	total_calls += total;
	for (i = 0; i < nthreads; i++)
		for (int k = 0; k < K_MAX; k++) {
			ok[k] += fz[i].succeeded[k];
			spent[k] += fz[i].spent[k];
			if (fz[i].slowest[k] > slow[k])
				slow[k] = fz[i].slowest[k];
			for (int e = 0; e < 140; e++)
				hist[k][e] += fz[i].hist[k][e];
		}
	fprintf(stderr, "# ioctl %s: %ld calls in %.1f s (%.0f calls/s), %d thread(s), seed %llu\n",
		name, total, t, total / t, (int)nthreads, (unsigned long long)cfg_seed);
	for (int k = 0; k < K_MAX; k++) {
		char line[512];
		int o = snprintf(line, sizeof(line), "#   %-10s ok %ld, in the kernel %.1f s, slowest %.3f s;",
				 kind_name[k], ok[k], spent[k], slow[k]);

		for (int e = 0; e < 140 && o < (int)sizeof(line) - 24; e++)
			if (hist[k][e])
				o += snprintf(line + o, sizeof(line) - o, " %s %ld",
					      e == 139 ? "E?" : strerrorname_np(e) ?: "?", hist[k][e]);
		fprintf(stderr, "%s\n", line);
	}
	if (chaos)
		fprintf(stderr, "#   concurrently: %ld children, %ld netlink requests (%ld dumps cut in all, %ld sets)\n",
			atomic_load(&children_run) - children0, z->msgs - msgs0, z->cut, z->sets);
	if (total < quota && quota != LONG_MAX)
		fprintf(stderr, "# ioctl %s: stopped at the %ld s deadline before %ld calls\n",
			name, seconds, quota);
}

static int ioctl_worker(void)
{
	struct nl_fuzz z = { .r = rng_for(300), .restrict_memory = 1 };
	long nthreads = cfg_threads < 1 ? 1 : cfg_threads > MAX_THREADS ? MAX_THREADS : cfg_threads;
	int fd = cg_open(), fd_ro = open("/dev/cowguard", O_RDONLY | O_CLOEXEC);
	struct cowguard_stats st;
	int i, stack_var;

	main_stack = (char *)&stack_var;
	if (fd < 0 || fd_ro < 0 || nl_connect(&z.nl)) {
		fprintf(stderr, "# cannot open the device or the family: %s\n", strerror(errno));
		return 1;
	}
	if (mmap(W, W_PAGES * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != W) {
		fprintf(stderr, "# cannot map the arena: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < (int)W_PAGES; i += 3)
		W[i * PG] = (char)i;
	calibrate(fd);

	/* The storm: as many calls as fit, nothing else running. Then the
	 * chaos: the same calls, fewer of them, while other threads change
	 * the memory, fork and speak netlink.
	 */
	ioctl_phase("storm", fd, fd_ro, &z, nthreads, cfg_calls, cfg_seconds, 0);
	if (cfg_chaos && cfg_chaos_seconds > 0)
		ioctl_phase("chaos", fd, fd_ro, &z, nthreads, LONG_MAX, cfg_chaos_seconds,
			    cfg_chaos);
	fprintf(stderr, "# ioctl: %ld calls in all, seed %llu\n", total_calls,
		(unsigned long long)cfg_seed);

	/* Give everything back; the process's own figures are zero. */
	munmap(W, W_PAGES * PG);
	if (cg_stats(fd, NULL, &st))
		finding("STATS after the run: %s", strerror(errno));
	else if (st.mapped_pages || st.shadow_pages)
		finding("after munmap of everything: mapped_pages %llu shadow_pages %llu",
			(unsigned long long)st.mapped_pages, (unsigned long long)st.shadow_pages);
	close(fd);
	close(fd_ro);
	close(z.nl.fd);
	return atomic_load(&nfindings) ? 1 : 0;
}

static int netlink_worker(void)
{
	struct nl_fuzz z = { .r = rng_for(400) };
	struct module_info mi;
	double t0 = now_s(), t;
	long total = 0;

	if (nl_connect(&z.nl)) {
		fprintf(stderr, "# cannot resolve the cowguard family\n");
		return 1;
	}
	where = "netlink request";
	while (z.msgs < cfg_nl && now_s() - t0 < cfg_nl_seconds) {
		call_no = z.msgs;
		nl_fuzz_one(&z);
		if (!(++total % 4096) && !nl_get_module(&z.nl, &mi))
			check_tunables(&mi, "netlink fuzz");
	}
	t = now_s() - t0;
	fprintf(stderr, "# netlink: %ld requests in %.1f s (%.0f/s), %ld dumps cut, %ld sets (%ld accepted), seed %llu\n",
		z.msgs, t, z.msgs / t, z.cut, z.sets, z.sets_ok, (unsigned long long)cfg_seed);
	{
		char line[512];
		int o = snprintf(line, sizeof(line), "#   answers:");

		for (int e = 0; e < 140 && o < (int)sizeof(line) - 24; e++)
			if (hist_nl[e])
				o += snprintf(line + o, sizeof(line) - o, " %s %ld",
					      e == 0 ? "ok" : e == 139 ? "E?" :
					      strerrorname_np(e) ?: "?", hist_nl[e]);
		fprintf(stderr, "%s\n", line);
	}
	close(z.nl.fd);
	return atomic_load(&nfindings) ? 1 : 0;
}

/* ---- the tests ---- */

FIXTURE(fuzz) {
	struct figures start;
	struct saved_tunables saved;
};

FIXTURE_SETUP(fuzz)
{
	struct module_info mi;
	struct nl nl;

	ASSERT_EQ(0, nl_connect(&nl)) TH_LOG("the cowguard genetlink family is not there");
	ASSERT_EQ(0, nl_get_module(&nl, &mi));
	close(nl.fd);
	tunables_save(&self->saved, &mi);
	ASSERT_EQ(0, figures_read(&self->start));
	figures_print("start", &self->start);
}

FIXTURE_TEARDOWN(fuzz)
{
	struct figures end;

	EXPECT_EQ(0, tunables_restore(&self->saved));
	EXPECT_TRUE(figures_back(&self->start, &end)) {
		figures_print("start", &self->start);
		figures_print("end", &end);
		TH_LOG("the module's figures are not back to their start values");
	}
}

TEST_F_TIMEOUT(fuzz, ioctl, 280)
{
	ASSERT_EQ(0, cg_param_set(CG_PARAM("max_register_mb"), FUZZ_MAX_MB));
	EXPECT_EQ(0, run_worker(ioctl_worker));
}

TEST_F_TIMEOUT(fuzz, netlink, 280)
{
	EXPECT_EQ(0, run_worker(netlink_worker));
}

/* sysfs and netlink take the same values: one contract per tunable, and
 * what either accepts, GET_MODULE reports inside the tunable's own range.
 */
TEST_F_TIMEOUT(fuzz, tunable_contract, 120)
{
	struct rng r = rng_for(500);
	struct module_info mi;
	struct nl nl;
	char path[128];
	int bad = 0;

	ASSERT_EQ(0, nl_connect(&nl));
	ASSERT_EQ(0, nl_get_module(&nl, &mi));
	for (int i = 0; i < mi.ntun; i++) {
		const char *name = mi.tun[i].name;
		uint64_t lo = mi.tun[i].min, hi = mi.tun[i].max;
		int disagree = 0, outside = 0;
		char example[160] = "";

		snprintf(path, sizeof(path), CG_PARAM("%s"), name);
		for (int k = 0; k < 40; k++) {
			uint64_t v = k < 4 ? (uint64_t[]){ lo - 1, lo, hi, hi + 1 }[k] : edge_value(&r);
			struct module_info now;
			char val[32];
			int by_sysfs, by_nl;

			snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
			by_sysfs = cg_write_file(path, val) == 0;
			if (by_sysfs && !nl_get_module(&nl, &now) && now.tun[i].value == v &&
			    (v < lo || v > hi) && !outside++ && !example[0])
				snprintf(example, sizeof(example),
					 "sysfs takes %s, GET_MODULE then reports it outside [%llu, %llu]",
					 val, (unsigned long long)lo, (unsigned long long)hi);
			tunables_restore(&self->saved);
			by_nl = nl_set(&nl, name, v) == 0;
			tunables_restore(&self->saved);
			if (by_sysfs != by_nl && !disagree++ && !example[0])
				snprintf(example, sizeof(example), "%s: sysfs %s, netlink %s", val,
					 by_sysfs ? "accepts" : "refuses",
					 by_nl ? "accepts" : "refuses");
		}
		if (disagree || outside) {
			TH_LOG("%s: sysfs and netlink disagree on %d of 40 values, %d accepted outside its range; e.g. %s",
			       name, disagree, outside, example);
			bad++;
		}
	}
	close(nl.fd);
	EXPECT_EQ(0, bad);
}

/* A struct size that says 4 GiB of zeros follow must not be read through. */
TEST_F_TIMEOUT(fuzz, huge_sizes, 280)
{
	static const uint32_t sizes[] = { 0x10000, 0x1000000, 0xfffffff8, 0xffffffff };
	static const unsigned long cmds[] = {
		COWGUARD_IOC_REGISTER, COWGUARD_IOC_UNREGISTER, COWGUARD_IOC_STATS,
	};
	int fd = cg_open();
	char *z = mmap((char *)ZERO_ADDR + MAX_THREADS * (8UL << 30), ZERO_LEN,
		       PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
		       -1, 0);

	ASSERT_LE(0, fd);
	ASSERT_NE(MAP_FAILED, z);
	calibrate(fd);
	for (int c = 0; c < 3; c++)
		for (int s = 0; s < 4; s++) {
			double t0;
			long ret;

			*(uint32_t *)z = sizes[s];
			t0 = now_s();
			ret = ioctl(fd, cmds[c], z);
			t0 = now_s() - t0;
			TH_LOG("cmd %#lx size %#x: %ld (%s) in %.3f s", cmds[c], sizes[s], ret,
			       ret ? strerror(errno) : "ok", t0);
			EXPECT_NE(0, ret);
			EXPECT_GT(slow_ms / 1000.0, t0);
			if (t0 * 1000 > slow_ms && sizes[s] >= 0xfffffff8)
				goto out;	/* one is enough on a module that scans */
		}
out:
	munmap(z, ZERO_LEN);
	close(fd);
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? strtol(v, NULL, 0) : def;
}

static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

int main(int argc, char **argv)
{
	const char *s = getenv("CG_FUZZ_SEED");

	if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9')
		s = argv[1];
	if (s && *s) {
		cfg_seed = strtoull(s, NULL, 0);
		seed_given = 1;
	} else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		cfg_seed = (uint64_t)ts.tv_sec * 1000003 ^ ts.tv_nsec ^ getpid();
	}
	cfg_calls = env_long("CG_FUZZ_CALLS", cfg_calls);
	if (argc > 2 && argv[2][0] >= '0' && argv[2][0] <= '9')
		cfg_calls = strtol(argv[2], NULL, 0);
	cfg_nl = env_long("CG_FUZZ_NL", cfg_nl);
	cfg_seconds = env_long("CG_FUZZ_SECONDS", cfg_seconds);
	cfg_threads = env_long("CG_FUZZ_THREADS", cfg_threads);
	cfg_chaos = env_long("CG_FUZZ_CHAOS", cfg_chaos);
	cfg_chaos_seconds = env_long("CG_FUZZ_CHAOS_SECONDS", cfg_chaos_seconds);
	cfg_nl_seconds = env_long("CG_FUZZ_NL_SECONDS", cfg_nl_seconds);
	cfg_slow_ms = env_long("CG_FUZZ_SLOW_MS", cfg_slow_ms);
	printf("# seed %llu%s (replay: CG_FUZZ_SEED=%llu), %ld ioctl calls, %ld netlink requests\n",
	       (unsigned long long)cfg_seed, seed_given ? " (given)" : "",
	       (unsigned long long)cfg_seed, cfg_calls, cfg_nl);
	fflush(stdout);
	return test_harness_run(argc, argv);
}
