"""Deliberately broken routers, to show that the properties catch real bugs (a proof that
cannot fail proves nothing).

A mutant is `hw/router.py`'s own source with one small edit, compiled into a module of its
own; the real module is untouched. If `hw/router.py` changes so that an edit no longer
applies, `mutant_router` says so instead of silently testing the unmutated router (the edit is
`tools/mutants/edit.py`'s, which `make mutants` also uses on whole files).
"""
from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass

from neuromesh.tools.mutants.edit import EditError, apply_once


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    old: str
    new: str
    caught_by: str          # the property expected to fail on it


MUTANTS = {mu.name: mu for mu in (
    Mutant("dropped_pop", "a forwarded flit is never popped from its input FIFO (sent again and again)",
           "m.d.comb += q.r.ready.eq(bad | pop[i])", "m.d.comb += q.r.ready.eq(bad)",
           "conservation"),
    Mutant("rr_reset", "round-robin pointers reset to the port after spec.RR_RESET",
           "init=RR_RESET", "init=(RR_RESET + 1) % N_PORTS", "arbitration"),
    Mutant("rr_reversed", "round robin scans the inputs downwards (rr-1, rr-2, ...)",
           "order = [(r + k) % N_PORTS for k in range(1, N_PORTS + 1)]",
           "order = [(r - k) % N_PORTS for k in range(1, N_PORTS + 1)]", "arbitration"),
    Mutant("grant_not_held", "an output re-arbitrates while it waits for ready (its payload changes "
           "before a transfer: docs/formal.md, Findings 1)",
           "m.d.sync += [stalled.eq(any_req & ~out.ready), held.eq(grant)]",
           "m.d.sync += [stalled.eq(0), held.eq(grant)]", "stream_payload"),
    Mutant("rr_frozen", "round-robin pointers never move (fixed priority: an input can starve)",
           "m.d.sync += [rr.eq(grant), counters[o].eq(counters[o] + 1)]",
           "m.d.sync += [rr.eq(rr), counters[o].eq(counters[o] + 1)]", "fairness"),
    Mutant("east_goes_north", "flits for a tile further east leave north",
           "m.d.comb += port.eq(spec.EAST)", "m.d.comb += port.eq(spec.NORTH)", "routing"),
    Mutant("height_off_by_one", "a flit for row y = height (outside the mesh) is not refused",
           "(incoming.y >= p.height)", "(incoming.y > p.height)", "routing"),
    Mutant("errors_once_per_cycle", "two refusals in one cycle count as one error",
           "errors.eq(errors + sum(refused))", "errors.eq(errors + _any(refused))", "counters"),
)}


class MutantError(Exception):
    pass


def mutant_router(name: str):
    """The `Router` class of `hw/router.py` with mutant `name`'s edit applied."""
    if name not in MUTANTS:
        raise MutantError(f"unknown mutant {name!r} (known: {', '.join(MUTANTS)})")
    mutant = MUTANTS[name]
    return edited_module("neuromesh.hw.router", mutant.old, mutant.new, name).Router


def edited_module(module: str, old: str, new: str, label: str):
    """Module `module` with the one occurrence of `old` in its source replaced by `new`,
    compiled as a fresh module (the original stays as it is). Any RTL module will do: the
    asynchronous link's mutants can use it too."""
    path = importlib.util.find_spec(module).origin
    with open(path) as f:
        source = f.read()
    try:
        edited = apply_once(source, old, new, f"mutant {label} of {path}")
    except EditError as e:
        raise MutantError(f"{e}; update tools/formal/mutants.py to the source as it is now") from None
    mutated = types.ModuleType(f"{module}__mutant_{label}")
    mutated.__file__ = path
    sys.modules[mutated.__name__] = mutated
    exec(compile(edited, path, "exec"), mutated.__dict__)
    return mutated
