// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * register-demo: register a heap-like buffer with cowguard, fork, and show
 * what the child's writes cost.
 *
 * The buffer holds 64-byte "objects" whose first 8 bytes are a refcount set
 * to a band value, as an interpreter adapter would leave them. After fork
 * the child bumps every refcount (refcount-only writes: emulated, dropped,
 * the pages stay shared) and then writes one ordinary byte (that page
 * becomes its private shadow). Both processes print their figures.
 *
 * Exit status: 0 success, 1 failure, 2 the module is not loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cowguard.h>

#define PAGES		16
#define OBJ_SIZE	64
#define BAND_LOW	(1ULL << 59)
#define BAND_HIGH	((1ULL << 61) - 1)
#define REFCNT		(1ULL << 60)

static void print_stats(const char *who, int fd, const void *start)
{
	struct cowguard_stats st;
	int ret = cowguard_stats(fd, start, &st);

	if (ret < 0) {
		fprintf(stderr, "%s: cowguard_stats: %s\n", who,
			cowguard_strerror(COWGUARD_OP_STATS, ret));
		return;
	}
	printf("%s (pid %d):\n", who, (int)getpid());
	printf("  mapped_pages %" PRIu64 ", shadow_pages %" PRIu64 "\n",
	       (uint64_t)st.mapped_pages, (uint64_t)st.shadow_pages);
	printf("  read_faults %" PRIu64 ", shadow_faults %" PRIu64 ", write_faults %" PRIu64 "\n",
	       (uint64_t)st.read_faults, (uint64_t)st.shadow_faults, (uint64_t)st.write_faults);
	printf("  emulated %" PRIu64 ", budget_shadows %" PRIu64 "\n",
	       (uint64_t)st.emulated, (uint64_t)st.budget_shadows);
	printf("  refused: kernel %" PRIu64 ", traced %" PRIu64 ", insn %" PRIu64
	       ", not_slot %" PRIu64 ", band %" PRIu64 ", no_map %" PRIu64 "\n",
	       (uint64_t)st.refused[COWGUARD_REFUSE_KERNEL],
	       (uint64_t)st.refused[COWGUARD_REFUSE_TRACED],
	       (uint64_t)st.refused[COWGUARD_REFUSE_INSN],
	       (uint64_t)st.refused[COWGUARD_REFUSE_NOT_SLOT],
	       (uint64_t)st.refused[COWGUARD_REFUSE_BAND],
	       (uint64_t)st.refused[COWGUARD_REFUSE_NO_MAP]);
	printf("  registration %" PRIu64 ": %" PRIu64 " bytes at 0x%" PRIx64
	       ", golden %" PRIu64 ", shadows %" PRIu64 ", processes %" PRIu64
	       ", emulated %" PRIu64 ", budget_shadows %" PRIu64 "\n",
	       (uint64_t)st.reg_id, (uint64_t)st.reg_length, (uint64_t)st.reg_start,
	       (uint64_t)st.reg_golden_pages, (uint64_t)st.reg_shadow_pages,
	       (uint64_t)st.reg_processes, (uint64_t)st.reg_emulated,
	       (uint64_t)st.reg_budget_shadows);
	fflush(stdout);
}

/* The child: refcount traffic on every object, then one real write. */
static int child(int fd, unsigned char *buf, size_t length)
{
	size_t off;
	int bad = 0;

	for (off = 0; off < length; off += OBJ_SIZE) {
		volatile uint64_t *refcnt = (volatile uint64_t *)(buf + off);

		/* load, add, store: the store is a mov to the slot */
		++*refcnt;
		--*refcnt;
#if defined(__x86_64__)
		/* read-modify-write, as CPython's Py_INCREF/Py_DECREF compile */
		__asm__ volatile("addq $1, %0" : "+m" (*refcnt));
		__asm__ volatile("subq $1, %0" : "+m" (*refcnt));
		__asm__ volatile("incq %0" : "+m" (*refcnt));
#else
		++*refcnt;
#endif
		/* each write was dropped: the slot still holds REFCNT */
	}
	buf[8] = 0x42;		/* not a slot: page 0 becomes this child's shadow */

	for (off = 0; off < length; off += OBJ_SIZE)
		bad += *(uint64_t *)(buf + off) < BAND_LOW ||
		       *(uint64_t *)(buf + off) > BAND_HIGH;
	if (buf[8] != 0x42)
		bad++;
	print_stats("child", fd, buf);
	if (bad)
		fprintf(stderr, "child: %d unexpected values\n", bad);
	return bad ? 1 : 0;
}

int main(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), length = PAGES * page;
	struct cowguard_region region;
	size_t map_len, off;
	unsigned char *buf;
	uint8_t *map;
	uint64_t id;
	int fd, ret, status;
	pid_t pid;

	fd = cowguard_open(0);
	if (fd < 0) {
		fprintf(stderr, "register-demo: %s\n", cowguard_strerror(COWGUARD_OP_OPEN, fd));
		return fd == -ENOENT || fd == -ENXIO || fd == -ENODEV ? 2 : 1;
	}
	printf("cowguard ABI version %d\n", cowguard_abi_version(fd));

	/* mmap: page-aligned private anonymous memory, as registration needs. */
	buf = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	map_len = cowguard_slot_map_len(length, 8);
	map = calloc(map_len, 1);
	if (buf == MAP_FAILED || !map) {
		perror("register-demo: mmap/calloc");
		return 1;
	}
	for (off = 0; off < length; off += OBJ_SIZE) {
		*(uint64_t *)(buf + off) = REFCNT;
		memset(buf + off + 8, (int)(off / OBJ_SIZE), OBJ_SIZE - 8);
		cowguard_slot_mark(map, length, off, 8);
	}

	memset(&region, 0, sizeof(region));
	region.start = buf;
	region.length = length;
	region.slot_map = map;
	region.slot_map_len = map_len;
	region.slot_width = 8;
	region.band_low = BAND_LOW;
	region.band_high = BAND_HIGH;
	ret = cowguard_register(fd, &region, &id);
	if (ret < 0) {
		fprintf(stderr, "register-demo: cowguard_register: %s\n",
			cowguard_strerror(COWGUARD_OP_REGISTER, ret));
		return 1;
	}
	free(map);	/* the module reads the map during the call only */
	printf("registered %zu bytes at %p as id %" PRIu64 "\n", length, (void *)buf, id);
	print_stats("parent after register", fd, buf);

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("register-demo: fork");
		return 1;
	}
	if (pid == 0)
		_exit(child(fd, buf, length));
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "register-demo: the child failed\n");
		return 1;
	}

	/* The child's real write stayed in its shadow. */
	if (buf[8] != 0) {
		fprintf(stderr, "register-demo: the child's write leaked into the parent\n");
		return 1;
	}
	print_stats("parent after the child", fd, buf);
	print_stats("parent, all registrations", fd, NULL);

	ret = cowguard_unregister(fd, buf);
	if (ret < 0) {
		fprintf(stderr, "register-demo: cowguard_unregister: %s\n",
			cowguard_strerror(COWGUARD_OP_UNREGISTER, ret));
		return 1;
	}
	buf[8] = 1;	/* plain anonymous memory again */
	printf("unregistered; done\n");
	munmap(buf, length);
	close(fd);
	return 0;
}
