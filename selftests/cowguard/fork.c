// SPDX-License-Identifier: GPL-2.0
/*
 * Fork semantics: a child sees its parent's current view, shadows included,
 * at any depth; after the fork each side's writes are its own; threads
 * writing one page at once lose nothing; a shadow counts as exclusive
 * (private) only while no other process shares it.
 */
#include <pthread.h>

#include "cg_test.h"
#include "kselftest_harness.h"

FIXTURE(fork) {
	int fd;
	char *p;
	size_t n;
};

FIXTURE_SETUP(fork)
{
	self->fd = cg_open();
	ASSERT_LE(0, self->fd);
	self->n = 4;
	self->p = cg_map_filled(self->n);
	ASSERT_NE(NULL, self->p);
	ASSERT_EQ(0, cg_register(self->fd, self->p, self->n * PG));
}

FIXTURE_TEARDOWN(fork)
{
	close(self->fd);
}

TEST_F(fork, child_sees_parent_view_then_diverges)
{
	char *p = self->p;
	int go[2], done[2];
	pid_t pid;
	char c;

	p[0] = 'P';			/* a parent shadow before the fork */
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	if (!pid) {
		if (p[0] != 'P' || p[PG] != 2)
			_exit(1);
		p[PG] = 'C';		/* child writes golden page */
		p[1] = 'c';		/* and the shared shadow */
		if (write(done[1], "x", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		/* The parent wrote both pages meanwhile: not visible here. */
		_exit(p[0] == 'P' && p[1] == 'c' && p[PG] == 'C' &&
		      p[PG + 1] == 2 ? 0 : 3);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));
	EXPECT_EQ(2, p[PG]);
	EXPECT_EQ(1, p[1]);
	p[0] = 'Q';
	p[PG + 1] = 'q';
	ASSERT_EQ(1, write(go[1], "x", 1));
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ('Q', p[0]);
	EXPECT_EQ(1, p[1]);
	EXPECT_EQ(2, p[PG]);
}

/* Shadows shared at fork are private to neither side until it writes. */
TEST_F(fork, exclusive_shadows_are_the_ones_copied_since_fork)
{
	struct cowguard_stats st;
	char *p = self->p;
	int done[2];
	pid_t pid;
	char c;

	p[0] = 'a';
	p[PG] = 'b';
	p[2 * PG] = 'c';
	ASSERT_EQ(0, cg_stats(self->fd, p, &st));
	EXPECT_EQ(3, st.shadow_pages);
	EXPECT_EQ(3, st.exclusive_shadow_pages);
	ASSERT_EQ(0, pipe(done));
	pid = fork();
	if (!pid) {
		struct cowguard_stats cs;

		if (cg_stats(self->fd, p, &cs) || cs.shadow_pages != 3 ||
		    cs.exclusive_shadow_pages)
			_exit(1);
		p[1] = 'x';		/* copies the shared shadow */
		p[3 * PG] = 'y';	/* copies a golden page */
		if (cg_stats(self->fd, p, &cs) || cs.shadow_pages != 4 ||
		    cs.exclusive_shadow_pages != 2)
			_exit(2);
		_exit(write(done[1], "x", 1) == 1 ? 0 : 3);
	}
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(0, cg_stats(self->fd, p, &st));
	EXPECT_EQ(3, st.shadow_pages);
	EXPECT_EQ(0, st.exclusive_shadow_pages);
	p[PG + 1] = 'z';
	ASSERT_EQ(0, cg_stats(self->fd, p, &st));
	EXPECT_EQ(1, st.exclusive_shadow_pages);
	EXPECT_EQ(0, cg_wait(pid));
	EXPECT_EQ('a', p[0]);
	EXPECT_EQ(1, p[1]);
	EXPECT_EQ(4, p[3 * PG]);
}

TEST_F(fork, later_child_sees_later_changes)
{
	char *p = self->p;
	pid_t pid;

	pid = fork();
	if (!pid)
		_exit(p[2 * PG] == 3 ? 0 : 1);
	EXPECT_EQ(0, cg_wait(pid));
	p[2 * PG] = 'M';
	pid = fork();
	if (!pid)
		_exit(p[2 * PG] == 'M' ? 0 : 1);
	EXPECT_EQ(0, cg_wait(pid));
}

/* Each generation writes its depth and checks every ancestor's mark. */
static int descend(char *p, int depth, int max)
{
	pid_t pid;
	int i;

	for (i = 0; i < depth; i++)
		if (p[3 * PG + i] != 'a' + i)
			return 10 + i;
	p[3 * PG + depth] = 'a' + depth;
	if (depth == max)
		return 0;
	pid = fork();
	if (!pid)
		_exit(descend(p, depth + 1, max));
	i = cg_wait(pid);
	if (i)
		return i;
	/* The descendants' writes stayed theirs. */
	return p[3 * PG + depth + 1] == 4 ? 0 : 99;
}

TEST_F(fork, any_depth)
{
	EXPECT_EQ(0, descend(self->p, 0, 8));
	EXPECT_EQ('a', self->p[3 * PG]);
	EXPECT_EQ(4, self->p[3 * PG + 1]);
}

TEST_F(fork, siblings_do_not_see_each_other)
{
	char *p = self->p;
	pid_t a, b;
	int go[2];
	char c;

	ASSERT_EQ(0, pipe(go));
	a = fork();
	if (!a) {
		p[0] = 'A';
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(p[0] == 'A' ? 0 : 1);
	}
	b = fork();
	if (!b) {
		p[0] = 'B';
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(p[0] == 'B' ? 0 : 1);
	}
	ASSERT_EQ(2, write(go[1], "xx", 2));
	EXPECT_EQ(0, cg_wait(a));
	EXPECT_EQ(0, cg_wait(b));
	EXPECT_EQ(1, p[0]);
}

struct hammer {
	volatile uint64_t *words;
	int index;
	int rounds;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	int i;

	for (i = 0; i < h->rounds; i++) {
		h->words[h->index]++;			/* its own word */
		__atomic_fetch_add(&h->words[0], 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

TEST_F(fork, threads_writing_one_page_lose_nothing)
{
	enum { THREADS = 8, ROUNDS = 20000 };
	struct hammer h[THREADS];
	pthread_t t[THREADS];
	uint64_t *w;
	int i, round;

	for (round = 0; round < 3; round++) {
		w = (uint64_t *)(self->p + round * PG);
		memset(w, 0, 16 * 8);	/* a shadow already, round 0 */
		if (round == 0) {
			ASSERT_EQ(0, cg_unregister(self->fd, self->p));
			ASSERT_EQ(0, cg_register(self->fd, self->p, self->n * PG));
		}
		if (round == 2 && !fork())	/* shared shadows again */
			_exit(0);
		for (i = 0; i < THREADS; i++) {
			h[i] = (struct hammer){ w, i + 1, ROUNDS };
			ASSERT_EQ(0, pthread_create(&t[i], NULL, hammer_thread, &h[i]));
		}
		for (i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
		EXPECT_EQ((uint64_t)THREADS * ROUNDS, w[0]);
		for (i = 1; i <= THREADS; i++)
			EXPECT_EQ((uint64_t)ROUNDS, w[i]);
	}
	wait(NULL);
}

TEST_HARNESS_MAIN
