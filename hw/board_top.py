"""The board top: a `UartChip` (hw/uart_chip.py) on an amaranth-boards platform's pins.

- Clock: the platform's default clock (`sync`, with the platform's power-on reset), or, with
  `clk_hz`, a PLL's output at that frequency (hw/board_clock.py) for a chip that cannot meet the
  oscillator's; the UART's divisor comes from the frequency and `baud` (hw/uart.py refuses a
  rate the clock cannot make).
- Pins: the platform's `uart` 0 (`rx` into the FPGA, `tx` out to the host's USB bridge).
- LEDs, as many as the board has, for bring-up: LED 0 blinks at about 1 Hz (the bitstream
  runs), LED 1 lights while the chip is busy (stretched to 1/16 s so a short tick shows),
  LED 2 while a sticky error flag of the bridge is set (docs/board.md: errors).
"""
from amaranth.build import ResourceError
from amaranth.hdl import ClockDomain, Elaboratable, Module, Signal
from amaranth.lib import io

from neuromesh import spec
from neuromesh.hw.board_clock import BoardClock
from neuromesh.hw.uart_chip import UartChip
from neuromesh.tools.board.protocol import DEFAULT_BAUD


class BoardTop(Elaboratable):
    def __init__(self, params: spec.HwParams, *, baud: int = DEFAULT_BAUD, clk_hz: int | None = None,
                 rx_depth: int = 512, tx_depth: int = 512):
        self.params, self.baud, self.clk_hz = params, baud, clk_hz
        self.rx_depth, self.tx_depth = rx_depth, tx_depth

    def elaborate(self, platform):
        m = Module()
        clk_hz = int(platform.default_clk_frequency)
        if self.clk_hz is not None and self.clk_hz != clk_hz:
            m.domains.sync = cd = ClockDomain("sync")
            m.submodules.clock = BoardClock(cd, self.clk_hz)
            clk_hz = self.clk_hz
        m.submodules.core = core = UartChip(self.params, clk_hz=clk_hz, baud=self.baud,
                                            rx_depth=self.rx_depth, tx_depth=self.tx_depth)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [core.rx.eq(rx.i), tx.o.eq(core.tx)]

        leds = []
        for i in range(3):
            try:
                port = platform.request("led", i, dir="-")
            except ResourceError:
                break
            m.submodules[f"led_{i}"] = led = io.Buffer("o", port)
            leds.append(led.o)
        heartbeat = Signal(max(1, (clk_hz - 1).bit_length()))
        m.d.sync += heartbeat.eq(heartbeat + 1)
        stretch = Signal(range(clk_hz // 16 + 1))
        with m.If(core.busy):
            m.d.sync += stretch.eq(clk_hz // 16)
        with m.Elif(stretch != 0):
            m.d.sync += stretch.eq(stretch - 1)
        for led, value in zip(leds, (heartbeat[-1], stretch != 0, core.error)):
            m.d.comb += led.eq(value)
        return m
