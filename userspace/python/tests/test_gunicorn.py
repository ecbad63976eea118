# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""gunicorn --preload with examples/gunicorn.conf.py and the Flask app in
examples/app.py, with the cowguard module loaded: real HTTP requests,
correct responses, and every worker's cowguard.stats() (through the app's
/stats) showing the registration, emulated refcount writes and few shadow
pages. Skipped without /dev/cowguard, gunicorn or Flask for this
interpreter (Debian's: scripts/setup demo), unless COWGUARD_TEST_REQUIRE
names "gunicorn".
"""
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.request

import _support

EXAMPLES = os.path.join(_support.ROOT, "examples")
RECORDS = int(os.environ.get("COWGUARD_TEST_APP_RECORDS", "10000"))
WORKERS = 3
START_TIMEOUT = 240         # TCG: importing Flask and the table is slow


def _missing():
    if not _support.device_present():
        return "cowguard module not loaded"
    for mod in ("gunicorn", "flask"):
        if importlib.util.find_spec(mod) is None:
            return "%s is not installed for %s" % (mod, sys.executable)
    return None


def record(i):
    """examples/app.py's record i, written out again."""
    return {"id": i, "name": "name-%d" % i, "tags": ["a", "b", str(i % 10)],
            "score": i * 0.25}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                timeout=60) as resp:
        return resp.status, json.loads(resp.read().decode())


@_support.requires("gunicorn", _missing)
class TestGunicorn(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.port = _free_port()
        cls.log_path = os.path.join(_support.tempdir(), "gunicorn.log")
        cls.log = open(cls.log_path, "w+")
        env = _support.subprocess_env(APP_RECORDS=RECORDS)
        cls.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn",
             "-c", os.path.join(EXAMPLES, "gunicorn.conf.py"),
             "--chdir", EXAMPLES, "--workers", str(WORKERS),
             "--bind", "127.0.0.1:%d" % cls.port, "--timeout", "300",
             "app:app"],
            env=env, stdout=cls.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                _get(cls.port, "/0")
                break
            except OSError:
                if cls.proc.poll() is not None or time.monotonic() > deadline:
                    cls.stop()
                    raise AssertionError("gunicorn did not come up:\n" +
                                         cls.log_text())
                time.sleep(1)

    @classmethod
    def log_text(cls):
        cls.log.flush()
        with open(cls.log_path) as f:
            return f.read()

    @classmethod
    def stop(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGTERM)
            try:
                cls.proc.wait(120)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()

    @classmethod
    def tearDownClass(cls):
        cls.stop()
        cls.log.close()

    def worker_stats(self):
        """/stats of every worker: ask until each pid answered."""
        seen = {}
        for _ in range(40 * WORKERS):
            status, body = _get(self.port, "/stats")
            self.assertEqual(status, 200)
            seen[body["pid"]] = body
            if len(seen) == WORKERS:
                break
        return seen

    def test_1_requests(self):
        for n in list(range(0, RECORDS, RECORDS // 100)) + [RECORDS + 7]:
            status, body = _get(self.port, "/%d" % n)
            self.assertEqual(status, 200)
            self.assertEqual(body, record(n % RECORDS))

    def test_2_master_protected(self):
        log = self.log_text()
        m = re.search(r"cowguard \(startup\): (\d+) objects .* in (\d+) "
                      r"ranges, ([\d.]+) MiB registered=(\w+)", log)
        self.assertIsNotNone(m, log)
        self.assertEqual(m.group(4), "True", log)
        self.assertGreater(int(m.group(1)), RECORDS * 5)

    def test_3_worker_stats(self):
        # Traffic spread over the whole table.
        for n in range(200):
            self.assertEqual(_get(self.port, "/%d" % (n * 53))[0], 200)
        workers = self.worker_stats()
        sys.stderr.write("\n# gunicorn workers' cowguard stats:\n")
        for pid, body in sorted(workers.items()):
            st = body["stats"]
            sys.stderr.write("#  %d: %s\n" % (pid, json.dumps(st)))
        self.assertGreaterEqual(len(workers), 2, "fewer than 2 workers answered")
        for pid, body in workers.items():
            st, regs = body["stats"], body["registrations"]
            self.assertIsNotNone(st, "no /dev/cowguard in the worker")
            self.assertTrue(regs, "the worker maps no registration")
            registered = sum(r["reg_golden_pages"] for r in regs)
            self.assertEqual(st["mapped_pages"], registered)
            # The worker, the master, and the other workers.
            self.assertGreaterEqual(min(r["reg_processes"] for r in regs),
                                    len(workers) + 1)
            # The per-registration figures add up to the process's (read
            # first, while the worker goes on writing: at most as much).
            for key in ("mapped_pages", "shadow_pages", "shadow_faults",
                        "emulated", "budget_shadows"):
                self.assertLessEqual(sum(r[key] for r in regs), st[key], key)
            for r in regs:
                self.assertGreaterEqual(r["reg_shadow_pages"], r["shadow_pages"])
                self.assertGreaterEqual(r["reg_emulated"], r["emulated"])
            if sys.version_info < (3, 12):
                self.assertGreater(st["emulated"], 0)
            # Sharing: a worker that served requests over the whole table
            # copied only a small part of the registered heap.
            self.assertLess(st["shadow_pages"] * 4, st["mapped_pages"], st)


if __name__ == "__main__":
    unittest.main()
