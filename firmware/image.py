"""The configuration image (SPEC section 7): text lines `AAAAAAAA DDDDDDDD` (hex word address
and data word, 8 digits each), `#` comments, replayable on `cfg_req` as it stands.

Header and trailer (comments, so any replayer may ignore them):

    # neuromesh-image/1
    # hardware: {"width": 2, "height": 2, ...}     <- HwParams as JSON: read_image recovers them
    # ... free comments ...
    00000000 0000a00f
    ...
    # end: 1234 writes                              <- a file without it is truncated

`read_image` checks the whole file before returning anything, so nothing is ever half-applied.
"""
from __future__ import annotations

import json
import re

from neuromesh import jsonfile, spec
from neuromesh.outputs import write_text_atomic
from neuromesh.text import printable

IMAGE_FORMAT = "neuromesh-image/1"
_LINE = re.compile(r"^([0-9A-Fa-f]{8})\s+([0-9A-Fa-f]{8})$")
_TRAILER = re.compile(r"^#\s*end:\s*(\d+)\s+writes?\s*$")
# A 64 x 64 mesh of the largest cores has fewer than 10^9 words: a longer count is not a count
# (and int() of 5000 digits raises instead of answering).
_MAX_COUNT_DIGITS = 12
# A text image is 18 bytes a write; larger than this it is not an image of ours (and reading
# /dev/zero must end).
MAX_IMAGE_BYTES = 1 << 30
_HARDWARE = re.compile(r"^#\s*hardware:\s*(.*)$")


class ImageError(spec.NeuroMeshError, ValueError):
    """A bad image: one line (names and paths escaped: `neuromesh.text.printable`)."""

    def __init__(self, message: str):
        super().__init__(printable(message))


def format_image(writes, comments=(), params: spec.HwParams | None = None, where="image") -> str:
    """The text of an image file for `writes` [(addr, data)]. `params` go into the header so that
    `read_image` can check the addresses without being told the hardware."""
    lines = [f"# {IMAGE_FORMAT}"]
    if params is not None:
        lines.append(f"# hardware: {json.dumps(params.to_dict(), separators=(', ', ': '))}")
    lines += [f"# {c}" for c in comments]
    for addr, data in writes:
        if not (0 <= addr < 1 << spec.CFG_WORD_BITS and 0 <= data < 1 << spec.CFG_WORD_BITS):
            raise ImageError(f"{where}: write ({addr!r}, {data!r}) is not a pair of 32-bit words")
        lines.append(f"{addr:08x} {data:08x}")
    lines.append(f"# end: {len(writes)} writes")
    return "\n".join(lines) + "\n"


def write_image(path, writes, comments=(), params: spec.HwParams | None = None) -> None:
    """Write `writes` as an image file, whole or not at all."""
    write_text_atomic(path, format_image(writes, comments, params, where=str(path)))


def image_params(path) -> spec.HwParams:
    """The hardware recorded in an image's header."""
    params = _header_params(str(path), _read_lines(path))
    if params is None:
        raise ImageError(f"{path}: no '# hardware: {{...}}' header line: the hardware must be given")
    return params


def _read_lines(path) -> list:
    """The lines of an image file: a regular file of bounded size, ASCII text."""
    try:
        return jsonfile.read_text(path, "configuration image", MAX_IMAGE_BYTES, encoding="ascii").splitlines()
    except jsonfile.JsonFileError as e:
        raise ImageError(str(e)) from None


def _header_params(path: str, lines: list):
    for n, line in enumerate(lines, start=1):
        m = _HARDWARE.match(line.strip())
        if m:
            try:
                d = jsonfile.loads(m.group(1), path, f"line {n}: hardware header")
                if not isinstance(d, dict):
                    raise ValueError("not a JSON object")
                return spec.HwParams.from_dict(d)
            except jsonfile.JsonFileError as e:
                raise ImageError(str(e)) from None
            except ValueError as e:
                raise ImageError(f"{path}: line {n}: bad hardware header: {e}") from None
        if line.strip() and not line.lstrip().startswith("#"):
            break  # the header ends at the first write
    return None


def read_image(path, params: spec.HwParams | None = None) -> list:
    """Read and check an image: every line a comment, blank or `AAAAAAAA DDDDDDDD`; every
    address inside the map of `params` (from the header if not given; if both are there they
    must agree: an image is compiled for one hardware) and writable; the trailer
    `# end: N writes` present, last, and equal to the number of writes. Returns [(addr, data)]."""
    path = str(path)
    lines = _read_lines(path)
    header = _header_params(path, lines)
    if params is None:
        if header is None:
            raise ImageError(f"{path}: no '# hardware: {{...}}' header line: the hardware must be given")
        params = header
    elif header is not None and header != params:
        diff = [k for k, v in header.to_dict().items() if params.to_dict()[k] != v]
        raise ImageError(f"{path}: the image was compiled for {', '.join(f'{k} {getattr(header, k)}' for k in diff)}, "
                         f"not {', '.join(f'{k} {getattr(params, k)}' for k in diff)}")
    writes, trailer = [], None
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if trailer is not None:
            raise ImageError(f"{path}: line {n}: text after the '# end' trailer (line {trailer[0]}): {line[:40]!r}")
        if line.startswith("#"):
            m = _TRAILER.match(line)
            if m:
                if len(m.group(1)) > _MAX_COUNT_DIGITS:
                    raise ImageError(f"{path}: line {n}: trailer count of {len(m.group(1))} digits: "
                                     f"not a number of writes (at most {_MAX_COUNT_DIGITS} digits)")
                trailer = (n, int(m.group(1)))
            continue
        m = _LINE.match(line)
        if not m:
            raise ImageError(f"{path}: line {n}: expected 'AAAAAAAA DDDDDDDD' (8 hex digits each), got {line[:40]!r}")
        addr, data = int(m.group(1), 16), int(m.group(2), 16)
        try:
            decoded = spec.decode_addr(params, addr)
        except spec.AddressError as e:
            raise ImageError(f"{path}: line {n}: {e}") from None
        if not decoded.writable:
            raise ImageError(f"{path}: line {n}: address {addr:#010x} is in read-only {decoded.region}: "
                             f"an image only writes tables and state")
        problem = spec.table_word_problem(params, decoded.region, data)
        if problem:
            raise ImageError(f"{path}: line {n}: {problem}")
        writes.append((addr, data))
    if trailer is None:
        raise ImageError(f"{path}: line {len(lines)}: no '# end: N writes' trailer: the image is truncated")
    if trailer[1] != len(writes):
        raise ImageError(f"{path}: line {trailer[0]}: trailer says {trailer[1]} writes, the file has {len(writes)}")
    return writes
