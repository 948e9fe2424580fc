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

Binary images (`IMAGE.npz`, chosen by the suffix): the same writes for large networks, where a
text line per write would be ~18 bytes and a Python string each. A NumPy `.npz` archive (a zip
of `.npy` arrays, written with `numpy.savez`, read with `allow_pickle=False`) holding:

    format    "neuromesh-image-npz/1"
    hardware  HwParams as JSON (as in the text header)
    comments  JSON list of the comment lines
    runs      (R, 2) uint32: [first address, count] of each run of consecutive addresses, in order
    data      (N,) uint32: the words, in image order (N = the sum of the counts)
    writes    N (the trailer: a file whose arrays disagree with it is refused)

The compiler's images are a few runs per tile (one per region), so addresses cost almost nothing
and a write ~4 bytes. The text format stays the contract for `cfg_req` replay:
`neuromesh image IMAGE.npz -o IMAGE.hex` (or `write_image` with a `.hex` path) converts, and
`read_image` reads either, with the same checks and the same one-line refusals.
"""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import numpy as np

from neuromesh import jsonfile, spec
from neuromesh.outputs import write_text_atomic
from neuromesh.text import printable

IMAGE_FORMAT = "neuromesh-image/1"
NPZ_FORMAT = "neuromesh-image-npz/1"
NPZ_KEYS = {"format", "hardware", "comments", "runs", "data", "writes"}
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


class Writes:
    """An image's writes as two uint32 arrays (`addr`, `data`, in image order): what the compiler
    returns, so that a million-neuron image is ~8 bytes a write and no Python object per write.
    It still behaves as the list of `(addr, data)` pairs it replaces: `len`, iteration (Python
    ints), indexing, `dict(writes)` and `==` against such a list."""
    __slots__ = ("addr", "data")

    def __init__(self, addr, data):
        self.addr = np.ascontiguousarray(addr, dtype=np.uint32)
        self.data = np.ascontiguousarray(data, dtype=np.uint32)
        if self.addr.shape != self.data.shape or self.addr.ndim != 1:
            raise ValueError("Writes: addr and data must be 1-D arrays of one length")

    @classmethod
    def of(cls, writes) -> "Writes":
        """`writes` as a Writes: itself, or a list of (addr, data) pairs (checked to be 32-bit words)."""
        if isinstance(writes, Writes):
            return writes
        pairs = list(writes)
        arr = np.array(pairs, dtype=object).reshape(-1, 2) if pairs else np.zeros((0, 2), dtype=object)
        for k, (a, d) in enumerate(pairs):
            for v in (a, d):
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < 1 << spec.CFG_WORD_BITS:
                    raise ImageError(f"write {k}: ({a!r}, {d!r}) is not a pair of 32-bit words")
        return cls(arr[:, 0].astype(np.uint32), arr[:, 1].astype(np.uint32))

    def __len__(self) -> int:
        return len(self.addr)

    def __iter__(self):
        return iter(zip(self.addr.tolist(), self.data.tolist()))

    def __getitem__(self, k):
        if isinstance(k, slice):
            return Writes(self.addr[k], self.data[k])
        return int(self.addr[k]), int(self.data[k])

    def __eq__(self, other):
        if isinstance(other, Writes):
            return np.array_equal(self.addr, other.addr) and np.array_equal(self.data, other.data)
        try:
            return list(self) == [tuple(w) for w in other]
        except TypeError:
            return NotImplemented

    __hash__ = None

    def __add__(self, other):
        other = Writes.of(other)
        return Writes(np.concatenate([self.addr, other.addr]), np.concatenate([self.data, other.data]))

    def __repr__(self) -> str:
        return f"Writes({len(self)} writes)"


def _region_sizes(params: spec.HwParams) -> np.ndarray:
    return np.array([spec.region_size(params, r) for r in spec.REGIONS], dtype=np.int64)


def first_bad_write(params: spec.HwParams, writes: Writes):
    """(k, reason) of the first write `loader.plan` would refuse (address outside the map,
    read-only region, table word out of range), or None. Whole-array checks; the message of the
    one bad write comes from `spec.decode_addr` / `spec.table_word_problem` themselves, so this
    cannot disagree with the loader."""
    chunk = 1 << 22   # bounded temporaries: ~10 arrays of 4 M entries, whatever the image's size
    for lo in range(0, len(writes), chunk):
        found = _first_bad(params, writes.addr[lo:lo + chunk], writes.data[lo:lo + chunk])
        if found is not None:
            return _explain(params, writes, lo + found)
    return None


def _first_bad(params: spec.HwParams, addr: np.ndarray, data: np.ndarray):
    a = addr.astype(np.int64)
    d = data.astype(np.int64)
    region = (a >> spec.ADDR_REGION_LSB) & ((1 << spec.ADDR_REGION_BITS) - 1)
    x = (a >> spec.ADDR_X_LSB) & ((1 << spec.COORD_BITS) - 1)
    y = (a >> spec.ADDR_Y_LSB) & ((1 << spec.COORD_BITS) - 1)
    off = a & ((1 << spec.ADDR_OFFSET_BITS) - 1)
    writable = np.array([r in spec.WRITABLE_REGIONS for r in spec.REGIONS] + [False] * (16 - len(spec.REGIONS)))
    sizes = np.concatenate([_region_sizes(params), np.zeros(16 - len(spec.REGIONS), dtype=np.int64)])
    bad = ((a >> spec.ADDR_TILE_TOP) != 0) | (x >= params.width) | (y >= params.height) | ~writable[region] \
        | (off >= sizes[region])
    # table words that index beyond the core's tables (spec.table_word_problem, vectorised)
    for name in ("active", "synapse", "axon", "rlist"):
        sel = region == spec.REGION[name]
        if not sel.any():
            continue
        word = spec.region_word(params, name, 0)
        if name == "active":
            f = word.field("count")
            bad |= sel & (((d >> f.lsb) & ((1 << f.width) - 1)) > params.neurons_per_core)
        elif name == "synapse":
            f = word.field("target")
            bad |= sel & (((d >> f.lsb) & ((1 << f.width) - 1)) >= params.neurons_per_core)
        else:
            size = params.synapses_per_core if name == "axon" else params.routes_per_core
            fp, fl = word.field("ptr"), word.field("len")
            ptr = (d >> fp.lsb) & ((1 << fp.width) - 1)
            ln = (d >> fl.lsb) & ((1 << fl.width) - 1)
            bad |= sel & (ln > 0) & (ptr + ln > size)
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else None


def _explain(params: spec.HwParams, writes: "Writes", k: int):
    addr, data = int(writes.addr[k]), int(writes.data[k])
    try:
        dec = spec.decode_addr(params, addr)
    except spec.AddressError as e:
        return k, str(e)
    if not dec.writable:
        return k, f"address {addr:#010x} is in read-only {dec.region}"
    problem = spec.table_word_problem(params, dec.region, data)
    return k, f"address {addr:#010x} ({dec.region}[{dec.offset}]): {problem}"


def format_image(writes, comments=(), params: spec.HwParams | None = None, where="image") -> str:
    """The text of an image file for `writes` [(addr, data)]. `params` go into the header so that
    `read_image` can check the addresses without being told the hardware."""
    lines = [f"# {IMAGE_FORMAT}"]
    if params is not None:
        lines.append(f"# hardware: {json.dumps(params.to_dict(), separators=(', ', ': '))}")
    lines += [f"# {c}" for c in comments]
    try:
        w = Writes.of(writes)
    except ImageError as e:
        raise ImageError(f"{where}: {e}") from None
    body = _hex_lines(w.addr, w.data)
    return "\n".join(lines) + "\n" + body + f"# end: {len(w)} writes\n"


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex_lines(addr: np.ndarray, data: np.ndarray) -> str:
    """`AAAAAAAA DDDDDDDD\n` for every write, built as one byte array (no string per line)."""
    n = len(addr)
    out = np.empty((n, 18), dtype=np.uint8)
    shifts = np.arange(28, -1, -4, dtype=np.uint32)
    out[:, 0:8] = _HEX[(addr[:, None] >> shifts) & 15]
    out[:, 8] = ord(" ")
    out[:, 9:17] = _HEX[(data[:, None] >> shifts) & 15]
    out[:, 17] = ord("\n")
    return out.tobytes().decode("ascii")


def _runs(addr: np.ndarray) -> np.ndarray:
    """(R, 2) [first address, count] of the runs of consecutive addresses."""
    if not len(addr):
        return np.zeros((0, 2), dtype=np.uint32)
    a = addr.astype(np.int64)
    start = np.concatenate(([0], np.flatnonzero(a[1:] != a[:-1] + 1) + 1))
    count = np.diff(np.concatenate((start, [len(a)])))
    return np.stack([a[start], count], axis=1).astype(np.uint32)


def save_npz(target, writes, comments=(), params: spec.HwParams | None = None) -> None:
    """Write a binary image to the path `target` (not atomic: `write_image` stages it)."""
    w = Writes.of(writes)
    np.savez(target, format=np.array(NPZ_FORMAT), hardware=np.array(json.dumps(params.to_dict()) if params else ""),
             comments=np.array(json.dumps(list(comments))), runs=_runs(w.addr), data=w.data,
             writes=np.array(len(w), dtype=np.int64))


def is_binary(path) -> bool:
    """A binary (.npz) image: by its first bytes (a zip archive), else by its suffix."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"PK\x03\x04"
    except OSError:
        return str(path).endswith(".npz")


def write_image(path, writes, comments=(), params: spec.HwParams | None = None) -> None:
    """Write `writes` as an image file, whole or not at all: binary for a `.npz` path, else text."""
    if str(path).endswith(".npz"):
        from neuromesh.outputs import Outputs
        with Outputs() as out:
            tmp = out.path(path)
            with open(tmp, "wb") as f:   # a file object: numpy would add .npz to a path
                save_npz(f, writes, comments, params)
        return
    write_text_atomic(path, format_image(writes, comments, params, where=str(path)))


def image_params(path) -> spec.HwParams:
    """The hardware recorded in an image's header."""
    if is_binary(path):
        params = _read_npz(path)[0]
        if params is None:
            raise ImageError(f"{path}: no hardware recorded in the binary image: the hardware must be given")
        return params
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
    if is_binary(path):
        return _read_binary(path, params)
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


def _read_npz(path):
    """(header params or None, Writes, comments) of a binary image, its structure checked."""
    path = str(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            if keys != NPZ_KEYS:
                missing = sorted(NPZ_KEYS - keys)
                raise ImageError(f"{path}: not a {NPZ_FORMAT} image ({'missing ' + ', '.join(missing) if missing else 'unknown arrays ' + ', '.join(sorted(keys - NPZ_KEYS))})")
            fmt, hw, comments = str(z["format"]), str(z["hardware"]), str(z["comments"])
            runs, data, n = z["runs"], z["data"], z["writes"]
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:   # a truncated or damaged archive
        raise ImageError(f"{path}: not a readable {NPZ_FORMAT} image ({str(e).splitlines()[0][:80]})") from None
    if fmt != NPZ_FORMAT:
        raise ImageError(f"{path}: format {fmt!r} is not {NPZ_FORMAT!r}")
    if runs.ndim != 2 or runs.shape[1] != 2 or runs.dtype != np.uint32 or data.ndim != 1 or data.dtype != np.uint32:
        raise ImageError(f"{path}: runs must be (R, 2) uint32 and data (N,) uint32")
    counts = runs[:, 1].astype(np.int64)
    if int(n) != len(data) or int(counts.sum()) != len(data):
        raise ImageError(f"{path}: the image says {int(n)} writes, its runs hold {int(counts.sum())} and its data "
                         f"{len(data)}: the image is truncated or damaged")
    start = np.repeat(runs[:, 0].astype(np.int64) - (np.cumsum(counts) - counts), counts)
    addr = start + np.arange(len(data), dtype=np.int64)
    if len(addr) and addr.max() >= 1 << spec.CFG_WORD_BITS:
        raise ImageError(f"{path}: a run passes the last 32-bit address")
    params = None
    if hw:
        try:
            params = spec.HwParams.from_dict(json.loads(hw))
        except (ValueError, TypeError, spec.ConfigError) as e:
            raise ImageError(f"{path}: bad hardware record: {e}") from None
    try:
        comment_list = json.loads(comments)
    except ValueError:
        comment_list = []
    return params, Writes(addr, data), comment_list


def _read_binary(path: str, params: spec.HwParams | None) -> Writes:
    header, writes, _comments = _read_npz(path)
    if params is None:
        if header is None:
            raise ImageError(f"{path}: no hardware recorded in the binary image: the hardware must be given")
        params = header
    elif header is not None and header != params:
        diff = [k for k, v in header.to_dict().items() if params.to_dict()[k] != v]
        raise ImageError(f"{path}: the image was compiled for {', '.join(f'{k} {getattr(header, k)}' for k in diff)}, "
                         f"not {', '.join(f'{k} {getattr(params, k)}' for k in diff)}")
    bad = first_bad_write(params, writes)
    if bad is not None:
        k, reason = bad
        raise ImageError(f"{path}: write {k}: {reason}")
    return writes
