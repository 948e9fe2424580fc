"""An 8N1 UART: `UARTRx` and `UARTTx`, and `UART`, the two on one pair of pins (the board
bridge's line; docs/board.md).

One bit lasts `divisor` clock cycles (`divisor_for(clk_hz, baud)`), so the line runs at
clk_hz / divisor baud. A byte on the wire is a start bit (0), eight data bits LSB first and a
stop bit (1): 10 bits. The line idles high.

Receiver timing: the pin passes a two-flip-flop synchronizer (it comes from another clock
domain: the host's). A low level seen while idle starts a byte; the receiver samples the start
bit again `divisor // 2` cycles later (the middle of the bit, give or take the synchronizer's
delay, which is the same for every edge), then every `divisor` cycles the eight data bits and
the stop bit, and is idle again right after the stop-bit sample, half a bit before the next
start bit can begin. A start bit that is high again at its middle was a glitch and is ignored.
"""
from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from neuromesh import spec

DATA_BITS = 8
FRAME_BITS = 1 + DATA_BITS + 1     # start, data, stop
# The receiver samples at divisor // 2 after the start edge it saw through a 2-cycle
# synchronizer; below 4 cycles per bit there is no margin left around that point.
MIN_DIVISOR = 4
# Both ends of an 8N1 link may be off by about 2% each before the stop bit of a byte slips
# past half a bit.
MAX_BAUD_ERROR = 0.02


def divisor_for(clk_hz: int, baud: int) -> int:
    """Clock cycles per bit for `baud` from a `clk_hz` clock; refuses a rate this clock cannot
    make within MAX_BAUD_ERROR."""
    for name, value in (("clk_hz", clk_hz), ("baud", baud)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise spec.ConfigError(name, value, "must be a positive integer")
    divisor = round(clk_hz / baud)
    if divisor < MIN_DIVISOR:
        raise spec.ConfigError("baud", baud, f"too fast for a {clk_hz} Hz clock: needs at least "
                                             f"{MIN_DIVISOR} cycles per bit (at most {clk_hz // MIN_DIVISOR} baud)")
    error = abs(clk_hz / divisor - baud) / baud
    if error > MAX_BAUD_ERROR:
        raise spec.ConfigError("baud", baud, f"a {clk_hz} Hz clock makes {clk_hz / divisor:.0f} baud at best "
                                             f"({error:.1%} off; at most {MAX_BAUD_ERROR:.0%})")
    return divisor


def _check_divisor(divisor) -> int:
    if isinstance(divisor, bool) or not isinstance(divisor, int) or divisor < MIN_DIVISOR:
        raise spec.ConfigError("divisor", divisor, f"must be an integer of at least {MIN_DIVISOR} cycles per bit")
    return divisor


class UARTRx(wiring.Component):
    """`rx`: the pin. `data`: received bytes; a byte is held until taken. `overrun` pulses when
    a byte completes while the previous one is still held (the new byte is lost), `framing`
    when a stop bit is low (the byte is dropped)."""

    rx: In(1, init=1)
    data: Out(stream.Signature(DATA_BITS))
    overrun: Out(1)
    framing: Out(1)

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        pin = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, pin, init=1)

        timer = Signal(range(d))
        bits = Signal(range(DATA_BITS + 1))
        shreg = Signal(DATA_BITS)
        with m.If(self.data.ready):
            m.d.sync += self.data.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~pin):
                    m.d.sync += timer.eq(d // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(d - 1), bits.eq(0)]
                    # High again at the middle of the start bit: a glitch, not a byte.
                    with m.If(pin):
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "DATA"
            with m.State("DATA"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(d - 1), shreg.eq(Cat(shreg[1:], pin)), bits.eq(bits + 1)]
                    with m.If(bits == DATA_BITS - 1):
                        m.next = "STOP"
            with m.State("STOP"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(~pin):
                        m.d.comb += self.framing.eq(1)
                    with m.Elif(self.data.valid & ~self.data.ready):
                        m.d.comb += self.overrun.eq(1)
                    with m.Else():
                        m.d.sync += [self.data.valid.eq(1), self.data.payload.eq(shreg)]
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """`data`: bytes to send (ready while the line is idle). `tx`: the pin, from a flip-flop
    (no glitches on the line)."""

    tx: Out(1, init=1)
    data: In(stream.Signature(DATA_BITS))

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        d = self.divisor
        timer = Signal(range(d))
        left = Signal(range(FRAME_BITS + 1))
        shreg = Signal(FRAME_BITS, init=(1 << FRAME_BITS) - 1)

        # Ready while idle, and in the last cycle of a stop bit, so back-to-back bytes leave
        # with no idle cycle between them.
        last = (left == 1) & (timer == 0)
        m.d.comb += self.data.ready.eq((left == 0) | last)
        with m.If(self.data.valid & self.data.ready):
            # LSB first: start bit, the byte, stop bit.
            frame = Cat(Const(0, 1), self.data.payload, Const(1, 1))
            m.d.sync += [self.tx.eq(0), shreg.eq(frame >> 1), left.eq(FRAME_BITS), timer.eq(d - 1)]
        with m.Elif(left != 0):
            m.d.sync += timer.eq(timer - 1)
            with m.If(timer == 0):
                m.d.sync += [timer.eq(d - 1), left.eq(left - 1)]
                with m.If(left == 1):
                    m.d.sync += self.tx.eq(1)     # the stop bit has lasted a whole bit: idle
                with m.Else():
                    m.d.sync += [self.tx.eq(shreg[0]), shreg.eq(shreg >> 1)]
        return m


class UART(wiring.Component):
    """A receiver and a transmitter with the same divisor, on the pins `rx` and `tx`."""

    rx: In(1, init=1)
    tx: Out(1, init=1)
    rx_data: Out(stream.Signature(DATA_BITS))
    tx_data: In(stream.Signature(DATA_BITS))
    overrun: Out(1)
    framing: Out(1)

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.rx = rx = UARTRx(self.divisor)
        m.submodules.tx = tx = UARTTx(self.divisor)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx),
                     self.overrun.eq(rx.overrun), self.framing.eq(rx.framing)]
        wiring.connect(m, rx.data, wiring.flipped(self.rx_data))
        wiring.connect(m, wiring.flipped(self.tx_data), tx.data)
        return m
