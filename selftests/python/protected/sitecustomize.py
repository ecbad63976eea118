# SPDX-License-Identifier: GPL-2.0
# Loaded at start-up by every interpreter that has this directory on
# PYTHONPATH (selftests/python/cpython-tests): protect the start-up heap
# and run the site patcher, so that CPython's own tests run on a patched,
# protected interpreter. COWGUARD_PROTECTED_LOG names a file that gets
# one JSON line per interpreter: what protect() did.
import atexit
import json
import os

import cowguard

try:
    _r = cowguard.protect(strict=True)
except RuntimeError as _e:
    # An interpreter started with threads already running (a test's
    # subinterpreter or embedding case) is left unprotected, as a real
    # deployment would leave it; the log says so.
    _r = {"registered": False, "patching": False, "objects": 0, "why": str(_e)}
_log = os.environ.get("COWGUARD_PROTECTED_LOG")
if _log:
    with open(_log, "a") as _f:
        _f.write(json.dumps({"pid": os.getpid(), "registered": _r["registered"],
                             "patching": _r["patching"], "objects": _r["objects"]}) + "\n")

    def _report():
        with open(_log, "a") as f:
            f.write(json.dumps({"pid": os.getpid(),
                                "patcher": cowguard.patcher_status()["report"]}) + "\n")
    atexit.register(_report)
