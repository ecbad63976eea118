# SPDX-License-Identifier: GPL-2.0
"""The long run (make demo-long), for the interpreter that runs this file.

    PYTHON longrun.py CONFIG.json RESULT.json

Like runner.py (whose sessions it reuses): the data set is built once,
each mode gets a fresh master forked from this loader and is warmed up.
Then the measured work (B: lookups, A: seconds of wrk) goes in `samples`
equal steps; after the warm-up and after every step the workers' memory
and cowguard counters are read, which gives private memory per worker
over time and traps and reclaim churn per second of each step.

The module's reclaim scanner is global (reclaim_interval_ms), so the
modes run in two groups, one after the other: first those that want it
off (cowguard-noreclaim, with plain and freeze alongside, which do not
care), then those that want it on, with the interval the module had at
the start (5000 ms if that was 0). Within a group the steps go one mode
at a time in turn, as in the short demo.
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
RECLAIM = os.path.join(PARAMS, "reclaim_interval_ms")
COUNTERS = ("emulated", "shadow_faults", "reclaimed", "reshadowed", "budget_shadows")


def read_reclaim_interval():
    try:
        with open(RECLAIM) as f:
            return int(f.read())
    except OSError:
        return None


def set_reclaim_interval(ms):
    if read_reclaim_interval() is not None:
        with open(RECLAIM, "w") as f:
            f.write(str(ms))


def sample(session, snap, work, seconds, wall):
    """One sample point of one mode: means per worker, counters summed."""
    workers = []
    for pid in session.pids:
        d = snap[pid]
        st = d["stats"] if d["stats"] and "error" not in d["stats"] else None
        inherited = d.get("inherited_shadows") or 0
        workers.append({
            "pid": pid,
            "private_kb": runner.private_kb(d["smaps_kb"], st, inherited),
            "uss_kb": d["smaps_kb"]["USS"],
            "private_dirty_kb": d["smaps_kb"]["Private_Dirty"],
            "shadow_pages": st["shadow_pages"] if st else None,
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


def run_group(w, mode_list, steps, reclaim_ms):
    """Start every mode of the group, then the steps, sampling after each."""
    cls = runner.ASession if w == "A" else runner.BSession
    set_reclaim_interval(reclaim_ms)
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
        live = [s for s in sessions if "error" not in s.res]
        for s in live:
            s.res["reclaim_interval_ms"] = read_reclaim_interval()
            s.res["samples"] = [sample(s, runner.snapshot(s.pids, s.outdir), 0, 0.0,
                                       time.time() - s.t0)]
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
    start_ms = read_reclaim_interval()
    on_ms = start_ms or 5000
    todo = []
    for mode in CFG["modes"]:
        why = modes.available(mode)
        if why:
            result["skipped"][mode] = why
        else:
            todo.append(mode)
    off = [m for m in todo if modes.parse(m)[0] != "cowguard" or modes.reclaim_off(m)]
    on = [m for m in todo if m not in off]
    try:
        for w in CFG["workloads"]:
            for group, ms in ((off, 0), (on, on_ms)):
                if group:
                    result[w].update(run_group(w, group, CFG["samples"], ms))
            for mode, r in result[w].items():
                if "error" in r:
                    sys.stderr.write("\ndemo: %s: %s %s: %s\n" % (runner.LABEL, w, mode,
                                                                 r["error"]))
    finally:
        if start_ms is not None:
            set_reclaim_interval(start_ms)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    progress("done", True)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
