"""Placement: which tile and which neuron slot each lif neuron gets.

Input populations live in the host and occupy no neuron. Explicit placements (a population's
`placement` in the network file) are honoured first, chunk by chunk, in file order. The other
lif populations are then placed automatically, in file order:

- keep a population together: the first tile (in tile index order, y * width + x) on which the
  whole population fits is taken;
- where no tile holds it whole, split it: neuron by neuron onto the first tile with room.

"Fits" counts every resource the compiler will allocate (docs/firmware.md section 5), as it
stands with the neurons placed so far: one neuron slot; the neuron's incoming synapse entries
(they live at the target's core); one axon per (source neuron, weight_exp) new on that core; and
route entries, which live at the *source's* core: one per (source, target core, weight_exp)
axon, counted as soon as both ends are placed, plus the host route of a recorded neuron.

A neuron that alone needs more synapse entries or axons than a core has is refused by name. A
neuron that fits no tile any more goes to the first tile with a free slot regardless, so that
the compiler's capacity check names the tile, the resource and by how much it overflows.

The slot of a neuron is its index in the core's neuron memory, consecutive in placement order.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from .netfile import Network, NetworkError


class _State:
    """Running resource use of every tile, and where each placed lif neuron is."""

    def __init__(self, net: Network):
        self.params = net.params
        self.tiles = list(net.params.tiles())
        n = len(self.tiles)
        self.neurons = [0] * n
        self.synapses = [0] * n
        self.routes = [0] * n
        self.axons = [set() for _ in range(n)]
        self.where = {}  # (pop, i) -> tile index
        self.lif = {p["name"] for p in net.populations if p["kind"] == "lif"}
        self.record = {p["name"] for p in net.populations if p["record"]}
        self.incoming = defaultdict(list)  # (post pop, j) -> [((pre pop, i), wexp)]
        self.outgoing = defaultdict(list)  # (pre pop, i) -> [((post pop, j), wexp)]
        for pr in net.projections:
            for i, j, _w in pr["synapses"]:
                self.incoming[(pr["post"], j)].append(((pr["pre"], i), pr["weight_exp"]))
                self.outgoing[(pr["pre"], i)].append(((pr["post"], j), pr["weight_exp"]))

    def copy(self) -> "_State":
        c = object.__new__(_State)
        c.__dict__.update(self.__dict__)
        c.neurons, c.synapses, c.routes = list(self.neurons), list(self.synapses), list(self.routes)
        c.axons = [set(a) for a in self.axons]
        c.where = dict(self.where)
        return c

    def _cost(self, n, t: int):
        """(new axon keys on tile t, route entries added per tile) if neuron n goes to tile t."""
        new_keys = {key for key in self.incoming.get(n, ())} - self.axons[t]
        routes = Counter()
        for src, _wexp in new_keys:  # a new axon here is one more route entry at its source
            if src == n:
                routes[t] += 1
            elif src in self.where:
                routes[self.where[src]] += 1
        # n's own routes to targets placed before it (their axons for n already exist there);
        # targets on t itself are counted above if their axon is new, else here
        own = {(self.where[tgt], wexp) for tgt, wexp in self.outgoing.get(n, ()) if tgt != n and tgt in self.where}
        routes[t] += len(own) + (n[0] in self.record)
        return new_keys, routes

    def fits(self, n, t: int) -> bool:
        p = self.params
        if self.neurons[t] + 1 > p.neurons_per_core:
            return False
        if self.synapses[t] + len(self.incoming.get(n, ())) > p.synapses_per_core:
            return False
        new_keys, routes = self._cost(n, t)
        if len(self.axons[t]) + len(new_keys) > p.axons_per_core:
            return False
        return all(self.routes[s] + k <= p.routes_per_core for s, k in routes.items())

    def add(self, n, t: int) -> int:
        new_keys, routes = self._cost(n, t)
        slot = self.neurons[t]
        self.neurons[t] += 1
        self.synapses[t] += len(self.incoming.get(n, ()))
        self.axons[t] |= new_keys
        for s, k in routes.items():
            self.routes[s] += k
        self.where[n] = t
        return slot


def place(net: Network) -> dict:
    """{lif population: [(x, y, slot) per neuron]}."""
    params = net.params
    lif = [p for p in net.populations if p["kind"] == "lif"]
    capacity = params.n_tiles * params.neurons_per_core
    total = sum(p["size"] for p in lif)
    if total > capacity:
        raise NetworkError(net.path, "populations",
                           f"the lif populations need {total} neurons, the {params.width}x{params.height} mesh "
                           f"has {capacity} ({total - capacity} too many)", show_value=False)
    state = _State(net)
    _check_single_neurons(net, state)

    placed = {}
    for p in lif:  # explicit placements first: they are the user's decision
        if p["placement"] is None:
            continue
        where = []
        for x, y, count in p["placement"]:
            t = y * params.width + x
            for _ in range(count):
                where.append((x, y, state.add((p["name"], len(where)), t)))
        placed[p["name"]] = where

    for p in lif:
        if p["placement"] is None:
            placed[p["name"]] = _auto(net, state, p)
    return {p["name"]: placed[p["name"]] for p in lif}


def _check_single_neurons(net: Network, state: _State) -> None:
    """A neuron that alone needs more synapse entries or axons than a core has fits nowhere:
    say so, naming the neuron, rather than blaming whichever tile it lands on."""
    params = net.params
    for k, p in enumerate(net.populations):
        if p["kind"] != "lif":
            continue
        for i in range(p["size"]):
            inc = state.incoming.get((p["name"], i), [])
            for used, cap, label in ((len(inc), params.synapses_per_core, "synapse entries"),
                                     (len(set(inc)), params.axons_per_core,
                                      "axons (one per source neuron and weight_exp)")):
                if used > cap:
                    raise NetworkError(net.path, f"populations[{k}]",
                                       f"neuron {i} of {p['name']!r} alone needs {used} {label}, a core has {cap} "
                                       f"({used - cap} too many)", show_value=False)


def _auto(net: Network, state: _State, p: dict) -> list:
    params = net.params
    neurons = [(p["name"], i) for i in range(p["size"])]
    tiles = range(len(state.tiles))
    whole = next((t for t in tiles if _fits_all(state, neurons, t)), None)
    where = []
    for n in neurons:
        t = whole if whole is not None else next((t for t in tiles if state.fits(n, t)), None)
        if t is None:
            # Out of room for this neuron everywhere: put it on the first tile with a free slot
            # anyway; the compiler's capacity check then names that tile, the resource and by how
            # much. (The total neuron count was checked, but explicit placements may over-fill.)
            t = next((t for t in tiles if state.neurons[t] < params.neurons_per_core), 0)
        x, y = state.tiles[t]
        where.append((x, y, state.add(n, t)))
    return where


def _fits_all(state: _State, neurons: list, t: int) -> bool:
    if state.neurons[t] + len(neurons) > state.params.neurons_per_core:
        return False
    trial = state.copy()
    for n in neurons:
        if not trial.fits(n, t):
            return False
        trial.add(n, t)
    return True
