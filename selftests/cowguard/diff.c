// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized differential test: the same seeded program of writes, forks
 * and early exits runs once on registered memory and once on plain
 * anonymous memory; every process must end with identical bytes.
 */
#include "cg_test.h"
#include "kselftest_harness.h"

#define PAGES		16
#define MAX_IDS		4096	/* ids: parent * 8 + child index + 1 */
#define STEPS		160

struct results {
	uint64_t hash[MAX_IDS];
	uint8_t done[MAX_IDS];
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

static void run(char *mem, struct results *res, uint64_t seed, unsigned int id,
		int depth)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + id * 7919 + 1;
	unsigned int children = 0, step;
	pid_t kids[8];

	for (step = 0; step < STEPS; step++) {
		uint64_t r = next_rand(&s);
		unsigned int op = r % 100;

		if (op < 4 && depth < 3 && children < 8) {
			unsigned int cid = id * 8 + children + 1;
			pid_t pid = fork();

			if (pid == 0) {
				run(mem, res, seed, cid, depth + 1);
				_exit(0);
			}
			kids[children++] = pid;
		} else if (op < 5 && id) {
			break;				/* exit early */
		} else if (op < 10) {
			memset(mem + (r >> 8) % PAGES * PG, (int)(r >> 32), PG);
		} else {
			size_t off = (r >> 8) % (PAGES * PG - 64);
			size_t len = 1 + (r >> 40) % 64, i;

			for (i = 0; i < len; i++)
				mem[off + i] = (char)next_rand(&s);
		}
	}
	res->hash[id] = fnv((unsigned char *)mem, PAGES * PG);
	res->done[id] = 1;
	while (children)
		waitpid(kids[--children], NULL, 0);
}

static void run_program(struct __test_metadata *_metadata, uint64_t seed,
			int fd, struct results *res)
{
	char *mem = cg_map_filled(PAGES);
	pid_t pid;

	ASSERT_NE(NULL, mem);
	if (fd >= 0)
		ASSERT_EQ(0, cg_register(fd, mem, PAGES * PG));
	memset(res, 0, sizeof(*res));
	pid = fork();
	if (pid == 0) {
		run(mem, res, seed, 0, 0);
		_exit(0);
	}
	ASSERT_EQ(0, cg_wait(pid));
	munmap(mem, PAGES * PG);
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
	struct results *a, *b;
	uint64_t seed, seeds = 24;
	int fd = cg_open(), id, procs;
	const char *env = getenv("CG_DIFF_SEEDS");

	ASSERT_LE(0, fd);
	if (env)
		seeds = strtoull(env, NULL, 0);
	a = mmap(NULL, sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	b = mmap(NULL, sizeof(*b), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	for (seed = 1; seed <= seeds; seed++) {
		run_program(_metadata, seed, fd, a);
		run_program(_metadata, seed, -1, b);
		for (id = 0, procs = 0; id < MAX_IDS; id++) {
			procs += a->done[id];
			ASSERT_EQ(b->done[id], a->done[id]) TH_LOG("seed %lu id %d", seed, id);
			ASSERT_EQ(b->hash[id], a->hash[id]) TH_LOG("seed %lu id %d", seed, id);
		}
		TH_LOG("seed %lu: %d processes identical", seed, procs);
		ASSERT_EQ(0, cg_live_pages());
	}
	close(fd);
}

TEST_HARNESS_MAIN
