"""The board bridge's wire format (docs/board.md), defined once: the gateware
(`neuromesh.hw.host_bridge`) is built from these tables and the host (`link.py`) encodes and
decodes with them, so the two ends cannot drift apart. Pure Python: no Amaranth.

Every frame, in both directions:

    SYNC (0xA5) | CODE | LEN | PAYLOAD (LEN bytes) | CRC

Multi-byte payload fields are little-endian. CRC is CRC-8 (polynomial 0x07, initial value 0,
no reflection, no final XOR: CRC-8/SMBUS) over CODE, LEN and PAYLOAD. Every code has exactly
one payload length; the receiver still reads LEN bytes before it checks anything, so a frame
with an unknown code or a wrong length is skipped whole and answered with one ERROR frame.
"""
from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from neuromesh import spec

SYNC = 0xA5
HEADER_BYTES = 3          # SYNC, CODE, LEN
TRAILER_BYTES = 1         # CRC
MAX_PAYLOAD = 8           # the longest payload of any code below (the bridge keeps 8 bytes)
MIN_RX_DEPTH = 16         # every bridge buffers at least this many bytes: any one frame fits
DEFAULT_BAUD = 115200     # the bitstreams' and the host's default line rate
# Resynchronisation: this many 0x00 bytes end whatever frame the bridge's decoder is in the
# middle of (at most LEN 255 payload bytes and the CRC are still to come) and are then
# discarded outside frames. A host starts a session with them (it may follow an interrupted one).
RESYNC_BYTES = HEADER_BYTES + 255 + TRAILER_BYTES
CRC_POLY = 0x07
VERSION = 1
MAGIC = 0x4E4D4200 | VERSION      # "NMB" + protocol version: INFO index 0


class Command(enum.IntEnum):
    """Host to board. Each is answered by exactly one frame, in order (see RESPONSE_TO)."""
    INFO = 0x01     # index u8                 -> WORD: a bridge constant or status (Info)
    WRITE = 0x02    # addr u32, data u32       -> ACK, once cfg_req accepted the write
    READ = 0x03     # addr u32                 -> WORD: the cfg_resp word
    SPIKE = 0x04    # flit u32                 -> ACK, once spike_in accepted the flit
    TICK = 0x05     # -                        -> DONE, once the tick completed
    RESET = 0x06    # -                        -> ACK; the chip's rst high for one cycle
    ZERO = 0x07     # -                        -> ACK; the cycle counter reads 0 in the next cycle


class Response(enum.IntEnum):
    """Board to host."""
    ACK = 0x81      # cmd u8 (the code of the command it answers)
    WORD = 0x82     # word u32
    DONE = 0x83     # h u32, q u32: handshake cycle, completion cycle (bridge cycle counter)
    OUT = 0x84      # flit u32, cycle u32: a spike_out flit and the cycle it left (unsolicited)
    ERROR = 0x85    # error u8, cmd u8


COMMAND_LEN = {Command.INFO: 1, Command.WRITE: 8, Command.READ: 4, Command.SPIKE: 4,
               Command.TICK: 0, Command.RESET: 0, Command.ZERO: 0}
RESPONSE_LEN = {Response.ACK: 1, Response.WORD: 4, Response.DONE: 8, Response.OUT: 8,
                Response.ERROR: 2}
RESPONSE_TO = {Command.INFO: Response.WORD, Command.WRITE: Response.ACK, Command.READ: Response.WORD,
               Command.SPIKE: Response.ACK, Command.TICK: Response.DONE, Command.RESET: Response.ACK,
               Command.ZERO: Response.ACK}


class Error(enum.IntEnum):
    """ERROR frame codes. The first three answer a bad frame in place of its response (`cmd` =
    the frame's CODE byte); the last three are unsolicited (`cmd` 0 for OVERRUN and FRAMING, the
    first discarded byte for SYNC), sent once until the host reads Info.FLAGS."""
    CHECKSUM = 1    # the CRC byte does not match
    COMMAND = 2     # unknown CODE
    LENGTH = 3      # LEN is not the command's payload length
    OVERRUN = 4     # a byte arrived while the receive FIFO was full: bytes were lost
    FRAMING = 5     # a stop bit was low (wrong baud rate, noise)
    SYNC = 6        # bytes outside a frame were discarded


ERROR_TEXT = {
    Error.CHECKSUM: "bad checksum",
    Error.COMMAND: "unknown command",
    Error.LENGTH: "bad payload length",
    Error.OVERRUN: "receive FIFO overrun (bytes lost: the host sent past its window)",
    Error.FRAMING: "UART framing error (stop bit low: wrong baud rate or noise)",
    Error.SYNC: "bytes outside a frame discarded",
}

# Sticky flag bits of Info.FLAGS (reading it clears them), one per unsolicited error.
FLAG_BIT = {Error.OVERRUN: 0, Error.FRAMING: 1, Error.SYNC: 2}


# INFO indices: bridge constants, status, then the chip's elaboration parameters in
# `spec.LIMITS` order (so a parameter added there is reported without touching this list).
BRIDGE_INFO = ("magic", "clk_hz", "divisor", "rx_depth", "tx_depth", "flags", "cycle", "busy")
PARAM_INFO = tuple(spec.LIMITS)
INFO = BRIDGE_INFO + PARAM_INFO
INFO_INDEX = {name: i for i, name in enumerate(INFO)}

CYCLE_BITS = 32           # the bridge's cycle counter and every stamp in DONE and OUT


def crc8(data, crc: int = 0) -> int:
    """CRC-8/SMBUS of `data` (bytes), continuing from `crc`."""
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def frame(code: int, payload: bytes = b"") -> bytes:
    """One whole frame."""
    if len(payload) > 255:
        raise ValueError(f"payload of {len(payload)} bytes does not fit LEN")
    body = bytes([code, len(payload)]) + payload
    return bytes([SYNC]) + body + bytes([crc8(body)])


def frame_bytes(code) -> int:
    """Length on the wire of a frame of `code` (Command or Response)."""
    n = COMMAND_LEN[code] if isinstance(code, Command) else RESPONSE_LEN[code]
    return HEADER_BYTES + n + TRAILER_BYTES


def _u32(value: int, what: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << 32:
        raise ValueError(f"{what} must be a 32-bit unsigned integer, not {value!r}")
    return struct.pack("<I", value)


def info(index: int) -> bytes:
    if not 0 <= index < 256:
        raise ValueError(f"INFO index must be a byte, not {index!r}")
    return frame(Command.INFO, bytes([index]))


def write(addr: int, data: int) -> bytes:
    return frame(Command.WRITE, _u32(addr, "address") + _u32(data, "data"))


def read(addr: int) -> bytes:
    return frame(Command.READ, _u32(addr, "address"))


def spike(flit: int) -> bytes:
    if not 0 <= flit < 1 << spec.FLIT_WIDTH:
        raise ValueError(f"a flit is {spec.FLIT_WIDTH} bits, not {flit!r}")
    return frame(Command.SPIKE, _u32(flit, "flit"))


def tick() -> bytes:
    return frame(Command.TICK)


def reset() -> bytes:
    return frame(Command.RESET)


def zero() -> bytes:
    return frame(Command.ZERO)


@dataclass(frozen=True)
class Frame:
    """A received frame (CRC already checked)."""
    code: int
    payload: bytes

    @property
    def kind(self):
        try:
            return Response(self.code)
        except ValueError:
            return None

    def fields(self) -> tuple:
        """The payload as numbers: ACK (cmd,), WORD (word,), DONE (h, q), OUT (flit, cycle),
        ERROR (error, cmd)."""
        k = self.kind
        if k is Response.ACK:
            return (self.payload[0],)
        if k is Response.WORD:
            return struct.unpack("<I", self.payload)
        if k in (Response.DONE, Response.OUT):
            return struct.unpack("<II", self.payload)
        if k is Response.ERROR:
            return (self.payload[0], self.payload[1])
        raise ValueError(f"no fields for code {self.code:#04x}")


class FrameError(ValueError):
    """A frame that arrived damaged (what the host saw, in words)."""


class Parser:
    """Incremental frame parser: `feed(bytes)` returns the whole frames received so far.

    A damaged frame raises FrameError (after which the parser has dropped that frame and hunts
    for the next SYNC): bytes outside a frame, a CRC mismatch, an unknown response code or a
    length that is not the code's. A host has lost data in any of these cases."""

    def __init__(self):
        self._buf = bytearray()

    def feed(self, data: bytes) -> list:
        self._buf += data
        frames = []
        while self._buf:
            if self._buf[0] != SYNC:
                junk = self._buf[0]
                del self._buf[0]
                raise FrameError(f"byte {junk:#04x} outside a frame")
            if len(self._buf) < HEADER_BYTES:
                break
            n = self._buf[2]
            end = HEADER_BYTES + n + TRAILER_BYTES
            if len(self._buf) < end:
                break
            body, crc = bytes(self._buf[1:end - 1]), self._buf[end - 1]
            del self._buf[:end]
            if crc8(body) != crc:
                raise FrameError(f"bad checksum on a frame of code {body[0]:#04x}")
            f = Frame(body[0], body[2:])
            if f.kind is None:
                raise FrameError(f"unknown response code {f.code:#04x}")
            if n != RESPONSE_LEN[f.kind]:
                raise FrameError(f"{f.kind.name} frame with {n} payload bytes (expected {RESPONSE_LEN[f.kind]})")
            frames.append(f)
        return frames

    @property
    def pending(self) -> int:
        """Bytes held while waiting for the rest of a frame."""
        return len(self._buf)
