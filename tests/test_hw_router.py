"""The Router (hw/router.py) under Verilator: tests/tb_router.py, built for FIFO depths 1-4.

The router sits at (1, 1) of a 3x3 mesh, so all five outputs have a neighbour and targets
x = 3 or y = 3 lie outside the mesh.
"""
import json

import pytest

from neuromesh import spec

pytestmark = [pytest.mark.rtl, pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")]


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_router(depth):
    from neuromesh.hw.router import Router
    from neuromesh.tools import rtlsim
    params = spec.HwParams(width=3, height=3, neurons_per_core=16, axons_per_core=16,
                           synapses_per_core=16, routes_per_core=16, fifo_depth=depth)
    router = Router(params, 1, 1)
    runner, build_dir = rtlsim.build(rtlsim.verilog_of(router, "router"), "router", label=f"router-d{depth}")
    cfg = dict(params.to_dict(), x=1, y=1)
    tests, failed, _ = rtlsim.run_tests(runner, build_dir, "router", "tb_router",
                                        extra_env={"NM_ROUTER": json.dumps(cfg)})
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
