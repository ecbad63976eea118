// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * _cowguard: the C half of the cowguard Python package.
 *
 * protect() runs, without executing any Python code from the walk on:
 *	roots (gc.get_objects(), sys.modules, builtins, the frames of the
 *	calling thread and their locals) -> walk -> gc.freeze() -> read
 *	/proc/self/maps -> classify
 *	every object -> sort the marked slots -> page ranges -> [open the
 *	device -> precompute lazy caches -> move refcounts into the band ->
 *	register every range with its slot map].
 * The walk takes no references: objects stay alive only because nothing
 * runs that could drop one, and the GC is disabled by the caller. That is
 * also why nothing here allocates Python objects between the walk and the
 * registration.
 *
 * Without the device (ENOENT...), refcounts are left alone unless the
 * caller asked for CG_F_MARK_ALWAYS; the result says what happened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cgpy.h"
#include <frameobject.h>
#include "cowguard.h"		/* libcowguard */

/* Flags of _cowguard.protect(), mirrored in cowguard/__init__.py. */
#define CG_F_DRY		0x01	/* plan only: change nothing */
#define CG_F_REGISTER		0x02	/* open the device and register */
#define CG_F_MARK_ALWAYS	0x04	/* move refcounts even without it */
#define CG_F_KEEP_PLAN		0x08	/* return ranges and slots */
#define CG_F_FRAMES		0x10	/* frames of this thread are roots */
#define CG_F_KEEP_MAPS		0x20	/* return the slot maps registered */

enum skip_reason {
	SKIP_LOCATION,		/* not in registrable memory */
	SKIP_REGISTERED,	/* registered by an earlier protect() */
	SKIP_FINALIZER,		/* tp_finalize/tp_del/__del__: must die */
	SKIP_FRAME,		/* frame objects: die when their call ends */
	SKIP_REFCOUNT,		/* a refcount that is not a sane count */
	SKIP_MISALIGNED,	/* not 8-byte aligned (never seen) */
	__SKIP_MAX
};

static const char *const skip_names[__SKIP_MAX] = {
	"location", "registered", "finalizer", "frame", "refcount", "misaligned",
};

static int g_fd = -1;		/* /dev/cowguard, once opened */

struct plan {
	struct cg_walk walk;
	struct cg_memmap mm;
	struct cg_vec slots;	/* sorted addresses of marked objects */
	struct cg_vec skips;	/* address, reason: objects left alone */
	struct cg_vec ranges;
	size_t nranges;
	size_t pages;
	size_t bytes;
	size_t in_band;		/* marked with a value already in the band */
	size_t skipped[__SKIP_MAX];
	uintptr_t range_bytes;
};

static void plan_free(struct plan *p)
{
	cg_walk_free(&p->walk);
	cg_memmap_free(&p->mm);
	cg_vec_free(&p->slots);
	cg_vec_free(&p->skips);
	cg_vec_free(&p->ranges);
}

static int in_band(uint64_t v)
{
	return v >= CG_BAND_LOW && v <= CG_BAND_HIGH;
}

/* --- roots ------------------------------------------------------------ */

static int add_items(struct cg_walk *w, PyObject *seq)
{
	Py_ssize_t i, n = PyList_GET_SIZE(seq);

	for (i = 0; i < n; i++)
		if (cg_walk_add(w, PyList_GET_ITEM(seq, i)))
			return -1;
	return 0;
}

static PyFrameObject *frame_back(PyFrameObject *f)
{
#if PY_VERSION_HEX >= 0x03090000
	return PyFrame_GetBack(f);
#else
	Py_XINCREF(f->f_back);
	return f->f_back;
#endif
}

/*
 * The frames of the calling thread and, on 3.11+, their locals: since
 * 3.11 an executing frame's locals live in the interpreter's frame stack,
 * not in a GC object, and frame_traverse() skips them. The lists of
 * values go into keep so that they outlive the walk.
 */
static int add_frames(struct cg_walk *w, PyObject *keep)
{
	PyFrameObject *f = PyEval_GetFrame();

	/*
	 * The innermost frame is cowguard.protect()'s own: its locals die
	 * when it returns, so they are not roots (protected, they would
	 * live on unreachable).
	 */
	f = f ? frame_back(f) : NULL;
	while (f) {
		PyFrameObject *back;

		if (cg_walk_add(w, (PyObject *)f))
			goto fail;
#if PY_VERSION_HEX >= 0x030B0000
		{
			PyObject *locals = PyFrame_GetLocals(f), *vals;

			if (!locals) {
				PyErr_Clear();
			} else {
				vals = PyMapping_Values(locals);
				Py_DECREF(locals);
				if (!vals)
					PyErr_Clear();
				else if (PyList_Append(keep, vals) < 0 ||
					 add_items(w, vals)) {
					Py_DECREF(vals);
					goto fail;
				} else {
					Py_DECREF(vals);
				}
			}
		}
#else
		(void)keep;
#endif
		back = frame_back(f);
		Py_DECREF(f);
		f = back;
	}
	return 0;
fail:
	Py_DECREF(f);
	return -1;
}

/* --- classification --------------------------------------------------- */

static int skip_reason(const struct cg_memmap *mm, PyObject *o)
{
	PyTypeObject *tp = Py_TYPE(o);
	Py_ssize_t rc = o->ob_refcnt;

	if ((uintptr_t)o % CG_SLOT_WIDTH)
		return SKIP_MISALIGNED;
	switch (cg_memmap_lookup(mm, (uintptr_t)o, CG_SLOT_WIDTH)) {
	case -1:
		return SKIP_LOCATION;
	case -2:
		return SKIP_REGISTERED;
	}
	if (PyFrame_Check(o))
		return SKIP_FRAME;
	/*
	 * Objects whose death runs code: files must be flushed and closed,
	 * generators finalized, __del__ called. They stay mortal so that
	 * the program keeps the behaviour it relies on; what they refer to
	 * is still protected.
	 */
	if (tp->tp_finalize || tp->tp_del)
		return SKIP_FINALIZER;
	if (rc <= 0 || ((uint64_t)rc > CG_BAND_HIGH))
		return SKIP_REFCOUNT;
	return -1;
}

/* Rough bytes of an object: header and inline data, plus its GC head. */
static size_t object_bytes(PyObject *o)
{
	PyTypeObject *tp = Py_TYPE(o);
	size_t n = (size_t)tp->tp_basicsize;

	if (PyUnicode_CheckExact(o)) {
		if (PyUnicode_IS_COMPACT_ASCII(o))
			n = sizeof(PyASCIIObject) + (size_t)PyUnicode_GET_LENGTH(o) + 1;
		else if (PyUnicode_IS_COMPACT(o))
			n = sizeof(PyCompactUnicodeObject) +
			    ((size_t)PyUnicode_GET_LENGTH(o) + 1) * PyUnicode_KIND(o);
	} else if (tp->tp_itemsize) {
		/* Not Py_SIZE(): 3.12+ asserts it is not used on an int. */
		Py_ssize_t items = ((PyVarObject *)o)->ob_size;

#if PY_VERSION_HEX >= 0x030C0000
		if (PyLong_Check(o))	/* lv_tag: digits << 3 | sign */
			items = (Py_ssize_t)((size_t)items >> 3);
#endif
		if (items < 0)
			items = -items;
		n += (size_t)items * (size_t)tp->tp_itemsize;
	}
	if (PyObject_IS_GC(o))
		n += 2 * sizeof(void *);	/* PyGC_Head */
	return n;
}

/* Our own buffers must never end up inside a range. */
static int exclude_vec(struct cg_memmap *mm, const struct cg_vec *v)
{
	return v->v ? cg_memmap_exclude(mm, (uintptr_t)v->v,
					(uintptr_t)v->v + v->bytes) : 0;
}

static int plan_build(struct plan *p, size_t gap_pages, size_t max_ranges)
{
	struct cg_vec tmp = { 0 };
	uintptr_t last_page = 0;
	size_t i;
	long n;

	if (cg_memmap_read(&p->mm))
		return -1;
	if (exclude_vec(&p->mm, &p->walk.objs) ||
	    (p->walk.seen.tab &&
	     cg_memmap_exclude(&p->mm, (uintptr_t)p->walk.seen.tab,
			       (uintptr_t)p->walk.seen.tab + p->walk.seen.bytes)))
		return -1;

	/*
	 * The walk's buffers above existed when the maps were read: a range
	 * must not cover them (they are unmapped afterwards). These two are
	 * mapped after the reading, outside every VMA it listed; excluded
	 * all the same, it costs nothing.
	 */
	if (cg_vec_reserve(&p->slots, p->walk.objs.n + 1) ||
	    cg_vec_reserve(&tmp, p->walk.objs.n + 1) ||
	    exclude_vec(&p->mm, &p->slots) || exclude_vec(&p->mm, &tmp))
		goto fail;
	cg_memmap_finish(&p->mm);

	for (i = 0; i < p->walk.objs.n; i++) {
		PyObject *o = (PyObject *)p->walk.objs.v[i];
		int why = skip_reason(&p->mm, o);

		if (why >= 0) {
			p->skipped[why]++;
			if (cg_vec_push(&p->skips, (uintptr_t)o) ||
			    cg_vec_push(&p->skips, (uintptr_t)why))
				goto fail;
			continue;
		}
		if (in_band((uint64_t)o->ob_refcnt))
			p->in_band++;
		p->bytes += object_bytes(o);
		p->slots.v[p->slots.n++] = (uintptr_t)o;
	}
	cg_sort_words(p->slots.v, p->slots.n, tmp.v);
	cg_vec_free(&tmp);

	for (i = 0; i < p->slots.n; i++) {
		uintptr_t page = p->slots.v[i] & ~(CG_PAGE_SIZE - 1);

		if (!i || page != last_page)
			p->pages++;
		last_page = page;
	}
	n = cg_build_ranges(&p->mm, p->slots.v, p->slots.n, gap_pages,
			    max_ranges, &p->ranges);
	if (n < 0)
		return -1;
	p->nranges = (size_t)n;
	for (i = 0; i < p->nranges; i++) {
		struct cg_range *r = cg_range_at(&p->ranges, i);

		p->range_bytes += r->end - r->start;
	}
	return 0;
fail:
	cg_vec_free(&tmp);
	return -1;
}

/* --- changing the heap ------------------------------------------------ */

#if PY_VERSION_HEX < 0x030C0000
static PyObject *g_probe_name;	/* interned, for _PyType_Lookup */
#endif

/*
 * Caches CPython fills lazily inside objects; filling them now keeps the
 * workers' first reads from writing: the hash of exact str and bytes, and
 * the version tag of heap types (method cache).
 */
static void precompute(PyObject *o)
{
	if (PyUnicode_CheckExact(o) || PyBytes_CheckExact(o)) {
		if (PyObject_Hash(o) == -1)
			PyErr_Clear();
	} else if (PyType_Check(o) &&
		   (((PyTypeObject *)o)->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
#if PY_VERSION_HEX >= 0x030C0000
		(void)PyUnstable_Type_AssignVersionTag((PyTypeObject *)o);
#else
		(void)_PyType_Lookup((PyTypeObject *)o, g_probe_name);
		if (PyErr_Occurred())
			PyErr_Clear();
#endif
	}
}

/*
 * Move every marked refcount into the band. 3.12+: the interpreter's
 * immortal value, written the way _Py_SetImmortalUntracked() writes it
 * (3.13's _Py_SetImmortal() also untracks GC objects; here they stay
 * tracked in the permanent generation, which no collection visits, so a
 * later re-track of an untracked container cannot write their GC head).
 */
static void move_refcounts(const struct plan *p)
{
	size_t i;

	for (i = 0; i < p->slots.n; i++)
		precompute((PyObject *)p->slots.v[i]);
	for (i = 0; i < p->slots.n; i++) {
		PyObject *o = (PyObject *)p->slots.v[i];

		if (!in_band((uint64_t)o->ob_refcnt))
			o->ob_refcnt = (Py_ssize_t)CG_REFCNT_VALUE;
	}
}

struct reg_result {
	size_t done;		/* ranges registered */
	uintptr_t bytes;
	int err;		/* -errno of the failing call, or 0 */
	uintptr_t err_start;
	struct cg_vec ids;
	/*
	 * Every range's slot map, back to back (range i's at map_off[i]),
	 * kept so that CG_F_KEEP_MAPS can show exactly what the kernel got.
	 */
	struct cg_vec maps;
	struct cg_vec map_off;
};

static void reg_result_free(struct reg_result *res)
{
	cg_vec_free(&res->ids);
	cg_vec_free(&res->maps);
	cg_vec_free(&res->map_off);
}

static int register_ranges(int fd, const struct plan *p,
			   unsigned int trap_budget, struct reg_result *res)
{
	size_t i, j, total = 0;

	if (cg_vec_reserve(&res->map_off, p->nranges + 1)) {
		res->err = -ENOMEM;
		return -1;
	}
	for (i = 0; i < p->nranges; i++) {
		struct cg_range *r = cg_range_at(&p->ranges, i);

		res->map_off.v[res->map_off.n++] = total;
		total += cowguard_slot_map_len(r->end - r->start, CG_SLOT_WIDTH);
	}
	/* Fresh anonymous memory: the maps start all zero. */
	if (cg_vec_reserve(&res->maps, total / sizeof(uintptr_t) + 1) ||
	    cg_vec_reserve(&res->ids, p->nranges + 1)) {
		res->err = -ENOMEM;
		return -1;
	}

	for (i = 0; i < p->nranges; i++) {
		struct cg_range *r = cg_range_at(&p->ranges, i);
		uint8_t *map = (uint8_t *)res->maps.v + res->map_off.v[i];
		struct cowguard_region reg;
		uint64_t id = 0;
		int ret = 0;

		memset(&reg, 0, sizeof(reg));
		reg.start = (void *)r->start;
		reg.length = r->end - r->start;
		reg.slot_map = map;
		reg.slot_map_len = cowguard_slot_map_len(reg.length,
							 CG_SLOT_WIDTH);
		reg.slot_width = CG_SLOT_WIDTH;
		reg.trap_budget = trap_budget;
		reg.band_low = CG_BAND_LOW;
		reg.band_high = CG_BAND_HIGH;

		for (j = r->first; j < r->first + r->nslots && !ret; j++) {
			uintptr_t s = p->slots.v[j];

			/* The kernel would say ERANGE; say it first. */
			if (!in_band(*(const uint64_t *)s))
				ret = -ERANGE;
			else
				ret = cowguard_slot_mark(map, reg.length,
							 s - r->start,
							 CG_SLOT_WIDTH);
		}
		if (!ret)
			ret = cowguard_register(fd, &reg, &id);
		if (ret < 0) {
			res->err = ret;
			res->err_start = r->start;
			return -1;
		}
		res->ids.v[res->ids.n++] = (uintptr_t)id;
		res->done++;
		res->bytes += reg.length;
	}
	return 0;
}

/* --- results ---------------------------------------------------------- */

static int set_item(PyObject *d, const char *key, PyObject *v)
{
	int ret;

	if (!v)
		return -1;
	ret = PyDict_SetItemString(d, key, v);
	Py_DECREF(v);
	return ret;
}

/* A list of the n words at v, as ints. */
static PyObject *words_list(const uintptr_t *v, size_t n)
{
	PyObject *l = PyList_New((Py_ssize_t)n);
	size_t i;

	for (i = 0; l && i < n; i++) {
		PyObject *x = PyLong_FromUnsignedLong((unsigned long)v[i]);

		if (!x)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, x);
	}
	return l;
}

/*
 * The objects left alone: with reason < 0 every one as (address, reason
 * name); else the objects themselves that were skipped for that reason
 * (the finalizers, for the Python side: it flushes the files among them
 * at exit, see cowguard/__init__.py).
 */
static PyObject *skips_list(const struct plan *p, int reason)
{
	PyObject *l = PyList_New(0);
	size_t i;

	for (i = 0; l && i < p->skips.n / 2; i++) {
		uintptr_t addr = p->skips.v[2 * i], why = p->skips.v[2 * i + 1];
		PyObject *x;

		if (reason >= 0 && why != (uintptr_t)reason)
			continue;
		if (reason >= 0) {
			x = (PyObject *)addr;
			Py_INCREF(x);
		} else {
			x = Py_BuildValue("(ks)", (unsigned long)addr, skip_names[why]);
		}
		if (!x || PyList_Append(l, x) < 0)
			Py_CLEAR(l);
		Py_XDECREF(x);
	}
	return l;
}

static PyObject *ranges_list(const struct plan *p)
{
	PyObject *l = PyList_New((Py_ssize_t)p->nranges);
	size_t i;

	for (i = 0; l && i < p->nranges; i++) {
		struct cg_range *r = cg_range_at(&p->ranges, i);
		PyObject *t = Py_BuildValue("(kkn)", (unsigned long)r->start,
					    (unsigned long)(r->end - r->start),
					    (Py_ssize_t)r->nslots);

		if (!t)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, t);
	}
	return l;
}

/* The slot maps the kernel got: [(start, length, bitmap bytes)]. */
static PyObject *slot_maps_list(const struct plan *p,
				const struct reg_result *rr)
{
	PyObject *l = PyList_New((Py_ssize_t)rr->done);
	size_t i;

	for (i = 0; l && i < rr->done; i++) {
		struct cg_range *r = cg_range_at(&p->ranges, i);
		size_t len = cowguard_slot_map_len(r->end - r->start, CG_SLOT_WIDTH);
		PyObject *t = Py_BuildValue("(kky#)", (unsigned long)r->start,
					    (unsigned long)(r->end - r->start),
					    (const char *)rr->maps.v + rr->map_off.v[i],
					    (Py_ssize_t)len);

		if (!t)
			Py_CLEAR(l);
		else
			PyList_SET_ITEM(l, (Py_ssize_t)i, t);
	}
	return l;
}

static PyObject *plan_dict(const struct plan *p, int keep)
{
	PyObject *d = PyDict_New(), *sk, *pl;
	size_t i;

	if (!d)
		return NULL;
	if (set_item(d, "walked", PyLong_FromSize_t(p->walk.objs.n)) ||
	    set_item(d, "objects", PyLong_FromSize_t(p->slots.n)) ||
	    set_item(d, "already_in_band", PyLong_FromSize_t(p->in_band)) ||
	    set_item(d, "bytes", PyLong_FromSize_t(p->bytes)) ||
	    set_item(d, "pages", PyLong_FromSize_t(p->pages)) ||
	    set_item(d, "ranges", PyLong_FromSize_t(p->nranges)) ||
	    set_item(d, "range_bytes", PyLong_FromSize_t(p->range_bytes)))
		goto fail;
	sk = PyDict_New();
	for (i = 0; sk && i < __SKIP_MAX; i++)
		if (set_item(sk, skip_names[i], PyLong_FromSize_t(p->skipped[i])))
			Py_CLEAR(sk);
	if (set_item(d, "skipped", sk))	/* takes sk, NULL or not */
		goto fail;

	if (keep) {
		pl = PyDict_New();
		if (!pl || PyDict_SetItemString(d, "plan", pl) < 0) {
			Py_XDECREF(pl);
			goto fail;
		}
		Py_DECREF(pl);		/* d holds it */
		if (set_item(pl, "ranges", ranges_list(p)) ||
		    set_item(pl, "slots", words_list(p->slots.v, p->slots.n)) ||
		    set_item(pl, "skipped", skips_list(p, -1)))
			goto fail;
	}
	return d;
fail:
	Py_DECREF(d);
	return NULL;
}

static int set_error(PyObject *d, const char *stage, enum cowguard_op op,
		     int err)
{
	if (set_item(d, "stage", PyUnicode_FromString(stage)) ||
	    set_item(d, "errno", PyLong_FromLong(-err)) ||
	    set_item(d, "error", PyUnicode_FromString(cowguard_strerror(op, err))))
		return -1;
	return 0;
}

static PyObject *raise_errno(int err)
{
	errno = err;
	return PyErr_SetFromErrno(err == ENOMEM ? PyExc_MemoryError : PyExc_OSError);
}

/* OSError(errno, libcowguard's explanation) for ret = -errno. */
static PyObject *raise_cg(enum cowguard_op op, int ret)
{
	PyObject *e = Py_BuildValue("(is)", -ret, cowguard_strerror(op, ret));

	if (e) {
		PyErr_SetObject(PyExc_OSError, e);
		Py_DECREF(e);
	}
	return NULL;
}

/* --- the functions ---------------------------------------------------- */

static PyObject *call_gc(const char *name)
{
	PyObject *gc = PyImport_ImportModule("gc"), *r;

	if (!gc)
		return NULL;
	r = PyObject_CallMethod(gc, name, NULL);
	Py_DECREF(gc);
	return r;
}

static int check_supported(void)
{
#ifdef CG_UNSUPPORTED
	PyErr_SetString(PyExc_RuntimeError,
			"cowguard does not support " CG_UNSUPPORTED);
	return -1;
#else
	return 0;
#endif
}

PyDoc_STRVAR(protect_doc,
"protect(flags, trap_budget, gap_pages, max_ranges) -> dict\n\n"
"The work of cowguard.protect(); call that instead.");

static PyObject *cg_protect(PyObject *self, PyObject *args)
{
	struct plan p;
	struct reg_result rr;
	unsigned int flags, trap_budget;
	Py_ssize_t gap_pages, max_ranges;
	PyObject *roots = NULL, *keep = NULL, *d = NULL, *r;
	int fd = -1, marked = 0;

	(void)self;
	if (!PyArg_ParseTuple(args, "IInn", &flags, &trap_budget, &gap_pages,
			      &max_ranges))
		return NULL;
	if (check_supported())
		return NULL;
	if (gap_pages < 0 || max_ranges < 1) {
		PyErr_SetString(PyExc_ValueError,
				"gap_pages must be >= 0 and max_ranges >= 1");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	memset(&rr, 0, sizeof(rr));
	cg_walk_init(&p.walk);

	/*
	 * Roots. gc.get_objects() leaves out the list it returns; keep is
	 * made after it so that it is not a root either: everything the
	 * walk records must outlive the walk, and these two lists do not.
	 */
	roots = call_gc("get_objects");
	keep = roots ? PyList_New(0) : NULL;
	if (!keep)
		goto fail;
	if (!PyList_Check(roots)) {
		PyErr_SetString(PyExc_TypeError, "gc.get_objects() is not a list");
		goto fail;
	}
	/*
	 * sys.modules and builtins too: objects frozen by an earlier
	 * gc.freeze() are not in gc.get_objects() (a dry run does not thaw
	 * them), but whatever the program uses is reachable from there.
	 */
	if (add_items(&p.walk, roots) ||
	    cg_walk_add(&p.walk, PyImport_GetModuleDict()) ||
	    cg_walk_add(&p.walk, PyEval_GetBuiltins()) ||
	    ((flags & CG_F_FRAMES) && add_frames(&p.walk, keep)))
		goto fail_errno;
	if (cg_walk_run(&p.walk))
		goto fail_errno;
	/*
	 * Drop the lists now, before refcounts move: every object in them
	 * is referenced from elsewhere too (tracked objects are alive
	 * because something holds them), so none dies.
	 */
	Py_CLEAR(roots);
	Py_CLEAR(keep);

	if (!(flags & CG_F_DRY)) {
		r = call_gc("freeze");
		if (!r)
			goto fail;
		Py_DECREF(r);
	}
	if (plan_build(&p, (size_t)gap_pages, (size_t)max_ranges))
		goto fail_errno;

	if (flags & CG_F_DRY) {
		d = plan_dict(&p, !!(flags & CG_F_KEEP_PLAN));
		if (!d)
			goto fail;
		goto done;
	}

	if (flags & CG_F_REGISTER) {
		fd = g_fd >= 0 ? g_fd : cowguard_open(0);
		if (fd >= 0)
			g_fd = fd;
	}
	if (fd >= 0 || (flags & CG_F_MARK_ALWAYS)) {
		move_refcounts(&p);
		marked = 1;
	}
	if (fd >= 0)
		register_ranges(fd, &p, trap_budget, &rr);
	/*
	 * Python objects only now: an allocation before the refcounts moved
	 * could have reused the memory of an object the walk recorded, had
	 * one died (none should).
	 */
	d = plan_dict(&p, !!(flags & CG_F_KEEP_PLAN));
	if (!d)
		goto fail;
	if (fd < 0 && (flags & CG_F_REGISTER) &&
	    set_error(d, "open", COWGUARD_OP_OPEN, fd))
		goto fail;
	if (rr.err && set_error(d, "register", COWGUARD_OP_REGISTER, rr.err))
		goto fail;
	if (rr.err && set_item(d, "error_start", PyLong_FromUnsignedLong(rr.err_start)))
		goto fail;
	if (set_item(d, "ids", words_list(rr.ids.v, rr.ids.n)))
		goto fail;
	if ((flags & CG_F_KEEP_MAPS) &&
	    set_item(d, "slot_maps", slot_maps_list(&p, &rr)))
		goto fail;
	if (set_item(d, "finalizers", skips_list(&p, SKIP_FINALIZER)) ||
	    set_item(d, "registrations", PyLong_FromSize_t(rr.done)) ||
	    set_item(d, "registered_bytes", PyLong_FromSize_t(rr.bytes)) ||
	    set_item(d, "registered",
		     PyBool_FromLong(fd >= 0 && !rr.err && rr.done == p.nranges)))
		goto fail;
done:
	if (set_item(d, "refcounts_moved", PyBool_FromLong(marked)))
		goto fail;
	reg_result_free(&rr);
	plan_free(&p);
	return d;

fail_errno:
	if (!PyErr_Occurred())
		raise_errno(errno ? errno : ENOMEM);
fail:
	Py_XDECREF(roots);
	Py_XDECREF(keep);
	Py_XDECREF(d);
	reg_result_free(&rr);
	plan_free(&p);
	return NULL;
}

PyDoc_STRVAR(plan_doc,
"plan(roots, gap_pages, max_ranges) -> dict\n\n"
"The plan protect() would make if the heap were the closure of the\n"
"objects in the list roots (and their types). Changes nothing. For tests.");

static PyObject *cg_plan(PyObject *self, PyObject *args)
{
	struct plan p;
	PyObject *roots, *d;
	Py_ssize_t gap_pages, max_ranges;

	(void)self;
	if (!PyArg_ParseTuple(args, "O!nn", &PyList_Type, &roots, &gap_pages,
			      &max_ranges))
		return NULL;
	if (check_supported())
		return NULL;
	if (gap_pages < 0 || max_ranges < 1) {
		PyErr_SetString(PyExc_ValueError,
				"gap_pages must be >= 0 and max_ranges >= 1");
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	cg_walk_init(&p.walk);
	if (add_items(&p.walk, roots) || cg_walk_run(&p.walk) ||
	    plan_build(&p, (size_t)gap_pages, (size_t)max_ranges)) {
		plan_free(&p);
		return raise_errno(errno ? errno : ENOMEM);
	}
	d = plan_dict(&p, 1);
	plan_free(&p);
	return d;
}

static const char *const refuse_names[COWGUARD_REFUSE_SLOTS] = {
	[COWGUARD_REFUSE_KERNEL] = "kernel",
	[COWGUARD_REFUSE_TRACED] = "traced",
	[COWGUARD_REFUSE_INSN] = "insn",
	[COWGUARD_REFUSE_NOT_SLOT] = "not_slot",
	[COWGUARD_REFUSE_BAND] = "band",
	[COWGUARD_REFUSE_NO_MAP] = "no_map",
};

PyDoc_STRVAR(stats_doc,
"stats(start=0) -> dict or None\n\n"
"COWGUARD_IOC_STATS for the calling process. None when the module is not\n"
"loaded (the device does not exist); OSError for any other failure.");

static PyObject *cg_stats(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "start", NULL };
	unsigned long long start = 0;
	struct cowguard_stats st;
	PyObject *d, *ref;
	int ret, i;

	(void)self;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|K", kwlist, &start))
		return NULL;
	if (g_fd < 0) {
		ret = cowguard_open(0);
		if (ret == -ENOENT)
			Py_RETURN_NONE;
		if (ret < 0)
			goto err;
		g_fd = ret;
	}
	ret = cowguard_stats(g_fd, (const void *)(uintptr_t)start, &st);
	if (ret < 0)
		goto err;

	d = PyDict_New();
	ref = PyDict_New();
	if (!d || !ref)
		goto fail;
#define F(name) set_item(d, #name, PyLong_FromUnsignedLongLong(st.name))
	if (F(mapped_pages) || F(shadow_pages) || F(read_faults) ||
	    F(shadow_faults) || F(write_faults) || F(emulated) ||
	    F(budget_shadows) || F(reclaimed) || F(reshadowed) ||
	    F(budget_shadow_pages) || F(capped) ||
	    F(exclusive_shadow_pages))
		goto fail;
	if (start && (F(reg_id) || F(reg_start) || F(reg_length) ||
		      F(reg_golden_pages) || F(reg_shadow_pages) ||
		      F(reg_processes) || F(reg_emulated) ||
		      F(reg_budget_shadows) || F(reg_reclaimed)))
		goto fail;
#undef F
	for (i = 0; i < COWGUARD_REFUSE_SLOTS; i++) {
		char other[16];
		const char *name = refuse_names[i];

		if (!name) {
			if (!st.refused[i])
				continue;
			snprintf(other, sizeof(other), "reason%d", i);
			name = other;
		}
		if (set_item(ref, name, PyLong_FromUnsignedLongLong(st.refused[i])))
			goto fail;
	}
	if (PyDict_SetItemString(d, "refused", ref))
		goto fail;
	Py_DECREF(ref);
	return d;
fail:
	Py_XDECREF(d);
	Py_XDECREF(ref);
	return NULL;
err:
	return raise_cg(g_fd < 0 ? COWGUARD_OP_OPEN : COWGUARD_OP_STATS, ret);
}

/* A struct cowguard_patch_report as a dict, for patch_sites()/patch_addrs(). */
static PyObject *report_dict(const struct cowguard_patch_report *rep)
{
	PyObject *d = PyDict_New();

	if (!d)
		return NULL;
#define F(name) set_item(d, #name, PyLong_FromUnsignedLong(rep->name))
	if (F(sites) || F(proven) || F(unproven) || F(patched) ||
	    F(patched_now) || F(bad_form) || F(no_window) || F(evicted) || F(repatched)) {
		Py_DECREF(d);
		return NULL;
	}
#undef F
	return d;
}

PyDoc_STRVAR(patch_sites_doc,
"patch_sites() -> dict or None\n\n"
"cowguard_patch_sites(3) over all of this process's registrations: rewrite\n"
"the refcount sites the module has proven so they skip band values. The\n"
"GIL is released meanwhile (other threads may run the sites being\n"
"written). Returns the report as a dict; None when this process has no\n"
"device open (nothing registered). OSError otherwise (EOPNOTSUPP: the\n"
"module parameter site_patching is 0).");

static PyObject *cg_patch_sites(PyObject *self, PyObject *unused)
{
	struct cowguard_patch_report rep;
	int ret;

	(void)self;
	(void)unused;
	if (g_fd < 0)
		Py_RETURN_NONE;
	Py_BEGIN_ALLOW_THREADS
	ret = cowguard_patch_sites(g_fd, NULL, CG_REFCNT_VALUE, CG_BAND_LOW,
				   CG_BAND_HIGH, 0, &rep);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return raise_cg(COWGUARD_OP_PATCH, ret);
	return report_dict(&rep);
}

PyDoc_STRVAR(sites_doc,
"sites() -> list of dict\n\n"
"COWGUARD_IOC_SITES over all of this process's registrations: per user\n"
"instruction address, its refcount-only writes, its other writes, its\n"
"writes a patched site runs as they are (outside) and whether it is\n"
"proven. [] when nothing is registered.");

static PyObject *cg_sites(PyObject *self, PyObject *unused)
{
	static struct cowguard_site_proof proof[COWGUARD_PROOF_MERGED];
	PyObject *list;
	int i, n;

	(void)self;
	(void)unused;
	if (g_fd < 0)
		return PyList_New(0);
	n = cowguard_sites(g_fd, NULL, proof, COWGUARD_PROOF_MERGED, NULL);
	if (n < 0)
		return raise_cg(COWGUARD_OP_SITES, n);
	list = PyList_New(0);
	for (i = 0; list && i < n; i++) {
		PyObject *d = Py_BuildValue("{sKsKsKsKsO}",
			"ip", (unsigned long long)proof[i].ip,
			"refcount_writes", (unsigned long long)proof[i].refcount_writes,
			"refused", (unsigned long long)proof[i].refused,
			"outside", (unsigned long long)proof[i].outside,
			"proven", proof[i].flags & COWGUARD_SITE_F_PROVEN ? Py_True : Py_False);

		if (!d || PyList_Append(list, d)) {
			Py_XDECREF(d);
			Py_CLEAR(list);
		} else {
			Py_DECREF(d);
		}
	}
	return list;
}

PyDoc_STRVAR(patch_addrs_doc,
"patch_addrs(addresses) -> dict\n\n"
"cowguard_patch_addrs(3): patch sites the module proved in an earlier run\n"
"(a saved site list turned into this run's addresses); no module needed.\n"
"Returns the report; OSError on failure.");

static PyObject *cg_patch_addrs(PyObject *self, PyObject *arg)
{
	static uint64_t ips[4096];
	struct cowguard_patch_report rep;
	Py_ssize_t i, n;
	PyObject *seq;
	int ret;

	(void)self;
	seq = PySequence_Fast(arg, "patch_addrs() takes a sequence of addresses");
	if (!seq)
		return NULL;
	n = PySequence_Fast_GET_SIZE(seq);
	if (n > (Py_ssize_t)(sizeof(ips) / sizeof(ips[0]))) {
		Py_DECREF(seq);
		return raise_cg(COWGUARD_OP_PATCH, -E2BIG);
	}
	for (i = 0; i < n; i++) {
		ips[i] = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, i));
		if (PyErr_Occurred()) {
			Py_DECREF(seq);
			return NULL;
		}
	}
	Py_DECREF(seq);
	Py_BEGIN_ALLOW_THREADS
	ret = cowguard_patch_addrs(ips, (unsigned int)n, CG_REFCNT_VALUE,
				   CG_BAND_LOW, CG_BAND_HIGH, 0, &rep);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return raise_cg(COWGUARD_OP_PATCH, ret);
	return report_dict(&rep);
}

PyDoc_STRVAR(unpatch_sites_doc,
"unpatch_sites() -> int\n\n"
"cowguard_unpatch_sites(3): restore every site this process runs patched;\n"
"the number restored.");

static PyObject *cg_unpatch_sites(PyObject *self, PyObject *unused)
{
	int ret;

	(void)self;
	(void)unused;
	Py_BEGIN_ALLOW_THREADS
	ret = cowguard_unpatch_sites();
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return raise_cg(COWGUARD_OP_PATCH, ret);
	return PyLong_FromLong(ret);
}

PyDoc_STRVAR(thread_states_doc,
"thread_states() -> int\n\n"
"Python thread states in all interpreters of this process.");

static PyObject *cg_thread_states(PyObject *self, PyObject *unused)
{
	PyInterpreterState *interp;
	long n = 0;

	(void)self;
	(void)unused;
	for (interp = PyInterpreterState_Head(); interp;
	     interp = PyInterpreterState_Next(interp)) {
		PyThreadState *t;

		for (t = PyInterpreterState_ThreadHead(interp); t;
		     t = PyThreadState_Next(t))
			n++;
	}
	return PyLong_FromLong(n);
}

PyDoc_STRVAR(close_doc, "close()\n\nClose the device if it is open.");

static PyObject *cg_close(PyObject *self, PyObject *unused)
{
	(void)self;
	(void)unused;
	if (g_fd >= 0)
		close(g_fd);
	g_fd = -1;
	Py_RETURN_NONE;
}

static PyMethodDef cg_methods[] = {
	{ "protect", cg_protect, METH_VARARGS, protect_doc },
	{ "plan", cg_plan, METH_VARARGS, plan_doc },
	{ "stats", (PyCFunction)(void (*)(void))cg_stats,
	  METH_VARARGS | METH_KEYWORDS, stats_doc },
	{ "thread_states", cg_thread_states, METH_NOARGS, thread_states_doc },
	{ "patch_sites", cg_patch_sites, METH_NOARGS, patch_sites_doc },
	{ "sites", cg_sites, METH_NOARGS, sites_doc },
	{ "patch_addrs", cg_patch_addrs, METH_O, patch_addrs_doc },
	{ "unpatch_sites", cg_unpatch_sites, METH_NOARGS, unpatch_sites_doc },
	{ "close", cg_close, METH_NOARGS, close_doc },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef cg_module = {
	PyModuleDef_HEAD_INIT,
	.m_name = "cowguard._cowguard",
	.m_doc = "C half of cowguard: heap walk, slot map, registration.",
	.m_size = -1,
	.m_methods = cg_methods,
};

static int add_u64(PyObject *m, const char *name, unsigned long long v)
{
	PyObject *o = PyLong_FromUnsignedLongLong(v);

	if (!o)
		return -1;
	if (PyModule_AddObject(m, name, o)) {
		Py_DECREF(o);
		return -1;
	}
	return 0;
}

/* 3.8's PyMODINIT_FUNC carries no visibility; we build -fvisibility=hidden. */
__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__cowguard(void);

PyMODINIT_FUNC PyInit__cowguard(void)
{
	PyObject *m = PyModule_Create(&cg_module);

	if (!m)
		return NULL;
#if PY_VERSION_HEX < 0x030C0000
	g_probe_name = PyUnicode_InternFromString("__cowguard_probe__");
	if (!g_probe_name)
		goto fail;
#endif
	if (add_u64(m, "BAND_LOW", CG_BAND_LOW) ||
	    add_u64(m, "BAND_HIGH", CG_BAND_HIGH) ||
	    add_u64(m, "REFCOUNT_VALUE", CG_REFCNT_VALUE) ||
	    add_u64(m, "SLOT_WIDTH", CG_SLOT_WIDTH) ||
	    add_u64(m, "NATIVE_IMMORTAL", CG_NATIVE_IMMORTAL) ||
	    add_u64(m, "ABI_VERSION", COWGUARD_ABI_VERSION) ||
	    add_u64(m, "F_DRY", CG_F_DRY) ||
	    add_u64(m, "F_REGISTER", CG_F_REGISTER) ||
	    add_u64(m, "F_MARK_ALWAYS", CG_F_MARK_ALWAYS) ||
	    add_u64(m, "F_KEEP_PLAN", CG_F_KEEP_PLAN) ||
	    add_u64(m, "F_FRAMES", CG_F_FRAMES) ||
	    add_u64(m, "F_KEEP_MAPS", CG_F_KEEP_MAPS) ||
	    add_u64(m, "PAGE_SIZE", CG_PAGE_SIZE))
		goto fail;
#ifdef CG_UNSUPPORTED
	if (PyModule_AddStringConstant(m, "UNSUPPORTED", CG_UNSUPPORTED))
		goto fail;
#else
	Py_INCREF(Py_None);
	if (PyModule_AddObject(m, "UNSUPPORTED", Py_None)) {
		Py_DECREF(Py_None);
		goto fail;
	}
#endif
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
