"""Run the regression on one mutant (or on the unmutated source: the baseline) in a child process.

The child is `python -P -m pytest -x` on the planned node ids, in the checkout, with the shadow
copy first on PYTHONPATH (shadow.py), the guard plugin (guard.py), its own temporary folders and
the mutants' Verilator cache (`NEUROMESH_CACHE`). It runs in a session of its own and is bounded
in wall time: at the limit its whole process group gets TERM, then KILL, and the mutant counts as
killed by the timeout. Before the tests, probe.py imports and elaborates the mutated file: a
mutant that does not elaborate is an error, not a kill. The verdict comes from pytest's JUnit XML: the first failing test killed it.

Verilator models: the baseline builds every unmutated model once, in the shared cache. A mutant
runs on a slot cache of its own (`slot_cache`: the shared models linked in, its own builds beside
them), and its own builds are removed after it (`clear_own`), so the cache does not grow with the
number of mutants and two mutants running side by side (`-j 2`) never share a model they built.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import shadow
from .guard import ENV_FILE, ENV_MODULE, ENV_ROOT, ENV_SHA, GUARD_EXIT

KILLED, SURVIVED, TIMEOUT, ERROR, NOT_APPLIED = "killed", "survived", "timeout", "error", "no-longer-applies"
STATUSES = (KILLED, TIMEOUT, SURVIVED, NOT_APPLIED, ERROR)
LOG_TAIL_LINES = 120


@dataclass
class Outcome:
    status: str
    killer: str | None = None      # node id of the first failing test (or what stopped the run)
    detail: str = ""               # one line: the failure's message, the timeout, the error
    seconds: float = 0.0
    tests_run: int = 0
    log_tail: list = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("log_tail")
        return d


def _one_line(text: str, limit: int = 240) -> str:
    line = " ".join((text or "").split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _node_id(case: ET.Element) -> str:
    """pytest's node id from a JUnit <testcase> (classname tests.test_x, name test_y[param])."""
    classname, name = case.get("classname", ""), case.get("name", "")
    if not classname:                      # a collection error: name is the module path
        return f"collection of {name.replace('.', '/')}.py"
    parts = classname.split(".")
    # classname = the module's dotted path, then any class names (capitalised)
    cut = next((i for i in range(1, len(parts)) if parts[i][:1].isupper()), len(parts))
    return "::".join(["/".join(parts[:cut]) + ".py", *parts[cut:], name])


def read_junit(path: Path) -> tuple[int, str | None, str]:
    """(tests run, node id of the first failure or error, its message) from a JUnit XML file."""
    if not path.exists():
        return 0, None, ""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        return 0, None, ""
    run, first, message = 0, None, ""
    for case in root.iter("testcase"):
        run += 1
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None and first is None:
            first = _node_id(case)
            text = (bad.get("message") or bad.text or "").strip()
            message = text.splitlines()[0] if text else ""
    return run, first, _one_line(message)


def _kill_group(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """TERM, then KILL, the child's process group (the child and everything it started)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def stop(proc: subprocess.Popen) -> None:
    """Stop a child started by `run` (and its whole group) at once: the run is interrupted. Only
    while it has not been reaped: until then its id cannot name another process group."""
    if proc.poll() is None:
        _kill_group(proc, grace=2.0)


def models(cache: Path) -> set:
    folder = cache / "verilator"
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def slot_cache(cache: Path, slot: int) -> Path:
    """The cache one worker slot gives its mutant: a link to every model of the shared cache
    (the unmutated models: built once, only read), and room for the mutant's own builds."""
    here = cache / "slots" / str(slot)
    clear_own(here)
    folder = here / "verilator"
    folder.mkdir(parents=True, exist_ok=True)
    for name in models(cache):
        link = folder / name
        if not link.is_symlink():
            link.symlink_to((cache / "verilator" / name).resolve(), target_is_directory=True)
    return here


def clear_own(slot: Path) -> int:
    """Remove the models a mutant built in its slot cache (not the links); returns how many."""
    folder = slot / "verilator"
    own = [p for p in folder.iterdir() if not p.is_symlink()] if folder.is_dir() else []
    for p in own:
        shutil.rmtree(p, ignore_errors=True)
    return len(own)


def remove_slots(cache: Path) -> None:
    shutil.rmtree(cache / "slots", ignore_errors=True)


def prune_unused(cache: Path, since: float) -> int:
    """Remove the models that no build asked for since `since` (a build touches `.built`)."""
    removed = 0
    for name in models(cache):
        stamp = cache / "verilator" / name / ".built"
        if not stamp.exists() or stamp.stat().st_mtime < since:
            shutil.rmtree(cache / "verilator" / name, ignore_errors=True)
            removed += 1
    return removed


PROBE_TIMEOUT_S = 300


def _probe(mutant, env: dict, root: Path) -> str | None:
    """None if the mutated module imports and elaborates (probe.py) in the child's environment,
    else the last line of what went wrong."""
    try:
        done = subprocess.run([sys.executable, "-P", "-m", "neuromesh.tools.mutants.probe", mutant.module],
                              cwd=root, env=env, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"elaboration did not end within {PROBE_TIMEOUT_S} s"
    if done.returncode == 0:
        return None
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit status {done.returncode}"


def child_command(nodes, work: Path) -> list:
    return [sys.executable, "-P", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
            "-p", "neuromesh.tools.mutants.guard", "--basetemp", str(work / "pytest"),
            "--junitxml", str(work / "junit.xml"), "-W", "ignore::pytest.PytestUnraisableExceptionWarning",
            *nodes]


def run(root: Path, nodes, *, mutant=None, cache: Path, timeout_s: float, temp_parent: Path | None = None,
        on_start=None) -> Outcome:
    """The regression `nodes` on `mutant` (None: the unmutated source). Never raises for what
    the child does; an Outcome says what happened."""
    started = time.monotonic()
    try:
        site, target = shadow.make(root, mutant, temp_parent)
    except Exception as e:  # noqa: BLE001 - reported as this mutant's error
        return Outcome(ERROR, None, _one_line(f"could not make the mutated copy: {e}"))
    work = site.parent
    env = dict(os.environ)
    for name in (ENV_MODULE, ENV_FILE, ENV_SHA):
        env.pop(name, None)
    env.update({"PYTHONPATH": str(site), ENV_ROOT: str(site), "NEUROMESH_CACHE": str(cache),
                "NEUROMESH_REGRESSION_OUT": str(work / "regression"), "NEUROMESH_REGRESSION_WAVES": "0"})
    if mutant is not None:
        env.update({ENV_MODULE: mutant.module, ENV_FILE: str(target),
                    ENV_SHA: shadow.digest(target.read_text(encoding="utf-8"))})
    log = work / "child.log"
    try:
        if mutant is not None:
            bad = _probe(mutant, env, root)
            if bad is not None:
                return Outcome(ERROR, None, _one_line(f"the mutant does not elaborate: {bad}"),
                               time.monotonic() - started, 0, [bad])
        with open(log, "w") as out:
            proc = subprocess.Popen(child_command(nodes, work), cwd=root, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            if on_start:
                on_start(proc)
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                rc = None
            except BaseException:       # Ctrl-C in the parent: stop the child's group too
                _kill_group(proc, grace=2.0)
                raise
        seconds = time.monotonic() - started
        tail = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        run_count, first, message = read_junit(work / "junit.xml")
        if rc is None:
            return Outcome(TIMEOUT, first or "wall-clock limit",
                           f"stopped after {timeout_s:g} s of wall time", seconds, run_count, tail)
        if rc == GUARD_EXIT:
            why = next((ln for ln in reversed(tail) if "mutant guard" in ln), "the guard stopped the run")
            return Outcome(ERROR, None, _one_line(why), seconds, run_count, tail)
        if rc == 0:
            return Outcome(SURVIVED, None, f"all {run_count} tests passed", seconds, run_count, tail)
        if first is not None and rc in (1, 2):
            return Outcome(KILLED, first, message, seconds, run_count, tail)
        last = next((ln for ln in reversed(tail) if ln.strip()), "no output")
        return Outcome(ERROR, None, _one_line(f"pytest exit status {rc}: {last}"), seconds, run_count, tail)
    finally:
        shadow.remove(site)
