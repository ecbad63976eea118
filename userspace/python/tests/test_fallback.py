# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""protect() without the kernel module, and what protect() refuses.

COWGUARD_DEVICE points libcowguard at a path that does not exist, so these
run the same with and without the module loaded.
"""
import errno
import os
import threading
import unittest

import _support
from _support import WORKLOAD, cowguard

ABSENT = "/nonexistent/cowguard"


class TestModuleAbsent(unittest.TestCase):

    def test_warns_and_leaves_refcounts(self):
        res, proc = _support.run_script(WORKLOAD + '''
import warnings, cowguard
data = build(20000)
before = work(data)
rc = sys.getrefcount(data)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    r = cowguard.protect()
pid = os.fork()
if pid == 0:
    os._exit(0 if work(data) == before else 1)
_, status = os.waitpid(pid, 0)
print(json.dumps({
    "registered": r["registered"], "errno": r.get("errno"),
    "error": r.get("error"), "moved": r["refcounts_moved"],
    "objects": r["objects"], "ranges": r["ranges"],
    "warnings": [(x.category.__name__, str(x.message)) for x in w],
    "rc_same": sys.getrefcount(data) == rc, "work": work(data) == before,
    "frozen": gc.get_freeze_count(), "child": status,
    "gc_enabled": gc.isenabled(),
}))
''', COWGUARD_DEVICE=ABSENT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse(res["registered"])
        self.assertFalse(res["moved"])
        self.assertEqual(res["errno"], errno.ENOENT)
        self.assertIn("not loaded", res["error"])
        self.assertEqual(len(res["warnings"]), 1, res["warnings"])
        self.assertEqual(res["warnings"][0][0], "CowguardWarning")
        self.assertIn("not loaded", res["warnings"][0][1])
        self.assertTrue(res["rc_same"])
        self.assertTrue(res["work"])
        self.assertGreater(res["objects"], 20000 * 8)
        self.assertGreater(res["ranges"], 0)
        self.assertGreater(res["frozen"], 0, "the GC is frozen all the same")
        self.assertTrue(res["gc_enabled"])
        self.assertEqual(res["child"], 0)

    def test_strict_raises_enoent(self):
        res, proc = _support.run_script('''
import json, sys, cowguard
data = [str(i) for i in range(1000)]
try:
    cowguard.protect(strict=True)
    out = {"raised": None}
except OSError as e:
    out = {"raised": "OSError", "errno": e.errno, "msg": str(e)}
out["rc"] = sys.getrefcount(data)
print(json.dumps(out))
''', COWGUARD_DEVICE=ABSENT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(res["raised"], "OSError")
        self.assertEqual(res["errno"], errno.ENOENT)
        self.assertIn("not loaded", res["msg"])
        self.assertLess(res["rc"], 100)

    def test_stats_none(self):
        res, proc = _support.run_script('''
import json, cowguard
print(json.dumps({"stats": cowguard.stats()}))
''', COWGUARD_DEVICE=ABSENT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIsNone(res["stats"])


def _module_loaded():
    return ("the cowguard module is loaded"
            if os.path.exists(_support.DEVICE) else None)


@_support.requires("absent", _module_loaded)
class TestNoModuleLoaded(unittest.TestCase):
    """The real fallback: no /dev/cowguard at all (the VM harness boots a
    guest without the module for this), nothing overridden."""

    def test_fallback(self):
        res, proc = _support.run_script(WORKLOAD + '''
import errno, warnings
os.environ.pop("COWGUARD_DEVICE", None)
import cowguard
data = build(5000)
before, rc = work(data), sys.getrefcount(data)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    r = cowguard.protect()
try:
    cowguard.protect(strict=True)
    strict = None
except OSError as e:
    strict = e.errno
pid = os.fork()
if pid == 0:
    os._exit(0 if work(data) == before else 1)
_, status = os.waitpid(pid, 0)
print(json.dumps({
    "registered": r["registered"], "moved": r["refcounts_moved"],
    "errno": r.get("errno"), "objects": r["objects"],
    "warnings": [(x.category.__name__, str(x.message)) for x in w],
    "strict": strict, "stats": cowguard.stats(), "child": status,
    "rc_same": sys.getrefcount(data) == rc, "work": work(data) == before,
}))
''')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse(res["registered"])
        self.assertFalse(res["moved"])
        self.assertEqual(res["errno"], errno.ENOENT)
        self.assertGreater(res["objects"], 5000 * 8)
        self.assertEqual([c for c, _ in res["warnings"]], ["CowguardWarning"])
        self.assertIn("not loaded", res["warnings"][0][1])
        self.assertEqual(res["strict"], errno.ENOENT)
        self.assertIsNone(res["stats"])
        self.assertEqual(res["child"], 0)
        self.assertTrue(res["rc_same"])
        self.assertTrue(res["work"])


class TestRefusals(unittest.TestCase):

    def test_other_threads(self):
        stop = threading.Event()
        t = threading.Thread(target=stop.wait, name="cowguard-test-thread")
        t.start()
        try:
            with self.assertRaises(RuntimeError) as cm:
                cowguard.protect(dry_run=True)
            self.assertIn("cowguard-test-thread", str(cm.exception))
            with self.assertRaises(RuntimeError):
                cowguard.protect()
        finally:
            stop.set()
            t.join()

    def test_thread_states(self):
        self.assertEqual(cowguard._cowguard.thread_states(), 1)


class TestImmortalizeWithoutModule(unittest.TestCase):
    """Refcounts moved into the band (no registration): the interpreter must
    keep working, in the master and in forked children, up to a clean exit."""

    def test_interpreter_keeps_working(self):
        res, proc = _support.run_script(WORKLOAD + '''
import warnings, cowguard, tempfile
data = build(30000)
before = work(data)
out = tempfile.NamedTemporaryFile("w", delete=False, suffix=".cowguard")
out.write("flushed at exit")          # buffered, never closed: exit flushes
wr = weakref.ref(data["key-5"][3])
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    r = cowguard.protect(immortalize_without_module=True)
lo, hi = cowguard.BAND
checks = {}
checks["moved"] = r["refcounts_moved"]
checks["registered"] = r["registered"]
checks["rc_in_band"] = lo <= sys.getrefcount(data) <= hi + 2
checks["work"] = work(data) == before
# Mutating protected containers, dropping protected objects.
data["key-new"] = data.pop("key-7")
del data["key-8"]
data["key-9"][3].a = -1
after = work(data)
s = sys.intern("val-" + "11")
checks["intern"] = s == "val-11"
checks["weakref"] = wr() is data["key-5"][3]
# Collections, also with everything thawed (<= 3.11: refcounts of 2**60
# go through gc_refs).
gc.collect()
gc.unfreeze()
gc.collect()
gc.freeze()
checks["work2"] = work(data) == after
checks["json"] = len(json.dumps({k: v[:3] for k, v in data.items()})) > 0
# A second protect(): everything already in the band.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    r2 = cowguard.protect(immortalize_without_module=True)
checks["second_in_band"] = r2["already_in_band"] >= r["objects"] // 2
pids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        ok = work(data) == after
        data["child"] = data.pop("key-10")   # writes in the child only
        gc.collect()
        sys.exit(0 if ok and "key-10" not in data else 3)
    pids.append(pid)
checks["children"] = [os.waitpid(p, 0)[1] for p in pids]
checks["parent_untouched"] = "key-10" in data and work(data) == after
checks["file"] = out.name
print(json.dumps(checks))
''', COWGUARD_DEVICE=ABSENT)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("Traceback", proc.stderr)
        name = res.pop("file")
        self.addCleanup(os.unlink, name)
        with open(name) as f:
            # Once per process (the parent and two children), as without
            # cowguard: each inherits the unflushed buffer.
            self.assertEqual(f.read(), "flushed at exit" * 3)
        self.assertEqual(res, {
            "moved": True, "registered": False, "rc_in_band": True,
            "work": True, "intern": True, "weakref": True, "work2": True,
            "json": True, "second_in_band": True, "children": [0, 0],
            "parent_untouched": True})


if __name__ == "__main__":
    unittest.main()
