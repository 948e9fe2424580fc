"""The chip's configuration decoder: `cfg_req` / `cfg_resp` (SPEC section 6) onto the per-tile
configuration buses and the chip registers (docs/architecture.md sections 5 and 6).

Timing, for a request accepted in cycle c (`cfg_req.valid & cfg_req.ready`):
- c: the address is decoded combinationally from the payload and, for a mapped tile address,
  `we` or `re` is driven on that tile's bus in the same cycle c (a write takes effect at the
  end of c). A chip register's value during c is latched at the end of c.
- c+1: the tile answers on its `rdata` (a synchronous read); the answer, or the latched chip
  register, or 0 for an unmapped address, is latched into the response register.
- c+2 on: `cfg_resp.valid` is high with the word, until it is taken.
`cfg_req.ready = ~busy & ~pending` where `pending` is set by an accepted read and cleared by
the `cfg_resp` transfer (registered state only; the ready returns the cycle after the response
is taken). Writes leave no pending state: they can go back to back, one per cycle.

Unmapped addresses (spec.decode_addr refuses them) read as 0 and writes to them, to counters
and to chip registers are ignored. Field positions all come from neuromesh.spec.
"""
from amaranth.hdl import Array, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_bus import CfgBusSignature

REGION_FIELD_BITS = spec.ADDR_REGION_BITS
TILE_FIELD_TOP = spec.ADDR_TILE_TOP          # bits [TILE_FIELD_TOP, 31) of a tile address must be 0


class CfgDecoder(wiring.Component):
    """`tiles[y * width + x]` is tile (x, y)'s bus. `ticks`, `busy_cycles`, `parity` and `busy`
    are the chip-register values kept by the chip top."""

    def __init__(self, params: spec.HwParams):
        self.params = params
        super().__init__({
            "cfg_req": In(stream.Signature(spec.cfg_req_layout())),
            "cfg_resp": Out(stream.Signature(spec.CFG_RESP_WIDTH)),
            "tiles": Out(CfgBusSignature()).array(params.n_tiles),
            "busy": In(1),
            "ticks": In(spec.COUNTER_BITS),
            "busy_cycles": In(spec.COUNTER_BITS),
            "parity": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        req = self.cfg_req.payload
        addr = req.addr

        pending = Signal()                  # a read accepted and not yet answered and taken
        accept = Signal()
        m.d.comb += [self.cfg_req.ready.eq(~self.busy & ~pending),
                     accept.eq(self.cfg_req.valid & self.cfg_req.ready)]

        # ---- decode -------------------------------------------------------------------------
        offset = addr[:spec.ADDR_OFFSET_BITS]
        region = addr[spec.ADDR_REGION_LSB:spec.ADDR_REGION_LSB + REGION_FIELD_BITS]
        tx = addr[spec.ADDR_X_LSB:spec.ADDR_X_LSB + spec.COORD_BITS]
        ty = addr[spec.ADDR_Y_LSB:spec.ADDR_Y_LSB + spec.COORD_BITS]
        is_global = addr[spec.ADDR_GLOBAL_BIT]

        chip_hit = Signal()
        m.d.comb += chip_hit.eq(is_global & (addr[spec.ADDR_OFFSET_BITS:spec.ADDR_GLOBAL_BIT] == 0)
                                & (offset < len(spec.CHIP_REGISTERS)))

        region_ok = Signal()       # region exists and the offset lies inside it
        writable = Signal()
        with m.Switch(region):
            for r, name in enumerate(spec.REGIONS):
                with m.Case(r):
                    m.d.comb += [region_ok.eq(offset < spec.region_size(p, name)),
                                 writable.eq(name in spec.WRITABLE_REGIONS)]
        tile_hit = Signal()
        m.d.comb += tile_hit.eq(~is_global & (addr[TILE_FIELD_TOP:spec.ADDR_GLOBAL_BIT] == 0)
                                & (tx < p.width) & (ty < p.height) & region_ok)

        for index, (x, y) in enumerate(p.tiles()):
            bus = self.tiles[index]
            here = Signal(name=f"sel_{x}_{y}")
            m.d.comb += [
                here.eq(accept & tile_hit & (tx == x) & (ty == y)),
                bus.region.eq(region),
                bus.offset.eq(offset),
                bus.wdata.eq(req.data),
                bus.we.eq(here & req.write & writable),
                bus.re.eq(here & ~req.write),
            ]

        # ---- chip registers (values during cycle c) -----------------------------------------
        status = spec.CHIP_STATUS_WORD
        params_word = spec.CHIP_PARAMS_WORD.pack(width_m1=p.width - 1, height_m1=p.height - 1)
        chip_value = Signal(spec.CFG_WORD_BITS)
        with m.Switch(offset):
            for k, name in enumerate(spec.CHIP_REGISTERS):
                with m.Case(k):
                    value = {
                        "id": Const(spec.CHIP_ID, spec.CFG_WORD_BITS),
                        "params": Const(params_word, spec.CFG_WORD_BITS),
                        "ticks": self.ticks,
                        "busy_cycles": self.busy_cycles,
                        "status": (self.busy << status.field("busy").lsb)
                                  | (self.parity << status.field("parity").lsb),
                    }[name]
                    m.d.comb += chip_value.eq(value)

        # ---- read pipeline ------------------------------------------------------------------
        stage1 = Signal()                        # cycle c+1 of a read
        stage1_tile = Signal()                   # ... answered by a tile
        stage1_index = Signal(range(max(2, p.n_tiles)))
        stage1_value = Signal(spec.CFG_WORD_BITS)                # chip register value, or 0 if unmapped
        tile_index = Signal.like(stage1_index)
        m.d.comb += tile_index.eq(ty * p.width + tx)

        m.d.sync += stage1.eq(0)
        with m.If(accept & ~req.write):
            m.d.sync += [pending.eq(1), stage1.eq(1), stage1_tile.eq(tile_hit),
                         stage1_index.eq(tile_index),
                         stage1_value.eq(chip_hit.replicate(spec.CFG_WORD_BITS) & chip_value)]

        resp_valid = Signal()
        resp_data = Signal(spec.CFG_WORD_BITS)
        rdata = Array(bus.rdata for bus in self.tiles)
        with m.If(stage1):
            m.d.sync += [resp_valid.eq(1),
                         resp_data.eq(stage1_value)]
            with m.If(stage1_tile):
                m.d.sync += resp_data.eq(rdata[stage1_index])
        m.d.comb += [self.cfg_resp.valid.eq(resp_valid), self.cfg_resp.payload.eq(resp_data)]
        with m.If(self.cfg_resp.valid & self.cfg_resp.ready):
            m.d.sync += [resp_valid.eq(0), pending.eq(0)]
        return m
