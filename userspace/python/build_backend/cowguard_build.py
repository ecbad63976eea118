# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""In-tree PEP 517 build backend for cowguard, without setuptools.

CPython 3.12+ ships no setuptools, and these machines have no network, so
``pip install ./userspace/python`` cannot fetch a build backend. This one
uses only the standard library: it compiles the extension with the C
compiler and flags ``sysconfig`` reports for the running interpreter,
builds libcowguard's sources (``../lib/*.c``) into it, and writes the wheel
(a zip file) itself.

Hooks: build_wheel, build_sdist, build_editable, get_requires_for_* (none).
Command line (used by the Makefile and the tests)::

    python3 build_backend/cowguard_build.py inplace [--force]

builds ``cowguard/_cowguard<EXT_SUFFIX>`` next to the sources for the
interpreter that runs it (each version gets its own file name).

Sources come from the cowguard tree (``../lib`` and ``../../include/uapi``
relative to this project); an sdist carries copies under ``vendor/``.
Environment: CC (compiler), CFLAGS (appended), COWGUARD_WERROR=0 drops
-Werror.
"""
import base64
import glob
import hashlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "cowguard"
SUMMARY = ("Keep a preforking CPython master's heap shared with its workers "
           "(cowguard kernel module adapter)")


def _version():
    with open(os.path.join(ROOT, NAME, "__init__.py"), encoding="utf-8") as f:
        m = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
    if not m:
        raise RuntimeError("no __version__ in cowguard/__init__.py")
    return m.group(1)


def _dirs():
    """(lib dir, uapi include dir): the tree's, else the sdist's vendor/."""
    tree_lib = os.path.normpath(os.path.join(ROOT, "..", "lib"))
    tree_uapi = os.path.normpath(os.path.join(ROOT, "..", "..", "include", "uapi"))
    if (os.path.isfile(os.path.join(tree_lib, "cowguard.h")) and
            os.path.isfile(os.path.join(tree_uapi, "linux", "cowguard.h"))):
        return tree_lib, tree_uapi
    vend_lib = os.path.join(ROOT, "vendor", "lib")
    vend_uapi = os.path.join(ROOT, "vendor", "include", "uapi")
    if os.path.isfile(os.path.join(vend_lib, "cowguard.h")):
        return vend_lib, vend_uapi
    raise RuntimeError("libcowguard sources not found: expected %s (the cowguard "
                       "tree) or %s (an sdist)" % (tree_lib, vend_lib))


def sources():
    lib, uapi = _dirs()
    ours = sorted(glob.glob(os.path.join(ROOT, "src", "*.c")))
    libs = sorted(glob.glob(os.path.join(lib, "*.c")))
    headers = (glob.glob(os.path.join(ROOT, "src", "*.h")) +
               glob.glob(os.path.join(lib, "*.h")) +
               [os.path.join(uapi, "linux", "cowguard.h")])
    return ours, libs, headers, lib, uapi


def ext_filename():
    return "_cowguard" + sysconfig.get_config_var("EXT_SUFFIX")


def _compiler():
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    argv = shlex.split(cc)
    if not shutil.which(argv[0]):
        argv = ["cc"] + argv[1:]
    return argv


def _check_interpreter():
    if sys.implementation.name != "cpython":
        raise RuntimeError("cowguard supports CPython only, not %s"
                           % sys.implementation.name)


def compile_extension(out_path, verbose=False):
    """Compile and link the extension for this interpreter into out_path."""
    _check_interpreter()
    ours, libs, _, lib, uapi = sources()
    paths = sysconfig.get_paths()
    cc = _compiler()
    werror = [] if os.environ.get("COWGUARD_WERROR") == "0" else ["-Werror"]
    cflags = (["-std=gnu11", "-O2", "-g", "-fPIC", "-fvisibility=hidden",
               "-fno-strict-aliasing", "-fwrapv", "-DNDEBUG", "-Wall", "-Wextra"] +
              werror + ["-isystem", paths["include"]] +
              (["-isystem", paths["platinclude"]]
               if paths["platinclude"] != paths["include"] else []) + [
               "-I", os.path.join(ROOT, "src"), "-I", lib, "-I", uapi] +
              shlex.split(os.environ.get("CFLAGS", "")))
    tmp = tempfile.mkdtemp(prefix="cowguard-build-")
    try:
        objs = []
        for i, src in enumerate(ours + libs):
            obj = os.path.join(tmp, "%d-%s.o" % (i, os.path.basename(src)[:-2]))
            cmd = cc + cflags + ["-c", src, "-o", obj]
            if verbose:
                print(" ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
            subprocess.check_call(cmd)
            objs.append(obj)
        tmp_out = os.path.join(tmp, os.path.basename(out_path))
        cmd = cc + ["-shared", "-Wl,-z,relro", "-Wl,-z,now", "-o", tmp_out] + objs
        if verbose:
            print(" ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
        subprocess.check_call(cmd)
        os.makedirs(os.path.dirname(out_path), exist_ok=True)
        # Replace atomically: a running interpreter may have the old one
        # mapped.
        shutil.copyfile(tmp_out, out_path + ".tmp")
        os.replace(out_path + ".tmp", out_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_path


def inplace_path():
    return os.path.join(ROOT, NAME, ext_filename())


def is_stale(path=None):
    path = path or inplace_path()
    if not os.path.exists(path):
        return True
    ours, libs, headers, _, _ = sources()
    built = os.path.getmtime(path)
    return any(os.path.getmtime(s) > built for s in ours + libs + headers)


def build_inplace(force=False, verbose=False):
    path = inplace_path()
    if force or is_stale(path):
        compile_extension(path, verbose=verbose)
    return path


# --- wheels -----------------------------------------------------------------

def _tag():
    ver = "cp%d%d" % sys.version_info[:2]
    abi = ver + getattr(sys, "abiflags", "")
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s-%s" % (ver, abi, plat)


def _metadata():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\n"
            "Name: %s\n"
            "Version: %s\n"
            "Summary: %s\n"
            "License: LGPL-2.1-or-later OR MIT\n"
            "Requires-Python: >=3.8\n"
            "Classifier: Operating System :: POSIX :: Linux\n"
            "Classifier: Programming Language :: Python :: Implementation :: CPython\n"
            "Description-Content-Type: text/markdown\n"
            "\n%s" % (NAME, _version(), SUMMARY, readme))


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "%s,sha256=%s,%d" % (arcname, digest.decode(), len(data))


def _write_wheel(wheel_directory, files, tag):
    """files: list of (arcname, bytes). Returns the wheel's file name."""
    version = _version()
    dist_info = "%s-%s.dist-info" % (NAME, version)
    wheel_name = "%s-%s-%s.whl" % (NAME, version, tag)
    files = list(files)
    files.append((dist_info + "/METADATA", _metadata().encode()))
    files.append((dist_info + "/WHEEL", (
        "Wheel-Version: 1.0\nGenerator: cowguard_build\n"
        "Root-Is-Purelib: false\nTag: %s\n" % tag).encode()))
    record = [_record_line(a, d) for a, d in files]
    record.append(dist_info + "/RECORD,,")
    files.append((dist_info + "/RECORD", ("\n".join(record) + "\n").encode()))
    path = os.path.join(wheel_directory, wheel_name)
    stamp = time.localtime(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")))[:6]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
            info.external_attr = (0o755 if arcname.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return wheel_name


def _package_files():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, NAME, "*.py"))):
        with open(path, "rb") as f:
            out.append((NAME + "/" + os.path.basename(path), f.read()))
    return out


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    """Metadata without compiling (pip asks for it before building)."""
    dist_info = "%s-%s.dist-info" % (NAME, _version())
    path = os.path.join(metadata_directory, dist_info)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    with open(os.path.join(path, "WHEEL"), "w", encoding="utf-8") as f:
        f.write("Wheel-Version: 1.0\nGenerator: cowguard_build\n"
                "Root-Is-Purelib: false\nTag: %s\n" % _tag())
    return dist_info


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    tmp = tempfile.mkdtemp(prefix="cowguard-wheel-")
    try:
        so = compile_extension(os.path.join(tmp, ext_filename()))
        with open(so, "rb") as f:
            ext = (NAME + "/" + ext_filename(), f.read())
        return _write_wheel(wheel_directory, _package_files() + [ext], _tag())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: build the extension in place, install a .pth to ROOT."""
    build_inplace()
    pth = ("_%s_editable.pth" % NAME, (ROOT + "\n").encode())
    return _write_wheel(wheel_directory, [pth], _tag())


def build_sdist(sdist_directory, config_settings=None):
    version = _version()
    base = "%s-%s" % (NAME, version)
    lib, uapi = _dirs()
    members = []

    def add_tree(rel, pattern):
        for path in sorted(glob.glob(os.path.join(ROOT, rel, pattern))):
            members.append((path, os.path.relpath(path, ROOT)))

    for rel, pattern in (("", "pyproject.toml"), ("", "README.md"),
                         ("", "Makefile"), ("build_backend", "*.py"),
                         ("src", "*.[ch]"), (NAME, "*.py"), ("tests", "*.py"),
                         ("tests", "*.c"), ("examples", "*.py")):
        add_tree(rel, pattern)
    if os.path.abspath(lib) != os.path.join(ROOT, "vendor", "lib"):
        for path in sorted(glob.glob(os.path.join(lib, "*.[ch]"))):
            members.append((path, "vendor/lib/" + os.path.basename(path)))
        members.append((os.path.join(uapi, "linux", "cowguard.h"),
                        "vendor/include/uapi/linux/cowguard.h"))
    else:
        add_tree("vendor/lib", "*.[ch]")
        add_tree("vendor/include/uapi/linux", "cowguard.h")

    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz",
                      format=tarfile.PAX_FORMAT) as tf:
        pkg_info = _metadata().encode()
        info = tarfile.TarInfo(base + "/PKG-INFO")
        info.size = len(pkg_info)
        info.mode = 0o644
        tf.addfile(info, io.BytesIO(pkg_info))
        for path, arc in members:
            tf.add(path, arcname=base + "/" + arc, recursive=False)
    return name


def main(argv):
    if len(argv) >= 1 and argv[0] == "inplace":
        force = "--force" in argv[1:]
        path = build_inplace(force=force, verbose=True)
        print(path)
        return 0
    if len(argv) >= 1 and argv[0] == "wheel":
        out = argv[1] if len(argv) > 1 else "."
        print(build_wheel(out))
        return 0
    if len(argv) >= 1 and argv[0] == "sdist":
        out = argv[1] if len(argv) > 1 else "."
        print(build_sdist(out))
        return 0
    print("usage: cowguard_build.py inplace [--force] | wheel [DIR] | sdist [DIR]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
