// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized differential test: the same seeded program of writes, forks
 * and early exits runs once on registered memory and once on plain
 * anonymous memory; every process must end with identical bytes.
 *
 * The refcount variant marks one word in eight as a refcount slot holding
 * a band value and adds refcount operations (every whitelisted form) on
 * those slots, whole-word stores that take a slot out of the band, and
 * page-wide memsets. Refcount writes are dropped on registered memory and
 * land on plain memory, so a slot that is inside the band on both sides
 * compares equal whatever its value; every other byte must be identical.
 */
#include "cg_test.h"
#include "kselftest_harness.h"

#define PAGES		16
#define MAX_IDS		4096	/* ids: parent * 8 + child index + 1 */
#define STEPS		160
#define SLOT_EVERY	8		/* one 8-byte refcount slot per 64 bytes */
#define BAND_LOW	(1ULL << 59)
#define BAND_HIGH	(1ULL << 61)
#define BAND_START	(1ULL << 60)

struct results {
	uint64_t hash[MAX_IDS];
	uint64_t emulated[MAX_IDS];
	uint64_t reclaimed[MAX_IDS];
	uint64_t capped[MAX_IDS];
	uint8_t done[MAX_IDS];
};

struct program {
	uint64_t seed;
	int refcounts;		/* the refcount variant */
	int pauses;		/* quiet moments for the reclaim scanner */
	int fd;			/* /dev/cowguard on the registered side, else -1 */
	char *mem;
	struct results *res;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

static int is_slot(size_t word)
{
	return word % SLOT_EVERY == 0;
}

/* One refcount operation, in one of the whitelisted forms, on slot w. */
static void refcount_op(volatile uint64_t *w, uint64_t r)
{
	uint64_t v = 1 + (r >> 20) % 5;

	switch ((r >> 8) % 9) {
	case 0:
		asm volatile("lock incq (%0)" : : "r"(w) : "memory", "cc");
		break;
	case 1:
		asm volatile("lock decq (%0)" : : "r"(w) : "memory", "cc");
		break;
	case 2:
		asm volatile("lock addq %1, (%0)" : : "r"(w), "r"(v) : "memory", "cc");
		break;
	case 3:
		asm volatile("subq %1, (%0)" : : "r"(w), "r"(v) : "memory", "cc");
		break;
	case 4:
		asm volatile("addq $7, (%0)" : : "r"(w) : "memory", "cc");
		break;
	case 5:
		asm volatile("lock xaddq %0, (%1)" : "+r"(v) : "r"(w) : "memory", "cc");
		break;
	case 6:
		asm volatile("incq 8(%0)" : : "r"(w - 1) : "memory", "cc");
		break;
	case 7:
		asm volatile("lock decq (%0,%1,8)" : : "r"(w - 2), "r"(2UL) : "memory", "cc");
		break;
	default:
		/* A plain store of the value read plus one: mov from a register. */
		v = *w + 1;
		asm volatile("movq %1, (%0)" : : "r"(w), "r"(v) : "memory");
		break;
	}
}

/* A slot inside the band hashes as one value: its writes may be dropped. */
static uint64_t hash_memory(const struct program *prog)
{
	const uint64_t *w = (const uint64_t *)prog->mem;
	uint64_t h = 0xcbf29ce484222325ULL, v;
	size_t i;

	if (!prog->refcounts)
		return fnv((const unsigned char *)prog->mem, PAGES * PG);
	for (i = 0; i < PAGES * PG / 8; i++) {
		v = w[i];
		if (is_slot(i) && v >= BAND_LOW && v <= BAND_HIGH)
			v = BAND_START;
		h = (h ^ v) * 0x100000001b3ULL;
	}
	return h;
}

static void run(const struct program *prog, unsigned int id, int depth)
{
	uint64_t s = prog->seed * 0x9e3779b97f4a7c15ULL + id * 7919 + 1;
	volatile uint64_t *words = (volatile uint64_t *)prog->mem;
	char *mem = prog->mem;
	unsigned int children = 0, step;
	struct cowguard_stats st;
	pid_t kids[8];

	for (step = 0; step < STEPS; step++) {
		uint64_t r = next_rand(&s);
		unsigned int op = r % 100;
		size_t word = (r >> 16) % (PAGES * PG / 8 / SLOT_EVERY) * SLOT_EVERY;
		/* With pauses, other writes keep to the first quarter, so the
		 * rest holds refcount-only shadows for the scanner to take.
		 */
		size_t pages = prog->pauses ? PAGES / 4 : PAGES;
		size_t plain_word = word % (pages * PG / 8);

		if (op < 4 && depth < 3 && children < 8) {
			unsigned int cid = id * 8 + children + 1;
			pid_t pid = fork();

			if (pid == 0) {
				run(prog, cid, depth + 1);
				_exit(0);
			}
			kids[children++] = pid;
		} else if (op < 5 && id) {
			break;				/* exit early */
		} else if (prog->pauses && op == 99) {
			usleep(3000);
		} else if (op < 10) {
			memset(mem + (r >> 8) % pages * PG, (int)(r >> 32), PG);
		} else if (prog->refcounts && op < 50) {
			refcount_op(words + word, r);
		} else if (prog->refcounts && op < 53) {
			words[plain_word] = (r >> 24) % 3;	/* out of the band */
		} else {
			size_t off = (r >> 8) % (pages * PG - 64);
			size_t len = 1 + (r >> 40) % 64, i;

			/* Slots change only as whole words (the contract). */
			for (i = 0; i < len; i++)
				if (!prog->refcounts || !is_slot((off + i) / 8))
					mem[off + i] = (char)next_rand(&s);
		}
	}
	if (prog->pauses)
		usleep(3000);
	prog->res->hash[id] = hash_memory(prog);
	if (prog->fd >= 0 && !cg_stats(prog->fd, mem, &st)) {
		prog->res->emulated[id] = st.emulated;
		prog->res->reclaimed[id] = st.reclaimed;
		prog->res->capped[id] = st.capped;
	}
	prog->res->done[id] = 1;
	while (children)
		waitpid(kids[--children], NULL, 0);
}

/* Register with one slot in SLOT_EVERY words marked, holding band values. */
static int register_slots(int fd, char *mem, unsigned int budget,
			  unsigned int cap)
{
	static uint8_t map[PAGES * PG / 8 / 8];
	struct cowguard_register r = {
		.size = sizeof(r), .start = (uintptr_t)mem, .length = PAGES * PG,
		.slot_width = 8, .slot_map = (uintptr_t)map,
		.slot_map_len = sizeof(map), .trap_budget = budget,
		.shadow_cap = cap, .band_low = BAND_LOW, .band_high = BAND_HIGH,
	};
	size_t i;

	for (i = 0; i < PAGES * PG / 8; i++) {
		if (is_slot(i)) {
			((uint64_t *)mem)[i] = BAND_START + i;
			map[i / 8] |= 1 << (i % 8);
		}
	}
	return ioctl(fd, COWGUARD_IOC_REGISTER, &r) ? -errno : 0;
}

static void run_program(struct __test_metadata *_metadata,
			struct program *prog, int fd, struct results *res)
{
	pid_t pid;

	prog->mem = cg_map_filled(PAGES);
	prog->res = res;
	prog->fd = fd;
	ASSERT_NE(NULL, prog->mem);
	if (prog->refcounts) {
		/* Odd seeds exhaust a small trap budget, even ones the
		 * default; one seed in four has a budget of one write and
		 * lets a process copy one page for it (the shadow cap).
		 */
		bool capped = prog->seed % 4 == 1;
		unsigned int budget = capped ? 1 : prog->seed % 2 ? 3 : 0;
		unsigned int cap = capped ? 1 : 0;
		size_t i;

		if (fd >= 0) {
			ASSERT_EQ(0, register_slots(fd, prog->mem, budget, cap));
		} else {
			for (i = 0; i < PAGES * PG / 8; i += SLOT_EVERY)
				((uint64_t *)prog->mem)[i] = BAND_START + i;
		}
	} else if (fd >= 0) {
		ASSERT_EQ(0, cg_register(fd, prog->mem, PAGES * PG));
	}
	memset(res, 0, sizeof(*res));
	pid = fork();
	if (pid == 0) {
		run(prog, 0, 0);
		_exit(0);
	}
	ASSERT_EQ(0, cg_wait(pid));
	munmap(prog->mem, PAGES * PG);
}

static void compare_runs(struct __test_metadata *_metadata, int refcounts,
			 int reclaim)
{
	struct program prog = { .refcounts = refcounts, .pauses = reclaim };
	struct results *a, *b;
	uint64_t seeds = 24, emulated, reclaimed, capped;
	uint64_t all_reclaimed = 0, all_capped = 0;
	int fd = cg_open(), id, procs;
	const char *env = getenv("CG_DIFF_SEEDS");

	ASSERT_LE(0, fd);
	if (env)
		seeds = strtoull(env, NULL, 0);
	a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	for (prog.seed = 1; prog.seed <= seeds; prog.seed++) {
		run_program(_metadata, &prog, fd, a);
		run_program(_metadata, &prog, -1, b);
		emulated = reclaimed = capped = 0;
		for (id = 0, procs = 0; id < MAX_IDS; id++) {
			procs += a->done[id];
			capped += a->capped[id];
			emulated += a->emulated[id];
			reclaimed += a->reclaimed[id];
			ASSERT_EQ(b->done[id], a->done[id])
				TH_LOG("seed %lu id %d", prog.seed, id);
			ASSERT_EQ(b->hash[id], a->hash[id])
				TH_LOG("seed %lu id %d", prog.seed, id);
		}
		TH_LOG("seed %lu: %d processes identical, %lu refcount writes dropped (%lu past the shadow cap), %lu shadows reclaimed",
		       prog.seed, procs, emulated, capped, reclaimed);
		all_reclaimed += reclaimed;
		all_capped += capped;
		/* The refcount variant must really have dropped writes. */
		if (refcounts)
			ASSERT_LT(0, emulated);
		ASSERT_EQ(0, cg_live_pages());
	}
	/* With the scanner running all the time, it must have done work. */
	if (reclaim)
		ASSERT_LT(0, all_reclaimed);
	/* The capped seeds must have gone past their cap. */
	if (refcounts && seeds >= 5)
		ASSERT_LT(0, all_capped);
	munmap(a, sizeof(*a));
	munmap(b, sizeof(*b));
	close(fd);
}

FIXTURE(diff) {
	int unused;
};

FIXTURE_SETUP(diff)
{
}

FIXTURE_TEARDOWN(diff)
{
}

TEST_F_TIMEOUT(diff, differential, 600)
{
	compare_runs(_metadata, 0, 0);
}

TEST_F_TIMEOUT(diff, differential_refcounts, 600)
{
	compare_runs(_metadata, 1, 0);
}

#define RECLAIM_PARAM	"/sys/module/cowguard/parameters/reclaim_interval_ms"

static int set_reclaim_interval(const char *ms)
{
	int fd = open(RECLAIM_PARAM, O_WRONLY), ok;

	if (fd < 0)
		return -errno;
	ok = write(fd, ms, strlen(ms)) == (ssize_t)strlen(ms);
	close(fd);
	return ok ? 0 : -EIO;
}

/* The scanner runs every millisecond, racing every writer and fork. */
TEST_F_TIMEOUT(diff, differential_refcounts_reclaim, 600)
{
	char old[32] = "";
	int fd = open(RECLAIM_PARAM, O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, old, sizeof(old) - 1));
	close(fd);
	ASSERT_EQ(0, set_reclaim_interval("1"));
	compare_runs(_metadata, 1, 1);
	set_reclaim_interval(old);
}

TEST_HARNESS_MAIN
