"""The networks of the scale benchmark (bench/bench_scale.py, docs/scale.md), written as files a
user would write.

- `random_8x8`: issue 13's first case: an 8 x 8 chip holding a 14,745-neuron random network
  (90% of its 16,384 slots) with about 174k synapses, written as plain JSON synapse lists, no
  placement (the compiler places it), 256 inputs firing at 5%.
- `million`: 1,048,576 neurons on a 64 x 64 mesh of 256-neuron cores, each neuron with 64
  synapses onto neurons of its own tile or its four neighbours (67 M synapses, in a `.npy`
  `synapses_file`), explicit placement (tile k holds neurons 256 k .. 256 k + 255), 256 inputs
  firing at 5% onto tile (0, 0).

The neighbour pattern is built so every tile's tables are exactly as full as the issue says:
synapse k of a neuron goes to the tile given by direction k mod 5 (itself; its partner in the
pairing (2i, 2i+1) along x; along x shifted by one; the same two along y) and to a slot given by
a random permutation per k. Each such map is a bijection of the neurons, so every neuron also
*receives* exactly 64 synapses: 16,384 synapse entries per core, at most 5 x 256 = 1,280 axons
(one per source neuron of its own and four neighbour tiles) and 1,280 routes per core.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def random_8x8(seed: int = 1, ticks: int = 50, rate: float = 0.05) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    n_in, sizes = 256, (4915, 4915, 4915)            # 14,745 lif neurons
    pops = [{"name": "in", "kind": "input", "size": n_in}]
    for k, size in enumerate(sizes):
        pops.append({"name": f"l{k}", "kind": "lif", "size": size, "du": 1024, "dv": 256, "vth": 60,
                     "refractory": 1, "record": k == 2})
    proj = []

    def sparse(pre, pre_n, post, post_n, per_neuron, lo, hi, wexp):
        count = rng.poisson(per_neuron, pre_n)
        src = np.repeat(np.arange(pre_n), count)
        syn = np.stack([src, rng.integers(0, post_n, len(src)), rng.integers(lo, hi, len(src))], axis=1)
        proj.append({"pre": pre, "post": post, "weight_exp": wexp, "synapses": syn.tolist()})

    sparse("in", n_in, "l0", sizes[0], 100, 20, 100, 4)       # 25.6k
    sparse("l0", sizes[0], "l1", sizes[1], 12, 10, 90, 4)     # 59k
    sparse("l1", sizes[1], "l2", sizes[2], 12, 10, 90, 4)     # 59k
    sparse("l1", sizes[1], "l0", sizes[0], 6, -60, 20, 4)     # 29.5k
    net = {"format": "neuromesh-network/2",
           "description": "issue 13: an 8 x 8 chip holding a 14,745-neuron random network",
           "hardware": {"width": 8, "height": 8, "neurons_per_core": 256, "axons_per_core": 4096,
                        "synapses_per_core": 8192, "routes_per_core": 4096},
           "populations": pops, "projections": proj}
    return net, poisson_stimulus("in", n_in, ticks, rate, seed)


def poisson_stimulus(name: str, size: int, ticks: int, rate: float, seed: int) -> dict:
    rng = np.random.default_rng(seed + 7919)
    fire = rng.random((ticks, size)) < rate
    t, i = np.nonzero(fire)
    return {"ticks": ticks, "spikes": {name: [[int(a) + 1, int(b)] for a, b in zip(t, i)]}}


def _partner(c: np.ndarray, shift: int, side: int) -> np.ndarray:
    """Pair (2i + shift, 2i + 1 + shift) along one axis; an unpaired end maps to itself."""
    rel = c - shift
    p = np.where(rel % 2 == 0, c + 1, c - 1)
    return np.where((rel < 0) | (p < 0) | (p >= side), c, p)


def million_synapses(side: int = 64, per_core: int = 256, fan_out: int = 64, seed: int = 0,
                     w_lo: int = -20, w_hi: int = 40, reserve: int = 16) -> np.ndarray:
    """(N * fan_out, 3) int32 rows [pre, post, weight] of the neighbour network (see module doc)."""
    rng = np.random.default_rng(seed)
    n = side * side * per_core
    g = np.arange(n, dtype=np.int64)
    tile, slot = g // per_core, g % per_core
    x, y = tile % side, tile // side
    out = np.empty((n * fan_out, 3), dtype=np.int32)
    for k in range(fan_out):
        d = k % 5
        tx = _partner(x, (d - 1) % 2, side) if d in (1, 2) else x
        ty = _partner(y, (d - 3) % 2, side) if d in (3, 4) else y
        perm = rng.permutation(per_core)
        post = (ty * side + tx) * per_core + perm[slot]
        out[k::fan_out, 0] = g
        out[k::fan_out, 1] = post
        out[k::fan_out, 2] = rng.integers(w_lo, w_hi, n)
    # Tile (0, 0) also receives the inputs (256 x 16 synapses): make room in its 16,384 entries by
    # dropping its own neurons' first 16 synapses onto itself (directions 0, 2 and 4 all stay on
    # tile (0, 0), a corner), so every neuron there still receives 64 synapses in all.
    k = np.arange(len(out)) % fan_out
    own = [j for j in range(fan_out) if j % 5 in (0, 2, 4)][:reserve]
    drop = (out[:, 1] < per_core) & np.isin(k, own)
    return out[~drop]


def million(folder, side: int = 64, per_core: int = 256, ticks: int = 100, rate: float = 0.05,
            seed: int = 0) -> tuple[Path, Path]:
    """Write the million-neuron network (network.json + synapses.npy + stimulus.json) into
    `folder`; `side` smaller than 64 gives the same pattern on a smaller mesh."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed + 1)
    n = side * side * per_core
    np.save(folder / "synapses.npy", million_synapses(side, per_core, seed=seed))
    n_in = 256
    inputs = np.stack([np.repeat(np.arange(n_in), 16), rng.integers(0, per_core, n_in * 16),
                       np.full(n_in * 16, 60)], axis=1).astype(np.int32)
    np.save(folder / "inputs.npy", inputs)
    net = {
        "format": "neuromesh-network/2",
        "description": f"{n:,} neurons on a {side} x {side} mesh, 64 synapses each onto its own or the four "
                       f"neighbouring tiles; bench/scale_networks.py",
        "hardware": {"width": side, "height": side, "neurons_per_core": per_core, "axons_per_core": 1280,
                     "synapses_per_core": 16384, "routes_per_core": 1280},
        "populations": [
            {"name": "in", "kind": "input", "size": n_in},
            {"name": "n", "kind": "lif", "size": n, "du": 4095, "dv": 410, "vth": 200, "refractory": 2,
             "bias_mant": rng.integers(0, 700, n).tolist(), "bias_exp": 1,
             "placement": [[t % side, t // side, per_core] for t in range(side * side)]},
        ],
        "projections": [
            {"pre": "in", "post": "n", "weight_exp": 3, "synapses_file": "inputs.npy"},
            {"pre": "n", "post": "n", "weight_exp": 2, "synapses_file": "synapses.npy"},
        ],
    }
    (folder / "network.json").write_text(json.dumps(net))
    (folder / "stimulus.json").write_text(json.dumps(poisson_stimulus("in", n_in, ticks, rate, seed)))
    return folder / "network.json", folder / "stimulus.json"
