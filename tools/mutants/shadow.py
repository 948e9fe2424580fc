"""A copy of the `neuromesh` package with (at most) one file mutated, for a child process.

The repository's folders are the package's sub-packages (pyproject.toml, `package-dir`: `hw/`
is `neuromesh.hw`, ...). The copy lays them out as an installed package would
(`<shadow>/neuromesh/hw/router.py`) and the child gets `<shadow>` first on PYTHONPATH. Python's
path finder comes before the editable install's finder in `sys.meta_path`, so the child imports
the copy; the child runs with `python -P` so that the current folder (the checkout, whose
`neuromesh/` folder holds the unmutated top level) does not come first. `guard.py` checks all
of this in the child. The checkout itself is never written.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import tomllib
from pathlib import Path

from neuromesh.spec import NeuroMeshError

IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class ShadowError(NeuroMeshError):
    pass


def package_dirs(root: Path) -> dict:
    """{package name: its folder in the checkout}, from pyproject.toml (the one definition)."""
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        mapping = data["tool"]["setuptools"]["package-dir"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as e:
        raise ShadowError(f"{root}/pyproject.toml: no [tool.setuptools.package-dir] ({e})") from None
    return {name: root / folder for name, folder in mapping.items()}


def module_path(shadow: Path, file: str, root: Path) -> Path:
    """Where checkout file `file` (hw/router.py) lies in the copy."""
    src = (root / file).resolve()
    for name, folder in sorted(package_dirs(root).items(), key=lambda kv: -len(str(kv[1]))):
        folder = folder.resolve()
        if src.is_relative_to(folder):
            return shadow.joinpath(*name.split("."), src.relative_to(folder))
    raise ShadowError(f"{file}: not inside any package folder of {root}/pyproject.toml")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make(root: Path, mutant=None, parent: Path | None = None) -> tuple[Path, Path | None]:
    """A fresh copy of the package under a new temporary folder (in `parent`, default the system
    temporary folder); with `mutant`, its file mutated. Returns (shadow root, mutated file)."""
    base = Path(tempfile.mkdtemp(prefix="neuromesh-mutant-", dir=parent))
    shadow = base / "site"
    try:
        for name, folder in sorted(package_dirs(root).items(), key=lambda kv: kv[0].count(".")):
            dest = shadow.joinpath(*name.split("."))
            if dest.exists():      # a parent package's folder holding a same-named folder
                shutil.rmtree(dest)
            shutil.copytree(folder, dest, ignore=IGNORED)
        target = None
        if mutant is not None:
            target = module_path(shadow, mutant.file, root)
            source = (root / mutant.file).read_text(encoding="utf-8")
            target.write_text(mutant.mutated(source), encoding="utf-8")
        return shadow, target
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def remove(shadow: Path) -> None:
    """Remove a copy made by `make` (its whole temporary folder)."""
    shutil.rmtree(shadow.parent, ignore_errors=True)
