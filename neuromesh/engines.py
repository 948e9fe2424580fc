"""The engines behind `neuromesh run`, one interface:
`run(params, writes, tick_inputs, host, progress=..., **options) -> neuromesh.result.EngineRun`.

- `golden`: the cycle-accurate golden model (`neuromesh.sim.engine.run`);
- `rtl`: the Amaranth RTL under Verilator (`neuromesh.tools.cosim.engine.run`);
- `functional`: tick-exact, no cycles (`neuromesh.sim.functional.run`, docs/scale.md).
- `board`: the chip on an FPGA board through the UART host bridge
  (`neuromesh.tools.board.engine.run`; options `port`, `baud`; docs/board.md).

`run_network` is the whole flow from files to a result dict: validate, compile, run, report.
"""
from __future__ import annotations

import importlib

from .host import HostBehaviour
from .result import build_result, tick_inputs
from .spec import NeuroMeshError

ENGINES = {
    "golden": "neuromesh.sim.engine",
    "rtl": "neuromesh.tools.cosim.engine",
    "functional": "neuromesh.sim.functional",
    "board": "neuromesh.tools.board.engine",
}


def engine_run(name: str):
    """The `run` function of engine `name`."""
    if name not in ENGINES:
        raise NeuroMeshError(f"--engine: unknown engine {name!r} (known: {', '.join(ENGINES)})")
    return importlib.import_module(ENGINES[name]).run


def run_network(net_path, stim_path, *, engine="golden", host=None, profile="loihi",
                progress=None, clocks=None, **engine_opts) -> dict:
    """Validate and compile the network, run the stimulus on one engine, return the result.
    `net_path` may also be an already validated `firmware.netfile.Network` (a converted NIR file),
    and `stim_path` a `firmware.netfile.Stimulus`. `clocks` (a `spec.Clocks`, or a function of
    the network's `HwParams` that returns one or None) overrides the network's own (its
    `hardware` block's)."""
    from .energy import load_profile
    from .firmware.compiler import compile_network
    from .firmware.netfile import Network, Stimulus, load_network, load_stimulus

    load_profile(profile)  # refuse a bad profile before any work
    run_engine = engine_run(engine)
    net = net_path if isinstance(net_path, Network) else load_network(net_path)
    given = isinstance(stim_path, Stimulus)
    stim = stim_path if given else load_stimulus(stim_path, net)
    if callable(clocks):
        clocks = clocks(net.params)
    clocks = (clocks if clocks is not None else net.clocks).check(net.params)
    compiled = compile_network(net)
    inputs = tick_inputs(stim.spikes, compiled.map["inputs"], stim.ticks)
    host = host or HostBehaviour()
    observed = run_engine(compiled.params, compiled.writes, inputs, host, clocks=clocks, progress=progress,
                          **engine_opts)
    from .workload import static_figures
    return build_result(observed, engine=engine, params=compiled.params, chip_map=compiled.map,
                        populations=net.populations, stimulus=stim.spikes, ticks=stim.ticks,
                        profile=profile, clocks=clocks,
                        sources={"network": str(net.path), "stimulus": "<stimulus>" if given else str(stim_path),
                                 "host": host.describe()},
                        network_figures=static_figures(net, compiled.writes))
