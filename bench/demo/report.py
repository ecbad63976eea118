# SPDX-License-Identifier: GPL-2.0
"""The demo's table, from its results (demo.py writes them).

    python3 report.py build/demo/results.json
"""
import json
import sys

# The benchmark target (issue 14): cowguard keeps at most this share of
# plain fork's per-worker private memory...
GOAL_PRIVATE = 0.05
# ...at least its requests per second...
GOAL_RPS = 1.0
# ...and takes at most this many traps (emulated writes) per request once
# warm (site patching).
GOAL_TRAPS = 0.05

WORKLOADS = {
    "A": "gunicorn --preload + Flask, wrk over loopback",
    "B": "multiprocessing Pool (fork), fixed lookups",
}


def mib(kb):
    return "-" if kb is None else "%.1f MiB" % (kb / 1024)


def num(x, fmt="%.1f"):
    return "-" if x is None else fmt % x


def ratio(a, b):
    if a is None or b is None or not b:
        return None
    return a / b


def verdicts(results):
    """Each cowguard mode against plain fork, per interpreter and workload."""
    out = []
    for run in results["runs"]:
        for w in ("A", "B"):
            modes = run.get(w) or {}
            plain = modes.get("plain")
            if not plain or "error" in plain:
                continue
            for mode, cg in modes.items():
                if mode.partition(":")[0] != "cowguard" or "error" in cg:
                    continue
                priv = ratio(cg["private_kb"], plain["private_kb"])
                rps = ratio(cg["rps"], plain["rps"])
                traps = ratio(cg.get("emulated_per_s"), cg["rps"])
                out.append({
                    "python": run["python"], "workload": w, "mode": mode,
                    "private_dirty_ratio": ratio(cg["private_dirty_kb"],
                                                 plain["private_dirty_kb"]),
                    "private_ratio": priv,
                    "uss_ratio": ratio(cg["uss_kb"], plain["uss_kb"]),
                    "workers_mem_ratio": ratio(cg["workers_mem_kb"], plain["workers_mem_kb"]),
                    "rps_ratio": rps,
                    "traps_per_request": traps,
                    "met": priv is not None and rps is not None and traps is not None
                    and priv <= GOAL_PRIVATE and rps >= GOAL_RPS and traps <= GOAL_TRAPS,
                })
    return out


def render(results):
    cfg = results["config"]
    lines = []
    add = lines.append
    add("")
    add("cowguard prefork demo: %d workers, %g MiB data set, Zipf s=%g, "
        "kernel %s, %d vCPUs (qemu TCG)" % (cfg["workers"], cfg["mb"], cfg["zipf_s"],
                                            results["kernel"], results["cpus"]))
    params = results["module"].get("parameters") or {}
    add("trap budget: %s; module parameters: %s" % (
        cfg["trap_budget"] or "module default (%s)" % params.get("trap_budget"),
        " ".join("%s=%s" % kv for kv in sorted(params.items())) or "-"))
    head = ("mode", "private/worker", "Private_Dirty", "USS", "workers total",
            "req/s", "emulated/s", "traps/req", "patched", "shadow faults/s",
            "shadow pages")
    fmt = "  %-16s %14s %13s %10s %13s %7s %10s %9s %7s %15s %12s"
    for run in results["runs"]:
        if "error" in run:
            add("")
            add("%s: %s" % (run["executable"], run["error"]))
            continue
        for w in ("B", "A"):
            modes = run.get(w) or {}
            if not modes:
                continue
            add("")
            some = next(iter(modes.values()))
            if w == "A":
                what = "wrk %ds measured after %ds warm-up" % (cfg["seconds"], cfg["warmup"])
            else:
                what = "%d lookups measured after %d warm-up" % (
                    some.get("lookups", 0), some.get("lookups", 0) // 2)
            add("Python %s, workload %s: %s; %d records, %s" % (
                run["python"], w, WORKLOADS[w], run["records"], what))
            add(fmt % head)
            for mode, r in modes.items():
                if "error" in r:
                    add("  %-12s error: %s" % (mode, r["error"]))
                    continue
                traps = (r["emulated_per_s"] / r["rps"]
                         if r.get("emulated_per_s") is not None and r.get("rps") else None)
                add(fmt % (mode, mib(r["private_kb"]), mib(r["private_dirty_kb"]),
                           mib(r["uss_kb"]),
                           mib(r["workers_mem_kb"]), num(r["rps"]),
                           num(r["emulated_per_s"], "%.0f"), num(traps, "%.3f"),
                           num(r.get("patched_sites"), "%.0f"),
                           num(r["shadow_faults_per_s"], "%.1f"),
                           num(r["shadow_pages"], "%d")))
                if r.get("refused") is not None and any(
                        (w.get("cowguard") or {}).get("mapped_pages") for w in r["workers"]):
                    def total(key):
                        return sum(w["cowguard"].get(key, 0) for w in r["workers"])
                    add("  %12s why pages were copied (whole run, all workers): %d shadow "
                        "faults, %d by the trap budget, %d reclaimed then %d shadowed "
                        "again, %s inherited from the master; refused: %s" % (
                            "", total("shadow_faults"), r["budget_shadows"],
                            total("reclaimed"), total("reshadowed"),
                            num(r.get("inherited_shadows"), "%d"),
                            ", ".join("%s %d" % kv for kv in r["refused"].items() if kv[1])
                            or "none"))
            for v in verdicts(results):
                if v["python"] == run["python"] and v["workload"] == w:
                    add("  %s/plain: private memory %s (goal <= %.2f; Private_Dirty %s, "
                        "USS %s, workers total %s), req/s %s (goal >= %.2f), traps/req %s "
                        "(goal <= %.2f): %s" % (
                            v["mode"], num(v["private_ratio"], "%.3f"), GOAL_PRIVATE,
                            num(v["private_dirty_ratio"], "%.3f"),
                            num(v["uss_ratio"], "%.3f"), num(v["workers_mem_ratio"], "%.3f"),
                            num(v["rps_ratio"], "%.3f"), GOAL_RPS,
                            num(v["traps_per_request"], "%.3f"), GOAL_TRAPS,
                            "goal met" if v["met"] else "goal NOT met"))
        for mode, why in run.get("skipped", {}).items():
            add("  (%s skipped on Python %s: %s)" % (mode, run["python"], why))
    add("")
    add("Means per worker after the measured phase. private/worker: USS (smaps_rollup "
        "Private_Clean + Private_Dirty)")
    add("outside cowguard's mappings plus the worker's own shadow pages (the module's "
        "exclusive_shadow_pages:")
    add("shadows it copied itself; those inherited from its master at fork stay shared "
        "until written); a golden page mapped by one")
    add("process only counts as private in smaps, yet it is the shared copy); workers "
        "total: drop of the guest's MemAvailable")
    add("while the mode ran, from just before the fork; emulated/s (traps), shadow "
        "faults/s: cowguard.stats() of all")
    add("workers over the measured phase; shadow pages: the workers' private copies "
        "of registered pages at the")
    add("end; traps/req: emulated writes per request (lookup) in the measured phase; "
        "patched: instruction sites a worker")
    add("runs patched (cowguard_patch_sites(3)). An emulated VM on a shared host: "
        "compare ratios, not absolute figures.")
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(render(json.load(f)))
