"""`neuromesh run`: validate, compile, drive one engine with the standard host, report.

Engines share one interface: `run(params, writes, tick_inputs, host, progress=...) -> EngineRun`
(`neuromesh.sim.engine.run` for the golden model, `neuromesh.tools.rtl_engine.run` for the RTL).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from neuromesh.host import HostBehaviour
from neuromesh.result import build_result, summary, tick_inputs
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


def run_network(net_path, stim_path, *, engine="golden", host=None, profile="loihi",
                progress=None, **engine_opts) -> dict:
    """Validate and compile the network, run the stimulus on one engine, return the result."""
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import load_network, load_stimulus
    from neuromesh.energy import load_profile

    load_profile(profile)  # refuse a bad profile before any work
    net = load_network(net_path)
    stim = load_stimulus(stim_path, net)
    compiled = compile_network(net)
    inputs = tick_inputs(stim.spikes, compiled.map["inputs"], stim.ticks)
    host = host or HostBehaviour()
    if engine == "golden":
        from neuromesh.sim.engine import run as run_engine
    elif engine == "rtl":
        from neuromesh.tools.rtl_engine import run as run_engine
    else:
        raise NeuroMeshError(f"--engine: unknown engine {engine!r} (golden, rtl)")
    observed = run_engine(compiled.params, compiled.writes, inputs, host, progress=progress, **engine_opts)
    return build_result(observed, engine=engine, params=compiled.params, chip_map=compiled.map,
                        populations=net.populations, stimulus=stim.spikes, ticks=stim.ticks,
                        profile=profile, sources={"network": str(net_path), "stimulus": str(stim_path),
                                                  "host": host.describe()})


def run_command(args) -> int:
    from neuromesh.firmware.netfile import load_stimulus_ticks
    host = host_from_args(args)
    progress = Progress(load_stimulus_ticks(args.stimulus), f"{args.engine}", args.quiet)
    opts = {"waves": args.waves} if args.engine == "rtl" and args.waves else {}
    result = run_network(args.network, args.stimulus, engine=args.engine, host=host,
                         profile=args.energy, progress=progress, **opts)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    if args.plot:
        from neuromesh.tools.plots import write_plots
        written = write_plots(result, Path(args.plot))
    if not args.quiet:
        print(summary(result))
        print(f"result written to {out}")
        if args.plot:
            print(f"plots written to {args.plot}: {', '.join(p.name for p in written)}")
    return 0
