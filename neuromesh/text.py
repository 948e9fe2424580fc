"""Text that is safe to print: a name or a path from a user's file, shown in one message line.

A population name or a file name can hold anything: a newline (the message becomes two lines),
an escape sequence (the terminal obeys it), a right-to-left override (the line reads backwards),
or a lone surrogate such as "\\ud800" (a valid JSON escape, and what Python makes of a file
name's undecodable bytes), which no UTF-8 stream can encode: `print` would raise. `printable`
shows each such character as a Python-style escape and leaves everything else as it is.
"""
from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value) -> str:
    """`str(value)` with every character that is not printable (`str.isprintable`: controls,
    format characters such as bidi overrides, line and paragraph separators, surrogates,
    unassigned code points) escaped; a space stays a space."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else _escape(ch) for ch in text)
