"""The routers that share one clock and their two-phase cycle step (docs/architecture.md
section 3), BookSim style: an *evaluate* phase reads only start-of-cycle state (FIFO heads and
levels, round-robin pointers, the cores' `in.ready`, the asynchronous links' sender `ready`) and
decides every grant and transfer; a *commit* phase then pops, pushes and counts. No result
depends on the order in which routers are visited, and only routers with a non-empty input FIFO
cost any work. An output is wired to a FIFO of the same fabric or to its tile's core, each
through a hop register (`sim/fifo.py` `Hop`: the router's output writes it, its head moves on
when the FIFO or core is ready, one cycle more), the host (`spike_out`), a traffic sink, or the
sender half of an asynchronous link (`sim/async_link.py`).

`sim/mesh.py` builds a whole synchronous mesh on one fabric (`Mesh`, `TrafficMesh`) and the chip
on one fabric per clock domain (`sim/domain.py`).
"""
from __future__ import annotations

from neuromesh import spec

from .fifo import Hop
from .router import GRANT, NOWHERE, REFUSED, TO_CORE, TO_FIFO, TO_HOST, TO_LINK, Router


def wire(params: spec.HwParams) -> list:
    """Every router of the mesh (index y * width + x), each output wired to its neighbour's
    opposite input FIFO through a hop register; edge outputs stay NOWHERE."""
    routers = [Router(params, x, y) for x, y in params.tiles()]
    for r in routers:
        for port, (dx, dy) in spec.PORT_DELTA.items():
            nx, ny = r.x + dx, r.y + dy
            if 0 <= nx < params.width and 0 <= ny < params.height:
                out = r.outputs[port]
                out.kind = TO_FIFO
                out.sink = routers[ny * params.width + nx].inputs[spec.OPPOSITE[port]]
                out.hop = Hop(spec.HOP_DEPTH, out.sink)
    return routers


class Fabric:
    """Routers that share one clock, and their cycle step. Start-of-cycle view of all heads:
    every output's request mask (`Output.req`, bit i = input i's head asks for it), the outputs
    with a non-zero mask, the FIFOs whose head is a refused flit, and how many FIFOs hold
    anything. Kept up to date in the commit phase, so a cycle's work is proportional to the
    outputs in demand."""

    def __init__(self):
        self.requested = set()
        self.refused = []
        self.nonempty = 0             # FIFOs and hop registers holding a flit
        self.hops = set()             # the hop registers holding a flit
        self.out_ready = lambda cycle: True  # spike_out.ready as a function of the cycle
        self.out_flits = []           # [(cycle, flit)] that left on spike_out
        self.delivered = []           # TO_SINK deliveries [(cycle, x, y, flit)] (if recording)
        self.record_sink = False
        self.sunk = 0                 # TO_SINK deliveries counted
        self.fill = 0                 # accumulator parity (used by TO_CORE deliveries)
        self.idle_max = 0             # first cycle from which every core is idle (events so far)

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
        # Evaluate. An output whose downstream is not ready transfers nothing this cycle and
        # rr holds, but its grant is kept (`held`) until it transfers.
        moves = []
        for out in self.requested:
            kind = out.kind
            if kind == TO_FIFO or kind == TO_CORE:
                ready = len(out.hop.q) < spec.HOP_DEPTH
            elif kind == TO_HOST:
                ready = self.out_ready(k)
            elif kind == TO_LINK:
                ready = out.sink.sender_ready(k)
            elif kind == NOWHERE:
                ready = False  # an edge output has no neighbour: ready is 0, as in hw/mesh.py
            else:
                ready = True   # a traffic sink takes a flit every cycle
            held = out.held
            grant = held if held >= 0 else GRANT[out.rr][out.req]
            if ready:
                out.held = -1
                moves.append((out.router.inputs[grant], out))
            else:
                out.held = grant
        hop_moves = []
        for h in self.hops:
            s = h.sink
            if (s.walk_ready <= k) if h.to_core else (len(s.q) < s.depth):
                hop_moves.append(h)
        # Commit (pops and pushes inlined from `_pop_fifo` / `push`: this loop is the hot path).
        if self.refused:
            refused, self.refused = self.refused, []
            for f in refused:
                f.router.errors += 1
                self._pop_fifo(f)
        requested = self.requested
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
            if kind == TO_FIFO or kind == TO_CORE:
                hq = out.hop.q
                hq.append(flit)
                if len(hq) == 1:
                    self.nonempty += 1
                    self.hops.add(out.hop)
            elif kind == TO_HOST:
                self.out_flits.append((k, flit))
            elif kind == TO_LINK:
                out.sink.send(flit, k)
            else:
                self.sunk += 1
                if self.record_sink:
                    r = out.router
                    self.delivered.append((k, r.x, r.y, flit))
        # The hop registers' heads move on after the routers' pops, like any outside writer.
        for h in hop_moves:
            hq = h.q
            if h.to_core:
                end = h.sink.accept(hq.popleft(), k, self.fill)
                if end > self.idle_max:
                    self.idle_max = end
            else:
                self.push(h.sink, hq.popleft())
            if not hq:
                self.nonempty -= 1
                self.hops.discard(h)
        for d, flit in pushes:
            self.push(d, flit)
