"""The functional engine (`--engine functional`): tick-exact, no cycles (SPEC section 9).

`run` / `run_many` run a compiled image (one stimulus / many at once); `run_stimuli` returns the
result dicts of many stimuli; `spike_rasters` turns runs into boolean rasters (workloads);
`load_tables` decodes one image for many runs. docs/scale.md gives the contract and its limits.
"""
from .engine import run, run_many, run_stimuli, spike_rasters
from .tables import Tables, load_tables

__all__ = ["run", "run_many", "run_stimuli", "spike_rasters", "Tables", "load_tables"]
