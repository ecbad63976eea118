# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""A Flask app with a large read-only table loaded at import, for the
gunicorn example (gunicorn.conf.py).

GET /<n>     record n (n modulo APP_RECORDS) as JSON
GET /stats   this worker's cowguard figures: stats() for the process and,
             for each registration it maps, stats(start) with the reg_*
             figures of the whole registration
"""
import os

import cowguard
from flask import Flask, jsonify

N = int(os.environ.get("APP_RECORDS", "200000"))


def record(i):
    """Record i; the tests rebuild it to check the responses."""
    return {"id": i, "name": "name-%d" % i, "tags": ["a", "b", str(i % 10)],
            "score": i * 0.25}


TABLE = {"key-%d" % i: record(i) for i in range(N)}
app = Flask(__name__)


def _registrations():
    """Start addresses of this process's registered ranges."""
    starts = []
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith("[cowguard]"):
                starts.append(int(line.split("-", 1)[0], 16))
    return starts


@app.route("/stats")
def stats():
    starts = _registrations()
    per_reg = [cowguard.stats(s) for s in starts]
    return jsonify(pid=os.getpid(), stats=cowguard.stats(),
                   registrations=per_reg)


@app.route("/<int:n>")
def get(n):
    return jsonify(TABLE["key-%d" % (n % N)])
