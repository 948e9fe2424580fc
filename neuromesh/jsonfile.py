"""Reading the project's input files with one set of limits, so that no file, however it was
made, gets past a reader as a traceback, a hang or an out-of-memory death (SPEC section 7: bad
input of any kind ends with one line naming the file, the field and the reason).

`read_json(path, what)` (and `loads(text, where)` for JSON found inside another file, such as an
image's `# hardware:` header) refuses, each with a one-line `JsonFileError`:

- anything but a regular file: a folder, `/dev/zero` (reading it never ends), a FIFO (reading it
  may never begin), a socket; and a file larger than `MAX_BYTES` (`read_text` reads with a
  bound, never the whole file first);
- text that is not UTF-8 (the byte offset is named);
- nesting deeper than `MAX_DEPTH` levels: Python's JSON parser recurses once per level and a
  thousand levels end in RecursionError; a little less and a later `json.dumps` of the value
  (an error message showing it) would. Our formats need at most 5 levels;
- an integer written with more than `MAX_INT_DIGITS` digits: every integer field of ours fits in
  64 bits (20 digits); a longer one is a typo or an attack (Python refuses past 4300 digits
  with a ValueError, and converts long ones in quadratic time below that);
- NaN, Infinity, -Infinity (not JSON, though Python accepts them) and numbers that overflow to
  infinity (`1e400`);
- a key twice in one object (the second would silently win);
- malformed JSON (line and column);
- a file too large to hold in memory once parsed (MemoryError).
"""
from __future__ import annotations

import json
import math
import os
import re
import stat

from .gcpause import gc_paused
from .spec import NeuroMeshError
from .text import printable

MAX_BYTES = 256 << 20       # 256 MiB: a 10^7-spike stimulus is about 150 MB
MAX_DEPTH = 32
MAX_INT_DIGITS = 20


class JsonFileError(NeuroMeshError, ValueError):
    """A file that cannot be read as one of our JSON files: `FILE: [WHERE: ]reason`, one line."""

    def __init__(self, path, where: str | None, reason: str):
        self.path, self.where, self.reason = str(path), where, reason
        super().__init__(printable(f"{self.path}: " + (f"{where}: " if where else "") + reason))


# ---------------------------------------------------------------------------------------------
# Bytes from a file, bounded


def _a(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def read_bytes(path, what: str = "file", limit: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (else JsonFileError)."""
    path = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise JsonFileError(path, None, "no such file") from None
    except OSError as e:
        raise JsonFileError(path, None, f"cannot read: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise JsonFileError(path, None, f"is a directory, not {_a(what)}")
    if not stat.S_ISREG(st.st_mode):
        kind = "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else \
            "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "special"
        raise JsonFileError(path, None, f"is {kind}, not a regular file ({_a(what)} must be a file)")
    too_big = f"larger than {limit >> 20} MiB: too large for {_a(what)}"
    if st.st_size > limit:
        raise JsonFileError(path, None, too_big)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise JsonFileError(path, None, f"cannot read: {e.strerror or e}") from None
    if len(data) > limit:  # it grew after the stat
        raise JsonFileError(path, None, too_big)
    return data


def read_text(path, what: str = "file", limit: int = MAX_BYTES, encoding: str = "utf-8") -> str:
    """`read_bytes` decoded strictly; a bad byte is named by its offset."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        name = "UTF-8" if encoding.replace("-", "").lower() == "utf8" else encoding.upper()
        raise JsonFileError(path, None, f"not {name} text (byte {e.start}: {data[e.start:e.start + 1]!r})") from None


# ---------------------------------------------------------------------------------------------
# JSON


class _Refused(Exception):
    pass


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise _Refused(f"key {json.dumps(k)} appears twice in one object")
        seen[k] = v
    return seen


def _constant(name):
    raise _Refused(f"{name} is not allowed in JSON (numbers must be finite)")


def _float(text):
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:30]} is too large (it overflows to infinity)")
    return value


def _int(text):
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {digits} digits (at most {MAX_INT_DIGITS}: every integer field "
                       f"fits in 64 bits)")
    return int(text)


_ESCAPES = re.compile(rb"\\.", re.S)
_STRINGS = re.compile(rb'"[^"]*"')
# Depth does not care which kind a bracket is: map braces to brackets, drop every other byte.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_DIGITS = bytes.maketrans(b"123456789", b"000000000")


def _deeper_than(data: bytes, limit: int) -> bool:
    """Whether the JSON text `data` may nest deeper than `limit` levels, in C-speed passes:
    drop escapes (after which no quote inside a string is escaped), strings, and every byte
    but brackets; then each pass removes the innermost pairs, one level. What is left after
    `limit` passes is nested deeper, or unbalanced (then json.loads says which)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    if b"\\" in data:
        data = _ESCAPES.sub(b"", data)
    if b'"' in data:
        data = _STRINGS.sub(b"", data)
    data = data.translate(_BRACKETS, _NOT_BRACKETS)
    for _ in range(limit):
        if not data:
            return False
        data = data.replace(b"[]", b"")
    return bool(data)


def _may_hold_long_int(data: bytes) -> bool:
    """Whether some run of digits is longer than MAX_INT_DIGITS (in strings too: then the
    careful integer parser runs for nothing, which costs only time)."""
    return b"0" * (MAX_INT_DIGITS + 1) in data.translate(_DIGITS)


def loads(text, path, where: str | None = None, *, data: bytes | None = None):
    """Parse JSON `text` with the limits above; errors name `path` (and `where`, e.g. a line)."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    deep = _deeper_than(data, MAX_DEPTH)
    hooks = dict(object_pairs_hook=_no_duplicates, parse_constant=_constant, parse_float=_float)
    if _may_hold_long_int(data):  # the careful (slower) integer parser only when a long one may be there
        hooks["parse_int"] = _int
    try:
        with gc_paused():   # a parsed file is a tree: no cycles for the collector to find
            value = json.loads(text, **hooks)
    except json.JSONDecodeError as e:
        raise JsonFileError(path, where or f"line {e.lineno}", f"malformed JSON: {e.msg} (column {e.colno})") from None
    except RecursionError:
        deep = True
    except _Refused as e:
        raise JsonFileError(path, where, str(e)) from None
    except MemoryError:
        raise JsonFileError(path, where, f"too large to hold in memory once parsed "
                                         f"({len(data) >> 20} MiB of JSON)") from None
    except ValueError as e:  # anything else json or int() refuse
        raise JsonFileError(path, where, f"malformed JSON: {str(e).splitlines()[0][:80]}") from None
    if deep:
        raise JsonFileError(path, where, f"nested deeper than {MAX_DEPTH} levels of lists and objects")
    return value


def read_json(path, what: str = "JSON file"):
    """Read and parse the JSON file `path` (a `what`: "network", "stimulus", ...)."""
    data = read_bytes(path, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonFileError(path, None, f"not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r})") from None
    return loads(text, str(path), data=data)
