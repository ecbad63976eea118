# SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
"""The in-tree build backend: wheel, sdist, and (COWGUARD_TEST_PIP=1) a
real offline ``pip install`` into a temporary target directory."""
import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import unittest
import zipfile

import _support

sys.path.insert(0, os.path.join(_support.ROOT, "build_backend"))
import cowguard_build  # noqa: E402


class TestBackend(unittest.TestCase):

    def setUp(self):
        self.tmp = _support.tempdir()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check_wheel(self, path):
        ext = "cowguard/_cowguard" + sysconfig.get_config_var("EXT_SUFFIX")
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            dist = [n for n in names if n.endswith(".dist-info/RECORD")][0]
            self.assertIn("cowguard/__init__.py", names)
            self.assertIn(ext, names)
            wheel = zf.read(dist.replace("RECORD", "WHEEL")).decode()
            self.assertIn("Root-Is-Purelib: false", wheel)
            self.assertIn("Tag: cp%d%d-" % sys.version_info[:2], wheel)
            rows = list(csv.reader(io.StringIO(zf.read(dist).decode())))
            self.assertEqual({r[0] for r in rows}, names)
            for name, digest, size in rows:
                if name == dist:
                    continue
                data = zf.read(name)
                want = base64.urlsafe_b64encode(
                    hashlib.sha256(data).digest()).rstrip(b"=").decode()
                self.assertEqual(digest, "sha256=" + want, name)
                self.assertEqual(int(size), len(data))

    def test_hooks(self):
        self.assertEqual(cowguard_build.get_requires_for_build_wheel(), [])
        self.assertEqual(cowguard_build.get_requires_for_build_sdist(), [])
        info = cowguard_build.prepare_metadata_for_build_wheel(self.tmp)
        with open(os.path.join(self.tmp, info, "METADATA")) as f:
            meta = f.read()
        self.assertIn("Name: cowguard", meta)
        self.assertIn("Version: " + _support.cowguard.__version__, meta)

    def test_wheel(self):
        name = cowguard_build.build_wheel(self.tmp)
        self.check_wheel(os.path.join(self.tmp, name))

    def test_sdist_builds_alone(self):
        name = cowguard_build.build_sdist(self.tmp)
        with tarfile.open(os.path.join(self.tmp, name)) as tf:
            members = tf.getnames()
            base = members[0].split("/")[0]
            for want in ("pyproject.toml", "build_backend/cowguard_build.py",
                         "src/module.c", "cowguard/__init__.py",
                         "vendor/include/uapi/linux/cowguard.h",
                         "vendor/lib/cowguard.h", "vendor/lib/cowguard.c"):
                self.assertIn(base + "/" + want, members)
            if hasattr(tarfile, "data_filter"):
                tf.extractall(self.tmp, filter="data")
            else:
                tf.extractall(self.tmp)
        # The unpacked sdist builds a wheel from vendor/ alone.
        src = os.path.join(self.tmp, base)
        out = os.path.join(self.tmp, "wheels")
        os.mkdir(out)
        subprocess.check_call(
            [sys.executable, "-c",
             "import sys; sys.path.insert(0, 'build_backend'); "
             "import cowguard_build as b; print(b.build_wheel(sys.argv[1]))", out],
            cwd=src, stdout=subprocess.DEVNULL)
        wheels = os.listdir(out)
        self.assertEqual(len(wheels), 1)
        self.check_wheel(os.path.join(out, wheels[0]))

    @unittest.skipUnless(os.environ.get("COWGUARD_TEST_PIP") == "1",
                         "set COWGUARD_TEST_PIP=1 to run pip (slow)")
    def test_pip_install(self):
        target = os.path.join(self.tmp, "site")
        subprocess.check_call(
            [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps",
             "--quiet", "--target", target, _support.ROOT])
        env = dict(os.environ, PYTHONPATH=target)
        out = subprocess.check_output(
            [sys.executable, "-c",
             "import cowguard; r = cowguard.protect(dry_run=True); "
             "print(cowguard.__file__, r['objects'] > 0)"],
            env=env, cwd=self.tmp, universal_newlines=True)
        path, ok = out.split()
        self.assertTrue(path.startswith(target), path)
        self.assertEqual(ok, "True")


if __name__ == "__main__":
    unittest.main()
