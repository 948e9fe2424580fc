"""The 8N1 UART (hw/uart.py) in Amaranth's simulator against waveforms worked out here: the
transmitter's pin sampled every cycle, the receiver driven bit by bit, for several divisors
(the minimum, odd and even)."""
import pytest
from amaranth.sim import Simulator

from neuromesh import spec
from neuromesh.hw.uart import MIN_DIVISOR, UARTRx, UARTTx, divisor_for

BYTES = [0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80, 0x3C]


def waveform(byte: int, divisor: int, stop: int = 1) -> list:
    """The pin, cycle by cycle, for one 8N1 byte: start 0, data LSB first, stop."""
    bits = [0] + [(byte >> i) & 1 for i in range(8)] + [stop]
    return [b for b in bits for _ in range(divisor)]


@pytest.mark.parametrize("clk_hz,baud,divisor", [(12_000_000, 115_200, 104), (25_000_000, 115_200, 217),
                                                 (1_000_000, 250_000, 4), (48_000_000, 3_000_000, 16)])
def test_divisor(clk_hz, baud, divisor):
    assert divisor_for(clk_hz, baud) == divisor


@pytest.mark.parametrize("clk_hz,baud,needle", [(1_000_000, 300_000, "at least 4 cycles per bit"),
                                                (1_000_000, 230_400, "8.5% off"),
                                                (1_000_000, 0, "positive")])
def test_divisor_refused(clk_hz, baud, needle):
    with pytest.raises(spec.ConfigError, match=needle.replace("%", "%").replace(".", r"\.")):
        divisor_for(clk_hz, baud)


@pytest.mark.parametrize("divisor", [MIN_DIVISOR, 5, 8])
def test_tx_waveform(divisor):
    """Back-to-back bytes: exactly the 8N1 waveform, 10 bits of `divisor` cycles per byte, the
    line high before and after."""
    dut = UARTTx(divisor)
    pins = []

    async def source(ctx):
        for b in BYTES:
            ctx.set(dut.data.payload, b)
            ctx.set(dut.data.valid, 1)
            await ctx.tick().until(dut.data.ready)
        ctx.set(dut.data.valid, 0)

    async def probe(ctx):
        for _ in range(3 + len(BYTES) * 10 * divisor + 10):
            await ctx.tick()
            pins.append(ctx.get(dut.tx))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(probe)
    sim.run()
    start = pins.index(0)
    expected = [b for byte in BYTES for b in waveform(byte, divisor)]
    assert pins[:start] == [1] * start
    assert pins[start:start + len(expected)] == expected
    assert set(pins[start + len(expected):]) == {1}


def test_tx_line_idles_high_from_reset():
    """Before the first byte the line is idle, i.e. high: a low line after reset would be a
    false start bit to the receiver on the other side."""
    divisor = MIN_DIVISOR
    dut = UARTTx(divisor)
    pins = []

    async def probe(ctx):
        pins.append(ctx.get(dut.tx))
        for _ in range(3 * 10 * divisor):
            await ctx.tick()
            pins.append(ctx.get(dut.tx))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(probe)
    sim.run()
    assert set(pins) == {1}


def _run_rx(divisor, wave, take=True, overrun_cycles=None):
    """Drive `wave` on the pin (one value per cycle); return (bytes, framing pulses, overruns).
    `take`: data.ready, constant or per cycle (a function of the cycle number); the cycles of
    the overrun pulses go into `overrun_cycles` if given."""
    dut = UARTRx(divisor)
    got, framing, overrun = [], [0], [0]
    ready = take if callable(take) else (lambda cycle: take)

    async def drive(ctx):
        for cycle, v in enumerate([1] * 5 + wave + [1] * (4 * divisor)):
            ctx.set(dut.data.ready, 1 if ready(cycle) else 0)
            ctx.set(dut.rx, v)
            await ctx.tick()

    async def watch(ctx):
        cycle = 0
        async for _clk, _rst, valid, ready_now, payload, fr, ov in ctx.tick().sample(
                dut.data.valid, dut.data.ready, dut.data.payload, dut.framing, dut.overrun):
            if valid and ready_now:
                got.append(payload)
            framing[0] += fr
            overrun[0] += ov
            if ov and overrun_cycles is not None:
                overrun_cycles.append(cycle)
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(drive)
    sim.add_process(watch)
    sim.run_until(1e-6 * (len(wave) + 5 * divisor + 20))
    return got, framing[0], overrun[0]


@pytest.mark.parametrize("divisor", [MIN_DIVISOR, 5, 8])
def test_rx_back_to_back(divisor):
    wave = [v for b in BYTES for v in waveform(b, divisor)]
    assert _run_rx(divisor, wave) == (BYTES, 0, 0)


@pytest.mark.parametrize("divisor", [MIN_DIVISOR, 7])
def test_rx_framing_and_glitch(divisor):
    """A low stop bit drops its byte with one `framing` pulse; a one-cycle low glitch on an idle
    line is not a start bit; the next byte is received."""
    wave = waveform(0x42, divisor, stop=0) + [1] * divisor + [1, 0] + [1] * divisor + waveform(0x99, divisor)
    assert _run_rx(divisor, wave) == ([0x99], 1, 0)


def test_rx_overrun():
    """A byte completed while the previous one is still held is lost, with one `overrun` pulse
    per lost byte (the held byte stays)."""
    divisor = MIN_DIVISOR
    wave = [v for b in (0x11, 0x22, 0x33) for v in waveform(b, divisor)]
    dut_bytes, framing, overrun = _run_rx(divisor, wave, take=False)
    assert (dut_bytes, framing, overrun) == ([], 0, 2)


def test_rx_byte_completing_as_the_previous_is_taken():
    """The held byte is taken in the very cycle the next one completes: no overrun, both bytes
    arrive (a transfer frees the holding register in its own cycle). The cycle is found with
    the consumer never ready: it is the cycle of the overrun pulse."""
    divisor = MIN_DIVISOR
    wave = [v for b in (0x11, 0x22) for v in waveform(b, divisor)]
    cycles = []
    assert _run_rx(divisor, wave, take=False, overrun_cycles=cycles) == ([], 0, 1)
    late = cycles[0]
    assert _run_rx(divisor, wave, take=lambda cycle: cycle >= late) == ([0x11, 0x22], 0, 0)
    # one cycle later the second byte is an overrun: the test sits on the boundary
    assert _run_rx(divisor, wave, take=lambda cycle: cycle >= late + 1) == ([0x11], 0, 1)
