"""The mesh of routers and the chip top (docs/architecture.md sections 3 and 5), the twin of
`hw/mesh.py`.

`Mesh` wires `Router`s together (an output of router A is the input FIFO of its neighbour B)
and advances all of them by one clock cycle with `step(k, pushes)`, BookSim style: an
*evaluate* phase reads only start-of-cycle state (FIFO heads and levels, round-robin pointers,
the cores' `in.ready`) and decides every grant and transfer; a *commit* phase then pops, pushes
and counts. No result depends on the order in which routers are visited, and only routers with
a non-empty input FIFO (the `active` set of FIFOs) cost any work.

`TrafficMesh` is the same mesh with BookSim-style traffic sources at the local inputs and
always-ready sinks at the local outputs (the benchmark's API). `Chip` adds one neuron core per
tile, the tick handshake, `busy`, and the configuration transport of section 6.
"""
from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from neuromesh import spec
from neuromesh.result import Transport

from . import lif
from .neuron_core import NEURON_FIELDS, PARAM_NAMES, NeuronCore
from .router import GRANT, NOWHERE, REFUSED, TO_CORE, TO_FIFO, TO_HOST, TO_SINK, Router

_COUNTER_MASK = (1 << spec.COUNTER_BITS) - 1


class Mesh:
    def __init__(self, params: spec.HwParams):
        self.params = params
        self.routers = [Router(params, x, y) for x, y in params.tiles()]  # index y * width + x
        for r in self.routers:
            for port, (dx, dy) in spec.PORT_DELTA.items():
                nx, ny = r.x + dx, r.y + dy
                if 0 <= nx < params.width and 0 <= ny < params.height:
                    out = r.outputs[port]
                    out.kind = TO_FIFO
                    out.sink = self.router(nx, ny).inputs[spec.OPPOSITE[port]]
        # spike_out: the west output of (0, 0); spike_in: the west input FIFO of (0, 0).
        self.routers[0].outputs[spec.WEST].kind = TO_HOST
        self.spike_in = self.routers[0].inputs[spec.WEST]
        # Start-of-cycle view of all heads: every output's request mask (`Output.req`, bit i =
        # input i's head asks for it), the outputs with a non-zero mask, the FIFOs whose head
        # is a refused flit, and how many FIFOs hold anything (`busy`). Kept up to date in
        # the commit phase, so a cycle's work is proportional to the outputs in demand.
        self.requested = set()
        self.refused = []
        self.nonempty = 0
        self.out_ready = lambda cycle: True  # spike_out.ready as a function of the cycle
        self.out_flits = []           # [(cycle, flit)] that left on spike_out
        self.delivered = []           # TO_SINK deliveries [(cycle, x, y, flit)] (if recording)
        self.record_sink = False
        self.sunk = 0                 # TO_SINK deliveries counted
        self.fill = 0                 # accumulator parity (used by TO_CORE deliveries)
        self.idle_max = 0             # first cycle from which every core is idle (events so far)

    def router(self, x: int, y: int) -> Router:
        return self.routers[y * self.params.width + x]

    def _head(self, fifo, out) -> None:
        """`out` (from the FIFO's new head) is requested from the next cycle on."""
        if out is REFUSED:
            self.refused.append(fifo)
        else:
            out.req |= 1 << fifo.port
            self.requested.add(out)

    def push(self, fifo, flit: int) -> None:
        """Write a flit into an input FIFO (at the head from the next cycle if it was empty)."""
        q = fifo.q
        out = fifo.router.route(flit)
        q.append((flit, out))
        n = len(q)
        if n == 1:
            self.nonempty += 1
            self._head(fifo, out)
        if n > fifo.peak:  # external pushes come after the commit's pops: n is the new level
            fifo.peak = n

    def _pop_fifo(self, fifo) -> int:
        q = fifo.q
        flit, out = q.popleft()
        if out is not REFUSED:
            r = out.req & ~(1 << fifo.port)
            out.req = r
            if not r:
                self.requested.discard(out)
        if q:
            self._head(fifo, q[0][1])
        else:
            self.nonempty -= 1
        return flit

    def step(self, k: int, pushes=()) -> None:
        """Clock cycle k. `pushes` are [(fifo, flit)] writes from outside the mesh (host, cores,
        traffic sources) whose `ready` the caller checked on start-of-cycle levels."""
        # Evaluate. An output whose downstream is not ready does nothing this cycle (its grant
        # would not transfer and rr holds), so it is skipped before arbitration.
        moves = []
        for out in self.requested:
            kind = out.kind
            if kind == TO_FIFO:
                d = out.sink
                if len(d.q) >= d.depth:
                    continue
            elif kind == TO_CORE:
                if out.sink.walk_ready > k:
                    continue
            elif kind == TO_HOST:
                if not self.out_ready(k):
                    continue
            elif kind == NOWHERE:
                continue  # an edge output has no neighbour: ready is 0, as in hw/mesh.py
            moves.append((out.router.inputs[GRANT[out.rr][out.req]], out))
        # Commit (pops and pushes inlined from `_pop_fifo` / `push`: this loop is the hot path).
        if self.refused:
            refused, self.refused = self.refused, []
            for f in refused:
                f.router.errors += 1
                self._pop_fifo(f)
        requested = self.requested
        grown = []  # FIFOs that may have reached a new peak (checked once all pops are done)
        for f, out in moves:
            q = f.q
            flit = q.popleft()[0]
            port = f.port
            r = out.req & ~(1 << port)
            out.req = r
            if not r:
                requested.discard(out)
            if q:
                nout = q[0][1]
                if nout is REFUSED:
                    self.refused.append(f)
                else:
                    nout.req |= 1 << port
                    requested.add(nout)
            else:
                self.nonempty -= 1
            out.rr = port
            out.count += 1
            kind = out.kind
            if kind == TO_FIFO:
                d = out.sink
                dq = d.q
                dout = d.router._routes.get(flit)
                if dout is None:
                    dout = d.router.route(flit)
                dq.append((flit, dout))
                n = len(dq)
                if n == 1:
                    self.nonempty += 1
                    if dout is REFUSED:
                        self.refused.append(d)
                    else:
                        dout.req |= 1 << d.port
                        requested.add(dout)
                if n > d.peak:
                    grown.append(d)
            elif kind == TO_CORE:
                end = out.sink.accept(flit, k, self.fill)
                if end > self.idle_max:
                    self.idle_max = end
            elif kind == TO_HOST:
                self.out_flits.append((k, flit))
            else:
                self.sunk += 1
                if self.record_sink:
                    r = out.router
                    self.delivered.append((k, r.x, r.y, flit))
        for d, flit in pushes:
            self.push(d, flit)
        for d in grown:
            if len(d.q) > d.peak:
                d.peak = len(d.q)

    # -- measurements ---------------------------------------------------------------------------
    def link_loads(self, host_in: int = 0) -> list:
        """Flits per directed link: router to router, host to (0, 0), (0, 0) to host."""
        links = [{"from": "host", "to": [0, 0], "port": "spike_in", "flits": host_in}]
        for r in self.routers:
            for out in r.outputs:
                if out.kind == TO_FIFO:
                    d = out.sink.router
                    links.append({"from": [r.x, r.y], "to": [d.x, d.y], "port": spec.PORTS[out.port],
                                  "flits": out.count})
                elif out.kind == TO_HOST:
                    links.append({"from": [r.x, r.y], "to": "host", "port": "spike_out", "flits": out.count})
        return links

    def fifo_peaks(self) -> list:
        return [{"tile": [r.x, r.y], "peak": {spec.PORTS[f.port]: f.peak for f in r.inputs}}
                for r in self.routers]


class TrafficMesh(Mesh):
    """The router mesh alone, BookSim style: an unbounded source queue in front of every local
    input FIFO and an always-ready sink behind every local output."""

    def __init__(self, params: spec.HwParams, record: bool = False):
        super().__init__(params)
        for r in self.routers:
            r.outputs[spec.LOCAL].kind = TO_SINK
        self.record_sink = record
        self.sources = {}            # local input FIFO -> deque of waiting flits
        self.injected = 0

    def inject(self, x: int, y: int, flit: int) -> None:
        """Queue a flit at tile (x, y)'s source; it enters the local FIFO when that is ready."""
        fifo = self.router(x, y).inputs[spec.LOCAL]
        q = self.sources.get(fifo)
        if q is None:
            q = self.sources[fifo] = deque()
        q.append(flit)

    def cycle(self, k: int) -> None:
        pushes = []
        empty = []
        for fifo, q in self.sources.items():
            if len(fifo.q) < fifo.depth:
                pushes.append((fifo, q.popleft()))
                self.injected += 1
                if not q:
                    empty.append(fifo)
        for fifo in empty:
            del self.sources[fifo]
        self.step(k, pushes)

    @property
    def idle(self) -> bool:
        return not self.nonempty and not self.sources

    def link_hops(self) -> int:
        """Router-to-router link crossings so far."""
        return sum(o.count for r in self.routers for o in r.outputs if o.kind == TO_FIFO)


class Chip(Mesh, Transport):
    """The chip top: mesh + one core per tile, `busy`, the tick handshake, the chip registers,
    and `write`/`read` on the address map (a `neuromesh.result.Transport`)."""

    def __init__(self, params: spec.HwParams):
        super().__init__(params)
        self.cores = []
        self._packed = None       # see `_pack`
        for index, r in enumerate(self.routers):
            core = NeuronCore(params, r.x, r.y, index, self._unpack)
            r.outputs[spec.LOCAL].kind = TO_CORE
            r.outputs[spec.LOCAL].sink = core
            core.out_fifo = r.inputs[spec.LOCAL]
            self.cores.append(core)
        self.ticks = 0
        self.busy_cycles = 0
        self.emitting = []        # cores whose emitter is in LIST/EMIT with flits to offer
        self._agenda = []         # heap of (cycle, core index): spike-queue pops
        self._last = -1           # last cycle processed
        self.host_in = 0          # flits accepted on spike_in

    # -- configuration transport ----------------------------------------------------------------
    def write(self, addr: int, data: int) -> None:
        d = spec.decode_addr(self.params, addr)
        if d.x is None or d.region == "router_cnt":
            return  # chip registers and counters are read-only
        self.cores[d.y * self.params.width + d.x].write(d.region, d.offset, data)

    def read(self, addr: int) -> int:
        d = spec.decode_addr(self.params, addr)
        if d.x is None:
            p = self.params
            if d.region == "id":
                return spec.CHIP_ID
            if d.region == "params":
                return spec.CHIP_PARAMS_WORD.pack(width_m1=p.width - 1, height_m1=p.height - 1)
            if d.region == "ticks":
                return self.ticks & _COUNTER_MASK
            if d.region == "busy_cycles":
                return self.busy_cycles & _COUNTER_MASK
            return spec.CHIP_STATUS_WORD.pack(busy=int(self.busy_now()), parity=self.fill)
        index = d.y * self.params.width + d.x
        if d.region == "router_cnt":
            return self.routers[index].counters()[d.offset] & _COUNTER_MASK
        return self.cores[index].read(d.region, d.offset)

    # -- clock ----------------------------------------------------------------------------------
    def busy_now(self) -> bool:
        return bool(self.nonempty) or self.idle_max > max(self._last, 0)

    def begin_cycle(self, k: int) -> bool:
        """Start cycle k: account the cycles skipped since the last one (nothing moved in them,
        so they were busy exactly while some core had not finished), run the spike-queue pops
        of cycle k, and return `busy` of cycle k (counted in `busy_cycles`)."""
        skipped_from = self._last + 1
        if k > skipped_from:
            self.busy_cycles += max(0, min(k, self.idle_max) - skipped_from)
        agenda = self._agenda
        while agenda and agenda[0][0] <= k:
            e, index = heapq.heappop(agenda)
            if e != k:
                raise RuntimeError(f"golden model: spike-queue pop of cycle {e} skipped (now {k})")
            self._pop(self.cores[index], k)
        busy = bool(self.nonempty) or k < self.idle_max
        self.busy_cycles += busy
        self._last = k
        return busy

    def _pop(self, core: NeuronCore, e: int) -> None:
        end, emits = core.pop(e)
        if end > self.idle_max:
            self.idle_max = end
        if emits:
            self.emitting.append(core)
        else:
            nxt = core.next_pop(end)
            if nxt is not None:
                heapq.heappush(self._agenda, (nxt, core.index))

    def _unpack(self) -> None:
        """A core's neuron arrays grew: pack again before the next update."""
        self._packed = None

    def _pack(self):
        """Every core's neuron parameters and state in chip-wide arrays, so that one numpy call
        updates all of them (sim/lif.py). Core c with `n` active neurons and arrays of `L >= n`
        slots gets the segment [start, start + L); its arrays become views of the packed ones.
        Returns (arrays, segments [(core, start, n)], segment starts, active mask or None if
        every packed slot is active). Packing costs one pass over all neurons; it happens after loading (and after
        any write that grows a core), not per tick."""
        if self._packed is not None:
            return self._packed
        cores = [c for c in self.cores if c.n_active]
        for c in cores:
            c.neurons.trim()
        lengths = [c.neurons.cap for c in cores]
        starts = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)))
        arrays = {name: np.concatenate([c.neurons.a[name][:c.neurons.cap] for c in cores])
                  if cores else np.zeros(0, dtype=np.int64) for name in NEURON_FIELDS}
        segments = []
        for c, start, length in zip(cores, starts, lengths):
            start = int(start)
            for name in NEURON_FIELDS:
                c.neurons.a[name] = arrays[name][start:start + length]
            segments.append((c, start, c.n_active))
        mask = None
        if any(length != c.n_active for c, length in zip(cores, lengths)):
            mask = np.zeros(int(starts[-1]), dtype=bool)
            for c, start, n in segments:
                mask[start:start + n] = True
        self._packed = (arrays, segments, starts[:-1], mask)
        return self._packed

    def handshake(self, h: int) -> None:
        """The tick handshake in cycle h (the caller checked `not busy`): flip the fill parity,
        run the update phase of every core over its active neurons, queue the spikes (neuron n
        popped from h+3+n). A core with no active neuron has no update phase."""
        p = self.params
        consume = self.fill
        self.fill ^= 1
        self.ticks += 1
        arrays, segments, starts, mask = self._pack()
        if not segments:
            return
        acc = np.zeros(len(arrays["u"]), dtype=np.int64)
        for c, start, n in segments:
            values = c.consume(consume, n, p.acc_width)
            if values is not None:
                acc[start:start + n] = values
        fired = lif.update({name: arrays[name] for name in PARAM_NAMES}, arrays["u"], arrays["v"],
                           arrays["r"], acc, mask)
        longest = 0
        for c, _start, n in segments:
            c.counters["updates"] += n
            longest = max(longest, n)
        index = np.flatnonzero(fired)
        which = np.searchsorted(starts, index, side="right") - 1
        for k, i in zip(which.tolist(), index.tolist()):
            core, start, _n = segments[k]
            m = i - start
            if not core.queue:
                heapq.heappush(self._agenda, (h + 3 + m, core.index))
            core.queue.append((h + 3 + m, m))
            core.counters["spikes"] += 1
        if h + longest + 2 > self.idle_max:
            self.idle_max = h + longest + 2

    def step_cycle(self, k: int, host_flit=None) -> bool:
        """Cycle k after `begin_cycle`: the host offers `host_flit` (or None) on spike_in, the
        emitters offer their flits, the mesh moves. Returns True if spike_in accepted."""
        pushes = []
        accepted = False
        if host_flit is not None:
            f = self.spike_in
            if len(f.q) < f.depth:
                pushes.append((f, host_flit))
                accepted = True
                self.host_in += 1
        finished = None
        for core in self.emitting:
            if k < core.emit_from:
                continue
            f = core.out_fifo
            if len(f.q) < f.depth:
                pushes.append((f, core.emit_flits[core.emit_next]))
                core.counters["flits_sent"] += 1
                core.emit_next += 1
                if core.emit_next == len(core.emit_flits):
                    finished = finished or []
                    finished.append(core)
            else:  # held: everything after it moves one cycle later
                core.emit_end += 1
                if core.emit_end > self.idle_max:
                    self.idle_max = core.emit_end
        self.step(k, pushes)
        if finished:
            for core in finished:
                self.emitting.remove(core)
                core.emit_flits = None
                nxt = core.next_pop(k + 1)
                if nxt is not None:
                    heapq.heappush(self._agenda, (nxt, core.index))
        return accepted

    def moving(self) -> bool:
        """True if the next cycle has work: a flit in a FIFO or an emitter with flits."""
        return bool(self.nonempty) or bool(self.emitting)

    def next_event(self):
        """The next cycle with a scheduled spike-queue pop (None: none)."""
        return self._agenda[0][0] if self._agenda else None

    def extras(self) -> dict:
        return {"links": self.link_loads(self.host_in), "fifo_peak": self.fifo_peaks()}
