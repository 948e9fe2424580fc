"""The chip top (hw/mesh.py) under Verilator (tests/tb_mesh.py) on 1x1, 2x2 and 3x2 meshes,
plus elaboration of the extremes and refusal of bad configurations (no simulator)."""
import json

import pytest

from neuromesh import spec

SMALL = dict(neurons_per_core=16, axons_per_core=16, synapses_per_core=16, routes_per_core=16)


@pytest.mark.rtl
@pytest.mark.parametrize("width,height,depth", [(1, 1, 1), (2, 2, 4), (3, 2, 2)])
def test_mesh(width, height, depth, tmp_path):
    from neuromesh.hw.mesh import VERILOG_NAME, chip_verilog
    from neuromesh.tools.cosim import simulator
    params = spec.HwParams(width=width, height=height, fifo_depth=depth, **SMALL)
    text = chip_verilog(params)
    runner, build_dir = simulator.build(text, VERILOG_NAME, label=f"mesh-{params.key()}")
    tests, failed, _ = simulator.run_tests(runner, build_dir, VERILOG_NAME, "tb_mesh",
                                        extra_env={"NM_MESH": json.dumps({"params": params.to_dict()})},
                                        test_dir=tmp_path)
    assert tests == 4 and failed == 0


def _small_chip(width, height):
    from neuromesh.hw.mesh import Chip
    params = spec.HwParams(width=width, height=height, neurons_per_core=4, axons_per_core=4,
                           synapses_per_core=4, routes_per_core=4, fifo_depth=1)
    return Chip(params)


@pytest.mark.parametrize("width,height", [(1, 1), (16, 16)])
def test_elaborates(width, height):
    """Every Elaboratable of the hierarchy elaborates (Fragment.get recurses); the netlist of
    a 16x16 chip takes minutes to build in Amaranth, so its conversion is a long test."""
    from amaranth.hdl import Fragment
    frag = Fragment.get(_small_chip(width, height), None)
    names = {name for _sub, name, _src in frag.subfragments}
    assert {f"tile_{x}_{y}" for x in range(width) for y in range(height)} <= names


@pytest.mark.long
def test_converts_16x16():
    from amaranth.back import rtlil
    text = rtlil.convert(_small_chip(16, 16), name="neuromesh_chip")
    assert "tile_15_15" in text


def test_verilog_ports_are_the_spec_ports():
    from neuromesh.hw.mesh import VERILOG_NAME, chip_verilog
    text = chip_verilog(spec.HwParams(width=1, height=2, **SMALL))
    head = text[text.index(f"module {VERILOG_NAME}("):]
    ports = set(p.strip() for p in head[head.index("(") + 1:head.index(")")].split(","))
    expected = {"clk", "rst", "busy", "tick__valid", "tick__ready"}
    for name in ("cfg_req", "cfg_resp", "spike_in", "spike_out"):
        expected |= {f"{name}__payload", f"{name}__valid", f"{name}__ready"}
    assert ports == expected
    assert "input [64:0] cfg_req__payload;" in head
    assert "output [31:0] cfg_resp__payload;" in head
    assert "input [31:0] spike_in__payload;" in head
    assert "output [31:0] spike_out__payload;" in head


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_bad_configurations_are_refused():
    from neuromesh.hw.mesh import Chip
    from neuromesh.hw.tile import Tile
    with pytest.raises(spec.ConfigError):
        spec.HwParams(width=65)
    with pytest.raises(spec.ConfigError, match="stops at 256 tiles"):
        Chip(spec.HwParams(width=32, height=16, **SMALL))
    with pytest.raises(spec.ConfigError):
        spec.HwParams(height=0)
    with pytest.raises(spec.ConfigError):
        Chip({"width": 2})
    params = spec.HwParams(width=2, height=1, **SMALL)
    with pytest.raises(spec.ConfigError, match="init"):
        Chip(params, init={(2, 0): {}})
    with pytest.raises(spec.ConfigError):
        Tile(params, 0, 1)


def test_verilog_command_bakes_an_image(tmp_path):
    """`neuromesh verilog --image`: each image write lands in its tile's core init (decoded
    with spec.decode_addr), and the words appear in the Verilog's memory initialisers."""
    import argparse
    from neuromesh.firmware.image import write_image
    from neuromesh.tools.cli.verilog import image_init, verilog_command
    params = spec.HwParams(width=2, height=1, neurons_per_core=4, axons_per_core=4, synapses_per_core=8,
                           routes_per_core=4, fifo_depth=2)
    route = spec.ROUTE_WORD.pack(flit=spec.host_flit(0x5A5, 1, 0))
    axon = spec.AXON_WORD.pack(ptr=3, len=2, wexp=5)
    writes = [(spec.tile_addr(1, 0, "route", 2), 0), (spec.tile_addr(1, 0, "route", 2), route),
              (spec.tile_addr(0, 0, "axon", 1), axon)]
    assert image_init(params, writes) == {(1, 0): {"route": {2: route}}, (0, 0): {"axon": {1: axon}}}
    image = tmp_path / "image.hex"
    write_image(image, writes, params=params)
    out = tmp_path / "chip.v"
    args = argparse.Namespace(output=str(out), image=str(image),
                              **{k: None for k in spec.LIMITS})
    assert verilog_command(args) == 0
    def baked(value):   # Amaranth writes memory initialisers in hex or decimal
        text = out.read_text().lower()
        return f"'h{value:x};" in text or f"'d{value};" in text
    assert baked(route) and baked(axon)
    args.image = None
    verilog_command(args)
    assert not baked(route) and not baked(axon)


def test_verilog_command_refuses_bad_options(tmp_path):
    import argparse
    from neuromesh.tools.cli.verilog import verilog_command
    args = argparse.Namespace(output=str(tmp_path / "x.v"), image=None, **{k: None for k in spec.LIMITS})
    args.fifo_depth = 0
    with pytest.raises(spec.ConfigError, match="--fifo-depth"):
        verilog_command(args)
