"""Byte transports for the board link: a serial port opened with `os.open` and configured with
termios (raw, 8N1, no flow control), so the board engine needs no pyserial; and the interface a
simulated line implements (`neuromesh.tools.cosim.uart.UartTransport` under cocotb, the
tests' Python bridge model).

A transport moves bytes, nothing more: framing, windows and timeouts that mean something are
the link's (`link.py`).
"""
from __future__ import annotations

import errno
import os
import select
import termios

from neuromesh.spec import NeuroMeshError


class BoardError(NeuroMeshError):
    """Anything that stops a board run: a port that cannot be opened, a board that does not
    answer or answers out of step, an ERROR frame. One line, for the CLI."""


class Transport:
    """A full-duplex byte pipe. `read(timeout)` returns the bytes available now, waiting up to
    `timeout` seconds for at least one (`timeout=0`: do not wait); b"" means none came.
    Usable as a context manager (closes on exit)."""

    name = "transport"
    byte_s = 0.0          # seconds one byte takes on the line (10 bits), if known


    def write(self, data: bytes) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, timeout: float) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _speed(baud: int):
    """termios speed constant of `baud` (standard rates only: B9600 ... B4000000)."""
    if isinstance(baud, bool) or not isinstance(baud, int) or baud <= 0:
        raise BoardError(f"--baud: must be a positive integer (got {baud!r})")
    speed = getattr(termios, f"B{baud}", None)
    if speed is None:
        known = sorted(int(n[1:]) for n in dir(termios) if n[:1] == "B" and n[1:].isdigit() and int(n[1:]) >= 9600)
        raise BoardError(f"--baud: {baud} is not a standard serial rate here "
                         f"(known: {', '.join(map(str, known))})")
    return speed


class SerialTransport(Transport):
    """A tty (`/dev/ttyUSB0`, `/dev/ttyACM0`, a pty) in raw mode: 8 data bits, no parity, one
    stop bit, no hardware or software flow control, `baud` in both directions."""

    def __init__(self, path: str, baud: int):
        self.name = f"{path} at {baud} baud"
        self.byte_s = 10 / baud if isinstance(baud, int) and baud > 0 else 0.0
        speed = _speed(baud)
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as e:
            raise BoardError(f"--port {path}: cannot open: {e.strerror}") from None
        try:
            attrs = termios.tcgetattr(self.fd)
            iflag, oflag, cflag, lflag, _ispeed, _ospeed, cc = attrs
            # Raw mode, as cfmakeraw(3): no byte is translated, echoed or taken as a signal.
            iflag &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
                       | termios.IGNCR | termios.ICRNL | termios.IXON | termios.IXOFF | termios.IXANY)
            oflag &= ~termios.OPOST
            lflag &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
            cflag &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | getattr(termios, "CRTSCTS", 0))
            cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL
            cc[termios.VMIN], cc[termios.VTIME] = 0, 0
            termios.tcsetattr(self.fd, termios.TCSANOW, [iflag, oflag, cflag, lflag, speed, speed, cc])
            termios.tcflush(self.fd, termios.TCIOFLUSH)   # nothing stale from before we opened it
        except termios.error as e:
            os.close(self.fd)
            reason = e.args[1] if len(e.args) > 1 else str(e)
            raise BoardError(f"--port {path}: not a serial port ({reason})") from None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                n = 0
            except OSError as e:
                raise BoardError(f"{self.name}: write failed: {e.strerror}") from None
            view = view[n:]
            if view:
                select.select([], [self.fd], [], 1.0)

    def read(self, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
            if not ready:
                return b""
            return os.read(self.fd, 65536)
        except BlockingIOError:
            return b""
        except OSError as e:
            if e.errno == errno.EIO:   # the other end went away (a pty, a USB adapter pulled)
                raise BoardError(f"{self.name}: the line went away") from None
            raise BoardError(f"{self.name}: read failed: {e.strerror}") from None

    def close(self) -> None:
        if getattr(self, "fd", None) is not None:
            os.close(self.fd)
            self.fd = None
