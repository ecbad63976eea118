// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test of kernel-side writes under reclaim pressure (issue 13,
 * point 1). A registered range with a slot map and a band, and a plain
 * anonymous mirror of it, get the same seeded operations: user stores,
 * refcount operations on marked slots, and writes the kernel does itself
 * into the range: read() from a pipe, from a regular file, with O_DIRECT
 * and through AIO (the guest's /tmp/scratch is 9p without a cache: these
 * take plain FOLL_GET page references and the host fills the pages later),
 * process_vm_writev() and pwrite() to /proc/PID/mem from another process.
 * Forked children check their view against the mirror and run operations
 * of their own. Meanwhile the reclaim scanner runs every millisecond and a
 * sibling loops on drop_caches (the shrinker), so shadows that differ from
 * their golden page only in band slots keep being given back: a write in
 * flight must never land in a page reclaim took away.
 *
 * After every operation the bytes it touched are compared (a slot inside
 * the band on both sides is equal whatever its value: refcount writes are
 * dropped on the registered side), and the whole range every 256.
 * Environment: CG_KWRITE_SEED (default: from the clock), CG_KWRITE_OPS
 * (default 100000), CG_KWRITE_SECS (default 240: it stops there, saying
 * so, on a kernel too slow for all of them).
 * Run: scripts/vm-run -- selftests/cowguard/kwrite
 */
#include <linux/aio_abi.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include "cg_test.h"
#include "kselftest_harness.h"

#define NPAGES		128
#define LEN		(NPAGES * PG)
#define WORDS		(LEN / 8)
#define SLOT_EVERY	8		/* one 8-byte refcount slot per 64 bytes */
#define BAND_LOW	(1ULL << 59)
#define BAND_HIGH	(1ULL << 61)
#define BAND_START	(1ULL << 60)
#define FILE_LEN	(2UL << 20)
#define MAX_IO		(256UL << 10)	/* the size of issue 13's reads */
#define PIPE_MAX	(64UL << 10)	/* a pipe's default capacity */
#define FULL_EVERY	256
#define MAX_KIDS	2
#define CHILD_OPS	32

enum op {
	OP_STORE, OP_REFCOUNT, OP_REVERT, OP_PIPE, OP_FILE, OP_DIRECT,
	OP_AIO, OP_VMWRITEV, OP_PROCMEM, OP_FORK, OP_CHECK, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"store", "refcount", "revert", "pipe read", "file read",
	"O_DIRECT read", "AIO read", "process_vm_writev", "/proc/PID/mem",
	"fork+check", "full check",
};

/* Shared with the children, so their operations count too. */
struct counters {
	unsigned long ops[NR_OPS];
	unsigned long diffs[NR_OPS];	/* operations that found a difference */
	unsigned long words;		/* differing words */
	double secs[NR_OPS];		/* the parent's time in each kind */
};

struct helper_cmd {
	int op;
	uint64_t addr;
	uint64_t len;
};

struct kw {
	uint64_t seed, rs;
	char *r, *m;			/* registered, mirror */
	char *init;			/* the bytes both started with */
	char *file;			/* what the scratch file holds */
	char *buf;			/* source of pipe data, shared with the helper */
	int fd, ffd, dfd, pfd[2], cmd[2], ack[2];
	aio_context_t aio;
	pid_t helper, parent;
	int child;
	pid_t kid[MAX_KIDS];
	int kids;
	unsigned long nop;		/* this process's operation number */
	unsigned long mine;		/* differing words this process saw */
	struct counters *c;
};

static int is_slot(size_t word)
{
	return word % SLOT_EVERY == 0;
}

static int in_band(uint64_t v)
{
	return v >= BAND_LOW && v <= BAND_HIGH;
}

/*
 * Compare [off, off + len) of both sides, count and log differences, and
 * copy the mirror's words over so that one lost write counts once.
 */
static unsigned long compare(struct kw *k, size_t off, size_t len, int op)
{
	volatile uint64_t *r = (volatile uint64_t *)k->r;
	const uint64_t *m = (const uint64_t *)k->m;
	size_t w, end = (off + len + 7) / 8;
	unsigned long n = 0;

	for (w = off / 8; w < end; w++) {
		uint64_t a, b;

		/* Equal bytes are the common case: skip them a page at a time. */
		if (w % 512 == 0 && w + 512 <= end &&
		    !memcmp(k->r + w * 8, k->m + w * 8, PG)) {
			w += 511;
			continue;
		}
		a = r[w];
		b = m[w];

		if (a == b || (is_slot(w) && in_band(a) && in_band(b)))
			continue;
		if (n++ < 4)
			fprintf(stderr, "# %s seed %lu op %lu (%s of bytes %zu+%zu): page %zu byte %zu%s: registered %#lx, mirror %#lx\n",
				k->child ? "child" : "parent", k->seed, k->nop,
				op_names[op], off, len, w * 8 / PG, w * 8 % PG,
				is_slot(w) ? " (slot)" : "", a, b);
		r[w] = b;
	}
	k->mine += n;
	if (n) {
		__atomic_fetch_add(&k->c->diffs[op], 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&k->c->words, n, __ATOMIC_RELAXED);
	}
	return n;
}

/* An 8-byte aligned range of the region, up to @max bytes. */
static void pick_range(struct kw *k, size_t max, size_t *off, size_t *len)
{
	uint64_t r = cg_rand(&k->rs);
	/* Mostly whole pages and more: what reclaim swaps is a page. */
	static const size_t sizes[] = {
		512, 2 << 10, 4 << 10, 4 << 10, 8 << 10, 8 << 10, 16 << 10, 16 << 10,
		32 << 10, 32 << 10, 64 << 10, 64 << 10, 128 << 10, 128 << 10,
		256 << 10, 256 << 10
	};
	size_t lim = sizes[(r >> 60) % 16];

	if (lim > max)
		lim = max;
	*len = 8 * (1 + (r >> 8) % (lim / 8));
	*off = 8 * ((r >> 32) % ((LEN - *len) / 8 + 1));
}

static void fill_random(struct kw *k, char *p, size_t len)
{
	uint64_t *w = (uint64_t *)p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = cg_rand(&k->rs);
}

static void refcount_op(volatile uint64_t *w, uint64_t r)
{
	switch (r % 4) {
	case 0:
		asm volatile("lock incq (%0)" : : "r"(w) : "memory", "cc");
		break;
	case 1:
		asm volatile("lock decq (%0)" : : "r"(w) : "memory", "cc");
		break;
	case 2:
		asm volatile("addq $3, (%0)" : : "r"(w) : "memory", "cc");
		break;
	default:
		asm volatile("incq (%0)" : : "r"(w) : "memory", "cc");
		break;
	}
}

/* Ask the helper to write k->buf[0, len) at r + off; its result. */
static ssize_t helper_write(struct kw *k, int op, size_t off, size_t len)
{
	struct helper_cmd cmd = { op, (uintptr_t)(k->r + off), len };
	ssize_t ret;

	if (write(k->cmd[1], &cmd, sizeof(cmd)) != sizeof(cmd) ||
	    read(k->ack[0], &ret, sizeof(ret)) != sizeof(ret))
		return -EPIPE;
	return ret;
}

static void helper_loop(struct kw *k)
{
	struct helper_cmd cmd;
	char path[64];
	ssize_t ret;
	int mem;

	snprintf(path, sizeof(path), "/proc/%d/mem", k->parent);
	mem = open(path, O_RDWR);
	while (read(k->cmd[0], &cmd, sizeof(cmd)) == sizeof(cmd)) {
		struct iovec l = { k->buf, cmd.len };
		struct iovec rv = { (void *)(uintptr_t)cmd.addr, cmd.len };

		if (cmd.op == OP_VMWRITEV)
			ret = process_vm_writev(k->parent, &l, 1, &rv, 1, 0);
		else
			ret = mem < 0 ? -EBADF : pwrite(mem, k->buf, cmd.len, cmd.addr);
		if (ret < 0)
			ret = -errno;
		if (write(k->ack[1], &ret, sizeof(ret)) != sizeof(ret))
			break;
	}
	_exit(0);
}

static ssize_t aio_read(struct kw *k, void *p, size_t len, off_t foff)
{
	struct iocb cb = {
		.aio_lio_opcode = IOCB_CMD_PREAD, .aio_fildes = k->dfd,
		.aio_buf = (uintptr_t)p, .aio_nbytes = len, .aio_offset = foff,
	};
	struct iocb *cbs[1] = { &cb };
	struct io_event ev;

	if (syscall(SYS_io_submit, k->aio, 1, cbs) != 1)
		return -errno;
	if (syscall(SYS_io_getevents, k->aio, 1, 1, &ev, NULL) != 1)
		return -errno;
	return ev.res;
}

static void run_child(struct kw *k);

static void reap(struct kw *k, int all)
{
	while (k->kids && (all || k->kids == MAX_KIDS)) {
		int st = cg_wait(k->kid[0]);

		if (st) {
			fprintf(stderr, "# child of op %lu exited with %d\n", k->nop, st);
			__atomic_fetch_add(&k->c->diffs[OP_FORK], 1, __ATOMIC_RELAXED);
		}
		memmove(k->kid, k->kid + 1, --k->kids * sizeof(pid_t));
	}
}

/* One operation on both sides, then the comparison of what it touched. */
static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void do_op(struct __test_metadata *_metadata, struct kw *k)
{
	double t0 = now();
	uint64_t r = cg_rand(&k->rs);
	unsigned int pick = r % 1000;
	size_t off = 0, len = 0, i;
	enum op op;
	ssize_t got = 0;
	off_t foff;

	/* Kernel writes through 9p cost the most under TCG: about one in ten
	 * operations, still thousands of reads into shadows reclaim takes.
	 */
	if (pick < 380)
		op = OP_STORE;
	else if (pick < 700)
		op = OP_REFCOUNT;
	else if (pick < 770)
		op = OP_REVERT;
	else if (pick < 830)
		op = OP_PIPE;
	else if (pick < 880)
		op = OP_FILE;
	else if (pick < 905)
		op = OP_DIRECT;
	else if (pick < 920)
		op = OP_AIO;
	else if (pick < 955)
		op = OP_VMWRITEV;
	else if (pick < 990)
		op = OP_PROCMEM;
	else if (pick < 995)
		op = OP_FORK;
	else
		op = OP_CHECK;
	/* A child has no helper, AIO context or pipe of its own. */
	if (k->child && (op == OP_VMWRITEV || op == OP_PROCMEM || op == OP_AIO ||
			 op == OP_PIPE || op == OP_FORK))
		op = OP_FILE;
	if (op == OP_DIRECT && k->dfd < 0)
		op = OP_FILE;
	if (op == OP_AIO && (k->dfd < 0 || !k->aio))
		op = OP_FILE;
	k->nop++;

	switch (op) {
	case OP_STORE:
		/* Bytes of plain words only: slots change as whole words. */
		off = (r >> 12) % (LEN - 64);
		len = 1 + (r >> 40) % 64;
		for (i = 0; i < len; i++) {
			if (!is_slot((off + i) / 8)) {
				char v = (char)cg_rand(&k->rs);

				k->r[off + i] = v;
				k->m[off + i] = v;
			}
		}
		break;
	case OP_REFCOUNT:
		off = ((r >> 12) % (WORDS / SLOT_EVERY)) * SLOT_EVERY * 8;
		len = 8;
		refcount_op((volatile uint64_t *)(k->r + off), r >> 40);
		refcount_op((volatile uint64_t *)(k->m + off), r >> 40);
		break;
	case OP_REVERT:
		/* Back to the first bytes, plus a refcount write: a shadow that
		 * reclaim may take, which kernel writes then hit.
		 */
		off = (r >> 12) % NPAGES * PG;
		len = (1 + (r >> 40) % 4) * PG;
		if (off + len > LEN)
			len = LEN - off;
		memcpy(k->r + off, k->init + off, len);
		memcpy(k->m + off, k->init + off, len);
		for (i = off; i < off + len; i += PG) {
			refcount_op((volatile uint64_t *)(k->r + i), 0);
			refcount_op((volatile uint64_t *)(k->m + i), 0);
		}
		break;
	case OP_PIPE:
		pick_range(k, PIPE_MAX, &off, &len);
		fill_random(k, k->buf, len);
		ASSERT_EQ((ssize_t)len, write(k->pfd[1], k->buf, len));
		for (i = 0; i < len; i += got) {
			got = read(k->pfd[0], k->r + off + i, len - i);
			ASSERT_LT(0, got) TH_LOG("pipe read: %s", strerror(errno));
		}
		memcpy(k->m + off, k->buf, len);
		break;
	case OP_FILE:
	case OP_DIRECT:
	case OP_AIO:
		pick_range(k, MAX_IO, &off, &len);
		if (!k->child && (r >> 52) % 4 == 0) {
			/* New bytes in the file now and then, in its second
			 * half: children read only the first, which stays as
			 * their copy of k->file says.
			 */
			foff = FILE_LEN / 2 + 8 * ((r >> 20) % ((FILE_LEN / 2 - len) / 8 + 1));
			fill_random(k, k->file + foff, len);
			ASSERT_EQ((ssize_t)len, pwrite(k->ffd, k->file + foff, len, foff));
		} else {
			size_t span = k->child ? FILE_LEN / 2 : FILE_LEN;

			foff = 8 * ((r >> 20) % ((span - len) / 8 + 1));
		}
		if (op == OP_FILE)
			got = pread(k->ffd, k->r + off, len, foff);
		else if (op == OP_DIRECT)
			got = pread(k->dfd, k->r + off, len, foff);
		else
			got = aio_read(k, k->r + off, len, foff);
		ASSERT_EQ((ssize_t)len, got) TH_LOG("%s of %zu: %s", op_names[op], len,
						    strerror(got < 0 ? (int)-got : 0));
		memcpy(k->m + off, k->file + foff, len);
		break;
	case OP_VMWRITEV:
	case OP_PROCMEM:
		pick_range(k, MAX_IO, &off, &len);
		fill_random(k, k->buf, len);
		got = helper_write(k, op, off, len);
		ASSERT_EQ((ssize_t)len, got) TH_LOG("%s of %zu: %s", op_names[op], len,
						    strerror(got < 0 ? (int)-got : 0));
		memcpy(k->m + off, k->buf, len);
		break;
	case OP_FORK: {
		pid_t pid;

		reap(k, 0);
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			run_child(k);
		k->kid[k->kids++] = pid;
		off = 0;
		len = LEN;
		break;
	}
	case OP_CHECK:
		off = 0;
		len = LEN;
		break;
	case NR_OPS:
		break;
	}
	__atomic_fetch_add(&k->c->ops[op], 1, __ATOMIC_RELAXED);
	compare(k, off, len, op);
	if (k->nop % FULL_EVERY == 0)
		compare(k, 0, LEN, OP_CHECK);
	if (!k->child)
		k->c->secs[op] += now() - t0;
}

/* A forked child: its view must be the mirror, before and after its own
 * operations. Exits 1 on any difference.
 */
static void run_child(struct kw *k)
{
	struct __test_metadata meta = { .name = "child", .passed = 1 };
	int i;

	k->child = 1;
	k->kids = 0;
	k->mine = 0;
	k->rs ^= 0x9e3779b97f4a7c15ULL * (k->nop + 1);
	if (setjmp(meta.env))
		_exit(2);	/* a failed ASSERT in do_op() */
	compare(k, 0, LEN, OP_FORK);
	for (i = 0; i < CHILD_OPS; i++)
		do_op(&meta, k);
	compare(k, 0, LEN, OP_FORK);
	_exit(!meta.passed || k->mine);
}

static unsigned long ops_done(struct kw *k)
{
	unsigned long n = 0;
	int op;

	for (op = 0; op < NR_OPS; op++)
		n += __atomic_load_n(&k->c->ops[op], __ATOMIC_RELAXED);
	return n;
}

static int register_slots(int fd, char *mem)
{
	static uint8_t map[WORDS / 8];
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)mem, .length = LEN,
		.slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map), .trap_budget = 1,
		.trap_refill_ms = COWGUARD_REFILL_NEVER,
		.band_low = BAND_LOW, .band_high = BAND_HIGH,
	};
	size_t i;

	for (i = 0; i < WORDS; i += SLOT_EVERY)
		map[i / 8] |= 1 << (i % 8);
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? -errno : 0;
}

/* The mount line of the scratch directory, for the log. */
static void log_mount(const char *dir)
{
	char line[512], dev[128], mnt[256];
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %255s", dev, mnt) == 2 && !strcmp(mnt, dir))
			fprintf(stderr, "# %s", line);
	fclose(f);
}

static void *map_anon(size_t len, int shared)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

FIXTURE(kwrite) {
	long interval;
	pid_t dropper;
	char path[128];
};

FIXTURE_SETUP(kwrite)
{
	self->interval = cg_param_read(CG_PARAM("reclaim_interval_ms"));
	ASSERT_LE(0, self->interval);
	ASSERT_EQ(0, cg_param_set(CG_PARAM("reclaim_interval_ms"), 1));
	self->dropper = cg_dropper_start("2");
	ASSERT_LT(0, self->dropper);
	snprintf(self->path, sizeof(self->path), "/tmp/scratch/cg-kwrite.%d", getpid());
}

FIXTURE_TEARDOWN(kwrite)
{
	cg_dropper_stop(self->dropper);
	cg_param_set(CG_PARAM("reclaim_interval_ms"), self->interval);
	unlink(self->path);
}

TEST_F_TIMEOUT(kwrite, kernel_writes_differential, 900)
{
	const char *env_seed = getenv("CG_KWRITE_SEED");
	const char *env_ops = getenv("CG_KWRITE_OPS");
	const char *env_secs = getenv("CG_KWRITE_SECS");
	unsigned long nops = env_ops ? strtoul(env_ops, NULL, 0) : 100000;
	/* Inside run-tests' 300 s per binary, and the debug kernel is slower. */
	double secs = env_secs ? atof(env_secs) : cg_debug_kernel() ? 90 : 240;
	double deadline = now() + secs;
	unsigned long total = 0, diffs = 0, n;
	struct kw kk = { .dfd = -1 }, *k = &kk;
	struct cowguard_stats st;
	struct timespec t0, t1;
	size_t i;
	int op;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	k->seed = env_seed ? strtoull(env_seed, NULL, 0) :
		  (uint64_t)t0.tv_nsec ^ ((uint64_t)t0.tv_sec << 20) ^ getpid();
	k->rs = k->seed * 0x9e3779b97f4a7c15ULL + 1;
	TH_LOG("seed %lu (CG_KWRITE_SEED=%lu to repeat), %lu operations", k->seed,
	       k->seed, nops);
	/* 9p shows no cache= option (and "sync") when it has no cache: then
	 * every read below goes to the host through pages it holds by
	 * reference, as in issue 13.
	 */
	log_mount("/tmp/scratch");

	k->c = map_anon(sizeof(*k->c), 1);
	k->buf = map_anon(MAX_IO, 1);
	k->init = map_anon(LEN, 0);
	k->file = map_anon(FILE_LEN, 0);
	k->m = map_anon(LEN, 0);
	k->r = map_anon(LEN, 0);
	ASSERT_NE(NULL, k->c);
	ASSERT_NE(NULL, k->buf);
	ASSERT_NE(NULL, k->init);
	ASSERT_NE(NULL, k->file);
	ASSERT_NE(NULL, k->m);
	ASSERT_NE(NULL, k->r);
	fill_random(k, k->init, LEN);
	for (i = 0; i < WORDS; i += SLOT_EVERY)
		((uint64_t *)k->init)[i] = BAND_START + i;
	memcpy(k->r, k->init, LEN);
	memcpy(k->m, k->init, LEN);
	fill_random(k, k->file, FILE_LEN);

	k->ffd = open(self->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, k->ffd) TH_LOG("%s: %s", self->path, strerror(errno));
	ASSERT_EQ((ssize_t)FILE_LEN, pwrite(k->ffd, k->file, FILE_LEN, 0));
	k->dfd = open(self->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (k->dfd < 0)
		TH_LOG("no O_DIRECT on the scratch dir (%s): those reads are plain",
		       strerror(errno));
	if (syscall(SYS_io_setup, 4, &k->aio)) {
		TH_LOG("no AIO (%s)", strerror(errno));
		k->aio = 0;
	}
	ASSERT_EQ(0, pipe(k->pfd));
	ASSERT_EQ(0, pipe(k->cmd));
	ASSERT_EQ(0, pipe(k->ack));
	k->parent = getpid();
	/* Forked before registering: it shares no view with us. */
	k->helper = fork();
	ASSERT_LE(0, k->helper);
	if (!k->helper)
		helper_loop(k);

	k->fd = cg_open();
	ASSERT_LE(0, k->fd);
	ASSERT_EQ(0, register_slots(k->fd, k->r));

	/* The children's operations count too. */
	for (n = 0; ops_done(k) < nops && _metadata->passed; n++) {
		do_op(_metadata, k);
		if (n % 1024 == 0 && now() > deadline) {
			TH_LOG("stopped after %lu of %lu operations: CG_KWRITE_SECS=%.0f s passed (a slow kernel)",
			       ops_done(k), nops, secs);
			break;
		}
	}
	reap(k, 1);
	compare(k, 0, LEN, OP_CHECK);
	ASSERT_EQ(0, cg_stats(k->fd, k->r, &st));

	for (op = 0; op < NR_OPS; op++) {
		TH_LOG("%-18s %7lu operations, %lu differences, %.1f s", op_names[op],
		       k->c->ops[op], k->c->diffs[op], k->c->secs[op]);
		total += k->c->ops[op];
		diffs += k->c->diffs[op];
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("seed %lu: %lu operations, %lu differences (%lu words), %llu shadows reclaimed, %llu copied again, %.1f s",
	       k->seed, total, diffs, k->c->words, st.reclaimed, st.reshadowed,
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	kill(k->helper, SIGKILL);
	cg_wait(k->helper);
	munmap(k->r, LEN);
	close(k->fd);
	if (k->aio)
		syscall(SYS_io_destroy, k->aio);
	EXPECT_EQ(0, diffs);
	/* Reclaim must really have raced the writes, the shrinker too. */
	EXPECT_LT(0, st.reclaimed);
	EXPECT_EQ(0, cg_dropper_stop(self->dropper));
	self->dropper = 0;
	EXPECT_EQ(0, cg_live_pages());
}

TEST_HARNESS_MAIN
