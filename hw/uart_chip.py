"""The chip behind a UART: `UART` + `HostBridge` + `Chip`, with two pins (`rx`, `tx`) and two
status outputs for LEDs. Board-independent: the board top (hw/board_top.py) puts it on a
platform's pins, and the board test runs it under Verilator with a Python UART on the pins.

The chip sits under a `ResetInserter` driven by the bridge's `chip_rst` (the RESET command), so
the host can clear the chip's registers and counters between runs without resetting the bridge
it talks through. Memories survive it, as they survive `rst` (docs/architecture.md section 2).
"""
from amaranth.hdl import Module, ResetInserter
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.host_bridge import HostBridge
from neuromesh.hw.mesh import Chip
from neuromesh.hw.uart import UART, divisor_for

VERILOG_NAME = "neuromesh_uart_chip"


class UartChip(wiring.Component):
    """`rx`, `tx`: the UART pins (8N1 at `baud`, from a `clk_hz` clock). `busy`: the chip's.
    `error`: some sticky error flag of the bridge is set (docs/board.md, errors)."""

    rx: In(1, init=1)
    tx: Out(1, init=1)
    busy: Out(1)
    error: Out(1)

    def __init__(self, params: spec.HwParams, *, clk_hz: int, baud: int, rx_depth: int = 512,
                 tx_depth: int = 512):
        self.params = params
        self.divisor = divisor_for(clk_hz, baud)
        self.uart = UART(self.divisor)
        self.bridge = HostBridge(params, clk_hz=clk_hz, divisor=self.divisor,
                                 rx_depth=rx_depth, tx_depth=tx_depth)
        self.chip = Chip(params)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        uart, bridge, chip = self.uart, self.bridge, self.chip
        m.submodules.uart = uart
        m.submodules.bridge = bridge
        m.submodules.chip = ResetInserter({"sync": bridge.chip_rst})(chip)
        m.d.comb += [uart.rx.eq(self.rx), self.tx.eq(uart.tx),
                     bridge.rx_overrun.eq(uart.overrun), bridge.rx_framing.eq(uart.framing),
                     self.busy.eq(chip.busy), self.error.eq(bridge.flags.any())]
        wiring.connect(m, uart.rx_data, bridge.rx)
        wiring.connect(m, bridge.tx, uart.tx_data)
        for name in ("cfg_req", "cfg_resp", "spike_in", "spike_out", "tick"):
            wiring.connect(m, getattr(bridge, name), getattr(chip, name))
        m.d.comb += bridge.busy.eq(chip.busy)
        return m


def uart_chip_verilog(params: spec.HwParams, **kwargs) -> str:
    from amaranth.back import verilog
    return verilog.convert(UartChip(params, **kwargs), name=VERILOG_NAME, emit_src=False)
