"""Random networks and stimuli for the engine regression (tests/test_regression.py).

One generator, two sources of choices: a seeded `random.Random` (`random_case(mesh, seed)`: the
regression's many seeds, reproducible from the seed alone) and a hypothesis `draw`
(`cases(mesh)`: a strategy, so a failing network shrinks to a minimal one). Both produce a
`neuromesh-network/1` dict (SPEC section 7) for one of the regression's meshes (`MESHES`, small
cores so the Verilator builds stay quick) and a stimulus dict.

What the generator reaches for: fan-in and fan-out across tiles, recurrent projections (a
population onto itself), duplicate synapses, both reset modes, refractory periods, bias-only
firing, storms (populations that fire every tick: bursts of host-bound and mesh traffic), leaky
and integrate-and-fire neurons, negative weights, several weight exponents from one
source onto one core (one axon each), recorded populations on every tile (host-bound traffic),
explicit and automatic placement.

Reproduce a case outside pytest:

    .venv/bin/python tests/netgen.py --mesh 2x2 --seed 17 -o build/case
    .venv/bin/neuromesh run build/case/network.json --stimulus build/case/stimulus.json \
        -o build/case/rtl.json --engine rtl [--seed S --out-ready 0.6 --max-gap 3]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from neuromesh import spec

SMALL = dict(neurons_per_core=16, axons_per_core=32, synapses_per_core=256, routes_per_core=64)
# The regression's meshes. FIFO depths differ on purpose (architecture section 3: depth 1 passes
# one flit every two cycles), so back-pressure inside the mesh is exercised too.
MESHES = {
    "1x1": spec.HwParams(width=1, height=1, fifo_depth=3, **SMALL),
    "2x2": spec.HwParams(width=2, height=2, fifo_depth=2, **SMALL),
    "3x2": spec.HwParams(width=3, height=2, fifo_depth=1, **SMALL),
    "4x4": spec.HwParams(width=4, height=4, fifo_depth=4, **SMALL),
    # SPEC section 1 defaults (256 neurons, 4096 synapses, ...): the full field widths. Only in
    # `make test-long` (its build is the slowest of all).
    "2x2default": spec.HwParams(),
}


# Clock-domain layouts of the regression (docs/architecture.md section 8): a few fixed partitions
# per mesh (each one Verilator build), with periods and phases drawn per case. Each layout is
# the mesh it uses and its domains k >= 1 as inclusive tile rectangles (x0, y0, x1, y1).
LAYOUTS = {
    "2x2-split": ("2x2", [(1, 0, 1, 1)]),                                       # two islands
    "2x2-pertile": ("2x2", [(1, 0, 1, 0), (0, 1, 0, 1), (1, 1, 1, 1)]),          # GALS
    "3x2-pertile": ("3x2", [(x, y, x, y) for y in range(2) for x in range(3) if (x, y) != (0, 0)]),
    "4x4-blocks": ("4x4", [(2, 0, 3, 1), (0, 2, 1, 3), (2, 2, 3, 3)]),          # 2 x 2 chips of 2 x 2
}
# Clock scenarios, one drawn per case: (domain 0's period, the others' periods) in ps, with
# phases drawn from `phases` ("zero": all 0, coincident edges everywhere; "half": 0 or P/2;
# "any": anywhere in [0, P)).
CLOCK_SCENARIOS = {
    "1:1 coincident": (10000, [10000], "zero"),
    "1:1 phases": (10000, [10000], "half"),
    "2:3": (6000, [9000, 4000], "any"),
    "7:5": (7000, [5000], "any"),
    "1:4": (4000, [16000, 1000], "any"),
    "slow host": (20000, [5000], "any"),
    "fast host": (2500, [10000], "any"),
    "random": (None, None, "any"),
}
CLOCK_ORDER = tuple(CLOCK_SCENARIOS)


def random_clocks(layout: str, seed: int) -> tuple[str, spec.Clocks]:
    """(scenario name, spec.Clocks) for a case on `layout`, from the seed alone."""
    rng = random.Random(f"clocks:{layout}:{seed}")
    name = CLOCK_ORDER[seed % len(CLOCK_ORDER)]
    p0, others, phases = CLOCK_SCENARIOS[name]
    if p0 is None:
        p0 = rng.randint(2000, 20000)
    domains = []
    for k, rect in enumerate(LAYOUTS[layout][1]):
        p = others[k % len(others)] if others else rng.randint(2000, 20000)
        phase = 0 if phases == "zero" else rng.choice([0, p // 2]) if phases == "half" else rng.randrange(p)
        domains.append(spec.ClockDomain(rect, p, phase))
    return name, spec.Clocks(p0, tuple(domains)).check(MESHES[LAYOUTS[layout][0]])


class RandomChooser:
    def __init__(self, seed):
        self.rng = random.Random(seed)  # an int or a str (str seeds are stable across runs)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


class DrawChooser:
    """Hypothesis choices: `integer` shrinks towards `lo`, `chance` towards False."""

    def __init__(self, draw):
        from hypothesis import strategies as st
        self.draw, self.st = draw, st

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))

    def chance(self, p: float) -> bool:
        return self.draw(self.st.booleans())


def _neuron_params(ch) -> dict:
    p = {}
    if ch.chance(0.5):          # integrate-and-fire
        p["du"], p["dv"] = 4095, 0
    elif ch.chance(0.15):       # no current decay: u grows until wrap24 wraps it
        p["du"], p["dv"] = 0, ch.integer(0, 4095)
    else:                       # leaky current and voltage
        p["du"], p["dv"] = ch.integer(0, 4095), ch.integer(0, 4095)
    if ch.chance(0.12):         # a storm: fires every tick it is not refractory (host traffic bursts)
        return {"du": 4095, "vth": 0, "bias_mant": ch.integer(64, 400), **({"reset": 1} if ch.chance(0.5) else {})}
    p["vth"] = ch.integer(1, 40) if ch.chance(0.8) else ch.integer(0, (1 << spec.VTH_BITS) - 1)
    if ch.chance(0.3):          # bias: bias-only firing when large enough
        lo, hi = spec.field_range(spec.BIAS_MANT_BITS, True)
        p["bias_mant"] = ch.integer(-300, 600) if ch.chance(0.8) else ch.integer(lo, hi)
        p["bias_exp"] = ch.integer(0, 7)
    if ch.chance(0.4):
        p["refractory"] = ch.integer(1, 15)
    if ch.chance(0.5):
        p["reset"] = 1
    return {k: v for k, v in p.items() if v}


def network(ch, params: spec.HwParams, name: str = "random") -> tuple[dict, dict]:
    """(network dict, stimulus dict) drawn from `ch`."""
    n_core, tiles = params.neurons_per_core, params.n_tiles
    pops = []
    for i in range(ch.integer(1, 2)):
        pops.append({"name": f"in{i}", "kind": "input", "size": ch.integer(1, 6)})
    room = max(1, (n_core * tiles * 3) // 4)
    for i in range(ch.integer(1, 4)):
        size = ch.integer(1, max(1, min(n_core, room, 12)))
        room = max(1, room - size)
        pop = {"name": f"p{i}", "kind": "lif", "size": size, **_neuron_params(ch)}
        if ch.chance(0.85):
            pop["record"] = True
        if ch.chance(0.3) and size <= n_core // 2:
            pop["placement"] = [ch.integer(0, params.width - 1), ch.integer(0, params.height - 1)]
        pops.append(pop)
    lifs = [p for p in pops if p["kind"] == "lif"]
    projections = []
    for pre in pops:
        for post in lifs:
            # the first input always drives the first lif population, so most cases have traffic
            forced = pre is pops[0] and post is lifs[0]
            if not forced and not ch.chance(0.45 if pre is not post else 0.25):
                continue
            syn = []
            n_syn = ch.integer(1, min(24, pre["size"] * post["size"] + 2))
            for _ in range(n_syn):
                w = ch.integer(1, 127) if ch.chance(0.8) else ch.integer(-128, -1)
                syn.append([ch.integer(0, pre["size"] - 1), ch.integer(0, post["size"] - 1), w])
            proj = {"pre": pre["name"], "post": post["name"], "synapses": syn}
            wexp = ch.integer(0, 3) if ch.chance(0.6) else 0
            if wexp:
                proj["weight_exp"] = wexp
            projections.append(proj)
    net = {"format": "neuromesh-network/1", "description": f"netgen {name}",
           "hardware": params.to_dict(), "populations": pops, "projections": projections}
    ticks = ch.integer(1, 12) if ch.chance(0.8) else ch.integer(13, 30)
    rate = ch.integer(1, 6) / 10
    spikes = {}
    for p in pops:
        if p["kind"] != "input":
            continue
        events = [[t, i] for t in range(1, ticks + 1) for i in range(p["size"]) if ch.chance(rate)]
        if events:
            spikes[p["name"]] = events
    return net, {"ticks": ticks, "spikes": spikes}


def compile_case(net: dict, stim: dict):
    """(Compiled, tick_inputs) through the real firmware path; raises NeuroMeshError if the
    network does not fit the mesh."""
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import parse_network, parse_stimulus
    from neuromesh.result import tick_inputs
    network_ = parse_network(net)
    stimulus = parse_stimulus(stim, network_)
    compiled = compile_network(network_)
    return compiled, tick_inputs(stimulus.spikes, compiled.map["inputs"], stimulus.ticks)


def random_case(mesh: str, seed: int) -> tuple[dict, dict]:
    """A network that fits `MESHES[mesh]`, from `seed` alone (a draw that does not fit is
    redrawn from the next sub-seed, deterministically)."""
    params = MESHES[mesh]
    for attempt in range(50):
        net, stim = network(RandomChooser(f"{mesh}:{seed}:{attempt}"), params, f"{mesh} seed {seed}")
        try:
            compile_case(net, stim)
        except spec.NeuroMeshError:
            continue
        return net, stim
    raise RuntimeError(f"netgen: no network fits {mesh} for seed {seed}")


def _draw_case(draw, mesh: str) -> tuple[dict, dict]:
    return network(DrawChooser(draw), MESHES[mesh], f"{mesh} hypothesis")


def cases(mesh: str):
    """A hypothesis strategy of (network, stimulus) dicts that fit `MESHES[mesh]`."""
    from hypothesis import strategies as st

    def fits(case):
        try:
            compile_case(*case)
        except spec.NeuroMeshError:
            return False
        return True
    return st.composite(_draw_case)(mesh).filter(fits)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="write a netgen network and stimulus")
    ap.add_argument("--mesh", choices=sorted(MESHES), required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("-o", "--out", required=True, help="folder for network.json, stimulus.json")
    args = ap.parse_args(argv)
    net, stim = random_case(args.mesh, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "network.json").write_text(json.dumps(net, indent=1) + "\n")
    (out / "stimulus.json").write_text(json.dumps(stim, indent=1) + "\n")
    print(f"wrote {out / 'network.json'} and {out / 'stimulus.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
