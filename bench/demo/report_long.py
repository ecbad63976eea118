# SPDX-License-Identifier: GPL-2.0
"""The long run's tables, from its results (demo.py writes them).

    python3 report_long.py build/demo/results-long.json
"""
import json
import sys

# The benchmark target (issue 8): at the end of the long run, cowguard's
# private memory per worker at most this multiple of its value after the
# warm-up...
GOAL_GROWTH = 2.0
# ...and at most this share of plain fork's at the end (>= 90% below).
GOAL_VS_PLAIN = 0.10

WORKLOADS = {
    "A": ("gunicorn --preload + Flask, wrk over loopback", "requests"),
    "B": ("multiprocessing Pool (fork), Zipf lookups", "lookups"),
}


def title(mode):
    """Two header lines for a mode's column."""
    base, _, rest = mode.partition("-")
    if base.startswith("cowguard"):
        if rest.startswith("cap") and rest[3:].isdigit():
            return base, "cap %s%%" % rest[3:]
        return base, {"noreclaim": "reclaim off", "nocap": "cap off"}.get(rest, "reclaim on")
    return base, ""


def is_cowguard(mode):
    return mode.startswith("cowguard")


def num(x, fmt="%.1f"):
    return "-" if x is None else fmt % x


def ok_modes(modes):
    return {m: r for m, r in modes.items() if "error" not in r and r.get("samples")}


def verdicts(results):
    """Each cowguard mode: end against its warm-up, and against plain's end."""
    out = []
    for run in results["runs"]:
        for w in ("B", "A"):
            modes = ok_modes(run.get(w) or {})
            plain = modes.get("plain")
            for mode, r in modes.items():
                if not is_cowguard(mode):
                    continue
                warm, end = r["samples"][0]["private_kb"], r["samples"][-1]["private_kb"]
                plain_end = plain["samples"][-1]["private_kb"] if plain else None
                growth = end / warm if warm else None
                vs_plain = end / plain_end if plain_end else None
                out.append({
                    "python": run["python"], "workload": w, "mode": mode,
                    "warm_private_kb": warm, "end_private_kb": end,
                    "plain_end_private_kb": plain_end,
                    "growth": growth, "vs_plain": vs_plain,
                    "met": growth is not None and vs_plain is not None
                    and growth <= GOAL_GROWTH and vs_plain <= GOAL_VS_PLAIN,
                })
    return out


def render_run(run, w, cfg, results, add):
    modes = ok_modes(run.get(w) or {})
    what, unit = WORKLOADS[w]
    for mode, r in (run.get(w) or {}).items():
        if "error" in r:
            add("  %s: error: %s" % (mode, r["error"]))
    if not modes:
        return
    names = list(modes)
    first = modes[names[0]]
    if w == "B":
        plan = "%d lookups after a %d-lookup warm-up, read every %d" % (
            first["work"], first.get("warmup_lookups", 0),
            first["work"] // max(1, len(first["samples"]) - 1))
    else:
        plan = "wrk for %d s after a %d s warm-up, read every %d s" % (
            cfg["seconds"], cfg["warmup"], cfg["seconds"] // max(1, cfg["samples"]))
    add("")
    add("Python %s, workload %s: %s; %d workers, %d records; %s" % (
        run["python"], w, what, cfg["workers"], run["records"], plan))

    # Memory: rows = sample points, columns = modes.
    add("")
    add("  Private memory per worker, MiB (mean of the %d workers; * see below)" %
        cfg["workers"])
    col = "%13s"
    add("  %-16s" % "" + "".join(col % title(m)[0] for m in names))
    add("  %-16s" % ("after %s" % unit) + "".join(col % title(m)[1] for m in names))
    rows = max(len(modes[m]["samples"]) for m in names)
    for i in range(rows):
        label = None
        cells = []
        for m in names:
            s = modes[m]["samples"]
            if i < len(s):
                if label is None:
                    label = ("%d (warm)" % 0 if i == 0 else "%d" % s[i]["work"]) \
                        if w == "B" else ("warm-up" if i == 0 else "%.0f s" % s[i]["seconds"])
                cells.append(col % num(s[i]["private_kb"] / 1024))
            else:
                cells.append(col % "-")
        add("  %-16s" % label + "".join(cells))
    plain = modes.get("plain")
    growth = []
    vs = []
    for m in names:
        s = modes[m]["samples"]
        growth.append(col % num(s[-1]["private_kb"] / s[0]["private_kb"], "%.2fx")
                      if s[0]["private_kb"] else col % "-")
        vs.append(col % num(s[-1]["private_kb"] / plain["samples"][-1]["private_kb"], "%.3f")
                  if plain and plain["samples"][-1]["private_kb"] else col % "-")
    add("  %-16s" % "end / warm" + "".join(growth))
    add("  %-16s" % "end / plain end" + "".join(vs))

    # Speed: every mode, per step.
    add("")
    add("  %s per second, per step (all workers)" % unit.capitalize())
    add("  %-16s" % "" + "".join(col % title(m)[0] for m in names))
    add("  %-16s" % ("after %s" % unit) + "".join(col % title(m)[1] for m in names))
    for i in range(1, rows):
        s0 = modes[names[0]]["samples"]
        label = ("%d" % s0[i]["work"]) if w == "B" and i < len(s0) else \
            ("%.0f s" % s0[i]["seconds"] if i < len(s0) else "")
        add("  %-16s" % label + "".join(
            col % (num(modes[m]["samples"][i].get("work_per_s"), "%.0f")
                   if i < len(modes[m]["samples"]) else "-") for m in names))
    add("  %-16s" % "whole run" + "".join(col % num(modes[m]["rps"], "%.0f") for m in names))

    # cowguard's activity: per step, per second, all workers together.
    for m in names:
        if not is_cowguard(m):
            continue
        r = modes[m]
        add("")
        add("  %s (%s, reclaim_interval_ms=%s, shadow_cap_pct=%s): per second of the "
            "step, all workers" % (title(m)[0], title(m)[1], r.get("reclaim_interval_ms"),
                                   r.get("shadow_cap_pct", "-")))
        f = "  %-16s %11s %11s %11s %11s %11s %14s %10s"
        add(f % ("after %s" % unit, "traps/s", "capped/s", "copies/s", "reclaimed/s",
                 "reshadowed/s", "shadows/worker", "of budget"))
        for i, s in enumerate(r["samples"]):
            ps = s.get("per_s") or {}
            label = ("%d" % s["work"]) if w == "B" else "%.0f s" % s["seconds"]
            if i == 0:
                label = "0 (warm)" if w == "B" else "warm-up"
            add(f % (label, num(ps.get("emulated"), "%.0f"), num(ps.get("capped"), "%.0f"),
                     num(ps.get("shadow_faults"), "%.1f"),
                     num(ps.get("reclaimed"), "%.1f"), num(ps.get("reshadowed"), "%.1f"),
                     num(s["shadow_pages"], "%.0f"),
                     num(s.get("budget_shadow_pages"), "%.0f")))
        inh = r["samples"][-1].get("inherited_shadows")
        add("  %-16s %s shadows per worker inherited from the master at fork "
            "(shared: not in private memory*)" % ("", num(inh, "%.0f")))

    for v in verdicts(results):
        if v["python"] == run["python"] and v["workload"] == w:
            add("")
            add("  goal for %s %s: end %.1f MiB = %s x its warm-up value (goal <= %.0fx), "
                "%s of plain fork's end (goal <= %.2f, i.e. >= 90%% below): %s" % (
                    title(v["mode"])[0], title(v["mode"])[1], v["end_private_kb"] / 1024,
                    num(v["growth"], "%.2f"), GOAL_GROWTH, num(v["vs_plain"], "%.3f"),
                    GOAL_VS_PLAIN, "MET" if v["met"] else "NOT met"))


def render(results):
    cfg = results["config"]
    lines = []
    add = lines.append
    add("")
    params = results["module"].get("parameters") or {}
    add("cowguard long run (make demo-long): %g MiB data set, Zipf s=%g, kernel %s, "
        "%d vCPUs (qemu TCG), %.0f min" % (cfg["mb"], cfg["zipf_s"], results["kernel"],
                                          results["cpus"], results.get("seconds", 0) / 60))
    add("trap budget: %s; module parameters at the start: %s" % (
        cfg["trap_budget"] or "module default (%s)" % params.get("trap_budget"),
        " ".join("%s=%s" % kv for kv in sorted(params.items())) or "-"))
    add("Modes run in groups, one after the other (module parameters are global): "
        "reclaim_interval_ms=0 for")
    add("plain, freeze and cowguard/reclaim off; the module's settings for "
        "cowguard/reclaim on; shadow_cap_pct=0 for cap off.")
    for run in results["runs"]:
        if "error" in run:
            add("")
            add("%s: %s" % (run["executable"], run["error"]))
            continue
        for w in cfg["workloads"]:
            render_run(run, w, cfg, results, add)
        for mode, why in run.get("skipped", {}).items():
            add("  (%s skipped on Python %s: %s)" % (mode, run["python"], why))
    add("")
    add("* Private memory: USS (smaps_rollup Private_Clean + Private_Dirty) outside "
        "cowguard's mappings, plus the")
    add("  worker's own shadow pages (the module's exclusive_shadow_pages: shadows it "
        "copied itself; those")
    add("  inherited from the master at fork, shown above, stay shared until written). "
        "Golden pages are shared by design.")
    add("traps/s: refcount-only writes emulated and dropped; capped/s: of those, "
        "emulated past an empty budget")
    add("because the worker held its shadow cap; of budget: shadows per worker the "
        "budget made, held now;")
    add("copies/s: shadow faults (pages copied); reclaimed/s:")
    add("shadows the scanner gave back; reshadowed/s: of those, pages copied again (the "
        "churn). Rates are per")
    add("second of the mode's own measured work. An emulated VM on a shared host: "
        "compare modes, not absolute figures.")
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        print(render(json.load(f)))
