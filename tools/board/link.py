"""The host end of the board protocol (docs/board.md) over any byte transport.

`BoardLink.transact(commands)` streams command frames and collects their responses:

- Window: the bridge answers every command with exactly one frame, in order, and reads a
  command's bytes out of its receive FIFO before it answers. So the bytes of the commands
  sent and not yet answered bound what the FIFO can hold; the link keeps them at most
  `rx_depth` (read from the bridge with INFO), and the FIFO never overflows.
- Responses are matched to commands in order (an ACK also names its command); anything else is
  a link out of step and stops the run.
- OUT frames (spike_out flits) come whenever the chip sends them; the link keeps them with their
  cycle stamps. ERROR frames stop the run with the bridge's reason.
- Stamps: the bridge counts cycles in 32 bits; the link extends them to full integers, assuming
  consecutive stamps lie less than 2**31 cycles apart (the reference is the latest stamp, so a
  DONE's handshake cycle, older than the OUT frames before it, is placed right). It refuses a
  gap in wall time long enough for the counter to have passed half its range.
"""
from __future__ import annotations

import time
from collections import deque

from . import protocol as proto
from .transport import BoardError, Transport

DEFAULT_TIMEOUT_S = 2.0     # silence on the line after which a board is declared lost
DRAIN_S = 0.05              # quiet time that ends draining stale bytes before HELLO


class BoardLink:
    """Commands and responses over `transport`. `hello()` first: it learns the window and the
    clock. `out_flits`: [(cycle, flit)] of the OUT frames since the last ZERO."""

    def __init__(self, transport: Transport, *, timeout: float = DEFAULT_TIMEOUT_S):
        self.transport = transport
        self.timeout = timeout
        self.parser = proto.Parser()
        self.window = proto.MIN_RX_DEPTH   # until INFO says rx_depth: enough for any one frame
        self.clk_hz = None
        self.info: dict = {}
        self.out_flits: list = []
        self._outstanding: deque = deque()   # (Command, bytes on the wire)
        self._in_flight = 0
        self._results: list = []
        self._on_response = None
        self._ref = 0                        # latest stamp, extended
        self._ref_wall = None

    # -- stamps -----------------------------------------------------------------------------
    def _extend(self, stamp: int) -> int:
        modulus = 1 << proto.CYCLE_BITS
        now = time.monotonic()
        if self._ref_wall is not None and self.clk_hz and (now - self._ref_wall) * self.clk_hz >= modulus // 2:
            raise BoardError(f"{self.transport.name}: no stamped frame for {now - self._ref_wall:.0f} s: the "
                             f"bridge's {proto.CYCLE_BITS}-bit cycle counter may have wrapped more than once")
        delta = (stamp - self._ref + modulus // 2) % modulus - modulus // 2
        value = self._ref + delta
        if delta > 0:
            self._ref, self._ref_wall = value, now
        return value

    def zero_stamps(self) -> None:
        """The bridge's counter was just zeroed: stamps count from 0 again."""
        self._ref, self._ref_wall = 0, time.monotonic()
        self.out_flits = []

    # -- frames -----------------------------------------------------------------------------
    def _handle(self, f: proto.Frame) -> None:
        kind = f.kind
        if kind is proto.Response.OUT:
            flit, stamp = f.fields()
            self.out_flits.append((self._extend(stamp), flit))
            return
        if kind is proto.Response.ERROR:
            err, cmd = f.fields()
            try:
                text = proto.ERROR_TEXT[proto.Error(err)]
            except ValueError:
                text = f"error code {err}"
            if err in (proto.Error.CHECKSUM, proto.Error.COMMAND, proto.Error.LENGTH):
                where = f" (a frame of code {cmd:#04x})"
            elif err == proto.Error.SYNC:
                where = f" (first byte {cmd:#04x})"
            else:
                where = ""
            raise BoardError(f"{self.transport.name}: the bridge reports {text}{where}")
        if not self._outstanding:
            raise BoardError(f"{self.transport.name}: a {kind.name} frame answers no command (link out of step)")
        cmd, size = self._outstanding.popleft()
        expected = proto.RESPONSE_TO[cmd]
        if kind is not expected or (kind is proto.Response.ACK and f.fields()[0] != cmd):
            raise BoardError(f"{self.transport.name}: {cmd.name} answered by {kind.name} "
                             f"{f.payload.hex()} (link out of step)")
        self._in_flight -= size
        if kind is proto.Response.DONE:
            h, q = f.fields()
            value = (self._extend(h), self._extend(q))
        elif kind is proto.Response.WORD:
            value = f.fields()[0]
        else:
            value = None
        self._results.append(value)
        if self._on_response:
            self._on_response(cmd, value)

    def _receive(self, wait: bool, waiting_for: str = "") -> None:
        data = self.transport.read(self.timeout if wait else 0)
        if wait and not data:
            raise BoardError(f"{self.transport.name}: no answer within {self.timeout:g} s{waiting_for}")
        try:
            frames = self.parser.feed(data)
        except proto.FrameError as e:
            raise BoardError(f"{self.transport.name}: damaged frame from the board: {e}") from None
        for f in frames:
            self._handle(f)

    def transact(self, commands, on_response=None) -> list:
        """Send `commands` ([(Command, frame bytes)], any iterable) within the window; return
        the value of each response in order (WORD: the word; DONE: (h, q) extended; ACK:
        None). `on_response(cmd, value)` is called as each arrives."""
        self._results, self._on_response = [], on_response
        batch, batch_cmds = bytearray(), []
        for cmd, data in commands:
            if len(data) > self.window:
                raise ValueError(f"a {len(data)}-byte frame does not fit a {self.window}-byte window")
            while self._in_flight + len(batch) + len(data) > self.window:
                if batch:
                    self._send(batch, batch_cmds)
                    batch, batch_cmds = bytearray(), []
                else:
                    self._receive(True, f" (waiting for the answer to {self._outstanding[0][0].name})")
            batch += data
            batch_cmds.append((cmd, len(data)))
        if batch:
            self._send(batch, batch_cmds)
        while self._outstanding:
            self._receive(True, f" (waiting for the answer to {self._outstanding[0][0].name})")
        results, self._results, self._on_response = self._results, [], None
        return results

    def _send(self, batch, cmds) -> None:
        self.transport.write(bytes(batch))
        self._outstanding.extend(cmds)
        self._in_flight += len(batch)
        self._receive(False)

    # -- commands -----------------------------------------------------------------------------
    def resync(self) -> None:
        """Bring the bridge's decoder and our parser to a frame boundary, whatever an earlier
        session left behind: zeros to end a half-received frame (protocol.RESYNC_BYTES), then
        drop what the line carries until it is quiet (old answers, the errors the zeros make).
        The sticky flags those errors raise are cleared by the INFO reads of `hello`."""
        self.transport.write(bytes(proto.RESYNC_BYTES))
        # Quiet for as long as the zeros take on the wire, and a little: the error a half frame
        # earns comes when the zeros complete it.
        quiet = proto.RESYNC_BYTES * self.transport.byte_s + DRAIN_S
        while self.transport.read(quiet):
            pass
        self.parser = proto.Parser()
        self._outstanding.clear()
        self._in_flight = 0

    def hello(self) -> dict:
        """Resynchronise, read every INFO word, check the magic, learn the window and the clock."""
        self.resync()
        try:
            (magic,) = self.transact([(proto.Command.INFO, proto.info(proto.INFO_INDEX["magic"]))])
        except BoardError as e:
            if "no answer" in str(e):
                raise BoardError(f"{self.transport.name}: no NeuroMesh bridge answers (is the bitstream "
                                 f"loaded, the port right, the baud rate the bitstream's?)") from None
            raise
        if magic != proto.MAGIC:
            raise BoardError(f"{self.transport.name}: the board answers with magic {magic:#010x}, not a "
                             f"NeuroMesh bridge of protocol version {proto.VERSION} ({proto.MAGIC:#010x})")
        words = self.transact([(proto.Command.INFO, proto.info(i)) for i in range(len(proto.INFO))])
        self.info = dict(zip(proto.INFO, words))
        self.window = self.info["rx_depth"]
        self.clk_hz = self.info["clk_hz"]
        return self.info

    def writes(self, pairs) -> None:
        self.transact((proto.Command.WRITE, proto.write(a, d)) for a, d in pairs)

    def reads(self, addrs) -> list:
        return self.transact((proto.Command.READ, proto.read(a)) for a in addrs)

    def reset(self) -> None:
        self.transact([(proto.Command.RESET, proto.reset())])

    def zero(self) -> None:
        self.transact([(proto.Command.ZERO, proto.zero())])
        self.zero_stamps()
