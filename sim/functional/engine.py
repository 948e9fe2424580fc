"""The functional engine: `run(params, writes, tick_inputs, host) -> EngineRun`, tick-exact.

SPEC section 9's last paragraph: the golden model's spikes and its counts of SOPs, updates, spikes
fired, flits sent, hops per link and crossings per asynchronous link, with no cycles. It can be
exact without simulating a single cycle because of SPEC section 2's delivery rule: a synaptic
event is integrated in the next tick to start, whatever its arrival time, so the spikes of tick
t depend only on the spikes of tick t-1 and the host's input flits of tick t; and routes are
deterministic (XY), so the counts follow from how often each flit was sent (`traffic.py`).

Per tick, on arrays over every active neuron of the chip (a leading batch axis runs many
stimuli at once, `run_many`):

1. the host's input flits of tick t add their axon lists to the filling accumulator;
2. the update phase (SPEC 3, `sim/lif.py`, the golden model's own vectorised arithmetic) consumes
   it, wrapped to `acc_width` bits as the accumulator memory holds it;
3. every neuron that fired adds the synapses its route entries reach (one gather over the
   precomposed `Tables.syn_*`) to the accumulator of tick t+1; its host-bound route entries
   are the output flits of tick t.

The host's behaviour (gaps, back-pressure) changes cycles only, never spikes or counts, so it is
accepted and ignored. Output flits are reported by tick; their order inside a tick is not the
chip's (it depends on cycles): host-bound flits the host itself sent first, then by neuron.
"""
from __future__ import annotations

import numpy as np

from neuromesh import spec
from neuromesh.result import EngineRun
from neuromesh.sorting import unique

from .. import lif
from .tables import DELIVER, HOST, Tables, load_tables, ranges
from .traffic import links, router_counts

_COUNTER_MASK = (1 << spec.COUNTER_BITS) - 1


def run(params: spec.HwParams, writes, tick_inputs, host=None, *, progress=None, clocks=None,
        tables: Tables | None = None, **_opts) -> EngineRun:
    """One stimulus (`tick_inputs[t-1]`: the host's input flits of tick t). `clocks`
    (`spec.Clocks`) marks which links are asynchronous; `tables` reuses a decoded image."""
    return run_many(params, writes, [tick_inputs], progress=progress, clocks=clocks, tables=tables)[0]


def run_many(params: spec.HwParams, writes, inputs: list, *, progress=None, clocks=None,
             tables: Tables | None = None, batch: int = 256) -> list:
    """Many stimuli on one image, each as if on a freshly loaded chip: one `EngineRun` per
    entry of `inputs`. Stimuli of the same length run together, `batch` at a time, on arrays
    with a leading stimulus axis (what the digits workload and a sweep of stimulus seeds need)."""
    tables = tables or load_tables(params, writes)
    partition = clocks.partition(params) if clocks is not None else None
    out = [None] * len(inputs)
    by_len = {}
    for k, ticks in enumerate(inputs):
        by_len.setdefault(len(ticks), []).append(k)
    for n_ticks, ks in by_len.items():
        for i in range(0, len(ks), batch):
            chunk = ks[i:i + batch]
            runs = _run_batch(tables, [inputs[k] for k in chunk], n_ticks, progress if len(inputs) == 1 else None,
                              partition)
            for k, r in zip(chunk, runs):
                out[k] = r
    return out


def _run_batch(tb: Tables, inputs: list, n_ticks: int, progress, partition) -> list:
    p = tb.params
    B, N = len(inputs), tb.n_neurons
    u = np.tile(tb.u0, (B, 1))
    v = np.tile(tb.v0, (B, 1))
    r = np.tile(tb.r0, (B, 1))
    pending = np.tile(tb.acc0, (B, 1))
    fires = np.zeros((B, N), dtype=np.int64)
    # host flits: every distinct value classified once (they enter at tile (0, 0))
    flat = [f for ticks in inputs for flits in ticks for f in flits]
    values = unique(np.array(flat, dtype=np.int64)) if flat else np.zeros(0, dtype=np.int64)
    host = tb.classify(values, 0)
    host_count = np.zeros((B, len(values)), dtype=np.int64)
    # host-bound route entries, for the output flits of every tick
    is_host = tb.routes.kind == HOST
    host_ptr = np.concatenate(([0], np.cumsum(_per_neuron(is_host, tb.route_ptr))))
    host_flit = tb.route_flit[is_host]
    out_flits = [[] for _ in range(B)]
    for t in range(1, n_ticks + 1):
        # 1. the host's input flits of tick t
        bs, vs = [], []
        for b, ticks in enumerate(inputs):
            flits = ticks[t - 1]
            if flits:
                k = np.searchsorted(values, np.array(flits, dtype=np.int64))
                bs.append(np.full(len(k), b))
                vs.append(k)
        if bs:
            bi, ki = np.concatenate(bs), np.concatenate(vs)
            np.add.at(host_count, (bi, ki), 1)
            for b, k in zip(bi[host.kind[ki] == HOST].tolist(), ki[host.kind[ki] == HOST].tolist()):
                out_flits[b].append((t, values[k:k + 1]))
            rows = host.row[ki]
            has = rows >= 0
            idx = ranges(tb.row_ptr, rows[has])
            b_rep = np.repeat(bi[has], np.diff(tb.row_ptr)[rows[has]])
            pending += _sum_into(b_rep, tb.row_target[idx], tb.row_weight[idx], B, N)
        # 2. the update phase
        acc = lif.wrap_signed(pending, p.acc_width)
        fired = lif.update(tb.p, u, v, r, acc)
        fires += fired
        pending = np.zeros((B, N), dtype=np.int64)
        if t == 1:
            pending += tb.acc1
        # 3. spikes: their synapses for tick t+1, their host-bound flits now
        bi, gi = np.nonzero(fired)
        if len(gi):
            idx = ranges(tb.syn_ptr, gi)
            b_rep = np.repeat(bi, tb.syn_ptr[gi + 1] - tb.syn_ptr[gi])
            pending += _sum_into(b_rep, tb.syn_target[idx], tb.syn_weight[idx], B, N)
            n_host = host_ptr[gi + 1] - host_ptr[gi]
            if n_host.any():
                hidx = ranges(host_ptr, gi)
                ob = np.repeat(bi, n_host)
                of = host_flit[hidx]
                if B == 1:
                    out_flits[0].append((t, of))
                else:
                    for b in unique(ob).tolist():
                        out_flits[b].append((t, of[ob == b]))
        if progress:
            progress(t)
    return [_engine_run(tb, fires[b], values, host, host_count[b], _pairs(out_flits[b]), n_ticks, partition)
            for b in range(B)]


def _pairs(chunks: list) -> "TickFlits":
    """The (tick, flit) pairs of [(tick, array of flits)], as two arrays (no tuple per flit)."""
    if not chunks:
        return TickFlits(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    ticks = np.concatenate([np.full(len(f), t, dtype=np.int64) for t, f in chunks])
    flits = np.concatenate([np.asarray(f, dtype=np.int64) for _t, f in chunks])
    return TickFlits(ticks, flits)


class TickFlits:
    """The functional engine's output flits: `ticks` and `flits` int64 arrays, in the order they
    left (a large run sends millions, so no tuple per flit). It still reads as the list of
    `(tick, flit)` pairs of `EngineRun.out_flits`: `len`, iteration (Python ints), indexing and
    `==` against such a list; `neuromesh.result` reads the arrays directly."""
    __slots__ = ("ticks", "flits")

    def __init__(self, ticks, flits):
        self.ticks = np.ascontiguousarray(ticks, dtype=np.int64)
        self.flits = np.ascontiguousarray(flits, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ticks)

    def __iter__(self):
        return iter(zip(self.ticks.tolist(), self.flits.tolist()))

    def __getitem__(self, k):
        if isinstance(k, slice):
            return TickFlits(self.ticks[k], self.flits[k])
        return int(self.ticks[k]), int(self.flits[k])

    def __eq__(self, other):
        try:
            return list(self) == [tuple(p) for p in other]
        except TypeError:
            return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        return f"TickFlits({len(self)}: {list(self[:3])}{' ...' if len(self) > 3 else ''})"


def _per_neuron(flags: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """How many of each neuron's route entries have `flags` set."""
    n = len(ptr) - 1
    owner = np.repeat(np.arange(n), np.diff(ptr))
    return np.bincount(owner, weights=flags.astype(np.float64), minlength=n).astype(np.int64)


def _sum_into(b: np.ndarray, target: np.ndarray, weight: np.ndarray, B: int, N: int) -> np.ndarray:
    """(B, N) int64 sums of `weight` at (b, target): exact (|sums| far below 2^53)."""
    if not len(target):
        return 0
    s = np.bincount(b * N + target, weights=weight, minlength=B * N)
    return s.astype(np.int64).reshape(B, N)


def _engine_run(tb: Tables, fires: np.ndarray, values, host, host_count, out_flits, n_ticks,
                partition) -> EngineRun:
    p = tb.params
    T = p.n_tiles
    rt = tb.routes
    entry_count = np.repeat(fires, np.diff(tb.route_ptr))
    src = np.concatenate([rt.src_tile, host.src_tile])
    dst = np.concatenate([rt.dst_tile, host.dst_tile])
    kind = np.concatenate([rt.kind, host.kind])
    count = np.concatenate([entry_count, host_count])
    fwd, router_errors, core_errors = router_counts(p, src, dst, kind, count)
    delivered = (kind == DELIVER)
    sops = np.bincount(dst[delivered], weights=(np.concatenate([rt.sops, host.sops]) * count)[delivered],
                       minlength=T)
    spikes = np.bincount(tb.tile_of, weights=fires, minlength=T)
    flits_sent = np.bincount(rt.src_tile, weights=entry_count, minlength=T)
    updates = tb.n_active * n_ticks
    cores = [{"sops": int(sops[k]), "updates": int(updates[k]), "spikes": int(spikes[k]),
              "flits_sent": int(flits_sent[k]), "errors": int(core_errors[k])} for k in range(T)]
    routers = [{**{f"fwd_{port}": int(fwd[k, i]) for i, port in enumerate(spec.PORTS)}, "errors": int(router_errors[k])}
               for k in range(T)]
    for entry in cores + routers:   # 32-bit registers, as read over cfg_req (they wrap)
        for key in entry:
            entry[key] &= _COUNTER_MASK
    counters = {"chip": {"ticks": n_ticks & _COUNTER_MASK, "busy_cycles": None}, "cores": cores, "routers": routers}
    host_in = int(host_count.sum())
    link_list = links(p, fwd, partition, host_in)
    # The asynchronous links' crossing counters (`read_counters`'s `links`: by receiving tile
    # and input port, in the same order), from the sender's forward counts.
    counters["links"] = []
    if partition is not None:
        for k, (x, y) in enumerate(p.tiles()):
            for port in spec.LINK_PORTS:
                dx, dy = spec.PORT_DELTA[port]
                if 0 <= x + dx < p.width and 0 <= y + dy < p.height:
                    n = (y + dy) * p.width + x + dx
                    if partition[n] != partition[k]:
                        crossed = int(fwd[n, spec.OPPOSITE[port]]) & _COUNTER_MASK
                        counters["links"].append({"tile": [x, y], "port": spec.PORTS[port], "crossed": crossed})
    return EngineRun(out_flits=out_flits, handshakes=[], completions=[], counters=counters, host_flits=host_in,
                     extras={"links": link_list}, timed=False)


def run_stimuli(net, compiled, stimuli: list, *, profile: str = "loihi", names: list | None = None) -> list:
    """Result dicts (`neuromesh.result.build_result`, as `neuromesh run --engine functional`
    writes them) of many stimuli on one compiled network, run together (`run_many`).
    `stimuli`: `netfile.Stimulus` objects or stimulus dicts (parsed here)."""
    from neuromesh.firmware.netfile import Stimulus, parse_stimulus
    from neuromesh.result import build_result, tick_inputs
    names = names or [f"<stimulus {k}>" for k in range(len(stimuli))]
    parsed = [s if isinstance(s, Stimulus) else parse_stimulus(s, net, name) for s, name in zip(stimuli, names)]
    inputs = [tick_inputs(s.spikes, compiled.map["inputs"], s.ticks) for s in parsed]
    runs = run_many(compiled.params, compiled.writes, inputs, clocks=net.clocks)
    return [build_result(r, engine="functional", params=compiled.params, chip_map=compiled.map,
                         populations=net.populations, stimulus=s.spikes, ticks=s.ticks, profile=profile,
                         sources={"stimulus": name})
            for r, s, name in zip(runs, parsed, names)]


def spike_rasters(runs: list, chip_map: dict, ticks: int) -> dict:
    """{recorded lif population: (len(runs), ticks, size) bool array}: which neuron fired in which
    tick, for every run (what a workload scoring many stimuli wants, without result dicts)."""
    sizes = {p["name"]: p["size"] for p in chip_map["populations"]}
    out = {name: np.zeros((len(runs), ticks, sizes[name]), dtype=bool) for name in chip_map["recorded"]
           if name in chip_map["placement"]}
    where = {int(flit): (pop, index) for flit, (pop, index) in chip_map["outputs"].items()}
    for b, r in enumerate(runs):
        for t, flit in r.out_flits:
            hit = where.get(flit)
            if hit and hit[0] in out and t <= ticks:
                out[hit[0]][b, t - 1, hit[1]] = True
    return out
