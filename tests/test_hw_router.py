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
