"""`neuromesh import`, end to end: read and lower the NIR graph, quantise it into a network v2
file whose hardware fits it, run a stimulus through the float reference and the chip, and build
the quantisation report.

`convert` is the in-memory part that `neuromesh compile` and `neuromesh run` use for a `.nir`
file; `import_nir` adds the comparison.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass

import numpy as np

from neuromesh import spec

from . import compare, reference
from .graph import Graph, NirError, read_graph
from .lower import lower
from .quantise import Options, Quantised, quantise

DEFAULT_TICKS = 100
DEFAULT_RATE = 0.1       # input spikes per tick per neuron for the report's random stimulus


@dataclass
class Converted:
    graph: Graph
    quantised: Quantised
    network: dict            # the network v2 JSON (synapses inline), with its hardware
    net: object              # firmware.netfile.Network, validated


def convert(path, opts: Options, *, record_all: bool = False) -> Converted:
    """The NIR file as a validated network on hardware that holds it."""
    from neuromesh.firmware.netfile import parse_network
    opts.check()
    g = read_graph(path, li_as_lif=opts.li_as_lif)
    q = quantise(lower(g, opts.li_threshold), opts)
    raw = q.network_json(record_all=record_all)
    raw["hardware"] = {}
    net = parse_network(raw, str(path))
    hw = fit_hardware(net, opts.hardware)
    raw["hardware"] = hw
    net = dataclasses.replace(net, params=spec.HwParams(**hw), raw=raw)
    return Converted(g, q, raw, net)


# ----------------------------------------------------------------------------------------------
# Hardware


def _meshes(n_min: int, width=None, height=None):
    """Meshes in order of tile count, as square as possible, at least `n_min` tiles."""
    side = spec.LIMITS["width"][1]
    seen = set()
    for n in range(max(1, n_min), side * side + 1):
        w = width or (math.ceil(n / height) if height else math.ceil(math.sqrt(n)))
        h = height or math.ceil(n / w)
        if w > side or h > side or (w, h) in seen or w * h < n_min:
            continue
        seen.add((w, h))
        yield w, h


def fit_hardware(net, given: dict) -> dict:
    """The hardware block: the given fields as they are; otherwise the smallest mesh (default
    neurons per core) on which the compiler places the network, with the axon, synapse and route
    tables as large as the fullest core needs."""
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import NetworkError
    given = {k: v for k, v in (given or {}).items() if v is not None}
    limits = spec.LIMITS
    caps = {k: given.get(k, limits[k][1] if k in ("axons_per_core", "synapses_per_core", "routes_per_core")
                         else limits[k][2]) for k in ("neurons_per_core", "axons_per_core", "synapses_per_core",
                                                      "routes_per_core", "fifo_depth")}

    def attempt(hw):
        try:
            params = spec.HwParams(**hw)
        except spec.ConfigError as e:
            raise spec.NeuroMeshError(f"--{e.field.replace('_per_core', '').replace('_', '-')}: {e.reason} "
                                      f"(got {e.value!r})") from None
        return compile_network(dataclasses.replace(net, params=params))

    n_lif = sum(p["size"] for p in net.populations if p["kind"] == "lif")
    last = None
    for w, h in _meshes(math.ceil(n_lif / caps["neurons_per_core"]), given.get("width"), given.get("height")):
        hw = {"width": w, "height": h, **caps}
        try:
            compiled = attempt(hw)
            break
        except NetworkError as e:
            last = e
            # A neuron that alone overfills a core (placement names it as populations[k]) fits no
            # larger mesh either.
            if ("width" in given and "height" in given) or (e.where or "").startswith("populations["):
                raise
    else:
        raise NirError(net.path, None, f"the network fits no chip up to 64 x 64 tiles ({last})")
    for key, usage_key in (("axons_per_core", "axons"), ("synapses_per_core", "synapses"), ("routes_per_core", "routes")):
        if key not in given:
            hw[key] = max(1, max(u[usage_key][0] for u in compiled.map["usage"]))
    attempt(hw)   # the shrunk tables hold the same placement (placement only looks at what it has placed)
    return hw


# ----------------------------------------------------------------------------------------------
# Stimulus and the two runs


def poisson_stimulus(sizes: dict, ticks: int, rate: float, seed: int) -> dict:
    """{"ticks": T, "spikes": {input: [[tick, index], ...]}}: each input neuron spikes in each
    tick with probability `rate`, independently (numpy's default_rng(seed))."""
    rng = np.random.default_rng(seed)
    spikes = {}
    for name, size in sizes.items():
        t, i = np.nonzero(rng.random((ticks, size)) < rate)
        spikes[name] = [[int(a) + 1, int(b)] for a, b in zip(t, i)]
    return {"ticks": int(ticks), "spikes": spikes}


def raster(events, ticks: int, size: int) -> np.ndarray:
    out = np.zeros((ticks, size), bool)
    for t, i in events:
        if 1 <= t <= ticks:
            out[t - 1, i] = True
    return out


def default_engine() -> str:
    from neuromesh.engines import ENGINES
    return "functional" if "functional" in ENGINES else "golden"


def run_chip(net, stim: dict, ticks: int, engine: str, progress=None) -> dict:
    """Run a validated network for `ticks` ticks on the stimulus {"spikes": ...}; the result JSON
    (through `neuromesh.engines.run_network`, as `neuromesh run` does)."""
    from neuromesh.engines import run_network
    from neuromesh.firmware.netfile import parse_stimulus
    stim = parse_stimulus({"ticks": ticks, "spikes": stim["spikes"]}, net, "<report stimulus>")
    return run_network(net, stim, engine=engine, progress=progress)


def probe_network(conv: Converted):
    """The converted network with every layer recorded (host routes change traffic, not spikes)."""
    if conv.quantised.options.record == "all":
        return conv.net
    from neuromesh.firmware.netfile import parse_network
    raw = conv.quantised.network_json(record_all=True)
    raw["hardware"] = {}
    net = parse_network(raw, conv.net.path)
    hw = fit_hardware(net, {k: v for k, v in conv.network["hardware"].items() if k in ("neurons_per_core", "fifo_depth")})
    return dataclasses.replace(net, params=spec.HwParams(**hw))


def compare_runs(conv: Converted, stim: dict, engine: str, progress=None) -> dict:
    """The float reference (framework timing and chip timing) and the chip on one stimulus:
    per layer the agreement, the chip's layer shifted back by its delay for framework timing."""
    q, g = conv.quantised, conv.graph
    steps = stim["ticks"]
    extra = max((l.shift for l in q.net.neurons), default=0)
    sizes = {l.name: l.size for l in q.net.inputs}
    inputs = {name: raster(stim["spikes"].get(name, []), steps + extra, size) for name, size in sizes.items()}
    o = q.options
    common = dict(reset={n: l.params["reset"] for n, l in q.layers.items()},
                  refractory={n: l.params["refractory"] for n, l in q.layers.items()},
                  if_per_step=o.if_per_step, li_threshold=o.li_threshold)
    framework = reference.simulate(g, {k: v[:steps] for k, v in inputs.items()}, steps, q.dt, **common)
    chip_timed = reference.simulate(g, inputs, steps + extra, q.dt, chip_timing=True, **common)
    result = run_chip(probe_network(conv), stim, steps + extra, engine, progress)
    out = {"framework": {"engine": engine, "steps": steps, "chip_ticks": steps + extra, "layers": {}},
           "chip_timing": {"engine": engine, "steps": steps + extra, "chip_ticks": steps + extra, "layers": {}},
           "reference": framework, "reference_chip_timing": chip_timed, "chip_result": result}
    for layer in q.net.neurons:
        chip = raster(result["spikes"].get(layer.name, []), steps + extra, layer.size)
        out["framework"]["layers"][layer.name] = compare.layer_agreement(
            framework[layer.name], chip[layer.shift:layer.shift + steps])
        out["chip_timing"]["layers"][layer.name] = compare.layer_agreement(chip_timed[layer.name], chip)
    return out


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _per_layer_text(table: dict, default: str) -> str:
    if not table:
        return f"{default} (or the file's metadata)"
    return ", ".join(f"{v}" if k == "*" else f"{k}: {v}" for k, v in table.items())


INLINE_SYNAPSES = 10_000   # a projection with more synapses goes to a .npy file beside the network


def import_nir(path, out, opts: Options, *, stimulus=None, ticks: int = DEFAULT_TICKS, rate: float = DEFAULT_RATE,
               seed: int = 0, engine: str | None = None, progress=None) -> dict:
    """Convert, compare, and write NET.json (+ NET.<k>.npy for large projections),
    NET.report.md and NET.report.json together (or nothing). Returns the report."""
    import io
    from pathlib import Path

    from neuromesh.firmware.netfile import MAX_TICKS, parse_stimulus, read_json
    from neuromesh.outputs import Outputs

    from . import report as rep

    engine = engine or default_engine()
    from neuromesh.engines import ENGINES
    if engine not in ENGINES:
        raise spec.NeuroMeshError(f"--engine: unknown engine {engine!r} (known: {', '.join(ENGINES)})")
    if stimulus is None:
        if not 1 <= ticks <= MAX_TICKS:
            raise spec.NeuroMeshError(f"--ticks: must be in 1..{MAX_TICKS} (got {ticks!r})")
        if not 0 < rate <= 1:
            raise spec.NeuroMeshError(f"--rate: must be a probability in (0, 1] (got {rate!r})")
    conv = convert(path, opts)
    if stimulus is not None:
        st = parse_stimulus(read_json(stimulus), conv.net, stimulus)
        stim = {"ticks": st.ticks, "spikes": st.spikes}
        stim_info = {"kind": "file", "path": str(stimulus), "ticks": st.ticks}
    else:
        stim = poisson_stimulus({l.name: l.size for l in conv.quantised.net.inputs}, ticks, rate, seed)
        stim_info = {"kind": "poisson", "rate": rate, "seed": seed, "ticks": ticks}
    comparison = compare_runs(conv, stim, engine, progress)

    out = Path(out)
    stem = out.name[:-5] if out.name.endswith(".json") else out.name
    q = conv.quantised
    files = {(k, part): f"{stem}.{k}{'' if part == 0 else 'f'}.npy" for k, p in enumerate(q.projections)
             for part, (_e, syn) in enumerate(p.parts) if len(syn) > INLINE_SYNAPSES}
    raw = q.network_json(hardware=conv.network["hardware"], synapse_files=files)
    options = {"dt": q.dt, "reset": _per_layer_text(opts.reset, "zero"),
               "refractory": _per_layer_text(opts.refractory, "0"), "li_as_lif": opts.li_as_lif,
               "li_threshold": opts.li_threshold, "if_per_step": opts.if_per_step,
               "clip_percentile": opts.clip_percentile, "fine_weights": opts.fine_weights, "record": opts.record}
    report = rep.build(conv, comparison, network_path=str(out), stimulus=stim_info, options=options)
    with Outputs() as o:
        o.write_text(out, json.dumps(raw, separators=(",", ":")) + "\n")
        for (k, part), name in files.items():
            buf = io.BytesIO()
            np.save(buf, q.projections[k].parts[part][1], allow_pickle=False)
            o.write_bytes(out.with_name(name), buf.getvalue())
        o.write_text(out.with_name(stem + ".report.json"), rep.to_json(report))
        o.write_text(out.with_name(stem + ".report.md"), rep.markdown(report))
    return report
