"""The `neuromesh` command: compile, run, verilog, import, export.

Every error meant for a user (`spec.NeuroMeshError`, a missing or unreadable file) ends the
command with one line on stderr naming the file, the field and the reason, exit status 2, and no
traceback.
"""
from __future__ import annotations

import argparse
import sys

from neuromesh import spec
from neuromesh.tools.cli.importer import add_nir_options


def _hw_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("hardware (defaults from SPEC section 1)")
    for name, flag in (("width", "--width"), ("height", "--height"), ("neurons_per_core", "--neurons"),
                       ("axons_per_core", "--axons"), ("synapses_per_core", "--synapses"),
                       ("routes_per_core", "--routes"), ("fifo_depth", "--fifo-depth")):
        lo, hi, default = spec.LIMITS[name]
        g.add_argument(flag, dest=name, type=int, default=None, metavar="N",
                       help=f"{name} ({lo}..{hi}, default {default})")


def _host_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("host behaviour (docs/architecture.md section 7)")
    g.add_argument("--seed", type=int, default=0, help="seed of the host's gaps and back-pressure")
    g.add_argument("--out-ready", type=float, default=1.0, metavar="P",
                   help="probability that spike_out.ready is high in a cycle (default 1: always)")
    g.add_argument("--max-gap", type=int, default=0, metavar="N",
                   help="random idle cycles (0..N) before each input flit (default 0: back to back)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="neuromesh", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="compile a network into a configuration image and its map")
    c.add_argument("network", metavar="NET")
    c.add_argument("-o", "--output", required=True, metavar="IMAGE")
    c.add_argument("--map", default=None, metavar="FILE", help="map file (default IMAGE.map.json)")
    add_nir_options(c, for_nir_only=True)

    r = sub.add_parser("run", help="run a network on a stimulus and write the result JSON")
    r.add_argument("network", metavar="NET")
    r.add_argument("--stimulus", required=True, metavar="STIM")
    r.add_argument("-o", "--output", required=True, metavar="RESULT")
    r.add_argument("--engine", choices=("golden", "rtl"), default="golden")
    r.add_argument("--energy", default="loihi", metavar="PROFILE",
                   help="energy profile: loihi, truenorth or a JSON file (default loihi)")
    r.add_argument("--plot", default=None, metavar="DIR", help="write PNG plots into DIR")
    r.add_argument("--waves", default=None, metavar="FILE", help="(rtl) write an FST trace")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    _host_options(r)
    add_nir_options(r, for_nir_only=True)

    v = sub.add_parser("verilog", help="write the chip's Verilog")
    v.add_argument("-o", "--output", required=True, metavar="FILE")
    v.add_argument("--image", default=None, metavar="IMAGE",
                   help="initialise the memories from this image (an FPGA boots with the network loaded)")
    _hw_options(v)

    i = sub.add_parser("import", help="import a NIR graph: network file and quantisation report")
    i.add_argument("model", metavar="MODEL.nir")
    i.add_argument("-o", "--output", required=True, metavar="NET.json")
    i.add_argument("--stimulus", default=None, metavar="STIM",
                   help="stimulus for the report's comparison (default: random Poisson input)")
    i.add_argument("--ticks", type=int, default=None, metavar="T", help="steps of the random stimulus (default 100)")
    i.add_argument("--rate", type=float, default=None, metavar="R",
                   help="spikes per step per input neuron of the random stimulus (default 0.1)")
    i.add_argument("--seed", type=int, default=0, help="seed of the random stimulus")
    i.add_argument("--engine", default=None, help="engine of the report's chip run (default functional, else golden)")
    i.add_argument("-q", "--quiet", action="store_true", help="no summary")
    add_nir_options(i)

    e = sub.add_parser("export", help="export a network file as a NIR graph")
    e.add_argument("network", metavar="NET")
    e.add_argument("-o", "--output", required=True, metavar="MODEL.nir")
    e.add_argument("--dt", type=float, default=None, metavar="SECONDS",
                   help="the step the time constants are written for (default 1e-4 s)")
    return p


def _dispatch(args) -> int:
    if args.command == "compile":
        from neuromesh.tools.cli.compile import compile_command
        return compile_command(args)
    if args.command == "run":
        from neuromesh.tools.cli.run import run_command
        return run_command(args)
    if args.command == "import":
        from neuromesh.tools.cli.importer import import_command
        return import_command(args)
    if args.command == "export":
        from neuromesh.tools.cli.exporter import export_command
        return export_command(args)
    if args.command == "verilog":
        from neuromesh.tools.cli.verilog import verilog_command
        return verilog_command(args)
    raise AssertionError(args.command)


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        return _dispatch(args) or 0
    except spec.NeuroMeshError as e:
        print(f"neuromesh {args.command}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        name = e.filename or ""
        print(f"neuromesh {args.command}: {name}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neuromesh {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
