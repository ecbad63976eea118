# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Site patching with the module loaded: a worker's proven refcount sites
get patched and it stops trapping, with the same results; patch=False and
the module parameter site_patching=0 turn it off; unpatch_sites() brings
the traps back; patching while other threads run Python loses nothing.
Skipped without the module; the VM harness runs these.
"""
import unittest

import _support
from _support import WORKLOAD

# A master that protects its heap and forks one child, which proves and
# patches sites, then measures traps (emulated writes) per work(data).
CHILD = WORKLOAD + '''
import errno, threading, time
import cowguard

def traps(n):
    before = cowguard.stats()["emulated"]
    results = [work(data) for _ in range(n)]
    return (cowguard.stats()["emulated"] - before) / n, results

data = build(3000)
expect = work(data)
summary = cowguard.protect(strict=True, patch=PATCH, trap_budget=65535)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    out = {"patching": summary["patching"], "on": cowguard.patcher_status()["on"]}
    out["unpatched"], res1 = traps(3)          # proves the sites
    try:
        out["report"] = cowguard.patch_sites()
    except OSError as e:
        out["report"] = None
        out["errno"] = e.errno
    out["patched"], res2 = traps(3)
    # Other threads run Python while a patching round runs. (Undoing and
    # redoing sites while they run is left out: it hung once in the VM,
    # not yet understood; see README, "Site patching".)
    stop = []
    def spin(box):
        while not stop:
            box.append(work(data))
    boxes = [[], []]
    threads = [threading.Thread(target=spin, args=(b,)) for b in boxes]
    for t in threads:
        t.start()
    time.sleep(0.2)
    if out["report"]:
        cowguard.patch_sites()
    time.sleep(0.2)
    stop.append(1)
    for t in threads:
        t.join()
    out["spins"] = sum(len(b) for b in boxes)
    out["all_same"] = all(x == expect for x in res1 + res2 + boxes[0] + boxes[1])
    out["restored"] = cowguard.unpatch_sites() if out["report"] else 0
    out["after_unpatch"], res3 = traps(3)
    out["all_same"] = out["all_same"] and all(x == expect for x in res3)
    os.write(w, json.dumps(out).encode())
    os._exit(0)
os.close(w)
child = json.loads(os.read(r, 1 << 20))
os.waitpid(pid, 0)
print(json.dumps(child))
'''


class _module_param:
    """Set a cowguard module parameter for a while."""

    def __init__(self, name, value):
        self.path = "/sys/module/cowguard/parameters/" + name
        self.value = value

    def __enter__(self):
        with open(self.path) as f:
            self.old = f.read().strip()
        with open(self.path, "w") as f:
            f.write(self.value)

    def __exit__(self, *exc):
        with open(self.path, "w") as f:
            f.write(self.old)


def _no_device():
    return None if _support.device_present() else "cowguard module not loaded"


def run(patch):
    res, proc = _support.run_script(CHILD.replace("PATCH", repr(patch)))
    assert proc.returncode == 0, proc.stderr
    return res


@_support.requires("module", _no_device)
class TestPatching(unittest.TestCase):

    def test_a_worker_stops_trapping(self):
        res = run(True)
        self.assertTrue(res["patching"])
        self.assertTrue(res["on"])
        rep = res["report"]
        self.assertGreater(rep["proven"], 0)
        self.assertGreater(rep["patched"], 0)
        # Without patches every work() traps many times; with them fewer.
        # (How many fewer in this small workload is not settled: the demo
        # and bench/native measure it; here 0.8x was seen in the VM.)
        self.assertGreater(res["unpatched"], 100)
        self.assertLess(res["patched"], res["unpatched"])
        self.assertTrue(res["all_same"])
        self.assertGreater(res["spins"], 0)
        # The patcher thread may have patched more since the report.
        self.assertGreaterEqual(res["restored"], rep["patched"])
        self.assertGreaterEqual(res["after_unpatch"], res["patched"])

    def test_patch_false_starts_no_patcher(self):
        res = run(False)
        self.assertFalse(res["patching"])
        self.assertFalse(res["on"])
        self.assertTrue(res["all_same"])

    def test_site_patching_off_patches_nothing(self):
        with _module_param("site_patching", "0"):
            res = run(True)
        self.assertIsNone(res["report"])
        self.assertEqual(res["errno"], 95)     # EOPNOTSUPP
        self.assertGreater(res["patched"], 100)
        self.assertTrue(res["all_same"])


if __name__ == "__main__":
    unittest.main()
