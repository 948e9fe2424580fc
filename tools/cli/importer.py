"""`neuromesh import MODEL.nir -o NET.json [options]` (tools/nir does the work), and the NIR
options that `neuromesh compile` and `neuromesh run` share for a `.nir` network.

Every import option has default None on the parser, so a command can tell whether it was given
(a NIR option beside a JSON network is refused, not ignored).
"""
from __future__ import annotations

import argparse
import sys

from neuromesh import spec

HW_FLAGS = (("width", "--width"), ("height", "--height"), ("neurons_per_core", "--neurons"),
            ("axons_per_core", "--axons"), ("synapses_per_core", "--synapses"), ("routes_per_core", "--routes"),
            ("fifo_depth", "--fifo-depth"))
NIR_DESTS = ("dt", "reset", "refractory", "li_as_lif", "li_threshold", "if_per_step", "clip_percentile",
             "fine_weights", "record",
             *(d for d, _f in HW_FLAGS))


def add_nir_options(p: argparse.ArgumentParser, *, for_nir_only: bool = False) -> None:
    g = p.add_argument_group("NIR import (docs/nir.md)" + (": only for a .nir NET" if for_nir_only else ""))
    g.add_argument("--dt", type=float, default=None, metavar="SECONDS",
                   help="forward-Euler step (default: the file's neuromesh_dt, else 1e-4 s, snnTorch's)")
    g.add_argument("--reset", action="append", default=None, metavar="[LAYER=]zero|subtract",
                   help="zero (NIR's v_reset = 0, default) or subtract the threshold (snnTorch's default); "
                        "LAYER= for one layer only (repeatable)")
    g.add_argument("--refractory", action="append", default=None, metavar="[LAYER=]TICKS",
                   help="ticks a neuron holds v = 0 after a spike (default 0; 1 reproduces snnTorch's "
                        "Synaptic and RLeaky with reset_mechanism='zero'); LAYER= for one layer only (repeatable)")
    g.add_argument("--li-as-lif", action="store_const", const=True, default=None,
                   help="import LI / CubaLI readouts as spiking layers (threshold --li-threshold)")
    g.add_argument("--li-threshold", type=float, default=None, metavar="V",
                   help="threshold of an LI readout imported with --li-as-lif (default 1.0)")
    g.add_argument("--if-per-step", action="store_const", const=True, default=None,
                   help="IF integrates r * I per step (as snnTorch's NIR importer reads it) instead of NIR's dt * r * I")
    g.add_argument("--clip-percentile", type=float, default=None, metavar="P",
                   help="map this percentile of a layer's |weights| to 127 and clip above it (default 100: no clipping)")
    g.add_argument("--fine-weights", action="store_const", const=True, default=None,
                   help="a second synapse per weight at a smaller weight_exp carries the rounding residual: up to "
                        "7 more bits of weight precision for twice the synapse entries and SOPs")
    g.add_argument("--record", choices=("outputs", "all"), default=None,
                   help="record the layers that feed Output nodes (default) or every layer")
    fitted = {"width": "the smallest mesh that holds the network", "height": "the smallest mesh that holds the network",
              "axons_per_core": "what the fullest core needs", "synapses_per_core": "what the fullest core needs",
              "routes_per_core": "what the fullest core needs"}
    for dest, flag in HW_FLAGS:
        lo, hi, default = spec.LIMITS[dest]
        g.add_argument(flag, dest=dest, type=int, default=None, metavar="N",
                       help=f"{dest} ({lo}..{hi}; default: {fitted.get(dest, default)})")


def given_nir_options(args) -> list:
    return [d for d in NIR_DESTS if getattr(args, d, None) is not None]


def nir_options(args):
    from neuromesh.tools.nir.quantise import Options
    o = Options()
    for dest in ("dt", "li_threshold", "clip_percentile", "record"):
        if getattr(args, dest, None) is not None:
            setattr(o, dest, getattr(args, dest))
    o.reset = _per_layer("--reset", getattr(args, "reset", None), str)
    o.refractory = _per_layer("--refractory", getattr(args, "refractory", None), int)
    o.li_as_lif = bool(getattr(args, "li_as_lif", None))
    o.if_per_step = bool(getattr(args, "if_per_step", None))
    o.fine_weights = bool(getattr(args, "fine_weights", None))
    o.hardware = {d: getattr(args, d) for d, _f in HW_FLAGS if getattr(args, d, None) is not None}
    return o


def _per_layer(flag: str, values, kind) -> dict:
    """["subtract", "1.lif=zero"] -> {"*": "subtract", "1.lif": "zero"}."""
    table = {}
    for text in values or []:
        layer, sep, value = text.rpartition("=")
        layer = layer if sep else "*"
        try:
            table[layer] = kind(value)
        except ValueError:
            raise spec.NeuroMeshError(f"{flag}: {value!r} is not {'an integer' if kind is int else 'a value'} "
                                      f"(got {text!r})") from None
    return table


def is_nir(path: str) -> bool:
    return str(path).lower().endswith(".nir")


def load_any_network(args):
    """`args.network` as a validated Network: a network JSON file, or a `.nir` file converted in
    memory with the import options."""
    if is_nir(args.network):
        from neuromesh.tools.nir.importer import convert
        conv = convert(args.network, nir_options(args))
        return conv.net
    given = given_nir_options(args)
    if given:
        flag = "--" + given[0].replace("_per_core", "").replace("_", "-")
        flag = dict(HW_FLAGS).get(given[0], flag)
        raise spec.NeuroMeshError(f"{flag}: only for a .nir network ({args.network} is a network JSON file)")
    from neuromesh.firmware.netfile import load_network
    return load_network(args.network)


def import_command(args) -> int:
    from neuromesh.tools.nir.importer import DEFAULT_RATE, DEFAULT_TICKS, import_nir
    from neuromesh.tools.nir.report import GOOD
    progress = None
    if not args.quiet and sys.stderr.isatty():
        from neuromesh.firmware.netfile import load_stimulus_ticks
        from neuromesh.tools.cli.run import Progress
        ticks = load_stimulus_ticks(args.stimulus) if args.stimulus else (args.ticks or DEFAULT_TICKS)
        progress = Progress(ticks, "chip run", False)
    report = import_nir(args.model, args.output, nir_options(args), stimulus=args.stimulus,
                        ticks=args.ticks if args.ticks is not None else DEFAULT_TICKS,
                        rate=args.rate if args.rate is not None else DEFAULT_RATE,
                        seed=args.seed, engine=args.engine, progress=progress)
    if not args.quiet:
        stem = args.output[:-5] if args.output.endswith(".json") else args.output
        hw = report["hardware"]
        print(f"{report['source']}: {len(report['layers'])} spiking layers, dt {report['dt_s']:g} s, "
              f"{hw['width']}x{hw['height']} mesh")
        for layer in report["layers"]:
            a = layer["agreement"]["framework"]
            c = layer["agreement"]["chip_timing"]
            flag = "" if a["matched_fraction"] >= GOOD else "  <- below 95%"
            print(f"  {layer['name']}: {layer['type']} x {layer['size']}, delay {layer['shift']}, spikes reference "
                  f"{a['reference_spikes']} / chip {a['chip_spikes']}, matched {100 * a['matched_fraction']:.1f}% "
                  f"(chip timing {100 * c['matched_fraction']:.1f}%){flag}")
        for note in report["notes"]:
            print(f"  note: {note}")
        print(f"network written to {args.output}; report in {stem}.report.md and {stem}.report.json")
    return 0

