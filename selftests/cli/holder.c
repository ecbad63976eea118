// SPDX-License-Identifier: GPL-2.0
/*
 * holder DIR CHILDREN: a live registration for the cowguard(8) tests.
 *
 * Registers 32 pages whose 64-byte objects start with an 8-byte refcount
 * slot (trap budget 4), forks CHILDREN children and has child c (1-based)
 *  - bump the refcount of page 0 ten times: 4 emulated, then the budget
 *    runs out and the page is copied;
 *  - bump one refcount on each of pages 1..8: emulated;
 *  - write a word that is not a slot on c pages: c copies.
 * Each process then writes its own COWGUARD_IOC_STATS figures to
 * DIR/stats.PID, as "name value" lines, and DIR/ready appears when all
 * have. The processes then stay idle (no more faults) until SIGTERM.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cowguard.h>

#define PAGES		32
#define OBJ_SIZE	64
#define BAND_LOW	(1ULL << 59)
#define BAND_HIGH	((1ULL << 61) - 1)
#define REFCNT		(1ULL << 60)
#define MAX_CHILDREN	64

static size_t page_size;

/* The instructions cowguard(8) must name: keep them in their functions. */
__attribute__((noinline)) void bump_refcount(volatile uint64_t *slot)
{
	__asm__ volatile("incq %0" : "+m" (*slot));
}

__attribute__((noinline)) void write_word(volatile uint64_t *word)
{
	*word = 0x4242;
}

static int write_stats(const char *dir, int fd, const void *start)
{
	struct cowguard_stats st;
	char path[4096];
	FILE *f;
	int i, ret = cowguard_stats(fd, start, &st);

	if (ret < 0) {
		fprintf(stderr, "holder: cowguard_stats: %s\n",
			cowguard_strerror(COWGUARD_OP_STATS, ret));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/stats.%d", dir, (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "pid %d\n", (int)getpid());
	fprintf(f, "mapped_pages %" PRIu64 "\n", (uint64_t)st.mapped_pages);
	fprintf(f, "shadow_pages %" PRIu64 "\n", (uint64_t)st.shadow_pages);
	fprintf(f, "read_faults %" PRIu64 "\n", (uint64_t)st.read_faults);
	fprintf(f, "shadow_faults %" PRIu64 "\n", (uint64_t)st.shadow_faults);
	fprintf(f, "write_faults %" PRIu64 "\n", (uint64_t)st.write_faults);
	fprintf(f, "emulated %" PRIu64 "\n", (uint64_t)st.emulated);
	fprintf(f, "budget_shadows %" PRIu64 "\n", (uint64_t)st.budget_shadows);
	fprintf(f, "reclaimed %" PRIu64 "\n", (uint64_t)st.reclaimed);
	fprintf(f, "reshadowed %" PRIu64 "\n", (uint64_t)st.reshadowed);
	fprintf(f, "budget_shadow_pages %" PRIu64 "\n",
		(uint64_t)st.budget_shadow_pages);
	fprintf(f, "capped %" PRIu64 "\n", (uint64_t)st.capped);
	fprintf(f, "exclusive_shadow_pages %" PRIu64 "\n",
		(uint64_t)st.exclusive_shadow_pages);
	for (i = 0; i < __COWGUARD_REFUSE_MAX; i++)
		fprintf(f, "refused.%d %" PRIu64 "\n", i, (uint64_t)st.refused[i]);
	fprintf(f, "reg_id %" PRIu64 "\n", (uint64_t)st.reg_id);
	fprintf(f, "reg_start %" PRIu64 "\n", (uint64_t)st.reg_start);
	fprintf(f, "reg_length %" PRIu64 "\n", (uint64_t)st.reg_length);
	fprintf(f, "reg_golden_pages %" PRIu64 "\n", (uint64_t)st.reg_golden_pages);
	fprintf(f, "reg_processes %" PRIu64 "\n", (uint64_t)st.reg_processes);
	return fclose(f) ? -1 : 0;
}

static int child(const char *dir, int fd, unsigned char *buf, int c, int ready)
{
	int i;

	for (i = 0; i < 10; i++)
		bump_refcount((uint64_t *)buf);
	for (i = 1; i <= 8; i++)
		bump_refcount((uint64_t *)(buf + i * page_size));
	for (i = 0; i < c; i++)
		write_word((uint64_t *)(buf + (10 + i) * page_size + 8));
	if (write_stats(dir, fd, buf))
		return 1;
	if (write(ready, "x", 1) != 1)
		return 1;
	for (;;)
		pause();
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct cowguard_region region = { 0 };
	pid_t kids[MAX_CHILDREN];
	int fd, n, i, ret, pipefd[2], status = 0;
	unsigned char *buf;
	size_t map_len, off, length;
	char path[4096], x;
	uint8_t *map;
	uint64_t id;
	FILE *f;

	if (argc != 3 || (n = atoi(argv[2])) < 1 || n > MAX_CHILDREN) {
		fprintf(stderr, "Usage: holder DIR CHILDREN (1..%d)\n", MAX_CHILDREN);
		return 2;
	}
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	length = PAGES * page_size;
	signal(SIGTERM, on_term);
	fd = cowguard_open(0);
	if (fd < 0) {
		fprintf(stderr, "holder: %s\n", cowguard_strerror(COWGUARD_OP_OPEN, fd));
		return 1;
	}
	buf = mmap(NULL, length, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	map_len = cowguard_slot_map_len(length, 8);
	map = calloc(map_len, 1);
	if (buf == MAP_FAILED || !map || pipe(pipefd))
		return 1;
	for (off = 0; off < length; off += OBJ_SIZE) {
		*(uint64_t *)(buf + off) = REFCNT;
		cowguard_slot_mark(map, length, off, 8);
	}
	region.start = buf;
	region.length = length;
	region.slot_map = map;
	region.slot_map_len = map_len;
	region.slot_width = 8;
	region.band_low = BAND_LOW;
	region.band_high = BAND_HIGH;
	region.trap_budget = 4;
	ret = cowguard_register(fd, &region, &id);
	if (ret < 0) {
		fprintf(stderr, "holder: register: %s\n",
			cowguard_strerror(COWGUARD_OP_REGISTER, ret));
		return 1;
	}
	free(map);
	for (i = 0; i < n; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			return 1;
		if (kids[i] == 0) {
			signal(SIGTERM, SIG_DFL);
			close(pipefd[0]);
			_exit(child(argv[1], fd, buf, i + 1, pipefd[1]));
		}
	}
	close(pipefd[1]);
	for (i = 0; i < n; i++)
		if (read(pipefd[0], &x, 1) != 1)
			return 1;
	if (write_stats(argv[1], fd, buf))
		return 1;
	snprintf(path, sizeof(path), "%s/ready", argv[1]);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "%d %" PRIu64 "\n", (int)getpid(), id);
	fclose(f);
	while (!stop)
		pause();
	for (i = 0; i < n; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < n; i++) {
		int st;

		if (waitpid(kids[i], &st, 0) != kids[i] ||
		    !WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
			status = 1;
	}
	if (cowguard_unregister(fd, buf) < 0)
		status = 1;
	return status;
}
