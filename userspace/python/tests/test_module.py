# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""With the cowguard module loaded (/dev/cowguard): registration, fork,
workers, stats. Skipped elsewhere; the VM harness runs these.
"""
import json
import sys
import unittest

import _support
from _support import WORKLOAD

PRIVATE_DIRTY = '''
def private_dirty_kb():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    return -1
'''

# A master that builds the heap, optionally protects it, and forks workers
# that each read all of it a few times, reporting through a pipe.
WORKERS = WORKLOAD + PRIVATE_DIRTY + '''
import cowguard
N, WORKERS, PROTECT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
data = build(N)
expect = work(data)
summary = None
if PROTECT:
    summary = cowguard.protect(strict=True)
    summary["band"] = list(summary["band"])
    summary.pop("ids", None)
else:
    gc.freeze()
results = []
for _ in range(WORKERS):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        before = private_dirty_kb()
        sums = [work(data) for _ in range(3)]
        out = {"ok": all(s == expect for s in sums),
               "dirty_kb": private_dirty_kb() - before,
               "stats": cowguard.stats() if PROTECT else None}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    results.append(json.loads(b"".join(chunks)))
print(json.dumps({"summary": summary, "workers": results,
                  "master_ok": work(data) == expect}))
'''


def run_workers(n, workers, protect):
    import subprocess
    env = _support.subprocess_env()
    proc = subprocess.run([sys.executable, "-c", WORKERS, str(n), str(workers),
                           "1" if protect else "0"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=1800)
    if proc.returncode:
        raise AssertionError(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@unittest.skipUnless(_support.device_present(), "cowguard module not loaded")
class TestWithModule(unittest.TestCase):

    def test_registration(self):
        res, proc = _support.run_script(WORKLOAD + '''
import cowguard
data = build(20000)
r = cowguard.protect(strict=True)
maps = []
with open("/proc/self/maps") as f:
    for line in f:
        parts = line.split(None, 5)
        s, e = (int(x, 16) for x in parts[0].split("-"))
        maps.append((s, e, parts[1], parts[5].strip() if len(parts) > 5 else ""))
plan_ranges = []
first = None
for s, e, perms, path in maps:
    if "[cowguard]" in path or path == "/dev/cowguard":
        plan_ranges.append((s, e, perms))
        first = first or s
st = cowguard.stats()
st1 = cowguard.stats(first) if first else None
print(json.dumps({"r": {k: v for k, v in r.items() if k != "band"},
                  "cg_maps": plan_ranges, "stats": st, "stats1": st1}))
''')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        r = res["r"]
        self.assertTrue(r["registered"], r)
        self.assertTrue(r["refcounts_moved"])
        self.assertEqual(r["registrations"], r["ranges"])
        self.assertEqual(r["registered_bytes"], r["range_bytes"])
        covered = sum(e - s for s, e, _ in res["cg_maps"])
        self.assertEqual(covered, r["registered_bytes"])
        for s, e, perms in res["cg_maps"]:
            self.assertEqual(perms, "rw-s")
        st = res["stats"]
        self.assertIsNotNone(st)
        self.assertGreater(st["mapped_pages"], 0)
        self.assertLessEqual(st["mapped_pages"], r["registered_bytes"] // 4096)
        st1 = res["stats1"]
        self.assertGreaterEqual(st1["reg_processes"], 1)
        self.assertIn(st1["reg_start"], [s for s, _, _ in res["cg_maps"]])

    def test_second_protect(self):
        res, proc = _support.run_script(WORKLOAD + '''
import cowguard
data = build(5000)
r1 = cowguard.protect(strict=True)
more = build(5000)
r2 = cowguard.protect(strict=True)
print(json.dumps({"r1": r1["registered"], "r2": r2["registered"],
                  "skipped": r2["skipped"], "objects2": r2["objects"],
                  "in_band": r2["already_in_band"],
                  "work": work(data) == work(more)}))
''')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(res["r1"])
        self.assertTrue(res["r2"])
        # Objects of the first call are in cowguard mappings now.
        self.assertGreater(res["skipped"]["registered"], 5000 * 8)
        self.assertGreater(res["objects2"], 5000 * 8)
        self.assertTrue(res["work"])

    def test_fork_semantics(self):
        res, proc = _support.run_script(WORKLOAD + '''
import cowguard
data = build(5000)
lst = [1, 2, 3]
cowguard.protect(strict=True)
lst[0] = "changed in master"           # a write after protect, before fork
out = {}
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    refs = [data["key-1"]] * 10000     # refcount-only writes
    child = {"sees_master": lst[0], "work": work(data)}
    lst[1] = "changed in child"
    del refs
    os.write(w, json.dumps(child).encode())
    os._exit(0)
os.close(w)
child = json.loads(os.read(r, 65536))
os.waitpid(pid, 0)
out["child"] = child
out["master_lst"] = lst
out["work"] = work(data)
lo, hi = cowguard.BAND
out["rc_in_band"] = lo <= sys.getrefcount(data["key-1"]) <= hi + 2
print(json.dumps(out))
''')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(res["child"]["sees_master"], "changed in master")
        self.assertEqual(res["master_lst"], ["changed in master", 2, 3])
        self.assertEqual(res["child"]["work"], res["work"])
        self.assertTrue(res["rc_in_band"])

    def test_workers_share(self):
        n = 50000
        plain = run_workers(n, 2, False)
        guarded = run_workers(n, 2, True)
        self.assertTrue(plain["master_ok"])
        self.assertTrue(guarded["master_ok"])
        for w in plain["workers"] + guarded["workers"]:
            self.assertTrue(w["ok"])
        s = guarded["summary"]
        self.assertTrue(s["registered"])
        plain_kb = [w["dirty_kb"] for w in plain["workers"]]
        guarded_kb = [w["dirty_kb"] for w in guarded["workers"]]
        stats = [w["stats"] for w in guarded["workers"]]
        sys.stderr.write(
            "\n# cowguard workers (%d records, python %s): protect %.2fs, "
            "%d objects, %d ranges, %d KiB registered\n"
            "# worker Private_Dirty growth: plain gc.freeze %s KiB, "
            "cowguard %s KiB\n# worker stats: %s\n"
            % (n, s["python"], s["seconds"], s["objects"], s["ranges"],
               s["registered_bytes"] // 1024, plain_kb, guarded_kb,
               json.dumps(stats)))
        for st in stats:
            self.assertIsNotNone(st)
            self.assertGreater(st["mapped_pages"], 0)
            if sys.version_info < (3, 12):
                # Every read increments and decrements refcounts: those
                # writes are emulated (until a page's budget runs out).
                self.assertGreater(st["emulated"] + st["budget_shadows"], 0)
        self.assertLess(sum(guarded_kb), sum(plain_kb))


if __name__ == "__main__":
    unittest.main()
