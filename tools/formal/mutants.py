"""Deliberately broken routers and asynchronous links, to show that the properties catch real
bugs (a proof that cannot fail proves nothing).

A mutant is `hw/router.py`'s (or `hw/async_link.py`'s) own source with one small edit, compiled
into a module of its own; the real module is untouched. If the source changes so that an edit
no longer applies, `mutant_router` / `mutant_link` says so instead of silently testing the
unmutated design (the edit is `tools/mutants/edit.py`'s, which `make mutants` also uses on
whole files).
"""
from __future__ import annotations

import importlib.util
import sys
import types
from dataclasses import dataclass

from neuromesh.tools.mutants.edit import EditError, apply_once


ROUTER = "neuromesh.hw.router"
LINK = "neuromesh.hw.async_link"


@dataclass(frozen=True)
class Mutant:
    name: str
    bug: str
    old: str
    new: str
    caught_by: str          # the property expected to fail on it
    module: str = ROUTER    # the RTL module it edits

    @property
    def kind(self) -> str:
        """"router" or "link": which harness (and which configurations) it runs in."""
        return "link" if self.module == LINK else "router"


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
           "m.d.sync += [rr.eq(_index(grant)), counters[o].eq(counters[o] + 1)]",
           "m.d.sync += [rr.eq(rr), counters[o].eq(counters[o] + 1)]", "fairness"),
    Mutant("east_goes_north", "flits for a tile further east leave north",
           "m.d.comb += port.eq(1 << spec.EAST)", "m.d.comb += port.eq(1 << spec.NORTH)", "routing"),
    Mutant("height_off_by_one", "a flit for row y = height (outside the mesh) is not refused",
           "(incoming.y >= p.height)", "(incoming.y > p.height)", "routing"),
    Mutant("errors_once_per_cycle", "two refusals in one cycle count as one error",
           "errors.eq(errors + sum(refused))", "errors.eq(errors + _any(refused))", "counters"),
    # The asynchronous link (hw/async_link.py).
    Mutant("ready_ignores_ack", "the sender takes the next flit once req is low, without waiting "
           "for ack low (data reloaded while the receiver may still look at it)",
           "self.i.ready.eq(~req & ~ack_s)", "self.i.ready.eq(~req)", "handshake", LINK),
    Mutant("data_always_loaded", "data loads the upstream payload in every sender cycle, not only "
           "on a transfer (bundled data not held while req is high)",
           "src += [data.eq(self.i.payload), req.eq(1)]",
           "src += req.eq(1)\n        src += data.eq(self.i.payload)", "stream", LINK),
    Mutant("valid_ignores_ack", "the receiver offers the flit while req_s is high, without ~ack "
           "(it is written again until req_s falls)",
           "self.o.valid.eq(req_s & ~ack)", "self.o.valid.eq(req_s)", "conservation", LINK),
    Mutant("ack_falls_early", "ack clears in the cycle after it rose, without waiting for req_s low",
           "with m.If(~req_s & ack):", "with m.If(ack):", "handshake", LINK),
    Mutant("ack_without_ready", "ack rises when the receiver offers the flit, ready or not (a full "
           "receiver drops it)",
           "transfer.eq(self.o.valid & self.o.ready)", "transfer.eq(self.o.valid)", "backpressure", LINK),
    Mutant("ack_never_cleared", "ack never falls: the sender is never ready again (deadlock)",
           "with m.If(~req_s & ack):\n            dst += ack.eq(0)",
           "with m.If(~req_s & ack):\n            pass", "latency", LINK),
    Mutant("req_one_stage", "req crosses through one receiver flip-flop instead of two (a "
           "synchronizer stage dropped)",
           "m.submodules.req_sync = FFSynchronizer(req, req_s, o_domain=self.dst, stages=2, reset_less=False)",
           "m.d[self.dst] += req_s.eq(req)", "timing", LINK),
    Mutant("req_unsynchronized", "req reaches the receiver through a wire, no flip-flop of its own "
           "domain (a combinational crossing)",
           "m.submodules.req_sync = FFSynchronizer(req, req_s, o_domain=self.dst, stages=2, reset_less=False)",
           "m.d.comb += req_s.eq(req)", "stream", LINK),
)}


class MutantError(Exception):
    pass


def mutant_router(name: str):
    """The `Router` class of `hw/router.py` with mutant `name`'s edit applied."""
    return _mutant_class(name, "router", "Router")


def mutant_link(name: str):
    """The `AsyncLink` class of `hw/async_link.py` with mutant `name`'s edit applied."""
    return _mutant_class(name, "link", "AsyncLink")


def mutant_class(name: str):
    """The mutated `Router` or `AsyncLink`, whichever module mutant `name` edits."""
    if name not in MUTANTS:
        raise MutantError(f"unknown mutant {name!r} (known: {', '.join(MUTANTS)})")
    return mutant_link(name) if MUTANTS[name].kind == "link" else mutant_router(name)


def _mutant_class(name: str, kind: str, cls: str):
    if name not in MUTANTS:
        raise MutantError(f"unknown mutant {name!r} (known: {', '.join(MUTANTS)})")
    mutant = MUTANTS[name]
    if mutant.kind != kind:
        raise MutantError(f"mutant {name} edits {mutant.module}, not the {kind}")
    return getattr(edited_module(mutant.module, mutant.old, mutant.new, name), cls)


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
