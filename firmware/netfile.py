"""Network and stimulus files (SPEC section 7): read, validate, normalise.

Every violation raises `NetworkError` (a `spec.NeuroMeshError`) with one line
`FILE: FIELD: reason (got VALUE)`, where FIELD is a JSON path such as `populations[2].vth` or
`projections[0].weights[3][1]`, so a user can find the mistake without reading code.

Two formats (SPEC section 7): `neuromesh-network/2`, and `neuromesh-network/1`, which stays
valid and means what it meant; a version 1 file that uses a field only version 2 has (a list of
per-neuron parameters, `synapses_file`, the `hardware` block's clock fields) is refused.

Choices SPEC.md leaves open (docs/firmware.md explains them):
- unknown keys are refused everywhere (a typo such as `"vht"` must not silently default to 0);
- section-3 parameters on an input population are refused (they would have no effect);
- `placement` of a lif population is `[x, y]` (the whole population on one tile) or
  `[[x, y, count], ...]` (consecutive chunks, counts summing to the size);
- a stimulus may not name the same `[tick, index]` twice (a neuron fires at most once a tick).
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from neuromesh import jsonfile, spec
from neuromesh.gcpause import gc_paused
from neuromesh.text import printable

NETWORK_FORMAT = "neuromesh-network/2"
NETWORK_FORMATS = {"neuromesh-network/1": 1, NETWORK_FORMAT: 2}
KINDS = ("input", "lif")
POPULATION_KEYS = {"name", "size", "kind", "record", "placement", *spec.NEURON_PARAMS}
PROJECTION_KEYS = {"pre", "post", "weight_exp", "weights", "synapses", "synapses_file"}
NETWORK_KEYS = {"format", "hardware", "populations", "projections", "description"}
CLOCK_KEYS = {"period_ps", "domains", "links"}      # hardware fields of version 2 only
STIMULUS_KEYS = {"ticks", "spikes", "description"}
# A run keeps per-tick lists in memory: refuse a typo like 10**10 with a message, not MemoryError.
MAX_TICKS = 10_000_000
WEIGHT_RANGE = spec.field_range(spec.WEIGHT_BITS, True)
WEXP_RANGE = spec.field_range(spec.WEXP_BITS, False)
# No chip holds more neurons than the largest mesh of the largest cores; a bigger population
# (input ones included) is a typo, and refusing it early keeps the compiler from allocating it.
MAX_POPULATION = spec.LIMITS["width"][1] * spec.LIMITS["height"][1] * spec.LIMITS["neurons_per_core"][1]


class NetworkError(spec.NeuroMeshError, ValueError):
    """A bad network or stimulus file: `FILE: FIELD: reason (got VALUE)`."""

    def __init__(self, path, where: str | None, reason: str, value=None, *, show_value: bool = True):
        self.path, self.where, self.reason, self.value = str(path), where, reason, value
        text = f"{self.path}: "
        if where:
            text += f"{where}: "
        text += reason
        if show_value:
            text += f" (got {show(value)})"
        super().__init__(printable(text))  # one line, whatever a name or path holds


def show(value, limit: int = 60) -> str:
    """A value as the user wrote it (JSON), cut short so the message stays one line."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Synapses:
    """The synapses of one projection as three NumPy arrays (`pre`, `post` int32, `weight` int16:
    10 bytes a synapse; one entry per synapse in file order, duplicates kept), so that a projection
    of millions of synapses costs no Python object per synapse. It still reads like the list of
    `(pre, post, weight)` tuples it replaces: `len`, iteration and `==` against such a list work
    (small networks, tests). Indices fit int32: a population has at most 16,777,216 neurons."""
    __slots__ = ("pre", "post", "weight")

    def __init__(self, pre, post, weight):
        self.pre = np.ascontiguousarray(pre, dtype=np.int32)
        self.post = np.ascontiguousarray(post, dtype=np.int32)
        self.weight = np.ascontiguousarray(weight, dtype=np.int16)
        if not len(self.pre) == len(self.post) == len(self.weight):
            raise ValueError("Synapses: pre, post and weight must have one entry per synapse")

    @classmethod
    def from_rows(cls, rows) -> "Synapses":
        """From an (S, 3) integer array or a list of [pre, post, weight]."""
        arr = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        return cls(arr[:, 0], arr[:, 1], arr[:, 2])

    def __len__(self) -> int:
        return len(self.pre)

    def __iter__(self):
        return iter(zip(self.pre.tolist(), self.post.tolist(), self.weight.tolist()))

    def rows(self) -> np.ndarray:
        """(S, 3) int64: the rows of a `synapses_file`."""
        return np.stack([self.pre, self.post, self.weight], axis=1).astype(np.int64)

    def __eq__(self, other):
        if isinstance(other, Synapses):
            return (len(self) == len(other) and np.array_equal(self.pre, other.pre)
                    and np.array_equal(self.post, other.post) and np.array_equal(self.weight, other.weight))
        try:
            return list(self) == [tuple(s) for s in other]
        except TypeError:
            return NotImplemented

    __hash__ = None

    def __repr__(self) -> str:
        head = list(zip(self.pre[:3].tolist(), self.post[:3].tolist(), self.weight[:3].tolist()))
        return f"Synapses({len(self)}: {head}{' ...' if len(self) > 3 else ''})"


@dataclass
class Network:
    """A validated network.  `populations`: [{name, size, kind, record, params, placement}]
    with `params` the seven section-3 parameters (each an int for the whole population or a
    list of `size` ints) and `placement` None or [(x, y, count), ...];
    `projections`: [{pre, post, weight_exp, synapses: Synapses}] (arrays; iterable as
    `(pre_i, post_j, weight)` tuples);
    `clocks`: the clock domains (`spec.Clocks`, one domain unless the hardware block says more)."""
    path: str
    populations: list
    projections: list
    params: spec.HwParams
    raw: dict
    clocks: spec.Clocks = spec.Clocks()
    version: int = 2

    def population(self, name: str) -> dict:
        for p in self.populations:
            if p["name"] == name:
                return p
        raise KeyError(name)


@dataclass
class Stimulus:
    """`spikes`: {input population: [[tick, index], ...]} in file order; ticks 1..`ticks`."""
    ticks: int
    spikes: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# JSON reading


def read_json(path, what: str = "network") -> object:
    """Parse a JSON file with the shared limits (`neuromesh.jsonfile`: regular files of bounded
    size, UTF-8, bounded nesting and integer length, no NaN, no duplicate keys); any failure is
    a one-line NetworkError naming the file (and line)."""
    try:
        return jsonfile.read_json(path, what)
    except jsonfile.JsonFileError as e:
        raise NetworkError(path, e.where, e.reason, show_value=False) from None


# ---------------------------------------------------------------------------------------------
# Small typed accessors: each names the JSON path on failure.


class _Checker:
    def __init__(self, path):
        self.path = str(path)
        self.version = 2

    def fail(self, where, reason, value=None, **kw):
        raise NetworkError(self.path, where, reason, value, **kw)

    def needs_v2(self, where):
        if self.version < 2:
            self.fail(where, f"only {NETWORK_FORMAT} has this field (the file says neuromesh-network/1)",
                      show_value=False)

    def obj(self, value, where, allowed: set, required: set = frozenset()):
        if not isinstance(value, dict):
            self.fail(where, "must be a JSON object", value)
        for k in value:
            if k not in allowed:
                self.fail(f"{where}.{k}" if where else k,
                          f"unknown key (allowed: {', '.join(sorted(allowed))})", value[k])
        for k in sorted(required):
            if k not in value:
                self.fail(f"{where}.{k}" if where else k, "missing", show_value=False)
        return value

    def int(self, value, where, lo=None, hi=None):
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, "must be an integer", value)
        if lo is not None and hi is not None and not lo <= value <= hi:
            self.fail(where, f"must be in {lo}..{hi}", value)
        if lo is not None and hi is None and value < lo:
            self.fail(where, f"must be at least {lo}", value)
        return value

    def list(self, value, where, length=None):
        if not isinstance(value, list):
            self.fail(where, "must be a JSON list", value)
        if length is not None and len(value) != length:
            self.fail(where, f"must have {length} entries, not {len(value)}", value)
        return value

    def str(self, value, where):
        if not isinstance(value, str) or not value:
            self.fail(where, "must be a non-empty string", value)
        return value


# ---------------------------------------------------------------------------------------------
# Network


def load_network(path) -> Network:
    """Read and validate a network file (SPEC section 7); return the normalised Network."""
    # The collector held off until the parsed lists (one per synapse) are gone: once they are
    # arrays, it has nothing of them left to walk (neuromesh.gcpause).
    with gc_paused():
        raw = read_json(path)
        net = parse_network(raw, path)
        del raw
    return net


def parse_network(raw, path="<network>") -> Network:
    c = _Checker(path)
    if not isinstance(raw, dict):
        c.fail(None, "the top level must be a JSON object", raw)
    if "format" not in raw:
        c.fail("format", f"missing (a network file starts with \"format\": \"{NETWORK_FORMAT}\")",
               show_value=False)
    if not isinstance(raw["format"], str) or raw["format"] not in NETWORK_FORMATS:
        c.fail("format", f"unknown format (expected {' or '.join(map(show, NETWORK_FORMATS))})", raw["format"])
    c.version = NETWORK_FORMATS[raw["format"]]
    c.obj(raw, None, NETWORK_KEYS, {"populations"})
    if "description" in raw and not isinstance(raw["description"], str):
        c.fail("description", "must be a string", raw["description"])

    hw = raw.get("hardware", {})
    c.obj(hw, "hardware", set(spec.LIMITS) | CLOCK_KEYS)
    for k in sorted(CLOCK_KEYS & set(hw)):
        c.needs_v2(f"hardware.{k}")
    try:
        params = spec.HwParams.from_dict({k: v for k, v in hw.items() if k in spec.LIMITS})
        clocks = spec.Clocks.from_dict(hw, params)
    except spec.ConfigError as e:
        c.fail(e.field, e.reason, e.value)

    pops_raw = c.list(raw["populations"], "populations")
    if not pops_raw:
        c.fail("populations", "must name at least one population", pops_raw)
    populations, by_name = [], {}
    for i, p in enumerate(pops_raw):
        pop = _population(c, p, f"populations[{i}]", params)
        if pop["name"] in by_name:
            c.fail(f"populations[{i}].name", f"duplicate population name (also populations[{by_name[pop['name']]}])",
                   pop["name"])
        by_name[pop["name"]] = i
        populations.append(pop)

    projections = []
    for i, pr in enumerate(c.list(raw.get("projections", []), "projections")):
        projections.append(_projection(c, pr, f"projections[{i}]", populations, by_name))
    return Network(path=str(path), populations=populations, projections=projections, params=params, raw=raw,
                   clocks=clocks, version=c.version)


def _population(c: _Checker, p, where: str, params: spec.HwParams) -> dict:
    c.obj(p, where, POPULATION_KEYS, {"name", "size", "kind"})
    name = c.str(p["name"], f"{where}.name")
    size = c.int(p["size"], f"{where}.size", 1, MAX_POPULATION)
    kind = p["kind"]
    if kind not in KINDS:
        c.fail(f"{where}.kind", "must be \"input\" or \"lif\"", kind)
    record = p.get("record", False)
    if not isinstance(record, bool):
        c.fail(f"{where}.record", "must be true or false", record)
    neuron = {}
    for pname, (bits, signed) in spec.NEURON_PARAMS.items():
        if pname in p:
            if kind == "input":
                c.fail(f"{where}.{pname}", "an input population has no neuron parameters "
                                           "(its spikes come from the stimulus)", p[pname])
            lo, hi = spec.field_range(bits, signed)
            value = p[pname]
            if isinstance(value, list):
                c.needs_v2(f"{where}.{pname}")
                if len(value) != size:
                    c.fail(f"{where}.{pname}", f"a per-neuron list must have {size} entries (the population's "
                                               f"size), not {len(value)}", show_value=False)
                for k, v in enumerate(value):
                    c.int(v, f"{where}.{pname}[{k}]", lo, hi)
                neuron[pname] = list(value)
            else:
                neuron[pname] = c.int(value, f"{where}.{pname}", lo, hi)
        else:
            neuron[pname] = 0
    placement = None
    if "placement" in p:
        if kind == "input":
            c.fail(f"{where}.placement", "an input population lives in the host and has no placement",
                   p["placement"])
        placement = _placement(c, p["placement"], f"{where}.placement", size, params)
    return {"name": name, "size": size, "kind": kind, "record": record, "params": neuron,
            "placement": placement}


def _placement(c: _Checker, value, where: str, size: int, params: spec.HwParams) -> list:
    """`[x, y]` or `[[x, y, count], ...]` -> [(x, y, count), ...] with counts summing to size."""
    c.list(value, where)
    if len(value) == 2 and all(not isinstance(v, list) for v in value):
        chunks, whole = [value + [size]], True
    else:
        chunks, whole = value, False
        if not chunks:
            c.fail(where, "must be [x, y] or a non-empty list of [x, y, count]", value)
    out = []
    for k, chunk in enumerate(chunks):
        w = where if whole else f"{where}[{k}]"
        if not isinstance(chunk, list) or len(chunk) != 3:
            c.fail(w, "must be [x, y] or a list of [x, y, count]", value if whole else chunk)
        x = c.int(chunk[0], w if whole else f"{w}[0]")
        y = c.int(chunk[1], w if whole else f"{w}[1]")
        if not (0 <= x < params.width and 0 <= y < params.height):
            c.fail(w, f"tile ({x}, {y}) is outside the {params.width}x{params.height} mesh",
                   value if whole else chunk)
        count = c.int(chunk[2], f"{w}[2]", lo=1)
        out.append((x, y, count))
    total = sum(n for _, _, n in out)
    if total != size:
        c.fail(where, f"places {total} neurons, the population has {size}", value)
    return out


def _projection(c: _Checker, pr, where: str, populations: list, by_name: dict) -> dict:
    c.obj(pr, where, PROJECTION_KEYS, {"pre", "post"})
    ends = {}
    for end in ("pre", "post"):
        name = pr[end]
        if not isinstance(name, str) or name not in by_name:
            c.fail(f"{where}.{end}", "unknown population", name)
        ends[end] = populations[by_name[name]]
    pre, post = ends["pre"], ends["post"]
    if post["kind"] == "input":
        c.fail(f"{where}.post", "an input population cannot receive a projection", post["name"])
    wexp = c.int(pr.get("weight_exp", 0), f"{where}.weight_exp", *WEXP_RANGE)
    given = [k for k in ("weights", "synapses", "synapses_file") if k in pr]
    if len(given) != 1:
        c.fail(where, "needs exactly one of \"weights\" (dense matrix), \"synapses\" (list) and "
                      "\"synapses_file\" (a .npy file)", given, show_value=bool(given))
    if "synapses_file" in pr:
        c.needs_v2(f"{where}.synapses_file")
        synapses = _synapses_file(c, pr["synapses_file"], f"{where}.synapses_file", pre, post)
    elif "weights" in pr:
        rows = c.list(pr["weights"], f"{where}.weights")
        if len(rows) != pre["size"]:
            c.fail(f"{where}.weights", f"must have {pre['size']} rows (pre {pre['name']!r} size), not {len(rows)}",
                   show_value=False)
        for i, row in enumerate(rows):
            c.list(row, f"{where}.weights[{i}]")
            if len(row) != post["size"]:
                c.fail(f"{where}.weights[{i}]",
                       f"must have {post['size']} columns (post {post['name']!r} size), not {len(row)}",
                       show_value=False)
        dense = _int_matrix(rows, (len(rows), post["size"]))
        if dense is None or dense.size and (dense.min() < WEIGHT_RANGE[0] or dense.max() > WEIGHT_RANGE[1]):
            for i, row in enumerate(rows):   # name the first bad entry (the slow path, only on error)
                for j, w in enumerate(row):
                    c.int(w, f"{where}.weights[{i}][{j}]", *WEIGHT_RANGE)
        i_idx, j_idx = np.nonzero(dense)   # row-major, as the file reads
        synapses = Synapses(i_idx, j_idx, dense[i_idx, j_idx])
    else:
        entries = c.list(pr["synapses"], f"{where}.synapses")
        arr = _int_matrix(entries, (len(entries), 3))
        limits = (("pre", 0, pre["size"] - 1), ("post", 0, post["size"] - 1), ("weight", *WEIGHT_RANGE))
        if arr is None or any(len(arr) and (arr[:, col].min() < lo or arr[:, col].max() > hi)
                              for col, (_n, lo, hi) in enumerate(limits)):
            for k, s in enumerate(entries):   # name the first bad entry (the slow path, only on error)
                w = f"{where}.synapses[{k}]"
                if not isinstance(s, list) or len(s) != 3:
                    c.fail(w, "must be [pre, post, weight]", s)
                c.int(s[0], f"{w}[0]", 0, pre["size"] - 1)
                c.int(s[1], f"{w}[1]", 0, post["size"] - 1)
                c.int(s[2], f"{w}[2]", *WEIGHT_RANGE)
        synapses = Synapses.from_rows(arr)
    return {"pre": pre["name"], "post": post["name"], "weight_exp": wexp, "synapses": synapses}


def _int_matrix(rows: list, shape: tuple):
    """`rows` (JSON lists) as an int64 array of `shape` if every entry is a JSON integer (not a
    bool, not a float) and the rows have that shape; None otherwise (the caller then names the
    first bad entry). One pass of C-level checks: no Python object per entry is kept."""
    if not rows:
        return np.zeros(shape, dtype=np.int64)
    if set(map(type, rows)) != {list} or set(map(len, rows)) != {shape[1]}:
        return None
    if set(map(type, itertools.chain.from_iterable(rows))) - {int}:   # bool and float are not int here
        return None
    try:   # fromiter over the flattened rows: half the time of np.array on nested lists
        flat = itertools.chain.from_iterable(rows)
        return np.fromiter(flat, dtype=np.int64, count=shape[0] * shape[1]).reshape(shape)
    except OverflowError:   # an integer beyond int64 is out of range anyway
        return None


def _synapses_file(c: _Checker, value, where: str, pre: dict, post: dict) -> "Synapses":
    """A NumPy `.npy` file (path relative to the network file) of an integer array (S, 3) whose
    rows mean what `synapses` entries mean; read without pickles, checked with whole-array
    operations (the first bad row is named)."""
    if not isinstance(value, str) or not value:
        c.fail(where, "must be the path of a .npy file, relative to the network file", value)
    path = Path(c.path).parent / value
    try:
        arr = np.load(path, allow_pickle=False, mmap_mode="r")
    except FileNotFoundError:
        c.fail(where, f"no such file ({path})", value)
    except (OSError, ValueError) as e:
        c.fail(where, f"not a NumPy .npy array without pickles ({str(e).splitlines()[0][:80]})", value)
    if not isinstance(arr, np.ndarray) or arr.ndim != 2 or arr.shape[1] != 3:
        c.fail(where, f"must hold an array of shape (S, 3), not {getattr(arr, 'shape', '?')}", value)
    if not np.issubdtype(arr.dtype, np.integer):
        c.fail(where, f"must hold integers, not {arr.dtype}", value)
    columns = []
    for col, (name, lo, hi) in enumerate((("pre", 0, pre["size"] - 1), ("post", 0, post["size"] - 1),
                                           ("weight", *WEIGHT_RANGE))):
        column = np.asarray(arr[:, col])   # one column at a time, in the file's integer type
        bad = np.flatnonzero((column < lo) | (column > hi))
        if bad.size:
            k = int(bad[0])
            c.fail(f"{where}[{k}][{col}]", f"{name} must be in {lo}..{hi}", int(column[k]))
        columns.append(column)
    return Synapses(*columns)


# ---------------------------------------------------------------------------------------------
# Stimulus


def _ticks(c: _Checker, raw) -> int:
    if not isinstance(raw, dict):
        c.fail(None, "the top level must be a JSON object", raw)
    c.obj(raw, None, STIMULUS_KEYS, {"ticks"})
    ticks = c.int(raw["ticks"], "ticks", lo=1)
    if ticks > MAX_TICKS:
        c.fail("ticks", f"must be at most {MAX_TICKS}", ticks)
    return ticks


def load_stimulus_ticks(path) -> int:
    """The number of ticks of a stimulus file (cheap: for progress reports)."""
    return _ticks(_Checker(path), read_json(path, "stimulus"))


def load_stimulus(path, network: Network) -> Stimulus:
    raw = read_json(path, "stimulus")
    return parse_stimulus(raw, network, path)


def parse_stimulus(raw, network: Network, path="<stimulus>") -> Stimulus:
    """Check a parsed stimulus against `network`; the returned Stimulus holds `raw`'s own event
    lists (not copies)."""
    c = _Checker(path)
    ticks = _ticks(c, raw)
    spikes_raw = raw.get("spikes", {})
    if not isinstance(spikes_raw, dict):
        c.fail("spikes", "must be a JSON object {population: [[tick, index], ...]}", spikes_raw)
    kinds = {p["name"]: p for p in network.populations}
    spikes = {}
    for name, events in spikes_raw.items():
        where = f"spikes.{name}"
        if name not in kinds:
            c.fail(where, f"no such population in {network.path}", name)
        pop = kinds[name]
        if pop["kind"] != "input":
            c.fail(where, "only an input population can be driven by the stimulus", name)
        c.list(events, where)
        _check_events(c, where, events, ticks, pop["size"])
        spikes[name] = events  # checked in place: a huge stimulus is not copied
    return Stimulus(ticks=ticks, spikes=spikes)


def _check_events(c: _Checker, where: str, events: list, ticks: int, size: int) -> None:
    """Every entry `[tick, index]` in range, and no pair twice, without building anything as
    large as `events` in Python objects (a 10^7-spike stimulus whose last entry is bad ends with
    that entry named, not with MemoryError, and a good one is checked in seconds): the shapes
    and types are checked with C-level passes (`set(map(...))`), the ranges and duplicates on
    one NumPy array; only a bad list is walked entry by entry, to name the first bad entry."""
    pairs = None
    if (set(map(type, events)) <= {list} and set(map(len, events)) <= {2}
            and set(map(type, chain.from_iterable(events))) <= {int}):
        try:
            pairs = np.array(events, dtype=np.int64).reshape(len(events), 2)
        except OverflowError:
            pass
    if pairs is None:
        bad = range(len(events))
    else:
        t, i = pairs[:, 0], pairs[:, 1]
        bad = np.flatnonzero((t < 1) | (t > ticks) | (i < 0) | (i >= size))[:1].tolist()
    for k in bad:  # the first bad entry, named (this loop ends at it)
        ev = events[k]
        if type(ev) is not list or len(ev) != 2:
            c.fail(f"{where}[{k}]", "must be [tick, index]", ev)
        c.int(ev[0], f"{where}[{k}][0]", 1, ticks)
        c.int(ev[1], f"{where}[{k}][1]", 0, size - 1)
    if pairs is None or len(events) < 2:
        return
    keys = pairs[:, 0] * size + pairs[:, 1]
    del pairs
    order = np.argsort(keys, kind="stable")   # equal keys keep file order
    keys = keys[order]
    repeats = order[1:][keys[1:] == keys[:-1]]
    if repeats.size:
        k = int(repeats.min())                  # the first entry that repeats an earlier one
        c.fail(f"{where}[{k}]", "duplicate spike (a neuron spikes at most once a tick)", events[k])
