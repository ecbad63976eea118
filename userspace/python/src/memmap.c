// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Which memory can be registered, and the ranges to register.
 *
 * The module takes over private anonymous memory only (EACCES for
 * file-backed, shared, stack or executable VMAs). An object is marked
 * only when its refcount slot lies in a VMA that /proc/self/maps shows as
 * "rw-p" with no inode and no path, "[heap]" or "[anon:NAME]", and
 * outside every PT_LOAD segment of a loaded ELF object: an executable's
 * or library's .bss continues its file mapping as an anonymous VMA
 * without a name, and CPython keeps static objects there and in .data
 * (types, small ints on 3.11+, None, True...). Those objects stay as they
 * are.
 *
 * A range never crosses a VMA boundary and only ever covers pages of the
 * VMA it starts in: "never include pages outside those VMAs".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgpy.h"

#define VMA_WORDS	3
#define EXCL_WORDS	2

static int push3(struct cg_vec *v, uintptr_t a, uintptr_t b, uintptr_t c)
{
	if (cg_vec_reserve(v, v->n + 3))
		return -1;
	v->v[v->n++] = a;
	v->v[v->n++] = b;
	v->v[v->n++] = c;
	return 0;
}

int cg_memmap_exclude(struct cg_memmap *m, uintptr_t start, uintptr_t end)
{
	start &= ~(CG_PAGE_SIZE - 1);
	end = (end + CG_PAGE_SIZE - 1) & ~(CG_PAGE_SIZE - 1);
	if (start >= end)
		return 0;
	if (cg_vec_reserve(&m->excl, m->excl.n + 2))
		return -1;
	m->excl.v[m->excl.n++] = start;
	m->excl.v[m->excl.n++] = end;
	return 0;
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct cg_memmap *m = data;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start;

		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		start = info->dlpi_addr + ph->p_vaddr;
		if (cg_memmap_exclude(m, start, start + ph->p_memsz))
			return -1;
	}
	return 0;
}

static uintptr_t parse_hex(const char **pp, const char *end)
{
	const char *p = *pp;
	uintptr_t v = 0;

	for (; p < end; p++) {
		int c = *p, d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		v = v << 4 | (uintptr_t)d;
	}
	*pp = p;
	return v;
}

static const char *skip_field(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	return p;
}

/* One line of /proc/self/maps: "start-end perms offset dev inode  path". */
static int parse_line(struct cg_memmap *m, const char *p, const char *end)
{
	uintptr_t start, stop, inode;
	const char *perms, *path;
	size_t plen;
	int eligible;

	start = parse_hex(&p, end);
	if (p >= end || *p != '-')
		return 0;
	p++;
	stop = parse_hex(&p, end);
	p = skip_field(p, end);
	perms = p;
	p = skip_field(p, end);		/* perms */
	p = skip_field(p, end);		/* offset */
	p = skip_field(p, end);		/* dev */
	inode = 0;
	while (p < end && *p >= '0' && *p <= '9')
		inode = inode * 10 + (uintptr_t)(*p++ - '0');
	while (p < end && *p == ' ')
		p++;
	path = p;
	plen = (size_t)(end - p);

	eligible = end - perms >= 4 && !memcmp(perms, "rw-p", 4) && !inode &&
		   (plen == 0 || (plen == 6 && !memcmp(path, "[heap]", 6)) ||
		    (plen > 6 && !memcmp(path, "[anon:", 6)));
	/*
	 * Taken over by an earlier protect(): the uapi header documents
	 * "rw-s anon_inode:[cowguard]"; some kernels name the device file
	 * instead. (tests/fake_cowguard.c names its memfds "[cowguard]".)
	 */
	if (!eligible && (memmem(path, plen, "[cowguard]", 10) ||
			  (plen == 13 && !memcmp(path, "/dev/cowguard", 13))))
		eligible = CG_VMA_REGISTERED;
	return push3(&m->vmas, start, stop, (uintptr_t)eligible);
}

int cg_memmap_read(struct cg_memmap *m)
{
	struct cg_vec buf = { 0 };
	size_t used = 0;
	const char *p, *end, *nl;
	int fd, ret = -1;

	memset(m, 0, sizeof(*m));
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n;

		if (cg_vec_reserve(&buf, (used + 65536) / sizeof(uintptr_t) + 1))
			goto out;
		n = read(fd, (char *)buf.v + used, buf.bytes - used);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	p = (const char *)buf.v;
	end = p + used;
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (parse_line(m, p, nl))
			goto out;
	}
	m->nvma = m->vmas.n / VMA_WORDS;
	if (dl_iterate_phdr(phdr_cb, m)) {
		errno = ENOMEM;
		goto out;
	}
	ret = 0;
out:
	close(fd);
	cg_vec_free(&buf);
	return ret;
}

void cg_memmap_free(struct cg_memmap *m)
{
	cg_vec_free(&m->vmas);
	cg_vec_free(&m->excl);
	m->nvma = m->nexcl = 0;
}

static int cmp_interval(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

void cg_memmap_finish(struct cg_memmap *m)
{
	uintptr_t *v = m->excl.v;
	size_t n = m->excl.n / EXCL_WORDS, i, k = 0;

	if (!n) {
		m->nexcl = 0;
		return;
	}
	qsort(v, n, EXCL_WORDS * sizeof(uintptr_t), cmp_interval);
	for (i = 1; i < n; i++) {
		if (v[2 * i] <= v[2 * k + 1]) {
			if (v[2 * i + 1] > v[2 * k + 1])
				v[2 * k + 1] = v[2 * i + 1];
		} else {
			k++;
			v[2 * k] = v[2 * i];
			v[2 * k + 1] = v[2 * i + 1];
		}
	}
	m->nexcl = k + 1;
	m->excl.n = m->nexcl * EXCL_WORDS;
}

int cg_memmap_excluded(const struct cg_memmap *m, uintptr_t start,
		       uintptr_t end)
{
	const uintptr_t *v = m->excl.v;
	size_t lo = 0, hi = m->nexcl;

	/* First interval whose end is above start. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[2 * mid + 1] <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nexcl && v[2 * lo] < end;
}

long cg_memmap_lookup(const struct cg_memmap *m, uintptr_t addr, size_t len)
{
	const uintptr_t *v = m->vmas.v;
	size_t lo = 0, hi = m->nvma;

	/* Last VMA whose start is <= addr (maps is sorted by address). */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[VMA_WORDS * mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	lo--;
	if (addr + len > v[VMA_WORDS * lo + 1] || addr + len < addr)
		return -1;
	if (v[VMA_WORDS * lo + 2] == CG_VMA_REGISTERED)
		return -2;
	if (!v[VMA_WORDS * lo + 2])
		return -1;
	if (cg_memmap_excluded(m, addr, addr + len))
		return -1;
	return (long)lo;
}

static int push_range(struct cg_vec *out, const struct cg_range *r)
{
	if (cg_vec_reserve(out, out->n + CG_RANGE_WORDS))
		return -1;
	memcpy(out->v + out->n, r, sizeof(*r));
	out->n += CG_RANGE_WORDS;
	return 0;
}

/* Can ranges a and b (a before b) be joined into one? */
static int joinable(const struct cg_memmap *m, const struct cg_range *a,
		    const struct cg_range *b)
{
	return a->vma == b->vma && !cg_memmap_excluded(m, a->end, b->start);
}

long cg_build_ranges(const struct cg_memmap *m, const uintptr_t *slots,
		     size_t nslots, size_t gap_pages, size_t max_ranges,
		     struct cg_vec *out)
{
	struct cg_vec gaps = { 0 };
	struct cg_range cur = { 0 };
	size_t i, n, k;
	int have = 0;

	/* Pass 1: one range per run of pages, small gaps joined. */
	for (i = 0; i < nslots; i++) {
		uintptr_t page = slots[i] & ~(CG_PAGE_SIZE - 1);
		long vma = cg_memmap_lookup(m, slots[i], CG_SLOT_WIDTH);

		if (vma < 0) {		/* the caller checked: cannot happen */
			errno = EINVAL;
			return -1;
		}
		if (have && page < cur.end) {
			cur.nslots++;
			continue;
		}
		if (have && vma == cur.vma &&
		    (page - cur.end) >> CG_PAGE_SHIFT <= gap_pages &&
		    !cg_memmap_excluded(m, cur.end, page)) {
			cur.end = page + CG_PAGE_SIZE;
			cur.nslots++;
			continue;
		}
		if (have && push_range(out, &cur))
			return -1;
		cur.start = page;
		cur.end = page + CG_PAGE_SIZE;
		cur.first = i;
		cur.nslots = 1;
		cur.vma = vma;
		have = 1;
	}
	if (have && push_range(out, &cur))
		return -1;
	n = out->n / CG_RANGE_WORDS;
	if (n <= max_ranges || n < 2)
		return (long)n;

	/*
	 * Pass 2: too many ranges (each one costs the process VMAs, and
	 * vm.max_map_count is finite): join the smallest joinable gaps.
	 * Find the size threshold that removes enough of them, then join
	 * every joinable gap up to it in one sweep.
	 */
	for (i = 0; i + 1 < n; i++) {
		struct cg_range *a = cg_range_at(out, i), *b = a + 1;

		if (joinable(m, a, b) && cg_vec_push(&gaps, b->start - a->end)) {
			cg_vec_free(&gaps);
			return -1;
		}
	}
	if (gaps.n) {
		struct cg_vec tmp = { 0 };
		uintptr_t limit;
		size_t want = n - max_ranges;

		if (cg_vec_reserve(&tmp, gaps.n)) {
			cg_vec_free(&gaps);
			return -1;
		}
		cg_sort_words(gaps.v, gaps.n, tmp.v);
		cg_vec_free(&tmp);
		limit = gaps.v[(want < gaps.n ? want : gaps.n) - 1];

		k = 0;
		for (i = 1; i < n; i++) {
			struct cg_range *a = cg_range_at(out, k);
			struct cg_range *b = cg_range_at(out, i);

			if (joinable(m, a, b) && b->start - a->end <= limit) {
				a->end = b->end;
				a->nslots = b->first + b->nslots - a->first;
			} else {
				k++;
				if (k != i)
					memcpy(cg_range_at(out, k), b, sizeof(*b));
			}
		}
		n = k + 1;
		out->n = n * CG_RANGE_WORDS;
	}
	cg_vec_free(&gaps);
	return (long)n;
}
