"""Energy profiles: per-event energies in picojoules, one JSON data file per profile, each value
with its source and what it includes (docs/energy.md).

Both engines price a run the same way, from the SPEC section 8 counters:
`energy_from_counts(profile, counts)` (the point values) and `energy_bounds(profile, counts)`
(the low and high ends of the profile's ranges).  A user adds a profile by passing the path of a
JSON file in the same format (`energy_profiles/loihi.json` is a complete example).

A profile file, `"format": "neuromesh-energy/2"`:

    {"name": ..., "description": ..., "sources": {"key": "full citation", ...},
     "energy": {"sop_pj": {"pj": 23.6, "low": 23.6, "high": 33.6, "source": "key",
                           "where": "Table 2", "includes": "...", "mapping": "..."}, ...},
     "latency_ns": {...}}

A value may also be a bare number when the profile names one `"source"` for all of them; the
older flat layout (`"sop_pj": 23.6, ...` at the top level, `"source": "..."`) still loads, and
its `static_pj_per_tile_cycle` means `static_pj_per_tile_edge`.  Whatever the layout, a bad file
is refused in one line naming the file, the field and the reason, before any run.
"""
from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

from .spec import NeuroMeshError

FORMAT = "neuromesh-energy/2"

# Event type -> the profile key with its energy in pJ.  `EVENTS` is also the order in reports.
EVENTS = {
    "sop": "sop_pj",                    # one synaptic operation (core counter `sops`)
    "update_idle": "update_idle_pj",    # a neuron update in which the neuron did not fire (`updates - spikes`)
    "update_active": "update_active_pj",  # a neuron update in which the neuron fired (`spikes`)
    "spike": "spike_pj",                # a flit sent by a core (`flits_sent`)
    "hop_ew": "hop_ew_pj",              # a flit crossing an east-west router-to-router link
    "hop_ns": "hop_ns_pj",              # a flit crossing a north-south router-to-router link
    "async_on_chip": "async_crossing_on_chip_pj",    # a hop over an asynchronous link, domains on one chip (on top of the hop)
    "async_off_chip": "async_crossing_off_chip_pj",  # a hop over an asynchronous link between chips (on top of the hop)
    "static": "static_pj_per_tile_edge",  # one tile for one rising edge of its domain's clock
}
KEYS = tuple(EVENTS.values())
LEGACY_KEYS = {"static_pj_per_tile_cycle": "static_pj_per_tile_edge"}
BUILTIN = ("loihi", "sanafe_loihi", "truenorth")

# Limits that keep a hostile or broken file from costing anything: profiles are a few kB.
MAX_BYTES = 1 << 20   # a profile is a few kB; nesting, integers, NaN: neuromesh.jsonfile's limits
MAX_PJ = 1e9          # 1 mJ per event: anything above is a unit mistake, not a chip
ENTRY_KEYS = {"pj", "low", "high", "source", "where", "includes", "mapping", "derivation", "verified",
              "citation"}   # citation: written by check_profile (the resolved source), ignored on input
TOP_KEYS = {"format", "name", "description", "technology", "source", "sources", "energy", "latency_ns",
            "notes", "ranges"}


class ProfileError(NeuroMeshError, ValueError):
    """A bad energy profile: `WHERE: FIELD: reason`, one line."""

    def __init__(self, where: str, field: str | None, reason: str):
        text = f"{where}: {field + ': ' if field else ''}{reason}"
        super().__init__(text.replace("\r", "\\r").replace("\n", "\\n"))


def _show(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ----------------------------------------------------------------------------------------------
# Reading a file: the project's one bounded JSON reader (neuromesh.jsonfile: regular files only,
# size, strict UTF-8, nesting depth, integer length, no NaN or Infinity, no duplicate keys), with
# the tighter size limit of a profile (a few kB).


def parse_json(data: bytes, where: str):
    """Strict JSON from bytes (`jsonfile.JsonFileError`, one line, otherwise)."""
    from .jsonfile import JsonFileError, loads
    if len(data) > MAX_BYTES:
        raise ProfileError(where, None, f"{len(data):,} bytes, more than an energy profile can be ({MAX_BYTES:,})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonFileError(where, None, f"not UTF-8 text (byte {e.start}: {data[e.start:e.start + 1]!r})") from None
    return loads(text, where, data=data)


# ----------------------------------------------------------------------------------------------
# Validation


def _number(where: str, field: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProfileError(where, field, f"must be a number of pJ (got {_show(v)})")
    v = float(v)
    if not math.isfinite(v):
        raise ProfileError(where, field, f"must be finite (got {_show(v)})")
    if v < 0:
        raise ProfileError(where, field, f"must not be negative (got {_show(v)})")
    if v > MAX_PJ:
        raise ProfileError(where, field, f"{v:g} pJ per event is more than {MAX_PJ:g} pJ: a unit mistake?")
    return v


def _text(where: str, field: str, v, required: bool = False) -> str | None:
    if v is None and not required:
        return None
    if not isinstance(v, str) or not v.strip():
        raise ProfileError(where, field, f"must be a non-empty string (got {_show(v)})")
    return v


def _entry(where: str, key: str, raw, sources: dict, default_source: str | None) -> dict:
    field = f"energy.{key}"
    if isinstance(raw, dict):
        unknown = set(raw) - ENTRY_KEYS
        if unknown:
            k = sorted(unknown)[0]
            raise ProfileError(where, f"{field}.{k}", f"unknown key (allowed: {', '.join(sorted(ENTRY_KEYS))})")
        if "pj" not in raw:
            raise ProfileError(where, f"{field}.pj", "missing (the point value in pJ)")
        pj = _number(where, f"{field}.pj", raw["pj"])
        low = _number(where, f"{field}.low", raw["low"]) if "low" in raw else pj
        high = _number(where, f"{field}.high", raw["high"]) if "high" in raw else pj
        if not low <= pj <= high:
            raise ProfileError(where, field, f"needs low <= pj <= high (got {low:g}, {pj:g}, {high:g})")
        src = raw.get("source", default_source)
        if src is None:
            raise ProfileError(where, f"{field}.source", "missing: every value needs a source "
                               "(a key of \"sources\" or the citation itself)")
        _text(where, f"{field}.source", src, True)
        entry = {"pj": pj, "low": low, "high": high, "source": src,
                 "citation": sources.get(src, src)}
        for k in ("where", "includes", "mapping", "derivation", "verified"):
            if k in raw:
                entry[k] = _text(where, f"{field}.{k}", raw[k], True)
        return entry
    pj = _number(where, field, raw)
    if default_source is None:
        raise ProfileError(where, field, "a bare number needs the profile's \"source\" "
                           "(or write {\"pj\": ..., \"source\": ...})")
    return {"pj": pj, "low": pj, "high": pj, "source": default_source,
            "citation": sources.get(default_source, default_source)}


def check_profile(raw, where: str) -> dict:
    """A validated, normalised profile (the v2 layout, reloadable as it stands)."""
    if not isinstance(raw, dict):
        raise ProfileError(where, None, "the top level must be a JSON object")
    sources = raw.get("sources", {})
    if not isinstance(sources, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                                for k, v in sources.items()):
        raise ProfileError(where, "sources", "must be an object of citation strings")
    source = _text(where, "source", raw.get("source"))
    name = _text(where, "name", raw.get("name"))
    if "energy" in raw:   # v2
        unknown = set(raw) - TOP_KEYS
        if unknown:
            k = sorted(unknown)[0]
            raise ProfileError(where, k, f"unknown key (allowed: {', '.join(sorted(TOP_KEYS))})")
        fmt = raw.get("format", FORMAT)
        if fmt != FORMAT:
            raise ProfileError(where, "format", f"must be {FORMAT!r} (got {_show(fmt)})")
        values = raw["energy"]
        if not isinstance(values, dict):
            raise ProfileError(where, "energy", "must be an object of per-event energies")
        values = {LEGACY_KEYS.get(k, k): v for k, v in values.items()}
    else:                 # the flat layout of format 1
        values = {LEGACY_KEYS.get(k, k): v for k, v in raw.items() if k.endswith("_pj") or k in LEGACY_KEYS}
    unknown = set(values) - set(KEYS)
    if unknown:
        k = sorted(unknown)[0]
        raise ProfileError(where, f"energy.{k}", f"unknown event energy (known: {', '.join(KEYS)})")
    energy = {}
    for key in KEYS:
        if key not in values:
            raise ProfileError(where, f"energy.{key}", "missing (every event needs an energy, 0 if it costs nothing)")
        energy[key] = _entry(where, key, values[key], sources, source)
    latency = raw.get("latency_ns", {})
    if not isinstance(latency, dict):
        raise ProfileError(where, "latency_ns", "must be an object")
    for k, v in latency.items():
        lat = v.get("ns") if isinstance(v, dict) else v
        _number(where, f"latency_ns.{k}", lat)
    out = {"format": FORMAT, "name": name or Path(where).stem, "description": raw.get("description", ""),
           "technology": raw.get("technology"), "sources": sources, "energy": energy, "latency_ns": latency}
    if source:
        out["source"] = source
    if "notes" in raw:
        out["notes"] = raw["notes"]
    return out


_BUILTIN_CACHE: dict = {}


def load_profile(name_or_path) -> dict:
    """A built-in profile by name, or a JSON file by path, validated (`ProfileError` otherwise).
    Built-in profiles are read once per process; treat the returned dict as read-only."""
    name_or_path = str(name_or_path)
    if name_or_path in _BUILTIN_CACHE:
        return _BUILTIN_CACHE[name_or_path]
    if name_or_path in BUILTIN:
        data = resources.files("neuromesh").joinpath(f"energy_profiles/{name_or_path}.json").read_bytes()
        where = f"energy profile {name_or_path}"
    else:
        from .jsonfile import read_bytes
        path = Path(name_or_path)
        if not path.exists():
            raise ProfileError(name_or_path, None, f"no such energy profile file (built-in: {', '.join(BUILTIN)})")
        data = read_bytes(path, "energy profile", MAX_BYTES)   # a regular file, bounded
        where = str(path)
    prof = check_profile(parse_json(data, where), where)
    if name_or_path in BUILTIN:
        prof["name"] = name_or_path
        _BUILTIN_CACHE[name_or_path] = prof
    return prof


# ----------------------------------------------------------------------------------------------
# Pricing counts


def value(profile: dict, key: str, bound: str = "pj") -> float:
    """The energy of one event: `bound` is "pj" (the point value), "low" or "high"."""
    return profile["energy"][key][bound]


def energy_from_counts(profile: dict, counts: dict, bound: str = "pj") -> dict:
    """Picojoules by event type and `total`.  `counts` maps event types (keys of EVENTS) to
    counts; an event it does not name counts 0 (`static` counts tile-edges)."""
    out = {event: counts.get(event, 0) * value(profile, key, bound) for event, key in EVENTS.items()}
    out["total"] = sum(out.values())
    return out


def energy_bounds(profile: dict, counts: dict) -> dict:
    """`{"low": ..., "high": ...}`: the run priced at every event's low and high value.  The
    ends add each event's own end, so they bracket every reading the profile allows."""
    return {b: energy_from_counts(profile, counts, b) for b in ("low", "high")}


def has_ranges(profile: dict) -> bool:
    return any(e["low"] != e["pj"] or e["high"] != e["pj"] for e in profile["energy"].values())


def sources_of(profile: dict) -> dict:
    """Event type -> the citation of its value (what a result shows beside the numbers)."""
    out = {}
    for event, key in EVENTS.items():
        e = profile["energy"][key]
        out[event] = e["citation"] + (f", {e['where']}" if e.get("where") else "")
    return out


# ----------------------------------------------------------------------------------------------
# Static energy: tile-edges (SPEC section 8)


def tile_edges(params, clocks=None, end_ps: int = 0, start_ps: int = 0) -> list:
    """Rising edges of each tile's domain clock in [start_ps, end_ps), in tile index order
    (`neuromesh.clocks.Edges`, the project's one edge arithmetic). `clocks` (a `spec.Clocks`)
    None: every tile in domain 0 of the default period."""
    from . import spec
    from .clocks import Edges
    clocks = clocks or spec.Clocks()
    e = Edges(clocks)
    per_domain = [max(0, e.edges_in(k, end_ps) - e.edges_in(k, start_ps)) for k in range(clocks.n_domains)]
    return [per_domain[d] for d in clocks.partition(params)]
