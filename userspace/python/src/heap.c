// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The heap walk: the transitive closure of a set of roots through
 * tp_traverse, plus what tp_traverse leaves out because it cannot form a
 * cycle: static types' dict, MRO and bases; dict keys; object members
 * (PyMemberDef) of any type, which covers code objects; heap types' names.
 *
 * gc.get_objects() only lists GC-tracked objects. Atomic objects (int,
 * str, float, bytes) are never tracked, and CPython untracks tuples and
 * dicts that hold only atomic values, so a one-level walk from the GC
 * lists misses nested data: the walk follows every referent, with an
 * explicit queue (no recursion: the heap can be deep) and a set keyed by
 * address.
 *
 * The walk only reads: it never takes references, so every object it
 * records must stay alive until the caller is done with the addresses.
 * The caller guarantees that by running no Python code in between.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "cgpy.h"
#include <structmember.h>

/* --- buffers in their own mappings ------------------------------------ */

static size_t page_round(size_t n)
{
	return (n + CG_PAGE_SIZE - 1) & ~(CG_PAGE_SIZE - 1);
}

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int cg_vec_reserve(struct cg_vec *a, size_t words)
{
	size_t cap, bytes;
	void *p;

	if (words <= a->cap)
		return 0;
	cap = a->cap ? a->cap : 8192;
	while (cap < words) {
		if (cap > SIZE_MAX / 2 / sizeof(uintptr_t)) {
			errno = ENOMEM;
			return -1;
		}
		cap *= 2;
	}
	bytes = page_round(cap * sizeof(uintptr_t));
	if (a->v)
		p = mremap(a->v, a->bytes, bytes, MREMAP_MAYMOVE);
	else
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return -1;
	}
	a->v = p;
	a->bytes = bytes;
	a->cap = bytes / sizeof(uintptr_t);
	return 0;
}

void cg_vec_free(struct cg_vec *a)
{
	if (a->v)
		munmap(a->v, a->bytes);
	memset(a, 0, sizeof(*a));
}

/* LSD radix sort of n words, 16 bits a pass; tmp holds n words. */
void cg_sort_words(uintptr_t *v, size_t n, uintptr_t *tmp)
{
	static size_t count[1 << 16];
	uintptr_t *src = v, *dst = tmp, *t;
	uintptr_t all_or = 0;
	unsigned int shift;
	size_t i, sum;

	for (i = 0; i < n; i++)
		all_or |= v[i];

	for (shift = 0; shift < 64; shift += 16) {
		if (!(all_or >> shift))
			break;
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xffff]++;
		sum = 0;
		for (i = 0; i < (1 << 16); i++) {
			size_t c = count[i];

			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xffff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof(uintptr_t));
}

/* --- the address set -------------------------------------------------- */

static size_t slot_of(uintptr_t key, size_t mask)
{
	/* Objects are 8- or 16-byte aligned: drop the low bits, then mix. */
	uint64_t h = (uint64_t)(key >> 3) * 0x9E3779B97F4A7C15ULL;

	return (size_t)(h >> 17) & mask;
}

static int set_resize(struct cg_set *s, size_t capacity)
{
	size_t bytes = page_round(capacity * sizeof(uintptr_t));
	uintptr_t *tab = map_anon(bytes);
	size_t i, mask = capacity - 1;

	if (!tab) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; s->tab && i <= s->mask; i++) {
		uintptr_t k = s->tab[i];
		size_t j;

		if (!k)
			continue;
		for (j = slot_of(k, mask); tab[j]; j = (j + 1) & mask)
			;
		tab[j] = k;
	}
	if (s->tab)
		munmap(s->tab, s->bytes);
	s->tab = tab;
	s->mask = mask;
	s->bytes = bytes;
	return 0;
}

/* 1: added, 0: already there, -1: out of memory. */
static int set_add(struct cg_set *s, uintptr_t key)
{
	size_t j;

	if ((s->count + 1) * 2 > s->mask + 1 &&
	    set_resize(s, s->tab ? (s->mask + 1) * 2 : 1 << 16))
		return -1;
	for (j = slot_of(key, s->mask); s->tab[j]; j = (j + 1) & s->mask)
		if (s->tab[j] == key)
			return 0;
	s->tab[j] = key;
	s->count++;
	return 1;
}

/* --- the walk --------------------------------------------------------- */

void cg_walk_init(struct cg_walk *w)
{
	memset(w, 0, sizeof(*w));
}

void cg_walk_free(struct cg_walk *w)
{
	if (w->seen.tab)
		munmap(w->seen.tab, w->seen.bytes);
	cg_vec_free(&w->objs);
	memset(w, 0, sizeof(*w));
}

static int visit(PyObject *o, void *arg)
{
	struct cg_walk *w = arg;
	int r;

	if (!o)
		return 0;
	r = set_add(&w->seen, (uintptr_t)o);
	if (r > 0)
		r = cg_vec_push(&w->objs, (uintptr_t)o);
	if (r < 0) {
		w->oom = 1;
		return -1;
	}
	return 0;
}

int cg_walk_add(struct cg_walk *w, PyObject *o)
{
	visit(o, w);
	return w->oom ? -1 : 0;
}

/*
 * What a static (non-heap) type refers to: static types are not GC
 * objects, so tp_traverse is never called on them, yet their dict, MRO
 * and bases tuples live on the heap and are read (and on <= 3.11 incref'd)
 * by every attribute lookup.
 */
static void visit_static_type(struct cg_walk *w, PyTypeObject *tp)
{
#if PY_VERSION_HEX >= 0x030C0000
	/* Builtin static types keep their dict in the interpreter state. */
	PyObject *dict = PyType_GetDict(tp);

	if (dict) {
		visit(dict, w);
		Py_DECREF(dict);	/* still owned by the type */
	} else {
		PyErr_Clear();
	}
#else
	visit(tp->tp_dict, w);
#endif
	visit(tp->tp_mro, w);
	visit(tp->tp_bases, w);
	visit((PyObject *)tp->tp_base, w);
}

/* structmember.h's T_OBJECT and T_OBJECT_EX (Py_T_* since 3.12). */
#define CG_T_OBJECT		6
#define CG_T_OBJECT_EX		16
#define CG_RELATIVE_OFFSET	8	/* Py_RELATIVE_OFFSET, 3.12+ */

/*
 * Object members (PyMemberDef T_OBJECT*) of o's type and its bases. Types
 * without GC have no tp_traverse at all, yet point to objects the
 * interpreter reads all the time: a code object's co_consts, co_names,
 * co_filename (and, up to 3.10, co_code, co_varnames...), a descriptor's
 * __name__, a range's start/stop/step. tp_traverse of GC types may skip
 * members too when they cannot form cycles.
 */
static void visit_members(struct cg_walk *w, PyObject *o)
{
	PyTypeObject *t;

	for (t = Py_TYPE(o); t; t = t->tp_base) {
		PyMemberDef *m = t->tp_members;

		for (; m && m->name; m++) {
			if (m->type != CG_T_OBJECT && m->type != CG_T_OBJECT_EX)
				continue;
			if (m->flags & CG_RELATIVE_OFFSET)
				continue;
			visit(*(PyObject **)((char *)o + m->offset), w);
		}
	}
}

/*
 * A dict's keys: dict_traverse() skips them when they are all str (they
 * cannot form cycles), yet every lookup and iteration reads them, and on
 * <= 3.11 iteration increfs them.
 */
static void visit_dict_keys(struct cg_walk *w, PyObject *d)
{
	Py_ssize_t pos = 0;
	PyObject *key, *value;

	while (!w->oom && PyDict_Next(d, &pos, &key, &value))
		visit(key, w);
}

int cg_walk_run(struct cg_walk *w)
{
	size_t i;

	for (i = 0; i < w->objs.n && !w->oom; i++) {
		PyObject *o = (PyObject *)w->objs.v[i];
		PyTypeObject *tp = Py_TYPE(o);

		visit((PyObject *)tp, w);
		if (PyType_Check(o)) {
			PyTypeObject *t = (PyTypeObject *)o;

			if (!(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
				visit_static_type(w, t);
			} else {
				/* type_traverse() skips the names. */
				PyHeapTypeObject *ht = (PyHeapTypeObject *)o;

				visit(ht->ht_name, w);
				visit(ht->ht_qualname, w);
			}
		}
		if (PyDict_Check(o))
			visit_dict_keys(w, o);
		visit_members(w, o);
		/* The same test gc.get_referents() makes. */
		if (PyObject_IS_GC(o) && tp->tp_traverse)
			tp->tp_traverse(o, visit, w);
	}
	if (w->oom) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}
