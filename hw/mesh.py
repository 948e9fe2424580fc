"""The chip top (SPEC sections 1, 2, 6; docs/architecture.md section 5): a W x H mesh of Tiles,
the host ports at the west edge of tile (0, 0), the tick handshake, `busy`, the configuration
decoder (hw/cfg_decoder.py) and the chip registers.

- Links: tile (x, y)'s east output is tile (x+1, y)'s west input, its north output tile
  (x, y+1)'s south input, and so on; edge inputs have `valid = 0`, edge outputs `ready = 0`
  (XY routing never asks for them). `spike_in` is tile (0, 0)'s west input, `spike_out` its
  west output.
- `busy` = some router input FIFO holds a flit or some core is not idle (links are wires and
  hold nothing). `tick.ready = ~busy`; the handshake (cycle h) pulses `tick_start` into every
  core in h, flips `parity` and increments `ticks`. `busy_cycles` counts the cycles with `busy`.
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_decoder import CfgDecoder
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


class Chip(wiring.Component):
    """The whole chip, with exactly the SPEC section 6 ports."""

    def __init__(self, params: spec.HwParams, init=None):
        if not isinstance(params, spec.HwParams):
            raise spec.ConfigError("params", params, "must be a neuromesh.spec.HwParams")
        spec.check_rtl_size(params, "Verilog generation")
        self.params = params
        init = check_init(params, init)
        self.tiles = {(x, y): Tile(params, x, y, init.get((x, y)))
                      for x, y in params.tiles()}
        self.decoder = CfgDecoder(params)
        super().__init__({
            "cfg_req": In(stream.Signature(spec.cfg_req_layout())),
            "cfg_resp": Out(stream.Signature(spec.CFG_RESP_WIDTH)),
            "spike_in": In(stream.Signature(spec.flit_layout())),
            "spike_out": Out(stream.Signature(spec.flit_layout())),
            "tick": In(TickSignature),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        for (x, y), tile in self.tiles.items():
            m.submodules[f"tile_{x}_{y}"] = tile

        # Links between neighbours.
        for (x, y), tile in self.tiles.items():
            for port in LINK_PORTS:
                dx, dy = spec.PORT_DELTA[port]
                neighbour = self.tiles.get((x + dx, y + dy))
                if neighbour is not None:
                    wiring.connect(m, tile.link_out(port), neighbour.link_in(spec.OPPOSITE[port]))
        origin = self.tiles[(0, 0)]
        wiring.connect(m, wiring.flipped(self.spike_in), origin.link_in(spec.WEST))
        wiring.connect(m, origin.link_out(spec.WEST), wiring.flipped(self.spike_out))

        # Quiescence and the tick handshake.
        busy = Signal()
        m.d.comb += busy.eq(Cat(tile.busy for tile in self.tiles.values()).any())
        m.d.comb += self.busy.eq(busy)

        ticks = Signal(spec.COUNTER_BITS)
        busy_cycles = Signal(spec.COUNTER_BITS)
        parity = Signal()
        handshake = Signal()
        m.d.comb += [self.tick.ready.eq(~busy), handshake.eq(self.tick.valid & ~busy)]
        for tile in self.tiles.values():
            m.d.comb += tile.tick_start.eq(handshake)
        with m.If(handshake):
            m.d.sync += [ticks.eq(ticks + 1), parity.eq(~parity)]
        with m.If(busy):
            m.d.sync += busy_cycles.eq(busy_cycles + 1)

        # Configuration.
        m.submodules.cfg = dec = self.decoder
        wiring.connect(m, wiring.flipped(self.cfg_req), dec.cfg_req)
        wiring.connect(m, dec.cfg_resp, wiring.flipped(self.cfg_resp))
        for index, xy in enumerate(p.tiles()):
            wiring.connect(m, dec.tiles[index], self.tiles[xy].cfg)
        m.d.comb += [dec.busy.eq(busy), dec.ticks.eq(ticks), dec.busy_cycles.eq(busy_cycles),
                     dec.parity.eq(parity)]
        return m


def chip_verilog(params: spec.HwParams, init=None) -> str:
    """The chip's Verilog, module `neuromesh_chip`."""
    from amaranth.back import verilog
    chip = Chip(params, init)
    return verilog.convert(chip, name=VERILOG_NAME, emit_src=False)
