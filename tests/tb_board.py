"""cocotb tests of the UART bridge + chip (`neuromesh.hw.uart_chip.UartChip`) with a Python UART
on its pins (`neuromesh.tools.cosim.uart`). Driven by tests/test_board.py through a JSON job
file (path in NM_BOARD_JOB): {"params", "divisor", "rx_depth", "out", and for `board_run`:
"writes", "tick_inputs"}.

- `board_run`: the board engine's own host code (`neuromesh.tools.board.engine.run_on`) in a
  bridge thread, over the simulated line; writes the EngineRun to `out` for the pytest side to
  compare with the golden model.
- `bridge_frames`: frames written out by hand, byte by byte, and the bytes the bridge must
  answer, including every error of docs/board.md.
"""
import json
import os
from dataclasses import asdict
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.task import bridge
from cocotb.triggers import ClockCycles

from neuromesh import spec
from neuromesh.tools.board import engine, protocol as proto
from neuromesh.tools.cosim.uart import UartLine, UartTransport

JOB = "NM_BOARD_JOB"


def _job() -> dict:
    return json.loads(Path(os.environ[JOB]).read_text())


async def _start(dut, divisor: int) -> UartLine:
    Clock(dut.clk, 10, unit="ns").start()
    dut.rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    return UartLine(dut.clk, dut.rx, dut.tx, divisor)


async def _exchange(line: UartLine, data: bytes, expect: int, stop: int = 1, limit: int = 200_000) -> bytes:
    """Send `data`, then run until `expect` bytes came back (or `limit` cycles passed)."""
    line.send(data, stop)
    await line.wait_sent()
    got = bytearray()
    waited = 0
    while len(got) < expect and waited < limit:
        await ClockCycles(line.clk, 10 * line.divisor)
        waited += 10 * line.divisor
        got += line.take()
    await ClockCycles(line.clk, 40 * line.divisor)     # nothing more may follow
    got += line.take()
    return bytes(got)


@cocotb.test()
async def board_run(dut):
    job = _job()
    line = await _start(dut, job["divisor"])
    params = spec.HwParams.from_dict(job["params"])
    transport = UartTransport(line)
    run = await bridge(engine.run_on)(transport, params, [tuple(w) for w in job["writes"]],
                                      job["tick_inputs"])
    Path(job["out"]).write_text(json.dumps(asdict(run)))


@cocotb.test()
async def bridge_frames(dut):
    job = _job()
    line = await _start(dut, job["divisor"])
    params = spec.HwParams.from_dict(job["params"])
    x = bytes.fromhex

    # INFO magic: A5 | 01 | 01 | 00 | CRC-8(01 01 00) = 7E  ->  WORD 0x4E4D4201.
    assert await _exchange(line, x("a5 01 01 00 7e"), 8) == x("a5 82 04 01 42 4d 4e 28")
    # A bad CRC: answered by ERROR CHECKSUM naming the frame's code.
    assert await _exchange(line, x("a5 01 01 00 7f"), 6) == x("a5 85 02 01 01 bb")
    # Unknown code 7F (LEN 0, good CRC 61): ERROR COMMAND.
    assert await _exchange(line, x("a5 7f 00 61"), 6) == x("a5 85 02 02 7f f9")
    # INFO with two payload bytes: skipped whole, ERROR LENGTH; the next frame still works.
    assert await _exchange(line, x("a5 01 02 00 00 c0") + x("a5 01 01 00 7e"), 14) == \
        x("a5 85 02 03 01 91") + x("a5 82 04 01 42 4d 4e 28")
    # Bytes outside a frame: one unsolicited ERROR SYNC naming the first, then the answer.
    assert await _exchange(line, x("00 13") + x("a5 01 01 00 7e"), 14) == \
        x("a5 85 02 06 00 d7") + x("a5 82 04 01 42 4d 4e 28")
    # The flag stays up (no second SYNC error frame) until INFO flags (5) reads and clears it.
    assert await _exchange(line, x("00") + x("a5 01 01 05 65"), 8) == x("a5 82 04 04 00 00 00 69")
    assert await _exchange(line, x("a5 01 01 05 65"), 8) == x("a5 82 04 00 00 00 00") + bytes([proto.crc8(x("82 04 00 00 00 00"))])
    # A stop bit held low: ERROR FRAMING, flag bit 1.
    assert await _exchange(line, x("55"), 6, stop=0) == x("a5 85 02 05 00 e8")
    assert await _exchange(line, x("a5 01 01 05 65"), 8) == x("a5 82 04 02 00 00 00 1d")

    # WRITE then READ of a parameter word through the chip's cfg_req.
    addr = spec.tile_addr(0, 0, "param", 1)
    word = spec.PARAM_WORDS[1].pack(vth=1234, bias_mant=-5)
    assert await _exchange(line, proto.write(addr, word), 5) == x("a5 81 01 02 7b")
    assert await _exchange(line, proto.read(addr), 8) == proto.frame(proto.Response.WORD, word.to_bytes(4, "little"))
    # INFO: every chip parameter, and the window.
    for name in proto.PARAM_INFO:
        got = await _exchange(line, proto.info(proto.INFO_INDEX[name]), 8)
        assert got == proto.frame(proto.Response.WORD, getattr(params, name).to_bytes(4, "little")), name
    got = await _exchange(line, proto.info(proto.INFO_INDEX["rx_depth"]), 8)
    assert got == proto.frame(proto.Response.WORD, job["rx_depth"].to_bytes(4, "little"))

    # TICK on the idle chip: DONE (h, q) with h < q; the chip's `ticks` counter counted it.
    # RESET clears the chip's counters (not the bridge: it answers); ZERO restarts the stamps.
    async def read(a):
        (f,) = proto.Parser().feed(await _exchange(line, proto.read(a), 8))
        return f.fields()[0]

    async def info(name):
        (f,) = proto.Parser().feed(await _exchange(line, proto.info(proto.INFO_INDEX[name]), 8))
        return f.fields()[0]

    ticks = spec.chip_addr("ticks")
    before = await read(ticks)
    (done,) = proto.Parser().feed(await _exchange(line, x("a5 05 00 41"), 12))
    h, q = done.fields()
    assert done.kind is proto.Response.DONE and h < q
    assert await read(ticks) == before + 1
    assert await _exchange(line, proto.reset(), 5) == proto.frame(proto.Response.ACK, bytes([proto.Command.RESET]))
    assert await read(ticks) == 0
    late = await info("cycle")
    assert await _exchange(line, proto.zero(), 5) == proto.frame(proto.Response.ACK, bytes([proto.Command.ZERO]))
    assert await info("cycle") < late

    # A host that ignores the window: INFO answers (8 bytes) are slower on the line than INFO
    # commands (5 bytes), so the transmit side fills, the decoder waits, the receive FIFO
    # fills and bytes are lost: ERROR OVERRUN comes among the answers.
    n = 4 * job["rx_depth"]
    got = await _exchange(line, x("a5 01 01 00 7e") * n, 10 ** 9, limit=n * 200 * line.divisor)
    frames, parser, junk = [], proto.Parser(), 0
    for b in got:        # frames around lost bytes can be cut: count what parses
        try:
            frames += parser.feed(bytes([b]))
        except proto.FrameError:
            junk += 1
    assert proto.Frame(proto.Response.ERROR, x("04 00")) in frames
    words = [f for f in frames if f.kind is proto.Response.WORD]
    assert 0 < len(words) < n
    # It recovers as a host starting a session does (BoardLink.resync): zeros end whatever
    # frame the decoder is in, the flags say what happened, then frames are answered as usual.
    await _exchange(line, bytes(proto.RESYNC_BYTES), 10 ** 9, limit=proto.RESYNC_BYTES * 20 * line.divisor)
    flags = await _exchange(line, x("a5 01 01 05 65"), 8)
    assert flags[:3] == x("a5 82 04") and flags[3] & 1, flags.hex()
    assert await _exchange(line, x("a5 01 01 00 7e"), 8) == x("a5 82 04 01 42 4d 4e 28")
