# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""Shared helpers for cowguard's tests.

Importing this module makes ``import cowguard`` pick the source tree
(building the extension in place for this interpreter when it is missing or
older than its sources), unless COWGUARD_TEST_INSTALLED=1 asks for the
installed package.
"""
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PAGE = 4096
HEAPTYPE = 1 << 9
READY = 1 << 12
_TYPE_FLAGS = type.__dict__["__flags__"]
_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_NAME = type.__dict__["__name__"]
_TYPE_MRO = type.__dict__["__mro__"]
_TYPE_QUALNAME = type.__dict__["__qualname__"]
MEMBER = type(type.__dict__["__base__"])     # member_descriptor
DEVICE = "/dev/cowguard"


def _prepare():
    if os.environ.get("COWGUARD_TEST_INSTALLED") == "1":
        return
    sys.path.insert(0, os.path.join(ROOT, "build_backend"))
    import cowguard_build
    try:
        cowguard_build.build_inplace()
    except Exception as e:      # read-only tree (VM), no compiler...
        if not os.path.exists(cowguard_build.inplace_path()):
            raise
        warnings.warn("cannot rebuild %s (%s): testing the existing build"
                      % (cowguard_build.inplace_path(), e))
    sys.path.insert(0, ROOT)


_prepare()
import cowguard  # noqa: E402
from cowguard import _cowguard  # noqa: E402


def device_present():
    """Is the real module loaded (and not overridden for a test)?"""
    return os.path.exists(DEVICE) and "COWGUARD_DEVICE" not in os.environ


def requires(what, missing):
    """Class decorator: skip the tests when missing() gives a reason,
    unless COWGUARD_TEST_REQUIRE (words: module, absent, gunicorn) names
    what: then they fail, so that a harness that set up what they need
    cannot pass them by skipping."""
    def wrap(cls):
        why = missing()
        if why is None:
            return cls
        if what in os.environ.get("COWGUARD_TEST_REQUIRE", "").split():
            def setUpClass(klass):
                raise AssertionError("required (COWGUARD_TEST_REQUIRE=%s) "
                                     "but %s" % (what, why))
            cls.setUpClass = classmethod(setUpClass)
            return cls
        return unittest.skip(why)(cls)
    return wrap


def subprocess_env(**extra):
    env = dict(os.environ)
    if os.environ.get("COWGUARD_TEST_INSTALLED") != "1":
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_script(code, timeout=600, PYTHONPATH_TESTS=0, **env):
    """Run code in a fresh interpreter; return (parsed last stdout line as
    JSON, CompletedProcess). The script prints its JSON result last."""
    env = subprocess_env(**env)
    if PYTHONPATH_TESTS:
        env["PYTHONPATH"] = HERE + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout)
    result = None
    lines = proc.stdout.strip().splitlines()
    if lines:
        try:
            result = json.loads(lines[-1])
        except ValueError:
            pass
    return result, proc


# --- /proc/self/maps, read independently of the C code --------------------

def read_maps():
    """[(start, end, perms, inode, path)] of this process."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            start, end = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5].strip() if len(parts) > 5 else ""
            out.append((start, end, parts[1], int(parts[4]), path))
    return out


def anon_private(vma):
    start, end, perms, inode, path = vma
    return (perms == "rw-p" and inode == 0 and
            (path == "" or path == "[heap]" or path.startswith("[anon:")))


def vma_of(maps, addr):
    for vma in maps:
        if vma[0] <= addr < vma[1]:
            return vma
    return None


# --- a Python-level copy of the C walk ------------------------------------

def _member_values(o):
    """Values of the member descriptors (PyMemberDef) of o's type and its
    bases that are objects: a member read twice giving the same object.
    Numeric members (T_INT...) build a new int per read, so they mostly
    drop out; small cached ints may not, which is why this is an upper
    bound of what the C walk sees through members."""
    if not _TYPE_FLAGS.__get__(type(o)) & READY:
        return
    for t in _TYPE_MRO.__get__(type(o)):
        for d in list(_TYPE_DICT.__get__(t).values()):
            if type(d) is not MEMBER:
                continue
            try:
                v1 = d.__get__(o)
                v2 = d.__get__(o)
            except Exception:
                continue
            if v1 is v2:
                yield v1


def python_walk(roots, members=False):
    """{id: object} of the closure of roots, the way _cowguard walks it:
    type(o), gc.get_referents(o), dict keys, static types' dict, MRO and
    bases, heap types' names; with members=True also object members
    (an over-approximation, see _member_values)."""
    seen = {}
    stack = list(roots)
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen[id(o)] = o
        stack.append(type(o))
        # issubclass(type(o), ...), not isinstance(o, ...): isinstance()
        # may look up o.__class__, which readies o's type.
        if issubclass(type(o), type):
            # Read the flags without type_getattro(), which would
            # PyType_Ready() a static type nobody readied yet, creating
            # the very objects we look for.
            flags = _TYPE_FLAGS.__get__(o)
            if flags & HEAPTYPE:
                stack.append(_TYPE_NAME.__get__(o))
                stack.append(_TYPE_QUALNAME.__get__(o))
            elif flags & READY:
                stack.extend(gc.get_referents(_TYPE_DICT.__get__(o)))
                stack.append(o.__mro__)
                stack.append(o.__bases__)
                if o.__base__ is not None:
                    stack.append(o.__base__)
        if issubclass(type(o), dict):
            stack.extend(dict.keys(o))
        if members:
            stack.extend(_member_values(o))
        stack.extend(gc.get_referents(o))
    return seen


# --- the fake device --------------------------------------------------------

def build_fake_device(tmpdir):
    """Compile tests/fake_cowguard.c into tmpdir; its path or None."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if not cc:
        return None
    uapi = os.path.normpath(os.path.join(ROOT, "..", "..", "include", "uapi"))
    if not os.path.isdir(uapi):
        uapi = os.path.join(ROOT, "vendor", "include", "uapi")
    out = os.path.join(tmpdir, "fake_cowguard.so")
    subprocess.check_call([cc, "-shared", "-fPIC", "-O1", "-Wall", "-Wextra",
                           "-Werror", "-I", uapi, "-o", out,
                           os.path.join(HERE, "fake_cowguard.c"), "-ldl"])
    return out


def tempdir():
    return tempfile.mkdtemp(prefix="cowguard-test-")


# A heap and a read-only workload over it, for subprocess scripts: defines
# build(n) -> data and work(data) -> checksum (deterministic across
# processes: no hash() of str, which is salted per process... but equal in
# forked children; we avoid it anyway).
WORKLOAD = '''
import gc, json, os, sys, weakref

class Rec:
    __slots__ = ("a", "b", "__weakref__")
    def __init__(self, a, b):
        self.a = a
        self.b = b

def build(n):
    data = {}
    for i in range(n):
        key = "key-%d" % i
        data[key] = (i, float(i) * 0.5, "val-%d" % i, Rec(i, (i, "t%d" % i)),
                     {"n": i, "s": "x" * (i % 7)})
    return data

def work(data):
    total = 0
    for k in sorted(data):
        i, f, s, rec, d = data[k]
        total += i + int(f) + len(s) + rec.a + rec.b[0] + d["n"] + len(d["s"])
        total += len(k) + len(rec.b[1])
    return total
'''


# After protect(keep_maps=True) in a script that defines r (its result)
# and ran SLOT_MAP_IMPORTS before protect() (an import afterwards can
# replace protected objects in the import system's caches: they stay
# alive, being protected, but no walk reaches them any more): decode the slot maps the kernel got and check each marked word against
# an independent Python walk of the heap made afterwards: it is the
# ob_refcnt of an object found there (ob_type matches), and holds a band
# value. Prints the findings as JSON (SLOT_MAP_CHECK's last line).
SLOT_MAP_IMPORTS = '''
import builtins, ctypes, gc, json, sys
import _support
'''
SLOT_MAP_CHECK = '''
maps = r["slot_maps"]
marked = []
for start, length, bitmap in maps:
    assert len(bitmap) == (length // 8 + 7) // 8, (length, len(bitmap))
    for i, byte in enumerate(bitmap):
        while byte:
            bit = (byte & -byte).bit_length() - 1
            marked.append(start + 8 * (8 * i + bit))
            byte &= byte - 1
# Frozen objects are not in gc.get_objects(): thaw them for the walk
# (their GC heads get written: shadows, which is fine here).
gc.unfreeze()
roots = gc.get_objects() + [sys.modules, builtins.__dict__]
f = sys._getframe()
while f:
    roots.append(f)
    roots.extend(f.f_locals.values())
    f = f.f_back
seen = _support.python_walk(roots, members=True)
lo, hi = cowguard.BAND
unknown, wrong_type, out_of_band = [], [], []
for addr in marked:
    o = seen.get(addr)
    if o is None:
        unknown.append(addr)
        continue
    if ctypes.c_uint64.from_address(addr + 8).value != id(type(o)):
        wrong_type.append((addr, type(o).__name__))
    v = ctypes.c_uint64.from_address(addr).value
    if not lo <= v <= hi:
        out_of_band.append((addr, type(o).__name__, v))
print(json.dumps({
    "ranges": len(maps), "registrations": r["registrations"],
    "marked": len(marked), "objects": r["objects"],
    "marked_eq_plan": sorted(marked) == sorted(r["plan"]["slots"]),
    "map_ranges_eq_plan": [(s, n) for s, n, _ in maps] ==
                          [(s, n) for s, n, _ in r["plan"]["ranges"]],
    "walked": len(seen), "unknown": unknown[:20], "n_unknown": len(unknown),
    "wrong_type": wrong_type[:20], "out_of_band": out_of_band[:20],
}))
'''
