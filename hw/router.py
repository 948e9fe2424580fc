"""The 5-port XY router of one tile (docs/architecture.md section 3; golden twin: sim/router.py).

Structure, per cycle k:

    inputs[i] --> FIFO i --head--> refuse? --yes--> pop, errors += 1
                                      |no
                                      v
                              route_port (X then Y) --> request to one output o
    output o: round-robin over the requesting inputs, starting after rr[o], unless a grant
              offered last cycle did not transfer (then that grant again)
              valid = some request; on valid & ready: pop the granted FIFO, rr[o] = granted,
              fwd[o] += 1

Everything that decides a grant is registered state (FIFO contents, rr, the held grant), so `outputs[o].valid`
and the payload are combinational functions of registered state, and `inputs[i].ready` is the
FIFO's `level < depth`: no combinational path crosses a link in either direction. A flit at the
head of a FIFO in cycle c that transfers in c is at the head of the next FIFO in c+1; in the
chip that is the hop register hw/mesh.py puts on each link, so a hop takes two cycles.

The route (`spec.route_port`) and the refusal test (`spec.flit_refused`) of a flit depend on
the flit and the router's place only, so they are computed as the flit is written into its
input FIFO and stored beside it, the output one-hot (none for a refused flit): a head's request
for an output is one stored bit and its FIFO's valid. Grants are one-hot too, so the payload
multiplexer is an AND-OR of the heads. Both keep logic off the path from a FIFO head through
the grant to the next register (the router's critical path on an ECP5, docs/fpga.md); the
timing is the same either way.
"""
from amaranth.hdl import Const, Module, Mux, Signal, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.spec import N_PORTS, PORTS, REGION, ROUTER_COUNTERS, RR_RESET, COUNTER_BITS
from neuromesh.hw.cfg_bus import CfgBusSignature
from neuromesh.hw.fifo import StreamFIFO


def xy_turns(x: int, y: int) -> frozenset:
    """The (input, output) pairs that dimension-order routing can ask of the router at (x, y)
    when every router of the mesh routes XY (architecture 3). A flit from a neighbour was sent
    by the neighbour's XY rule: one that came in moving east or west never turns back, one
    moving north or south never turns into X, except a host-bound flit turning west at (0, 0),
    the end of its path. The local input and `spike_in` (the west input of (0, 0)) carry any
    flit. Routers in a mesh build only these requests (`Tile`), which takes a third of the
    grant and payload multiplexers of an interior router; `tests/test_hw_router.py` traces
    every path of small meshes against this set."""
    every = {(i, o) for i in range(N_PORTS) for o in range(N_PORTS)}
    if (x, y) == (0, 0):
        anything = {spec.LOCAL, spec.WEST}
    else:
        anything = {spec.LOCAL}
    allowed = {
        spec.WEST: {o for o in range(N_PORTS) if o != spec.WEST},
        spec.EAST: {o for o in range(N_PORTS) if o != spec.EAST},
        spec.SOUTH: {spec.NORTH, spec.LOCAL},
        spec.NORTH: {spec.SOUTH, spec.LOCAL} | ({spec.WEST} if (x, y) == (0, 0) else set()),
    }
    return frozenset((i, o) for i, o in every if i in anything or o in allowed[i])


def check_tile(params: spec.HwParams, x: int, y: int) -> None:
    for name, value, limit in (("x", x, params.width), ("y", y, params.height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
            raise spec.ConfigError(f"tile.{name}", value, f"must be an integer in [0, {limit}) "
                                   f"for a {params.width}x{params.height} mesh")


class Router(wiring.Component):
    """`inputs[p]` / `outputs[p]` are indexed by port (`spec.LOCAL ... spec.WEST`).

    `cfg` answers reads of region `router_cnt` (counters in `spec.ROUTER_COUNTERS` order) one
    cycle after `re`, with 0 for any other region or offset; writes are ignored (read-only).
    `busy` is high while any input FIFO holds a flit.

    `turns`: the (input, output) pairs built (default every pair: a router alone forwards any
    flit on any input). A flit whose route is not among them is never granted, so only give
    a router the turns its traffic can make (`xy_turns` in a mesh).
    """

    def __init__(self, params: spec.HwParams, x: int, y: int, turns=None):
        check_tile(params, x, y)
        self.params, self.x, self.y = params, x, y
        self.turns = frozenset((i, o) for i in range(N_PORTS) for o in range(N_PORTS)) if turns is None \
            else frozenset(turns)
        flit = stream.Signature(spec.flit_layout())
        super().__init__({
            "inputs": In(flit).array(N_PORTS),
            "outputs": Out(flit).array(N_PORTS),
            "cfg": In(CfgBusSignature()),
            "busy": Out(1),
        })

    def _route(self, m, flit, port):
        """Drive `port` with spec.route_port for the (not refused) `flit`, one-hot (bit p)."""
        tx = Mux(flit.host, 0, flit.x)
        ty = Mux(flit.host, 0, flit.y)
        with m.If(tx > self.x):
            m.d.comb += port.eq(1 << spec.EAST)
        with m.Elif(tx < self.x):
            m.d.comb += port.eq(1 << spec.WEST)
        with m.Elif(ty > self.y):
            m.d.comb += port.eq(1 << spec.NORTH)
        with m.Elif(ty < self.y):
            m.d.comb += port.eq(1 << spec.SOUTH)
        with m.Elif(flit.host):
            m.d.comb += port.eq(1 << spec.WEST)
        with m.Else():
            m.d.comb += port.eq(1 << spec.LOCAL)

    def elaborate(self, platform):
        m = Module()
        p = self.params
        # A FIFO entry: the flit, the output it requests here (one-hot; none if refused) and
        # whether it is refused. One-hot, so that a head's request is one bit, not a compare.
        entry = data.StructLayout({"flit": spec.flit_layout(), "port": N_PORTS, "refused": 1})

        fifos = []
        refused = []      # head is present and refused: popped this cycle, counted
        request = []      # request[i][o]: input i asks output o
        pop = [Signal(name=f"pop_{PORTS[i]}") for i in range(N_PORTS)]
        for i in range(N_PORTS):
            q = StreamFIFO(entry, p.fifo_depth)
            m.submodules[f"fifo_{PORTS[i]}"] = q
            incoming = self.inputs[i].payload
            # spec.flit_refused: reserved bits set, or a tile-bound flit outside the mesh.
            port_in = Signal(N_PORTS, name=f"route_{PORTS[i]}")
            self._route(m, incoming, port_in)
            refused_in = Signal(name=f"refused_in_{PORTS[i]}")
            m.d.comb += [
                q.w.valid.eq(self.inputs[i].valid), self.inputs[i].ready.eq(q.w.ready),
                q.w.payload.flit.eq(incoming), q.w.payload.port.eq(Mux(refused_in, 0, port_in)),
                refused_in.eq((incoming.reserved != 0)
                              | (~incoming.host & ((incoming.x >= p.width) | (incoming.y >= p.height)))),
                q.w.payload.refused.eq(refused_in),
            ]
            head = q.r.payload
            bad = Signal(name=f"refused_{PORTS[i]}")
            m.d.comb += bad.eq(q.r.valid & head.refused)
            request.append([Signal(name=f"req_{PORTS[i]}_{PORTS[o]}") for o in range(N_PORTS)])
            for o in range(N_PORTS):
                if (i, o) in self.turns:
                    m.d.comb += request[i][o].eq(q.r.valid & head.port[o])
            m.d.comb += q.r.ready.eq(bad | pop[i])
            fifos.append(q)
            refused.append(bad)

        counters = [Signal(COUNTER_BITS, name=f"cnt_{name}") for name in ROUTER_COUNTERS]
        pops_by_output = [[] for _ in range(N_PORTS)]
        for o in range(N_PORTS):
            out = self.outputs[o]
            rr = Signal(range(N_PORTS), init=RR_RESET, name=f"rr_{PORTS[o]}")
            # Grants are one-hot (bit i: input i), so the payload multiplexer is an AND-OR of
            # the heads and the pops are single bits: no binary grant to encode and decode on
            # the path from a FIFO's head to the next register (docs/fpga.md).
            first = Signal(N_PORTS, name=f"first_{PORTS[o]}")
            grant = Signal(N_PORTS, name=f"grant_{PORTS[o]}")
            # A grant offered without a transfer is kept until it transfers (stream rule: the
            # payload holds while valid & ~ready). The held input still requests this output:
            # its head pops only on this output's transfer.
            stalled = Signal(name=f"stalled_{PORTS[o]}")
            held = Signal(N_PORTS, name=f"held_{PORTS[o]}")
            req = [request[i][o] for i in range(N_PORTS)]
            # first: the first requester in the order rr+1, rr+2, ..., rr+5 (mod 5).
            with m.Switch(rr):
                for r in range(N_PORTS):
                    with m.Case(r):
                        order = [(r + k) % N_PORTS for k in range(1, N_PORTS + 1)]
                        for rank, i in enumerate(order):
                            m.d.comb += first[i].eq(req[i] & ~_any(req[j] for j in order[:rank]))
            # A turn not built never requests, so its grant bit is a constant 0 and yosys
            # removes its share of the multiplexer and of the held grant.
            m.d.comb += grant.eq(Mux(stalled, held, first) & _mask(i for i in range(N_PORTS) if (i, o) in self.turns))
            any_req = Signal(name=f"any_req_{PORTS[o]}")
            m.d.comb += any_req.eq(_any(req))
            m.d.comb += out.valid.eq(any_req)
            m.d.comb += out.payload.eq(_any(Mux(grant[i], Value.cast(fifos[i].r.payload.flit), 0)
                                            for i in range(N_PORTS)))
            transfer = Signal(name=f"xfer_{PORTS[o]}")
            m.d.comb += transfer.eq(any_req & out.ready)
            m.d.sync += [stalled.eq(any_req & ~out.ready), held.eq(grant)]
            with m.If(transfer):
                m.d.sync += [rr.eq(_index(grant)), counters[o].eq(counters[o] + 1)]
            for i in range(N_PORTS):
                pops_by_output[i].append(transfer & grant[i])
        for i in range(N_PORTS):
            m.d.comb += pop[i].eq(_any(pops_by_output[i]))

        # errors: every refused head is popped in its first cycle at the head; several inputs
        # may refuse in the same cycle, and each one counts.
        errors = counters[ROUTER_COUNTERS.index("errors")]
        m.d.sync += errors.eq(errors + sum(refused))

        m.d.comb += self.busy.eq(~_all([q.empty for q in fifos]))

        # Counter reads: synchronous, like a memory read port (data in c+1 for re in c).
        m.d.sync += self.cfg.rdata.eq(0)
        with m.If(self.cfg.re & (self.cfg.region == REGION["router_cnt"])):
            with m.Switch(self.cfg.offset):
                for k, c in enumerate(counters):
                    with m.Case(k):
                        m.d.sync += self.cfg.rdata.eq(c)
        return m


def _any(signals):
    v = Const(0, 1)
    for s in signals:
        v = v | s
    return v


def _mask(bits):
    return Const(sum(1 << b for b in bits), N_PORTS)


def _index(onehot):
    """The index of the set bit of a one-hot value (0 if none is set)."""
    v = Const(0, range(N_PORTS))
    for i in range(1, len(onehot)):
        v = v | Mux(onehot[i], i, 0)
    return v


def _all(signals):
    v = Const(1, 1)
    for s in signals:
        v = v & s
    return v
