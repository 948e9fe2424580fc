"""Every bench ends: a deadlocked design FAILS its cocotb tests within their simulated-time
budgets (tools/cosim/bounded.py), and a bench that stops simulated time is stopped by the wall-time
limit of `simulator.run_tests`. Before these bounds, a FIFO whose `ready` never rose at depth 1
kept the router bench running for 20 minutes until it was stopped by hand."""
import json

import pytest

from neuromesh import spec

pytestmark = [pytest.mark.rtl, pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")]

PARAMS = spec.HwParams(width=3, height=3, neurons_per_core=16, axons_per_core=16, synapses_per_core=16,
                       routes_per_core=16, fifo_depth=1)


def _router_build(label):
    from neuromesh.hw.router import Router
    from neuromesh.tools.cosim import simulator
    text = simulator.verilog_of(Router(PARAMS, 1, 1), "router")
    return text, simulator.build(text, "router", label=label)


def _stuck_fifo(monkeypatch):
    """hw/fifo.py mutated: at depth 1, `w.ready` is never high and nothing is ever written."""
    from neuromesh.hw import fifo
    elaborate = fifo.StreamFIFO.elaborate

    def stuck(self, platform):
        m = elaborate(self, platform)
        if self.depth == 1:  # later comb assignments win in Amaranth
            m.d.comb += [self.w.ready.eq(0), m.submodules.queue.w_en.eq(0)]
        return m
    monkeypatch.setattr(fifo.StreamFIFO, "elaborate", stuck)


@pytest.mark.long
def test_deadlocked_router_fails_instead_of_hanging(monkeypatch, tmp_path):
    from neuromesh.tools.cosim import simulator
    good, _ = _router_build("router-3x3-11-d1")
    _stuck_fifo(monkeypatch)
    text, (runner, build_dir) = _router_build("router-stuck-fifo-d1")
    assert text != good  # the mutant really is another design
    cfg = dict(PARAMS.to_dict(), x=1, y=1)
    # A hang here would meet the wall-time limit and raise SimulatorTimeout: the test would
    # error, not pass. Passing means the simulated-time bounds ended every test.
    tests, failed, _ = simulator.run_tests(runner, build_dir, "router", "tb_router", test_dir=tmp_path,
                                           extra_env={"NM_ROUTER": json.dumps(cfg)}, timeout_s=300)
    log = (tmp_path / "sim.log").read_text()
    assert tests == 4 and failed == 4, log[-3000:]
    # the test that waited for a transfer ended at its budget, saying why
    assert "every_input_to_every_output: not finished after 2,000 clock cycles" in log
    assert "the design or the bench is stuck" in log


def test_a_bench_that_stops_simulated_time_is_stopped_in_wall_time(tmp_path):
    from neuromesh.tools.cosim import simulator
    _, (runner, build_dir) = _router_build("router-3x3-11-d1")
    with pytest.raises(simulator.SimulatorTimeout) as e:
        simulator.run_tests(runner, build_dir, "router", "tb_hang", test_dir=tmp_path, timeout_s=3)
    msg = str(e.value)
    assert "stopped after 3 s of wall time" in msg and "sim.log" in msg and "\n" not in msg


def test_wall_limit_comes_from_the_environment(monkeypatch):
    from neuromesh.tools.cosim import simulator
    monkeypatch.setenv(simulator.WALL_LIMIT_ENV, "42")
    assert simulator.wall_limit() == 42 and simulator.wall_limit(7) == 7
    monkeypatch.setenv(simulator.WALL_LIMIT_ENV, "0")
    assert simulator.wall_limit() is None
    monkeypatch.setenv(simulator.WALL_LIMIT_ENV, "soon")
    with pytest.raises(spec.NeuroMeshError, match="NEUROMESH_SIM_TIMEOUT_S"):
        simulator.wall_limit()
