# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The plan: which objects are marked and which pages become ranges.

Runs anywhere (no module needed): dry runs change nothing.
"""
import gc
import io
import sys
import types
import unittest
from array import array

import _support
from _support import PAGE, cowguard, _cowguard

# Data that only a deep walk finds: CPython untracks tuples and dicts that
# hold only atomic values, and never tracks str/int/float/bytes.
NESTED = [("deep-" + str(12345), 1.25 * 3, 10 ** 20, (b"bytes-" + b"x", 2.5 * 3)),
          {"a": 10 ** 21, "b": "s" * 3}]


def nested_ids():
    inner, d = NESTED
    return [id(inner), id(inner[0]), id(inner[1]), id(inner[2]), id(inner[3]),
            id(inner[3][0]), id(inner[3][1]), id(d), id(d["a"]), id(d["b"])]


class WithDel:
    def __del__(self):
        pass


def gen():
    yield 1


class TestExactWalk(unittest.TestCase):
    """_cowguard.plan(roots) against a Python walk of the same roots, in a
    fresh interpreter so that nothing else runs in between."""

    def test_plan_equals_python_walk(self):
        res, proc = _support.run_script('''
            import gc, json, sys, types
            import _support
            from _support import _cowguard
            NESTED = [("deep-" + str(12345), 1.25 * 3, 10 ** 20,
                       (b"bytes-" + b"x", 2.5 * 3)),
                      {"key-" + str(1): 10 ** 21, "b": "s" * 3}]
            gc.collect()

            def check():
                roots = [o for o in gc.get_objects()
                         if type(o) is not types.FrameType]
                plan = _cowguard.plan(roots, 8, 4096)["plan"]
                walk = _support.python_walk(roots)
                upper = _support.python_walk(roots, members=True)
                marked = set(plan["slots"])
                skipped = dict(plan["skipped"])
                code = check.__code__
                maps = _support.read_maps()
                inner, d = NESTED
                nested = [inner, inner[0], inner[1], inner[2], inner[3],
                          inner[3][0], inner[3][1], d, d["key-1"], d["b"]]
                bad_vma = [a for a in marked
                           if not _support.anon_private(_support.vma_of(maps, a) or
                                                        (0, 0, "", 1, "?"))]
                return {
                    "walk": len(walk), "marked": len(marked),
                    "skipped": len(skipped),
                    "missing": len(set(walk) - marked - set(skipped)),
                    "extra": len((marked | set(skipped)) - set(upper)),
                    "members": len(set(upper) - set(walk)),
                    "code_consts": [id(x) in marked or id(x) in skipped
                                    for x in (code.co_consts, code.co_names,
                                              code.co_filename)],
                    "dict_key": id(list(d)[0]) in marked,
                    "both": len(marked & set(skipped)),
                    "bad_vma": len(bad_vma),
                    "nested_tracked": [gc.is_tracked(inner), gc.is_tracked(d)],
                    "nested_missing": [repr(o) for o in nested
                                       if id(o) not in marked],
                    "none": skipped.get(id(None)), "int": skipped.get(id(int)),
                    "type": skipped.get(id(type)),
                }
            print(json.dumps(check()))
        ''', PYTHONPATH_TESTS=1)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(res["walk"], 1000)
        self.assertEqual(res["missing"], 0, res)
        self.assertEqual(res["extra"], 0, res)
        self.assertEqual(res["both"], 0, res)
        self.assertEqual(res["bad_vma"], 0, res)
        self.assertEqual(res["nested_tracked"], [False, False],
                         "the test data must be untracked to mean anything")
        self.assertEqual(res["nested_missing"], [])
        self.assertGreater(res["members"], 0)
        self.assertEqual(res["code_consts"], [True, True, True])
        self.assertTrue(res["dict_key"])
        self.assertEqual(res["none"], "location")
        self.assertEqual(res["int"], "location")
        self.assertEqual(res["type"], "location")


def walk_everything(members):
    """Python walk of the GC lists and this thread's frames and locals."""
    roots = gc.get_objects()
    f = sys._getframe(1)
    while f is not None:
        roots.append(f)
        roots.extend(f.f_locals.values())
        f = f.f_back
    return _support.python_walk(roots, members)


class TestDryRun(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        gc.collect()
        cls.keep = [WithDel(), gen(), io.BytesIO(b"x")]
        cls.frame = sys._getframe()
        cls.frozen_before = gc.get_freeze_count()
        cls.enabled_before = gc.isenabled()
        # Everything alive now, held alive by cls.before (reachable through
        # this class) until the dry run is over.
        walk = walk_everything(members=False)
        cls.exact_ids = array("Q", sorted(walk))
        del walk
        walk = walk_everything(members=True)
        cls.before_ids = array("Q", sorted(walk))
        cls.before = list(walk.values())
        del walk
        cls.refcount_before = sys.getrefcount(NESTED)
        cls.result = cowguard.protect(dry_run=True)
        cls.plan = cls.result["plan"]
        cls.marked = set(cls.plan["slots"])
        cls.skipped = dict(cls.plan["skipped"])

    @classmethod
    def tearDownClass(cls):
        del cls.keep, cls.frame, cls.result, cls.plan, cls.marked, cls.skipped
        del cls.before, cls.before_ids, cls.exact_ids

    def test_summary(self):
        r = self.result
        for key in ("objects", "bytes", "pages", "ranges", "registered_bytes",
                    "seconds", "python", "band", "slot_width", "registered"):
            self.assertIn(key, r)
        self.assertFalse(r["registered"])
        self.assertFalse(r["refcounts_moved"])
        self.assertEqual(r["objects"], len(self.plan["slots"]))
        self.assertEqual(r["ranges"], len(self.plan["ranges"]))
        self.assertEqual(r["slot_width"], 8)
        self.assertEqual(r["band"], cowguard.BAND)
        lo, hi = r["band"]
        self.assertGreaterEqual(lo, 1 << 31)      # COWGUARD_BAND_MIN_64
        self.assertTrue(lo <= cowguard.REFCOUNT_VALUE <= hi)
        if sys.version_info >= (3, 12):
            self.assertEqual(cowguard.REFCOUNT_VALUE, 0xFFFFFFFF)
            # A raw 64-bit increment of the immortal value stays inside.
            self.assertTrue(lo <= 0x1_0000_0000 <= hi)
        else:
            self.assertEqual(cowguard.REFCOUNT_VALUE, 1 << 60)
            self.assertLess(hi, 1 << 62)          # gc_reset_refs shifts by 2

    def test_changes_nothing(self):
        self.assertEqual(sys.getrefcount(NESTED), self.refcount_before)
        self.assertLess(sys.getrefcount(NESTED), 1000)
        self.assertEqual(gc.get_freeze_count(), self.frozen_before)
        self.assertEqual(gc.isenabled(), self.enabled_before)

    def test_ranges_geometry(self):
        maps = _support.read_maps()
        ranges = self.plan["ranges"]
        slots = self.plan["slots"]
        self.assertEqual(slots, sorted(set(slots)))
        prev_end = 0
        total = 0
        for start, length, nslots in ranges:
            self.assertEqual(start % PAGE, 0)
            self.assertEqual(length % PAGE, 0)
            self.assertGreater(length, 0)
            self.assertGreaterEqual(start, prev_end)
            prev_end = start + length
            vma = _support.vma_of(maps, start)
            self.assertIsNotNone(vma)
            self.assertTrue(_support.anon_private(vma), vma)
            self.assertLessEqual(start + length, vma[1], "range crosses its VMA")
            self.assertNotEqual(vma[4], "[stack]")
            total += nslots
        self.assertEqual(total, len(slots))
        self.assertEqual(self.result["range_bytes"], sum(r[1] for r in ranges))
        # Every slot lies inside a range, 8-aligned.
        i = 0
        for start, length, nslots in ranges:
            for a in slots[i:i + nslots]:
                self.assertTrue(start <= a and a + 8 <= start + length)
                self.assertEqual(a % 8, 0)
            i += nslots
        pages = {a // PAGE for a in slots}
        self.assertEqual(self.result["pages"], len(pages))

    def test_slots_are_live_objects(self):
        # Everything that was alive before the dry run is marked or skipped
        # for a reason.
        missing = [i for i in self.exact_ids
                   if i not in self.marked and i not in self.skipped]
        self.assertEqual(missing, [])
        self.assertFalse(self.marked & set(self.skipped))
        # Marked slots are objects that were alive: the few others are what
        # this test made between its walk and the dry run.
        extra = self.marked - set(self.before_ids)
        self.assertLess(len(extra), 100, "marked slots that are no live object")

    def test_nested_untracked_atomics(self):
        self.assertFalse(gc.is_tracked(NESTED[0]))
        self.assertFalse(gc.is_tracked(NESTED[1]))
        for i in nested_ids():
            self.assertIn(i, self.marked)

    def test_static_objects_left_alone(self):
        for o in (None, True, int, type, object, dict):
            self.assertEqual(self.skipped.get(id(o)), "location", repr(o))
            self.assertNotIn(id(o), self.marked)

    def test_must_stay_mortal(self):
        with_del, g, bio = self.keep
        self.assertEqual(self.skipped.get(id(with_del)), "finalizer")
        self.assertEqual(self.skipped.get(id(g)), "finalizer")
        self.assertEqual(self.skipped.get(id(bio)), "finalizer")
        self.assertEqual(self.skipped.get(id(self.frame)), "frame")
        # What they refer to is still protected.
        self.assertIn(id(WithDel), self.marked)


class TestRangeOptions(unittest.TestCase):

    def test_gap_and_max_ranges(self):
        roots = gc.get_objects()
        tight = _cowguard.plan(roots, 0, 1 << 30)
        loose = _cowguard.plan(roots, 64, 1 << 30)
        one = _cowguard.plan(roots, 0, 1)
        self.assertGreaterEqual(tight["ranges"], loose["ranges"])
        self.assertLessEqual(one["ranges"], tight["ranges"])
        # A range never leaves its VMA, so max_ranges=1 still leaves one
        # range per VMA holding marked objects (at most).
        maps = _support.read_maps()
        vmas = {_support.vma_of(maps, a) for a in one["plan"]["slots"]}
        self.assertLessEqual(one["ranges"], len(vmas))
        for start, length, _ in one["plan"]["ranges"]:
            vma = _support.vma_of(maps, start)
            self.assertLessEqual(start + length, vma[1])
        self.assertEqual(tight["range_bytes"], tight["pages"] * PAGE)

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            _cowguard.plan([], -1, 10)
        with self.assertRaises(ValueError):
            _cowguard.plan([], 0, 0)
        self.assertEqual(_cowguard.plan([], 0, 10)["objects"], 0)


if __name__ == "__main__":
    unittest.main()
