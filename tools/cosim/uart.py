"""The Python end of an 8N1 UART line under cocotb, and a board-link transport over it, so the
board host (`neuromesh.tools.board`) runs unchanged against the bridge's RTL.

- `UartLine`: drives the design's receive pin (`rx`) and decodes its transmit pin (`tx`), one
  bit every `divisor` clock cycles, bytes back to back as a real UART sends them. It changes
  `rx` only right after a rising edge and samples `tx` in the middle of each bit, so no
  sample lands on an edge.
- `UartTransport`: `neuromesh.tools.board.transport.Transport` for host code running in a
  `cocotb.task.bridge` thread: `write` queues bytes on the line, `read` lets the simulation run until
  bytes arrive or the timeout passes (seconds become clock cycles at `cycles_per_s`: simulated
  time, not wall time).
"""
from __future__ import annotations

from collections import deque

import cocotb
from cocotb.task import resume
from cocotb.triggers import ClockCycles, Event, FallingEdge, RisingEdge

from neuromesh.tools.board.transport import Transport


class UartLine:
    """`send(data)` queues bytes; `received` collects decoded bytes; `framing_errors` counts
    bytes whose stop bit was low. `stop_bit(byte)` may be overridden per byte by `send(...,
    stop=0)` to make a framing error on purpose."""

    def __init__(self, clk, rx, tx, divisor: int):
        self.clk, self.rx, self.tx, self.divisor = clk, rx, tx, divisor
        self.queue: deque = deque()
        self.received = bytearray()
        self.framing_errors = 0
        self.arrived = Event()
        self._kick = Event()
        self._idle = Event()
        self._idle.set()
        rx.value = 1
        cocotb.start_soon(self._send())
        cocotb.start_soon(self._receive())

    def send(self, data: bytes, stop: int = 1) -> None:
        self.queue.extend((b, stop) for b in data)
        self._idle.clear()
        self._kick.set()

    async def wait_sent(self) -> None:
        await self._idle.wait()

    async def _send(self):
        while True:
            if not self.queue:
                self._idle.set()
                self._kick.clear()
                await self._kick.wait()
                continue
            byte, stop = self.queue.popleft()
            await RisingEdge(self.clk)
            for bit in [0, *((byte >> i) & 1 for i in range(8)), stop]:
                self.rx.value = bit
                await ClockCycles(self.clk, self.divisor)
            if stop == 0:
                self.rx.value = 1        # back to idle, one bit long, so the next start is seen
                await ClockCycles(self.clk, self.divisor)

    async def _receive(self):
        d = self.divisor
        while True:
            await FallingEdge(self.tx)
            await ClockCycles(self.clk, d // 2)
            if int(self.tx.value):
                continue                 # not a start bit
            byte = 0
            for i in range(8):
                await ClockCycles(self.clk, d)
                byte |= int(self.tx.value) << i
            await ClockCycles(self.clk, d)
            if not int(self.tx.value):
                self.framing_errors += 1
                continue
            self.received.append(byte)
            self.arrived.set()

    def take(self) -> bytes:
        data = bytes(self.received)
        self.received.clear()
        self.arrived.clear()
        return data


class UartTransport(Transport):
    """The board link's transport over a `UartLine`, for code in a `cocotb.task.bridge` thread."""

    def __init__(self, line: UartLine, *, cycles_per_s: int = 100_000, name: str = "simulated UART"):
        self.line, self.cycles_per_s, self.name = line, cycles_per_s, name
        self.byte_s = 10 * line.divisor / cycles_per_s

    def write(self, data: bytes) -> None:
        resume(self._write)(bytes(data))

    def read(self, timeout: float) -> bytes:
        return resume(self._read)(timeout)

    async def _write(self, data: bytes) -> None:
        self.line.send(data)

    async def _read(self, timeout: float) -> bytes:
        # Poll once per byte time: cheap, and a byte cannot arrive faster than that.
        step = 10 * self.line.divisor
        left = int(timeout * self.cycles_per_s)
        while not self.line.received and left > 0:
            await ClockCycles(self.line.clk, min(step, left))
            left -= step
        return self.line.take()
