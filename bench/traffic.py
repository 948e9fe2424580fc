"""Uniform random traffic on the golden model's router mesh, BookSim style: every tile injects
a single-flit packet with probability `load` per cycle (Bernoulli) into an unbounded source
queue in front of its local input FIFO; destinations are uniform over the other tiles; local
outputs eject into always-ready sinks. The SimPy clock steps one cycle at a time (a loaded
mesh is never idle), only FIFOs that hold a flit cost work.

Speed = router-to-router link crossings (flit-hops) per second of the process's CPU time.
"""
from __future__ import annotations

import time

import numpy as np
import simpy

from neuromesh import spec
from neuromesh.sim.mesh import TrafficMesh


def uniform_random(width=8, height=8, load=0.1, cycles=2000, fifo_depth=4, seed=1) -> dict:
    params = spec.HwParams(width=width, height=height, fifo_depth=fifo_depth)
    mesh = TrafficMesh(params)
    n = params.n_tiles
    rng = np.random.default_rng(seed)
    fire = rng.random((cycles, n)) < load
    dest = rng.integers(0, n - 1, size=(cycles, n))
    dest = dest + (dest >= np.arange(n))           # uniform over the other tiles
    tiles = list(params.tiles())
    flits = [spec.pack_flit(0, x, y) for x, y in tiles]
    events = [[(tiles[s], flits[int(dest[k, s])]) for s in np.flatnonzero(fire[k])] for k in range(cycles)]
    env = simpy.Environment()
    state = {"end": None}

    def clock(env):
        k = 0
        while k < cycles or not mesh.idle:
            if k < cycles:
                for (x, y), flit in events[k]:
                    mesh.inject(x, y, flit)
            mesh.cycle(k)
            k += 1
            yield env.timeout(1)
        state["end"] = k

    env.process(clock(env))
    t0, w0 = time.process_time(), time.perf_counter()
    env.run()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    hops = mesh.link_hops()
    traversals = sum(sum(r.counters()[:5]) for r in mesh.routers)
    offered = int(fire.sum())
    return {
        "name": f"uniform {width}x{height} load {load:.0%}",
        "mesh": [width, height], "load": load, "fifo_depth": fifo_depth, "inject_cycles": cycles,
        "cycles": state["end"], "flits": offered, "delivered": mesh.sunk,
        "flit_hops": hops, "router_traversals": traversals, "cpu_s": cpu, "wall_s": wall,
        "flit_hops_per_s": hops / cpu, "cycles_per_s": state["end"] / cpu,
    }


if __name__ == "__main__":
    for load in (0.1, 0.3):
        r = uniform_random(load=load)
        print(f"{r['name']}: {r['flit_hops_per_s']:,.0f} flit-hops/s, {r['cycles_per_s']:,.0f} cycles/s "
              f"({r['flit_hops']} hops, {r['cycles']} cycles, {r['cpu_s']:.2f} s CPU)")
