"""pytest plugin for the mutant's child process (`-p neuromesh.tools.mutants.guard`): before any
test runs, prove that the package comes from the shadow copy and that the mutated module is the
mutated file, byte for byte. Otherwise the child stops with `GUARD_EXIT` and the runner reports
an error: a mutant must never be judged on the unmutated design.

Environment (set by runner.py): NEUROMESH_MUTANT_ROOT (the copy), and for a mutant
NEUROMESH_MUTANT_MODULE, NEUROMESH_MUTANT_FILE, NEUROMESH_MUTANT_SHA256.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import sys
from pathlib import Path

import pytest

GUARD_EXIT = 17
ENV_ROOT = "NEUROMESH_MUTANT_ROOT"
ENV_MODULE = "NEUROMESH_MUTANT_MODULE"
ENV_FILE = "NEUROMESH_MUTANT_FILE"
ENV_SHA = "NEUROMESH_MUTANT_SHA256"


def check() -> str:
    """What was imported from where (one line), or raises RuntimeError saying what is wrong."""
    root = os.environ.get(ENV_ROOT)
    if not root:
        raise RuntimeError(f"{ENV_ROOT} is not set")
    import neuromesh
    pkg = Path(neuromesh.__file__).resolve()
    if not pkg.is_relative_to(Path(root).resolve()):
        raise RuntimeError(f"neuromesh was imported from {pkg}, not from the copy in {root}")
    module = os.environ.get(ENV_MODULE)
    if not module:
        return f"mutant guard: unmutated copy in {root}"
    mod = importlib.import_module(module)
    got, want = Path(mod.__file__).resolve(), Path(os.environ[ENV_FILE]).resolve()
    if got != want:
        raise RuntimeError(f"{module} was imported from {got}, not from the mutated {want}")
    text = got.read_text(encoding="utf-8")
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != os.environ[ENV_SHA]:
        raise RuntimeError(f"{got} is not the mutated text")
    return f"mutant guard: {module} from {got} (mutated)"


def pytest_configure(config):
    try:
        line = check()
    except Exception as e:  # noqa: BLE001 - anything wrong here voids the run
        pytest.exit(f"mutant guard: {e}", returncode=GUARD_EXIT)
    print(line, file=sys.stderr, flush=True)   # in the child's log, whatever pytest's verbosity
