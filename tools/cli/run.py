"""`neuromesh run NET --stimulus STIM -o RESULT [--plot DIR]`: one engine, the standard host, the
result JSON and its plots (written together, or not at all: `neuromesh.outputs`)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from neuromesh.engines import run_network
from neuromesh.host import HostBehaviour
from neuromesh.outputs import Outputs
from neuromesh.result import summary
from neuromesh.spec import NeuroMeshError


class Progress:
    """A one-line progress report on stderr for long runs: ticks done, rate, time left (silent
    when quiet; on a terminal redrawn in place at most ~4 times a second, else a line every 10%)."""

    def __init__(self, total: int, label: str, quiet: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.total, self.label = total, label
        self.tty = self.stream.isatty()
        self.enabled = not quiet and total >= 20
        self.t0 = time.perf_counter()
        self.last = 0.0

    def line(self, done: int, now: float) -> str:
        elapsed = now - self.t0
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (self.total - done) / rate if rate > 0 else 0.0
        return (f"{self.label}: tick {done}/{self.total}, {rate:.1f} ticks/s, "
                f"{_duration(elapsed)} elapsed, {_duration(left)} left")

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        last = done == self.total
        if self.tty:
            if last or now - self.last >= 0.25:
                self.last = now
                print(f"\r{self.line(done, now)}  ", end="\n" if last else "", file=self.stream, flush=True)
        elif last or done * 10 // self.total != (done - 1) * 10 // self.total:
            print(self.line(done, now), file=self.stream, flush=True)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


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
    result = run_network(args.network, args.stimulus, engine=args.engine, host=host,
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
