# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""A WSGI app with a large read-only table loaded at import, for the
gunicorn example (gunicorn.conf.py). GET /<n> returns record n;
GET /stats returns this worker's cowguard figures."""
import json
import os

N = int(os.environ.get("APP_RECORDS", "200000"))
TABLE = {"key-%d" % i: {"id": i, "name": "name-%d" % i, "tags": ("a", "b", str(i % 10)),
                        "score": i * 0.25}
         for i in range(N)}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/").strip("/")
    if path == "stats":
        import cowguard
        body = {"pid": os.getpid(), "stats": cowguard.stats()}
    else:
        try:
            body = TABLE["key-%d" % (int(path or 0) % N)]
        except ValueError:
            body = {"error": "GET /<number> or /stats"}
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]
