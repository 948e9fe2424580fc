"""The neuron core (docs/architecture.md section 4), the twin of `hw/neuron_core.py`.

Three engines that share no memory port:

* walker: a flit accepted in cycle c for axon a (`< axons_per_core`) reads the axon table in
  c (LOOKUP in c+2), one synapse per cycle from c+2, read-modify-write of the filling
  accumulator slot written four cycles after each synapse read; `in.ready` is high again in
  c + 2 + max(1, len) and the core is idle again from c + len + 6 (c + 3 for an empty list). A
  bad axon bumps `errors` and leaves the walker ready in c+1. The accumulator additions
  commute, so the model applies them at acceptance and keeps only the timing.
* updater: the tick handshake in cycle h runs SPEC section 3 on neurons 0 .. n_active-1 (the
  core's active-neuron count; none if it is 0); neuron n's reads are issued in h+1+n and its
  result comes out of the pipeline in h+1+L+n (L = `spec.UPDATE_LATENCY`); its spike-queue
  entry can be popped QUEUE_DELAY cycles later. The chip (sim/mesh.py) runs the arithmetic for
  all cores at once (sim/lif.py); the core keeps the queue.
* emitter: pop in e, LIST in e+2, offers from e+4 one route flit per cycle, holding a flit
  that is not accepted; after the last transfer in k it is IDLE in k+1 (next pop possible
  there); an empty route list frees it in e+3.

The core never steps per cycle: the chip asks it what happens at an event cycle (a pop, an
offer, an accepted flit) and it answers with the cycle its activity ends.

Memory is proportional to what an image writes, not to the configured maximum (a 64 x 64 chip
of 4096-neuron cores has 16.7 M neuron slots): tables are dicts (an unwritten word reads 0, as
in a memory initialised to 0), and a core's neuron parameters and state are numpy arrays that
grow to the highest slot written or active (`NeuronArrays`).
"""
from __future__ import annotations

from collections import deque

import numpy as np

from neuromesh import spec

from . import lif

PARAM_NAMES = tuple(spec.NEURON_PARAMS)
# docs/architecture.md 4.2 and 4.4 (the RTL registers every memory's read word before using it):
WALK_LOOKUP = 2      # a flit accepted in c is looked up in c+2: ready again c + 2 + max(1, len)
WALK_TAIL = 4        # a synapse read in s is written in s+4: idle again from c + len + 6
QUEUE_DELAY = 3      # a spike-queue entry written in p can be popped from p+3
EMIT_FIRST = 4       # popped in e: first route flit offered in e+4
EMIT_EMPTY = 3       # popped in e with an empty route list: IDLE again in e+3
STATE_NAMES = ("u", "v", "r")
NEURON_FIELDS = PARAM_NAMES + STATE_NAMES


class NeuronArrays:
    """One core's neuron parameters and state, `cap` slots of each (int64 arrays), grown on
    demand. The chip may replace the arrays by views of its chip-wide packed arrays
    (`sim/mesh.py`), so that one numpy call updates every core; growing then detaches the core
    (it copies its view) and tells the chip to pack again."""

    def __init__(self, on_layout):
        self.cap = 0      # slots allocated
        self.hi = 0       # slots in use: 1 + the highest slot written or active
        self.a = {name: np.zeros(0, dtype=np.int64) for name in NEURON_FIELDS}
        self._on_layout = on_layout

    def ensure(self, slots: int) -> None:
        if slots <= self.hi:
            return
        self.hi = slots
        if slots > self.cap:
            cap = max(slots, 2 * self.cap, 8)
            for name, old in self.a.items():
                new = np.zeros(cap, dtype=np.int64)
                new[:self.cap] = old[:self.cap]
                self.a[name] = new
            self.cap = cap
            self._on_layout()

    def trim(self) -> None:
        """Drop allocated slots beyond `hi` (the chip packs exactly the slots in use)."""
        if self.cap > self.hi:
            for name in self.a:
                self.a[name] = self.a[name][:self.hi]
            self.cap = self.hi


class NeuronCore:
    def __init__(self, params: spec.HwParams, x: int, y: int, index: int, on_layout=lambda: None):
        self.params = params
        self.x, self.y, self.index = x, y, index
        self.n = params.neurons_per_core
        self.n_active = 0        # SPEC 3: neurons 0 .. n_active-1 are updated
        # Table words as written (masked to their fields) and their decoded forms; absent = 0.
        self.param_words = {}
        self.axon_words = {}
        self.axon = {}           # axon -> (ptr, len, wexp)
        self.synapse_words = {}
        self.synapse = {}        # entry -> (target, weight)
        self.rlist_words = {}
        self.rlist = {}          # neuron -> (ptr, len)
        self.route = {}          # entry -> flit
        # Neuron parameters and state (`NeuronArrays`; the chip packs them for the update).
        self.neurons = NeuronArrays(on_layout)
        self._on_layout = on_layout
        # Accumulator slots: plain ints (cheap per-synapse adds) in lists grown to the highest
        # target, wrapped when read; `touched` says a slot may hold something other than 0.
        self.acc = [[], []]
        self.touched = [False, False]
        self.counters = dict.fromkeys(spec.CORE_COUNTERS, 0)
        # Walker: the first cycle in which in.ready is high again.
        self.walk_ready = 0
        # Spike queue [(cycle it can be popped from, neuron)] and emitter.
        self.queue = deque()
        self.emit_flits = None   # route flits of the neuron being emitted (None: not in EMIT)
        self.emit_next = 0       # index of the flit offered next
        self.emit_from = 0       # first cycle of EMIT
        self.emit_end = 0        # cycle the emitter is IDLE again if nothing more stalls
        self.out_fifo = None     # the router's local input FIFO (set by the chip)
        self._expanded = {}      # axon -> [(target, weight << wexp)], cleared on table writes

    # -- configuration (docs/architecture.md section 6) -----------------------------------------
    def write(self, region: str, offset: int, data: int) -> None:
        p = self.params
        word = spec.region_word(p, region, offset)
        data &= word.mask
        f = word.unpack(data)
        if region in ("param", "state"):
            if region == "param":
                self.param_words[offset] = data
            n = offset // spec.NEURON_WORDS
            self.neurons.ensure(n + 1)
            a = self.neurons.a
            for name, value in f.items():
                a[name][n] = value
        elif region in ("acc0", "acc1"):
            slot = region == "acc1"
            acc = self._acc(slot, offset + 1)
            acc[offset] = f["acc"]
            self.touched[slot] = True
        elif region == "active":
            # A count above the core's size is stored as the size (as hw/neuron_core.py does).
            self.n_active = min(f["count"], self.n)
            self.neurons.ensure(self.n_active)
            self._on_layout()
        elif region == "axon":
            self.axon_words[offset] = data
            self.axon[offset] = (f["ptr"], f["len"], f["wexp"])
            self._expanded.clear()
        elif region == "synapse":
            self.synapse_words[offset] = data
            self.synapse[offset] = (f["target"], f["weight"])
            self._expanded.clear()
        elif region == "rlist":
            self.rlist_words[offset] = data
            self.rlist[offset] = (f["ptr"], f["len"])
        elif region == "route":
            self.route[offset] = data
        # core_cnt is read-only: writes are ignored.

    def _acc(self, slot: int, size: int) -> list:
        acc = self.acc[slot]
        if len(acc) < size:
            acc.extend([0] * (max(size, self.n_active) - len(acc)))
        return acc

    def read(self, region: str, offset: int) -> int:
        p = self.params
        if region == "param":
            return self.param_words.get(offset, 0)
        if region == "state":
            n = offset // spec.NEURON_WORDS
            if n >= self.neurons.cap:
                return 0
            a = self.neurons.a
            if offset % spec.NEURON_WORDS == 0:
                return spec.STATE_WORDS[0].pack(u=int(lif.wrap_signed(int(a["u"][n]), spec.STATE_BITS)))
            return spec.STATE_WORDS[1].pack(v=int(a["v"][n]), r=int(a["r"][n]))
        if region in ("acc0", "acc1"):
            acc = self.acc[region == "acc1"]
            value = lif.wrap_signed(acc[offset], p.acc_width) if offset < len(acc) else 0
            return spec.acc_word(p).pack(acc=value)
        if region in ("axon", "synapse", "rlist"):
            return getattr(self, f"{region}_words").get(offset, 0)
        if region == "route":
            return self.route.get(offset, 0)
        if region == "active":
            return spec.ACTIVE_WORD.pack(count=self.n_active)
        if region == "core_cnt":
            return self.counters[spec.CORE_COUNTERS[offset]] & ((1 << spec.COUNTER_BITS) - 1)
        raise KeyError(region)

    def consume(self, slot: int, count: int, width: int):
        """The updater's side of the accumulators: slot `slot` of neurons 0 .. count-1, wrapped
        to `width` bits, then zeroed (SPEC 3: acc = 0). None if the slot holds only zeros."""
        if not self.touched[slot]:
            return None
        acc = self.acc[slot]
        values = acc[:count] + [0] * (count - len(acc)) if len(acc) < count else acc[:count]
        try:
            out = lif.wrap_signed(np.array(values, dtype=np.int64), width)
        except OverflowError:  # sums beyond int64: wrap them one by one first
            out = np.array([lif.wrap_signed(v, width) for v in values], dtype=np.int64)
        acc[:count] = [0] * min(count, len(acc))
        self.touched[slot] = any(acc[count:])
        return out

    # -- walker ---------------------------------------------------------------------------------
    def synapses_of(self, axon: int) -> list:
        """[(target, weight << wexp)] of an axon's list. Entries past the end of the synapse
        memory (or targets past the last neuron) wrap: the loader refuses such lists."""
        ex = self._expanded.get(axon)
        if ex is None:
            ptr, length, wexp = self.axon.get(axon, (0, 0, 0))
            s, n = self.params.synapses_per_core, self.n
            ex = []
            for j in range(length):
                target, weight = self.synapse.get((ptr + j) % s, (0, 0))
                ex.append((target % n, weight << wexp))
            self._expanded[axon] = ex
        return ex

    def accept(self, flit: int, cycle: int, fill: int) -> int:
        """The walker takes `flit` in `cycle`. Returns the first cycle the core is idle again
        as far as the walker is concerned."""
        axon = spec.flit_axon(flit)
        if axon >= self.params.axons_per_core:
            self.counters["errors"] += 1
            self.walk_ready = cycle + 1
            return cycle + 1
        syn = self.synapses_of(axon)
        length = len(syn)
        if length == 0:
            self.walk_ready = cycle + WALK_LOOKUP + 1
            return cycle + WALK_LOOKUP + 1
        acc = self.acc[fill]
        self.touched[fill] = True
        for target, w in syn:
            if target >= len(acc):
                acc = self._acc(fill, target + 1)
            acc[target] += w
        self.counters["sops"] += length
        self.walk_ready = cycle + WALK_LOOKUP + length
        # last synapse read in c + WALK_LOOKUP + length - 1, written WALK_TAIL cycles later
        return cycle + WALK_LOOKUP + length - 1 + WALK_TAIL + 1

    # -- spike queue and emitter ----------------------------------------------------------------
    def pop(self, e: int):
        """The emitter pops the queue in cycle e. Returns (cycle the emitter is IDLE again
        without stalls, True if it goes on to EMIT)."""
        _avail, n = self.queue.popleft()
        rptr, rlen = self.rlist.get(n, (0, 0))
        if rlen == 0:
            return e + EMIT_EMPTY, False
        r = self.params.routes_per_core
        self.emit_flits = [self.route.get((rptr + j) % r, 0) for j in range(rlen)]
        self.emit_next = 0
        self.emit_from = e + EMIT_FIRST
        self.emit_end = e + EMIT_FIRST + rlen
        return self.emit_end, True

    def next_pop(self, free_from: int):
        """The cycle of the next pop, with the emitter IDLE from `free_from` (None: queue empty)."""
        if not self.queue:
            return None
        return max(free_from, self.queue[0][0])

    def __repr__(self) -> str:
        return f"NeuronCore({self.x},{self.y})"
