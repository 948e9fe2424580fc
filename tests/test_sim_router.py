"""The golden model's routers and mesh (docs/architecture.md section 3), BookSim style: flits
injected at the local inputs, always-ready sinks at the local outputs. A hop takes two cycles:
a flit at the head of a router's FIFO in cycle c leaves into the hop register in c, moves into
the neighbour's FIFO in c+1 and is at its head in c+2."""
import random

import pytest

from neuromesh import spec
from neuromesh.sim.mesh import TrafficMesh


def mesh(w, h, depth=4, record=True):
    return TrafficMesh(spec.HwParams(width=w, height=h, fifo_depth=depth), record=record)


def run_until_idle(m, start=0, limit=10_000):
    k = start
    while not m.idle:
        m.cycle(k)
        k += 1
        assert k < limit, "mesh did not drain"
    return k


def fwd(m, x, y):
    return dict(zip(spec.ROUTER_COUNTERS, m.router(x, y).counters()))


def test_xy_route_timing_and_counters():
    # (0,0) -> (2,1) on 3x2: enters the local FIFO in cycle 0, at the head in 1 and out east
    # (into the hop register) in 1; (1,0)'s FIFO in 2, east in 3; (2,0) north in 5 (X first);
    # (2,1) local in 7.
    m = mesh(3, 2)
    flit = spec.pack_flit(7, 2, 1)
    m.inject(0, 0, flit)
    run_until_idle(m)
    assert m.delivered == [(7, 2, 1, flit)]
    assert fwd(m, 0, 0)["fwd_east"] == 1 and fwd(m, 1, 0)["fwd_east"] == 1
    assert fwd(m, 2, 0)["fwd_north"] == 1 and fwd(m, 2, 1)["fwd_local"] == 1
    total = sum(sum(m.router(x, y).counters()) for x, y in m.params.tiles())
    assert total == 4  # no other output moved anything
    assert m.link_hops() == 3


def test_y_before_nothing_when_x_done_and_south_west():
    # (2,2) -> (0,0) on 3x3: west, west, then south twice, then local: 1 + 4 hops x 2 cycles.
    m = mesh(3, 3)
    flit = spec.pack_flit(1, 0, 0)
    m.inject(2, 2, flit)
    run_until_idle(m)
    assert m.delivered == [(9, 0, 0, flit)]
    assert fwd(m, 2, 2)["fwd_west"] == 1 and fwd(m, 1, 2)["fwd_west"] == 1
    assert fwd(m, 0, 2)["fwd_south"] == 1 and fwd(m, 0, 1)["fwd_south"] == 1


def test_host_bound_flit_routes_as_to_origin_and_leaves_west():
    # A host-bound flit from (2,1): west to x=0, then south, then out of (0,0)'s west port.
    m = mesh(3, 2)
    flit = spec.host_flit(5, 2, 1)
    m.inject(2, 1, flit)
    run_until_idle(m)
    assert m.out_flits == [(7, flit)]   # (2,1) in 1, (1,1) in 3, (0,1) in 5, (0,0) west in 7
    assert fwd(m, 2, 1)["fwd_west"] == 1 and fwd(m, 1, 1)["fwd_west"] == 1
    assert fwd(m, 0, 1)["fwd_south"] == 1 and fwd(m, 0, 0)["fwd_west"] == 1
    assert m.link_hops() == 3


def test_refused_flits_are_counted_at_the_first_router():
    m = mesh(2, 2)
    reserved = spec.pack_flit(1, 1, 1) | (1 << 25)   # the lowest reserved bit (SPEC 5 v2)
    outside = spec.pack_flit(1, 3, 0)   # x = 3 on a 2-wide mesh
    good = spec.pack_flit(2, 1, 0)
    for f in (reserved, outside, good):
        m.inject(0, 0, f)
    run_until_idle(m)
    # reserved: in FIFO from 0, head in 1, dropped in 1; outside: in at 1, dropped in 2;
    # good: in at 2, east in 3, (1,0)'s FIFO in 4, local in 5.
    assert m.router(0, 0).errors == 2
    assert m.delivered == [(5, 1, 0, good)]
    assert sum(m.router(1, 1).counters()) == 0


def test_round_robin_order_under_contention():
    # Five sources aim at tile (1,1) of a 3x3 mesh, two flits each. The neighbours' flits enter
    # their local FIFOs in cycles 0 and 1, leave in 1 and 2 and are at (1,1)'s heads from 3;
    # (1,1)'s own flits are injected two cycles later (its FIFO in 2 and 3, head from 3). From
    # cycle 3 all five inputs hold a head, and the grants follow rr+1, rr+2, ... from the reset
    # pointer (west): local, north, east, south, west, local, ...
    m = mesh(3, 3)
    src = {"L": (1, 1), "N": (1, 2), "E": (2, 1), "S": (1, 0), "W": (0, 1)}
    for rep in range(2):
        for i, (name, (x, y)) in enumerate(src.items()):
            if name != "L":
                m.inject(x, y, spec.pack_flit(16 * rep + i, 1, 1))
    m.cycle(0)
    m.cycle(1)
    for rep in range(2):
        m.inject(1, 1, spec.pack_flit(16 * rep, 1, 1))
    run_until_idle(m, start=2)
    names = list(src)
    order = [(k, names[f & 15] + str(1 + ((f & 0xFFF) >> 4))) for k, _x, _y, f in m.delivered]
    assert order == [(3, "L1"), (4, "N1"), (5, "E1"), (6, "S1"), (7, "W1"),
                     (8, "L2"), (9, "N2"), (10, "E2"), (11, "S2"), (12, "W2")]


def test_depth_one_fifo_passes_one_flit_every_two_cycles():
    # docs/architecture.md 3: ready ignores a pop in the same cycle. Flit 0 enters (0,0)'s
    # local FIFO in 0, goes east in 1, enters (1,0)'s FIFO in 2 and ejects in 3; the local FIFO
    # (level 1 at the start of 1) takes flit 1 only in 2, and so on.
    m = mesh(2, 1, depth=1)
    for i in range(4):
        m.inject(0, 0, spec.pack_flit(i, 1, 0))
    run_until_idle(m)
    assert [k for k, *_ in m.delivered] == [3, 5, 7, 9]


def test_depth_two_sustains_one_flit_per_cycle():
    m = mesh(2, 1, depth=2)
    for i in range(4):
        m.inject(0, 0, spec.pack_flit(i, 1, 0))
    run_until_idle(m)
    assert [k for k, *_ in m.delivered] == [3, 4, 5, 6]


@pytest.mark.parametrize("w, h, depth, load", [(4, 3, 1, 0.3), (4, 4, 2, 0.5), (3, 5, 4, 0.8), (1, 4, 3, 0.6)])
def test_every_flit_delivered_exactly_once_at_its_target(w, h, depth, load):
    rng = random.Random(w * 100 + h * 10 + depth)
    m = mesh(w, h, depth)
    sent = []
    k = 0
    for k in range(300):
        for x, y in m.params.tiles():
            if rng.random() < load:
                tx, ty = rng.randrange(w), rng.randrange(h)
                flit = spec.pack_flit(len(sent) % 4096, tx, ty)
                sent.append((flit, tx, ty))
                m.inject(x, y, flit)
        m.cycle(k)
    run_until_idle(m, k + 1, limit=100_000)
    got = sorted((f, x, y) for _k, x, y, f in m.delivered)
    assert got == sorted(sent)
    assert m.injected == len(sent)
    assert sum(m.router(x, y).counters()[0] for x, y in m.params.tiles()) == len(sent)


def test_hop_count_equals_manhattan_distance():
    rng = random.Random(3)
    m = mesh(4, 4, 2)
    expected = 0
    for i in range(200):
        sx, sy, tx, ty = (rng.randrange(4) for _ in range(4))
        expected += abs(tx - sx) + abs(ty - sy)
        m.inject(sx, sy, spec.pack_flit(i, tx, ty))
    run_until_idle(m)
    assert m.link_hops() == expected
    assert len(m.delivered) == 200


class ShuffledSet(set):
    """A set that hands out its members in a different random order every time."""

    def __init__(self, items, rng):
        super().__init__(items)
        self.rng = rng

    def __iter__(self):
        items = list(set.__iter__(self))
        self.rng.shuffle(items)
        return iter(items)


def test_evaluation_order_does_not_matter():
    """Two-phase step: the order in which outputs are visited changes nothing."""
    def trace(seed):
        rng = random.Random(11)
        m = mesh(3, 3, 1)
        if seed is not None:
            m.requested = ShuffledSet(m.requested, random.Random(seed))
        for k in range(200):
            for x, y in m.params.tiles():
                if rng.random() < 0.4:
                    m.inject(x, y, spec.pack_flit(k % 4096, rng.randrange(3), rng.randrange(3)))
            m.cycle(k)
        run_until_idle(m, 200, limit=100_000)
        return sorted(m.delivered), [r.counters() for r in m.routers]
    assert trace(None) == trace(1) == trace(2)
