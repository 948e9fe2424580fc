"""Placement: which tile and which neuron slot each lif neuron gets.

Input populations live in the host and occupy no neuron. Explicit placements (a population's
`placement` in the network file) are honoured first, chunk by chunk, in file order. The other
lif populations are then placed automatically, in file order:

- keep a population together: the first tile (in tile index order, y * width + x) on which the
  whole population fits is taken;
- where no tile holds it whole, split it: neuron by neuron onto the first tile with room.

"Fits" counts the resources a neuron brings to the tile that holds it: one neuron slot, its
incoming synapse entries (they live at the target's core), and the axons for the sources it
adds (one axon per (source neuron, weight_exp) per target core, SPEC section 4). Route entries
depend on where the targets end up, so they are only checked by the compiler afterwards.
A neuron that alone needs more synapse entries or axons than a core has is refused by name. A
neuron that fits no tile any more goes to the first tile with a free slot regardless, so that
the compiler's capacity check names the tile, the resource and by how much it overflows.

The slot of a neuron is its index in the core's neuron memory, consecutive in placement order.
"""
from __future__ import annotations

from collections import defaultdict

from neuromesh import spec

from .netfile import Network, NetworkError


class _Tile:
    """Running resource use of one tile during placement."""

    def __init__(self, x: int, y: int):
        self.x, self.y = x, y
        self.neurons = 0
        self.synapses = 0
        self.axons: set = set()

    def copy(self) -> "_Tile":
        t = _Tile(self.x, self.y)
        t.neurons, t.synapses, t.axons = self.neurons, self.synapses, set(self.axons)
        return t

    def fits(self, params: spec.HwParams, incoming: list) -> bool:
        if self.neurons + 1 > params.neurons_per_core:
            return False
        if self.synapses + len(incoming) > params.synapses_per_core:
            return False
        new = {(src, wexp) for src, wexp, _w in incoming} - self.axons
        return len(self.axons) + len(new) <= params.axons_per_core

    def add(self, incoming: list) -> int:
        slot = self.neurons
        self.neurons += 1
        self.synapses += len(incoming)
        self.axons.update((src, wexp) for src, wexp, _w in incoming)
        return slot


def incoming_synapses(net: Network) -> dict:
    """{(post pop, post index): [((pre pop, pre index), weight_exp, weight), ...]} in file order."""
    incoming = defaultdict(list)
    for pr in net.projections:
        for i, j, w in pr["synapses"]:
            incoming[(pr["post"], j)].append(((pr["pre"], i), pr["weight_exp"], w))
    return incoming


def place(net: Network) -> dict:
    """{lif population: [(x, y, slot) per neuron]}."""
    params = net.params
    incoming = incoming_synapses(net)
    lif = [p for p in net.populations if p["kind"] == "lif"]
    capacity = params.n_tiles * params.neurons_per_core
    total = sum(p["size"] for p in lif)
    if total > capacity:
        raise NetworkError(net.path, "populations",
                           f"the lif populations need {total} neurons, the {params.width}x{params.height} mesh "
                           f"has {capacity} ({total - capacity} too many)", show_value=False)

    tiles = [_Tile(x, y) for x, y in params.tiles()]
    placed = {}
    for p in lif:  # explicit placements first: they are the user's decision
        if p["placement"] is None:
            continue
        where = []
        for x, y, count in p["placement"]:
            tile = tiles[y * params.width + x]
            for _ in range(count):
                i = len(where)
                where.append((x, y, tile.add(incoming.get((p["name"], i), []))))
        placed[p["name"]] = where

    _check_single_neurons(net, incoming)
    auto = [p for p in lif if p["placement"] is None]
    placed.update(_auto(net, tiles, auto, incoming))
    return {p["name"]: placed[p["name"]] for p in lif}


def _check_single_neurons(net: Network, incoming: dict) -> None:
    """A neuron that alone needs more synapse entries or axons than a core has fits nowhere:
    say so, naming the neuron, rather than blaming whichever tile it lands on."""
    params = net.params
    for k, p in enumerate(net.populations):
        if p["kind"] != "lif":
            continue
        for i in range(p["size"]):
            inc = incoming.get((p["name"], i), [])
            for used, cap, label in ((len(inc), params.synapses_per_core, "synapse entries"),
                                     (len({(src, wexp) for src, wexp, _w in inc}), params.axons_per_core,
                                      "axons (one per source neuron and weight_exp)")):
                if used > cap:
                    raise NetworkError(net.path, f"populations[{k}]",
                                       f"neuron {i} of {p['name']!r} alone needs {used} {label}, a core has {cap} "
                                       f"({used - cap} too many)", show_value=False)


def _auto(net: Network, tiles: list, pops: list, incoming: dict) -> dict:
    params = net.params
    placed = {}
    for p in pops:
        ins = [incoming.get((p["name"], i), []) for i in range(p["size"])]
        whole = next((t for t in tiles if _fits_all(params, t, ins)), None)
        where = []
        for inc in ins:
            tile = whole or next((t for t in tiles if t.fits(params, inc)), None)
            if tile is None:
                # Out of room for this neuron's synapses or axons everywhere: put it on the
                # first tile with a free slot anyway; the compiler's capacity check then names
                # that tile, the resource and by how much.
                tile = next((t for t in tiles if t.neurons < params.neurons_per_core), None)
            if tile is None:  # only possible when explicit placements over-fill tiles
                free = sum(max(0, params.neurons_per_core - t.neurons) for t in tiles)
                need = sum(q["size"] for q in pops)
                raise NetworkError(net.path, "populations",
                                   f"the automatically placed populations need {need} neurons, the tiles "
                                   f"left free by explicit placements have {free}", show_value=False)
            where.append((tile.x, tile.y, tile.add(inc)))
        placed[p["name"]] = where
    return placed


def _fits_all(params, tile: _Tile, ins: list) -> bool:
    if tile.neurons + len(ins) > params.neurons_per_core:
        return False
    trial = tile.copy()
    for inc in ins:
        if not trial.fits(params, inc):
            return False
        trial.add(inc)
    return True
