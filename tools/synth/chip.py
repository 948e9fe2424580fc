"""`python -m neuromesh.tools.synth --target T` (`make synth TARGET=T`): synthesise the chip for
an FPGA part, place and route it, and write a report: LUTs, flip-flops, block RAMs,
multipliers, logic cells after packing, I/Os, the Fmax after routing and the critical path.
`--fit` first searches the largest mesh and core sizes that fit the part (tools/synth/fit.py:
yosys's resource counts), then places and routes the headline answer to confirm it.

Targets (tools/synth/targets.py): ice40-hx8k (default), ice40-up5k, ecp5-85k. Reports go to
`--out` (default build/synth/TARGET): report.md, report.json, fit.md and fit.json with --fit,
and the tools' logs. Hardware options override the target's default configuration.
`--no-route` stops after placement and names the paths estimated from the placed design
(tools/synth/placed_timing.py); on the ECP5 each tile's block RAMs are first fixed by its mesh
position (tools/synth/floorplan.py; `--no-floorplan` leaves them to nextpnr).

Not part of `make test`: the first yowasp call compiles WebAssembly (about 80 s); a chip takes
1-10 minutes of yosys and 2-30 minutes of nextpnr on this machine (docs/fpga.md). Resource
counts are cached in ~/.cache/neuromesh/synth by the Verilog's hash.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from neuromesh import spec

from . import fit, flow
from .targets import TARGETS, target as get_target


def build(target, params: spec.HwParams, out: Path, *, place: bool = True, route: bool = True,
          freq: float | None = None, floorplan: bool = True, progress=print) -> dict:
    """Synthesise (and place and route) one configuration; write report.json / report.md."""
    spec.check_rtl_size(params, "synthesis")
    out.mkdir(parents=True, exist_ok=True)
    top, text = flow.verilog(target, params)
    progress(f"{target.name}: {params.key()} ({target.part}{'; ' + target.note if target.note else ''}) into {out}")
    t0 = time.time()
    res = flow.synthesise(target, top, text, out, progress=progress)
    report = {"target": target.name, "part": target.part, "wrapper": target.wrapper, "params": params.to_dict(),
              "yosys": res, "freq_mhz": freq or target.freq_mhz}
    if place:
        report["pnr"] = flow.place(target, out, top, freq, route=route, floorplan=floorplan, progress=progress)
    report["seconds"] = round(time.time() - t0)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "report.md").write_text(report_md(target, report))
    return report


def _cap(target, key):
    return target.capacity.get(key)


def report_md(target, r: dict) -> str:
    p = spec.HwParams(**r["params"])
    y = r["yosys"]
    lines = [f"# {target.name}: chip {p.width} x {p.height}, {p.neurons_per_core} neurons / {p.axons_per_core} axons / "
             f"{p.synapses_per_core} synapses / {p.routes_per_core} routes per core, FIFO depth {p.fifo_depth}", "",
             f"Part: {target.part}" + (f" ({target.note})" if target.note else "") + ".", "",
             "| figure | value |", "|---|---|",
             f"| LUT4 (yosys) | {y['luts']} |", f"| carry cells (yosys) | {y['carries']} |",
             f"| flip-flops (yosys) | {y['ffs']} |",
             f"| block RAMs | {y['brams']} of {_cap(target, 'brams')} |",
             f"| multipliers | {y['mults']} of {_cap(target, 'mults')} |"]
    pnr = r.get("pnr")
    if pnr and pnr.get("placed"):
        used = pnr["used"]
        if "logic" in used:
            lines.append(f"| logic cells after packing | {used['logic'][0]} of {used['logic'][1]} "
                         f"({100 * used['logic'][0] / used['logic'][1]:.0f} %) |")
        if "ios" in used:
            lines.append(f"| I/O | {used['ios'][0]} of {used['ios'][1]} |")
        if pnr.get("floorplan"):
            lines.append(f"| floorplan | {pnr['floorplan']} |")
        if pnr.get("routed", True):
            lines.append(f"| Fmax after routing | {pnr['fmax_mhz']} MHz (asked {pnr['constraint_mhz']:g}) |")
        elif pnr.get("fmax_mhz") is not None:
            lines.append(f"| Fmax estimated after placement (not routed) | {pnr['fmax_mhz']} MHz "
                         f"(asked {pnr['constraint_mhz']:g}) |")
        else:
            lines.append("| Fmax estimated after placement (not routed) | nextpnr's log gives none |")
        cp = pnr.get("critical_path")
        routed = pnr.get("routed", True)
        if cp:
            lines.append(f"| critical path{'' if routed else ' (estimated after placement)'} | {_path(cp)} |")
        lines.append(f"| wall time | {r['seconds']} s (nextpnr {pnr['seconds']} s) |")
        if pnr.get("worst_paths"):
            lines += ["", "Longest paths estimated after placement, one per start and end (nextpnr's SDF of the "
                      "placed design, predicted wire delays; tools/synth/placed_timing.py):", "",
                      "| ns | logic | routing | cells | from | to |", "|---|---|---|---|---|---|"]
            lines += [f"| {p['ns']} | {p['logic_ns']} | {p['routing_ns']} | {p['cells']} | `{p['from']}` | `{p['to']}` |"
                      for p in pnr["worst_paths"]]
    elif pnr:
        lines.append(f"| place and route | failed: {pnr.get('error', '?').splitlines()[-1] if pnr.get('error') else '?'} |")
    return "\n".join(lines) + "\n"


def _path(cp: dict) -> str:
    return (f"{cp['ns']} ns ({cp['logic_ns']} logic, {cp['routing_ns']} routing, {cp['cells']} logic cells): "
            f"`{cp['from']}` -> `{cp['to']}`")


def fit_md(target, result: dict, confirm: dict | None) -> str:
    cap = target.capacity
    lines = [f"# What fits the {target.part} ({target.name})", "",
             f"Estimated from yosys's resource counts (tools/synth/fit.py): block RAMs <= {cap['brams']}, "
             f"multipliers <= {cap['mults']}, logic <= {target.logic_margin:.0%} of {cap['logic']}. "
             "Cores: axons = neurons, routes = 2 x neurons; the most neurons with 8 synapse entries each, "
             "then the most synapse entries.", "",
             "| mesh | neurons / axons / synapses / routes per core | logic (est.) | block RAMs | multipliers |",
             "|---|---|---|---|---|"]
    for row in result["rows"]:
        q, u = row["params"], row["usage"]
        lines.append(f"| {q['width']} x {q['height']} | {q['neurons_per_core']} / {q['axons_per_core']} / "
                     f"{q['synapses_per_core']} / {q['routes_per_core']} | {u['logic']} | {u['brams']} | {u['mults']} |")
    lines += ["", "Largest mesh (of tools/synth/fit.py's ladder) for a given core:", ""]
    for label, entry in result["largest_mesh"].items():
        c = entry["core"]
        mesh = f"{entry['mesh'][0]} x {entry['mesh'][1]}" if entry["mesh"] else "none"
        lines.append(f"- {label.replace('_', ' ')} core ({c['neurons_per_core']} / {c['axons_per_core']} / "
                     f"{c['synapses_per_core']} / {c['routes_per_core']}): {mesh}")
    if confirm:
        pnr = confirm.get("pnr", {})
        q = confirm["params"]
        lines += ["", f"Headline, placed and routed to confirm: {q['width']} x {q['height']}, "
                      f"{q['neurons_per_core']} / {q['axons_per_core']} / {q['synapses_per_core']} / {q['routes_per_core']}: "
                      + (f"placed, {pnr['used'].get('logic', ['?'])[0]} logic cells, "
                         f"{pnr['used'].get('brams', ['?'])[0]} block RAMs, Fmax {pnr['fmax_mhz']} MHz"
                         + ("" if pnr.get("routed", True) else " (estimated after placement, not routed)")
                         if pnr.get("placed") else f"did NOT place ({pnr.get('error', '?').splitlines()[-1]})")]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    from neuromesh.tools.cli import _hw_options    # the same hardware flags as `neuromesh verilog`
    ap = argparse.ArgumentParser(prog="python -m neuromesh.tools.synth", description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="ice40-hx8k", help=f"FPGA part: {', '.join(TARGETS)} (default ice40-hx8k)")
    ap.add_argument("--out", default=None, help="output folder (default build/synth/TARGET)")
    ap.add_argument("--freq", type=float, default=None, help="clock asked of nextpnr in MHz (default: the target's)")
    ap.add_argument("--fit", action="store_true", help="search what fits the part, then place and route the answer")
    ap.add_argument("--no-place", action="store_true", help="synthesis only (no nextpnr)")
    ap.add_argument("--no-route", action="store_true",
                    help="place but do not route: nextpnr's Fmax estimate after placement (a chip whose "
                         "routing takes hours)")
    ap.add_argument("--no-floorplan", action="store_true",
                    help="leave all placement to nextpnr (default: the target's floorplan fixes each tile's "
                         "block RAMs by mesh position; tools/synth/floorplan.py)")
    _hw_options(ap)
    args = ap.parse_args(argv)
    try:
        target = get_target(args.target)
        out = Path(args.out or f"build/synth/{target.name}")
        given = {name: getattr(args, name) for name in spec.LIMITS if getattr(args, name, None) is not None}
        params = spec.HwParams.from_dict({**target.default.to_dict(), **given}) if given else target.default
        if args.fit:
            t0 = time.time()
            result = fit.search(target, out / "fit", params.fifo_depth)
            result["seconds"] = round(time.time() - t0)
            fit.write(result, out)
            confirm = None
            if result["headline"] and not args.no_place:
                head = spec.HwParams(**result["headline"]["params"])
                confirm = build(target, head, out / "headline", route=not args.no_route, freq=args.freq,
                                floorplan=not args.no_floorplan)
                result["confirm"] = {k: confirm[k] for k in ("params", "yosys", "pnr")}
                fit.write(result, out)
            (out / "fit.md").write_text(fit_md(target, result, confirm))
            print((out / "fit.md").read_text())
        else:
            report = build(target, params, out, place=not args.no_place, route=not args.no_route, freq=args.freq,
                           floorplan=not args.no_floorplan)
            print((out / "report.md").read_text())
            del report
    except spec.NeuroMeshError as e:
        print(f"synth: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
