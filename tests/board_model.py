"""A Python model of the board bridge (docs/board.md) over the golden chip, for testing the host
side without Verilator or a board: the same frames, the same one-response-per-command order,
the same errors, and a receive FIFO of `rx_depth` bytes that reports an OVERRUN when a host
sends past its window.

Its frame decoding is written here from docs/board.md, not taken from
`neuromesh.tools.board.protocol` (only the code numbers and CRC function are shared), so a
host-side parsing slip does not cancel out. Cycles are the golden chip's, stepped one by one
while a command needs the chip (a SPIKE until accepted, a TICK until it completes); the chip
model's memories do not survive RESET as the RTL's do, which the engine never relies on (it
rewrites the whole image).

- `GoldenBridge.receive(bytes)` / `step() -> bytes | None`: the bridge, one frame per step;
- `ModelTransport`: a `Transport` that runs at most `steps_per_read` frames per read (a slow
  board: the host must keep to its window);
- `serve_pty(bridge)`: the bridge behind a pseudo-terminal, for `SerialTransport` and the CLI.
"""
from __future__ import annotations

import os
import struct
import threading
import tty

from neuromesh import spec
from neuromesh.sim.mesh import Chip
from neuromesh.tools.board import protocol as proto
from neuromesh.tools.board.transport import Transport

C, R, E = proto.Command, proto.Response, proto.Error
LENGTHS = {0x01: 1, 0x02: 8, 0x03: 4, 0x04: 4, 0x05: 0, 0x06: 0, 0x07: 0}   # docs/board.md


def _frame(code: int, payload: bytes) -> bytes:
    body = bytes([code, len(payload)]) + payload
    return bytes([0xA5]) + body + bytes([proto.crc8(body)])


class GoldenBridge:
    def __init__(self, params: spec.HwParams, *, rx_depth: int = 64, clk_hz: int = 12_000_000,
                 divisor: int = 104, stamp_offset: int = 0):
        self.params, self.rx_depth = params, rx_depth
        self.info = {"magic": proto.MAGIC, "clk_hz": clk_hz, "divisor": divisor, "rx_depth": rx_depth,
                     "tx_depth": 512, **{n: getattr(params, n) for n in proto.PARAM_INFO}}
        self.chip = Chip(params)
        self.k = 0                    # chip cycle
        self.injected = None          # the last cycle spike_in took a flit
        self.zero_at = -stamp_offset  # stamps = k - zero_at (mod 2^32): an offset tests the wrap
        self.rx = bytearray()
        self.flags = 0
        self.overruns = 0
        self.commands = 0
        self.sent_out = 0

    # -- the line --------------------------------------------------------------------------
    def receive(self, data: bytes) -> bytes:
        """Bytes from the host; beyond `rx_depth` unconsumed bytes they are lost (OVERRUN)."""
        out = b""
        for b in data:
            if not self.rx and b != 0xA5:
                # The decoder hunts for SYNC at one byte per cycle, far faster than the line:
                # bytes outside a frame never wait in the FIFO.
                out += self._raise(E.SYNC, b)
            elif len(self.rx) >= self.rx_depth:
                self.overruns += 1
                out += self._raise(E.OVERRUN, 0)
            else:
                self.rx.append(b)
        return out

    def _raise(self, err, cmd) -> bytes:
        bit = 1 << proto.FLAG_BIT[err]
        first = not self.flags & bit
        self.flags |= bit
        return _frame(R.ERROR, bytes([err, cmd])) if first else b""

    def step(self):
        """Decode and execute the first whole frame in the receive buffer; return every byte
        sent meanwhile (OUT frames, then the response), or None without a whole frame."""
        out = b""
        while self.rx and self.rx[0] != 0xA5:
            out += self._raise(E.SYNC, self.rx[0])
            del self.rx[0]
        if len(self.rx) < 3 or len(self.rx) < 4 + self.rx[2]:
            return out or None
        code, n = self.rx[1], self.rx[2]
        payload, crc = bytes(self.rx[3:3 + n]), self.rx[3 + n]
        del self.rx[:4 + n]
        self.commands += 1
        if proto.crc8(bytes([code, n]) + payload) != crc:
            return out + _frame(R.ERROR, bytes([E.CHECKSUM, code]))
        if code not in LENGTHS:
            return out + _frame(R.ERROR, bytes([E.COMMAND, code]))
        if n != LENGTHS[code]:
            return out + _frame(R.ERROR, bytes([E.LENGTH, code]))
        return out + self._execute(code, payload)

    # -- the chip ----------------------------------------------------------------------------
    def _stamp(self, k: int) -> int:
        return (k - self.zero_at) % (1 << proto.CYCLE_BITS)

    def _cycle(self, flit=None, tick=False):
        """One domain-0 cycle of a one-domain chip, in the golden engine's order (sim/engine.py):
        begin (pops, busy), handshake, barrier, the offered flit and the fabric's step; returns
        (busy, accepted, handshake)."""
        k, chip = self.k, self.chip
        zero = chip.domains[0]
        busy = chip.begin(k, self.injected == k - 1)
        chip.busy_cycles += busy
        hs = tick and not busy
        if hs:
            chip.handshake(k)
        zero.barrier(k)
        pushes, f = [], chip.spike_in
        accepted = flit is not None and len(f.q) < f.depth
        if accepted:
            pushes.append((f, flit))
            chip.host_in += 1
            self.injected = k
        zero.move(k, pushes)
        self.k += 1
        return busy, accepted, hs

    def _outs(self) -> bytes:
        new = self.chip.out_flits[self.sent_out:]
        self.sent_out = len(self.chip.out_flits)
        return b"".join(_frame(R.OUT, struct.pack("<II", flit, self._stamp(k))) for k, flit in new)

    def _execute(self, code: int, payload: bytes) -> bytes:
        ack = _frame(R.ACK, bytes([code]))
        if code == C.INFO:
            name = proto.INFO[payload[0]] if payload[0] < len(proto.INFO) else None
            value = {"flags": self.flags, "cycle": self._stamp(self.k), "busy": 0}.get(name, self.info.get(name, 0))
            if name == "flags":
                self.flags = 0
            return _frame(R.WORD, struct.pack("<I", value))
        if code == C.WRITE:
            addr, data = struct.unpack("<II", payload)
            self.chip.write(addr, data)
            return ack
        if code == C.READ:
            (addr,) = struct.unpack("<I", payload)
            return _frame(R.WORD, struct.pack("<I", self.chip.read(addr)))
        if code == C.SPIKE:
            (flit,) = struct.unpack("<I", payload)
            while not self._cycle(flit)[1]:
                pass
            return self._outs() + ack
        if code == C.TICK:
            while not self._cycle(tick=True)[2]:
                pass
            h = self.k - 1
            while self._cycle()[0]:
                pass
            q = self.k - 1
            return self._outs() + _frame(R.DONE, struct.pack("<II", self._stamp(h), self._stamp(q)))
        if code == C.RESET:
            self.chip = Chip(self.params)
            self.sent_out = 0
            return ack
        if code == C.ZERO:
            self.zero_at = self.k
            return ack
        raise AssertionError(code)


class ModelTransport(Transport):
    """The bridge in-process. Each `read` executes at most `steps_per_read` frames; `tamper`
    (bytes -> bytes) may corrupt what the board sends."""

    def __init__(self, bridge: GoldenBridge, steps_per_read: int = 3, tamper=None):
        self.bridge, self.steps_per_read, self.tamper = bridge, steps_per_read, tamper
        self.name = "model bridge"
        self.pending = b""
        self.written = 0

    def write(self, data: bytes) -> None:
        self.written += len(data)
        self.pending += self.bridge.receive(data)

    def read(self, timeout: float) -> bytes:
        out = self.pending
        self.pending = b""
        for _ in range(self.steps_per_read):
            got = self.bridge.step()
            if got is None:
                break
            out += got
        return self.tamper(out) if self.tamper else out


def serve_pty(bridge: GoldenBridge):
    """Run `bridge` behind a new pseudo-terminal; return (slave path, stop function)."""
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    stop = threading.Event()

    def loop():
        import select
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.02)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return
                out = bridge.receive(data)
                if out:
                    os.write(master, out)
            while True:
                got = bridge.step()
                if got is None:
                    break
                if got:
                    os.write(master, got)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def close():
        stop.set()
        thread.join()
        os.close(master)
        os.close(slave)

    return path, close
