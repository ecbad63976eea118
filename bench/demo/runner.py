# SPDX-License-Identifier: GPL-2.0
"""Both workloads, every mode, for the interpreter that runs this file.

    PYTHON runner.py CONFIG.json RESULT.json

Builds the data set once (by importing app.py), then for each mode forks a
fresh master from this loader, so that every mode starts from the same
heap without building it again (minutes under emulation):
  B: the master applies the mode, forks a multiprocessing Pool ("fork")
     and maps Zipf-distributed lookups over the data set: a warm-up pass,
     then a measured pass of fixed work.
  A: the master runs gunicorn --preload (gunicorn's own command-line entry
     point, with the app already imported), gunicorn.conf.py applies the
     mode in when_ready, and wrk drives it over loopback: warm-up, then a
     measured phase.
Per worker it reads smaps_rollup and asks the worker for its cowguard
counters (probe.py) before and after the measured phase.
"""
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import modes  # noqa: E402
import probe  # noqa: E402

CFG = {}
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
LABEL = "python %d.%d" % sys.version_info[:2]
_last_progress = [0.0]


def progress(msg, force=False):
    """One updating line on stderr."""
    now = time.time()
    if not force and now - _last_progress[0] < 0.5:
        return
    _last_progress[0] = now
    line = "demo: %s: %s" % (LABEL, msg)
    sys.stderr.write("\r" + line[:118] + "\033[K")
    sys.stderr.flush()


def wait_for(what, cond, timeout, alive=None):
    deadline = time.time() + timeout
    while True:
        v = cond()
        if v:
            return v
        if alive is not None and not alive():
            raise RuntimeError("%s: the master died" % what)
        if time.time() > deadline:
            raise TimeoutError("%s: no answer in %ds" % (what, timeout))
        time.sleep(0.1)


def private_kb(smaps_kb, stats):
    """A worker's private memory: USS outside cowguard's mappings plus its
    own shadow pages (the module's exclusive_shadow_pages). Golden pages
    are shared by design; the shadows it inherited from its master at fork
    are shared with the master (and its siblings) until it writes them, so
    they are left out."""
    st = stats if stats and "error" not in stats else {}
    own = st.get("exclusive_shadow_pages", 0)
    return smaps_kb["USS"] - smaps_kb["cowguard"]["USS"] + own * PAGE_KB


def worker_figures(pids, before, after, seconds):
    """Per-worker memory and counters, and their sums per second."""
    workers = []
    for pid in pids:
        s0 = before[pid]["stats"] or {}
        s1 = after[pid]["stats"] or {}
        w = {"pid": pid, "smaps_kb": after[pid]["smaps_kb"],
             "warm_smaps_kb": before[pid]["smaps_kb"], "cowguard": s1 or None}
        if s1 and "error" not in s1 and s0 and "error" not in s0:
            d = {k: s1[k] - s0.get(k, 0) for k in s1 if isinstance(s1[k], int)}
            d["refused"] = {k: v - s0.get("refused", {}).get(k, 0)
                            for k, v in s1.get("refused", {}).items()}
            w["cowguard_measured"] = d
        workers.append(w)

    for w in workers:
        w["inherited_shadows"] = after[w["pid"]].get("inherited_shadows") or 0
        w["private_kb"] = private_kb(w["smaps_kb"], w["cowguard"])

    def mean(key):
        return sum(w["smaps_kb"][key] if key in w["smaps_kb"] else w[key]
                   for w in workers) / len(workers)

    def rate(key):
        if not all("cowguard_measured" in w for w in workers):
            return None
        return sum(w["cowguard_measured"][key] for w in workers) / seconds

    have = all(w["cowguard"] and "error" not in w["cowguard"] for w in workers)
    return {
        "workers": workers,
        "private_kb": mean("private_kb"),
        "private_dirty_kb": mean("Private_Dirty"),
        "uss_kb": mean("USS"),
        "warm_private_dirty_kb": sum(w["warm_smaps_kb"]["Private_Dirty"]
                                     for w in workers) / len(workers),
        "emulated_per_s": rate("emulated"),
        "patched_sites": (sum(w["cowguard"].get("patched_sites", 0) for w in workers)
                          / len(workers) if have else None),
        "shadow_faults_per_s": rate("shadow_faults"),
        "shadow_pages": (sum(w["cowguard"]["shadow_pages"] for w in workers)
                         if have else None),
        "inherited_shadows": (sum(w["inherited_shadows"] for w in workers)
                              if have else None),
        "budget_shadows": (sum(w["cowguard"]["budget_shadows"] for w in workers)
                           if have else None),
        "refused": ({k: sum(w["cowguard"]["refused"].get(k, 0) for w in workers)
                     for k in workers[0]["cowguard"]["refused"]} if have else None),
    }


def snapshot(pids, outdir):
    """Memory from /proc first (the probe's handler allocates), then counters."""
    mem = {pid: probe.smaps(pid) for pid in pids}
    dumps = probe.collect(pids, outdir)
    for pid in pids:
        dumps[pid]["smaps_kb"] = mem[pid]
    return dumps


# Modes run side by side: every mode's master and workers are started and
# warmed up first, then the measured phase goes in rounds, one mode at a
# time in turn (plain, freeze, cowguard, plain, ...), so that a change in
# the host's load (other VMs, other users) hits every mode alike. Idle
# workers neither run nor touch memory; memory is read at the end.

class Session:
    """One mode of one workload: a master, its workers, their figures."""

    def __init__(self, workload, mode, index):
        self.workload, self.mode = workload, mode
        self.outdir = os.path.join(CFG["workdir"], "%s-%s" % (workload, mode))
        os.makedirs(self.outdir, exist_ok=True)
        self.res = {"mode": mode}
        self.seconds = 0.0      # measured, summed over rounds
        self.work = 0           # requests or lookups, summed over rounds
        self.mem_drop_kb = 0    # MemAvailable drops while this mode ran
        self.pid = None
        self.index = index

    def alive(self):
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def active(self, fn, *args):
        """Run fn with this mode active; count the memory it took."""
        before = probe.mem_available_kb()
        try:
            return fn(*args)
        finally:
            self.mem_drop_kb += before - probe.mem_available_kb()

    def finish(self, start, end):
        self.res.update({"seconds": self.seconds, "rps": self.work / self.seconds
                         if self.seconds else None,
                         "workers_mem_kb": self.mem_drop_kb})
        self.res.update(worker_figures(self.pids, start, end, self.seconds))


# ---------------------------------------------------------------- workload B

def b_task(seed):
    import app
    from dataset import lookup, zipf_ids
    data = app.DATA
    ids = zipf_ids(len(data), CFG["b_chunk"], seed, CFG["zipf_s"])
    return sum(len(json.dumps(lookup(data, i))) for i in ids)


def save_sites(mode):
    """The site list the module proved for this tree (cowguard modes), for
    the native benchmark (bench/native): DEMO_SITES_DIR/sites-VERSION.json."""
    where = os.environ.get("DEMO_SITES_DIR")
    if not where or modes.split_suffix(mode)[0] != "cowguard":
        return
    import platform
    import cowguard
    try:
        cowguard.save_sites(os.path.join(where, "sites-%s.json" % platform.python_version()))
    except OSError as e:
        sys.stderr.write("\ndemo: saving the site list: %s\n" % e)


def b_master(mode, outdir, commands, replies):
    """The forked master: apply the mode, fork the Pool, run map commands."""
    import multiprocessing as mp
    setup = modes.setup(mode, CFG["trap_budget"])
    before_kb = probe.mem_available_kb()
    pool = mp.get_context("fork").Pool(CFG["workers"], initializer=probe.install,
                                       initargs=(outdir,))
    reply = {"setup": setup, "mem_available_before_kb": before_kb,
             "pids": [p.pid for p in pool._pool]}
    while True:
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        cmd = json.loads(commands.readline() or '{"op": "stop"}')
        if cmd["op"] == "stop":
            pool.terminate()
            pool.join()
            save_sites(mode)
            return
        t = time.perf_counter()
        checksum = sum(pool.map(b_task, range(cmd["first"], cmd["first"] + cmd["n"]),
                                chunksize=1))
        reply = {"seconds": time.perf_counter() - t, "checksum": checksum}


class BSession(Session):
    def start(self):
        c_r, c_w = os.pipe()
        r_r, r_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(c_w)
            os.close(r_r)
            code = 0
            try:
                b_master(self.mode, self.outdir, os.fdopen(c_r), os.fdopen(r_w, "w"))
            except BaseException as e:  # never return into the loader
                sys.stderr.write("\ndemo: B %s master: %s: %s\n" % (self.mode, type(e).__name__, e))
                code = 1
            os._exit(code)
        os.close(c_r)
        os.close(r_w)
        self.commands, self.replies = os.fdopen(c_w, "w"), os.fdopen(r_r)
        progress("B %s: setting up" % self.mode, True)
        hello = self.ask(None)
        self.res["setup"] = hello["setup"]
        self.pids = hello["pids"]
        probe.wait_ready(self.pids, self.outdir)
        # From just before the Pool forks (noted by the master).
        self.mem_drop_kb += hello["mem_available_before_kb"] - probe.mem_available_kb()
        self.chunks = max(1, CFG["b_lookups"] // CFG["b_chunk"])
        warm = max(1, CFG.get("b_warmup_lookups", 0) // CFG["b_chunk"] or self.chunks // 2)
        self.active(self.map, 1, warm, "warm-up")
        self.res["warmup_lookups"] = warm * CFG["b_chunk"]
        self.checksum, self.next_seed = 0, 10**6

    def ask(self, cmd):
        if cmd is not None:
            self.commands.write(json.dumps(cmd) + "\n")
            self.commands.flush()
        line = self.replies.readline()
        if not line:
            raise RuntimeError("B %s: the master died" % self.mode)
        return json.loads(line)

    def map(self, first, n, phase):
        progress("B %s: %s, %d lookups" % (self.mode, phase, n * CFG["b_chunk"]), True)
        return self.ask({"op": "map", "first": first, "n": n})

    def round(self, k, rounds):
        n = self.chunks // rounds + (1 if k < self.chunks % rounds else 0)
        if n == 0:
            return
        r = self.active(self.map, self.next_seed, n, "round %d/%d" % (k + 1, rounds))
        self.next_seed += n
        self.seconds += r["seconds"]
        self.work += n * CFG["b_chunk"]
        self.checksum += r["checksum"]

    def finish(self, start, end):
        self.res.update({"lookups": self.work, "checksum": self.checksum})
        super().finish(start, end)

    def stop(self):
        try:
            self.commands.write(json.dumps({"op": "stop"}) + "\n")
            self.commands.flush()
        except (BrokenPipeError, ValueError):
            pass
        wait_for("B %s master exit" % self.mode, lambda: not self.alive(), 120)


# ---------------------------------------------------------------- workload A

def wrk(port, seconds, seed, what):
    env = dict(os.environ, DEMO_RECORDS=str(CFG["records"]),
               DEMO_ZIPF_S=str(CFG["zipf_s"]), DEMO_SEED=str(seed))
    cmd = ["wrk", "-t1", "-c%d" % CFG["connections"], "-d%ds" % seconds,
           "-T60s", "--latency", "-s", os.path.join(HERE, "zipf.lua"),
           "http://127.0.0.1:%d/" % port]
    t = time.time()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    while p.poll() is None:
        progress("%s %.0f/%ds" % (what, time.time() - t, seconds))
        time.sleep(0.5)
    out = p.stdout.read()
    for line in out.splitlines():
        if line.startswith("DEMO-WRK "):
            return json.loads(line[len("DEMO-WRK "):])
    raise RuntimeError("wrk failed (status %d): %s" % (p.returncode, out))


def gunicorn_master(mode, outdir, port):
    os.environ.update(DEMO_MODE=mode, DEMO_OUT=outdir,
                      DEMO_WORKERS=str(CFG["workers"]), DEMO_PORT=str(port),
                      DEMO_TRAP_BUDGET=str(CFG["trap_budget"]))
    os.chdir(HERE)
    # gunicorn's own entry point: "app" is imported already, so --preload
    # takes the loader's heap as the app's.
    sys.argv = ["gunicorn", "--preload", "-c", os.path.join(HERE, "gunicorn.conf.py"),
                "app:app"]
    from gunicorn.app.wsgiapp import run
    run()


class ASession(Session):
    def start(self):
        self.port = CFG["port"] + self.index
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                gunicorn_master(self.mode, self.outdir, self.port)
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException as e:
                sys.stderr.write("\ndemo: A %s master: %s: %s\n" % (self.mode, type(e).__name__, e))
            os._exit(code)
        ready_path = os.path.join(self.outdir, "ready.json")
        progress("A %s: starting gunicorn" % self.mode, True)
        wait_for("A %s: gunicorn ready" % self.mode, lambda: os.path.exists(ready_path),
                 900, self.alive)
        with open(ready_path) as f:
            ready = json.load(f)
        self.res["setup"] = ready["setup"]
        self.pids = wait_for("A %s: workers" % self.mode, lambda: (
            lambda c: c if len(c) == CFG["workers"] else None)(probe.children(self.pid)),
            300, self.alive)
        probe.wait_ready(self.pids, self.outdir)
        # From just before the fork (noted by the master) to the end of the warm-up.
        self.res["warmup"] = wrk(self.port, CFG["warmup"], 1, "A %s: warm-up" % self.mode)
        self.mem_drop_kb += ready["mem_available_before_kb"] - probe.mem_available_kb()
        self.errors = 0

    def round(self, k, rounds):
        secs = max(1, CFG["seconds"] // rounds)
        m = self.active(wrk, self.port, secs, 2 + k,
                        "A %s: round %d/%d" % (self.mode, k + 1, rounds))
        self.seconds += m["duration_us"] / 1e6
        self.work += m["requests"]
        self.errors += sum(m[k] for k in ("connect", "read", "write", "status", "timeout"))
        self.res.setdefault("rounds", []).append(m)

    def finish(self, start, end):
        self.res.update({"requests": self.work, "errors": self.errors})
        if probe.children(self.pid) != self.pids:
            self.res["warning"] = "workers were replaced during the run"
        super().finish(start, end)

    def stop(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
            wait_for("A %s: gunicorn exit" % self.mode, lambda: not self.alive(), 120)
        except ProcessLookupError:
            pass
        except TimeoutError:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


def run_workload(w, mode_list):
    """Start every mode, measure in rounds, snapshot, stop; {mode: result}."""
    cls = ASession if w == "A" else BSession
    sessions, results = [], {}
    try:
        for i, mode in enumerate(mode_list):
            s = cls(w, mode, i)
            sessions.append(s)
            try:
                s.start()
            except Exception as e:
                s.res["error"] = "%s: %s" % (type(e).__name__, e)
        live = [s for s in sessions if "error" not in s.res]
        starts = {}
        for s in live:
            starts[s.mode] = snapshot(s.pids, s.outdir)
        for k in range(CFG["rounds"]):
            for s in live:
                if "error" not in s.res:
                    try:
                        s.round(k, CFG["rounds"])
                    except Exception as e:
                        s.res["error"] = "%s: %s" % (type(e).__name__, e)
        for s in live:
            if "error" not in s.res:
                try:
                    s.finish(starts[s.mode], snapshot(s.pids, s.outdir))
                except Exception as e:
                    s.res["error"] = "%s: %s" % (type(e).__name__, e)
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
    progress("building the data set (%s MiB) and importing the app" % CFG["mb"], True)
    t = time.perf_counter()
    import app
    load = time.perf_counter() - t
    gc.collect()
    CFG["records"] = len(app.DATA)
    result = {"python": sys.version.split()[0], "executable": sys.executable,
              "records": len(app.DATA), "load_seconds": load,
              "modules": len(sys.modules), "A": {}, "B": {}, "skipped": {}}
    todo = []
    if not CFG["modes"]:
        CFG["modes"] = (["plain", "cowguard", "immortal"] if sys.version_info >= (3, 12)
                        else ["plain", "freeze", "cowguard"])
    result["modes"] = CFG["modes"]
    for w in CFG["workloads"]:
        for mode in CFG["modes"]:
            why = modes.available(mode)
            if modes.reclaim_off(mode):
                # The scanner is global: longrun.py runs such modes apart.
                why = "the long run only (DEMO_LONG=1)"
            if why:
                result["skipped"][mode] = why
            else:
                todo.append((w, mode))
    for w in CFG["workloads"]:
        result[w] = run_workload(w, [m for (x, m) in todo if x == w])
        for mode, r in result[w].items():
            if "error" in r:
                sys.stderr.write("\ndemo: %s: %s %s: %s\n" % (LABEL, w, mode, r["error"]))
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    progress("done", True)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
