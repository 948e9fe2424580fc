"""The sweep file (`neuromesh sweep SWEEP.json`, docs/scale.md "Sweeps"): what to vary, read and
checked on the submitting machine, turned into self-contained points (data, not paths).

    {
     "format": "neuromesh-sweep/1",
     "network": "net.json",                         # JSON network (or .nir when NIR import exists)
     "stimulus": "stim.json",                       # or a list of {"path": ..., "label": k},
                                                    # or {"poisson": {"ticks": T, "rate": r, "populations": [...]}}
     "readout": {"populations": ["out_0", ...]},    # class = the population (or, for one population,
                                                    # the neuron) with most spikes: accuracy per point
     "engine": "functional", "energy": "loihi",     # defaults for what the axes do not vary
     "axes": {"hardware.width": [2, 4], "hardware.fifo_depth": [1, 2, 4], "clocks": ["one", {"per_tile": 7000}],
              "placement_seed": [null, 1], "stimulus_seed": [0, 1], "stimulus_rate": [0.02, 0.05],
              "energy": ["loihi", "truenorth"], "engine": ["golden", "functional"]},
     "sample": 20, "seed": 0,                       # optional: a random sample of the grid
     "figures": [{"y": "energy_pj.total", "x": "hardware.fifo_depth", "by": "engine"}]
    }

Every refusal is one line naming the file, the field and the reason (`SweepError`).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuromesh import spec
from neuromesh.energy import BUILTIN
from neuromesh.engines import ENGINES
from neuromesh.firmware.netfile import NetworkError, read_json

SWEEP_FORMAT = "neuromesh-sweep/1"
KEYS = {"format", "network", "stimulus", "readout", "engine", "energy", "axes", "sample", "seed", "figures",
        "description", "max_cycles"}
HARDWARE_AXES = {f"hardware.{k}" for k in spec.LIMITS} | {"hardware.period_ps"}
OTHER_AXES = {"clocks", "placement_seed", "stimulus_seed", "stimulus_rate", "energy", "engine"}
LOCAL_ONLY_ENGINES = {"rtl"}          # needs the Verilator build of the submitting machine


class SweepError(spec.NeuroMeshError, ValueError):
    def __init__(self, path, where, reason):
        super().__init__(f"{path}: {where}: {reason}" if where else f"{path}: {reason}")


@dataclass
class Sweep:
    path: str
    network: dict                 # the network's raw JSON
    arrays: dict                  # synapses_file name -> ndarray (shipped to workers as data)
    stimuli: list                 # [{"data": stimulus dict or None, "label": int|None, "name": str}]
    generator: dict | None        # {"ticks", "rate", "populations"} for a generated stimulus
    readout: list | None          # population names whose spikes decide the class
    defaults: dict                # engine, energy, max_cycles
    axes: dict                    # name -> list of values
    points: list = field(default_factory=list)   # [{axis: value}]
    figures: list = field(default_factory=list)
    base_hash: str = ""

    def task(self, point: dict) -> dict:
        """Everything one worker needs for one point, as data."""
        return {"network": self.network, "arrays": self.arrays, "stimuli": self.stimuli,
                "generator": self.generator, "readout": self.readout, "defaults": self.defaults,
                "point": point, "key": point_key(self.base_hash, point)}


def point_key(base_hash: str, point: dict) -> str:
    """A point's result name: the hash of the inputs (base network and stimuli) and its values."""
    text = json.dumps({"base": base_hash, "point": point}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_sweep(path) -> Sweep:
    path = str(path)
    raw = read_json(path)
    folder = Path(path).parent

    def fail(where, reason):
        raise SweepError(path, where, reason)

    if not isinstance(raw, dict):
        fail(None, "the top level must be a JSON object")
    if raw.get("format") != SWEEP_FORMAT:
        fail("format", f"must be {SWEEP_FORMAT!r} (got {raw.get('format')!r})")
    for k in raw:
        if k not in KEYS:
            fail(k, f"unknown key (allowed: {', '.join(sorted(KEYS))})")
    for k in ("network", "stimulus"):
        if k not in raw:
            fail(k, "missing")

    # -- the network, as data (and the arrays its synapses_file entries name)
    net_name = raw["network"]
    if not isinstance(net_name, str):
        fail("network", "must be the path of a network file, relative to the sweep file")
    net_path = folder / net_name
    if net_path.suffix == ".nir":
        network, arrays = _from_nir(path, net_path)
    else:
        try:
            network = read_json(net_path)
        except NetworkError as e:
            fail("network", str(e))
        arrays = {}
        for k, pr in enumerate(network.get("projections", []) if isinstance(network, dict) else []):
            if isinstance(pr, dict) and isinstance(pr.get("synapses_file"), str):
                f = net_path.parent / pr["synapses_file"]
                try:
                    arrays[pr["synapses_file"]] = np.load(f, allow_pickle=False)
                except (OSError, ValueError) as e:
                    fail(f"network: projections[{k}].synapses_file", f"cannot read {f}: {str(e)[:80]}")
    # check the network once here: a bad base network is one error, not one per point
    _check_network(path, network, arrays)

    # -- stimuli
    stim = raw["stimulus"]
    generator, stimuli = None, []
    if isinstance(stim, str):
        stimuli = [_stimulus_file(fail, folder, stim, None, "stimulus")]
    elif isinstance(stim, list):
        if not stim:
            fail("stimulus", "an empty list")
        for k, s in enumerate(stim):
            if not isinstance(s, dict) or "path" not in s or set(s) - {"path", "label"}:
                fail(f"stimulus[{k}]", "must be {\"path\": ..., \"label\": k}")
            label = s.get("label")
            if label is not None and (isinstance(label, bool) or not isinstance(label, int)):
                fail(f"stimulus[{k}].label", f"must be an integer (got {label!r})")
            stimuli.append(_stimulus_file(fail, folder, s["path"], label, f"stimulus[{k}]"))
    elif isinstance(stim, dict) and set(stim) == {"poisson"}:
        g = stim["poisson"]
        if not isinstance(g, dict) or set(g) - {"ticks", "rate", "populations"} or "ticks" not in g:
            fail("stimulus.poisson", "must be {\"ticks\": T, \"rate\": r, \"populations\": [input populations]}")
        inputs = [p.get("name") for p in network.get("populations", []) if p.get("kind") == "input"]
        generator = {"ticks": g["ticks"], "rate": g.get("rate", 0.05), "populations": g.get("populations", inputs)}
        if isinstance(generator["ticks"], bool) or not isinstance(generator["ticks"], int) or generator["ticks"] < 1:
            fail("stimulus.poisson.ticks", f"must be a positive integer (got {generator['ticks']!r})")
        for name in generator["populations"]:
            if name not in inputs:
                fail("stimulus.poisson.populations", f"{name!r} is not an input population of the network")
        stimuli = [{"data": None, "label": None, "name": "poisson"}]
    else:
        fail("stimulus", "must be a stimulus file, a list of {\"path\", \"label\"} or {\"poisson\": {...}}")

    readout = None
    if "readout" in raw:
        r = raw["readout"]
        names = {p.get("name") for p in network.get("populations", [])}
        if not isinstance(r, dict) or set(r) != {"populations"} or not isinstance(r["populations"], list) \
                or not r["populations"]:
            fail("readout", "must be {\"populations\": [names]}")
        for name in r["populations"]:
            if name not in names:
                fail("readout.populations", f"{name!r} is not a population of the network")
        readout = list(r["populations"])
    if readout and not any(s["label"] is not None for s in stimuli):
        fail("readout", "needs stimuli with labels ({\"path\": ..., \"label\": k})")

    defaults = {"engine": raw.get("engine", "golden"), "energy": raw.get("energy", "loihi"),
                "max_cycles": raw.get("max_cycles")}
    _check_engine(fail, defaults["engine"], "engine")
    _check_energy(fail, folder, defaults, "energy")

    # -- axes
    axes = raw.get("axes", {})
    if not isinstance(axes, dict):
        fail("axes", "must be an object {axis: [values]}")
    for name, values in axes.items():
        w = f"axes.{name}"
        if name not in HARDWARE_AXES | OTHER_AXES:
            fail(w, f"unknown axis (known: {', '.join(sorted(HARDWARE_AXES | OTHER_AXES))})")
        if not isinstance(values, list) or not values:
            fail(w, "must be a non-empty list of values")
        for k, v in enumerate(values):
            _check_value(fail, folder, f"{w}[{k}]", name, v, generator)
    points = [dict(zip(axes, combo)) for combo in itertools.product(*axes.values())]
    if "sample" in raw:
        n = raw["sample"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            fail("sample", f"must be a positive number of points (got {n!r})")
        seed = raw.get("seed", 0)
        if n < len(points):
            keep = sorted(random.Random(seed).sample(range(len(points)), n))
            points = [points[k] for k in keep]
    figures = raw.get("figures", [])
    if not isinstance(figures, list):
        fail("figures", "must be a list of {\"y\": column, \"x\": axis, \"by\": axis}")
    for k, fig in enumerate(figures):
        if not isinstance(fig, dict) or set(fig) - {"y", "x", "by"} or "y" not in fig or "x" not in fig:
            fail(f"figures[{k}]", "must be {\"y\": column, \"x\": axis, \"by\": axis (optional)}")
        for role in ("x", "by"):
            if role in fig and fig[role] not in axes:
                fail(f"figures[{k}].{role}", f"{fig[role]!r} is not an axis of this sweep")

    base = hashlib.sha256()
    base.update(json.dumps(network, sort_keys=True).encode())
    for name in sorted(arrays):
        base.update(name.encode())
        base.update(np.ascontiguousarray(arrays[name]).tobytes())
    base.update(json.dumps([stimuli, generator, readout, defaults], sort_keys=True).encode())
    return Sweep(path, network, arrays, stimuli, generator, readout, defaults, axes, points, figures,
                 base.hexdigest())


def _stimulus_file(fail, folder: Path, name, label, where: str) -> dict:
    if not isinstance(name, str):
        fail(where, "must name a stimulus file")
    try:
        data = read_json(folder / name)
    except NetworkError as e:
        fail(where, str(e))
    return {"data": data, "label": label, "name": name}


def _check_engine(fail, engine, where):
    if engine not in ENGINES:
        fail(where, f"unknown engine {engine!r} (known: {', '.join(ENGINES)})")


def _check_energy(fail, folder, holder: dict, key: str):
    v = holder[key]
    if not isinstance(v, str):
        fail(key, f"must be a profile name or a JSON file (got {v!r})")
    if v not in BUILTIN:   # a profile file travels as data too
        from neuromesh.energy import load_profile
        p = folder / v
        try:
            holder[key] = load_profile(str(p))
        except spec.NeuroMeshError as e:
            fail(key, str(e))


def _check_value(fail, folder, where, name, v, generator):
    if name.startswith("hardware."):
        if isinstance(v, bool) or not isinstance(v, int):
            fail(where, f"must be an integer (got {v!r})")
    elif name == "clocks":
        if not (v == "one" or (isinstance(v, dict) and (set(v) == {"per_tile"} or set(v) <= {"period_ps", "domains", "links"}))):
            fail(where, "must be \"one\", {\"per_tile\": period_ps} or {\"domains\": [...], \"period_ps\": P, \"links\": ...}")
    elif name in ("placement_seed", "stimulus_seed"):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
            fail(where, f"must be an integer or null (got {v!r})")
        if name == "stimulus_seed" and generator is None:
            fail(where, "a stimulus seed needs a generated stimulus ({\"poisson\": {...}})")
    elif name == "stimulus_rate":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            fail(where, f"must be a probability per input neuron and tick (got {v!r})")
        if generator is None:
            fail(where, "a stimulus rate needs a generated stimulus ({\"poisson\": {...}})")
    elif name == "engine":
        _check_engine(fail, v, where)
    elif name == "energy":
        holder = {"energy": v}
        _check_energy(fail, folder, holder, "energy")


def _check_network(path, network, arrays):
    """Parse the base network once (in a scratch folder holding its arrays)."""
    from .point import parse_with_arrays
    try:
        parse_with_arrays(network, arrays, f"{path}: network")
    except spec.NeuroMeshError as e:
        raise SweepError(path, "network", str(e)) from None


def _from_nir(path, net_path):
    try:
        from neuromesh.tools.nir import read_network   # the NIR importer (tools/nir), when present
    except ImportError:
        raise SweepError(path, "network", "NIR import is not available in this installation") from None
    network = read_network(net_path)
    return network, {}
