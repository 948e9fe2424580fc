"""A stand-in for hw/neuron_core.py, ONLY for the mesh tests (until / besides the real core).

Same members as NeuronCore (`inp`, `out`, `tick_start`, `idle`, `cfg`) and the subset of its
behaviour the mesh tests need, programmed through the same regions as the real core:
- every flit taken on `inp` counts in `core_cnt` `sops` if its axon < axons_per_core, else in
  `errors` (the real core with a one-synapse axon list counts one SOP per flit);
- "neuron 0 fires every tick": after `tick_start` the core is busy for N+1 cycles (the update
  phase), then emits the route entries `rlist[0]` names, one per cycle, counting `flits_sent`.
Everything else reads as 0 and ignores writes.
"""
from amaranth.hdl import Array, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_bus import CfgBusSignature


class StandinCore(wiring.Component):
    def __init__(self, params: spec.HwParams, init=None):
        self.params = params
        super().__init__({
            "inp": In(stream.Signature(spec.flit_layout())),
            "out": Out(stream.Signature(spec.flit_layout())),
            "tick_start": In(1),
            "idle": Out(1),
            "cfg": In(CfgBusSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        n_routes = p.routes_per_core
        routes = Array(Signal(spec.ROUTE_WORD.mask.bit_length(), name=f"route_{k}") for k in range(n_routes))
        rptr = Signal(spec.RLIST_WORD.field("ptr").width)
        rlen = Signal(spec.RLIST_WORD.field("len").width)
        cnt = {n: Signal(32, name=f"cnt_{n}") for n in spec.CORE_COUNTERS}

        m.d.comb += self.inp.ready.eq(1)
        with m.If(self.inp.valid):
            with m.If(self.inp.payload.axon < p.axons_per_core):
                m.d.sync += cnt["sops"].eq(cnt["sops"] + 1)
            with m.Else():
                m.d.sync += cnt["errors"].eq(cnt["errors"] + 1)

        # update phase, then emission
        updating = Signal(range(p.neurons_per_core + 2))
        emitting = Signal()
        idx = Signal(spec.RLIST_WORD.field("len").width)
        with m.If(self.tick_start):
            m.d.sync += updating.eq(p.neurons_per_core + 1)
        with m.Elif(updating != 0):
            m.d.sync += updating.eq(updating - 1)
            with m.If((updating == 1) & (rlen != 0)):
                m.d.sync += [emitting.eq(1), idx.eq(0)]
        m.d.comb += [self.out.valid.eq(emitting),
                     self.out.payload.eq(routes[(rptr + idx)[:max(1, (n_routes - 1).bit_length())]])]
        with m.If(self.out.valid & self.out.ready):
            m.d.sync += [idx.eq(idx + 1), cnt["flits_sent"].eq(cnt["flits_sent"] + 1)]
            with m.If(idx + 1 == rlen):
                m.d.sync += emitting.eq(0)
        m.d.comb += self.idle.eq((updating == 0) & ~emitting)

        cfg = self.cfg
        with m.If(cfg.we & (cfg.region == spec.REGION["route"]) & (cfg.offset < n_routes)):
            m.d.sync += routes[cfg.offset[:max(1, (n_routes - 1).bit_length())]].eq(cfg.wdata)
        with m.If(cfg.we & (cfg.region == spec.REGION["rlist"]) & (cfg.offset == 0)):
            fp, fl = spec.RLIST_WORD.field("ptr"), spec.RLIST_WORD.field("len")
            m.d.sync += [rptr.eq(cfg.wdata[fp.lsb:fp.lsb + fp.width]), rlen.eq(cfg.wdata[fl.lsb:fl.lsb + fl.width])]
        m.d.sync += cfg.rdata.eq(0)
        with m.If(cfg.re & (cfg.region == spec.REGION["core_cnt"])):
            with m.Switch(cfg.offset):
                for k, n in enumerate(spec.CORE_COUNTERS):
                    with m.Case(k):
                        m.d.sync += cfg.rdata.eq(cnt[n])
        return m
