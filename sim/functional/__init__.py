"""The functional engine (`--engine functional`): tick-exact, no cycles (SPEC section 9).

`engine.run` / `engine.run_many` run a compiled image; `tables.load_tables` decodes one image
for many runs. docs/scale.md gives the contract and its limits.
"""
from .engine import run, run_many
from .tables import Tables, load_tables

__all__ = ["run", "run_many", "Tables", "load_tables"]
