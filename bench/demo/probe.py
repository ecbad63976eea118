# SPDX-License-Identifier: GPL-2.0
"""Per-worker figures, read while the workers keep running.

cowguard's counters (COWGUARD_IOC_STATS) describe the calling process
only, so each worker installs a signal handler (install(), from gunicorn's
post_worker_init or the Pool's initializer) that writes its
cowguard.stats() to DIR/PID.json. The driver reads the workers' memory
from /proc first (smaps_rollup), then signals them (collect()).
"""
import json
import os
import signal
import sys
import time

SIGNAL = signal.SIGRTMIN + 2    # unused by gunicorn and multiprocessing


def _cowguard_stats():
    try:
        import cowguard
        st = cowguard.stats()
        if st is not None:
            # Sites this worker runs patched (its own and its master's).
            st["patched_sites"] = (cowguard.patcher_status()["report"] or {}).get("patched", 0)
            if os.environ.get("DEMO_SITES_DETAIL"):
                st["sites"] = _site_detail(cowguard)
        return st
    except Exception as e:      # the figure is missing, the worker lives on
        return {"error": repr(e)}


def _site_detail(cowguard):
    """Every site of the tree's proof table with the file and offset its
    address lies in (DEMO_SITES_DETAIL=1: why a site still traps)."""
    maps = []
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            maps.append((lo, hi, int(p[2], 16), p[5] if len(p) > 5 else ""))
    out = []
    for s in cowguard._cowguard.sites():
        where = [m for m in maps if m[0] <= s["ip"] < m[1]]
        if where:
            lo, _, off, path = where[0]
            s["file"], s["offset"] = path, s["ip"] - lo + off
        out.append(s)
    return out


def install(outdir):
    # The shadows a worker holds when it starts are its master's, shared
    # with it by fork (the module counts them in every process that maps
    # them); noted first thing, so the driver can leave them out of the
    # worker's private memory. Only where the master used cowguard.
    born = _cowguard_stats() if "cowguard" in sys.modules else None
    inherited = (born or {}).get("shadow_pages") if "error" not in (born or {}) else None

    def dump(signum, frame):
        path = os.path.join(outdir, "%d.json" % os.getpid())
        with open(path + ".tmp", "w") as f:
            json.dump({"pid": os.getpid(), "time": time.time(),
                       "stats": _cowguard_stats(),
                       "inherited_shadows": inherited}, f)
        os.rename(path + ".tmp", path)
    signal.signal(SIGNAL, dump)
    # The signal's default action kills: the driver waits for this first.
    open(os.path.join(outdir, "%d.ready" % os.getpid()), "w").close()


def wait_ready(pids, outdir, timeout=300):
    deadline = time.time() + timeout
    while not all(os.path.exists(os.path.join(outdir, "%d.ready" % p)) for p in pids):
        if time.time() > deadline:
            raise TimeoutError("workers %s never installed the probe" % pids)
        time.sleep(0.1)


def collect(pids, outdir, timeout=120):
    """Signal each worker and return {pid: its dump}."""
    for pid in pids:
        try:
            os.unlink(os.path.join(outdir, "%d.json" % pid))
        except FileNotFoundError:
            pass
        os.kill(pid, SIGNAL)
    out, deadline = {}, time.time() + timeout
    while len(out) < len(pids):
        for pid in pids:
            path = os.path.join(outdir, "%d.json" % pid)
            if pid not in out and os.path.exists(path):
                with open(path) as f:
                    out[pid] = json.load(f)
        if time.time() > deadline:
            raise TimeoutError("workers %s did not answer" %
                               sorted(set(pids) - set(out)))
        time.sleep(0.05)
    return out


def smaps(pid):
    """smaps_rollup in KiB, plus USS (private clean + dirty), plus what of
    it lies in cowguard's mappings (anon_inode:[cowguard], from smaps).

    A golden page that only one process happens to map counts as private
    in smaps although it is the shared copy, so the demo's private figure
    takes the USS outside cowguard's mappings plus the worker's own shadow
    pages (runner.private_kb)."""
    m = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                m[parts[0].rstrip(":")] = int(parts[1])
    m["USS"] = m.get("Private_Clean", 0) + m.get("Private_Dirty", 0)
    out = {k: m.get(k, 0) for k in ("Rss", "Pss", "Shared_Clean", "Shared_Dirty",
                                    "Private_Clean", "Private_Dirty", "USS")}
    cg = {"Rss": 0, "Private_Clean": 0, "Private_Dirty": 0}
    inside = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):    # a VMA's header
                inside = line.rstrip().endswith("anon_inode:[cowguard]")
            elif inside and first.rstrip(":") in cg:
                cg[first.rstrip(":")] += int(line.split()[1])
    cg["USS"] = cg["Private_Clean"] + cg["Private_Dirty"]
    out["cowguard"] = cg
    return out


def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def children(pid):
    """Direct children of pid (needs CONFIG_PROC_CHILDREN, Debian has it)."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        return [int(p) for p in f.read().split()]
