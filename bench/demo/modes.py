# SPDX-License-Identifier: GPL-2.0
"""What the master does to its heap just before it forks, per mode.

    plain     nothing: fork as usual
    freeze    gc.freeze(): the collector never visits the master's objects
              (Instagram's recipe; refcount writes still copy pages)
    cowguard  cowguard.protect(): refcounts into the band, heap registered
              with the kernel module
    immortal  CPython 3.12+ only: cowguard.protect() with the module kept
              out of it (immortalize_without_module), so only the
              interpreter's own immortal objects (PEP 683) keep pages shared
    cowguard:N  cowguard with protect(trap_budget=N), to compare budgets
                side by side
    cowguard-noreclaim  cowguard, for runs that switch the module's scanner
                off while this mode runs (reclaim_interval_ms=0; the
                long run, longrun.py); protect() is the same
    cowguard-nocap  likewise, with the module's shadow cap off
                (shadow_cap_pct=0) while this mode runs
    cowguard-capN   likewise, with shadow_cap_pct=N (percent) while this
                mode runs, to compare caps side by side; suffixes go after
                a budget: cowguard:16-cap8
    cowguard-nopatch  cowguard with protect(patch=False): no site is
                patched, every refcount write to a golden page traps

setup() returns a JSON-able summary of what it did.
"""
import gc
import os
import re
import sys
import time
import warnings

MODES = ("plain", "freeze", "cowguard", "immortal")
# Mode suffixes: the module parameters the mode runs under (longrun.py).
SUFFIX_PARAMS = {
    "-noreclaim": {"reclaim_interval_ms": 0},
    "-nocap": {"shadow_cap_pct": 0},
    "-nopatch": {},
}
CAP_SUFFIX = re.compile(r"-cap(\d+)$")


def split_suffix(mode):
    """(mode without its suffix, the suffix or "")."""
    for suffix in SUFFIX_PARAMS:
        if mode.endswith(suffix):
            return mode[:-len(suffix)], suffix
    m = CAP_SUFFIX.search(mode)
    if m and 1 <= int(m.group(1)) <= 100:
        return mode[:m.start()], m.group(0)
    return mode, ""


def module_params(mode):
    """The module parameters this mode wants changed while it runs."""
    suffix = split_suffix(mode)[1]
    m = CAP_SUFFIX.match(suffix)
    if m:
        return {"shadow_cap_pct": int(m.group(1))}
    return dict(SUFFIX_PARAMS.get(suffix, {}))


def reclaim_off(mode):
    """Does this mode want the module's reclaim scanner off?"""
    return module_params(mode).get("reclaim_interval_ms") == 0


def parse(mode):
    """(base mode, trap budget or None) of "cowguard:64" and the like."""
    mode, suffix = split_suffix(mode)
    if suffix and mode.partition(":")[0] != "cowguard":
        raise ValueError("%s only goes with cowguard modes" % suffix)
    base, _, budget = mode.partition(":")
    if base not in MODES or (budget and base != "cowguard"):
        raise ValueError("unknown mode %r (one of %s, cowguard:N, cowguard%s|-capN)"
                         % (mode, ", ".join(MODES), "|".join(SUFFIX_PARAMS)))
    return base, int(budget) if budget else None


def available(mode):
    """None if the mode can run with this interpreter, else why not."""
    if parse(mode)[0] == "immortal" and sys.version_info < (3, 12):
        return "needs CPython 3.12+ (immortal objects)"
    return None


def setup(mode, trap_budget=0):
    t = time.perf_counter()
    summary = {"mode": mode}
    patch = split_suffix(mode)[1] != "-nopatch"
    mode, budget = parse(mode)
    if budget is not None:
        trap_budget = budget
    if mode == "plain":
        pass
    elif mode == "freeze":
        gc.freeze()
        summary["frozen"] = gc.get_freeze_count()
    elif mode in ("cowguard", "immortal"):
        import cowguard
        if mode == "immortal":
            # The adapter opens the device libcowguard names; a missing one
            # means "module absent", and immortalize_without_module then
            # moves the refcounts without registering anything.
            os.environ["COWGUARD_DEVICE"] = "/nonexistent/cowguard"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = cowguard.protect(immortalize_without_module=True)
            del os.environ["COWGUARD_DEVICE"]
        else:
            s = cowguard.protect(strict=True, trap_budget=trap_budget,
                                 patch=patch)
        summary.update({k: s.get(k) for k in (
            "registered", "objects", "walked", "bytes", "pages", "ranges",
            "range_bytes", "registered_bytes", "registrations", "skipped",
            "refcounts_moved", "seconds", "patching")})
        summary["trap_budget"] = trap_budget
    summary["setup_seconds"] = time.perf_counter() - t
    return summary
