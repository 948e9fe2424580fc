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

How it is computed (the rule above is the contract; this is only speed). Neurons are numbered
globally (population order, then index), synapses are arrays, and the running resource use of
every tile is kept as arrays (per tile: neurons, synapse entries, route entries, and the sorted
axon keys `source * 8 + weight_exp`). Every check is "the value after adding <= the capacity",
and every count only grows, so placing a run of neurons on one tile is checked for all of them
at once (cumulative sums over the run, the first failing neuron found with one comparison):
- a whole population on tile t fits iff the state after adding all of it fits;
- the split rule always takes the first tile with a free slot for as long a run of neurons as
  fits there (earlier tiles are full); the one neuron that does not fit is searched for on the
  later tiles alone, then the run goes on. No Python work per neuron or per synapse.
"""
from __future__ import annotations

import numpy as np

from ..sorting import stable_argsort, unique
from .netfile import Network, NetworkError

WEXP_KEY = 8          # axon key = source * 8 + weight_exp (weight_exp is 3 bits)


class _Graph:
    """Every synapse of the network as global neuron numbers, and CSR views by target and source."""

    def __init__(self, net: Network):
        self.pops = net.populations
        sizes = np.array([p["size"] for p in net.populations], dtype=np.int64)
        self.base = dict(zip((p["name"] for p in net.populations), np.concatenate(([0], np.cumsum(sizes)))[:-1].tolist()))
        self.n = int(sizes.sum())
        self.projections = net.projections
        self.in_degree = np.zeros(self.n, dtype=np.int64)
        for pr in net.projections:   # per projection: no concatenated copy unless needed
            b = self.base[pr["post"]]
            self.in_degree[b:b + self.pops_size(pr["post"])] += np.bincount(pr["synapses"].post,
                                                                             minlength=self.pops_size(pr["post"]))
        self._all = None
        self._csr = None

    def pops_size(self, name: str) -> int:
        return next(p["size"] for p in self.pops if p["name"] == name)

    def edges(self, projection: dict):
        """(pre, post, key) of one projection's synapses in global numbers (int64)."""
        s = projection["synapses"]
        pre = s.pre.astype(np.int64) + self.base[projection["pre"]]
        post = s.post.astype(np.int64) + self.base[projection["post"]]
        return pre, post, pre * WEXP_KEY + projection["weight_exp"]

    def _concat(self):
        if self._all is None:
            parts = [self.edges(pr) for pr in self.projections]
            cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64))
            self._all = tuple(cat([p[k] for p in parts]) for k in range(3))
        return self._all

    pre = property(lambda self: self._concat()[0])
    post = property(lambda self: self._concat()[1])
    key = property(lambda self: self._concat()[2])
    wexp = property(lambda self: self._concat()[2] % WEXP_KEY)

    def csr(self):
        """(in_ptr, in_key, out_ptr, out_tgt, out_wexp): synapses by target and by source."""
        if self._csr is None:
            by_post = stable_argsort(self.post)
            by_pre = stable_argsort(self.pre)
            in_ptr = np.concatenate(([0], np.cumsum(self.in_degree)))
            out_ptr = np.concatenate(([0], np.cumsum(np.bincount(self.pre, minlength=self.n))))
            self._csr = (in_ptr, self.key[by_post], out_ptr, self.post[by_pre], self.wexp[by_pre])
        return self._csr


class _State:
    """Running resource use of every tile, and where each placed neuron is (-1: not placed)."""

    def __init__(self, net: Network, graph: _Graph, where: np.ndarray, record: np.ndarray):
        p = net.params
        self.params, self.g = p, graph
        T = p.n_tiles
        self.where = where
        self.record = record
        placed = where >= 0
        self.neurons = np.bincount(where[placed], minlength=T)
        tgt_tile = where[graph.post]
        has = tgt_tile >= 0
        self.synapses = np.bincount(tgt_tile[has], minlength=T)
        ax = unique(tgt_tile[has] * (graph.n * WEXP_KEY) + graph.key[has])
        ax_tile, ax_key = ax // (graph.n * WEXP_KEY), ax % (graph.n * WEXP_KEY)
        split = np.searchsorted(ax_tile, np.arange(T + 1))
        self.axkeys = [ax_key[split[t]:split[t + 1]] for t in range(T)]   # sorted per tile
        src_tile = where[ax_key // WEXP_KEY]
        self.routes = np.bincount(src_tile[src_tile >= 0], minlength=T) + \
            np.bincount(where[placed & record], minlength=T)

    def run_fits(self, t: int, run: np.ndarray) -> int:
        """How many of the neurons `run` (global numbers, in order) fit on tile t one after the
        other, the first refused ending the run (the exact incremental rule of the module doc)."""
        p, g = self.params, self.g
        m = len(run)
        if m == 0:
            return 0
        in_ptr, in_key, out_ptr, out_tgt, out_wexp = g.csr()
        lo = int(run.min())
        hi = int(run.max()) + 1
        contiguous = hi - lo == m and np.all(np.diff(run) == 1)
        ok = np.ones(m, dtype=bool)
        # neuron slots
        ok &= self.neurons[t] + np.arange(1, m + 1) <= p.neurons_per_core
        # synapse entries
        ok &= self.synapses[t] + np.cumsum(g.in_degree[run]) <= p.synapses_per_core
        # axons: keys new on t, at their first occurrence in the run
        sel = _ranges(in_ptr, run)
        i_of = np.repeat(np.arange(m), g.in_degree[run])
        keys = in_key[sel]
        fresh = ~_isin_sorted(keys, self.axkeys[t])
        keys, i_of = keys[fresh], i_of[fresh]
        if len(keys):
            by_key = stable_argsort(keys)   # the first occurrence of each key (np.unique's return_index)
            first = by_key[np.concatenate(([True], keys[by_key][1:] != keys[by_key][:-1]))]
            new_i, new_key = i_of[first], keys[first]
        else:
            new_i, new_key = i_of, keys
        ok &= len(self.axkeys[t]) + np.cumsum(np.bincount(new_i, minlength=m)) <= p.axons_per_core
        # routes. Position in the run of a neuron (-1: not in the run)
        if contiguous:
            def run_pos(x):
                r = x - lo
                return np.where((r >= 0) & (r < m), r, -1)
        else:
            order = np.argsort(run)
            sorted_run = run[order]

            def run_pos(x):
                k = np.minimum(np.searchsorted(sorted_run, x), m - 1)
                return np.where(sorted_run[k] == x, order[k], -1)
        src = new_key // WEXP_KEY
        j = run_pos(src)
        at_t = (j >= 0) & (j <= new_i)                  # the source is this neuron or placed before it on t
        before = (j < 0) & (self.where[src] >= 0)       # placed before the run: its own tile
        inc_tile = np.concatenate([np.full(int(at_t.sum()), t), self.where[src[before]]])
        inc_i = np.concatenate([new_i[at_t], new_i[before]])
        # own routes: (tile, weight_exp) of targets placed before, other than the neuron itself
        osel = _ranges(out_ptr, run)
        o_i = np.repeat(np.arange(m), np.diff(out_ptr)[run])
        tgt, wx = out_tgt[osel], out_wexp[osel]
        jt = run_pos(tgt)
        tt = np.where(jt >= 0, np.where(jt < o_i, t, -1), self.where[tgt])
        keep = (tt >= 0) & (tgt != run[o_i])
        if keep.any():
            own = unique((o_i[keep] * (p.n_tiles + 1) + tt[keep]) * WEXP_KEY + wx[keep])
            own_i = own // WEXP_KEY // (p.n_tiles + 1)     # each one more route entry on t itself
            inc_tile = np.concatenate([inc_tile, np.full(len(own_i), t)])
            inc_i = np.concatenate([inc_i, own_i])
        rec = self.record[run].astype(np.int64)
        inc_tile = np.concatenate([inc_tile, np.full(m, t)])
        inc_i = np.concatenate([inc_i, np.arange(m)])
        inc_n = np.concatenate([np.ones(len(inc_i) - m, dtype=np.int64), rec])
        # tile t is checked after every add; another tile only after an add that grows it
        order = np.lexsort((inc_i, inc_tile))
        it, ii, nn = inc_tile[order], inc_i[order], inc_n[order]
        csum = np.cumsum(nn)
        group_start = np.concatenate(([True], it[1:] != it[:-1]))
        offset = np.maximum.accumulate(np.where(group_start, csum - nn, 0))
        level = self.routes[it] + csum - offset
        checked = (it == t) | (nn > 0)
        bad = checked & (level > p.routes_per_core)
        if bad.any():
            ok[ii[bad].min():] = False
        return m if ok.all() else int(np.argmin(ok))

    def add_run(self, t: int, run: np.ndarray) -> None:
        """Place `run` on tile t (whether or not it fits) and update every count."""
        g = self.g
        in_ptr, in_key, out_ptr, out_tgt, out_wexp = g.csr()
        self.where[run] = t
        self.neurons[t] += len(run)
        self.synapses[t] += int(g.in_degree[run].sum())
        keys = unique(in_key[_ranges(in_ptr, run)])
        new = keys[~_isin_sorted(keys, self.axkeys[t])]
        self.axkeys[t] = unique(np.concatenate([self.axkeys[t], new]))
        # routes: every axon now having both ends placed and not counted before
        src_tile = self.where[new // WEXP_KEY]
        np.add.at(self.routes, src_tile[src_tile >= 0], 1)
        # axons elsewhere (and on t, placed before) whose source is in the run and was unplaced
        osel = _ranges(out_ptr, run)
        src = np.repeat(run, np.diff(out_ptr)[run])
        tgt, wx = out_tgt[osel], out_wexp[osel]
        tt = self.where[tgt]
        keep = tt >= 0
        pairs = unique((src[keep] * (self.params.n_tiles) + tt[keep]) * WEXP_KEY + wx[keep])
        # those on t with a source in the run were just counted through `new` if new on t
        p_tile = pairs // WEXP_KEY % self.params.n_tiles
        p_key = (pairs // WEXP_KEY // self.params.n_tiles) * WEXP_KEY + pairs % WEXP_KEY
        counted = (p_tile == t) & _isin_sorted(p_key, np.sort(new))
        self.routes[t] += int((~counted).sum())
        self.routes[t] += int(self.record[run].sum())


def _ranges(ptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    starts = ptr[rows]
    lens = ptr[rows + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    return np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total, dtype=np.int64)


def _isin_sorted(x: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys) or not len(x):
        return np.zeros(len(x), dtype=bool)
    k = np.minimum(np.searchsorted(sorted_keys, x), len(sorted_keys) - 1)
    return sorted_keys[k] == x


def place(net: Network) -> dict:
    """{lif population: (n, 3) int64 array of (x, y, slot) per neuron}."""
    params = net.params
    lif = [p for p in net.populations if p["kind"] == "lif"]
    capacity = params.n_tiles * params.neurons_per_core
    total = sum(p["size"] for p in lif)
    if total > capacity:
        raise NetworkError(net.path, "populations",
                           f"the lif populations need {total} neurons, the {params.width}x{params.height} mesh "
                           f"has {capacity} ({total - capacity} too many)", show_value=False)
    graph = _Graph(net)
    _check_single_neurons(net, graph)

    where = np.full(graph.n, -1, dtype=np.int64)
    slot = np.full(graph.n, -1, dtype=np.int64)
    count = np.zeros(params.n_tiles, dtype=np.int64)
    for p in lif:   # explicit placements first: they are the user's decision
        if p["placement"] is None:
            continue
        tiles = np.repeat([y * params.width + x for x, y, _n in p["placement"]],
                          [n for _x, _y, n in p["placement"]]).astype(np.int64)
        b = graph.base[p["name"]]
        where[b:b + p["size"]] = tiles
        slot[b:b + p["size"]] = count[tiles] + _occurrence(tiles)
        np.add.at(count, tiles, 1)

    auto = [p for p in lif if p["placement"] is None]
    if auto:
        record = np.zeros(graph.n, dtype=bool)
        for p in net.populations:
            if p["record"]:
                record[graph.base[p["name"]]:graph.base[p["name"]] + p["size"]] = True
        state = _State(net, graph, where, record)
        for p in auto:
            b = graph.base[p["name"]]
            run = np.arange(b, b + p["size"], dtype=np.int64)
            before = state.neurons.copy()
            _auto(state, run)
            # slots: consecutive per tile in placement order (the order neurons were added)
            tiles = state.where[run]
            slot[run] = before[tiles] + _occurrence(tiles)
    out = {}
    for p in lif:
        b = graph.base[p["name"]]
        t = where[b:b + p["size"]]
        out[p["name"]] = np.stack([t % params.width, t // params.width, slot[b:b + p["size"]]], axis=1)
    return out


def _occurrence(tiles: np.ndarray) -> np.ndarray:
    """For each entry, how many earlier entries hold the same tile."""
    order = stable_argsort(tiles)
    st = tiles[order]
    start = np.concatenate(([0], np.flatnonzero(st[1:] != st[:-1]) + 1))
    rank = np.arange(len(st)) - np.repeat(start, np.diff(np.concatenate((start, [len(st)]))))
    out = np.empty(len(tiles), dtype=np.int64)
    out[order] = rank
    return out


def _check_single_neurons(net: Network, graph: _Graph) -> None:
    """A neuron that alone needs more synapse entries or axons than a core has fits nowhere:
    say so, naming the neuron, rather than blaming whichever tile it lands on."""
    params = net.params
    S, A = params.synapses_per_core, params.axons_per_core
    bad_syn = graph.in_degree > S
    bad_ax = np.zeros(graph.n, dtype=bool)
    heavy = graph.in_degree > A     # fewer synapses than a core's axons cannot need too many axons
    distinct = np.zeros(graph.n, dtype=np.int64)
    if heavy.any():
        pairs = []
        for pr in graph.projections:
            _pre, post, key = graph.edges(pr)
            sel = heavy[post]
            pairs.append(post[sel] * (graph.n * WEXP_KEY) + key[sel])
        pairs = unique(np.concatenate(pairs))
        distinct = np.bincount(pairs // (graph.n * WEXP_KEY), minlength=graph.n)
        bad_ax = distinct > A
    bad = np.flatnonzero(bad_syn | bad_ax)
    if not len(bad):
        return
    g = int(bad[0])
    for k, p in enumerate(net.populations):
        b = graph.base[p["name"]]
        if b <= g < b + p["size"]:
            break
    i = g - b
    if bad_syn[g]:
        used, cap, label = int(graph.in_degree[g]), S, "synapse entries"
    else:
        used, cap, label = int(distinct[g]), A, "axons (one per source neuron and weight_exp)"
    raise NetworkError(net.path, f"populations[{k}]",
                       f"neuron {i} of {p['name']!r} alone needs {used} {label}, a core has {cap} "
                       f"({used - cap} too many)", show_value=False)


def _auto(state: _State, run: np.ndarray) -> None:
    p = state.params
    T = p.n_tiles
    size = len(run)
    g = state.g
    # keep together: the first tile that holds the whole population
    need_syn = int(g.in_degree[run].sum())
    for t in np.flatnonzero((state.neurons + size <= p.neurons_per_core) &
                            (state.synapses + need_syn <= p.synapses_per_core)).tolist():
        if state.run_fits(t, run) == size:
            state.add_run(t, run)
            return
    # split: runs of neurons onto the first tile with a free slot; a refused neuron alone
    # onto the first later tile where it fits (or, fitting nowhere, onto that first tile anyway)
    k = 0
    while k < size:
        free = np.flatnonzero(state.neurons < p.neurons_per_core)
        t = int(free[0]) if len(free) else 0
        n_fit = state.run_fits(t, run[k:k + p.neurons_per_core - int(state.neurons[t])]) if len(free) else 0
        if n_fit:
            state.add_run(t, run[k:k + n_fit])
            k += n_fit
            continue
        one = run[k:k + 1]
        deg = int(g.in_degree[run[k]])
        later = np.flatnonzero((np.arange(T) > t) & (state.neurons < p.neurons_per_core) &
                               (state.synapses + deg <= p.synapses_per_core)).tolist()
        dest = next((u for u in later if state.run_fits(u, one) == 1), t)
        state.add_run(dest, one)
        k += 1
