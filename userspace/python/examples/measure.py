# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""How long protect() takes on a heap of about N objects.

    python3 examples/measure.py [N]      (default 1,000,000)

Builds N/4 records of (int, float, str) tuples keyed by str, then runs
protect(dry_run=True) (walk + plan) and protect() (walk + plan + refcounts
moved + registration, or without the module: moved anyway via
immortalize_without_module, to time that step too).
"""
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import cowguard  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000000
    t = time.perf_counter()
    data = {"key-%d" % i: (i * 7, i * 0.5, "value-%d" % i) for i in range(n // 4)}
    build = time.perf_counter() - t
    dry = cowguard.protect(dry_run=True)
    dry.pop("plan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = cowguard.protect(immortalize_without_module=True)
    print("python %s: %d records built in %.2fs" % (real["python"], len(data), build))
    print("  dry run: %.3fs, %d objects walked, %d marked, %d pages, %d ranges"
          % (dry["seconds"], dry["walked"], dry["objects"], dry["pages"], dry["ranges"]))
    print("  protect: %.3fs, %d marked, %.1f MiB of objects, %d ranges, %.1f MiB "
          "of ranges, registered=%s"
          % (real["seconds"], real["objects"], real["bytes"] / 2**20, real["ranges"],
             real["range_bytes"] / 2**20, real["registered"]))


if __name__ == "__main__":
    main()
