"""The asynchronous link alone (SPEC 5a; docs/architecture.md 8.2), both halves.

- Golden model (`sim/async_link.py` through tests/link_model.py): for any clock ratio and phase,
  any gaps and any receiver back-pressure, every flit arrives once, in order (hypothesis), and
  the hand-worked handshake of architecture 8.2 holds on a worked example.
- RTL (`hw/async_link.py` under Verilator, tests/tb_link.py): the same scenarios, compared with
  the model transfer by transfer (the sender cycle of every flit, the receiver cycle of every
  write, the sender's busy cycles); coincident edges are in the scenarios on purpose.
"""
from __future__ import annotations

import json
import random

import pytest

import link_model
from neuromesh import spec
from neuromesh.clocks import Edges, link_ready_cycle


def clocks_of(p0: int, p1: int, phase: int) -> spec.Clocks:
    return spec.Clocks(p0, (spec.ClockDomain((1, 0, 1, 0), p1, phase),))


def test_handshake_worked_by_hand():
    """Sender period 10 ps, receiver 4 ps, phase 1: flit sent in sender cycle 0.
    req rises at 10; receiver edges 1, 5, 9, 13, 17, ...: first after 10 is 13 (cycle 3), seen
    in cycle 4 (t=17) with room: written in cycle 4, ack rises at t=21 (edge 5). Sender edges
    0, 10, 20, 30, 40, ...: first after 21 is 30 (cycle 3), seen in cycle 4 (t=40): req falls at
    50. Receiver: first edge after 50 is 53 (cycle 13), seen in 14: ack falls at 61 (edge 15).
    Sender: first edge after 61 is 70 (cycle 7), seen in cycle 8: ready again in 8."""
    e = Edges(clocks_of(10, 4, 1))
    assert link_ready_cycle(e, 0, 1, 4) == 8
    out, busy = link_model.simulate(clocks_of(10, 4, 1), [0x123, 0x456], [0, 0], lambda m: True, 400)
    assert out[0] == (0x123, 0, 4)
    assert out[1][1] == 8          # the next flit leaves in the first ready cycle
    assert busy == 2 * 7           # cycles 1 .. 7 for each flit


def test_coincident_edges_see_the_old_value():
    """Same period, phase 0: every edge coincides. req rises at t(1) = 10; the receiver's flip-flop
    sampling at 10 sees the old value, so the first edge strictly after is 20 (cycle 2), seen in
    cycle 3."""
    out, _ = link_model.simulate(clocks_of(10, 10, 0), [7], [0], lambda m: True, 200)
    assert out == [(7, 0, 3)]


def test_full_receiver_delays_only_the_write():
    room = lambda m: m >= 9                                  # noqa: E731 - no room before cycle 9
    out, _ = link_model.simulate(clocks_of(10, 10, 0), [7], [0], room, 400)
    assert out == [(7, 0, 9)]


def _check_order(flits, out):
    assert [f for f, _s, _d in out] == flits                 # every flit once, in order
    sends = [s for _f, s, _d in out]
    assert sends == sorted(sends) and len(set(sends)) == len(sends)


def test_property_every_flit_once_in_order():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None, database=None)
    @given(st.integers(2, 40), st.integers(2, 40), st.data(), st.lists(st.integers(0, 5), min_size=1, max_size=12),
           st.integers(0, 2 ** 32), st.floats(0.05, 1.0))
    def prop(p0, p1, data, gaps, seed, p_room):
        phase = data.draw(st.integers(0, p1 - 1))
        flits = list(range(1, len(gaps) + 1))
        rng = random.Random(seed)
        pattern = [rng.random() < p_room for _ in range(4096)]
        horizon = (len(flits) + 1) * 12 * (p0 + p1) * (1 + int(1 / p_room)) + 40 * max(p0, p1)
        out, _ = link_model.simulate(clocks_of(p0, p1, phase), flits, gaps,
                                     lambda m: pattern[m % 4096] or m % 97 == 0, horizon)
        _check_order(flits, out)
    prop()


# ---- RTL ----------------------------------------------------------------------------------------

def _link_top():
    from amaranth.hdl import ClockDomain, Module, ResetSignal, Signal
    from amaranth.lib import stream, wiring
    from amaranth.lib.cdc import FFSynchronizer
    from amaranth.lib.wiring import In, Out

    from neuromesh.hw.async_link import AsyncLink

    class LinkTop(wiring.Component):
        """The link between `sync` (clk) and `d1` (clk_1, reset from rst as in hw/mesh.py)."""

        def __init__(self):
            flit = stream.Signature(spec.flit_layout())
            super().__init__({"clk_1": In(1), "i": In(flit), "o": Out(flit), "busy": Out(1)})

        def elaborate(self, platform):
            m = Module()
            cd = ClockDomain("d1")
            m.domains += cd
            rst_1 = Signal()
            m.submodules.rst_sync = FFSynchronizer(ResetSignal("sync"), rst_1, o_domain="d1", init=1)
            m.d.comb += [cd.clk.eq(self.clk_1), cd.rst.eq(rst_1)]
            m.submodules.link = link = AsyncLink("sync", "d1")
            wiring.connect(m, wiring.flipped(self.i), link.i)
            wiring.connect(m, link.o, wiring.flipped(self.o))
            m.d.comb += self.busy.eq(link.busy)
            return m
    return LinkTop()


SCENARIO_CLOCKS = [(10000, 10000, 0), (10000, 10000, 5000), (6000, 9000, 4500), (7000, 5000, 2100),
                   (4000, 16000, 0), (16000, 1000, 999), (2500, 10000, 7500), (9973, 10007, 17)]


def _scenarios(n_per_clock: int = 2) -> list:
    out = []
    for k, (p0, p1, phase) in enumerate(SCENARIO_CLOCKS):
        for j in range(n_per_clock):
            rng = random.Random(k * 100 + j)
            n = rng.randint(3, 9)
            gaps = [rng.choice([0, 0, 0, 1, 2, 5]) for _ in range(n)]
            p_room = rng.choice([1.0, 0.6, 0.25])
            horizon = n * 14 * (p0 + p1) * (1 + int(1 / p_room)) + 60 * max(p0, p1)
            out.append({"periods": [p0, p1], "phase": phase, "flits": [rng.getrandbits(25) for _ in range(n)],
                        "gaps": gaps, "seed": rng.getrandbits(32), "room": p_room, "horizon_ps": horizon})
    return out


@pytest.mark.rtl
def test_rtl_link_equals_the_model(tmp_path):
    from neuromesh.tools.cosim import simulator
    import tb_link
    text = simulator.verilog_of(_link_top(), "link_top")
    runner, build_dir = simulator.build(text, "link_top", label="async-link")
    scenarios = _scenarios()
    job = tmp_path / "job.json"
    results = tmp_path / "results.json"
    job.write_text(json.dumps({"scenarios": scenarios, "results": str(results)}))
    tests, failed, _ = simulator.run_tests(runner, build_dir, "link_top", "tb_link", test_dir=tmp_path,
                                           extra_env={"NM_LINK": str(job)})
    assert (tests, failed) == (1, 0), (tmp_path / "sim.log").read_text()[-3000:]
    rtl = json.loads(results.read_text())
    for sc, got in zip(scenarios, rtl):
        p0, p1 = sc["periods"]
        out, busy = link_model.simulate(clocks_of(p0, p1, sc["phase"]), sc["flits"], sc["gaps"],
                                        lambda m, sc=sc: tb_link.room(sc["seed"], sc["room"], m), sc["horizon_ps"])
        _check_order(sc["flits"], out)
        assert [list(x) for x in got["sent"]] == [[f, s] for f, s, _d in out], sc
        assert [list(x) for x in got["got"]] == [[f, d] for f, _s, d in out], sc
        assert got["busy"] == busy, sc
