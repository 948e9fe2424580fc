"""One tile of the mesh: a Router and a NeuronCore (docs/architecture.md sections 3-5).

The core's output stream feeds the router's local input FIFO and the router's local output
feeds the core. The other four router ports are the tile's links, named `<port>_in` /
`<port>_out` (`north_in`, ..., `west_out`); the chip top wires them to the neighbours.

Configuration: one `cfg` bus per tile, shared by core and router. The router answers region
`router_cnt`, the core every other region; a read's data comes back one cycle after `re` from
whichever of the two the (registered) region of that read names.
"""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_bus import CfgBusSignature
from neuromesh.hw.neuron_core import NeuronCore
from neuromesh.hw.router import Router, check_tile

LINK_PORTS = (spec.NORTH, spec.EAST, spec.SOUTH, spec.WEST)


class Tile(wiring.Component):
    """A router and its neuron core; `core_init` is baked into the core's memories."""

    def __init__(self, params: spec.HwParams, x: int, y: int, core_init=None):
        check_tile(params, x, y)
        self.params, self.x, self.y = params, x, y
        self.router = Router(params, x, y)
        self.core = NeuronCore(params, core_init)
        flit = stream.Signature(spec.flit_layout())
        members = {}
        for p in LINK_PORTS:
            members[f"{spec.PORTS[p]}_in"] = In(flit)
            members[f"{spec.PORTS[p]}_out"] = Out(flit)
        members.update({
            "cfg": In(CfgBusSignature()),
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
        wiring.connect(m, router.outputs[spec.LOCAL], core.inp)
        for p in LINK_PORTS:
            wiring.connect(m, wiring.flipped(self.link_in(p)), router.inputs[p])
            wiring.connect(m, router.outputs[p], wiring.flipped(self.link_out(p)))

        m.d.comb += core.tick_start.eq(self.tick_start)
        m.d.comb += self.busy.eq(router.busy | ~core.idle)

        # The decoder's bus goes to both; each ignores the regions it does not own.
        for target in (core.cfg, router.cfg):
            m.d.comb += [
                target.region.eq(self.cfg.region),
                target.offset.eq(self.cfg.offset),
                target.wdata.eq(self.cfg.wdata),
                target.we.eq(self.cfg.we),
                target.re.eq(self.cfg.re),
            ]
        from_router = Signal()
        with m.If(self.cfg.re):
            m.d.sync += from_router.eq(self.cfg.region == spec.REGION["router_cnt"])
        m.d.comb += self.cfg.rdata.eq(Mux(from_router, router.cfg.rdata, core.cfg.rdata))
        return m
