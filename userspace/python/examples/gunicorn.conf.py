# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""gunicorn configuration: protect the preloaded app's heap before forking.

    gunicorn -c examples/gunicorn.conf.py --chdir examples app:app

Order of events in the gunicorn master (gunicorn/arbiter.py):
  Arbiter.__init__ -> setup(): with preload_app the app is imported here
  start(): on_starting(), listening sockets, then when_ready()
  run() -> manage_workers() -> spawn_worker(): pre_fork(), fork, post_fork()
So when_ready is the last hook before the first fork with the app loaded.
A HUP reloads the app in the master (setup() again) and calls on_reload()
before new workers are spawned: the new app is protected there too (the old
one stays in memory: protected objects are never freed).
"""
import cowguard  # imported early: its exit hook runs late

preload_app = True          # the app must be in the master's heap
workers = 4
bind = "127.0.0.1:8000"


def _protect(server, when):
    try:
        s = cowguard.protect()
    except RuntimeError as e:   # e.g. the app started threads at import
        server.log.warning("cowguard: not protected (%s): %s", when, e)
        return
    server.log.info(
        "cowguard (%s): %d objects (%.1f MiB) in %d ranges, %.1f MiB "
        "registered=%s, %.2fs, python %s", when, s["objects"],
        s["bytes"] / 2**20, s["ranges"], s["registered_bytes"] / 2**20,
        s["registered"], s["seconds"], s["python"])


def when_ready(server):
    _protect(server, "startup")


def on_reload(server):
    _protect(server, "reload")


def worker_exit(server, worker):
    st = cowguard.stats()
    if st:
        server.log.info("cowguard worker %s: emulated %d, shadows %d "
                        "(budget %d), mapped %d pages", worker.pid,
                        st["emulated"], st["shadow_faults"],
                        st["budget_shadows"], st["mapped_pages"])
