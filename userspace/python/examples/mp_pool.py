# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""multiprocessing recipe: load, protect(), then create the Pool.

    python3 examples/mp_pool.py [records] [workers]

protect() must run before the Pool exists: Pool() forks its workers at once
and starts threads in the parent (protect() refuses to run with threads).
The start method must be "fork" (3.14 makes "forkserver" the default on
Linux; "spawn" and "forkserver" workers import everything afresh and share
nothing with the parent).
"""
import multiprocessing as mp
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import cowguard  # noqa: E402

DATA = {}


def load(n):
    for i in range(n):
        DATA["key-%d" % i] = (i, "value-%d" % i, [i, i + 1, i + 2])


def lookup(i):
    n, s, lst = DATA["key-%d" % i]
    return n + len(s) + sum(lst)


def private_dirty_kb():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    return -1


def report(_):
    return os.getpid(), private_dirty_kb(), cowguard.stats()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    load(n)
    summary = cowguard.protect()       # warns and goes on without the module
    print("protected %d objects in %d ranges in %.2fs (registered: %s)"
          % (summary["objects"], summary["ranges"], summary["seconds"],
             summary["registered"]))
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        total = sum(pool.map(lookup, range(n), chunksize=1000))
        # One report per worker (chunksize 1, a barrier-free best effort).
        reports = pool.map(report, range(workers), chunksize=1)
    print("checksum", total)
    for pid, dirty, st in sorted(set((p, d, repr(s)) for p, d, s in reports)):
        print("worker %d: Private_Dirty %d KiB, stats %s" % (pid, dirty, st))


if __name__ == "__main__":
    main()
