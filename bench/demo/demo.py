# SPDX-License-Identifier: GPL-2.0
"""The prefork demo, inside the VM: runs runner.py with each interpreter,
writes the results as JSON and prints the table (report.py).

    python3 demo.py RESULTS.json

With DEMO_LONG=1 it runs the long run instead (longrun.py, report_long.py;
knobs DEMO_LONG_*, see README.md).

Knobs (environment; bench/demo/run passes them into the VM):
  DEMO_MB           data set size in MiB of Python objects      (200)
  DEMO_WORKERS      workers per master                          (4)
  DEMO_WARMUP       workload A warm-up, seconds                 (20)
  DEMO_SECONDS      workload A measured phase, seconds          (30)
  DEMO_ROUNDS       the measured phase is split in rounds, modes in turn (3)
  DEMO_CONNECTIONS  wrk connections                             (8)
  DEMO_LOOKUPS      workload B measured lookups (warm-up: half) (40000)
  DEMO_ZIPF_S       Zipf exponent of the lookups                (1.0)
  DEMO_TRAP_BUDGET  protect(trap_budget=N); 0: module default   (0)
  DEMO_MODES        modes, in order; default by interpreter: <3.12 plain
                    freeze cowguard, 3.12+ plain cowguard immortal
  DEMO_MODULE_PARAMS  NAME=VALUE... written to the module's parameters
  DEMO_WORKLOADS    A and/or B                                  (B A)
  DEMO_PYTHONS      interpreters                      (/usr/bin/python3)
  DEMO_SITES_DETAIL 1: each worker's proof table in the results  (unset)
"""
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import report  # noqa: E402
import report_long  # noqa: E402


def env(name, default, kind=str):
    return kind(os.environ.get(name, default))


def long_config():
    """make demo-long (DEMO_LONG=1): the measured work in DEMO_LONG_SAMPLES
    steps, with memory and counters read after each (longrun.py)."""
    return {
        "long": True,
        "mb": env("DEMO_MB", "200", float),
        "workers": env("DEMO_WORKERS", "4", int),
        "warmup": env("DEMO_WARMUP", "20", int),
        "seconds": env("DEMO_LONG_SECONDS", "300", int),
        "samples": env("DEMO_LONG_SAMPLES", "10", int),
        "connections": env("DEMO_CONNECTIONS", "8", int),
        "b_lookups": env("DEMO_LONG_LOOKUPS", "400000", int),
        "b_warmup_lookups": env("DEMO_LONG_WARMUP_LOOKUPS", "20000", int),
        "b_chunk": 1000,
        "zipf_s": env("DEMO_ZIPF_S", "1.0", float),
        "trap_budget": env("DEMO_TRAP_BUDGET", "0", int),
        "modes": env("DEMO_MODES", "plain freeze cowguard-noreclaim cowguard cowguard-nocap").split(),
        "module_params": env("DEMO_MODULE_PARAMS", "").split(),
        "workloads": env("DEMO_LONG_WORKLOADS", "B").replace(",", " ").split(),
        "pythons": env("DEMO_PYTHONS", "/usr/bin/python3").split(),
        "port": 8000,
    }


def config():
    if os.environ.get("DEMO_LONG", "0") not in ("", "0"):
        return long_config()
    return {
        "mb": env("DEMO_MB", "200", float),
        "workers": env("DEMO_WORKERS", "4", int),
        "warmup": env("DEMO_WARMUP", "20", int),
        "seconds": env("DEMO_SECONDS", "30", int),
        "rounds": env("DEMO_ROUNDS", "3", int),
        "connections": env("DEMO_CONNECTIONS", "8", int),
        "b_lookups": env("DEMO_LOOKUPS", "40000", int),
        "b_chunk": 1000,
        "zipf_s": env("DEMO_ZIPF_S", "1.0", float),
        "trap_budget": env("DEMO_TRAP_BUDGET", "0", int),
        # Empty: plain freeze cowguard before 3.12, plain cowguard immortal
        # from 3.12 (freeze left out there to stay within 15 minutes).
        "modes": env("DEMO_MODES", "").split(),
        "module_params": env("DEMO_MODULE_PARAMS", "").split(),
        "workloads": env("DEMO_WORKLOADS", "B A").split(),
        "pythons": env("DEMO_PYTHONS", "/usr/bin/python3").split(),
        "port": 8000,
    }


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def module_params(settings):
    """Apply NAME=VALUE settings, then read every parameter back."""
    d = "/sys/module/cowguard/parameters"
    for kv in settings:
        name, _, value = kv.partition("=")
        with open(os.path.join(d, name), "w") as f:
            f.write(value)
    try:
        return {n: read(os.path.join(d, n)) for n in sorted(os.listdir(d))}
    except OSError:
        return {}


def interpreter_env(python):
    """A pyenv build finds Debian's flask/gunicorn (pure Python) through
    PYTHONPATH and its own libpython through LD_LIBRARY_PATH."""
    e = dict(os.environ)
    paths = [os.path.join(TOP, "userspace", "python"), HERE]
    if os.path.realpath(python) != os.path.realpath("/usr/bin/python3"):
        paths.append("/usr/lib/python3/dist-packages")
        lib = os.path.join(os.path.dirname(os.path.dirname(python)), "lib")
        e["LD_LIBRARY_PATH"] = lib + (":" + e["LD_LIBRARY_PATH"]
                                      if e.get("LD_LIBRARY_PATH") else "")
    e["PYTHONPATH"] = ":".join(paths)
    e["PYTHONDONTWRITEBYTECODE"] = "1"     # the tree is read-only in the VM
    return e


def main():
    out_path = sys.argv[1]
    cfg = config()
    results = {
        "format": 1,
        "kind": "long" if cfg.get("long") else "short",
        "config": cfg,
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "mem_total_kb": int(read("/proc/meminfo").split()[1]),
        "module": {"loaded": os.path.exists("/dev/cowguard"),
                   "srcversion": read("/sys/module/cowguard/srcversion"),
                   "parameters": module_params(cfg["module_params"])},
        "runs": [],
    }
    t0 = time.time()
    for i, python in enumerate(cfg["pythons"]):
        if not os.access(python, os.X_OK):
            results["runs"].append({"executable": python, "error": "not found"})
            continue
        # Next to the results: gunicorn's logs survive the VM.
        run_cfg = dict(cfg, workdir=os.path.join(os.path.dirname(os.path.abspath(out_path)),
                                                 "python-%d" % i))
        cfg_path = "/tmp/demo-%d.json" % i
        res_path = "/tmp/demo-%d.result.json" % i
        with open(cfg_path, "w") as f:
            json.dump(run_cfg, f)
        script = "longrun.py" if cfg.get("long") else "runner.py"
        p = subprocess.run([python, os.path.join(HERE, script), cfg_path, res_path],
                           env=interpreter_env(python))
        if p.returncode != 0 or not os.path.exists(res_path):
            results["runs"].append({"executable": python,
                                    "error": "runner exited with %d" % p.returncode})
            continue
        with open(res_path) as f:
            results["runs"].append(json.load(f))
    results["seconds"] = time.time() - t0
    rep = report_long if cfg.get("long") else report
    results["goal"] = rep.verdicts(results)
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
    print(rep.render(results))
    # Exit status: the demo ran (the goal is a benchmark target, not a test).
    return 1 if any("error" in r for r in results["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
