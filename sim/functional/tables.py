"""A configuration image decoded into the arrays the functional engine works on.

The functional engine reads the same image as the golden model and the RTL (docs/architecture.md
section 6), not the network file: so it sees exactly what the chip holds, hand-made images
included. Decoding is whole-array NumPy (no Python object per write), the tables kept are only
what the image writes:

- neurons: the active slots of every core (SPEC 3: slots 0 .. n-1 of a core whose active-neuron
  count is n), numbered globally core by core in tile index order (`base[tile] + slot`); their
  parameters, initial state and the two initial accumulator slots. Slots past a core's count are
  never updated and never fire, so they are not kept at all;
- axons: every written axon word with a non-empty list becomes a *row*: its synapse entries
  expanded (`(target, weight << wexp)`, entries past the end wrap as in the golden model; targets
  past the core's count cost an SOP and change nothing);
- routes: the route list of every active neuron, each entry classified once: delivered to a row
  (or to an empty axon), bound for the host, refused by its first router (a tile outside the
  mesh), or refused by the target core (an axon number past `axons_per_core`).

`neuron_syn` composes routes and rows: for every neuron, the (target, weight) of every synapse its
one spike reaches, duplicates kept. A spike then costs one gather, no per-flit work.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neuromesh import spec
from neuromesh.firmware.image import Writes, first_bad_write
from neuromesh.firmware.loader import LoadError

# What a flit does (per route entry or host flit).
DELIVER, HOST, REFUSED_ROUTER, REFUSED_CORE = range(4)


def ranges(indptr: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """The flat indices of the entries of CSR rows `sel` (rows repeated as often as listed)."""
    starts = indptr[sel]
    lens = indptr[sel + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return shift + np.arange(total, dtype=np.int64)


def _field(data: np.ndarray, word: spec.Word, name: str) -> np.ndarray:
    f = word.field(name)
    v = ((data >> f.lsb) & ((1 << f.width) - 1)).astype(np.int64)
    if f.signed:
        v = np.where(v >> (f.width - 1) != 0, v - (1 << f.width), v)
    return v


def _lookup(keys_sorted: np.ndarray, query: np.ndarray):
    """(index into keys_sorted, found) for every query key."""
    if not len(keys_sorted):
        return np.zeros(len(query), dtype=np.int64), np.zeros(len(query), dtype=bool)
    pos = np.searchsorted(keys_sorted, query)
    pos_c = np.minimum(pos, len(keys_sorted) - 1)
    return pos_c, keys_sorted[pos_c] == query


@dataclass
class Flits:
    """A set of flits, classified: where each starts and ends, what it does there."""
    src_tile: np.ndarray    # the router it enters first
    kind: np.ndarray        # DELIVER, HOST, REFUSED_ROUTER, REFUSED_CORE
    dst_tile: np.ndarray    # target tile (DELIVER, REFUSED_CORE), 0 for HOST, -1 when refused
    row: np.ndarray         # axon row (DELIVER with a non-empty list), else -1
    sops: np.ndarray        # synaptic operations at the target core (the axon list's length)


@dataclass
class Tables:
    params: spec.HwParams
    n_active: np.ndarray    # per tile
    base: np.ndarray        # per tile: global index of its slot 0 (tile index order)
    tile_of: np.ndarray     # per neuron: its tile
    slot_of: np.ndarray     # per neuron: its slot
    p: dict                 # section-3 parameters, int64 per neuron
    u0: np.ndarray
    v0: np.ndarray
    r0: np.ndarray
    acc0: np.ndarray        # initial accumulator slots 0 and 1 (acc_width-wide values)
    acc1: np.ndarray
    # rows: non-empty axon lists
    row_tile: np.ndarray
    row_axon: np.ndarray
    row_len: np.ndarray
    row_ptr: np.ndarray     # CSR over the active-target synapses of each row
    row_target: np.ndarray
    row_weight: np.ndarray
    # routes of every neuron (CSR), classified
    route_ptr: np.ndarray
    route_flit: np.ndarray
    routes: Flits
    # the synapses one spike of each neuron reaches (CSR)
    syn_ptr: np.ndarray
    syn_target: np.ndarray
    syn_weight: np.ndarray

    @property
    def n_neurons(self) -> int:
        return len(self.tile_of)

    def classify(self, flits: np.ndarray, src_tile: np.ndarray) -> Flits:
        """What each flit (a 32-bit word) entering the mesh at `src_tile` does (SPEC 5, the
        refusals of docs/architecture.md sections 3 and 4.2)."""
        p = self.params
        flits = np.asarray(flits, dtype=np.int64)
        src_tile = np.broadcast_to(np.asarray(src_tile, dtype=np.int64), flits.shape).copy()
        axon = flits & ((1 << spec.AXON_FIELD_BITS) - 1)
        lsb_x = dict((n, l) for n, l, _w in spec.FLIT_FIELDS)
        x = (flits >> lsb_x["x"]) & ((1 << spec.COORD_BITS) - 1)
        y = (flits >> lsb_x["y"]) & ((1 << spec.COORD_BITS) - 1)
        host = (flits >> lsb_x["host"]) & 1
        refused = ((flits & spec.RESERVED_MASK) != 0) | ((host == 0) & ((x >= p.width) | (y >= p.height)))
        kind = np.full(flits.shape, DELIVER, dtype=np.int8)
        kind[host == 1] = HOST
        kind[(host == 0) & (axon >= p.axons_per_core)] = REFUSED_CORE
        kind[refused] = REFUSED_ROUTER
        dst = np.where(kind == HOST, 0, y * p.width + x)
        dst[kind == REFUSED_ROUTER] = -1
        key = dst * p.axons_per_core + axon
        pos, found = _lookup(self._row_keys, key)
        ok = (kind == DELIVER) & found
        row = np.where(ok, pos, -1)
        sops = np.where(ok, self.row_len[pos] if len(self.row_len) else 0, 0)
        return Flits(src_tile, kind, dst, row, sops)

    @property
    def _row_keys(self) -> np.ndarray:
        return self.row_tile * self.params.axons_per_core + self.row_axon


def _last_writes(addr: np.ndarray, data: np.ndarray):
    """The last word written at each address (an image may write an address twice)."""
    if len(addr) < 2 or np.all(addr[1:] > addr[:-1]):
        return addr, data   # the compiler's images: strictly increasing addresses
    order = np.argsort(addr, kind="stable")
    a, d = addr[order], data[order]
    last = np.ones(len(a), dtype=bool)
    last[:-1] = a[1:] != a[:-1]
    return a[last], d[last]


def _read(row_of: np.ndarray, table: np.ndarray, tiles: np.ndarray, off: np.ndarray) -> np.ndarray:
    """table[tile, off], 0 for a tile without writes."""
    r = np.where(tiles < len(row_of), row_of[np.minimum(tiles, len(row_of) - 1)], -1)
    out = table[np.maximum(r, 0), off]
    out[r < 0] = 0
    return out


def load_tables(params: spec.HwParams, writes) -> Tables:
    """Check an image as the loader does (the same refusals, `LoadError`) and decode it.
    Working memory: a few bytes per write and ~20 bytes per synapse entry (docs/scale.md)."""
    w = Writes.of(writes)
    bad = first_bad_write(params, w)
    if bad is not None:
        raise LoadError(f"write {bad[0]}: {bad[1]}")
    addr, data = _last_writes(w.addr, w.data)
    region = ((addr >> spec.ADDR_REGION_LSB) & ((1 << spec.ADDR_REGION_BITS) - 1)).astype(np.uint8)
    n_tiles, N = params.n_tiles, params.neurons_per_core

    def dense(name, size, dtype):
        """A region's words of every tile that has any, as `_dense` gives them, filled chunk by
        chunk (the synapse region can hold 67 M words)."""
        sel = np.flatnonzero(region == spec.REGION[name])
        a = addr[sel]
        tiles = ((a >> spec.ADDR_Y_LSB) & ((1 << spec.COORD_BITS) - 1)).astype(np.int32) * params.width + \
            ((a >> spec.ADDR_X_LSB) & ((1 << spec.COORD_BITS) - 1)).astype(np.int32)
        seen = np.zeros(n_tiles, dtype=bool)   # the tiles with writes, in order (np.unique's
        seen[tiles] = True                     # answer without sorting 67 M synapse words)
        used = np.flatnonzero(seen)
        row_of = np.full(n_tiles, -1, dtype=np.int64)
        row_of[used] = np.arange(len(used))
        table = np.zeros((max(len(used), 1), size), dtype=dtype)
        step = 1 << 22
        for lo in range(0, len(sel), step):
            t = tiles[lo:lo + step]
            table[row_of[t], (a[lo:lo + step] & ((1 << spec.ADDR_OFFSET_BITS) - 1)).astype(np.int64)] = \
                data[sel[lo:lo + step]]
        return row_of, table

    def part(name):
        sel = np.flatnonzero(region == spec.REGION[name])
        a = addr[sel]
        tile = ((a >> spec.ADDR_Y_LSB) & ((1 << spec.COORD_BITS) - 1)).astype(np.int64) * params.width + \
            ((a >> spec.ADDR_X_LSB) & ((1 << spec.COORD_BITS) - 1)).astype(np.int64)
        return tile, (a & ((1 << spec.ADDR_OFFSET_BITS) - 1)).astype(np.int64), data[sel].astype(np.int64)

    # -- neurons ---------------------------------------------------------------------------
    n_active = np.zeros(n_tiles, dtype=np.int64)
    t, _o, d = part("active")
    n_active[t] = np.minimum(_field(d, spec.ACTIVE_WORD, "count"), N)
    base = np.concatenate(([0], np.cumsum(n_active)))[:-1]
    total = int(n_active.sum())
    tile_of = np.repeat(np.arange(n_tiles, dtype=np.int64), n_active)
    slot_of = np.arange(total, dtype=np.int64) - base[tile_of]

    def neuron_index(t, slot):
        """Global index of (tile, slot), -1 for a slot past the core's count."""
        ok = slot < n_active[t]
        return np.where(ok, base[t] + slot, -1)

    p = {name: np.zeros(total, dtype=np.int64) for name in spec.NEURON_PARAMS}
    state = {name: np.zeros(total, dtype=np.int64) for name in ("u", "v", "r")}
    for region_name, words, target in (("param", spec.PARAM_WORDS, p), ("state", spec.STATE_WORDS, state)):
        t, o, d = part(region_name)
        for k, word in enumerate(words):
            sel = o % spec.NEURON_WORDS == k
            g = neuron_index(t[sel], o[sel] // spec.NEURON_WORDS)
            keep = g >= 0
            for f in word.fields:
                target[f.name][g[keep]] = _field(d[sel][keep], word, f.name)
    accs = []
    acc_word = spec.acc_word(params)
    for region_name in ("acc0", "acc1"):
        acc = np.zeros(total, dtype=np.int64)
        t, o, d = part(region_name)
        g = neuron_index(t, o)
        acc[g[g >= 0]] = _field(d[g >= 0], acc_word, "acc")
        accs.append(acc)

    # -- axon rows and their synapses ------------------------------------------------------
    A, S, R = params.axons_per_core, params.synapses_per_core, params.routes_per_core
    t, o, d = part("axon")
    ln = _field(d, spec.AXON_WORD, "len")
    nz = ln > 0
    row_tile, row_axon, row_len = t[nz], o[nz], ln[nz]      # sorted by (tile, axon), as the addresses
    row_start = _field(d, spec.AXON_WORD, "ptr")[nz]
    row_wexp = _field(d, spec.AXON_WORD, "wexp")[nz]
    del t, o, d, ln, nz
    syn_row_of, syn_table = dense("synapse", S, np.uint32)    # words of the tiles that have any
    n_entries = int(row_len.sum())
    row_first = np.cumsum(row_len) - row_len
    row_of_entry = np.repeat(np.arange(len(row_len), dtype=np.int32), row_len)
    words = np.empty(n_entries, dtype=np.uint32)
    step = 1 << 22
    for lo in range(0, n_entries, step):   # in chunks: bounded temporaries
        r = row_of_entry[lo:lo + step]
        e = (np.arange(lo, lo + len(r), dtype=np.int64) - row_first[r] + row_start[r]) % S   # wraps (golden)
        words[lo:lo + step] = _read(syn_row_of, syn_table, row_tile[r], e)
    del syn_table
    target = _field(words, spec.SYNAPSE_WORD, "target") % N
    g = neuron_index(row_tile[row_of_entry], target)
    del target
    keep = g >= 0
    weight = (_field(words[keep], spec.SYNAPSE_WORD, "weight") << row_wexp[row_of_entry[keep]]).astype(np.int16)
    del words
    row_ptr = np.concatenate(([0], np.cumsum(np.bincount(row_of_entry[keep], minlength=len(row_len)))))
    row_target = g[keep].astype(np.int32)
    row_weight = weight
    del g, keep, row_of_entry, weight

    tables = Tables(params, n_active, base, tile_of, slot_of, p, state["u"], state["v"], state["r"],
                    accs[0], accs[1], row_tile, row_axon, row_len, row_ptr, row_target, row_weight,
                    None, None, None, None, None, None)

    # -- routes of every active neuron -----------------------------------------------------
    t, o, d = part("rlist")
    rlen = np.zeros(total, dtype=np.int64)
    rptr = np.zeros(total, dtype=np.int64)
    g = neuron_index(t, o)
    rlen[g[g >= 0]] = _field(d[g >= 0], spec.RLIST_WORD, "len")
    rptr[g[g >= 0]] = _field(d[g >= 0], spec.RLIST_WORD, "ptr")
    route_ptr = np.concatenate(([0], np.cumsum(rlen)))
    j = np.arange(int(route_ptr[-1]), dtype=np.int64) - np.repeat(route_ptr[:-1], rlen)
    entry_tile = np.repeat(tile_of, rlen)
    route_row_of, route_table = dense("route", R, np.uint32)
    route_flit = _read(route_row_of, route_table, entry_tile, (np.repeat(rptr, rlen) + j) % R)  # unwritten: 0
    del route_table, j
    tables.route_ptr, tables.route_flit = route_ptr, route_flit
    tables.routes = tables.classify(route_flit, entry_tile)

    # -- compose: the synapses one spike of each neuron reaches ----------------------------
    rows = tables.routes.row
    has_row = rows >= 0
    row_size = np.diff(row_ptr)
    per_entry = np.zeros(len(rows), dtype=np.int64)
    per_entry[has_row] = row_size[rows[has_row]]
    neuron_of_entry = np.repeat(np.arange(total, dtype=np.int64), rlen)
    syn_count = np.bincount(neuron_of_entry, weights=per_entry, minlength=total).astype(np.int64)
    idx = ranges(row_ptr, rows[has_row])
    tables.syn_ptr = np.concatenate(([0], np.cumsum(syn_count)))
    tables.syn_target = row_target[idx]
    tables.syn_weight = row_weight[idx]
    return tables
