# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""cowguard: keep a preforking CPython master's heap shared with its workers.

Call :func:`protect` in the master once the data is loaded and before the
first fork. It walks every reachable object, moves each refcount into a
band of huge values (on 3.12+ the interpreter's own immortal value), and
registers the pages that hold them with the cowguard kernel module, which
then drops refcount-only writes to those pages instead of copying them.

Trade-off: protected objects are never freed, and ``sys.getrefcount()``
means nothing for them. See README.md.
"""
import atexit
import gc
import io
import itertools
import os
import platform
import sys
import threading
import time
import warnings
import weakref

from . import _cowguard

__version__ = "0.1.0"
__all__ = ["protect", "stats", "patch_sites", "unpatch_sites", "save_sites", "BAND", "SLOT_WIDTH", "REFCOUNT_VALUE",
           "DEFAULT_GAP_PAGES", "DEFAULT_MAX_RANGES"]

#: [low, high] of the values a marked refcount slot may hold.
BAND = (_cowguard.BAND_LOW, _cowguard.BAND_HIGH)
#: Bytes of a refcount slot (ob_refcnt is a 64-bit word on 3.8-3.13).
SLOT_WIDTH = _cowguard.SLOT_WIDTH
#: The value protect() writes: 2**60 on <= 3.11, _Py_IMMORTAL_REFCNT on 3.12+.
REFCOUNT_VALUE = _cowguard.REFCOUNT_VALUE
#: Unmarked pages a range may span between two pages of marked objects.
DEFAULT_GAP_PAGES = 8
#: Above this many ranges, larger gaps are joined too (each range costs VMAs).
DEFAULT_MAX_RANGES = 4096


# Files protect() found. Protected objects are never freed, so whatever
# they refer to is never finalized either, even at exit: an unclosed file
# held by protected data would lose its buffered writes. This hook flushes
# them; it is registered at import so that it runs late among the atexit
# handlers (they run last-registered first).
_files = weakref.WeakSet()


def _flush_files():
    for f in list(_files):
        try:
            if not f.closed:
                f.flush()
        except Exception:       # at exit: best effort, like finalization
            pass


atexit.register(_flush_files)


class CowguardWarning(RuntimeWarning):
    """protect() could not do all it was asked; the program goes on."""


#: Delays (s) of the patcher's first rounds in each process, then
#: PATCH_INTERVAL between rounds: a site is proven after a few traps, in
#: any process of the tree.
PATCH_SCHEDULE = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
PATCH_INTERVAL = 10.0
_PATCHER_NAME = "cowguard-patcher"

# The patcher of this process: its generation (a fork or patch=False ends
# a loop), the last report and the error that stopped it.
_patcher = {"on": False, "generation": 0, "report": None, "error": None}


def _patch_loop(generation):
    delays = itertools.chain(PATCH_SCHEDULE, itertools.repeat(PATCH_INTERVAL))
    for delay in delays:
        time.sleep(delay)
        if _patcher["generation"] != generation:
            return
        try:
            _patcher["report"] = _cowguard.patch_sites()
        except OSError as e:        # EOPNOTSUPP: site_patching=0
            _patcher["error"] = e
            return


def _start_patcher():
    _patcher["generation"] += 1
    _patcher["report"] = None
    _patcher["error"] = None
    threading.Thread(target=_patch_loop, args=(_patcher["generation"],),
                     name=_PATCHER_NAME, daemon=True).start()


def _patcher_after_fork():
    # The parent's thread did not come along: each process patches its
    # own text (a child starts with what its parent had patched).
    if _patcher["on"]:
        _start_patcher()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_patcher_after_fork)


def patch_sites():
    """One patching round now: cowguard_patch_sites(3) over all of this
    process's registrations. Returns the report (dict: sites, proven,
    unproven, patched, patched_now, bad_form, no_window), or None when
    nothing is registered. OSError on failure (EOPNOTSUPP: the module
    parameter site_patching is 0)."""
    return _cowguard.patch_sites()


def _build_id(path):
    """The GNU build-id of an ELF file, as hex; None without one."""
    import struct
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2:    # ELF64 only
                return None
            phoff, = struct.unpack_from("<Q", head, 32)
            phentsize, phnum = struct.unpack_from("<HH", head, 54)
            for i in range(phnum):
                f.seek(phoff + i * phentsize)
                ptype, _, off, _, _, filesz = struct.unpack("<IIQQQQ", f.read(40))
                if ptype != 4:                  # PT_NOTE
                    continue
                f.seek(off)
                notes, pos = f.read(filesz), 0
                while pos + 12 <= len(notes):
                    namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
                    name = notes[pos + 12:pos + 12 + namesz]
                    desc_at = pos + 12 + ((namesz + 3) & ~3)
                    if ntype == 3 and name.rstrip(b"\0") == b"GNU":
                        return notes[desc_at:desc_at + descsz].hex()
                    pos = desc_at + ((descsz + 3) & ~3)
    except (OSError, struct.error):
        pass
    return None


def _text_maps():
    """[(start, end, file offset, path)] of this process's file mappings."""
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6 or not parts[5].startswith("/"):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            out.append((start, end, int(parts[2], 16), parts[5]))
    return out


def save_sites(path):
    """Write the sites the module has proven for this process's
    registrations to path (JSON: file, build-id, offset per site), for
    protect(sites=path) in a later run of the same binaries, with or
    without the module. Returns the number of sites written."""
    maps, ids, out = _text_maps(), {}, []
    for s in _cowguard.sites():
        if not s["proven"]:
            continue
        for start, end, off, file in maps:
            if start <= s["ip"] < end:
                if file not in ids:
                    ids[file] = _build_id(file)
                if ids[file]:
                    out.append({"file": file, "build_id": ids[file],
                                "offset": s["ip"] - start + off,
                                "writes": s["refcount_writes"]})
                break
    import json
    with open(path + ".tmp", "w") as f:
        json.dump({"format": "cowguard-sites-1", "sites": out}, f)
    os.replace(path + ".tmp", path)
    return len(out)


def _load_sites(path):
    """This run's addresses of the sites in a save_sites() file whose file
    still has the build-id it was saved with."""
    import json
    with open(path) as f:
        saved = json.load(f)
    if saved.get("format") != "cowguard-sites-1":
        raise ValueError("%s: not a cowguard site list" % path)
    maps, ids, ips = _text_maps(), {}, []
    for s in saved["sites"]:
        if s["file"] not in ids:
            ids[s["file"]] = _build_id(s["file"])
        if ids[s["file"]] != s["build_id"]:
            continue            # another build: its offsets mean nothing
        for start, end, off, file in maps:
            if file == s["file"] and off <= s["offset"] < off + end - start:
                ips.append(start + s["offset"] - off)
                break
    return ips


def unpatch_sites():
    """Stop the patcher in this process and restore every site it patched
    (cowguard_unpatch_sites(3)); the number restored."""
    _patcher["on"] = False
    _patcher["generation"] += 1
    return _cowguard.unpatch_sites()


def patcher_status():
    """This process's patcher: on, the last round's report, and the error
    that stopped it (None while it runs)."""
    return {"on": _patcher["on"], "report": _patcher["report"],
            "error": _patcher["error"]}


def _threads_running():
    """Why protect() must not run now (other threads), or None."""
    others = [t for t in threading.enumerate()
              if t is not threading.current_thread()
              and t.name != _PATCHER_NAME]
    if others:
        names = [t.name for t in others]
        return ("other Python threads are running (%s): a write between the "
                "snapshot and the takeover would be lost" % ", ".join(names))
    n = _cowguard.thread_states() - sum(
        1 for t in threading.enumerate() if t.name == _PATCHER_NAME)
    if n > 1:
        return ("%d Python thread states exist (threads not started by the "
                "threading module, or another interpreter): a write between "
                "the snapshot and the takeover would be lost" % n)
    return None


def _os_threads():
    """OS threads of this process, not counting cowguard's patcher."""
    try:
        n = len(os.listdir("/proc/self/task"))
    except OSError:
        return 1
    return n - sum(1 for t in threading.enumerate() if t.name == _PATCHER_NAME)


def protect(strict=False, dry_run=False, trap_budget=0, *,
            gap_pages=DEFAULT_GAP_PAGES, max_ranges=DEFAULT_MAX_RANGES,
            immortalize_without_module=False, keep_maps=False, patch=True,
            sites=None):
    """Protect the heap; call in the master before forking.

    Steps: refuse if other threads run; gc.collect() then gc.freeze();
    walk everything reachable from the GC lists and the calling thread's
    frames; precompute str/bytes hashes and type version tags; move every
    eligible refcount into :data:`BAND`; register the pages holding them,
    with a slot map marking each refcount, with the kernel module.

    strict: raise instead of warning when the module is absent (OSError
        with its errno, ENOENT when not loaded), when registration fails,
        or when the process has other OS threads.
    dry_run: compute the plan only (after a gc.collect()); refcounts, GC
        generations and the kernel are left alone. The result then has a
        "plan" entry: {"ranges": [(start, length, nslots)],
        "slots": [address, ...], "skipped": [(address, reason), ...]}
        (an object's slot address is its id()). Objects an earlier
        gc.freeze() froze are walked only if reachable from unfrozen
        objects, sys.modules, builtins or the frames (a real run thaws
        them first).
    trap_budget: emulated writes per page and process before the module
        copies the page anyway; 0 takes the module's default.
    gap_pages, max_ranges: how ranges are coalesced (README.md).
    immortalize_without_module: when the module is absent, move the
        refcounts anyway. Worth it on 3.12+, where the interpreter itself
        then skips refcount writes; on <= 3.11 it only makes the objects
        never freed.
    keep_maps: for tests and debugging: the result also gets "plan" (as
        for dry_run) and "slot_maps": [(start, length, bitmap)], the slot
        map of every range registered, as the kernel got it.
    patch: on <= 3.11 with the heap registered, run the patcher: a daemon
        thread in this process and in every process forked from it that
        rewrites the refcount sites the module has proven so that they
        skip band values (patch_sites(); README.md, "Site patching"),
        so that workers stop trapping. False: every refcount write to a
        protected page keeps trapping (exact, slower).
    sites: a file save_sites() wrote in an earlier run: its sites (those
        of binaries with the same build-id) are patched at once, before
        any fork, so every worker starts patched; with the module absent
        and immortalize_without_module, the interpreter then skips
        refcount writes on marked objects by itself.

    Returns a dict: objects, bytes, pages, ranges, registered_bytes,
    registered, seconds, python, band, slot_width, ... (README.md).
    The module being absent is not an error: registered is False, a
    CowguardWarning says why, and the GC is frozen all the same.
    """
    if _cowguard.UNSUPPORTED:
        raise RuntimeError("cowguard does not support " + _cowguard.UNSUPPORTED)
    why = _threads_running()
    if why:
        raise RuntimeError("cowguard.protect(): " + why)
    os_threads = _os_threads()
    if os_threads > 1 and not dry_run:
        msg = ("cowguard.protect(): %d OS threads in this process; threads "
               "that write Python objects' memory during protect() lose "
               "those writes" % os_threads)
        if strict:
            raise RuntimeError(msg)
        warnings.warn(msg, CowguardWarning, stacklevel=2)

    flags = _cowguard.F_FRAMES
    if dry_run:
        flags |= _cowguard.F_DRY | _cowguard.F_KEEP_PLAN
    else:
        flags |= _cowguard.F_REGISTER
        if immortalize_without_module:
            flags |= _cowguard.F_MARK_ALWAYS
        if keep_maps:
            flags |= _cowguard.F_KEEP_PLAN | _cowguard.F_KEEP_MAPS

    t0 = time.perf_counter()
    was_enabled = gc.isenabled()
    # No collection may free anything between the walk and the end of
    # the registration: the walk holds no references.
    gc.disable()
    try:
        gc.collect()
        if not dry_run and gc.get_freeze_count():
            # gc.get_objects() does not list frozen objects (nor, on
            # 3.12+, the immortal containers a collection moves to the
            # permanent generation): thaw them so that they are walked.
            # protect() freezes everything again.
            gc.unfreeze()
        result = _cowguard.protect(flags, trap_budget, gap_pages, max_ranges)
    finally:
        if was_enabled:
            gc.enable()
    for obj in result.pop("finalizers", ()):
        if isinstance(obj, io.IOBase):
            try:
                _files.add(obj)
            except TypeError:
                pass
    result["seconds"] = time.perf_counter() - t0
    result["python"] = platform.python_version()
    result["band"] = BAND
    result["slot_width"] = SLOT_WIDTH
    result["refcount_value"] = REFCOUNT_VALUE
    result["dry_run"] = bool(dry_run)
    result["frozen"] = gc.get_freeze_count()
    result.setdefault("registered", False)
    result.setdefault("registered_bytes", 0)
    marked = result["registered"] or (immortalize_without_module and not dry_run)
    if sites and patch and marked and not _cowguard.NATIVE_IMMORTAL:
        result["sites_report"] = _cowguard.patch_addrs(_load_sites(sites))
    result["patching"] = bool(patch and result["registered"] and
                              not _cowguard.NATIVE_IMMORTAL)
    if result["patching"] and not _patcher["on"]:
        _patcher["on"] = True
        _start_patcher()

    err = result.get("errno")
    if err:
        msg = "cowguard: %s failed: %s" % (
            "opening the device" if result.get("stage") == "open"
            else "registration", result.get("error"))
        if result.get("stage") == "register":
            msg += " (%d of %d ranges registered)" % (
                result.get("registrations", 0), result["ranges"])
        if strict:
            raise OSError(err, msg)
        warnings.warn(msg, CowguardWarning, stacklevel=2)
    return result


def _plan(roots=None, gap_pages=DEFAULT_GAP_PAGES, max_ranges=DEFAULT_MAX_RANGES):
    """The plan for the closure of roots (default: a dry run of protect()).

    With roots (a list), only those objects and what they reach count, and
    nothing else is done (no gc calls, no frames): for tests.
    """
    if roots is None:
        return protect(dry_run=True, gap_pages=gap_pages,
                       max_ranges=max_ranges)["plan"]
    return _cowguard.plan(list(roots), gap_pages, max_ranges)


def stats(start=0):
    """This process's cowguard figures (COWGUARD_IOC_STATS).

    start=0 sums over every registration the process maps; an address
    inside a registration gives that one's figures plus reg_* fields for
    the registration as a whole. Returns a dict of counters (and
    "refused": {reason: count}), or None when the module is not loaded
    (/dev/cowguard does not exist). Other failures raise OSError (EINVAL:
    start is not in a registration of this process).
    """
    return _cowguard.stats(start)
