"""Handwritten digits, part 2: the converted network as a neuromesh-network/2 file, one image as a
stimulus file, the events the chip must count (predicted from the functional model), and runs on
the golden model or the RTL through the same path as `neuromesh run`.

One population per layer (`hidden`, `output`): the bias and threshold of a converted neuron are
its own, which network format 2's per-neuron parameter lists carry (SPEC section 7); the
compiler gives each input pixel one axon on the hidden core (SPEC section 4: one axon per source
neuron, target core and weight_exp).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuromesh import spec

from .model import Snn

INPUT = "pixels"
HIDDEN = "hidden"
OUTPUT = "output"

# Explicit placements: the host sits west of tile (0, 0). "2x1" is the smallest mesh on which
# every flit of the inference crosses a link (pixels -> hidden: east, hidden -> output: west);
# "2x2" adds two idle tiles and sends the output spikes around a corner.
LAYOUTS = {
    "2x1": {"width": 2, "height": 1, "hidden": (1, 0), "output": (0, 0)},
    "2x2": {"width": 2, "height": 2, "hidden": (1, 0), "output": (1, 1)},
}


def hardware(snn: Snn, layout: str) -> dict:
    lay = LAYOUTS[layout]
    n_hidden = snn.hidden.size
    return {
        "width": lay["width"], "height": lay["height"],
        "neurons_per_core": max(n_hidden, snn.output.size),
        "axons_per_core": max(snn.hidden.weights.shape[0], n_hidden),
        "synapses_per_core": int(max(np.count_nonzero(snn.hidden.weights), np.count_nonzero(snn.output.weights))),
        # room for the probe network's second route entry per hidden neuron (same chip for both)
        "routes_per_core": 2 * max(n_hidden, snn.output.size),
        "fifo_depth": spec.LIMITS["fifo_depth"][2],
    }


def network_json(snn: Snn, layout: str = "2x1", record_hidden: bool = False) -> dict:
    """The converted network. `record_hidden` adds a host-bound flit to every hidden spike (a
    probe: it changes traffic and energy, so the report's numbers come from runs without it)."""
    lay = LAYOUTS[layout]
    n_in, n_hidden = snn.hidden.weights.shape

    def params(layer):   # one integer when every neuron shares it, else a per-neuron list
        out = {}
        for key in spec.NEURON_PARAMS:
            values = [int(v) for v in getattr(layer, key)]
            out[key] = values[0] if len(set(values)) == 1 else values
        return out

    def synapses(weights):   # a zero weight is no synapse (SPEC section 7)
        return [[int(i), int(j), int(weights[i, j])] for i, j in np.argwhere(weights)]

    pops = [{"name": INPUT, "kind": "input", "size": n_in},
            {"name": HIDDEN, "kind": "lif", "size": n_hidden, **params(snn.hidden), "record": record_hidden,
             "placement": list(lay["hidden"])},
            {"name": OUTPUT, "kind": "lif", "size": snn.output.size, **params(snn.output), "record": True,
             "placement": list(lay["output"])}]
    projections = [{"pre": INPUT, "post": HIDDEN, "weight_exp": snn.hidden.weight_exp,
                    "synapses": synapses(snn.hidden.weights)},
                   {"pre": HIDDEN, "post": OUTPUT, "weight_exp": snn.output.weight_exp,
                    "synapses": synapses(snn.output.weights)}]
    return {
        "format": "neuromesh-network/2",
        "description": (f"Handwritten digits (sklearn load_digits), {n_in}-{n_hidden}-{snn.output.size} ReLU "
                        f"network converted to integrate-and-fire neurons (du 4095, dv 0, reset by subtraction); "
                        f"hidden on tile {lay['hidden']}, output on tile {lay['output']}. "
                        f"Written by neuromesh.tools.workloads.digits."),
        "hardware": hardware(snn, layout),
        "populations": pops,
        "projections": projections,
    }


def stimulus_json(in_spikes: np.ndarray, ticks: int) -> dict:
    """One image's input spikes (T x 64 booleans) over `ticks` ticks, sorted by tick then pixel."""
    t_idx, i_idx = np.nonzero(in_spikes)
    events = [[int(t) + 1, int(i)] for t, i in zip(t_idx, i_idx)]
    return {"ticks": int(ticks), "spikes": {INPUT: events}}


def write_json(path: Path, obj: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")
    return path


# ----------------------------------------------------------------------------------------------
# Events the chip must count, predicted from the functional model (an independent check of the
# engines' counters: these come from SPEC sections 2-5 and the placement, not from an engine).


def _hops(a, b) -> tuple[int, int]:
    return abs(a[0] - b[0]), abs(a[1] - b[1])


def predicted_counts(snn: Snn, layout: str, in_spikes: np.ndarray, hidden: np.ndarray,
                     output: np.ndarray) -> dict:
    """Per-image event counts (arrays over images) except `static`, which needs the cycles.
    in_spikes (n, T, 64), hidden (n, ticks, H), output (n, ticks, 10) booleans."""
    lay = LAYOUTS[layout]
    hw = hardware(snn, layout)
    ticks = hidden.shape[1]
    fan_in = np.count_nonzero(snn.hidden.weights, axis=1)      # synapses per pixel axon
    fan_hid = np.count_nonzero(snn.output.weights, axis=1)     # synapses per hidden axon
    n_in = in_spikes.sum(axis=1) @ (fan_in > 0)                # input spikes that make a flit
    h_counts = hidden.sum(axis=1)
    n_hid = h_counts.sum(axis=1)
    n_hid_flits = h_counts @ (fan_hid > 0)                     # hidden spikes with a route
    n_out = output.sum(axis=(1, 2))
    sops = in_spikes.sum(axis=1) @ fan_in + h_counts @ fan_hid
    host_to_hidden = _hops((0, 0), lay["hidden"])
    hidden_to_output = _hops(lay["hidden"], lay["output"])
    output_to_host = _hops(lay["output"], (0, 0))
    ew = n_in * host_to_hidden[0] + n_hid_flits * hidden_to_output[0] + n_out * output_to_host[0]
    ns = n_in * host_to_hidden[1] + n_hid_flits * hidden_to_output[1] + n_out * output_to_host[1]
    updates = (snn.hidden.size + snn.output.size) * ticks   # SPEC 3: only the neurons a core holds
    spikes = n_hid + n_out
    return {"sop": sops, "update_idle": updates - spikes, "update_active": spikes,
            "spike": n_hid_flits + n_out, "hop_ew": ew, "hop_ns": ns, "host_flits": n_in}


# ----------------------------------------------------------------------------------------------
# Running one image on an engine


@dataclass
class Prepared:
    """A compiled network, reused for every image (what `run_network` does per call)."""
    net: object
    compiled: object
    net_path: Path


def prepare(net_path: Path) -> Prepared:
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import load_network
    net = load_network(net_path)
    return Prepared(net, compile_network(net), Path(net_path))


def run_image(prep: Prepared, stim: dict, engine: str = "golden", profile: str = "loihi",
              stim_path: str = "<digits stimulus>") -> dict:
    """The same steps as `neuromesh.engines.run_network`, with the compile done once."""
    return run_images(prep, [stim], engine, profile, [stim_path])[0]


def run_images(prep: Prepared, stims: list, engine: str = "golden", profile: str = "loihi",
               names: list | None = None) -> list:
    """Results of several stimuli, each on a freshly loaded chip. The RTL runs them all in one
    simulator process (`rtl_engine.run_jobs`: one Verilator build, one process start)."""
    from neuromesh.firmware.netfile import parse_stimulus
    from neuromesh.host import HostBehaviour
    from neuromesh.result import build_result, tick_inputs
    names = names or [f"<digits stimulus {k}>" for k in range(len(stims))]
    host = HostBehaviour()
    parsed = [parse_stimulus(st, prep.net, name) for st, name in zip(stims, names)]
    inputs = [tick_inputs(s.spikes, prep.compiled.map["inputs"], s.ticks) for s in parsed]
    params, writes = prep.compiled.params, prep.compiled.writes
    if engine == "golden":
        from neuromesh.sim.engine import run as run_golden
        observed = [run_golden(params, writes, inp, host) for inp in inputs]
    elif engine == "rtl":
        from neuromesh.tools.cosim import engine as rtl_engine
        jobs = [rtl_engine.Job(f"digits{k}", list(writes), [list(t) for t in inp], host)
                for k, inp in enumerate(inputs)]
        raw = rtl_engine.run_jobs(params, jobs)
        for r in raw:
            if "error" in r:
                raise spec.NeuroMeshError(f"rtl engine: {r['name']}: {r['error']}")
        observed = [rtl_engine.to_engine_run(r) for r in raw]
    else:
        raise spec.NeuroMeshError(f"digits: unknown engine {engine!r} (golden, rtl)")
    from neuromesh.workload import static_figures
    figures = static_figures(prep.net, writes)
    return [build_result(obs, engine=engine, params=params, chip_map=prep.compiled.map,
                         populations=prep.net.populations, stimulus=s.spikes, ticks=s.ticks, profile=profile,
                         sources={"network": str(prep.net_path), "stimulus": name, "host": host.describe()},
                         clocks=prep.net.clocks, network_figures=figures)
            for obs, s, name in zip(observed, parsed, names)]


def first_difference(a, b, where: str = "") -> str | None:
    """Where two JSON-like values first differ, as `path: a != b` (None when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{where}.{k}: present in only one"
            d = first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None if len(a) == len(b) else f"{where}: length {len(a)} != {len(b)}"
    return None if a == b else f"{where}: {a!r} != {b!r}"


def output_raster(result: dict, n_out: int, ticks: int) -> np.ndarray:
    """(ticks, 10) booleans of the output spikes in a result."""
    return _raster(result, OUTPUT, n_out, ticks)


def hidden_raster(result: dict, n_hidden: int, ticks: int) -> np.ndarray:
    return _raster(result, HIDDEN, n_hidden, ticks)


def _raster(result: dict, population: str, size: int, ticks: int) -> np.ndarray:
    out = np.zeros((ticks, size), bool)
    for t, i in result["spikes"].get(population, []):
        out[t - 1, i] = True
    return out
