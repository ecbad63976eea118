// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * cowguard_patch_sites(): rewrite the refcount writes the module has proven
 * (COWGUARD_IOC_SITES) so that they skip band values, in the calling
 * process. Why here and not in the module: the trampolines are ordinary
 * user code, the text write is the one a debugger makes (/proc/self/mem,
 * which copies the page privately and never maps it writable: no RWX
 * mapping exists at any time), and a runtime's adapter knows when its
 * process may pay for patching. The module supplies what only it can: the
 * proof.
 *
 * A site is rewritten with the protocol the kernel's text_poke_bp() uses,
 * so that no thread ever runs a half-written instruction: int3 on its first
 * byte, membarrier(SYNC_CORE), the jump's other bytes, membarrier, the
 * jump's first byte, membarrier. A thread that meets the int3 meanwhile is
 * sent to the trampoline by a SIGTRAP handler, which stays installed (a
 * pending trap must never find the default action) and passes every other
 * SIGTRAP to the handler it replaced. Sites go from the highest address
 * down, one at a time: a punned jump reads its neighbour's first byte as
 * it is once that neighbour is patched; a site inside an earlier site's
 * jump is left alone for the same reason.
 *
 * State: the table of patched sites and trampoline pages is per process
 * (a fork copies it with the memory it describes), under one mutex, the
 * exception to the library's rule of no global state. fork() takes that
 * mutex first (pthread_atfork): a child never starts with a site half
 * written or a table that disagrees with its text, and never with the
 * mutex held by a thread it does not have.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "cowguard.h"
#include "x86_site.h"

#define CG_MAX_PATCHED	4096
#define CG_MAX_TPAGES	512
#define CG_PAGE		4096UL

struct cg_patched {
	uint64_t site;
	uint64_t tramp;
	uint8_t len;
	uint8_t jlen;		/* bytes the jump reads: past len, its pun */
	uint8_t restored;	/* written back; the entry stays for the handler */
	uint8_t tlen;		/* the trampoline's bytes, for perf's map */
	uint8_t orig[15];
};

struct cg_tpage {
	uint64_t base;
	unsigned int used;
};

static pthread_mutex_t cg_patch_lock = PTHREAD_MUTEX_INITIALIZER;
/* Entries below cg_nr_patched are complete: the SIGTRAP handler reads them. */
static struct cg_patched cg_patched[CG_MAX_PATCHED];
static int cg_nr_patched;
static struct cg_tpage cg_tpages[CG_MAX_TPAGES];
static int cg_nr_tpages;
static struct sigaction cg_old_trap;
static int cg_trap_installed;
static pid_t cg_perf_map_pid;

static void cg_fork_prepare(void)
{
	pthread_mutex_lock(&cg_patch_lock);
}

static void cg_fork_release(void)
{
	pthread_mutex_unlock(&cg_patch_lock);
}

static pthread_once_t cg_atfork_once = PTHREAD_ONCE_INIT;
static int cg_atfork_ret;

static void cg_register_atfork(void)
{
	cg_atfork_ret = -pthread_atfork(cg_fork_prepare, cg_fork_release,
					cg_fork_release);
}

/* Before the first patch: fork must then wait for a patch in progress. */
static int cg_fork_safe(void)
{
	pthread_once(&cg_atfork_once, cg_register_atfork);
	return cg_atfork_ret;
}

static void cg_on_trap(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	uint64_t ip = uc->uc_mcontext.gregs[REG_RIP] - 1;
	int i, n = __atomic_load_n(&cg_nr_patched, __ATOMIC_ACQUIRE);

	if (si->si_code == SI_KERNEL) {
		for (i = 0; i < n; i++) {
			if (cg_patched[i].site == ip) {
				/* Being written: run what it is becoming. */
				uc->uc_mcontext.gregs[REG_RIP] = cg_patched[i].tramp;
				return;
			}
		}
		/* An int3 that is gone: a site restored (and forgotten) between
		 * the trap and this handler. Run what is there now.
		 */
		if (*(volatile const uint8_t *)ip != 0xcc) {
			uc->uc_mcontext.gregs[REG_RIP] = ip;
			return;
		}
	}
	if (cg_old_trap.sa_flags & SA_SIGINFO) {
		cg_old_trap.sa_sigaction(sig, si, ucv);
	} else if (cg_old_trap.sa_handler == SIG_IGN) {
		return;
	} else if (cg_old_trap.sa_handler != SIG_DFL) {
		cg_old_trap.sa_handler(sig);
	} else {
		/* Not ours: the default action, as if we were not here. */
		signal(SIGTRAP, SIG_DFL);
		if (si->si_code == SI_KERNEL)
			uc->uc_mcontext.gregs[REG_RIP] = ip;	/* trap again */
		else
			raise(SIGTRAP);
	}
}

static int cg_install_trap(void)
{
	struct sigaction sa;

	if (cg_trap_installed)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = cg_on_trap;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, &cg_old_trap))
		return -errno;
	cg_trap_installed = 1;
	return 0;
}

static int cg_sync_core(void)
{
	if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0))
		return -errno;
	return 0;
}

static int cg_poke(int mem, uint64_t addr, const void *b, size_t n)
{
	ssize_t w = pwrite(mem, b, n, (off_t)addr);

	if (w < 0)
		return -errno;
	return (size_t)w == n ? 0 : -EIO;
}

/*
 * The slot at or above @off in the page at @base whose start is in
 * [lo, hi), or 0. Slots are 16-byte aligned and CG_TRAMP_MAX long.
 */
static uint64_t cg_slot_in(uint64_t base, uint64_t off, uint64_t lo, uint64_t hi)
{
	uint64_t a;

	if (lo > base + off)
		off = lo - base;
	off = (off + 15) & ~15ULL;
	a = base + off;
	if (off + CG_TRAMP_MAX > CG_PAGE || a < lo || a >= hi)
		return 0;
	return a;
}

/* A trampoline slot whose start is in [lo, hi), or 0. */
static uint64_t cg_tramp_slot(uint64_t site, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo, step, p, first, a;
	int i, k;

	for (i = 0; i < cg_nr_tpages; i++) {
		struct cg_tpage *t = &cg_tpages[i];

		a = cg_slot_in(t->base, t->used, lo, hi);
		if (a) {
			t->used = a - t->base + CG_TRAMP_MAX;
			return a;
		}
	}
	if (cg_nr_tpages == CG_MAX_TPAGES)
		return 0;
	/* Near the site when the window allows, else across the window
	 * from its start (a small window: every page that overlaps it).
	 */
	if (span > (1ULL << 28) && site > lo + (1ULL << 27) && site < hi - (1ULL << 27)) {
		first = (site & ~(CG_PAGE - 1)) - (1ULL << 26);
		step = 1ULL << 20;
	} else {
		first = lo & ~(CG_PAGE - 1);
		step = span / 256 > CG_PAGE ? (span / 256) & ~(CG_PAGE - 1) : CG_PAGE;
	}
	for (k = 0; k < 256; k++) {
		void *m;

		p = first + (uint64_t)k * step;
		if (p >= hi)
			break;
		a = cg_slot_in(p, 0, lo, hi);
		if (!a)
			continue;
		m = mmap((void *)p, CG_PAGE, PROT_READ | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (m == MAP_FAILED)
			continue;
		if ((uint64_t)m != p) {		/* a kernel without NOREPLACE */
			munmap(m, CG_PAGE);
			continue;
		}
		cg_tpages[cg_nr_tpages].base = p;
		cg_tpages[cg_nr_tpages].used = a - p + CG_TRAMP_MAX;
		cg_nr_tpages++;
		return a;
	}
	return 0;
}

/* The trampoline page @ip is in, or NULL. */
static struct cg_tpage *cg_tpage_of(uint64_t ip)
{
	int i;

	for (i = 0; i < cg_nr_tpages; i++)
		if (ip - cg_tpages[i].base < CG_PAGE)
			return &cg_tpages[i];
	return NULL;
}

/*
 * Slots are taken from a page bump-allocator style, and the windows a
 * punned jump allows are narrow (a low binary's own mappings fill most
 * of them), so a slot taken for an attempt that then fails, or the unused
 * tail of a 128-byte slot, can leave a later site with no room at all.
 * The last slot taken from its page is shortened to the @len bytes it
 * holds (0: given back).
 */
static void cg_tramp_trim(uint64_t slot, uint64_t len)
{
	struct cg_tpage *t = cg_tpage_of(slot);

	if (t && t->used == slot - t->base + CG_TRAMP_MAX)
		t->used = slot - t->base + len;
}

/* Is ip in one of our trampoline pages (a trapped write of a trampoline)? */
static int cg_in_trampolines(uint64_t ip)
{
	return cg_tpage_of(ip) != NULL;
}

static struct cg_patched *cg_find_patched(uint64_t ip)
{
	int i;

	for (i = 0; i < cg_nr_patched; i++)
		if (cg_patched[i].site == ip && !cg_patched[i].restored)
			return &cg_patched[i];
	return NULL;
}

/* The patched site whose jump reads the byte at ip (its pun), or NULL. */
static struct cg_patched *cg_jump_covering(uint64_t ip)
{
	int i;

	for (i = 0; i < cg_nr_patched; i++) {
		struct cg_patched *p = &cg_patched[i];

		if (!p->restored && ip > p->site && ip < p->site + p->jlen)
			return p;
	}
	return NULL;
}

/* perf's map of JIT code (/tmp/perf-PID.map): a name for each trampoline. */
static void cg_perf_map(int from)
{
	char path[64];
	FILE *f;
	int i;

	if (cg_perf_map_pid != getpid())
		from = 0;		/* a forked child: its own file */
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(path, "ae");
	if (!f)
		return;
	for (i = from; i < cg_nr_patched; i++)
		fprintf(f, "%llx %x cowguard_site_%llx\n",
			(unsigned long long)cg_patched[i].tramp, cg_patched[i].tlen,
			(unsigned long long)cg_patched[i].site);
	fclose(f);
	cg_perf_map_pid = getpid();
}

/*
 * Write @len bytes of @jump over the instruction at @ip, int3 first, after
 * entering it in the table (with its trampoline @tramp and @orig bytes),
 * so that a thread meeting the int3 is sent to the trampoline.
 */
static int cg_poke_int3_first(int mem, uint64_t ip, const uint8_t *bytes,
			      unsigned int len)
{
	const uint8_t int3 = 0xcc;
	int ret;

	ret = cg_poke(mem, ip, &int3, 1);
	if (!ret)
		ret = cg_sync_core();
	if (!ret)
		ret = cg_poke(mem, ip + 1, bytes + 1, len - 1);
	if (!ret)
		ret = cg_sync_core();
	if (!ret)
		ret = cg_poke(mem, ip, bytes, 1);
	if (!ret)
		ret = cg_sync_core();
	return ret;
}

static int cg_write_site(int mem, uint64_t ip, uint64_t tramp, unsigned int tlen,
			 const uint8_t *orig, const uint8_t *jump, unsigned int len)
{
	struct cg_patched *p = &cg_patched[cg_nr_patched];
	unsigned int prefixes = 0;

	while (prefixes < len && jump[prefixes] == 0x48)
		prefixes++;
	p->site = ip;
	p->tramp = tramp;
	p->len = len;
	p->jlen = len > prefixes + 5 ? len : prefixes + 5;
	p->restored = 0;
	p->tlen = tlen;
	memcpy(p->orig, orig, len);
	__atomic_store_n(&cg_nr_patched, cg_nr_patched + 1, __ATOMIC_RELEASE);
	return cg_poke_int3_first(mem, ip, jump, len);
}

/* A trampoline slot and the jump to it, trying 0..2 prefixes. */
static int cg_place(uint64_t ip, const struct cg_site_insn *in,
		    const uint8_t *next, uint64_t *tramp, uint8_t *jump)
{
	unsigned int prefixes;
	uint64_t lo, hi, t;

	for (prefixes = 0; prefixes <= CG_SITE_MAX_PREFIXES; prefixes++) {
		if (cg_site_window(ip, in, next, prefixes, &lo, &hi))
			continue;
		t = cg_tramp_slot(ip, lo, hi);
		if (t && !cg_site_jump(ip, in, t, next, prefixes, jump)) {
			*tramp = t;
			return 0;
		}
		if (t)
			cg_tramp_trim(t, 0);
	}
	return -CG_SITE_E_WINDOW;
}

/*
 * E9Patch's successor eviction, for a 4-byte site followed by a "jmp rel32"
 * (a pun on E9 lands below address 0 in a low, non-PIE binary): move the
 * jmp into a trampoline of its own whose rel32 we choose, so that the
 * site's jump, with one prefix, reads a pun that lands in free memory.
 * Return: 0 with the successor rewritten (in the table) and the site's
 * slot in @tramp and @jump, else -CG_SITE_E_WINDOW with nothing changed.
 */
static int cg_evict_successor(int mem, uint64_t ip, const struct cg_site_insn *in,
			      const uint8_t *b, uint64_t *tramp, uint8_t *jump)
{
	uint64_t n = ip + in->len, target, lo, hi, t, slot, t2, near_lo;
	uint8_t next[CG_SITE_NEXT], njump[5], ntramp[5];
	unsigned int s0, try;
	int32_t rel;
	int ret;

	if (in->len != 4 || b[in->len] != 0xe9 || cg_find_patched(n) ||
	    cg_jump_covering(n) || cg_nr_patched + 2 > CG_MAX_PATCHED)
		return -CG_SITE_E_WINDOW;
	memcpy(&rel, b + in->len + 1, 4);
	target = n + 5 + (int64_t)rel;
	/* Slots within rel32 of the jmp (with room for the low byte's shift). */
	near_lo = n + 5 > (1ULL << 31) ? n + 5 - (1ULL << 31) + 256 : 0x10000;
	for (s0 = 0x01; s0 < 0x80; s0 += 0x0b) {
		next[0] = 0xe9;
		next[1] = s0;
		next[2] = 0;
		if (cg_site_window(ip, in, next, 1, &lo, &hi))
			continue;
		t = cg_tramp_slot(ip, lo, hi);
		if (!t)
			continue;
		if (cg_site_jump(ip, in, t, next, 1, jump)) {
			cg_tramp_trim(t, 0);
			continue;
		}
		/* The jmp's new home: its rel32's low byte must be s0. */
		for (try = 0; try < 2; try++) {
			slot = cg_tramp_slot(n, near_lo, n + 5 + (1ULL << 31) - 256);
			if (!slot)
				break;
			t2 = slot + ((s0 - (slot - n - 5)) & 0xff);
			if (t2 + sizeof(ntramp) > slot + CG_TRAMP_MAX) {
				cg_tramp_trim(slot, 0);
				continue;
			}
			cg_tramp_trim(slot, t2 - slot + sizeof(ntramp));
			rel = (int32_t)(target - (t2 + 5));
			ntramp[0] = 0xe9;
			memcpy(ntramp + 1, &rel, 4);
			rel = (int32_t)(t2 - (n + 5));
			njump[0] = 0xe9;
			memcpy(njump + 1, &rel, 4);
			ret = cg_poke(mem, t2, ntramp, sizeof(ntramp));
			if (!ret)
				ret = cg_write_site(mem, n, t2, sizeof(ntramp), b + in->len,
						    njump, 5);
			if (ret)
				return ret;
			*tramp = t;
			return 0;
		}
		cg_tramp_trim(t, 0);	/* the last of its page unless slot shares it */
	}
	return -CG_SITE_E_WINDOW;
}

/* Rewrite one site, int3 first; 1 when it was, 0 when it stays. */
static int cg_patch_at(int mem, uint64_t ip, uint8_t top,
		       struct cowguard_patch_report *rep)
{
	uint8_t b[15 + 5], jump[15], tramp[CG_TRAMP_MAX];
	struct cg_site_insn in;
	uint64_t t;
	size_t n;
	int ret;

	if (pread(mem, b, sizeof(b), (off_t)ip) != (ssize_t)sizeof(b) ||
	    cg_site_decode(b, 15, &in)) {
		rep->bad_form++;
		return 0;
	}
	if (cg_place(ip, &in, b + in.len, &t, jump)) {
		ret = cg_evict_successor(mem, ip, &in, b, &t, jump);
		if (ret == -CG_SITE_E_WINDOW) {
			rep->no_window++;
			return 0;
		}
		if (ret)
			return ret;
		rep->evicted++;
	}
	n = cg_tramp_emit(&in, t, ip + in.len, top, CG_TRAMP_OK, tramp);
	cg_tramp_trim(t, n);
	ret = cg_poke(mem, t, tramp, n);
	if (!ret)
		ret = cg_write_site(mem, ip, t, n, b, jump, in.len);
	return ret ? ret : 1;
}

/*
 * Patch a proven site. One inside the jump of a site patched earlier (its
 * pun reads this one's first byte) is patched between undoing and redoing
 * that neighbour, so that the neighbour's pun reads the new byte.
 */
static int cg_patch_one(int mem, uint64_t ip, uint8_t top,
			struct cowguard_patch_report *rep)
{
	struct cg_patched *cover = cg_jump_covering(ip);
	struct cowguard_patch_report scratch;
	int ret;

	/* A trampoline's own copy of a site traps when it does not skip: it
	 * is ours, never patched.
	 */
	if (cg_in_trampolines(ip)) {
		rep->no_window++;
		return 0;
	}
	if (cover) {
		if (cg_nr_patched + 2 > CG_MAX_PATCHED) {
			rep->no_window++;
			return 0;
		}
		ret = cg_poke_int3_first(mem, cover->site, cover->orig, cover->len);
		if (ret)
			return ret;
		cover->restored = 1;
	}
	ret = cg_patch_at(mem, ip, top, rep);
	if (ret < 0)
		return ret;
	if (ret)
		rep->patched_now++;
	if (cover) {
		/* Counted once already: its second patch is not news. */
		memset(&scratch, 0, sizeof(scratch));
		ret = cg_patch_at(mem, cover->site, top, &scratch);
		if (ret < 0)
			return ret;
		rep->repatched += ret;
		rep->no_window += scratch.no_window;
	}
	return 0;
}

int cowguard_sites(int fd, const void *start, struct cowguard_site_proof *out,
		   unsigned int nr, unsigned int *total)
{
	struct cowguard_sites req = {
		.size = sizeof(req), .start = (uintptr_t)start,
		.sites = (uintptr_t)out, .nr = nr,
	};
	int saved_errno = errno, ret;

	ret = ioctl(fd, COWGUARD_IOC_SITES, &req) ? -errno : (int)req.nr;
	if (ret >= 0 && total)
		*total = req.total;
	errno = saved_errno;
	return ret;
}

static int cg_cmp_ip_desc(const void *a, const void *b)
{
	uint64_t x = ((const struct cowguard_site_proof *)a)->ip;
	uint64_t y = ((const struct cowguard_site_proof *)b)->ip;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The band check both entry points make: every skipped write is one the
 * module drops (old values with the top byte, moved by at most 2^31).
 */
static int cg_check_band(uint64_t mark, uint64_t band_low, uint64_t band_high)
{
	uint8_t top = mark >> 56;

	if (top == 0 || top >= 0x7f ||
	    band_low > ((uint64_t)top << 56) - (1ULL << 31) ||
	    band_high < ((uint64_t)(top + 1) << 56) + (1ULL << 31))
		return -ERANGE;
	return 0;
}

/* Patch the proven entries of @proof (sorted here), under the lock. */
static int cg_patch_list(struct cowguard_site_proof *proof, unsigned int nr,
			 uint8_t top, struct cowguard_patch_report *rep)
{
	int mem = -1, ret, from = cg_nr_patched;
	unsigned int i;

	qsort(proof, nr, sizeof(proof[0]), cg_cmp_ip_desc);
	ret = syscall(__NR_membarrier,
		      MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) ? -errno : 0;
	if (!ret)
		ret = cg_install_trap();
	if (!ret) {
		mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
		if (mem < 0)
			ret = -errno;
	}
	for (i = 0; !ret && i < nr; i++) {
		if (!(proof[i].flags & COWGUARD_SITE_F_PROVEN)) {
			rep->unproven++;
			continue;
		}
		rep->proven++;
		if (cg_find_patched(proof[i].ip))
			continue;
		if (cg_nr_patched + 2 > CG_MAX_PATCHED) {
			rep->no_window++;
			continue;
		}
		ret = cg_patch_one(mem, proof[i].ip, top, rep);
	}
	if (cg_nr_patched > from || cg_perf_map_pid != getpid())
		cg_perf_map(from);
	if (mem >= 0)
		close(mem);
	return ret;
}

static void cg_count_patched(struct cowguard_patch_report *rep)
{
	int i;

	rep->patched = 0;
	for (i = 0; i < cg_nr_patched; i++)
		rep->patched += !cg_patched[i].restored;
}

/* What both entry points check first; then fork waits for them. */
static int cg_patch_args(unsigned int flags, uint64_t mark, uint64_t band_low,
			 uint64_t band_high)
{
	int ret;

	if (flags & ~COWGUARD_PATCH_F_ALL)
		return -EINVAL;
	ret = cg_check_band(mark, band_low, band_high);
	return ret ? ret : cg_fork_safe();
}

int cowguard_patch_sites(int fd, const void *start, uint64_t mark,
			 uint64_t band_low, uint64_t band_high,
			 unsigned int flags, struct cowguard_patch_report *report)
{
	static struct cowguard_site_proof proof[COWGUARD_PROOF_MERGED];
	struct cowguard_patch_report rep;
	int saved_errno = errno, ret;
	unsigned int total = 0;

	memset(&rep, 0, sizeof(rep));
	ret = cg_patch_args(flags, mark, band_low, band_high);
	if (ret)
		return ret;
	pthread_mutex_lock(&cg_patch_lock);
	ret = cowguard_sites(fd, start, proof, COWGUARD_PROOF_MERGED, &total);
	if (ret >= 0) {
		rep.sites = total;
		ret = cg_patch_list(proof, ret, mark >> 56, &rep);
	}
	cg_count_patched(&rep);
	pthread_mutex_unlock(&cg_patch_lock);
	if (report)
		*report = rep;
	errno = saved_errno;
	return ret;
}

int cowguard_patch_addrs(const uint64_t *ips, unsigned int nr, uint64_t mark,
			 uint64_t band_low, uint64_t band_high,
			 unsigned int flags, struct cowguard_patch_report *report)
{
	static struct cowguard_site_proof proof[CG_MAX_PATCHED];
	struct cowguard_patch_report rep;
	int saved_errno = errno, ret;
	unsigned int i;

	memset(&rep, 0, sizeof(rep));
	if (flags & ~COWGUARD_PATCH_F_ALL || (nr && !ips))
		return -EINVAL;
	if (nr > CG_MAX_PATCHED)
		return -E2BIG;
	ret = cg_patch_args(flags, mark, band_low, band_high);
	if (ret)
		return ret;
	pthread_mutex_lock(&cg_patch_lock);
	for (i = 0; i < nr; i++) {
		memset(&proof[i], 0, sizeof(proof[i]));
		proof[i].ip = ips[i];
		proof[i].flags = COWGUARD_SITE_F_PROVEN;
	}
	rep.sites = nr;
	ret = cg_patch_list(proof, nr, mark >> 56, &rep);
	cg_count_patched(&rep);
	pthread_mutex_unlock(&cg_patch_lock);
	if (report)
		*report = rep;
	errno = saved_errno;
	return ret;
}

static int cg_cmp_site_asc(const void *a, const void *b)
{
	uint64_t x = cg_patched[*(const int *)a].site;
	uint64_t y = cg_patched[*(const int *)b].site;

	return x < y ? -1 : x > y;
}

int cowguard_unpatch_sites(void)
{
	static int order[CG_MAX_PATCHED];
	int saved_errno = errno, mem, ret = 0, i, n, done = 0, left = 0;

	pthread_mutex_lock(&cg_patch_lock);
	n = cg_nr_patched;
	mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	if (mem < 0) {
		ret = -errno;
		goto out;
	}
	/* Lowest first: a pun never reads a neighbour half restored. The
	 * table itself stays in place for the SIGTRAP handler.
	 */
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort(order, n, sizeof(order[0]), cg_cmp_site_asc);
	for (i = 0; !ret && i < n; i++) {
		struct cg_patched *p = &cg_patched[order[i]];

		if (p->restored)
			continue;	/* written back already */
		ret = cg_poke_int3_first(mem, p->site, p->orig, p->len);
		if (ret)
			left++;
		else
			done++;
	}
	close(mem);
	/* All restored: forget them. Trampolines stay mapped (a thread may
	 * still be inside one) and their slots are not reused.
	 */
	if (!left && !ret)
		__atomic_store_n(&cg_nr_patched, 0, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&cg_patch_lock);
	errno = saved_errno;
	return ret ? ret : done;
}

