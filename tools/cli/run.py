"""`neuromesh run NET --stimulus STIM -o RESULT [--plot DIR] [--waves FILE]`: one engine, the
standard host, the result JSON, its plots and the trace (written together, or not at all:
`neuromesh.outputs`). NET may be a `.nir` file (converted as `neuromesh import` does, with the
same options)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from neuromesh.engines import run_network
from neuromesh.host import HostBehaviour
from neuromesh.outputs import Outputs, check_targets
from neuromesh.result import summary
from neuromesh.spec import NeuroMeshError
from neuromesh.tools.cli.clocks import clocks_from_args
from neuromesh.text import printable
from neuromesh.tools.cli import MAX_CYCLES_PER_TICK, MIN_OUT_READ


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
    if args.out_ready < MIN_OUT_READ:
        # Each host-bound flit waits 1/P cycles on average, so a run's length grows as 1/P: at
        # 1e-300 one flit would wait longer than any run can last.
        raise NeuroMeshError(f"--out-ready: must be at least {MIN_OUT_READ} (a host that takes a flit in "
                             f"fewer than 1 cycle in {round(1 / MIN_OUT_READ)} stalls the run; got {args.out_ready!r})")
    if args.max_gap < 0:
        raise NeuroMeshError(f"--max-gap: must be 0 or more idle cycles (got {args.max_gap!r})")
    return HostBehaviour(seed=args.seed, out_ready_prob=args.out_ready, max_gap=args.max_gap)


def max_cycles_from_args(args, ticks: int) -> int:
    """`--max-cycles N`, or MAX_CYCLES_PER_TICK per tick of the stimulus."""
    if args.max_cycles is None:
        return MAX_CYCLES_PER_TICK * ticks
    if args.max_cycles < 1:
        raise NeuroMeshError(f"--max-cycles: must be a positive number of cycles (got {args.max_cycles!r})")
    return args.max_cycles


def run_command(args) -> int:
    from neuromesh.firmware.netfile import load_stimulus_ticks
    host = host_from_args(args)
    if args.max_cycles is not None:
        max_cycles_from_args(args, 1)  # refuse a bad value before reading any file
    if args.waves and args.engine != "rtl":
        raise NeuroMeshError(f"--waves: only the rtl engine writes a trace (--engine {args.engine})")
    out = Path(args.output)
    # before the run, not after it
    check_targets([out] + ([args.waves] if args.waves else []), [args.plot] if args.plot else [])
    ticks = load_stimulus_ticks(args.stimulus)
    progress = Progress(ticks, f"{args.engine}", args.quiet)
    opts = {"max_cycles": max_cycles_from_args(args, ticks)}
    clocks = lambda params: clocks_from_args(args, params)  # noqa: E731 - needs the network's mesh
    board = {name: value for name, value in (("port", args.port), ("baud", args.baud)) if value is not None}
    if board and args.engine != "board":
        raise NeuroMeshError(f"--{next(iter(board))}: only --engine board talks to a serial port")
    if args.engine == "board":
        opts.update(board)
    from neuromesh.tools.cli.importer import load_any_network
    net = load_any_network(args)   # a .nir file is converted in memory (tools/nir)
    written = []
    # Result, plots and trace belong together: all written, or none (the trace is copied by the
    # engine into its temporary file, renamed with the others).
    with Outputs() as outputs:
        if args.waves:
            opts["waves"] = outputs.path(args.waves)
        result = run_network(net, args.stimulus, engine=args.engine, host=host,
                             profile=args.energy, progress=progress, clocks=clocks, **opts)
        outputs.write_text(out, json.dumps(result, indent=1, allow_nan=False) + "\n")  # strict JSON, always
        if args.plot:
            from neuromesh.tools.plots import write_plots
            try:
                written = write_plots(result, outputs.folder(args.plot))
            except OSError as e:  # matplotlib's errors do not name the file
                raise NeuroMeshError(f"{args.plot}: cannot write the plots: {e.strerror or e}") from None
    if not args.quiet:
        print(summary(result))
        print(f"result written to {printable(out)}")
        if args.plot:
            print(f"plots written to {printable(args.plot)}: {', '.join(printable(p.name) for p in written)}")
        if args.waves:
            print(f"trace written to {printable(args.waves)}")
    return 0
