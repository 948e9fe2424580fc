"""`neuromesh run NET --stimulus STIM -o RESULT [--plot DIR]`: one engine, the standard host, the
result JSON and its plots (written together, or not at all: `neuromesh.outputs`). NET may be a
`.nir` file (converted as `neuromesh import` does, with the same options)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from neuromesh.engines import run_network
from neuromesh.host import HostBehaviour
from neuromesh.outputs import Outputs
from neuromesh.result import summary
from neuromesh.spec import NeuroMeshError


class Progress:
    """A one-line progress report on stderr for long runs (silent when not a terminal or quiet)."""

    def __init__(self, total: int, label: str, quiet: bool = False):
        self.total, self.label = total, label
        self.enabled = not quiet and sys.stderr.isatty() and total >= 20
        self.step = max(1, total // 100)

    def __call__(self, done: int) -> None:
        if self.enabled and (done % self.step == 0 or done == self.total):
            print(f"\r{self.label}: tick {done}/{self.total}", end="", file=sys.stderr, flush=True)
            if done == self.total:
                print(file=sys.stderr)


def host_from_args(args) -> HostBehaviour:
    if not 0.0 < args.out_ready <= 1.0:
        raise NeuroMeshError(f"--out-ready: must be a probability in (0, 1] (got {args.out_ready!r})")
    if args.max_gap < 0:
        raise NeuroMeshError(f"--max-gap: must be 0 or more idle cycles (got {args.max_gap!r})")
    return HostBehaviour(seed=args.seed, out_ready_prob=args.out_ready, max_gap=args.max_gap)


def run_command(args) -> int:
    from neuromesh.firmware.netfile import load_stimulus_ticks
    host = host_from_args(args)
    out = Path(args.output)
    progress = Progress(load_stimulus_ticks(args.stimulus), f"{args.engine}", args.quiet)
    opts = {"waves": args.waves} if args.engine == "rtl" and args.waves else {}
    from neuromesh.tools.cli.importer import load_any_network
    net = load_any_network(args)   # a .nir file is converted in memory (tools/nir)
    result = run_network(net, args.stimulus, engine=args.engine, host=host,
                         profile=args.energy, progress=progress, **opts)
    written = []
    with Outputs() as outputs:
        outputs.write_text(out, json.dumps(result, indent=1) + "\n")
        if args.plot:
            from neuromesh.tools.plots import write_plots
            written = write_plots(result, outputs.folder(args.plot))
    if not args.quiet:
        print(summary(result))
        print(f"result written to {out}")
        if args.plot:
            print(f"plots written to {args.plot}: {', '.join(p.name for p in written)}")
    return 0
