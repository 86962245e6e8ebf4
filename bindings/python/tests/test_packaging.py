"""The package installs the Python way (pip, offline, with Debian's
setuptools) and the Debian way (make install-python)."""

import os
import shutil
import subprocess
import sys

from conftest import PKG, REPO

IMPORT = "import jauth; print(jauth.__file__); print(jauth.version())"


def imported_from(path, env_extra=None):
    env = dict(os.environ, PYTHONPATH=path, **(env_extra or {}))
    out = subprocess.run([sys.executable, "-c", IMPORT], env=env,
                         capture_output=True, text=True, check=True,
                         cwd="/").stdout.split()
    return out


def test_pip_installs_without_network(tmp_path):
    src = tmp_path / "src"  # a copy: an in-tree build would leave files
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("tests",
                                                            "__pycache__"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "--no-build-isolation", "--no-index", "--no-deps",
                    "--target", str(target), str(src)],
                   check=True, capture_output=True)
    where, version = imported_from(str(target))
    assert where == str(target / "jauth" / "__init__.py")
    assert version == "0.1.0"
    assert list(target.glob("jauth-0.1.0.dist-info"))


def test_make_install_python_puts_it_on_the_path(tmp_path):
    subprocess.run(["make", "-s", "-C", REPO, "install-python",
                    "DESTDIR=" + str(tmp_path), "PREFIX=/usr"],
                   check=True, capture_output=True)
    site = tmp_path / "usr" / "lib" / "python3" / "dist-packages"
    assert (site / "jauth" / "py.typed").exists()
    where, version = imported_from(str(site))
    assert where == str(site / "jauth" / "__init__.py")
    assert version == "0.1.0"
