"""The Router (hw/router.py) under Verilator: tests/tb_router.py, built for FIFO depths 1-4 at
(1, 1) of a 3x3 mesh (all five outputs have a neighbour; x = 3 or y = 3 lies outside the mesh),
and at (0, 0) of a 2x1 mesh (host-bound flits leave west).
"""
import json

import pytest

from neuromesh import spec

pytestmark = [pytest.mark.rtl, pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")]


@pytest.mark.parametrize("width,height,x,y,depth", [
    (3, 3, 1, 1, 1), (3, 3, 1, 1, 2), (3, 3, 1, 1, 3), (3, 3, 1, 1, 4),
    (2, 1, 0, 0, 2),                     # the host corner: west is spike_out
])
def test_router(width, height, x, y, depth, tmp_path):
    from neuromesh.hw.router import Router
    from neuromesh.tools.cosim import simulator
    params = spec.HwParams(width=width, height=height, neurons_per_core=16, axons_per_core=16,
                           synapses_per_core=16, routes_per_core=16, fifo_depth=depth)
    router = Router(params, x, y)
    runner, build_dir = simulator.build(simulator.verilog_of(router, "router"), "router",
                                     label=f"router-{width}x{height}-{x}{y}-d{depth}")
    cfg = dict(params.to_dict(), x=x, y=y)
    tests, failed, _ = simulator.run_tests(runner, build_dir, "router", "tb_router",
                                        extra_env={"NM_ROUTER": json.dumps(cfg)}, test_dir=tmp_path)
    assert tests == 4 and failed == 0


def test_router_ports_match_spec_layouts():
    from amaranth.lib import stream
    from neuromesh.hw.router import Router
    params = spec.HwParams(width=3, height=2)
    r = Router(params, 2, 1)
    for p in range(spec.N_PORTS):
        assert r.inputs[p].payload.shape() == spec.flit_layout()
        assert r.outputs[p].payload.shape() == spec.flit_layout()
    with pytest.raises(spec.ConfigError):
        Router(params, 3, 0)
    with pytest.raises(spec.ConfigError):
        Router(params, 0, 2)


def _traced_turns(width, height):
    """Every (tile, input, output) that a flit makes on its XY path through a width x height
    mesh, from every source (each tile's core; `spike_in`, the west input of (0, 0)) to every
    destination (each tile; the host), walked with spec.route_port alone."""
    seen = set()
    dests = [spec.pack_flit(0, x, y) for x in range(width) for y in range(height)]
    dests += [spec.pack_flit(0, x, y, host=1) for x in range(width) for y in range(height)]
    sources = [((x, y), spec.LOCAL) for x in range(width) for y in range(height)] + [((0, 0), spec.WEST)]
    for (x, y), port in sources:
        for word in dests:
            at, inp = (x, y), port
            while True:
                out = spec.route_port(*at, word)
                seen.add((at, inp, out))
                if out == spec.LOCAL:
                    break
                dx, dy = spec.PORT_DELTA[out]
                nxt = (at[0] + dx, at[1] + dy)
                if not (0 <= nxt[0] < width and 0 <= nxt[1] < height):
                    assert (at, out) == ((0, 0), spec.WEST) and spec.unpack_flit(word)["host"]
                    break
                at, inp = nxt, spec.OPPOSITE[out]
    return seen


@pytest.mark.parametrize("width,height", [(1, 1), (2, 2), (3, 2), (1, 4), (4, 1), (4, 4), (5, 3)])
def test_xy_turns_are_exactly_the_turns_paths_make(width, height):
    """`xy_turns` (the requests a router in a mesh builds) holds every turn of every path, so
    no flit waits for a request that is not there, and, on the ports a tile has, no more."""
    from neuromesh.hw.router import xy_turns
    seen = _traced_turns(width, height)
    for x in range(width):
        for y in range(height):
            def exists(p):
                if p == spec.LOCAL or (p == spec.WEST and (x, y) == (0, 0)):
                    return True
                dx, dy = spec.PORT_DELTA[p]
                return 0 <= x + dx < width and 0 <= y + dy < height
            turns = xy_turns(x, y)
            made = {(i, o) for at, i, o in seen if at == (x, y)}
            assert made <= turns, (x, y, made - turns)
            assert made == {(i, o) for i, o in turns if exists(i) and exists(o)}, (x, y)
    if width > 2 and height > 2:   # an interior router builds 17 of the 25 requests
        assert len(xy_turns(1, 1)) == 17


@pytest.mark.parametrize("x,y", [(1, 1), (0, 0), (0, 1), (2, 2)])
def test_router_with_xy_turns_acts_as_the_full_router(x, y):
    """On traffic that XY routing can bring to each input, a router built with `xy_turns`
    and one with every turn give the same outputs, readies and busy in every cycle (Amaranth's
    simulator, random flits and back-pressure, refused flits on the local input)."""
    import random
    from amaranth.hdl import Module
    from amaranth.sim import Simulator
    from neuromesh.hw.router import Router, xy_turns
    params = spec.HwParams(width=3, height=3, neurons_per_core=16, axons_per_core=16,
                           synapses_per_core=16, routes_per_core=16, fifo_depth=2)
    full, lean = Router(params, x, y), Router(params, x, y, turns=xy_turns(x, y))
    m = Module()
    m.submodules.full, m.submodules.lean = full, lean
    rng = random.Random(x * 10 + y)
    turns = xy_turns(x, y)

    def flit_for(i):
        while True:
            if i == spec.LOCAL and rng.random() < 0.1:
                return spec.pack_flit(1, 3, 0)   # outside the mesh: refused
            word = spec.pack_flit(rng.randrange(16), rng.randrange(3), rng.randrange(3), rng.random() < 0.3)
            if (i, spec.route_port(x, y, word)) in turns:
                return word

    pending = [flit_for(i) for i in range(spec.N_PORTS)]
    log = {"transfers": 0, "differences": []}

    async def bench(ctx):
        for cycle in range(600):
            valid = [rng.random() < 0.6 for _ in range(spec.N_PORTS)]
            ready = [rng.random() < 0.5 for _ in range(spec.N_PORTS)]
            for r in (full, lean):
                for i in range(spec.N_PORTS):
                    ctx.set(r.inputs[i].valid, valid[i])
                    ctx.set(r.inputs[i].payload.as_value(), pending[i])
                    ctx.set(r.outputs[i].ready, ready[i])
            seen = []
            for r in (full, lean):
                seen.append((
                    [ctx.get(r.outputs[o].valid) for o in range(spec.N_PORTS)],
                    [ctx.get(r.outputs[o].payload.as_value()) if ctx.get(r.outputs[o].valid) else None
                     for o in range(spec.N_PORTS)],
                    [ctx.get(r.inputs[i].ready) for i in range(spec.N_PORTS)],
                    ctx.get(r.busy)))
            if seen[0] != seen[1]:
                log["differences"].append((cycle, seen))
            for i in range(spec.N_PORTS):
                if valid[i] and seen[0][2][i]:
                    pending[i] = flit_for(i)
            log["transfers"] += sum(v and rd for v, rd in zip(seen[0][0], ready))
            await ctx.tick()

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert log["differences"] == []
    assert log["transfers"] > 300   # the traffic did flow through both
