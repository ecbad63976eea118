// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * A stand-in for /dev/cowguard on machines without the module, for the
 * host tests: LD_PRELOAD it, point COWGUARD_DEVICE at a regular file
 * (FAKE_COWGUARD_DEVICE names the same file), and every ioctl on that file
 * is answered here with the checks the kernel makes:
 *
 * REGISTER	struct size, flags and reserved fields, page alignment,
 *		slot width, band limits, slot_map_len, every marked slot's
 *		value inside the band (ERANGE), the range inside one private
 *		anonymous VMA that is not the stack (EACCES), no overlap with
 *		an earlier registration (EEXIST).
 * STATS	fixed figures (emulated = 42, refused[INSN] = 7, mapped_pages
 *		= the pages registered so far).
 *
 * One line per call goes to $FAKE_COWGUARD_LOG: "REGISTER start length
 * marked id trap_budget band_low band_high" or "FAIL what". FAKE_COWGUARD_FAIL_AT=N refuses the Nth
 * registration (1-based) with E2BIG. FAKE_COWGUARD_REMAP=1 replaces each
 * registered range by a private mapping of a memfd named "[cowguard]" with
 * the same contents, so that /proc/self/maps shows it taken over. Any
 * other ioctl goes to libc.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/cowguard.h>

#define PAGE 4096UL
#define MAX_REGS 65536

static uint64_t reg_start[MAX_REGS], reg_end[MAX_REGS];
static int nregs;
static uint64_t pages_registered;

static void logf_(const char *fmt, ...)
{
	const char *path = getenv("FAKE_COWGUARD_LOG");
	va_list ap;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

static int is_fake(int fd)
{
	const char *want = getenv("FAKE_COWGUARD_DEVICE");
	char link[64], got[4096], real[4096];
	ssize_t n;

	if (!want || !realpath(want, real))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, got, sizeof(got) - 1);
	if (n < 0)
		return 0;
	got[n] = 0;
	return !strcmp(got, real);
}

static int fail(int err, const char *what, uint64_t a, uint64_t b)
{
	logf_("FAIL %s %#llx %#llx", what, (unsigned long long)a,
	      (unsigned long long)b);
	errno = err;
	return -1;
}

/* Is [start, end) inside one VMA that the module would accept? */
static int range_ok(uint64_t start, uint64_t end)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];
	int ok = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e, inode;
		char perms[8], path[4096] = "";
		int n = sscanf(line, "%llx-%llx %7s %*s %*s %llu %4095s", &s, &e,
			       perms, &inode, path);

		if (n < 4 || start < s || start >= e)
			continue;
		ok = end <= e && !strcmp(perms, "rw-p") && !inode &&
		     (!path[0] || !strcmp(path, "[heap]") ||
		      !strncmp(path, "[anon:", 6));
		break;
	}
	fclose(f);
	return ok;
}

/*
 * Make the range look taken over in /proc/self/maps, as the module does:
 * the same contents, now file-backed ("/memfd:[cowguard]"), still private so
 * that fork keeps its copy-on-write semantics.
 */
static int remap(uint64_t start, uint64_t length)
{
	int fd = memfd_create("[cowguard]", MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return -1;
	if (write(fd, (void *)(uintptr_t)start, length) != (ssize_t)length) {
		close(fd);
		return -1;
	}
	p = mmap((void *)(uintptr_t)start, length, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_FIXED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? -1 : 0;
}

static int do_register(struct cowguard_register *r)
{
	uint64_t nslots, need, i, marked = 0;
	const uint8_t *map = (const uint8_t *)(uintptr_t)r->slot_map;
	const char *failat = getenv("FAKE_COWGUARD_FAIL_AT");
	int k;

	if (r->size != sizeof(*r))
		return fail(EINVAL, "size", r->size, sizeof(*r));
	/* However many reserved words this version of the header has. */
	for (k = 0; k < (int)(sizeof(r->reserved) / sizeof(r->reserved[0])); k++)
		if (r->reserved[k])
			return fail(EINVAL, "reserved", k, r->reserved[k]);
	if (r->flags || r->id)
		return fail(EINVAL, "flags/id", r->flags, r->id);
	if (!r->length || r->start % PAGE || r->length % PAGE ||
	    r->start + r->length < r->start)
		return fail(EINVAL, "alignment", r->start, r->length);
	if (r->slot_width != 8 || !map)
		return fail(EINVAL, "width/map", r->slot_width, r->slot_map);
	if (r->band_low < COWGUARD_BAND_MIN_64 || r->band_high < r->band_low)
		return fail(EINVAL, "band", r->band_low, r->band_high);
	nslots = r->length / 8;
	need = (nslots + 7) / 8;
	if (r->slot_map_len != need)
		return fail(EINVAL, "slot_map_len", r->slot_map_len, need);
	if (!range_ok(r->start, r->start + r->length))
		return fail(EACCES, "not private anonymous", r->start, r->length);
	for (k = 0; k < nregs; k++)
		if (r->start < reg_end[k] && reg_start[k] < r->start + r->length)
			return fail(EEXIST, "overlap", r->start, reg_start[k]);
	for (i = 0; i < nslots; i++) {
		uint64_t v;

		if (!(map[i / 8] & (1U << (i % 8))))
			continue;
		v = *(const uint64_t *)(uintptr_t)(r->start + i * 8);
		if (v < r->band_low || v > r->band_high)
			return fail(ERANGE, "slot out of band", r->start + i * 8, v);
		marked++;
	}
	if (failat && atoi(failat) == nregs + 1)
		return fail(E2BIG, "FAKE_COWGUARD_FAIL_AT", (uint64_t)nregs + 1, 0);
	if (nregs == MAX_REGS)
		return fail(ENOMEM, "too many", 0, 0);
	if (getenv("FAKE_COWGUARD_REMAP") && remap(r->start, r->length))
		return fail(ENOMEM, "remap", r->start, r->length);
	reg_start[nregs] = r->start;
	reg_end[nregs] = r->start + r->length;
	nregs++;
	pages_registered += r->length / PAGE;
	r->id = (uint64_t)nregs;
	logf_("REGISTER %#llx %llu %llu %llu %u %llu %llu",
	      (unsigned long long)r->start, (unsigned long long)r->length,
	      (unsigned long long)marked, (unsigned long long)r->id,
	      r->trap_budget, (unsigned long long)r->band_low,
	      (unsigned long long)r->band_high);
	return 0;
}

int ioctl(int fd, unsigned long request, ...)
{
	static int (*real_ioctl)(int, unsigned long, void *);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (is_fake(fd)) {
		switch (request) {
		case COWGUARD_IOC_VERSION:
			logf_("VERSION");
			return COWGUARD_ABI_VERSION;
		case COWGUARD_IOC_REGISTER:
			return do_register(arg);
		case COWGUARD_IOC_STATS: {
			struct cowguard_stats *st = arg;

			if (st->size != sizeof(*st))
				return fail(EINVAL, "stats size", st->size, 0);
			memset((char *)st + 8, 0, sizeof(*st) - 8);
			st->mapped_pages = pages_registered;
			st->emulated = 42;
			st->refused[COWGUARD_REFUSE_INSN] = 7;
			logf_("STATS");
			return 0;
		}
		case COWGUARD_IOC_UNREGISTER:
			return 0;
		default:
			errno = ENOTTY;
			return -1;
		}
	}
	if (!real_ioctl)
		real_ioctl = (int (*)(int, unsigned long, void *))dlsym(RTLD_NEXT, "ioctl");
	return real_ioctl(fd, request, arg);
}
