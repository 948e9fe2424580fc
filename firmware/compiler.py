"""The network compiler: a validated Network -> the configuration image (ordered writes) and the
map (SPEC section 7) that lets any host drive the chip from the image alone.

Allocation rules (docs/firmware.md):
- placement: `placement.place` (explicit first, then automatic in tile order);
- axons: one per (source neuron, target core, weight_exp) -- SPEC section 4: `wexp` belongs to
  the list. Its synapse list holds every synapse of that source onto that core's neurons with
  that weight_exp, duplicates kept. Axon indices per core in (population order, neuron index,
  weight_exp) order of the source; input populations get axons the same way as lif ones;
- routes: one entry per (firing lif neuron, target axon) -- one flit per axon it must reach,
  in target tile index order then axon order -- plus, for a recorded population, one host-bound
  flit whose channel is the neuron's slot (unique per tile, so the flit names the neuron);
- the image writes every tile in tile index order, region by region (param, state, acc0, acc1,
  axon, synapse, rlist, route, active): the neuron slots a tile holds (0 .. n-1, and nothing
  of a tile that holds none), all axons (unused ones as 0), the used synapse and route
  entries, and the active-neuron count n (SPEC 3). Replaying it on a chip that ran before
  leaves a defined state: slots from n on are never updated and no synapse names them.

Everything is computed on NumPy arrays (one entry per synapse, axon, route entry or write;
sorts and cumulative sums, no Python object per synapse), so time and memory grow linearly with
the synapses (docs/scale.md gives the figures). The writes come back as `image.Writes` (two
uint32 arrays that still read as a list of `(addr, data)` pairs).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuromesh import spec
from neuromesh.sorting import stable_argsort

from .image import Writes
from .netfile import Network, NetworkError
from .placement import place

MAP_FORMAT = "neuromesh-map/1"
RESOURCES = (  # usage key, capacity field, name in messages
    ("neurons", "neurons_per_core", "neurons"),
    ("axons", "axons_per_core", "axons"),
    ("synapses", "synapses_per_core", "synapse entries"),
    ("routes", "routes_per_core", "route entries"),
)
# The image's region order inside a tile (docs/firmware.md section 6).
IMAGE_REGIONS = ("param", "state", "acc0", "acc1", "axon", "synapse", "rlist", "route", "active")


@dataclass
class Compiled:
    params: spec.HwParams
    writes: Writes  # in image order; iterates as (addr, data) pairs
    map: dict       # JSON-serialisable, see module docstring / docs/firmware.md


def pack(word: spec.Word, **values) -> np.ndarray:
    """`word.pack` over arrays (values already in range: the network file and the capacity
    check guarantee it)."""
    out = 0
    for f in word.fields:
        v = np.asarray(values.get(f.name, 0), dtype=np.int64)
        out = out | ((v & ((1 << f.width) - 1)) << f.lsb)
    return np.asarray(out, dtype=np.int64)


def pack_flits(axon, x, y, host=0) -> np.ndarray:
    """`spec.pack_flit` over arrays."""
    lsb = {name: lo for name, lo, _w in spec.FLIT_FIELDS}
    return (np.asarray(axon, dtype=np.int64) << lsb["axon"]) | (np.asarray(x, dtype=np.int64) << lsb["x"]) | \
        (np.asarray(y, dtype=np.int64) << lsb["y"]) | (np.asarray(host, dtype=np.int64) << lsb["host"])


def compile_network(net: Network) -> Compiled:
    params = net.params
    W, T = params.width, params.n_tiles
    placement = place(net)
    pops = net.populations
    sizes = np.array([p["size"] for p in pops], dtype=np.int64)
    base = dict(zip((p["name"] for p in pops), np.concatenate(([0], np.cumsum(sizes)))[:-1].tolist()))
    n_all = int(sizes.sum())
    # tile and slot of every lif neuron, by global number (population order, index); -1 for inputs
    tile_of = np.full(n_all, -1, dtype=np.int64)
    slot_of = np.full(n_all, -1, dtype=np.int32)
    for name, where in placement.items():
        b = base[name]
        tile_of[b:b + len(where)] = where[:, 1] * W + where[:, 0]
        slot_of[b:b + len(where)] = where[:, 2]

    # -- axons: one per (target tile, source, weight_exp), synapses in projection then file order
    # (one preallocated key per synapse, sorted once: ~30 bytes a synapse at the peak)
    n_syn_all = sum(len(pr["synapses"]) for pr in net.projections)
    nn = max(n_all, 1)
    akey = np.empty(n_syn_all, dtype=np.int64)                  # (tile, source, weight_exp)
    tgt = np.empty(n_syn_all, dtype=np.int32 if n_all < 2**31 else np.int64)
    wgt = np.empty(n_syn_all, dtype=np.int16)
    k = 0
    for pr in net.projections:
        s = pr["synapses"]
        n = len(s)
        post = s.post.astype(np.int64) + base[pr["post"]]
        akey[k:k + n] = (tile_of[post] * nn + (s.pre.astype(np.int64) + base[pr["pre"]])) * 8 + pr["weight_exp"]
        tgt[k:k + n] = post
        wgt[k:k + n] = s.weight
        k += n
        del post
    order = stable_argsort(akey)                          # stable: projection order, then file order
    akey = akey[order]
    wgt = wgt[order]
    syn_slot = slot_of[tgt[order]]
    del tgt, order
    syn_tile = (akey // (nn * 8)).astype(np.int32)
    first = np.concatenate(([True], akey[1:] != akey[:-1])) if len(akey) else np.zeros(0, dtype=bool)
    ax_start = np.flatnonzero(first)                      # axons in (tile, source, wexp) order
    del first
    ax_len = np.diff(np.concatenate((ax_start, [len(akey)])))
    ax_key = akey[ax_start]
    del akey
    ax_tile, ax_src, ax_wexp = ax_key // (nn * 8), ax_key // 8 % nn, ax_key % 8
    tile_first_axon = np.searchsorted(ax_tile, np.arange(T + 1))
    ax_index = np.arange(len(ax_start)) - tile_first_axon[ax_tile]       # axon number on its tile
    n_axons = np.diff(tile_first_axon)
    tile_first_syn = np.searchsorted(syn_tile, np.arange(T + 1))
    n_syn = np.diff(tile_first_syn)
    ax_ptr = ax_start - tile_first_syn[ax_tile]                           # list start on its tile

    # -- routes: each source's axons in (tile, axon) order, then a recorded neuron's host flit
    by_src = stable_argsort(ax_src)            # axons are already in (tile, axon) order
    ax_flit = pack_flits(ax_index, ax_tile % W, ax_tile // W)
    r_src = ax_src[by_src]
    lif_src = tile_of[r_src] >= 0
    r_src, r_flit = r_src[lif_src], ax_flit[by_src][lif_src]
    r_within = np.arange(len(r_src)) - np.searchsorted(r_src, r_src)
    recorded = np.zeros(n_all, dtype=bool)
    for p in pops:
        if p["record"] and p["kind"] == "lif":
            recorded[base[p["name"]]:base[p["name"]] + p["size"]] = True
    rec = np.flatnonzero(recorded)
    host_flits = pack_flits(slot_of[rec], tile_of[rec] % W, tile_of[rec] // W, 1)
    r_src = np.concatenate([r_src, rec])
    r_flit = np.concatenate([r_flit, host_flits])
    r_within = np.concatenate([r_within, np.full(len(rec), 1 << 40)])
    order = np.lexsort((r_within, slot_of[r_src], tile_of[r_src]))
    r_src, r_flit = r_src[order], r_flit[order]
    r_tile = tile_of[r_src]
    n_routes = np.bincount(r_tile, minlength=T)

    # -- usage and capacity, before packing anything (an over-full table may not fit a field)
    lif = tile_of >= 0
    n_held = np.zeros(T, dtype=np.int64)
    np.maximum.at(n_held, tile_of[lif], slot_of[lif] + 1)
    usage = []
    for k, (x, y) in enumerate(params.tiles()):
        used = {"neurons": int(n_held[k]), "axons": int(n_axons[k]), "synapses": int(n_syn[k]),
                "routes": int(n_routes[k])}
        entry = {"tile": [x, y]}
        for key, cap_field, _label in RESOURCES:
            entry[key] = [used[key], getattr(params, cap_field)]
        usage.append(entry)
    check_capacity(net.path, usage)

    # -- the writes, region by region, placed at their image position in one pass
    A = params.axons_per_core
    sizes = np.stack([2 * n_held, 2 * n_held, n_held, n_held, np.full(T, A), n_syn, n_held, n_routes,
                      np.ones(T, dtype=np.int64)], axis=1)
    block = np.concatenate(([0], np.cumsum(sizes)))[:-1].reshape(T, len(IMAGE_REGIONS))
    total = int(sizes.sum())
    addr = np.zeros(total, dtype=np.uint32)
    data = np.zeros(total, dtype=np.uint32)

    def put(region: str, tiles, offsets, words, chunk: int = 1 << 22):
        tiles, offsets = np.broadcast_arrays(np.asarray(tiles), np.asarray(offsets))
        words = np.broadcast_to(np.asarray(words), tiles.shape)
        for lo in range(0, len(tiles), chunk):   # in chunks: bounded temporaries on huge tables
            t = tiles[lo:lo + chunk].astype(np.int64)
            o = offsets[lo:lo + chunk].astype(np.int64)
            pos = block[t, IMAGE_REGIONS.index(region)] + o
            addr[pos] = ((t // W) << spec.ADDR_Y_LSB) | ((t % W) << spec.ADDR_X_LSB) | \
                (spec.REGION[region] << spec.ADDR_REGION_LSB) | o
            data[pos] = words[lo:lo + chunk]

    g = np.flatnonzero(lif)                                   # every lif neuron
    nt, ns = tile_of[g], slot_of[g]
    values = _neuron_params(pops, base, n_all)
    for w, word in enumerate(spec.PARAM_WORDS):
        put("param", nt, spec.NEURON_WORDS * ns + w, pack(word, **{f.name: values[f.name][g] for f in word.fields}))
    for w in range(spec.NEURON_WORDS):
        put("state", nt, spec.NEURON_WORDS * ns + w, 0)
    put("acc0", nt, ns, 0)
    put("acc1", nt, ns, 0)
    all_axons = np.repeat(np.arange(T), A)
    put("axon", all_axons, np.tile(np.arange(A), T), 0)       # unused axons: 0
    put("axon", ax_tile, ax_index, pack(spec.AXON_WORD, ptr=ax_ptr, len=ax_len, wexp=ax_wexp))
    for lo in range(0, len(syn_tile), 1 << 22):   # chunks: ~8 temporaries of 4 M entries at most
        t, hi = syn_tile[lo:lo + (1 << 22)], lo + (1 << 22)
        put("synapse", t, np.arange(lo, lo + len(t)) - tile_first_syn[t],
            pack(spec.SYNAPSE_WORD, target=syn_slot[lo:hi], weight=wgt[lo:hi]))
    del syn_slot, wgt
    rlen = np.bincount(r_src, minlength=n_all)[g]
    # rptr: entries of the tile's earlier slots (route lists are in slot order per tile)
    order = np.lexsort((ns, nt))
    first_route = np.searchsorted(r_tile, np.arange(T + 1))
    cum = np.zeros(len(g), dtype=np.int64)
    cum[order] = np.cumsum(rlen[order]) - rlen[order] - first_route[nt[order]]
    # cum - (routes of earlier tiles) is the list start on the tile
    put("rlist", nt, ns, np.where(rlen > 0, pack(spec.RLIST_WORD, ptr=cum, len=rlen), 0))
    put("route", r_tile, np.arange(len(r_tile)) - first_route[r_tile], pack(spec.ROUTE_WORD, flit=r_flit))
    put("active", np.arange(T), np.zeros(T, dtype=np.int64), pack(spec.ACTIVE_WORD, count=n_held))

    # -- the map
    inputs = {}
    in_src = ax_src[by_src]
    in_flit = ax_flit[by_src]
    for p in pops:
        if p["kind"] != "input":
            continue
        b = base[p["name"]]
        lo, hi = np.searchsorted(in_src, [b, b + p["size"]])
        flits = in_flit[lo:hi].tolist()
        cuts = np.searchsorted(in_src[lo:hi], np.arange(b, b + p["size"] + 1)).tolist()
        inputs[p["name"]] = [flits[cuts[i]:cuts[i + 1]] for i in range(p["size"])]
    outputs = {}   # in tile order, then slot order
    by_place = np.lexsort((slot_of[rec], tile_of[rec]))
    rec, host_flits = rec[by_place], host_flits[by_place]
    rec_pop = np.searchsorted(np.array(list(base.values())), rec, side="right") - 1
    pop_names = [p["name"] for p in pops]
    for flit, k, gid in zip(host_flits.tolist(), rec_pop.tolist(), rec.tolist()):
        outputs[str(flit)] = [pop_names[k], gid - base[pop_names[k]]]
    chip_map = {
        "format": MAP_FORMAT,
        "network": net.path,
        "hardware": params.to_dict(),
        "inputs": inputs,
        "outputs": outputs,
        "placement": {name: where.tolist() for name, where in placement.items()},
        "usage": usage,
        "recorded": [p["name"] for p in pops if p["record"]],
        "populations": [{"name": p["name"], "kind": p["kind"], "size": p["size"]} for p in pops],
    }
    return Compiled(params=params, writes=Writes(addr, data), map=chip_map)


def check_capacity(path, usage: list) -> None:
    """Refuse the first over-full resource, tile by tile, naming the tile and by how much."""
    for entry in usage:
        x, y = entry["tile"]
        for key, _cap_field, label in RESOURCES:
            used, cap = entry[key]
            if used > cap:
                raise NetworkError(path, f"tile ({x}, {y})", f"needs {used} {label}, has {cap} ({used - cap} too many)",
                                   show_value=False)


def _neuron_params(pops: list, base: dict, n_all: int) -> dict:
    """Every section-3 parameter as an int64 array over all neurons (0 for input neurons)."""
    out = {name: np.zeros(n_all, dtype=np.int64) for name in spec.NEURON_PARAMS}
    for p in pops:
        if p["kind"] != "lif":
            continue
        b = base[p["name"]]
        for name, v in p["params"].items():
            out[name][b:b + p["size"]] = np.asarray(v, dtype=np.int64)
    return out
