"""The fit search: the largest mesh and core sizes that fit a part, from yosys's resource counts.

Synthesising every candidate chip whole would take hours (a 4 x 4 chip is ten minutes of yosys
alone), so the search prices a chip from parts that yosys does count:

    chip(W, H, core) = fabric(W, H) + W * H * core(core)

- `core(c)`: the neuron core alone (module `neuron_core`), synthesised for each core size the
  search visits (block RAMs, multipliers and most of the logic live there);
- `fabric(W, H) = a + b * tiles + c * links`: routers, FIFOs, the configuration decoder and the
  chip top (and, for a part built behind the UART bridge, the bridge): what a whole chip costs
  beyond its cores, fitted exactly (per resource) to three chips built with a small probe core,
  1 x 1, 2 x 1 and 2 x 2 (links: directed tile-to-tile links, 0, 2 and 8).

A chip fits when its block RAMs and multipliers are at most the part's and its logic estimate
at most `Target.logic_margin` of the part's (placement needs room). Sizes follow the SPEC
default's proportions, axons = neurons and routes = 2 x neurons; for each mesh the search
finds the most neurons per core with 8 synapse entries per neuron, then the most synapse entries
at that many neurons. The answer is an estimate until placed and routed: `--fit` then places
and routes the headline configuration (the most neurons in all, then the most synapse entries,
then the most tiles) to confirm it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from neuromesh import spec

from . import flow

NEURON_LADDER = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
MESH_LADDER = ((1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (4, 3), (4, 4), (5, 4), (5, 5), (6, 5), (6, 6),
               (7, 7), (8, 8), (10, 10), (12, 12), (16, 16))
PROBE = dict(neurons_per_core=16, axons_per_core=16, synapses_per_core=16, routes_per_core=16)
COSTED = ("logic", "luts", "carries", "ffs", "brams", "mults", "lutrams", "sprams")


def links(w: int, h: int) -> int:
    """Directed links between neighbouring tiles."""
    return 2 * ((w - 1) * h + w * (h - 1))


def core_params(n: int, s: int | None = None, fifo_depth: int = 4) -> spec.HwParams:
    lim = spec.LIMITS
    return spec.HwParams(width=1, height=1, neurons_per_core=n, axons_per_core=min(n, lim["axons_per_core"][1]),
                         synapses_per_core=min(s or 8 * n, lim["synapses_per_core"][1]),
                         routes_per_core=min(2 * n, lim["routes_per_core"][1]), fifo_depth=fifo_depth)


@dataclass
class Model:
    target: object
    work: Path
    fifo_depth: int
    progress: object = print

    def __post_init__(self):
        self._cores = {}
        self._fabric = None

    # -- the parts yosys counts ---------------------------------------------------------------------
    def core(self, params: spec.HwParams) -> dict:
        key = (params.neurons_per_core, params.axons_per_core, params.synapses_per_core, params.routes_per_core)
        if key not in self._cores:
            top, text = flow.core_verilog(params)
            self.progress(f"core {params.neurons_per_core}/{params.axons_per_core}/{params.synapses_per_core}/"
                          f"{params.routes_per_core}")
            self._cores[key] = flow.counts_only(self.target, top, text, self.work / f"core_{params.key()}",
                                                progress=self.progress)
        return self._cores[key]

    def fabric(self) -> dict:
        """Per resource (a, b, c) of fabric = a + b * tiles + c * links."""
        if self._fabric is None:
            probe_core = self.core(spec.HwParams(width=1, height=1, fifo_depth=self.fifo_depth, **PROBE))
            rows = []
            for w, h in ((1, 1), (2, 1), (2, 2)):
                params = spec.HwParams(width=w, height=h, fifo_depth=self.fifo_depth, **PROBE)
                top, text = flow.verilog(self.target, params)
                self.progress(f"probe chip {w}x{h}")
                chip = flow.counts_only(self.target, top, text, self.work / f"probe_{params.key()}",
                                        progress=self.progress)
                rows.append((w * h, links(w, h), {k: chip[k] - w * h * probe_core[k] for k in COSTED}))
            (t1, l1, f1), (t2, l2, f2), (t3, l3, f3) = rows
            coef = {}
            for k in COSTED:
                # f = a + b t + c l with (t, l) = (1, 0), (2, 2), (4, 8)
                c = ((f3[k] - f1[k]) - 3 * (f2[k] - f1[k])) / (l3 - 3 * l2)
                b = (f2[k] - f1[k]) - c * l2
                a = f1[k] - b
                coef[k] = (a, b, c)
            self._fabric = coef
        return self._fabric

    # -- prices ---------------------------------------------------------------------------------------
    def chip(self, w: int, h: int, core: spec.HwParams) -> dict:
        c = self.core(core)
        out = {}
        for k, (a, b, cl) in self.fabric().items():
            out[k] = round(a + b * w * h + cl * links(w, h) + w * h * c[k])
        return out

    def fits(self, usage: dict) -> bool:
        cap = self.target.capacity
        return (usage["brams"] <= cap["brams"] and usage["mults"] <= cap["mults"]
                and usage["logic"] <= self.target.logic_margin * cap["logic"])


def search(target, work: Path, fifo_depth: int | None = None, progress=print) -> dict:
    """For each mesh of MESH_LADDER (in order, until nothing fits): the most neurons per core
    (S = 8 N), then the most synapse entries at that N; and the largest mesh for the SPEC
    default core and for the target's default. Returns the table and the headline."""
    depth = fifo_depth or target.default.fifo_depth
    model = Model(target, Path(work), depth, progress)
    model.fabric()
    rows = []
    for w, h in MESH_LADDER:
        if w * h > spec.RTL_MAX_TILES:
            break
        best = None
        for n in NEURON_LADDER:          # usage grows with n: stop at the first that does not fit
            core = core_params(n, fifo_depth=depth)
            if not model.fits(model.chip(w, h, core)):
                break
            best = n
        if best is None:
            break
        s = core_params(best, fifo_depth=depth).synapses_per_core
        while 2 * s <= spec.LIMITS["synapses_per_core"][1]:
            if not model.fits(model.chip(w, h, core_params(best, 2 * s, depth))):
                break
            s *= 2
        core = core_params(best, s, depth)
        usage = model.chip(w, h, core)
        rows.append({"mesh": [w, h], "params": spec.HwParams(**{**core.to_dict(), "width": w, "height": h}).to_dict(),
                     "usage": usage})
        progress(f"{w}x{h}: {best} neurons, {s} synapse entries per core")
    largest = {}
    for label, core in (("spec_default", spec.HwParams()), ("target_default", target.default)):
        one = spec.HwParams(**{**core.to_dict(), "width": 1, "height": 1, "fifo_depth": depth})
        fit = [m for m in MESH_LADDER if m[0] * m[1] <= spec.RTL_MAX_TILES and model.fits(model.chip(*m, one))]
        largest[label] = {"core": core.to_dict(), "mesh": list(fit[-1]) if fit else None,
                          "usage": model.chip(*fit[-1], one) if fit else None}
    def total(r):        # most neurons in all, then most synapse entries, then most tiles
        q = r["params"]
        tiles = q["width"] * q["height"]
        return tiles * q["neurons_per_core"], tiles * q["synapses_per_core"], tiles
    headline = max(rows, key=total) if rows else None
    return {"target": target.name, "capacity": target.capacity, "logic_margin": target.logic_margin,
            "fabric": {k: [round(x, 2) for x in v] for k, v in model.fabric().items()},
            "rows": rows, "largest_mesh": largest, "headline": headline}


def write(result: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit.json").write_text(json.dumps(result, indent=1) + "\n")
