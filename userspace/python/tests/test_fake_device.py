# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The registration path, against a fake device (tests/fake_cowguard.c,
LD_PRELOADed): it answers the ioctls on a regular file with the kernel's
argument checks, so every registration protect() makes is checked here
without the module: page-aligned, private anonymous, no overlap, the slot
map length, and every marked slot's value inside the band.
"""
import errno
import os
import shutil
import unittest

import _support
from _support import WORKLOAD


class FakeDevice(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = _support.tempdir()
        try:
            cls.shim = _support.build_fake_device(cls.tmp)
        except Exception as e:          # no compiler, read-only headers...
            cls.shim = None
            cls.why = str(e)
        else:
            cls.why = "no C compiler"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if not self.shim:
            self.skipTest("cannot build the fake device: " + self.why)
        self.dev = os.path.join(self.tmp, "dev-%s" % self.id())
        self.log = self.dev + ".log"
        open(self.dev, "w").close()
        if os.path.exists(self.log):
            os.unlink(self.log)

    def run_fake(self, code, **env):
        return _support.run_script(
            code, LD_PRELOAD=self.shim, COWGUARD_DEVICE=self.dev,
            FAKE_COWGUARD_DEVICE=self.dev, FAKE_COWGUARD_LOG=self.log, **env)

    def log_lines(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [line.split() for line in f]

    def test_register_all_ranges(self):
        res, proc = self.run_fake(WORKLOAD + '''
import cowguard
data = build(20000)
before = work(data)
r = cowguard.protect(strict=True, trap_budget=17)
lo, hi = cowguard.BAND
st = cowguard.stats()
pid = os.fork()
if pid == 0:
    os._exit(0 if work(data) == before else 1)
r["child"] = os.waitpid(pid, 0)[1]
r["rc_in_band"] = lo <= sys.getrefcount(data) <= hi + 2
r["work"] = work(data) == before
r["stats"] = st
r["band"] = list(r["band"])
print(json.dumps(r))
''')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        log = self.log_lines()
        fails = [line for line in log if line[0] == "FAIL"]
        regs = [line for line in log if line[0] == "REGISTER"]
        self.assertEqual(fails, [])
        self.assertTrue(res["registered"])
        self.assertTrue(res["refcounts_moved"])
        self.assertNotIn("errno", res)
        self.assertEqual(len(regs), res["ranges"])
        self.assertEqual(res["registrations"], res["ranges"])
        self.assertEqual(sum(int(line[2]) for line in regs), res["registered_bytes"])
        self.assertEqual(res["registered_bytes"], res["range_bytes"])
        self.assertEqual(sum(int(line[3]) for line in regs), res["objects"])
        self.assertEqual(res["ids"], [int(line[4]) for line in regs])
        self.assertEqual({int(line[5]) for line in regs}, {17})
        self.assertEqual({(int(line[6]), int(line[7])) for line in regs},
                         {tuple(res["band"])})
        self.assertTrue(res["rc_in_band"])
        self.assertTrue(res["work"])
        self.assertEqual(res["child"], 0)
        st = res["stats"]
        self.assertEqual(st["emulated"], 42)
        self.assertEqual(st["refused"]["insn"], 7)
        self.assertEqual(st["mapped_pages"], res["registered_bytes"] // 4096)

    def test_second_protect(self):
        res, proc = self.run_fake(WORKLOAD + '''
import cowguard
data = build(5000)
before = work(data)
r1 = cowguard.protect(strict=True)
more = build(5000)
r2 = cowguard.protect(strict=True)
pid = os.fork()
if pid == 0:
    os._exit(0 if work(data) == before == work(more) else 1)
print(json.dumps({"r1": r1["registered"], "r2": r2["registered"],
                  "objects1": r1["objects"], "objects2": r2["objects"],
                  "skipped": r2["skipped"], "child": os.waitpid(pid, 0)[1],
                  "work": work(data) == before == work(more)}))
''', FAKE_COWGUARD_REMAP=1)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([l for l in self.log_lines() if l[0] == "FAIL"], [])
        self.assertTrue(res["r1"])
        self.assertTrue(res["r2"])
        # The first call's objects now live in "cowguard" mappings: left
        # alone; the second registers the new data only.
        self.assertGreater(res["skipped"]["registered"], 5000 * 8)
        self.assertGreater(res["objects2"], 5000 * 8)
        self.assertLess(res["objects2"], res["objects1"])
        self.assertTrue(res["work"])
        self.assertEqual(res["child"], 0)

    def test_registration_failure(self):
        code = WORKLOAD + '''
import cowguard, warnings
data = build(5000)
before = work(data)
out = {}
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    try:
        r = cowguard.protect(strict=STRICT, gap_pages=0)
        out.update(registered=r["registered"], errno=r.get("errno"),
                   done=r["registrations"], ranges=r["ranges"],
                   stage=r.get("stage"))
    except OSError as e:
        out.update(raised=e.errno, msg=str(e))
out["warnings"] = [str(x.message) for x in w]
out["work"] = work(data) == before
print(json.dumps(out))
'''
        res, proc = self.run_fake(code.replace("STRICT", "False"),
                                  FAKE_COWGUARD_FAIL_AT=2)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        if res.get("ranges", 0) < 2:
            self.skipTest("the heap fits in one range here")
        self.assertFalse(res["registered"])
        self.assertEqual(res["errno"], errno.E2BIG)
        self.assertEqual(res["stage"], "register")
        self.assertEqual(res["done"], 1)
        self.assertEqual(len(res["warnings"]), 1)
        self.assertIn("1 of %d ranges registered" % res["ranges"], res["warnings"][0])
        self.assertTrue(res["work"])

        os.unlink(self.log)
        res, proc = self.run_fake(code.replace("STRICT", "True"),
                                  FAKE_COWGUARD_FAIL_AT=2)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(res["raised"], errno.E2BIG)
        self.assertIn("per-process limit", res["msg"])
        self.assertTrue(res["work"])


if __name__ == "__main__":
    unittest.main()
