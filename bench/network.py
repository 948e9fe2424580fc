"""A full run of a random network through `neuromesh.engines.run_network` (validate,
compile, golden engine, result): a Poisson-like input population driving three recurrent LIF
populations spread over a 4x4 mesh."""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np


def random_network(seed=1, width=4, height=4, neurons=64, inputs=64, ticks=100, rate=0.05):
    rng = np.random.default_rng(seed)
    pops = [{"name": "in", "kind": "input", "size": inputs}]
    sizes = {"in": inputs}
    for i, size in enumerate((4 * neurons, 4 * neurons, 4 * neurons)):
        name = f"l{i}"
        pops.append({"name": name, "kind": "lif", "size": size, "du": 1024, "dv": 256,
                     "vth": 60, "bias_mant": 0, "refractory": 1, "record": i == 2})
        sizes[name] = size
    proj = []

    def sparse(pre, post, p, lo, hi, wexp):
        syn = []
        for i in range(sizes[pre]):
            targets = np.flatnonzero(rng.random(sizes[post]) < p)
            syn += [[int(i), int(j), int(rng.integers(lo, hi))] for j in targets]
        proj.append({"pre": pre, "post": post, "weight_exp": wexp, "synapses": syn})

    sparse("in", "l0", 0.1, 20, 100, 4)
    sparse("l0", "l1", 0.05, 10, 90, 4)
    sparse("l1", "l2", 0.05, 10, 90, 4)
    sparse("l1", "l0", 0.02, -60, 20, 4)
    net = {"format": "neuromesh-network/1",
           "hardware": {"width": width, "height": height, "neurons_per_core": neurons,
                        "axons_per_core": 256, "synapses_per_core": 4096, "routes_per_core": 512},
           "populations": pops, "projections": proj}
    fire = rng.random((ticks, inputs)) < rate
    stim = {"ticks": ticks, "spikes": {"in": [[int(t) + 1, int(i)] for t, i in zip(*np.nonzero(fire))]}}
    return net, stim


def full_run(seed=1, ticks=100) -> dict:
    from neuromesh.engines import run_network
    net, stim = random_network(seed=seed, ticks=ticks)
    with tempfile.TemporaryDirectory() as d:
        np_, sp = Path(d, "net.json"), Path(d, "stim.json")
        np_.write_text(json.dumps(net))
        sp.write_text(json.dumps(stim))
        t0, w0 = time.process_time(), time.perf_counter()
        result = run_network(np_, sp)
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    s = result["stats"]
    return {
        "name": f"random network 4x4, {sum(p['size'] for p in net['populations'])} neurons, {ticks} ticks",
        "cycles": s["cycles"], "sops": s["sops"], "flits": s["flits"], "flit_hops": s["hops"],
        "updates": s["updates"], "spikes_fired": s["spikes_fired"], "cpu_s": cpu, "wall_s": wall,
        "flit_hops_per_s": s["hops"] / cpu, "cycles_per_s": s["cycles"] / cpu,
        "sops_per_s": s["sops"] / cpu,
    }


if __name__ == "__main__":
    print(full_run())
