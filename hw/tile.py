"""One tile of the mesh: a Router and a NeuronCore (docs/architecture.md sections 3-5).

The core's output stream feeds the router's local input FIFO and the router's local output
feeds the core through a hop register (a `spec.HOP_DEPTH` FIFO, architecture 3). The other four
router ports are the tile's links, named `<port>_in` / `<port>_out` (`north_in`, ...,
`west_out`); the chip top wires them to the neighbours.

Configuration: one `cfg` bus per tile, shared by core and router. The router answers region
`router_cnt`, the tile itself `link_cnt`, the core every other region; each answers 0 for the
others, so a read's word is the OR of the three, `cfg_bus.READ_LATENCY` cycles after `re` (the
router's and the links' one-cycle answers are delayed to that).

Ticks: `tick_flip` flips the core's accumulator parity and `tick_start` starts its update phase
(the same cycle in a one-domain chip; architecture section 8.3 otherwise).

`async_inputs`: the input ports fed by an asynchronous link (architecture section 8.2); the tile
counts the flits received on each of them (`link_cnt`, section 8.7).
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_bus import READ_LATENCY, CfgBusSignature
from neuromesh.hw.fifo import StreamFIFO
from neuromesh.hw.neuron_core import NeuronCore
from neuromesh.hw.router import Router, check_tile, xy_turns

LINK_PORTS = spec.LINK_PORTS


class Tile(wiring.Component):
    """A router and its neuron core; `core_init` is baked into the core's memories."""

    def __init__(self, params: spec.HwParams, x: int, y: int, core_init=None, async_inputs=()):
        check_tile(params, x, y)
        if not set(async_inputs) <= set(LINK_PORTS):
            raise spec.ConfigError("async_inputs", sorted(async_inputs), "must be link ports (north, east, south, west)")
        self.params, self.x, self.y = params, x, y
        self.async_inputs = frozenset(async_inputs)
        self.router = Router(params, x, y, turns=xy_turns(x, y))
        self.core = NeuronCore(params, core_init)
        flit = stream.Signature(spec.flit_layout())
        members = {}
        for p in LINK_PORTS:
            members[f"{spec.PORTS[p]}_in"] = In(flit)
            members[f"{spec.PORTS[p]}_out"] = Out(flit)
        members.update({
            "cfg": In(CfgBusSignature()),
            "tick_flip": In(1),
            "tick_start": In(1),
            "busy": Out(1),
        })
        super().__init__(members)

    def link_in(self, port: int):
        return getattr(self, f"{spec.PORTS[port]}_in")

    def link_out(self, port: int):
        return getattr(self, f"{spec.PORTS[port]}_out")

    def elaborate(self, platform):
        m = Module()
        router, core = self.router, self.core
        m.submodules.router = router
        m.submodules.core = core

        wiring.connect(m, core.out, router.inputs[spec.LOCAL])
        # The core's hop register (architecture 3): the router's grant ends at a register, and
        # the walker's axon-table address starts at one.
        m.submodules.core_hop = core_hop = StreamFIFO(spec.flit_layout(), spec.HOP_DEPTH)
        wiring.connect(m, router.outputs[spec.LOCAL], core_hop.w)
        wiring.connect(m, core_hop.r, core.inp)
        for p in LINK_PORTS:
            wiring.connect(m, wiring.flipped(self.link_in(p)), router.inputs[p])
            wiring.connect(m, router.outputs[p], wiring.flipped(self.link_out(p)))

        m.d.comb += [core.tick_flip.eq(self.tick_flip), core.tick_start.eq(self.tick_start)]
        m.d.comb += self.busy.eq(router.busy | ~core_hop.empty | ~core.idle)

        # Crossings received over asynchronous links, per input port (0 for a synchronous one).
        crossings = []
        for p in LINK_PORTS:
            count = Signal(spec.COUNTER_BITS, name=f"cnt_cross_{spec.PORTS[p]}")
            if p in self.async_inputs:
                port = self.link_in(p)
                with m.If(port.valid & port.ready):
                    m.d.sync += count.eq(count + 1)
            crossings.append(count)

        # The decoder's bus goes to both; each ignores the regions it does not own.
        for target in (core.cfg, router.cfg):
            m.d.comb += [
                target.region.eq(self.cfg.region),
                target.offset.eq(self.cfg.offset),
                target.wdata.eq(self.cfg.wdata),
                target.we.eq(self.cfg.we),
                target.re.eq(self.cfg.re),
            ]
        link_word = Signal(spec.COUNTER_BITS)
        m.d.sync += link_word.eq(0)
        with m.If(self.cfg.re & (self.cfg.region == spec.REGION["link_cnt"])):
            with m.Switch(self.cfg.offset):
                for i, count in enumerate(crossings):
                    with m.Case(i):
                        m.d.sync += link_word.eq(count)
        late = link_word | router.cfg.rdata                 # answered one cycle after re
        for k in range(READ_LATENCY - 1):
            delayed = Signal(spec.COUNTER_BITS, name=f"cfg_late_{k}")
            m.d.sync += delayed.eq(late)
            late = delayed
        m.d.comb += self.cfg.rdata.eq(late | core.cfg.rdata)
        return m
