"""Energy profiles: per-event energies in picojoules, one JSON data file per profile.

Both engines compute energy the same way, from the SPEC section 8 counters:
`energy_from_counts(profile, counts)`.  A user adds a profile by passing a path to a JSON file
with the same keys (see `energy_profiles/loihi.json`).
"""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from .spec import NeuroMeshError

# Event type -> the profile key with its energy in pJ.  `EVENTS` is also the order in reports.
EVENTS = {
    "sop": "sop_pj",                    # one synaptic operation (core counter `sops`)
    "update_idle": "update_idle_pj",    # a neuron update that did not fire (`updates - spikes`)
    "update_active": "update_active_pj",  # a neuron update that fired (`spikes`)
    "spike": "spike_pj",                # a flit sent by a core (`flits_sent`)
    "hop_ew": "hop_ew_pj",              # a flit crossing an east-west router-to-router link
    "hop_ns": "hop_ns_pj",              # a flit crossing a north-south router-to-router link
    "static": "static_pj_per_tile_cycle",  # one tile for one clock cycle
}
BUILTIN = ("loihi", "truenorth")


def load_profile(name_or_path: str) -> dict:
    """A built-in profile by name, or a JSON file by path."""
    if name_or_path in BUILTIN:
        text = resources.files("neuromesh").joinpath(f"energy_profiles/{name_or_path}.json").read_text()
        where = f"energy profile {name_or_path}"
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise NeuroMeshError(f"{name_or_path}: no such energy profile (built-in: {', '.join(BUILTIN)})")
        text, where = path.read_text(), str(path)
    try:
        prof = json.loads(text)
    except json.JSONDecodeError as e:
        raise NeuroMeshError(f"{where}: line {e.lineno}: malformed JSON ({e.msg})") from None
    if not isinstance(prof, dict):
        raise NeuroMeshError(f"{where}: top level: must be a JSON object")
    for key in EVENTS.values():
        v = prof.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise NeuroMeshError(f"{where}: {key}: must be a non-negative number of pJ (got {v!r})")
    prof.setdefault("name", Path(name_or_path).stem)
    return prof


def energy_from_counts(profile: dict, counts: dict) -> dict:
    """Picojoules by event type and `total`. `counts` maps every key of EVENTS to a count
    (`static` counts tile-cycles)."""
    out = {event: counts[event] * float(profile[key]) for event, key in EVENTS.items()}
    out["total"] = sum(out.values())
    return out
