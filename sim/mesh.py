"""The mesh of routers (docs/architecture.md section 3) and the chip top (sections 5 and 8), the
twin of `hw/mesh.py`.

`Mesh` is every router of a W x H mesh in one fabric, `TrafficMesh` the same with BookSim-style
traffic sources and always-ready sinks (the benchmark's API). `Chip` is the chip: one
`sim/domain.py` `Domain` (a fabric, its cores and its clock) per clock domain, the asynchronous
links between them, the tick barrier, `busy`, the chip registers and the configuration transport.
"""
from __future__ import annotations

from collections import deque

from neuromesh import spec
from neuromesh.clocks import Edges, tick_schedule
from neuromesh.result import Transport

from .async_link import AsyncLink
from .domain import Domain
from .fabric import Fabric, wire
from .fifo import Hop
from .neuron_core import NeuronCore
from .router import TO_CORE, TO_FIFO, TO_HOST, TO_LINK, TO_SINK, Router

_COUNTER_MASK = (1 << spec.COUNTER_BITS) - 1


class Mesh(Fabric):
    """Every router of a W x H mesh, in one fabric (one clock)."""

    def __init__(self, params: spec.HwParams):
        super().__init__()
        self.params = params
        self.routers = wire(params)
        # spike_out: the west output of (0, 0); spike_in: the west input FIFO of (0, 0).
        self.routers[0].outputs[spec.WEST].kind = TO_HOST
        self.spike_in = self.routers[0].inputs[spec.WEST]

    def router(self, x: int, y: int) -> Router:
        return self.routers[y * self.params.width + x]

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




class Chip(Transport):
    """The chip top: one `Domain` per clock domain (a fabric, its cores and its clock), the
    asynchronous links between domains, the tick handshake and barrier, `busy`, the chip
    registers, and `write`/`read` on the address map (a `neuromesh.result.Transport`).
    With one clock domain this is exactly the one-domain chip of architecture sections 2-7."""

    def __init__(self, params: spec.HwParams, clocks: spec.Clocks | None = None):
        self.params = params
        self.clocks = (clocks or spec.Clocks()).check(params)
        self.edges = Edges(self.clocks)
        partition = self.clocks.partition(params)
        self.domains = [Domain(self, k, self.edges) for k in range(self.clocks.n_domains)]
        self.routers = wire(params)
        self.cores = []
        self.domain_of = []
        for index, r in enumerate(self.routers):
            dom = self.domains[partition[index]]
            dom.routers.append(r)
            core = NeuronCore(params, r.x, r.y, index, dom.unpack)
            r.outputs[spec.LOCAL].kind = TO_CORE
            r.outputs[spec.LOCAL].sink = core
            r.outputs[spec.LOCAL].hop = Hop(spec.HOP_DEPTH, core, to_core=True)
            core.out_fifo = r.inputs[spec.LOCAL]
            dom.cores.append(core)
            self.cores.append(core)
            self.domain_of.append(dom)
        # Links between domains: an AsyncLink in place of the hop register (architecture 8.2).
        self.links = {}           # (x, y, input port) of the receiving tile -> AsyncLink
        for index, r in enumerate(self.routers):
            for out in r.outputs:
                if out.kind != TO_FIFO:
                    continue
                fifo = out.sink
                a, b = self.domain_of[index], self.domain_of[fifo.router.y * params.width + fifo.router.x]
                if a is not b:
                    link = AsyncLink(a, b, fifo, self.edges)
                    out.kind, out.sink, out.hop = TO_LINK, link, None
                    a.links_out.append(link)
                    b.links_in.append(link)
                    self.links[(fifo.router.x, fifo.router.y, fifo.port)] = link
        # spike_out: the west output of (0, 0); spike_in: the west input FIFO of (0, 0).
        self.routers[0].outputs[spec.WEST].kind = TO_HOST
        self.spike_in = self.routers[0].inputs[spec.WEST]
        self.ticks = 0
        self.busy_cycles = 0      # domain-0 cycles with `busy` high (chip register 3)
        self.host_in = 0          # flits accepted on spike_in
        self.h = None             # the last handshake's cycle, and its barrier:
        self.starting_end = 0     # `starting` in domain-0 cycles h+1 .. starting_end-1
        self.done = False         # the run is over: every clock process stops
        self.env = None

    @property
    def out_flits(self) -> list:
        return self.domains[0].out_flits

    def router(self, x: int, y: int) -> Router:
        return self.routers[y * self.params.width + x]

    # -- configuration transport ----------------------------------------------------------------
    def write(self, addr: int, data: int) -> None:
        d = spec.decode_addr(self.params, addr)
        if d.x is None or not d.writable:
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
            if d.region == "domains":
                return len(self.domains)
            if d.region == "domain_busy":
                return self.domains[d.offset].busy_cycles & _COUNTER_MASK if d.offset < len(self.domains) else 0
            return spec.CHIP_STATUS_WORD.pack(busy=0, parity=self.domains[0].fill)
        index = d.y * self.params.width + d.x
        if d.region == "router_cnt":
            return self.routers[index].counters()[d.offset] & _COUNTER_MASK
        if d.region == "link_cnt":
            link = self.links.get((d.x, d.y, spec.LINK_PORTS[d.offset]))
            return link.count & _COUNTER_MASK if link else 0
        return self.cores[index].read(d.region, d.offset)

    # -- domain 0's view: busy, the barrier, quiescence ------------------------------------------
    def busy(self, c: int, local: bool) -> bool:
        """`busy` in domain-0 cycle c (architecture 5 and 8.4): domain 0's registered local busy
        (`local`: its local busy of c-1, or a spike_in flit taken in c-1), the tick start still
        `starting`, or another domain's busy as its synchronizer shows it."""
        if local or (self.h is not None and self.h < c < self.starting_end):
            return True
        e = self.edges
        return any(dom.busy_at(e.sampled_cycle(dom.k, c)) for dom in self.domains[1:])

    def begin(self, c: int, injected: bool) -> bool:
        """Domain-0 cycle c starts (`Domain.begin`: its pops, its local busy recorded) and `busy`
        of c; `injected`: spike_in took a flit in c-1."""
        zero = self.domains[0]
        zero.begin(c)
        return self.busy(c, zero.busy_at(c - 1) or injected)

    def busy_count(self, c1: int, c2: int) -> int:
        """Domain-0 cycles c1 .. c2-1 (jumped over by domain 0) in which `busy` was high."""
        if c2 <= c1:
            return 0
        zero = self.domains[0]
        # Domain 0's local busy, registered: busy in c if it was in c-1 (c-1 = c1-1 was stepped;
        # c1 .. c2-2 were jumped over, busy while a link is open or below idle_max).
        if zero.busy_at(c1 - 1):
            spans = [[c1, c1 + 1]]
        else:
            spans = []
        spans.append([c1 + 1, c2 if zero.pending else min(c2, zero.idle_max + 1)])
        if self.h is not None:
            spans.append([max(c1, self.h + 1), min(c2, self.starting_end)])
        e = self.edges
        for dom in self.domains[1:]:
            m1 = max(0, e.sampled_cycle(dom.k, c1))
            m2 = e.sampled_cycle(dom.k, c2 - 1) + 1
            for a, b in dom.busy_spans(m1, m2):
                spans.append([max(c1, e.first_seeing(dom.k, a)), min(c2, e.first_seeing(dom.k, b))])
        spans = sorted(s for s in spans if s[1] > s[0])
        total, end = 0, c1
        for a, b in spans:
            a = max(a, end)
            if b > a:
                total += b - a
                end = b
        return total

    def quiet_from(self):
        """The first domain-0 cycle from which `busy` stays low unless something new happens,
        or None while some domain cannot tell yet."""
        zero = self.domains[0]
        c = zero.quiet_from()
        if c is None:
            return None
        if zero.busy_at(c - 1):
            c += 1          # the registered local busy falls a cycle later
        if self.h is not None:
            c = max(c, self.starting_end)
        for dom in self.domains[1:]:
            m = dom.quiet_from()
            if m is None:
                return None
            c = max(c, self.edges.first_seeing(dom.k, m))
        return c

    def handshake(self, h: int) -> None:
        """The tick handshake in domain-0 cycle h (the caller checked `not busy`): `ticks`, and
        the barrier of architecture 8.3 (one domain: flip and start in h+1, section 5)."""
        self.ticks += 1
        schedule = tick_schedule(self.edges, h)
        self.h, self.starting_end = h, schedule.starting_end
        for dom, flip, start in zip(self.domains, schedule.flip, schedule.start):
            dom.flip_at, dom.start_at = flip, start
            if dom.k:
                dom.poke()
        # Busy history older than the new tick's barrier is never sampled again.
        e = self.edges
        for dom in self.domains[1:]:
            dom.prune(e.sampled_cycle(dom.k, h) - 1)

    def notify(self) -> None:
        """A domain's state changed in a way that may move the cycle `busy` falls: domain 0
        plans again."""
        self.domains[0].poke()

    # -- measurements ---------------------------------------------------------------------------
    def link_loads(self) -> list:
        """Flits per directed link: router to router (marked asynchronous where it crosses
        domains), host to (0, 0), (0, 0) to host."""
        links = [{"from": "host", "to": [0, 0], "port": "spike_in", "flits": self.host_in}]
        for r in self.routers:
            for out in r.outputs:
                if out.kind in (TO_FIFO, TO_LINK):
                    fifo = out.sink if out.kind == TO_FIFO else out.sink.fifo
                    d = fifo.router
                    entry = {"from": [r.x, r.y], "to": [d.x, d.y], "port": spec.PORTS[out.port],
                             "flits": out.count}
                    if out.kind == TO_LINK:
                        entry.update(asynchronous=True, crossed=out.sink.count)
                    links.append(entry)
                elif out.kind == TO_HOST:
                    links.append({"from": [r.x, r.y], "to": "host", "port": "spike_out", "flits": out.count})
        return links

    def fifo_peaks(self) -> list:
        return [{"tile": [r.x, r.y], "peak": {spec.PORTS[f.port]: f.peak for f in r.inputs}}
                for r in self.routers]

    def extras(self) -> dict:
        return {"links": self.link_loads(), "fifo_peak": self.fifo_peaks()}
