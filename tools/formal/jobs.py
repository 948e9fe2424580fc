"""What `make formal` runs: router and link configurations x properties, with the mode and depth
of each. Link configurations (`LinkConfig`) run over two clocks (`multiclock on`).

- `prove`: sby's k-induction with `depth` = PROVE_DEPTH: a base case of that many cycles from
  reset (bounded model checking), and an induction step over windows of up to that many cycles
  from any state satisfying the checks and lemmas. Every property here closes with a window of
  one cycle (the report shows the k found), so a pass is a proof for all time, not a bound.
- `bmc`: the checks alone (no lemmas) for MUTANT_DEPTH cycles from reset (a link:
  LINK_MUTANT_DEPTH steps, `latency` to `LinkConfig.deep`); used for mutants, whose
  counterexample should show the port property that breaks.
- `cover`: every property's covers, to show the checks are not vacuous.

A property expected to fail on the router as it stands is in `KNOWN_FAILURES`, with the reason:
the run counts as expected only if it does fail with a counterexample from reset, so a fix shows
up as "not as expected" and this table and docs/formal.md get updated together. Against a
mutant, the property named in `mutants.MUTANTS` must fail; the others are run for information.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from neuromesh import spec

from .link_properties import LINK_PROPERTIES, latency_bounds
from .mutants import MUTANTS
from .properties import PROPERTIES


@dataclass(frozen=True)
class Config:
    """One router, at tile (x, y) of a width x height mesh, with input FIFOs of `depth`."""
    name: str
    width: int
    height: int
    x: int
    y: int
    depth: int
    kind: ClassVar[str] = "router"
    multiclock: ClassVar[bool] = False

    @property
    def params(self) -> spec.HwParams:
        return spec.HwParams(width=self.width, height=self.height, fifo_depth=self.depth)

    def describe(self) -> str:
        return f"({self.x}, {self.y}) of {self.width}x{self.height}, FIFO depth {self.depth}"


def _configs():
    side_x, side_y = spec.LIMITS["width"][1], spec.LIMITS["height"][1]
    default_depth = spec.LIMITS["fifo_depth"][2]
    places = {
        "corner": (3, 3, 0, 0),                      # the host corner: west output is spike_out
        "edge": (3, 3, 2, 1),                        # east edge: nothing routes east
        "interior": (3, 3, 1, 1),
        "far": (side_x, side_y, side_x - 1, side_y - 1),   # largest mesh: full-width coordinates
    }
    out = [Config(f"{place}-d{depth}", w, h, x, y, depth)
           for place, (w, h, x, y) in places.items() for depth in (1, 2)]
    out.append(Config("interior-d3", 3, 3, 1, 1, 3))                 # not a power of two
    out.append(Config(f"interior-d{default_depth}", 3, 3, 1, 1, default_depth))   # SPEC default
    return out


@dataclass(frozen=True)
class LinkConfig:
    """One asynchronous link from domain a (sender) to domain b (receiver). Clocks are free;
    where a property needs them to keep toggling (`latency`, the cover job), clock a rises at
    least once every `gap_a` solver steps and clock b every `gap_b` (so each clock's period is
    anything from 2 steps to its gap, and may change from one cycle to the next)."""
    name: str
    gap_a: int
    gap_b: int
    only: tuple = ()            # run only these properties (and the cover); () = all
    kind: ClassVar[str] = "link"
    multiclock: ClassVar[bool] = True

    def describe(self) -> str:
        return f"clock a rises every <= {self.gap_a} steps, clock b every <= {self.gap_b}"

    @property
    def deep(self) -> int:
        """Steps from reset to the end of the slowest handshake: the first clock rises, a flit
        is taken, and the sender is ready again at the latency bound."""
        return latency_bounds(self.gap_a, self.gap_b)[2] + self.gap_a + self.gap_b + 4


CONFIGS = {c.name: c for c in _configs()}
LINK_CONFIGS = {c.name: c for c in (
    LinkConfig("link", 4, 4),                                   # periods 2..4 steps on both sides
    LinkConfig("link-fast-sender", 2, 5, only=("latency",)),    # the latency bound, each way
    LinkConfig("link-slow-sender", 5, 2, only=("latency",)),
)}
ALL_CONFIGS = {**CONFIGS, **LINK_CONFIGS}
QUICK_CONFIGS = ("interior-d2", "link")

PROVE_DEPTH = 8
MUTANT_DEPTH = 12       # a starved input needs five transfers to others after its flit arrives
COVER_DEPTH = 12
LINK_PROVE_DEPTH = 12   # every link property closes by 1-induction; the base case is a bonus
# Link mutants: bounded model checking of the checks alone. `latency` runs to the end of the
# slowest handshake (`LinkConfig.deep`); the other properties' counterexamples on the planted
# link mutants take at most 19 steps, and BMC of `order` costs 10 s at 16 steps, 80 s at 24
# and minutes beyond, so they stop at 24 steps.
LINK_MUTANT_DEPTH = 24

KNOWN_FAILURES: dict = {}       # property -> why it fails on the router as it stands (none now)
LINK_KNOWN_FAILURES: dict = {}  # the same for the link (none)


def properties_of(config) -> dict:
    return LINK_PROPERTIES if config.kind == "link" else PROPERTIES


def known_failures(kind: str) -> dict:
    return LINK_KNOWN_FAILURES if kind == "link" else KNOWN_FAILURES


@dataclass(frozen=True)
class Job:
    config: Config | LinkConfig
    prop: str                   # a key of PROPERTIES, or "cover"
    mode: str                   # prove | bmc | cover
    depth: int
    mutant: str | None = None
    free_inputs: bool = False   # drop the upstream stream rule: inputs change at will

    @property
    def name(self) -> str:
        suffix = (f"-mutant-{self.mutant}" if self.mutant else "") + ("-free-inputs" if self.free_inputs else "")
        return f"{self.config.name}/{self.prop}{suffix}"

    @property
    def expect(self) -> str:
        """"pass"; "fail" (a known failure, or the property that should catch this mutant); or
        "any" (another property run against a mutant: reported, not judged)."""
        if self.mutant:
            return "fail" if self.prop == MUTANTS[self.mutant].caught_by else "any"
        return "fail" if self.prop in known_failures(self.config.kind) else "pass"


def plan(configs=None, properties=None, covers: bool = True, mutant: str | None = None,
         free_inputs: bool = False) -> list[Job]:
    """Jobs for the named configurations (default: all, or those a mutant's design has),
    each with the named properties it has (default: all of its kind)."""
    kind = MUTANTS[mutant].kind if mutant else None
    names = [n for n in (configs or ALL_CONFIGS) if kind in (None, ALL_CONFIGS[n].kind)]
    jobs = []
    for name in names:
        config = ALL_CONFIGS[name]
        link = config.kind == "link"
        table = properties_of(config)
        chosen = [p for p in (properties or table) if p in table and not (link and config.only and p not in config.only)]
        free = free_inputs and not link         # only the router's inputs can be set free
        for prop in chosen:
            if mutant:
                depth = (config.deep if prop == "latency" else LINK_MUTANT_DEPTH) if link else MUTANT_DEPTH
                jobs.append(Job(config, prop, "bmc", depth, mutant, free))
            else:
                jobs.append(Job(config, prop, "prove", LINK_PROVE_DEPTH if link else PROVE_DEPTH, None, free))
        if covers and mutant is None:
            jobs.append(Job(config, "cover", "cover", config.deep if link else COVER_DEPTH, None, free))
    return jobs
