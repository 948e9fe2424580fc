"""One clock domain of the golden model (docs/architecture.md sections 8.3-8.4): the routers of
its tiles (a `Fabric`), their cores, its side of the asynchronous links and of the tick barrier,
its local busy and busy-cycle counter, and its clock: a SimPy process that steps the domain's
cycles while anything in it moves and otherwise sleeps until the next thing that can happen
(a spike-queue pop, a barrier step, a flit arriving over a link). The twin of the domain's part
of `hw/mesh.py` and of `hw/domain_bridge.py`.

A cycle m of a domain, everything on start-of-cycle state as the RTL does:
1. `begin(m)`: spike-queue pops due in m, then the local busy of m (recorded);
2. (domain 0: the host and the tick handshake, `sim/engine.py`);
3. `barrier(m)`: the cores flip their accumulator parity and/or start their update phase if
   the barrier (`neuromesh.clocks.tick_schedule`) says so for m;
4. `move(m, pushes)`: flits offered into FIFOs (the host's, the emitters', those of incoming
   links whose `req` is seen and whose FIFO has room), then the fabric's two-phase step.

Local busy (`busy_k`, section 8.4) = a FIFO holds a flit, or a core is busy (`m < idle_max`), or
a link it sends on has not finished its handshake. The domain records it as busy intervals, so
that domain 0 can sample any past cycle through the synchronizer arithmetic
(`Edges.sampled_cycle`); cycles it jumped over are busy exactly while `m < idle_max` or a link
was open, and are accounted when it wakes.
"""
from __future__ import annotations

import heapq
from bisect import bisect_right

import numpy as np

from neuromesh import spec

from . import lif
from .fabric import Fabric
from .neuron_core import NEURON_FIELDS, PARAM_NAMES, QUEUE_DELAY


class Domain(Fabric):
    def __init__(self, chip, k: int, edges):
        super().__init__()
        self.chip, self.k, self.edges = chip, k, edges
        self.params = chip.params
        self.routers = []
        self.cores = []
        self.links_out = []
        self.links_in = []
        self.agenda = []          # heap of (cycle, core index): spike-queue pops
        self.emitting = []        # cores whose emitter is in LIST/EMIT with flits to offer
        self.last = -1            # last cycle processed
        self.pending = 0          # links it sends on whose handshake end is not known yet
        self.expected = []        # heap of (cycle the receiver sees req, seq, link)
        self.arrived = []         # links whose req is seen here and whose flit is not written
        self.flip_at = None       # barrier: the cycle the cores flip their parity
        self.start_at = None      # barrier: the cycle the cores start their update phase
        self.spans = []           # busy intervals [start, end) of the cycles processed so far
        self.busy_cycles = 0      # this domain's busy-cycle counter (architecture 8.7)
        self.wake = None          # SimPy event while the clock process sleeps
        self._seq = 0
        self._packed = None

    # -- busy -----------------------------------------------------------------------------------
    def _mark(self, m1: int, m2: int) -> None:
        """Cycles m1 .. m2-1 were busy (m1 after every cycle marked so far)."""
        if m2 <= m1:
            return
        self.busy_cycles += m2 - m1
        if self.spans and self.spans[-1][1] == m1:
            self.spans[-1][1] = m2
        else:
            self.spans.append([m1, m2])

    def _account(self, m1: int, m2: int) -> None:
        """Cycles m1 .. m2-1 were jumped over: busy while a link was open or a core busy."""
        self._mark(m1, m2 if self.pending else min(m2, self.idle_max))

    def finish(self) -> None:
        """The run is over (the chip is quiescent): account the busy cycles jumped over last."""
        if self.pending or self.nonempty:
            raise RuntimeError(f"golden model: domain {self.k} still busy when the run ended")
        self._account(self.last + 1, max(self.idle_max, self.last + 1))
        self.last = max(self.last, self.idle_max - 1)

    def busy_at(self, m: int) -> bool:
        """`busy_k` of cycle m (past or, by the current state, future)."""
        if m < 0:
            return False
        if m > self.last:
            return bool(self.pending or self.nonempty or m < self.idle_max)
        i = bisect_right(self.spans, [m, float("inf")]) - 1
        return i >= 0 and self.spans[i][0] <= m < self.spans[i][1]

    def busy_spans(self, m1: int, m2: int) -> list:
        """The busy intervals within cycles m1 .. m2-1, past and (by the current state) future."""
        out = [[max(a, m1), min(b, m2)] for a, b in self.spans if b > m1 and a < m2]
        lo = max(m1, self.last + 1)
        hi = m2 if (self.pending or self.nonempty) else min(m2, self.idle_max)
        if hi > lo:
            out.append([lo, hi])
        return out

    @property
    def moving(self) -> bool:
        """The next cycle has work: a flit in a FIFO, an emitter with flits, a flit to write."""
        return bool(self.nonempty or self.emitting or self.arrived)

    def quiet_from(self):
        """The first cycle from which this domain stays idle unless something new reaches it,
        or None while that is not known (it moves, or a link it sends on is open)."""
        if self.moving or self.pending or self.expected:
            return None
        end = self.spans[-1][1] if self.spans else 0
        return max(self.idle_max, end, self.last + 1)

    def prune(self, m: int) -> None:
        """Forget busy intervals that end before cycle m (no one samples them any more)."""
        i = 0
        while i < len(self.spans) - 1 and self.spans[i][1] < m:
            i += 1
        if i:
            del self.spans[:i]

    # -- links ----------------------------------------------------------------------------------
    def link_opened(self) -> None:
        self.pending += 1

    def link_closed(self, ready_from: int) -> None:
        """A link it sends on finished its handshake: it is busy until `ready_from`."""
        self.pending -= 1
        if ready_from > self.idle_max:
            self.idle_max = ready_from
        self.chip.notify()

    def expect(self, link, cycle: int) -> None:
        """`link`'s req is seen here from `cycle` on: wake the clock for it."""
        self._seq += 1
        heapq.heappush(self.expected, (cycle, self._seq, link))
        self.poke()

    def poke(self) -> None:
        """Wake the clock process so that it plans again (something new can happen)."""
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    # -- a cycle --------------------------------------------------------------------------------
    def begin(self, m: int) -> bool:
        """Cycle m starts: account the cycles jumped over, run the spike-queue pops of m, and
        return (and record) the local busy of m."""
        if m > self.last + 1:
            self._account(self.last + 1, m)
        agenda = self.agenda
        while agenda and agenda[0][0] <= m:
            e, index = heapq.heappop(agenda)
            if e != m:
                raise RuntimeError(f"golden model: domain {self.k}: spike-queue pop of cycle {e} skipped (now {m})")
            self._pop(self.chip.cores[index], m)
        busy = bool(self.nonempty or self.pending or m < self.idle_max)
        if busy:
            self._mark(m, m + 1)
        self.last = m
        return busy

    def _pop(self, core, e: int) -> None:
        end, emits = core.pop(e)
        if end > self.idle_max:
            self.idle_max = end
        if emits:
            self.emitting.append(core)
        else:
            nxt = core.next_pop(end)
            if nxt is not None:
                heapq.heappush(self.agenda, (nxt, core.index))

    def barrier(self, m: int) -> None:
        """The barrier's steps that fall in cycle m (section 8.3; one domain: the handshake)."""
        if self.flip_at == m:
            self.flip_at = None
            self.fill ^= 1
        if self.start_at == m:
            self.start_at = None
            self.update(m)

    def move(self, m: int, pushes: list) -> None:
        """The emitters' and incoming links' flits, then the fabric's step of cycle m. `pushes`
        holds what the caller already offers (the host's flit)."""
        finished = None
        for core in self.emitting:
            if m < core.emit_from:
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
        expected = self.expected
        while expected and expected[0][0] <= m:
            self.arrived.append(heapq.heappop(expected)[2])
        if self.arrived:
            waiting = []
            for link in self.arrived:
                f = link.fifo
                if len(f.q) < f.depth:      # start-of-cycle level, as for every writer
                    pushes.append((f, link.deliver(m)))
                else:
                    waiting.append(link)
            self.arrived = waiting
        self.step(m, pushes)
        if finished:
            for core in finished:
                self.emitting.remove(core)
                core.emit_flits = None
                nxt = core.next_pop(m + 1)
                if nxt is not None:
                    heapq.heappush(self.agenda, (nxt, core.index))

    def next_cycle(self, every_cycle: bool = False):
        """The next cycle in which something can happen here (None: nothing planned)."""
        if self.moving or every_cycle:
            return self.last + 1
        cands = [c for c in (self.agenda[0][0] if self.agenda else None, self.flip_at, self.start_at,
                             self.expected[0][0] if self.expected else None) if c is not None]
        return max(self.last + 1, min(cands)) if cands else None

    # -- the clock ------------------------------------------------------------------------------
    def clock(self, env, every_cycle: bool = False):
        """The SimPy process of a domain k >= 1 (domain 0's is the host's, sim/engine.py)."""
        chip = self.chip
        while not chip.done:
            m = self.next_cycle(every_cycle)
            if m is None:
                chip.notify()                 # its quiet_from is known: domain 0 may complete
                self.wake = env.event()
                yield self.wake
                self.wake = None
                continue
            t = self.edges.t(self.k, m)
            if t > env.now:
                if not self.moving:
                    chip.notify()
                self.wake = env.event()
                yield env.timeout(t - env.now) | self.wake
                self.wake = None
                if env.now < t or chip.done:
                    continue                  # woken early: plan again
            self.begin(m)
            self.barrier(m)
            self.move(m, [])

    # -- the update phase (section 4.3, vectorised over the domain's cores) ----------------------
    def unpack(self) -> None:
        """A core's neuron arrays grew or its active count changed: pack again before the next
        update."""
        self._packed = None

    def _pack(self):
        """The domain's neuron parameters and state in packed arrays, so that one numpy call
        updates all of its cores (sim/lif.py). Core c with `n` active neurons and arrays of
        `L >= n` slots gets the segment [start, start + L); its arrays become views of the
        packed ones. Returns (arrays, segments [(core, start, n)], segment starts, active mask
        or None if every packed slot is active). Packing costs one pass over the neurons; it
        happens after loading (and after any write that grows a core), not per tick."""
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

    def update(self, h: int) -> None:
        """The update phase started in cycle h: every core over its active neurons on the slot
        its last flip retired. Neuron n's reads are issued in h+1+n and its spike computed
        `UPDATE_LATENCY` cycles later (architecture 4.3), so a fired neuron n is queued for a pop
        from h+1+UPDATE_LATENCY+QUEUE_DELAY+n (4.4), and a core of n neurons is busy to
        h+n+UPDATE_LATENCY."""
        consume = self.fill ^ 1
        arrays, segments, starts, mask = self._pack()
        if not segments:
            return
        acc = np.zeros(len(arrays["u"]), dtype=np.int64)
        width = self.params.acc_width
        for c, start, n in segments:
            values = c.consume(consume, n, width)
            if values is not None:
                acc[start:start + n] = values
        fired = lif.update({name: arrays[name] for name in PARAM_NAMES}, arrays["u"], arrays["v"],
                           arrays["r"], acc, mask)
        end = h
        for c, _start, n in segments:
            c.counters["updates"] += n
            end = max(end, h + n + 1 + spec.UPDATE_LATENCY)
        index = np.flatnonzero(fired)
        which = np.searchsorted(starts, index, side="right") - 1
        for k, i in zip(which.tolist(), index.tolist()):
            core, start, _n = segments[k]
            m = i - start
            pop = h + 1 + spec.UPDATE_LATENCY + QUEUE_DELAY + m
            if not core.queue:
                heapq.heappush(self.agenda, (pop, core.index))
            core.queue.append((pop, m))
            core.counters["spikes"] += 1
            # A queued neuron keeps its core busy until it is popped (architecture 4.5), which
            # can be after the updater's last write.
            end = max(end, pop + 1)
        if end > self.idle_max:
            self.idle_max = end
