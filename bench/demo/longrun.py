# SPDX-License-Identifier: GPL-2.0
"""The long run (make demo-long), for the interpreter that runs this file.

    PYTHON longrun.py CONFIG.json RESULT.json

Like runner.py (whose sessions it reuses): the data set is built once,
each mode gets a fresh master forked from this loader and is warmed up.
Then the measured work (B: lookups, A: seconds of wrk) goes in `samples`
equal steps; after the warm-up and after every step the workers' memory
and cowguard counters are read, which gives private memory per worker
over time and traps and reclaim churn per second of each step.

The module's parameters are global, so the modes run in groups, one after
the other, each under the parameters its modes want (modes.module_params):
first the reclaim scanner off (cowguard-noreclaim, with plain and freeze
alongside, which do not care), then the module's own settings (cowguard)
with the scanner on at the interval the module had at the start (5000 ms
if that was 0), then the shadow cap off (cowguard-nocap). Within a group
the steps go one mode at a time in turn, as in the short demo.
"""
import gc
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import modes  # noqa: E402
import runner  # noqa: E402
from runner import CFG, progress  # noqa: E402

PARAMS = "/sys/module/cowguard/parameters"
COUNTERS = ("emulated", "shadow_faults", "reclaimed", "reshadowed", "budget_shadows",
            "capped")


def read_param(name):
    """A module parameter's value, None without the module."""
    try:
        with open(os.path.join(PARAMS, name)) as f:
            return int(f.read())
    except OSError:
        return None


def set_params(params):
    for name, value in params.items():
        if read_param(name) is not None:
            with open(os.path.join(PARAMS, name), "w") as f:
                f.write(str(value))


def sample(session, snap, work, seconds, wall):
    """One sample point of one mode: means per worker, counters summed."""
    workers = []
    for pid in session.pids:
        d = snap[pid]
        st = d["stats"] if d["stats"] and "error" not in d["stats"] else None
        inherited = d.get("inherited_shadows") or 0
        workers.append({
            "pid": pid,
            "private_kb": runner.private_kb(d["smaps_kb"], st),
            "uss_kb": d["smaps_kb"]["USS"],
            "private_dirty_kb": d["smaps_kb"]["Private_Dirty"],
            "shadow_pages": st["shadow_pages"] if st else None,
            "budget_shadow_pages": st.get("budget_shadow_pages") if st else None,
            "inherited_shadows": inherited if st else None,
            "counters": {k: st.get(k, 0) for k in COUNTERS} if st else None,
        })
    n = len(workers)
    have = all(w["counters"] for w in workers)
    return {
        "work": work, "seconds": seconds, "wall": wall,
        "private_kb": sum(w["private_kb"] for w in workers) / n,
        "uss_kb": sum(w["uss_kb"] for w in workers) / n,
        "private_dirty_kb": sum(w["private_dirty_kb"] for w in workers) / n,
        "shadow_pages": sum(w["shadow_pages"] for w in workers) / n if have else None,
        "budget_shadow_pages": (sum(w["budget_shadow_pages"] or 0 for w in workers) / n
                                if have else None),
        "inherited_shadows": (sum(w["inherited_shadows"] for w in workers) / n
                              if have else None),
        "counters": ({k: sum(w["counters"][k] for w in workers) for k in COUNTERS}
                     if have else None),
        "workers": workers,
    }


def add_rates(samples):
    """Per step: work per second and the counters' increase per second,
    over the measured seconds of that step (all workers together)."""
    for prev, cur in zip(samples, samples[1:]):
        dt = cur["seconds"] - prev["seconds"]
        cur["work_per_s"] = (cur["work"] - prev["work"]) / dt if dt > 0 else None
        if cur["counters"] and prev["counters"] and dt > 0:
            cur["per_s"] = {k: (cur["counters"][k] - prev["counters"][k]) / dt
                            for k in COUNTERS}
        else:
            cur["per_s"] = None


def run_group(w, mode_list, steps, params):
    """Start every mode of the group, then the steps, sampling after each."""
    cls = runner.ASession if w == "A" else runner.BSession
    set_params(params)
    sessions, results = [], {}
    try:
        for i, mode in enumerate(mode_list):
            s = cls(w, mode, i)
            s.t0 = time.time()
            sessions.append(s)
            try:
                s.start()
            except Exception as e:
                s.res["error"] = "%s: %s" % (type(e).__name__, e)
                continue
            # Read right after its own warm-up: while the group's next modes
            # start, its workers idle and the scanner gives their shadows back.
            s.res["reclaim_interval_ms"] = read_param("reclaim_interval_ms")
            s.res["shadow_cap_pct"] = read_param("shadow_cap_pct")
            s.res["samples"] = [sample(s, runner.snapshot(s.pids, s.outdir), 0, 0.0,
                                       time.time() - s.t0)]
        live = [s for s in sessions if "error" not in s.res]
        for k in range(steps):
            for s in live:
                if "error" in s.res:
                    continue
                try:
                    s.round(k, steps)
                    s.res["samples"].append(sample(
                        s, runner.snapshot(s.pids, s.outdir), s.work, s.seconds,
                        time.time() - s.t0))
                except Exception as e:
                    s.res["error"] = "%s: %s" % (type(e).__name__, e)
        for s in live:
            add_rates(s.res["samples"])
            s.res.update({"seconds": s.seconds, "work": s.work,
                          "rps": s.work / s.seconds if s.seconds else None})
            if w == "B":
                s.res["checksum"] = s.checksum
    finally:
        for s in sessions:
            if s.pid:
                try:
                    s.stop()
                except Exception as e:
                    s.res.setdefault("error", "stop: %s: %s" % (type(e).__name__, e))
            results[s.mode] = s.res
    return results


def plan_groups(todo, start):
    """[(modes, module parameters)]: cowguard modes that want the same
    parameters run together, in the order they come; plain and freeze go
    with the first group (they do not care). The scanner runs wherever a
    mode does not switch it off."""
    base = {"reclaim_interval_ms": start["reclaim_interval_ms"] or 5000}
    if start["shadow_cap_pct"] is not None:
        base["shadow_cap_pct"] = start["shadow_cap_pct"]
    others = [m for m in todo if modes.parse(m)[0] != "cowguard"]
    groups = []
    for mode in todo:
        if mode in others:
            continue
        params = dict(base, **modes.module_params(mode))
        for g, p in groups:
            if p == params:
                g.append(mode)
                break
        else:
            groups.append(([mode], params))
    if not groups:
        return [(others, base)] if others else []
    groups[0] = (others + groups[0][0], groups[0][1])
    return groups


def main():
    CFG.update(json.load(open(sys.argv[1])))
    out_path = sys.argv[2]
    shutil.rmtree(CFG["workdir"], ignore_errors=True)
    os.makedirs(CFG["workdir"])
    os.environ["DEMO_MB"] = str(CFG["mb"])
    # runner's sessions split their measured work in CFG["rounds"] rounds.
    CFG["rounds"] = CFG["samples"]
    progress("building the data set (%s MiB) and importing the app" % CFG["mb"], True)
    t = time.perf_counter()
    import app
    load = time.perf_counter() - t
    gc.collect()
    CFG["records"] = len(app.DATA)
    result = {"python": sys.version.split()[0], "executable": sys.executable,
              "records": len(app.DATA), "load_seconds": load,
              "modes": CFG["modes"], "A": {}, "B": {}, "skipped": {}}
    start = {name: read_param(name) for name in ("reclaim_interval_ms", "shadow_cap_pct")}
    todo = []
    for mode in CFG["modes"]:
        why = modes.available(mode)
        if why:
            result["skipped"][mode] = why
        else:
            todo.append(mode)
    groups = plan_groups(todo, start)
    try:
        for w in CFG["workloads"]:
            for group, params in groups:
                result[w].update(run_group(w, group, CFG["samples"], params))
            for mode, r in result[w].items():
                if "error" in r:
                    sys.stderr.write("\ndemo: %s: %s %s: %s\n" % (runner.LABEL, w, mode,
                                                                 r["error"]))
    finally:
        set_params({k: v for k, v in start.items() if v is not None})
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    progress("done", True)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
