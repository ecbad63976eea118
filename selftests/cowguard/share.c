// SPDX-License-Identifier: GPL-2.0
/*
 * Sharing measured with standard tools: a registered 256 MiB heap read by 4
 * forked readers stays one copy in memory (MemAvailable), and smaps shows
 * the sharing honestly (Pss about Rss / 5, no Private_Dirty).
 */
#include "cg_test.h"
#include "kselftest_harness.h"

#define HEAP_MB		256
#define READERS		4

FIXTURE(share) {
	int unused;
};

FIXTURE_SETUP(share)
{
}

FIXTURE_TEARDOWN(share)
{
}

TEST_F_TIMEOUT(share, heap_stays_one_copy, 600)
{
	size_t len = (size_t)HEAP_MB << 20, i;
	int fd = cg_open(), ready[2], go[2], r;
	long avail_before, avail_after, rss, pss, priv;
	pid_t pids[READERS];
	char *heap, c;

	ASSERT_LE(0, fd);
	heap = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, heap);
	for (i = 0; i < len; i += PG)
		memset(heap + i, (int)(i / PG), PG);
	ASSERT_EQ(0, cg_register(fd, heap, len));
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(go));
	avail_before = cg_meminfo_kb("MemAvailable");
	for (r = 0; r < READERS; r++) {
		pids[r] = fork();
		if (!pids[r]) {
			unsigned long sum = 0;

			for (i = 0; i < len; i += PG)
				sum += (unsigned char)heap[i + 17];
			if (write(ready[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
				_exit(2);
			_exit(sum ? 0 : 1);
		}
	}
	for (r = 0; r < READERS; r++)
		ASSERT_EQ(1, read(ready[0], &c, 1));
	avail_after = cg_meminfo_kb("MemAvailable");
	rss = cg_smaps_kb(pids[0], heap, len, "Rss");
	pss = cg_smaps_kb(pids[0], heap, len, "Pss");
	priv = cg_smaps_kb(pids[0], heap, len, "Private_Dirty");
	TH_LOG("MemAvailable %ld -> %ld kB with %d readers; reader Rss %ld Pss %ld Private_Dirty %ld kB",
	       avail_before, avail_after, READERS, rss, pss, priv);
	/* Four private copies would cost 1 GiB; allow page tables and slack. */
	EXPECT_LT(avail_before - avail_after, (long)(HEAP_MB << 10) / 8);
	EXPECT_EQ((long)HEAP_MB << 10, rss);
	EXPECT_LT(pss, rss / 3);
	EXPECT_EQ(0, priv);
	ASSERT_EQ(READERS, write(go[1], "xxxx", READERS));
	for (r = 0; r < READERS; r++)
		EXPECT_EQ(0, cg_wait(pids[r]));
	munmap(heap, len);
	EXPECT_EQ(0, cg_live_pages());
	close(fd);
}

TEST_HARNESS_MAIN
