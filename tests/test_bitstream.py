"""`make bitstream` without running the tools: the board top elaborates on both platforms with its
UART on the board's pins, a bad baud rate is refused before any synthesis, and the report
parser reads nextpnr's log (an excerpt of a real one)."""
import pytest

from neuromesh import spec
from neuromesh.tools.board.bitstream import BOARDS, NAME, _platform, parse_nextpnr


@pytest.mark.parametrize("board,constraint", [
    ("icebreaker", ["set_io uart_0__rx__io 6", "set_io uart_0__tx__io 9"]),
    ("ulx3s", ['LOCATE COMP "uart_0__rx__io" SITE "M1"', 'LOCATE COMP "uart_0__tx__io" SITE "L4"']),
])
def test_board_top_prepares(board, constraint):
    """The build plan (RTLIL, constraints, script) of each board's default chip, small tables
    here so the netlist is quick: the UART pins are the board's, the tools are named through
    amaranth's environment variables."""
    from neuromesh.hw.board_top import BoardTop
    small = spec.HwParams(width=1, height=1, neurons_per_core=4, axons_per_core=4, synapses_per_core=4,
                          routes_per_core=4, fifo_depth=1)
    plan = _platform(BOARDS[board]).prepare(BoardTop(small, clk_hz=BOARDS[board].clk_hz), name=NAME)
    text = "\n".join(str(v) for k, v in plan.files.items() if k.endswith((".pcf", ".lpf")))
    for line in constraint:
        assert line in text
    script = plan.files[f"build_{NAME}.sh"]
    for tool in BOARDS[board].tools:
        assert "$" + tool.upper().replace("-", "_") in script


def test_bad_baud_refused_before_synthesis(tmp_path):
    from neuromesh.tools.board.bitstream import build
    with pytest.raises(spec.ConfigError, match="baud"):
        build("icebreaker", tmp_path, baud=4_000_000)     # 12 MHz / 4 Mbaud = 3 cycles per bit
    assert not any(tmp_path.iterdir())


LOG = """Info: Device utilisation:
Info: \t         ICESTORM_LC:    4441/   5280    84%
Info: \t        ICESTORM_RAM:      23/     30    76%
Info: \t        ICESTORM_DSP:       4/      8    50%
Info: Max frequency for clock '$PACKER_GND_NET_$glb_clk': 386.25 MHz (PASS at 12.00 MHz)
Info: Max frequency for clock              'cd_sync.clk': 13.03 MHz (PASS at 12.00 MHz)
Info: Max frequency for clock '$PACKER_GND_NET_$glb_clk': 307.03 MHz (PASS at 12.00 MHz)
Info: Max frequency for clock              'cd_sync.clk': 11.06 MHz (FAIL at 12.00 MHz)
Info: Max frequency for clock '$PACKER_GND_NET_$glb_clk': 300.00 MHz (PASS at 12.00 MHz)
"""


LOG_ECP5 = """Info: \t              DP16KD:      62/    208    29%
Info: Max frequency for clock '$glbnet$cd_sync.clk': 22.68 MHz (FAIL at 25.00 MHz)
Warning: Max frequency for clock '$glbnet$cd_sync.clk': 23.79 MHz (FAIL at 25.00 MHz)
"""


def test_parse_nextpnr():
    """The design clock's LAST line (after routing), not the estimate, not the constant net."""
    r = parse_nextpnr(LOG)
    assert r["used"]["ICESTORM_LC"] == [4441, 5280] and r["used"]["ICESTORM_DSP"] == [4, 8]
    assert (r["clock"], r["fmax_mhz"], r["target_mhz"], r["timing"]) == ("cd_sync.clk", 11.06, 12.0, "FAIL")
    r = parse_nextpnr(LOG_ECP5)
    assert r["used"]["DP16KD"] == [62, 208]
    assert (r["fmax_mhz"], r["timing"]) == (23.79, "FAIL")


@pytest.mark.parametrize("f_in,f_out", [(25_000_000, 20_000_000), (25_000_000, 12_500_000), (12_000_000, 48_000_000)])
def test_ecp5_pll(f_in, f_out):
    """Dividers that make the frequency exactly, inside the PLL's limits (checked here)."""
    from neuromesh.hw.board_clock import ecp5_pll
    d = ecp5_pll(f_in, f_out)
    assert f_in * d["CLKFB_DIV"] == f_out * d["CLKI_DIV"]
    assert f_in / d["CLKI_DIV"] >= 3.125e6
    assert 400e6 <= f_out * d["CLKOP_DIV"] == d["vco_hz"] <= 800e6


def test_ecp5_pll_refuses():
    from neuromesh.hw.board_clock import ecp5_pll
    with pytest.raises(spec.ConfigError, match="cannot make it exactly"):
        ecp5_pll(25_000_000, 19_999_999)


def test_bridge_only_verilog():
    """`--bridge-stat`'s design: the UART and the bridge, the chip's SPEC ports brought out."""
    from neuromesh.tools.board.bitstream import bridge_verilog
    small = spec.HwParams(width=1, height=1, neurons_per_core=4, axons_per_core=4, synapses_per_core=4,
                          routes_per_core=4, fifo_depth=1)
    text = bridge_verilog(small, 12_000_000, 115_200)
    head = text[text.index("module bridge_only("):]
    ports = {p.strip() for p in head[head.index("(") + 1:head.index(")")].split(",")}
    for name in ("cfg_req", "cfg_resp", "spike_in", "spike_out"):
        assert {f"{name}__payload", f"{name}__valid", f"{name}__ready"} <= ports
    assert {"pin_rx", "pin_tx", "busy", "chip_rst", "tick__valid", "tick__ready"} <= ports
