"""A wheel install works (not only the editable one `make install` makes): the wheel holds every
package and data file, runs from a folder outside the repository with nothing putting the
repository on sys.path, and keeps its caches outside the installed package.

The wheel goes into a fresh venv whose only other path is the project venv's site-packages (for
the dependencies: the test does not download anything); the editable install's finder there is
never run, because that folder is added as a plain path, not as a site folder.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "tiny"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPO)], check=True, cwd=out)
    (whl,) = out.glob("neuromesh-*.whl")
    return whl


def _packages_in_repo() -> set:
    """Every folder of the source tree that is a Python package, as its import name."""
    mapping = {"neuromesh": "neuromesh", "hw": "neuromesh.hw", "sim": "neuromesh.sim",
               "firmware": "neuromesh.firmware", "tools": "neuromesh.tools"}
    names = set()
    for top, name in mapping.items():
        for init in (REPO / top).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / top).parts
            names.add(".".join((name, *rel)))
    return names


def test_wheel_holds_every_package_and_profile(wheel):
    files = zipfile.ZipFile(wheel).namelist()
    in_wheel = {str(Path(f).parent).replace("/", ".") for f in files if f.endswith("/__init__.py")}
    assert _packages_in_repo() <= in_wheel, sorted(_packages_in_repo() - in_wheel)
    profiles = {Path(f).name for f in files if "/energy_profiles/" in f}
    assert {p.name for p in (REPO / "neuromesh" / "energy_profiles").glob("*.json")} <= profiles


def test_wheel_install_runs_the_golden_engine(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # Install the wheel with the project venv's pip into the new venv (no network, no deps) ...
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(site), str(wheel)], check=True)
    # ... and let it find the dependencies in the project venv, as a plain path.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEUROMESH_CACHE")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    where = subprocess.run([str(py), "-c", "import neuromesh, neuromesh.sim.engine as e; print(e.__file__)"],
                           check=True, capture_output=True, text=True, cwd=work, env=env).stdout.strip()
    assert Path(where).is_relative_to(site), where   # the wheel's copy, not the repository
    out = work / "result.json"
    r = subprocess.run([str(py), "-m", "neuromesh.tools.cli", "run", str(EXAMPLE / "network.json"),
                        "--stimulus", str(EXAMPLE / "stimulus.json"), "-o", str(out), "--engine", "golden"],
                       capture_output=True, text=True, cwd=work, env=env)
    assert r.returncode == 0, r.stderr
    result = json.loads(out.read_text())
    assert result["engine"] == "golden" and result["stats"]["ticks"] == 10
    assert sum(len(v) for v in result["spikes"].values()) > 0
    # The installed package stays as installed: no cache or build folder inside it.
    assert not any(p.name in ("build", "verilator", "rtl-runs") for p in (site / "neuromesh").rglob("*"))
