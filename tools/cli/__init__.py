"""The `neuromesh` command: compile, run, sweep, verilog, import, export.

Every error meant for a user (`spec.NeuroMeshError`, a missing or unreadable file, a bad
command line) ends the command with one line on stderr naming the file, the field and the
reason, exit status 2, and no traceback; whatever a file or population name holds is escaped
(`neuromesh.text.printable`), so the message stays one line.
"""
from __future__ import annotations

import argparse
import sys

from neuromesh import spec
from neuromesh.engines import ENGINES
from neuromesh.tools.cli import clocks as clock_options
from neuromesh.text import printable


class Parser(argparse.ArgumentParser):
    """argparse, except that a bad command line is one line (argparse prints the usage first,
    3-5 lines) naming the command and the reason, exit status 2."""

    def error(self, message):
        self.exit(2, f"{printable(self.prog)}: {printable(message)} (see {printable(self.prog)} --help)\n")


# `neuromesh run` limits (docs/robustness.md says why these values). They live here, not in
# run.py, so that `--help` does not import the engines.
MIN_OUT_READ = 0.01
MAX_CYCLES_PER_TICK = 100_000
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
                   help="probability that spike_out.ready is high in a cycle, at least "
                        f"{MIN_OUT_READ} (default 1: always)")
    g.add_argument("--max-gap", type=int, default=0, metavar="N",
                   help="random idle cycles (0..N) before each input flit (default 0: back to back)")


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="neuromesh", description=__doc__.splitlines()[0])
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
    r.add_argument("--engine", choices=tuple(ENGINES), default="golden",
                   help="golden (cycle-accurate), rtl (Verilator), functional (tick-exact, no cycles) or board (an FPGA board)")
    r.add_argument("--energy", default="loihi", metavar="PROFILE",
                   help="energy profile: loihi, sanafe_loihi, truenorth (neuromesh.energy.BUILTIN) or a "
                        "JSON file, docs/energy.md (default loihi)")
    r.add_argument("--plot", default=None, metavar="DIR", help="write PNG plots into DIR")
    r.add_argument("--waves", default=None, metavar="FILE", help="(rtl) write an FST trace")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    r.add_argument("--max-cycles", type=int, default=None, metavar="N",
                   help="give up (exit 2, naming the tick) past clock cycle N; default "
                        f"{MAX_CYCLES_PER_TICK:,} per tick of the stimulus (docs/robustness.md)")
    _host_options(r)
    clock_options.add_options(r)
    b = r.add_argument_group("board (--engine board, docs/board.md)")
    b.add_argument("--port", default=None, metavar="TTY", help="the board's serial port, e.g. /dev/ttyUSB0")
    b.add_argument("--baud", type=int, default=None, metavar="N",
                   help="line rate the bitstream was built for (default 115200)")

    add_nir_options(r, for_nir_only=True)

    s = sub.add_parser("sweep", help="run a design-space sweep on Dask (docs/scale.md)")
    s.add_argument("sweep", metavar="SWEEP.json")
    s.add_argument("-o", "--output", required=True, metavar="RESULTS_DIR")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://host:8786); default: a local cluster")
    s.add_argument("--workers", type=int, default=2, metavar="N", help="local cluster worker processes (default 2)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")

    v = sub.add_parser("verilog", help="write the chip's Verilog")
    v.add_argument("-o", "--output", required=True, metavar="FILE")
    v.add_argument("--image", default=None, metavar="IMAGE",
                   help="initialise the memories from this image (an FPGA boots with the network loaded)")
    _hw_options(v)
    clock_options.add_options(v)

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
    if args.command == "sweep":
        from neuromesh.tools.cli.sweep import sweep_command
        return sweep_command(args)
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
    command = f"neuromesh {args.command}"
    try:
        return _dispatch(args) or 0
    except spec.NeuroMeshError as e:
        _say(f"{command}: {e}")
        return 2
    except OSError as e:
        if isinstance(e, BrokenPipeError):  # `neuromesh run ... | head`: the reader left early
            _quiet_stdout()                  # (the outputs are written by then); nothing to say
            return 1
        where = f"{e.filename}: " if e.filename else ""
        _say(f"{command}: {where}{e.strerror or e}")
        return 2
    except MemoryError:
        _say(f"{command}: out of memory (a network, stimulus or run too large for this machine)")
        return 2
    except KeyboardInterrupt:
        _say(f"{command}: interrupted")
        return 130


def _say(message: str) -> None:
    print(printable(message), file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not raise again."""
    import os
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
