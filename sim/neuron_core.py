"""The neuron core (docs/architecture.md section 4), the twin of `hw/neuron_core.py`.

Three engines that share no memory port:

* walker: a flit accepted in cycle c for axon a (`< axons_per_core`) reads the axon table in
  c (LOOKUP in c+1), one synapse per cycle from c+1, read-modify-write of the filling
  accumulator slot two cycles later; `in.ready` is high again in c + 1 + max(1, len) and the
  core is idle again from c + len + 3 (c + 2 for an empty list). A bad axon bumps `errors`
  and leaves the walker ready in c+1. The accumulator additions commute, so the model applies
  them at acceptance and keeps only the timing.
* updater: the tick handshake in cycle h runs SPEC section 3 on every neuron; neuron n is
  computed in h+2+n, so its spike-queue entry can be popped from h+3+n. The chip (sim/mesh.py)
  runs the arithmetic for all cores at once (sim/lif.py); the core keeps the queue.
* emitter: pop in e, LIST in e+1, offers from e+2 one route flit per cycle, holding a flit
  that is not accepted; after the last transfer in k it is IDLE in k+1 (next pop possible
  there); an empty route list frees it in e+2.

The core never steps per cycle: the chip asks it what happens at an event cycle (a pop, an
offer, an accepted flit) and it answers with the cycle its activity ends.
"""
from __future__ import annotations

from collections import deque

from neuromesh import spec

from . import lif


class NeuronCore:
    def __init__(self, params: spec.HwParams, x: int, y: int, index: int, arrays: dict):
        self.params = params
        self.x, self.y, self.index = x, y, index
        n = params.neurons_per_core
        self.n = n
        # Table words as written (masked to their fields) and their decoded forms.
        self.param_words = [0] * (spec.NEURON_WORDS * n)
        self.axon_words = [0] * params.axons_per_core
        self.axon = [(0, 0, 0)] * params.axons_per_core          # (ptr, len, wexp)
        self.synapse_words = [0] * params.synapses_per_core
        self.synapse = [(0, 0)] * params.synapses_per_core       # (target, weight)
        self.rlist_words = [0] * n
        self.rlist = [(0, 0)] * n                                # (ptr, len)
        self.route = [0] * params.routes_per_core                # flit
        # Neuron parameters and state: rows of the chip-wide numpy arrays (views).
        self.arrays = {name: a[index] for name, a in arrays.items()}
        # Accumulator slots: plain ints (cheap per-synapse adds), wrapped when read.
        self.acc = [[0] * n, [0] * n]
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
        if region == "param":
            self.param_words[offset] = data
            n = offset // spec.NEURON_WORDS
            for name, value in f.items():
                self.arrays[name][n] = value
        elif region == "state":
            n = offset // spec.NEURON_WORDS
            for name, value in f.items():
                self.arrays[name][n] = value
        elif region in ("acc0", "acc1"):
            self.acc[region == "acc1"][offset] = f["acc"]
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

    def read(self, region: str, offset: int) -> int:
        p = self.params
        if region == "param":
            return self.param_words[offset]
        if region == "state":
            n = offset // spec.NEURON_WORDS
            a = self.arrays
            if offset % spec.NEURON_WORDS == 0:
                return spec.STATE_WORDS[0].pack(u=int(lif.wrap_signed(int(a["u"][n]), spec.STATE_BITS)))
            return spec.STATE_WORDS[1].pack(v=int(a["v"][n]), r=int(a["r"][n]))
        if region in ("acc0", "acc1"):
            value = lif.wrap_signed(self.acc[region == "acc1"][offset], p.acc_width)
            return spec.acc_word(p).pack(acc=value)
        if region == "axon":
            return self.axon_words[offset]
        if region == "synapse":
            return self.synapse_words[offset]
        if region == "rlist":
            return self.rlist_words[offset]
        if region == "route":
            return self.route[offset]
        if region == "core_cnt":
            return self.counters[spec.CORE_COUNTERS[offset]] & ((1 << spec.COUNTER_BITS) - 1)
        raise KeyError(region)

    # -- walker ---------------------------------------------------------------------------------
    def synapses_of(self, axon: int) -> list:
        """[(target, weight << wexp)] of an axon's list. Entries past the end of the synapse
        memory (or targets past the last neuron) wrap: the compiler never writes such lists."""
        ex = self._expanded.get(axon)
        if ex is None:
            ptr, length, wexp = self.axon[axon]
            s, n = self.params.synapses_per_core, self.n
            ex = []
            for j in range(length):
                target, weight = self.synapse[(ptr + j) % s]
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
            self.walk_ready = cycle + 2
            return cycle + 2
        acc = self.acc[fill]
        for target, w in syn:
            acc[target] += w
        self.counters["sops"] += length
        self.walk_ready = cycle + 1 + length
        return cycle + length + 3

    # -- spike queue and emitter ----------------------------------------------------------------
    def pop(self, e: int):
        """The emitter pops the queue in cycle e. Returns (cycle the emitter is IDLE again
        without stalls, True if it goes on to EMIT)."""
        _avail, n = self.queue.popleft()
        rptr, rlen = self.rlist[n]
        if rlen == 0:
            return e + 2, False
        r = self.params.routes_per_core
        self.emit_flits = [self.route[(rptr + j) % r] for j in range(rlen)]
        self.emit_next = 0
        self.emit_from = e + 2
        self.emit_end = e + 2 + rlen
        return self.emit_end, True

    def next_pop(self, free_from: int):
        """The cycle of the next pop, with the emitter IDLE from `free_from` (None: queue empty)."""
        if not self.queue:
            return None
        return max(free_from, self.queue[0][0])

    def __repr__(self) -> str:
        return f"NeuronCore({self.x},{self.y})"
