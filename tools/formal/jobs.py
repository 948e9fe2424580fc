"""What `make formal` runs: router configurations x properties, with the mode and depth of each.

- `prove`: sby's k-induction with `depth` = PROVE_DEPTH: a base case of that many cycles from
  reset (bounded model checking), and an induction step over windows of up to that many cycles
  from any state satisfying the checks and lemmas. Every property here closes with a window of
  one cycle (the report shows the k found), so a pass is a proof for all time, not a bound.
- `bmc`: the checks alone (no lemmas) for MUTANT_DEPTH cycles from reset; used for mutants,
  whose counterexample should show the port property that breaks.
- `cover`: every property's covers, to show the checks are not vacuous.

A property expected to fail on the router as it stands is in `KNOWN_FAILURES`, with the reason:
the run counts as expected only if it does fail with a counterexample from reset, so a fix shows
up as "not as expected" and this table and docs/formal.md get updated together. Against a
mutant, the property named in `mutants.MUTANTS` must fail; the others are run for information.
"""
from __future__ import annotations

from dataclasses import dataclass

from neuromesh import spec

from .mutants import MUTANTS
from .properties import PROPERTIES


@dataclass(frozen=True)
class Config:
    name: str
    width: int
    height: int
    x: int
    y: int
    depth: int

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


CONFIGS = {c.name: c for c in _configs()}
QUICK_CONFIGS = ("interior-d2",)

PROVE_DEPTH = 8
MUTANT_DEPTH = 12       # a starved input needs five transfers to others after its flit arrives
COVER_DEPTH = 12

KNOWN_FAILURES: dict = {}   # property -> why it fails on the router as it stands (none now)


@dataclass(frozen=True)
class Job:
    config: Config
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
        return "fail" if self.prop in KNOWN_FAILURES else "pass"


def plan(configs=None, properties=None, covers: bool = True, mutant: str | None = None,
         free_inputs: bool = False) -> list[Job]:
    jobs = []
    for name in configs or CONFIGS:
        config = CONFIGS[name]
        for prop in properties or PROPERTIES:
            if mutant:
                jobs.append(Job(config, prop, "bmc", MUTANT_DEPTH, mutant, free_inputs))
            else:
                jobs.append(Job(config, prop, "prove", PROVE_DEPTH, None, free_inputs))
        if covers and mutant is None:
            jobs.append(Job(config, "cover", "cover", COVER_DEPTH, None, free_inputs))
    return jobs
