"""One point of a sweep, as a worker runs it: the task is data (`Sweep.task`), the answer is one
row (a flat dict), errors included. Nothing here reads the submitting machine's files.

The point's network is the base network with the point's values applied: hardware fields,
clock domains, a random placement, a generated stimulus; it is compiled and run through the same
steps as `neuromesh run` (`neuromesh.engines`): compile, standard host, engine, `build_result`.
Per point, counts and energies are means over its stimuli (one stimulus: its values).
"""
from __future__ import annotations

import copy
import inspect
import json
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from neuromesh import spec
from neuromesh.energy import EVENTS

COUNT_COLUMNS = ("ticks", "cycles", "time_ps", "spikes_recorded", "spikes_fired", "sops", "updates", "flits",
                 "hops", "async_crossings", "errors")


def parse_with_arrays(network: dict, arrays: dict, name: str = "<sweep network>"):
    """parse_network on a network dict whose `synapses_file` entries are given as arrays."""
    from neuromesh.firmware.netfile import parse_network
    if not arrays:
        return parse_network(network, name)
    with tempfile.TemporaryDirectory(prefix="nm-sweep-") as d:
        for fname, arr in arrays.items():
            target = Path(d) / fname
            target.parent.mkdir(parents=True, exist_ok=True)
            np.save(target, arr)
        return parse_network(network, str(Path(d) / "network.json"))


def apply_point(network: dict, point: dict) -> dict:
    """The base network with a point's hardware and clock values (a copy)."""
    net = copy.deepcopy(network)
    hw = net.setdefault("hardware", {})
    for name, value in point.items():
        if name.startswith("hardware."):
            hw[name.split(".", 1)[1]] = value
    clocks = point.get("clocks")
    if clocks is not None:
        hw.pop("domains", None)
        hw.pop("links", None)
        if isinstance(clocks, dict) and "per_tile" in clocks:
            params = spec.HwParams.from_dict({k: v for k, v in hw.items() if k in spec.LIMITS})
            per_tile = spec.Clocks.per_tile(params, clocks["per_tile"]).to_dict()
            hw["domains"] = per_tile["domains"]
            if "hardware.period_ps" not in point:
                hw["period_ps"] = per_tile["period_ps"]
        elif isinstance(clocks, dict):
            hw.update(clocks)
    if any(k in hw for k in ("domains", "period_ps", "links")):
        net["format"] = "neuromesh-network/2"
    if point.get("placement_seed") is not None:
        _random_placement(net, point["placement_seed"])
    return net


def _random_placement(net: dict, seed: int) -> None:
    """Every lif population without a placement gets random chunks over the tiles with free
    neuron slots (seeded): a different placement of the same network. Capacity is checked by the
    compiler as usual (a point that does not fit fails with the compiler's message)."""
    rng = np.random.default_rng(seed)
    hw = net.get("hardware", {})
    w = hw.get("width", spec.LIMITS["width"][2])
    h = hw.get("height", spec.LIMITS["height"][2])
    n = hw.get("neurons_per_core", spec.LIMITS["neurons_per_core"][2])
    free = np.full(w * h, n)
    for p in net["populations"]:   # explicit placements keep their slots
        for x, y, c in _chunks(p):
            free[y * w + x] -= c
    for p in net["populations"]:
        if p.get("kind") != "lif" or "placement" in p:
            continue
        left, chunks = p["size"], []
        while left > 0:
            open_tiles = np.flatnonzero(free > 0)
            if not len(open_tiles):
                return   # more neurons than slots: the compiler names it
            t = int(rng.choice(open_tiles))
            c = int(rng.integers(1, min(left, free[t]) + 1))
            free[t] -= c
            left -= c
            chunks.append([t % w, t // w, c])
        p["placement"] = chunks


def _chunks(p: dict) -> list:
    pl = p.get("placement")
    if not pl:
        return []
    if len(pl) == 2 and not isinstance(pl[0], list):
        return [(pl[0], pl[1], p["size"])]
    return [tuple(c) for c in pl]


def poisson_stimulus(network: dict, generator: dict, rate: float, seed: int) -> dict:
    sizes = {p["name"]: p["size"] for p in network["populations"]}
    rng = np.random.default_rng(seed)
    spikes = {}
    for name in generator["populations"]:
        t, i = np.nonzero(rng.random((generator["ticks"], sizes[name])) < rate)
        spikes[name] = np.stack([t + 1, i], axis=1).tolist()
    return {"ticks": generator["ticks"], "spikes": spikes}


def classify(result: dict, readout: list) -> int | None:
    """The class a result reads out: the readout population with most spikes (one population:
    its neuron with most spikes); a tie goes to the earliest first spike, then the lower index
    (the digits workload's rule)."""
    if len(readout) == 1:
        spikes = result["spikes"].get(readout[0], [])
        n = max((i for _t, i in spikes), default=-1) + 1
        per = [[t for t, i in spikes if i == k] for k in range(n)]
    else:
        per = [[t for t, _i in result["spikes"].get(name, [])] for name in readout]
    if not any(per):
        return None
    return min(range(len(per)), key=lambda k: (-len(per[k]), min(per[k], default=1 << 60), k))


def run_point(task: dict) -> dict:
    """Run one point; return its row (never raises: a failure is the row's `error`)."""
    point, defaults = task["point"], task["defaults"]
    row = {"point": task["key"], **{name: _cell(v) for name, v in point.items()}}
    t0 = time.perf_counter()
    try:
        row.update(_run(task))
        row["error"] = ""
    except spec.NeuroMeshError as e:
        row["error"] = str(e)
    except Exception as e:  # noqa: BLE001 - a point that fails is recorded, the others go on
        row["error"] = f"{type(e).__name__}: {e} [{traceback.format_exc(limit=3).splitlines()[-2].strip()}]"
    row["engine"] = point.get("engine", defaults["engine"])
    row["wall_s"] = round(time.perf_counter() - t0, 4)
    return row


def _cell(v):
    return v if v is None or isinstance(v, (int, float, str)) else json.dumps(v, sort_keys=True)


def _run(task: dict) -> dict:
    from neuromesh.engines import engine_run
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import parse_stimulus
    from neuromesh.host import HostBehaviour
    from neuromesh.result import build_result, tick_inputs

    point, defaults = task["point"], task["defaults"]
    engine = point.get("engine", defaults["engine"])
    profile = point.get("energy", defaults["energy"])
    raw = apply_point(task["network"], point)
    net = parse_with_arrays(raw, task["arrays"])
    compiled = compile_network(net)
    stimuli = task["stimuli"]
    if task["generator"] is not None:
        g = task["generator"]
        stimuli = [{"data": poisson_stimulus(raw, g, point.get("stimulus_rate", g["rate"]),
                                             point.get("stimulus_seed") or 0), "label": None, "name": "poisson"}]
    parsed = [parse_stimulus(s["data"], net, s["name"]) for s in stimuli]
    inputs = [tick_inputs(s.spikes, compiled.map["inputs"], s.ticks) for s in parsed]
    run_engine = engine_run(engine)
    opts = {}
    accepts = inspect.signature(run_engine).parameters
    if net.clocks.n_domains > 1:
        if "clocks" in accepts or engine == "functional":
            opts["clocks"] = net.clocks
        else:
            raise spec.NeuroMeshError(f"the {engine} engine does not run networks with several clock domains "
                                      f"yet (this point has {net.clocks.n_domains}); the functional engine does")
    elif "clocks" in accepts:
        opts["clocks"] = net.clocks
    if defaults.get("max_cycles") and "max_cycles" in accepts:
        opts["max_cycles"] = defaults["max_cycles"]
    host = HostBehaviour()
    if engine == "functional":
        from neuromesh.sim.functional import run_many
        observed = run_many(compiled.params, compiled.writes, inputs, clocks=net.clocks)
    else:
        observed = [run_engine(compiled.params, compiled.writes, inp, host, **opts) for inp in inputs]
    # a profile file travelled as data (a dict): the counts are priced with it below
    results = [build_result(o, engine=engine, params=compiled.params, chip_map=compiled.map,
                            populations=net.populations, stimulus=s.spikes, ticks=s.ticks,
                            profile=profile if isinstance(profile, str) else "loihi")
               for o, s in zip(observed, parsed)]
    row = {}
    for col in COUNT_COLUMNS:
        values = [_stat(r, col) for r in results]
        row[col] = None if any(v is None for v in values) else float(np.mean(values))
    energies = [r["stats"]["energy_pj"] if isinstance(profile, str) else
                _price(profile, r) for r in results]
    for event in list(EVENTS) + ["total"]:
        row[f"energy_pj.{event}"] = float(np.mean([e.get(event, 0.0) for e in energies]))
    row["stimuli"] = len(results)
    labels = [s.get("label") for s in stimuli]
    if task["readout"] and any(label is not None for label in labels):
        hits = [classify(r, task["readout"]) == label for r, label in zip(results, labels) if label is not None]
        row["accuracy"] = float(np.mean(hits))
    else:
        row["accuracy"] = None
    row["tiles"] = compiled.params.n_tiles
    row["domains"] = net.clocks.n_domains
    return row


def _stat(result: dict, col: str):
    s = result["stats"]
    if col == "spikes_recorded":
        return sum(len(v) for v in result["spikes"].values())
    return s.get(col) if col != "async_crossings" else s.get(col, 0)


def _price(profile: dict, result: dict) -> dict:
    from neuromesh.energy import energy_from_counts
    from neuromesh.result import event_counts
    cycles = result["stats"].get("cycles", 0)
    return energy_from_counts(profile, event_counts(result["counters"], spec.HwParams.from_dict(result["hardware"]),
                                                    cycles))
