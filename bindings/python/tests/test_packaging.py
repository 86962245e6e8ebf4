"""The package installs the Python way (pip, offline, with Debian's
setuptools) and the Debian way (make install-python)."""

import os
import shutil
import subprocess
import sys

from conftest import BUILD, PKG, REPO

IMPORT = "import jauth; print(jauth.__file__); print(jauth.version())"


def imported_from(path, env_extra=None):
    env = dict(os.environ, PYTHONPATH=path, **(env_extra or {}))
    out = subprocess.run([sys.executable, "-c", IMPORT], env=env,
                         capture_output=True, text=True, check=True,
                         cwd="/").stdout.split()
    return out


def copy_of_the_package(tmp_path):
    """A copy of bindings/python: pip builds in the source tree, and the
    test must not leave its build files in the repository."""
    src = tmp_path / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns(
        "tests", "__pycache__", "build", "*.egg-info"))
    return src


def test_pip_installs_into_a_venv_without_network(tmp_path):
    """As the README says: a venv that sees Debian's packages (Debian's own
    python3 refuses pip outside one), --no-build-isolation so that pip
    uses the installed setuptools instead of fetching one."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                    str(venv)], check=True)
    py = str(venv / "bin" / "python")
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-index",
                    "--no-build-isolation", str(copy_of_the_package(
                        tmp_path))], check=True, capture_output=True)
    out = subprocess.run([py, "-c", IMPORT], capture_output=True, text=True,
                         check=True, cwd="/").stdout.split()
    assert out[0].startswith(str(venv)) and out[1] == "0.1.0"
    meta = subprocess.run([py, "-m", "pip", "show", "jauth"],
                          capture_output=True, text=True, check=True).stdout
    assert "Version: 0.1.0" in meta


def test_pip_installs_into_a_target_without_network(tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "--no-build-isolation", "--no-index", "--no-deps",
                    "--target", str(target),
                    str(copy_of_the_package(tmp_path))],
                   check=True, capture_output=True)
    where, version = imported_from(str(target))
    assert where == str(target / "jauth" / "__init__.py")
    assert version == "0.1.0"
    assert list(target.glob("jauth-0.1.0.dist-info"))


def test_make_install_python_puts_it_on_the_path(tmp_path):
    """Installed with LIBDIR=the build's lib: the package finds libjauth
    there without JAUTH_LIBRARY, as it finds $(PREFIX)/lib before
    ldconfig has run."""
    subprocess.run(["make", "-s", "-C", REPO, "install-python",
                    "DESTDIR=" + str(tmp_path), "PREFIX=/usr",
                    "LIBDIR=" + os.path.join(BUILD, "lib")],
                   check=True, capture_output=True)
    site = tmp_path / "usr" / "lib" / "python3" / "dist-packages"
    assert (site / "jauth" / "py.typed").exists()
    env = {k: v for k, v in os.environ.items() if k != "JAUTH_LIBRARY"}
    out = subprocess.run([sys.executable, "-c", IMPORT],
                         env=dict(env, PYTHONPATH=str(site)), cwd="/",
                         capture_output=True, text=True, check=True)
    where, version = out.stdout.split()
    assert where == str(site / "jauth" / "__init__.py")
    assert version == "0.1.0"
