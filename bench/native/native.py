# SPDX-License-Identifier: GPL-2.0
"""Site patching natively, on the host, without the module (issue 14).

The demo runs in a VM under TCG, which flatters traps against work about
3x and runs the trampolines' jumps across pages slowly; what users see is
native. Here workload B of the demo (a multiprocessing Pool doing Zipf
lookups over the demo's catalogue) runs on the host in three modes, side
by side in interleaved rounds:

    plain    fork as is
    freeze   gc.freeze() before the fork
    patched  cowguard.protect(immortalize_without_module=True, sites=LIST):
             refcounts moved into the band, the GC frozen, and the sites a
             VM run of the demo proved (its saved site list) patched before
             the fork: no module, so nothing traps; a refcount write the
             patches miss copies its page as under plain fork

    python3 native.py SITES.json [MB] [WORKERS] [LOOKUPS] [ROUNDS]

Prints private memory per worker (USS: Private_Clean + Private_Dirty) and
lookups per second, with ratios to plain fork, and the same checksum per
mode.
"""
import json
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "demo"))
import dataset  # noqa: E402

MODES = ("plain", "freeze", "patched")


def uss_kb(pid):
    kb = 0
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                kb += int(line.split()[1])
    return kb


def task(args):
    seed, n, zipf_s = args
    ids = dataset.zipf_ids(len(DATA), n, seed, zipf_s)
    return sum(len(json.dumps(dataset.lookup(DATA, i))) for i in ids)


def master(mode, sites, workers, commands, replies):
    import gc
    import multiprocessing as mp
    summary = {}
    if mode == "freeze":
        gc.freeze()
    elif mode == "patched":
        import cowguard
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # "module absent": expected
            r = cowguard.protect(immortalize_without_module=True, sites=sites)
        summary = {"objects": r["objects"], "sites": r.get("sites_report")}
    pool = mp.get_context("fork").Pool(workers)
    pids = [p.pid for p in pool._pool]
    reply = {"summary": summary}
    while True:
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        cmd = json.loads(commands.readline() or '{"op": "stop"}')
        if cmd["op"] == "stop":
            reply = {"uss_kb": [uss_kb(p) for p in pids]}
            replies.write(json.dumps(reply) + "\n")
            replies.flush()
            pool.terminate()
            pool.join()
            return
        t = time.perf_counter()
        chunks = [(cmd["seed"] + k, cmd["n"] // workers, 1.0) for k in range(workers)]
        checksum = sum(pool.map(task, chunks, chunksize=1))
        reply = {"seconds": time.perf_counter() - t, "checksum": checksum}


def start(mode, sites, workers):
    c_r, c_w = os.pipe()
    r_r, r_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(c_w)
        os.close(r_r)
        try:
            master(mode, sites, workers, os.fdopen(c_r), os.fdopen(r_w, "w"))
        finally:
            os._exit(0)
    os.close(c_r)
    os.close(r_w)
    return pid, os.fdopen(c_w, "w"), os.fdopen(r_r)


def ask(m, cmd):
    if cmd is not None:
        m["commands"].write(json.dumps(cmd) + "\n")
        m["commands"].flush()
    return json.loads(m["replies"].readline())


def main():
    global DATA
    sites = sys.argv[1]
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 200
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    lookups = int(sys.argv[4]) if len(sys.argv) > 4 else 200000
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 6
    print("native: building the data set (%g MiB)" % mb, flush=True)
    DATA = dataset.build(mb)
    masters = {}
    for mode in MODES:
        pid, c, r = start(mode, sites, workers)
        masters[mode] = {"pid": pid, "commands": c, "replies": r,
                         "seconds": [], "checksums": set()}
        masters[mode]["summary"] = ask(masters[mode], None)["summary"]
    for mode in MODES:          # warm-up: a fifth of the lookups
        ask(masters[mode], {"op": "run", "seed": 1, "n": lookups // 5})
    for k in range(rounds):
        for mode in MODES:
            print("native: round %d/%d, %s" % (k + 1, rounds, mode), flush=True)
            r = ask(masters[mode], {"op": "run", "seed": 100 + k, "n": lookups // rounds})
            masters[mode]["seconds"].append(r["seconds"])
            masters[mode]["checksums"].add(r["checksum"])
    for mode in MODES:
        m = masters[mode]
        m["uss_kb"] = ask(m, {"op": "stop"})["uss_kb"]
        os.waitpid(m["pid"], 0)
    plain = masters["plain"]
    base_rate = lookups / sum(plain["seconds"])
    base_uss = sum(plain["uss_kb"]) / workers
    print()
    print("native (host, no module): %d workers, %g MiB, %d lookups in %d rounds, "
          "Python %s" % (workers, mb, lookups, rounds, sys.version.split()[0]))
    print("  %-8s %16s %8s %12s %8s  %s" % ("mode", "USS/worker", "ratio", "lookups/s",
                                           "ratio", "checksums"))
    for mode in MODES:
        m = masters[mode]
        uss = sum(m["uss_kb"]) / workers
        rate = lookups / sum(m["seconds"])
        print("  %-8s %12.1f MiB %8.3f %12.0f %8.3f  %s" % (
            mode, uss / 1024, uss / base_uss, rate, rate / base_rate,
            sorted(m["checksums"])))
    s = masters["patched"]["summary"].get("sites")
    if s:
        print("  patched: %d sites from the list, %d patched, %d left (bad form %d, "
              "no window %d)" % (s["sites"], s["patched"], s["sites"] - s["patched"],
                                 s["bad_form"], s["no_window"]))
    same = len(set.union(*(m["checksums"] for m in masters.values()))) == rounds
    print("  same checksums in every mode: %s" % ("yes" if same else "NO"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
