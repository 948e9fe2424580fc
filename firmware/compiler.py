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
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from neuromesh import spec

from . import image
from .netfile import Network, NetworkError, load_network
from .placement import place

MAP_FORMAT = "neuromesh-map/1"
RESOURCES = (  # usage key, capacity field, name in messages
    ("neurons", "neurons_per_core", "neurons"),
    ("axons", "axons_per_core", "axons"),
    ("synapses", "synapses_per_core", "synapse entries"),
    ("routes", "routes_per_core", "route entries"),
)


@dataclass
class Compiled:
    params: spec.HwParams
    writes: list   # [(addr, data)] in image order
    map: dict      # JSON-serialisable, see module docstring / docs/firmware.md


def compile_network(net: Network) -> Compiled:
    params = net.params
    order = {p["name"]: k for k, p in enumerate(net.populations)}
    placement = place(net)
    tile_index = {xy: k for k, xy in enumerate(params.tiles())}

    # Axons per target tile: key (src pop, src index, wexp) -> [(slot, weight), ...].
    axon_lists = [defaultdict(list) for _ in range(params.n_tiles)]
    for pr in net.projections:
        where = placement[pr["post"]]
        for i, j, w in pr["synapses"]:
            x, y, slot = where[j]
            axon_lists[tile_index[(x, y)]][(pr["pre"], i, pr["weight_exp"])].append((slot, w))
    axons = []  # per tile: [(key, synapse list)] in axon index order
    for lists in axon_lists:
        keys = sorted(lists, key=lambda k: (order[k[0]], k[1], k[2]))
        axons.append([(k, lists[k]) for k in keys])

    # The axons each source neuron reaches, in tile order then axon order.
    reached = defaultdict(list)
    for (x, y), k in tile_index.items():
        for a, ((pop, i, _wexp), _syn) in enumerate(axons[k]):
            reached[(pop, i)].append((k, a, x, y))

    # Neurons per tile by slot.
    slots = [dict() for _ in range(params.n_tiles)]  # slot -> (pop dict, index)
    pops = {p["name"]: p for p in net.populations}
    for name, where in placement.items():
        for i, (x, y, slot) in enumerate(where):
            slots[tile_index[(x, y)]][slot] = (pops[name], i)

    # Check every capacity before packing anything: an over-full table may not even fit a field.
    usage = []
    for k, (x, y) in enumerate(params.tiles()):
        used = {
            "neurons": max(slots[k], default=-1) + 1,
            "axons": len(axons[k]),
            "synapses": sum(len(s) for _key, s in axons[k]),
            "routes": sum(len(reached.get((pop["name"], i), ())) + pop["record"] for pop, i in slots[k].values()),
        }
        entry = {"tile": [x, y]}
        for key, cap_field, _label in RESOURCES:
            entry[key] = [used[key], getattr(params, cap_field)]
        usage.append(entry)
    check_capacity(net.path, usage)

    flits_of = {src: [spec.pack_flit(a, x, y) for _k, a, x, y in sorted(lst)] for src, lst in reached.items()}
    routes = [dict() for _ in range(params.n_tiles)]  # slot -> [flit, ...]
    outputs = {}
    for k, (x, y) in enumerate(params.tiles()):
        for slot in sorted(slots[k]):
            pop, i = slots[k][slot]
            lst = list(flits_of.get((pop["name"], i), []))
            if pop["record"]:
                flit = spec.host_flit(slot, x, y)
                lst.append(flit)
                outputs[str(flit)] = [pop["name"], i]
            routes[k][slot] = lst
    if any(u["routes"][0] != sum(len(r) for r in routes[k].values()) for k, u in enumerate(usage)):
        raise RuntimeError("compiler: route usage and route tables disagree (a compiler bug)")

    writes = []
    for k, (x, y) in enumerate(params.tiles()):
        writes += _tile_writes(params, x, y, slots[k], axons[k], routes[k])

    inputs = {p["name"]: [flits_of.get((p["name"], i), []) for i in range(p["size"])]
              for p in net.populations if p["kind"] == "input"}
    chip_map = {
        "format": MAP_FORMAT,
        "network": net.path,
        "hardware": params.to_dict(),
        "inputs": inputs,
        "outputs": outputs,
        "placement": {name: [list(w) for w in where] for name, where in placement.items()},
        "usage": usage,
        "recorded": [p["name"] for p in net.populations if p["record"]],
        "populations": [{"name": p["name"], "kind": p["kind"], "size": p["size"]} for p in net.populations],
    }
    return Compiled(params=params, writes=writes, map=chip_map)


def check_capacity(path, usage: list) -> None:
    """Refuse the first over-full resource, tile by tile, naming the tile and by how much."""
    for entry in usage:
        x, y = entry["tile"]
        for key, _cap_field, label in RESOURCES:
            used, cap = entry[key]
            if used > cap:
                raise NetworkError(path, f"tile ({x}, {y})", f"needs {used} {label}, has {cap} ({used - cap} too many)",
                                   show_value=False)


def _pack(word: spec.Word, values: dict) -> int:
    return word.pack(**{f.name: values[f.name] for f in word.fields})


def _neuron_params(pop: dict, i: int) -> dict:
    """Neuron i's section-3 parameters (each one integer for the population, or one per neuron)."""
    return {name: (v[i] if isinstance(v, list) else v) for name, v in pop["params"].items()}


def _tile_writes(params: spec.HwParams, x: int, y: int, slots: dict, axons: list, routes: dict) -> list:
    n = max(slots, default=-1) + 1   # slots are consecutive from 0 (placement)
    out = []

    def put(region, offset, data):
        out.append((spec.tile_addr(x, y, region, offset), data))

    for slot in range(n):
        pop, i = slots[slot]
        values = _neuron_params(pop, i)
        for w, word in enumerate(spec.PARAM_WORDS):
            put("param", len(spec.PARAM_WORDS) * slot + w, _pack(word, values))
    for offset in range(spec.NEURON_WORDS * n):
        put("state", offset, 0)
    for region in ("acc0", "acc1"):
        for offset in range(n):
            put(region, offset, 0)
    ptr = 0
    synapse_words = []
    for a in range(params.axons_per_core):
        if a < len(axons):
            (_pop, _i, wexp), syn = axons[a]
            put("axon", a, spec.AXON_WORD.pack(ptr=ptr, len=len(syn), wexp=wexp))
            synapse_words += [spec.SYNAPSE_WORD.pack(target=slot, weight=w) for slot, w in syn]
            ptr += len(syn)
        else:
            put("axon", a, 0)
    for offset, word in enumerate(synapse_words):
        put("synapse", offset, word)
    rptr = 0
    route_words = []
    for slot in range(n):
        lst = routes.get(slot, [])
        put("rlist", slot, spec.RLIST_WORD.pack(ptr=rptr, len=len(lst)) if lst else 0)
        route_words += [spec.ROUTE_WORD.pack(flit=f) for f in lst]
        rptr += len(lst)
    for offset, word in enumerate(route_words):
        put("route", offset, word)
    put("active", 0, spec.ACTIVE_WORD.pack(count=n))
    return out
