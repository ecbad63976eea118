// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * cowguard_patch_addrs() on the host, no module: a site patched in this
 * process skips writes to band values and keeps all others, while two
 * threads run it (int3 first, membarrier); unpatching restores its bytes;
 * a fork while another thread patches gives a child that can patch (the
 * mutex is never inherited held) and whose text agrees with its table;
 * the trampolines take only the bytes they hold.
 * Runs natively (it writes its own text).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cowguard.h"
#include "tap.h"

#define MARK	(1ULL << 60)

asm(".text\n.globl cg_t_inc\n.type cg_t_inc,@function\ncg_t_inc:\n"
    "\tsubq $1, (%rdi)\n\taddq $2, (%rdi)\n\tnop\n\tret\n");
void cg_t_inc(volatile uint64_t *p);	/* net +1 */

static atomic_int stop;

static void *spin(void *arg)
{
	uint64_t *n = arg, v = 0;

	while (!atomic_load(&stop)) {
		cg_t_inc(&v);
		(*n)++;
	}
	return (void *)(uintptr_t)(v == *n);
}

static atomic_int stop_churn;

static void *churn(void *arg)
{
	const uint64_t *ips = arg;
	struct cowguard_patch_report rep;
	int n;

	/* Bounded: unpatching never frees a trampoline slot (a thread may be
	 * in it), so endless cycles would use up the pages near the text.
	 */
	for (n = 0; n < 2000 && !atomic_load(&stop_churn); n++) {
		cowguard_patch_addrs(ips, 2, MARK, 1ULL << 59, 1ULL << 61, 0, &rep);
		cowguard_unpatch_sites();
		usleep(50);
	}
	return NULL;
}

/* Children forked while a thread patches and unpatches: all fine? */
static int fork_while_patching(const uint64_t *ips)
{
	pthread_t t;
	int i, bad = 0;

	pthread_create(&t, NULL, churn, (void *)ips);
	for (i = 0; i < 40; i++) {
		struct cowguard_patch_report rep;
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			uint64_t band = MARK, small = 1;

			alarm(10);	/* a child stuck on the mutex dies */
			if (cowguard_patch_addrs(ips, 2, MARK, 1ULL << 59, 1ULL << 61, 0, &rep))
				_exit(2);
			if (rep.patched != 2)
				_exit(4);
			cg_t_inc(&band);
			cg_t_inc(&small);
			_exit(band == MARK && small == 2 ? 0 : 3);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			diag("child %d: status %#x", i, status);
			bad++;
		}
		usleep(1000);
	}
	atomic_store(&stop_churn, 1);
	pthread_join(t, NULL);
	cowguard_unpatch_sites();
	return bad;
}

/*
 * The trampolines named in perf's map: each as long as what it holds, and
 * two made one after the other in one page packed, not 128 bytes apart
 * (narrow windows have few free pages: a slot's unused tail is lost room).
 */
static int trampolines_packed(void)
{
	unsigned long long a[2], len[2];
	char path[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (n < 2 && fscanf(f, "%llx %llx %*s", &a[n], &len[n]) == 2)
		n++;
	fclose(f);
	if (n != 2 || len[0] >= 128 || len[1] >= 128)
		return 0;
	if (a[0] >> 12 != a[1] >> 12)
		return 1;
	return (a[1] > a[0] ? a[1] - a[0] : a[0] - a[1]) < 128;
}

int main(void)
{
	const uint8_t *site = (const uint8_t *)cg_t_inc;
	uint64_t ips[2] = { (uintptr_t)cg_t_inc, (uintptr_t)cg_t_inc + 4 };
	struct cowguard_patch_report rep;
	uint64_t band = MARK + 5, small = 5, loops[2] = { 0, 0 };
	uint8_t orig[8];
	pthread_t t[2];
	void *same;
	int i, good = 1;

	memcpy(orig, site, sizeof(orig));
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, spin, &loops[i]);
	ok(cowguard_patch_addrs(ips, 2, MARK, 1ULL << 59, 1ULL << 61, 0, &rep) == 0,
	   "two adjacent sites patched while two threads run them");
	ok(rep.patched_now == 2 && rep.patched == 2, "patched_now %u, patched %u",
	   rep.patched_now, rep.patched);
	ok(memcmp(orig, site, sizeof(orig)) != 0, "the text changed");
	ok(trampolines_packed(), "the trampolines are as long as their code, and packed");
	cg_t_inc(&band);
	cg_t_inc(&small);
	ok(band == MARK + 5, "a band value is left alone (%#llx)", (unsigned long long)band);
	ok(small == 6, "a small value still moves (%llu)", (unsigned long long)small);
	ok(cowguard_patch_addrs(ips, 2, 5, 1ULL << 59, 1ULL << 61, 0, &rep) == -ERANGE,
	   "a mark without a top byte: ERANGE");
	ok(cowguard_unpatch_sites() == 2, "both restored");
	ok(memcmp(orig, site, sizeof(orig)) == 0, "the text is as it was");
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], &same);
		good &= same != NULL && loops[i] > 0;
	}
	ok(good, "no increment lost in the threads (%llu and %llu loops)",
	   (unsigned long long)loops[0], (unsigned long long)loops[1]);
	i = fork_while_patching(ips);
	ok(i == 0, "40 children forked while a thread patches: each patches and skips (%d not)", i);
	return tap_done();
}
