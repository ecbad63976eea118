# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""With the cowguard module loaded (/dev/cowguard): registration, fork,
workers, stats. Skipped elsewhere; the VM harness runs these.
"""
import json
import os
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

# A trap budget no test exhausts: every refcount-only write is emulated.
WIDE_BUDGET = 1 << 30

# A master that builds the heap, then plain gc.freeze() or protect() (with
# the module's default trap budget, or WIDE_BUDGET), and forks workers that
# each render all of it, mutate part of it and render it again; each
# worker's rendering goes to OUTDIR/<worker>.out, to be compared byte for
# byte across modes.
WORKERS = WORKLOAD + PRIVATE_DIRTY + '''
import cowguard
N, WORKERS, MODE, OUTDIR = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                            sys.argv[4])

def render(data):
    out = []
    for k in sorted(data):
        i, f, s, rec, d = data[k]
        out.append("%s %d %r %s %d %r %r %d\\n" % (k, i, f, s, rec.a, rec.b,
                                                  sorted(d.items()), work_one(data[k])))
    return "".join(out).encode()

def work_one(item):
    i, f, s, rec, d = item
    return i + int(f) + len(s) + rec.a + rec.b[0] + d["n"] + len(d["s"])

def mutate(data, w):
    for k in sorted(data):
        i, f, s, rec, d = data[k]
        if i % 97 == w:
            d["n"] += 1000
            d["new"] = [w, k]
            rec.a = -i
    return b"--- mutated\\n"

data = build(N)
expect = work(data)
summary = None
if MODE == "plain":
    gc.freeze()
else:
    budget = int(MODE.split("-")[1]) if "-" in MODE else 0
    summary = cowguard.protect(strict=True, trap_budget=budget)
    summary["band"] = list(summary["band"])
    summary.pop("ids", None)
results = []
for w in range(WORKERS):
    r, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        # Sharing: what reading the heap costs, before anything is
        # allocated that would count as well.
        before = private_dirty_kb()
        ok = all(work(data) == expect for _ in range(2))
        rep = {"dirty_kb": private_dirty_kb() - before, "ok": ok,
               "stats": cowguard.stats() if MODE != "plain" else None}
        out = render(data) + mutate(data, w) + render(data)
        with open(os.path.join(OUTDIR, "%d.out" % w), "wb") as f:
            f.write(out)
        os.write(wfd, json.dumps(rep).encode())
        os._exit(0)
    os.close(wfd)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    rep = json.loads(b"".join(chunks))
    rep["status"] = status
    results.append(rep)
print(json.dumps({"summary": summary, "workers": results,
                  "master_ok": work(data) == expect}))
'''

_runs = {}


def run_workers(n, workers, mode):
    """Run WORKERS once per (n, workers, mode); its result, with each
    worker's output bytes under "outputs"."""
    import shutil
    import subprocess
    key = (n, workers, mode)
    if key in _runs:
        return _runs[key]
    outdir = _support.tempdir()
    try:
        # Same hash seed everywhere: the renderings must not depend on it.
        env = _support.subprocess_env(PYTHONHASHSEED=0)
        proc = subprocess.run([sys.executable, "-c", WORKERS, str(n),
                               str(workers), mode, outdir], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=1800)
        if proc.returncode:
            raise AssertionError(proc.stderr)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["outputs"] = []
        for w in range(workers):
            with open(os.path.join(outdir, "%d.out" % w), "rb") as f:
                res["outputs"].append(f.read())
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    _runs[key] = res
    return res


class _module_param:
    """Set a cowguard module parameter for a while, if it exists."""

    def __init__(self, name, value):
        self.path = "/sys/module/cowguard/parameters/" + name
        self.value = value
        self.old = None

    def __enter__(self):
        if os.path.exists(self.path):
            with open(self.path) as f:
                self.old = f.read().strip()
            with open(self.path, "w") as f:
                f.write(self.value)

    def __exit__(self, *exc):
        if self.old is not None:
            with open(self.path, "w") as f:
                f.write(self.old)


def _no_device():
    return None if _support.device_present() else "cowguard module not loaded"


@_support.requires("module", _no_device)
class TestWithModule(unittest.TestCase):

    def test_registration(self):
        res, proc = _support.run_script(WORKLOAD + '''
import cowguard
data = build(5000)
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

    def test_slot_map_marks_only_refcounts(self):
        res, proc = _support.run_script(
            WORKLOAD + _support.SLOT_MAP_IMPORTS + '''
import cowguard
data = build(5000)
r = cowguard.protect(strict=True, keep_maps=True)
''' + _support.SLOT_MAP_CHECK, PYTHONPATH_TESTS=1)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        sys.stderr.write("\n# slot maps: %d ranges, %d marked words, "
                         "%d objects walked again\n"
                         % (res["ranges"], res["marked"], res["walked"]))
        self.assertEqual(res["ranges"], res["registrations"])
        self.assertTrue(res["map_ranges_eq_plan"])
        self.assertTrue(res["marked_eq_plan"])
        self.assertEqual(res["marked"], res["objects"])
        self.assertGreater(res["marked"], 5000 * 8)
        self.assertEqual(res["n_unknown"], 0, res["unknown"])
        self.assertEqual(res["wrong_type"], [])
        self.assertEqual(res["out_of_band"], [])

    def test_stats_agree(self):
        # The reclaim scanner (when the module has one) gives back shadows
        # that differ from their golden page only in refcounts: a page it
        # took back and the test's own code writes again would be one
        # shadow more than counted here.
        with _module_param("reclaim_interval_ms", "0"):
            self._stats_agree()

    def _stats_agree(self):
        # A forked child reads K big bytes objects (refcount writes: all
        # emulated, no copy), then writes one byte into the page of each
        # one's header, a page nothing else writes (the objects are 132 KiB
        # apart and hold zeros): the stats ioctl must count exactly K new
        # shadows, and smaps K more dirty private pages in the cowguard
        # mappings.
        res, proc = _support.run_script(WORKLOAD + '''
import ctypes, cowguard
data = build(2000)
# Above glibc's mmap threshold (128 KiB): one mapping each.
blobs = [bytes(132 * 1024) for i in range(120)]
# A byte of data on the page of the object's header (ob_sval at 32).
cand = [id(b) + 40 for b in blobs]
# Not patched: a patched site skips the very refcount writes counted here.
r = cowguard.protect(strict=True, trap_budget=WIDE_BUDGET, keep_maps=True,
                     patch=False)
ranges = [(s, s + n) for s, n, _ in r["plan"]["ranges"]]
pages = {}
for a in cand:
    p = a & ~4095
    if p not in pages and any(s <= p < e for s, e in ranges):
        pages[p] = a
addrs = sorted(pages.values())
# The first few are written before measuring, so that the writing code's
# own first writes (allocations...) are not counted.
warm, addrs = addrs[:16], addrs[16:]

def cowguard_smaps():
    tot, cur = {}, False
    with open("/proc/self/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and not parts[0].endswith(":"):
                cur = parts[-1].endswith("[cowguard]")
            elif cur and len(parts) == 3 and parts[2] == "kB":
                tot[parts[0][:-1]] = tot.get(parts[0][:-1], 0) + int(parts[1])
    return tot

def touch(addrs, write):
    for a in addrs:
        c = ctypes.c_char.from_address(a)
        if write:
            c.value = b"x"      # unlike the golden page: not reclaimable
        else:
            c.value

def read_blobs():
    n = 0
    for b in blobs:
        n += len(b)
    return n

def pfns():
    """{page: PFN} of every registered page (all present: see below)."""
    out = {}
    fd = os.open("/proc/self/pagemap", os.O_RDONLY)
    try:
        for s, e in ranges:
            raw = os.pread(fd, (e - s) // 4096 * 8, s // 4096 * 8)
            for i in range(0, len(raw), 8):
                v = int.from_bytes(raw[i:i + 8], "little")
                out[s + i // 8 * 4096] = v & ((1 << 55) - 1) if v >> 63 else None
    finally:
        os.close(fd)
    return out

def read_all_pages():
    for s, e in ranges:
        for p in range(s, e, 4096):
            ctypes.c_char.from_address(p).value

def snap():
    # smaps first: the interpreter's own writes in between can only add
    # shadows, so smaps never shows more dirty pages than stats counts.
    m = cowguard_smaps()
    return cowguard.stats(), m

rfd, wfd = os.pipe()
pid = os.fork()
if pid == 0:
    for _ in range(2):          # the measuring code's own writes, first
        touch(addrs, False); touch(warm, True); read_blobs(); snap()
        read_all_pages(); pfns()
    read_all_pages()
    p0 = pfns()
    s0, m0 = snap()
    read_blobs()
    read_all_pages()            # every page present: a copy changes its PFN
    p1 = pfns()
    s1, m1 = snap()
    touch(addrs, True)
    s2, m2 = snap()
    p2 = pfns()
    copied = [p for p in p1 if p1[p] != p2[p]]
    regs = [cowguard.stats(s) for s, _ in ranges]
    s3 = cowguard.stats()
    os.write(wfd, json.dumps({"k": len(addrs), "s": [s0, s1, s2], "s3": s3,
                              "copied": len(copied),
                              "targets_copied": sum(1 for a in addrs
                                                    if (a & ~4095) in copied),
                              "targets_copied_by_reads": sum(
                                  1 for a in addrs
                                  if p0[a & ~4095] != p1[a & ~4095]),
                              "absent": sum(1 for v in p1.values() if not v),
                              "m": [m0, m1, m2], "regs": regs}).encode())
    os._exit(0)
os.close(wfd)
with os.fdopen(rfd, "rb") as f:  # to EOF: one read stops at the pipe's 64 KiB
    child = json.loads(f.read().decode())
os.waitpid(pid, 0)
child["registered_bytes"] = r["registered_bytes"]
print(json.dumps(child))
'''.replace("WIDE_BUDGET", str(WIDE_BUDGET)))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        k, (s0, s1, s2), (m0, m1, m2) = res["k"], res["s"], res["m"]
        sys.stderr.write(
            "\n# stats agree: %d objects read: emulated %d -> %d; their "
            "pages written: %d pages copied (pagemap), shadow_faults %d -> %d, "
            "shadow_pages %d -> %d\n"
            % (k, s0["emulated"], s1["emulated"], res["copied"],
               s1["shadow_faults"], s2["shadow_faults"], s1["shadow_pages"],
               s2["shadow_pages"]))
        self.assertGreaterEqual(k, 100)
        # Reads: refcount writes emulated (<= 3.11), no copy of the K
        # objects' pages (the page tables say so); the interpreter's own
        # bookkeeping (allocations landing in protected pools) may copy a
        # few pages elsewhere.
        self.assertEqual(res["targets_copied_by_reads"], 0)
        self.assertLessEqual(s1["shadow_faults"] - s0["shadow_faults"], 16)
        self.assertLessEqual(s1["shadow_pages"] - s0["shadow_pages"], 16)
        self.assertEqual(s1["budget_shadows"], s0["budget_shadows"])
        if sys.version_info < (3, 12):
            self.assertGreaterEqual(s1["emulated"] - s0["emulated"], k)
        # Writes: every page written was copied (the page tables say so),
        # and the module counted every copy: at least the K written pages,
        # at most what the page tables show changed from before the writes
        # to after the figures were read (the interpreter's own writes,
        # allocations in protected pools, copy a few more pages).
        self.assertEqual(res["absent"], 0)
        self.assertEqual(res["targets_copied"], k)
        faults = s2["shadow_faults"] - s1["shadow_faults"]
        self.assertGreaterEqual(faults, k)
        self.assertLessEqual(faults, res["copied"])
        self.assertLessEqual(res["copied"], k + 16)
        dirty = m2["Private_Dirty"] - m1["Private_Dirty"]
        self.assertGreaterEqual(dirty, 4 * k)
        self.assertLessEqual(dirty, 4 * res["copied"])
        self.assertLessEqual(s2["shadow_pages"] - s1["shadow_pages"], faults)
        self.assertEqual(s2["budget_shadows"], s1["budget_shadows"])
        # What the process maps is what it registered, and what smaps shows.
        for s, m in ((s0, m0), (s1, m1), (s2, m2)):
            self.assertEqual(s["mapped_pages"] * 4096, res["registered_bytes"])
            self.assertEqual(m["Size"], s["mapped_pages"] * 4)
            self.assertLessEqual(m["Private_Dirty"], s["shadow_pages"] * 4)
        # The per-registration figures add up to the process's (read
        # just before it: at most as much, mapped pages exactly).
        regs, s3 = res["regs"], res["s3"]
        self.assertEqual(sum(r["mapped_pages"] for r in regs), s3["mapped_pages"])
        for key in ("shadow_pages", "shadow_faults", "budget_shadows"):
            self.assertLessEqual(sum(r[key] for r in regs), s3[key], key)
            self.assertGreaterEqual(sum(r[key] for r in regs), s2[key], key)
        for r in regs:
            self.assertEqual(r["reg_processes"], 2)
            self.assertEqual(r["reg_golden_pages"] * 4096, r["reg_length"])
            self.assertGreaterEqual(r["reg_shadow_pages"], r["shadow_pages"])

    N_WORKLOAD = 5000
    MODES = ("plain", "protect", "protect-%d" % WIDE_BUDGET)

    def test_workers_same_output(self):
        runs = {m: run_workers(self.N_WORKLOAD, 2, m) for m in self.MODES}
        plain = runs["plain"]
        for mode, res in runs.items():
            self.assertTrue(res["master_ok"], mode)
            for w, rep in enumerate(res["workers"]):
                self.assertEqual(rep["status"], 0, (mode, w))
                self.assertTrue(rep["ok"], (mode, w))
                self.assertIn(b"--- mutated\n", res["outputs"][w])
                # Byte for byte what the same worker wrote without cowguard.
                self.assertEqual(res["outputs"][w], plain["outputs"][w],
                                 "%s worker %d differs from plain fork" % (mode, w))
            if mode != "plain":
                self.assertTrue(res["summary"]["registered"], mode)
        # The two workers mutated different records.
        self.assertNotEqual(plain["outputs"][0], plain["outputs"][1])

    def test_workers_share(self):
        runs = {m: run_workers(self.N_WORKLOAD, 2, m) for m in self.MODES}
        kb = {m: [w["dirty_kb"] for w in r["workers"]] for m, r in runs.items()}
        s = runs["protect"]["summary"]
        sys.stderr.write(
            "\n# cowguard workers (%d records, python %s): protect %.2fs, "
            "%d objects, %d ranges, %d KiB registered\n"
            "# worker Private_Dirty growth (KiB): %s\n"
            % (self.N_WORKLOAD, s["python"], s["seconds"], s["objects"],
               s["ranges"], s["registered_bytes"] // 1024, json.dumps(kb)))
        for mode in self.MODES[1:]:
            sys.stderr.write("# %s worker stats: %s\n" % (
                mode, json.dumps([w["stats"] for w in runs[mode]["workers"]])))
            for w in runs[mode]["workers"]:
                st = w["stats"]
                self.assertIsNotNone(st)
                self.assertEqual(st["mapped_pages"] * 4096,
                                 runs[mode]["summary"]["registered_bytes"])
                if sys.version_info < (3, 12):
                    # Every read increments and decrements refcounts: those
                    # writes are emulated (until a page's budget runs out).
                    self.assertGreater(st["emulated"], 0)
                self.assertEqual(st["refused"]["band"], 0)
        wide = runs[self.MODES[2]]
        for w in wide["workers"]:
            st = w["stats"]
            self.assertEqual(st["budget_shadows"], 0)
            # Without a budget to run out, most of the heap stays shared.
            self.assertLess(st["shadow_pages"] * 2, st["mapped_pages"], st)
        # The default budget (64 emulated writes per page) runs out on
        # most pages of a heap read end to end: no claim about it here.
        self.assertLess(sum(kb[self.MODES[2]]) * 2, sum(kb["plain"]))


if __name__ == "__main__":
    unittest.main()
