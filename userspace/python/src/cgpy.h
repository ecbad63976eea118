/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * cowguard's CPython adapter: declarations shared by the C files.
 *
 * heap.c	walks the object graph (explicit queue, address set)
 * memmap.c	/proc/self/maps, ELF segments, page ranges
 * module.c	the Python module: protect, plan, stats
 *
 * Every buffer whose size depends on the heap lives in its own anonymous
 * mapping (struct cg_vec), never in the malloc heap: the walk must not
 * grow the heap it is taking a picture of, and the pages it uses must not
 * end up inside a registered range.
 */
#ifndef CGPY_H
#define CGPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The band, per interpreter generation. See README.md, "Band values".
 *
 * <= 3.11: refcounts are plain 64-bit counters written by every
 *	INCREF/DECREF (addq/subq $1). Objects get Cinder's immortal value
 *	2^60; the band is [2^59, 2^61]. The upper bound stays below 2^62
 *	because the cyclic GC shifts a refcount left by two into PyGC_Head
 *	(gc_reset_refs) if an object is ever scanned again.
 * 3.12, 3.13: the interpreter's own immortal value _Py_IMMORTAL_REFCNT
 *	(0xFFFFFFFF): INCREF/DECREF skip it, so the interpreter itself never
 *	writes. Old limited-API extensions still do raw 64-bit ++/--, which
 *	gives 0x1_0000_0000 / 0xFFFF_FFFE: the band [2^31, 2^33 - 1] keeps
 *	both, and every value in it is at least 2^31 away from 0.
 */
#if PY_VERSION_HEX >= 0x030C0000
#define CG_NATIVE_IMMORTAL	1
#define CG_REFCNT_VALUE		((uint64_t)_Py_IMMORTAL_REFCNT)
#define CG_BAND_LOW		(1ULL << 31)
#define CG_BAND_HIGH		((1ULL << 33) - 1)
#else
#define CG_NATIVE_IMMORTAL	0
#define CG_REFCNT_VALUE		(1ULL << 60)
#define CG_BAND_LOW		(1ULL << 59)
#define CG_BAND_HIGH		(1ULL << 61)
#endif
#define CG_SLOT_WIDTH		8

/* Layouts this adapter knows: 64-bit little-endian GIL builds, 3.8-3.13. */
#if PY_VERSION_HEX < 0x03080000
#define CG_UNSUPPORTED	"CPython older than 3.8"
#elif PY_VERSION_HEX >= 0x030E0000
#define CG_UNSUPPORTED	"CPython 3.14+ (32-bit refcount field with ob_flags; not supported yet)"
#elif defined(Py_GIL_DISABLED)
#define CG_UNSUPPORTED	"free-threaded CPython (split refcounts)"
#elif SIZEOF_VOID_P != 8
#define CG_UNSUPPORTED	"32-bit CPython"
#elif PY_BIG_ENDIAN
#define CG_UNSUPPORTED	"big-endian CPython"
#endif

#define CG_PAGE_SHIFT	12
#define CG_PAGE_SIZE	(1UL << CG_PAGE_SHIFT)

/* A growable array of words in its own anonymous mapping. */
struct cg_vec {
	uintptr_t *v;
	size_t n;		/* words used */
	size_t cap;		/* words available */
	size_t bytes;		/* size of the mapping */
};

int cg_vec_reserve(struct cg_vec *a, size_t words);
void cg_vec_free(struct cg_vec *a);
static inline int cg_vec_push(struct cg_vec *a, uintptr_t x)
{
	if (a->n == a->cap && cg_vec_reserve(a, a->n + 1))
		return -1;
	a->v[a->n++] = x;
	return 0;
}
void cg_sort_words(uintptr_t *v, size_t n, uintptr_t *tmp);

/* An open-addressing set of non-zero addresses. */
struct cg_set {
	uintptr_t *tab;
	size_t mask;		/* capacity - 1, capacity a power of two */
	size_t count;
	size_t bytes;
};

/* The walk: every object reached, in discovery order. */
struct cg_walk {
	struct cg_set seen;
	struct cg_vec objs;	/* PyObject *, doubles as the work queue */
	int oom;
};

void cg_walk_init(struct cg_walk *w);
void cg_walk_free(struct cg_walk *w);
/* Add one root (NULL is ignored). -1 with errno ENOMEM on failure. */
int cg_walk_add(struct cg_walk *w, PyObject *o);
/* Transitive closure of what was added. -1 on ENOMEM. */
int cg_walk_run(struct cg_walk *w);

/* Memory the process may register: anonymous private rw-p VMAs. */
struct cg_vma {
	uintptr_t start, end;
	int eligible;
};

struct cg_memmap {
	struct cg_vec vmas;	/* 3 words per VMA: start, end, eligible */
	struct cg_vec excl;	/* 2 words per interval: start, end (sorted) */
	size_t nvma, nexcl;
};

int cg_memmap_read(struct cg_memmap *m);
void cg_memmap_free(struct cg_memmap *m);
/* Exclude [start, end) too (call before cg_memmap_finish). */
int cg_memmap_exclude(struct cg_memmap *m, uintptr_t start, uintptr_t end);
/* Sort and merge the exclusions. */
void cg_memmap_finish(struct cg_memmap *m);
#define CG_VMA_REGISTERED	2	/* a cowguard mapping */
/* Index of the eligible VMA holding [addr, addr + len); -2 if that is a
 * cowguard mapping (registered before), else -1. */
long cg_memmap_lookup(const struct cg_memmap *m, uintptr_t addr, size_t len);
/* Does [start, end) overlap an exclusion? */
int cg_memmap_excluded(const struct cg_memmap *m, uintptr_t start, uintptr_t end);

/* A page-aligned range to register; slots [first, first + nslots). */
struct cg_range {
	uintptr_t start, end;
	size_t first, nslots;
	long vma;
};

/*
 * Coalesce sorted, unique, marked slot addresses into ranges of whole
 * pages. Pages of one VMA are joined across gaps of at most gap_pages
 * unmarked pages that touch no exclusion; if that leaves more than
 * max_ranges ranges, the smallest remaining joinable gaps are joined
 * too, up to the limit. Returns the number of ranges or -1 (ENOMEM).
 * *out is an array of struct cg_range in a cg_vec (words).
 */
long cg_build_ranges(const struct cg_memmap *m, const uintptr_t *slots,
		     size_t nslots, size_t gap_pages, size_t max_ranges,
		     struct cg_vec *out);

#define CG_RANGE_WORDS	(sizeof(struct cg_range) / sizeof(uintptr_t))
static inline struct cg_range *cg_range_at(const struct cg_vec *v, size_t i)
{
	return (struct cg_range *)(v->v + i * CG_RANGE_WORDS);
}

#endif /* CGPY_H */
