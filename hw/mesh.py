"""The chip top (SPEC sections 1, 2, 6; docs/architecture.md sections 5 and 8): a W x H mesh of
Tiles in one or more clock domains, the host ports at the west edge of tile (0, 0), the tick
handshake and barrier, `busy`, the configuration decoder (hw/cfg_decoder.py) and the chip
registers.

- Links: tile (x, y)'s east output feeds tile (x+1, y)'s west input, its north output tile
  (x, y+1)'s south input, and so on, through a hop register (a `spec.HOP_DEPTH` FIFO; section
  3); edge inputs have `valid = 0`, edge outputs `ready = 0` (XY routing never asks for them).
  `spike_in` is tile (0, 0)'s west input, `spike_out` its west output (no hop register).
  Between tiles of different domains the link is an `AsyncLink` (section 8.2) instead.
- One domain: `busy` = some router input FIFO or hop register held a flit or some core was not
  idle in the cycle before (one flip-flop after their OR), or spike_in took a flit
  in the cycle before, or the tick start is on its way (section 5). `tick.ready = ~busy`; the
  handshake (cycle h) flips `parity` and increments `ticks`, and registers pulse `tick_flip` and
  `tick_start` into every core in h+1. `busy_cycles` counts the cycles with `busy`.
- Several domains (`partition`: the domain of each tile; domain k >= 1 is clocked by the input
  `clk_k` and reset by `rst` through a synchronizer): each domain k >= 1 has a `DomainBridge`
  for the tick barrier, its busy and configuration (sections 8.3-8.6).
"""
from amaranth.hdl import Cat, ClockDomain, DomainRenamer, Module, ResetSignal, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.async_link import AsyncLink
from neuromesh.hw.cfg_decoder import CfgDecoder, check_partition
from neuromesh.hw.domain_bridge import DomainBridge
from neuromesh.hw.fifo import StreamFIFO
from neuromesh.hw.tile import LINK_PORTS, Tile

VERILOG_NAME = "neuromesh_chip"

# `tick` carries no data (SPEC section 6: valid/ready only). `stream.Signature(0)` would make
# Amaranth emit a zero-width payload as a `[-1:0]` (two-bit) Verilog port, so the tick is a
# plain signature with the stream's two handshake members, from the host's side like a stream.
TickSignature = wiring.Signature({"valid": Out(1), "ready": In(1)})


def check_init(params: spec.HwParams, init) -> dict:
    """`init` = {(x, y): {region: {offset: word}}}; the regions are checked by the core."""
    if init is None:
        return {}
    if not isinstance(init, dict):
        raise spec.ConfigError("init", type(init).__name__, "must map (x, y) tiles to core images")
    for key in init:
        if (not isinstance(key, tuple) or len(key) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in key)
                or not (0 <= key[0] < params.width and 0 <= key[1] < params.height)):
            raise spec.ConfigError("init", key, f"not a tile (x, y) of the {params.width}x{params.height} mesh")
    return init


def domain_name(k: int) -> str:
    """Domain 0 is Amaranth's `sync` (clock `clk`, reset `rst`); domain k >= 1 is `d<k>`."""
    return "sync" if k == 0 else f"d{k}"


class Chip(wiring.Component):
    """The whole chip, with exactly the SPEC section 6 ports (and `clk_k` for each domain
    k >= 1). `partition`: the domain of each tile in tile index order (default: all in 0)."""

    def __init__(self, params: spec.HwParams, init=None, partition=None):
        if not isinstance(params, spec.HwParams):
            raise spec.ConfigError("params", params, "must be a neuromesh.spec.HwParams")
        spec.check_rtl_size(params, "Verilog generation")
        self.params = params
        self.partition = check_partition(params, partition)
        self.n_domains = max(self.partition) + 1
        init = check_init(params, init)
        self.domain_of = dict(zip(params.tiles(), self.partition))
        self.tiles = {}
        for x, y in params.tiles():
            async_inputs = [port for port in LINK_PORTS if self._crosses(x, y, port)]
            self.tiles[(x, y)] = Tile(params, x, y, init.get((x, y)), async_inputs)
        self.decoder = CfgDecoder(params, self.partition)
        members = {
            "cfg_req": In(stream.Signature(spec.cfg_req_layout())),
            "cfg_resp": Out(stream.Signature(spec.CFG_RESP_WIDTH)),
            "spike_in": In(stream.Signature(spec.flit_layout())),
            "spike_out": Out(stream.Signature(spec.flit_layout())),
            "tick": In(TickSignature),
            "busy": Out(1),
        }
        members.update({f"clk_{k}": In(1) for k in range(1, self.n_domains)})
        super().__init__(members)

    def _crosses(self, x: int, y: int, port: int) -> bool:
        """The link into (x, y) at `port` comes from a tile of another domain."""
        dx, dy = spec.PORT_DELTA[port]
        other = self.domain_of.get((x + dx, y + dy))
        return other is not None and other != self.domain_of[(x, y)]

    def elaborate(self, platform):
        m = Module()
        p = self.params
        n_dom = self.n_domains

        # Clock domains k >= 1: clock from `clk_k`, reset = `rst` synchronized into the domain.
        for k in range(1, n_dom):
            cd = ClockDomain(domain_name(k))
            m.domains += cd
            rst_k = Signal(name=f"rst_{k}")
            m.submodules[f"rst_sync_{k}"] = FFSynchronizer(ResetSignal("sync"), rst_k, o_domain=cd.name,
                                                           init=1, stages=2)
            m.d.comb += [cd.clk.eq(getattr(self, f"clk_{k}")), cd.rst.eq(rst_k)]

        for (x, y), tile in self.tiles.items():
            k = self.domain_of[(x, y)]
            m.submodules[f"tile_{x}_{y}"] = tile if k == 0 else DomainRenamer({"sync": domain_name(k)})(tile)

        # Links between neighbours: a hop register inside a domain, an AsyncLink between domains.
        link_busy = [[] for _ in range(n_dom)]   # busy of the links each domain sends on (hop
                                                 # registers and asynchronous links)
        for (x, y), tile in self.tiles.items():
            for port in LINK_PORTS:
                dx, dy = spec.PORT_DELTA[port]
                neighbour = self.tiles.get((x + dx, y + dy))
                if neighbour is None:
                    continue
                a, b = self.domain_of[(x, y)], self.domain_of[(x + dx, y + dy)]
                if a == b:
                    # The hop register (architecture 3): one cycle more per hop, no path from a
                    # router's FIFO through its grant across the wire into the neighbour's FIFO.
                    hop = StreamFIFO(spec.flit_layout(), spec.HOP_DEPTH)
                    m.submodules[f"hop_{x}_{y}_{spec.PORTS[port]}"] = (
                        hop if a == 0 else DomainRenamer({"sync": domain_name(a)})(hop))
                    wiring.connect(m, tile.link_out(port), hop.w)
                    wiring.connect(m, hop.r, neighbour.link_in(spec.OPPOSITE[port]))
                    link_busy[a].append(~hop.empty)
                else:
                    link = AsyncLink(domain_name(a), domain_name(b))
                    m.submodules[f"link_{x}_{y}_{spec.PORTS[port]}"] = link
                    wiring.connect(m, tile.link_out(port), link.i)
                    wiring.connect(m, link.o, neighbour.link_in(spec.OPPOSITE[port]))
                    link_busy[a].append(link.busy)
        origin = self.tiles[(0, 0)]
        wiring.connect(m, wiring.flipped(self.spike_in), origin.link_in(spec.WEST))
        wiring.connect(m, origin.link_out(spec.WEST), wiring.flipped(self.spike_out))

        # Each domain's local busy (architecture 8.4). Domain 0's is registered (section 5): the
        # OR of its tiles' and links' busy ends at one flip-flop, which then gates the tick
        # handshake and the configuration accesses, so the gather across the chip and the
        # broadcast back into the tiles fall in different cycles (docs/fpga.md).
        local_busy = []
        for k in range(n_dom):
            b = Signal(name=f"busy_domain_{k}")
            parts = [t.busy for xy, t in self.tiles.items() if self.domain_of[xy] == k] + link_busy[k]
            if k == 0:
                m.d.sync += b.eq(Cat(parts).any())
            else:
                m.d.comb += b.eq(Cat(parts).any())
            local_busy.append(b)

        # Quiescence, the tick handshake and (several domains) the barrier of section 8.3.
        busy = Signal()
        ticks = Signal(spec.COUNTER_BITS)
        busy_cycles = Signal(spec.COUNTER_BITS)
        domain0_busy_cycles = Signal(spec.COUNTER_BITS)
        parity = Signal()
        handshake = Signal()
        m.d.comb += [self.busy.eq(busy), self.tick.ready.eq(~busy), handshake.eq(self.tick.valid & ~busy)]
        with m.If(handshake):
            m.d.sync += [ticks.eq(ticks + 1), parity.eq(~parity)]
        with m.If(busy):
            m.d.sync += busy_cycles.eq(busy_cycles + 1)
        with m.If(local_busy[0]):
            m.d.sync += domain0_busy_cycles.eq(domain0_busy_cycles + 1)

        # Domain 0's tick pulses leave flip-flops (section 5): flip in h+1, start one cycle after
        # the start condition (h in one domain, g in several). The registered busy above does not
        # yet show what starts in a cycle, so `busy` also holds while a spike_in flit accepted in
        # the cycle before is in (0, 0)'s FIFO (`injected`), and in the start pulse's cycle and
        # the next (`start0`, `start0_q`), until the cores' work shows in their registered busy.
        flip0, start0, start0_q, injected = Signal(), Signal(), Signal(), Signal()
        m.d.sync += [flip0.eq(handshake), start0_q.eq(start0),
                     injected.eq(self.spike_in.valid & self.spike_in.ready)]
        tiles0 = [t for xy, t in self.tiles.items() if self.domain_of[xy] == 0]
        for tile in tiles0:
            m.d.comb += [tile.tick_flip.eq(flip0), tile.tick_start.eq(start0)]
        local0 = Signal()
        m.d.comb += local0.eq(local_busy[0] | injected | start0 | start0_q)

        bridges = []
        if n_dom == 1:
            m.d.comb += busy.eq(local0)
            m.d.sync += start0.eq(handshake)
        else:
            arm, go = Signal(), Signal()
            with m.If(handshake):
                m.d.sync += arm.eq(~arm)
            for k in range(1, n_dom):
                members = [xy for xy in p.tiles() if self.domain_of[xy] == k]
                br = DomainBridge(domain_name(k), len(members))
                m.submodules[f"bridge_{k}"] = br
                m.d.comb += [br.arm.eq(arm), br.go.eq(go), br.busy_k.eq(local_busy[k])]
                for i, xy in enumerate(members):
                    tile = self.tiles[xy]
                    m.d.comb += [tile.tick_flip.eq(br.flip), tile.tick_start.eq(br.start)]
                    wiring.connect(m, br.tiles[i], tile.cfg)
                bridges.append(br)
            all_armed = Cat(br.armed_s == arm for br in bridges).all()
            go_now = Signal()
            m.d.comb += go_now.eq((go != arm) & all_armed)
            with m.If(go_now):
                m.d.sync += go.eq(arm)
            m.d.sync += start0.eq(go_now)
            starting = Signal()
            m.d.comb += starting.eq((go != arm) | Cat(br.started_s != go for br in bridges).any())
            m.d.comb += busy.eq(local0 | starting | Cat(br.busy_s for br in bridges).any())

        # Configuration.
        m.submodules.cfg = dec = self.decoder
        wiring.connect(m, wiring.flipped(self.cfg_req), dec.cfg_req)
        wiring.connect(m, dec.cfg_resp, wiring.flipped(self.cfg_resp))
        for j, xy in enumerate(xy for xy in p.tiles() if self.domain_of[xy] == 0):
            wiring.connect(m, dec.tiles[j], self.tiles[xy].cfg)
        for k, br in enumerate(bridges, start=1):
            req = dec.bridges[k - 1]
            m.d.comb += [br.cfg_start.eq(req.start), br.cfg_region.eq(req.region), br.cfg_offset.eq(req.offset),
                         br.cfg_wdata.eq(req.wdata), br.cfg_we.eq(req.we), br.cfg_tile.eq(req.tile),
                         br.cfg_counter.eq(req.counter), req.done.eq(br.cfg_done), req.rdata.eq(br.cfg_rdata)]
        m.d.comb += [dec.busy.eq(busy), dec.ticks.eq(ticks), dec.busy_cycles.eq(busy_cycles),
                     dec.domain0_busy_cycles.eq(domain0_busy_cycles), dec.parity.eq(parity)]
        return m


def chip_verilog(params: spec.HwParams, init=None, partition=None) -> str:
    """The chip's Verilog, module `neuromesh_chip` (ports: SPEC section 6, and `clk_k` for each
    clock domain k >= 1 of `partition`)."""
    from amaranth.back import verilog
    chip = Chip(params, init, partition)
    return verilog.convert(chip, name=VERILOG_NAME, emit_src=False)
