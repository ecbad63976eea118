# SPDX-License-Identifier: GPL-2.0
"""gunicorn settings for the demo (workload A), read by gunicorn in the
master that runner.py forks per mode:

    gunicorn --preload -c gunicorn.conf.py app:app

when_ready is the last hook before the workers are forked with the app
loaded (see userspace/python/examples/gunicorn.conf.py): the mode is
applied there (modes.setup), and the guest's MemAvailable is noted just
before the forks. Each worker installs the probe (probe.install) so the
driver can ask it for its cowguard figures.
"""
import json
import os

import modes
import probe

out = os.environ["DEMO_OUT"]
preload_app = True
workers = int(os.environ.get("DEMO_WORKERS", "4"))
bind = "127.0.0.1:%s" % os.environ.get("DEMO_PORT", "8000")
worker_class = "sync"
# Emulated CPUs are slow; the defaults would kill workers mid-request.
timeout = 600
graceful_timeout = 30
errorlog = os.path.join(out, "gunicorn.log")
loglevel = "warning"


def when_ready(server):
    summary = modes.setup(os.environ["DEMO_MODE"],
                          int(os.environ.get("DEMO_TRAP_BUDGET", "0")))
    ready = {"master": os.getpid(), "setup": summary,
             "mem_available_before_kb": probe.mem_available_kb()}
    with open(os.path.join(out, "ready.json.tmp"), "w") as f:
        json.dump(ready, f)
    os.rename(os.path.join(out, "ready.json.tmp"), os.path.join(out, "ready.json"))


def post_worker_init(worker):
    probe.install(out)
