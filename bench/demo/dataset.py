# SPDX-License-Identifier: GPL-2.0
"""The demo's in-memory data set: a product catalogue of plain Python
objects (dicts, lists, tuples, str, int, float), the kind of heap a
preforking master loads once and its workers only read.

    build(mb)      -> list of records, about `mb` MiB of Python objects
    lookup(data, i) -> record i and its related records, JSON-able
    zipf_ids(n, count, seed, s) -> ids, hot ones spread over the heap

Records are built in a fixed order from a fixed seed, so every run and
every mode holds the same heap.
"""
import random

# Resident memory a record adds (CPython 3.11, 64-bit, measured as RSS
# growth); build() uses it to turn MiB into a record count.
BYTES_PER_RECORD = 1300

COLOURS = ("red", "green", "blue", "black", "white", "grey", "orange", "pink")
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
         "hotel", "india", "juliet", "kilo", "lima", "mike", "november")


def records_for(mb):
    return max(1000, int(mb * 2**20 / BYTES_PER_RECORD))


def build(mb, seed=1):
    # A multiplicative hash instead of random.Random: several times faster
    # to build, which matters under emulation, and just as deterministic.
    data = []
    nw, nc = len(WORDS), len(COLOURS)
    for i in range(records_for(mb)):
        h = ((i + seed) * 2654435761) & 0xFFFFFFFF
        g = (h * 40503) & 0xFFFFFFFF
        words = [WORDS[h % nw], WORDS[(h >> 4) % nw], WORDS[(h >> 8) % nw],
                 WORDS[(h >> 12) % nw]]
        data.append({
            "id": i,
            "sku": "SKU-%08d" % i,
            "name": " ".join(words).title(),
            "price": (h % 50000) / 100 + 1.0,
            "stock": g % 1000,
            "tags": [w + "-" + str(i % 97) for w in words[:3]],
            "attrs": {"colour": COLOURS[i % nc],
                      "weight_g": 50 + (g >> 10) % 4950,
                      "dims": (1 + (g >> 3) % 99, 1 + (h >> 16) % 99)},
            "related": (g % 10**6, h % 10**6, (g ^ h) % 10**6, (i * 7919) % 10**6),
        })
    return data


def lookup(data, i):
    """What a request does with a record: read all of it, and a summary of
    the related records (a product page and its recommendations)."""
    n = len(data)
    r = data[i % n]
    a = r["attrs"]
    related = [data[j % n] for j in r["related"]]
    return {"id": r["id"], "sku": r["sku"], "name": r["name"],
            "price": r["price"], "in_stock": r["stock"] > 0,
            "tags": list(r["tags"]), "colour": a["colour"],
            "volume": a["dims"][0] * a["dims"][1], "weight_g": a["weight_g"],
            "related": [{"id": o["id"], "name": o["name"], "price": o["price"]}
                        for o in related]}


# Rank r (0 = hottest) goes to id (r * STRIDE) % n: a prime stride spreads
# the hot records over the whole heap instead of its first pages, as
# popularity and load order are unrelated in real data. wrk's script
# (zipf.lua) uses the same mapping.
STRIDE = 2654435761


def zipf_rank(u, n, s):
    """Inverse CDF of a continuous Zipf (power law) over [1, n+1)."""
    if abs(s - 1.0) < 1e-9:
        x = (n + 1) ** u
    else:
        x = ((((n + 1) ** (1 - s)) - 1) * u + 1) ** (1 / (1 - s))
    return min(n - 1, int(x) - 1)


def zipf_ids(n, count, seed, s=1.0):
    rng = random.Random(seed)
    return [(zipf_rank(rng.random(), n, s) * STRIDE) % n for _ in range(count)]
