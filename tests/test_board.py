"""The board bridge: the UART bridge + a 2x1 chip under Verilator with a Python UART on its pins
(tests/tb_board.py), run by the board engine's own host code and compared with the golden model;
hand-worked frames and every documented error; the UART alone in Amaranth's simulator.

What is compared with the golden model: the spikes and every timing-independent counter (SOPs,
updates, spikes fired, flits sent, forwards per output port, errors, ticks). The UART paces
spike_in and spike_out, so busy cycles and tick lengths differ from the golden model's
(docs/board.md) and are not compared.
"""
import json

import pytest

from neuromesh import spec

pytestmark = pytest.mark.rtl

NET = {
    "format": "neuromesh-network/1",
    "description": "board test: 2x1 mesh, traffic both ways between the tiles, to the host from both",
    "hardware": {"width": 2, "height": 1, "neurons_per_core": 16, "axons_per_core": 16,
                 "synapses_per_core": 64, "routes_per_core": 32, "fifo_depth": 2},
    "populations": [
        {"name": "in", "kind": "input", "size": 4},
        {"name": "a", "kind": "lif", "size": 8, "du": 4095, "dv": 0, "vth": 10, "refractory": 1,
         "record": True, "placement": [0, 0]},
        {"name": "b", "kind": "lif", "size": 6, "du": 3000, "dv": 400, "vth": 8, "reset": 1,
         "bias_mant": 3, "bias_exp": 2, "record": True, "placement": [1, 0]},
    ],
    "projections": [
        {"pre": "in", "post": "a", "synapses": [[0, 0, 12], [0, 1, 12], [1, 2, 12], [1, 3, 6],
                                                 [2, 4, 12], [2, 5, 12], [3, 6, 12], [3, 7, 12], [3, 3, 6]]},
        {"pre": "a", "post": "b", "weight_exp": 1,
         "synapses": [[i, i % 6, 9] for i in range(8)] + [[0, 5, 7]]},
        {"pre": "b", "post": "a", "synapses": [[0, 1, 11], [1, 2, -4], [2, 3, 11], [3, 0, 11], [4, 7, 11], [5, 6, 6]]},
        {"pre": "a", "post": "a", "synapses": [[7, 0, 11], [4, 5, -20]]},
    ],
}
STIM = {"ticks": 14, "spikes": {"in": [[1, 0], [1, 2], [2, 1], [3, 3], [4, 0], [4, 1], [4, 2], [4, 3],
                                       [6, 2], [8, 0], [9, 3], [11, 1], [11, 2]]}}
# A nominal 1 MHz clock and a 250 kbaud line: 4 cycles per bit, the fastest the UART allows,
# so a byte is 40 cycles. Small FIFOs, so the window and spike_out back-pressure both bite.
CLK_HZ, BAUD = 1_000_000, 250_000
RX_DEPTH = TX_DEPTH = 64


def _compiled():
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import parse_network, parse_stimulus
    from neuromesh.result import tick_inputs
    net = parse_network(NET)
    stim = parse_stimulus(STIM, net)
    compiled = compile_network(net)
    return net, stim, compiled, tick_inputs(stim.spikes, compiled.map["inputs"], stim.ticks)


@pytest.fixture(scope="module")
def model():
    from neuromesh.hw.uart_chip import VERILOG_NAME, uart_chip_verilog
    from neuromesh.tools.cosim import simulator
    _net, _stim, compiled, _ = _compiled()
    text = uart_chip_verilog(compiled.params, clk_hz=CLK_HZ, baud=BAUD, rx_depth=RX_DEPTH, tx_depth=TX_DEPTH)
    runner, build_dir = simulator.build(text, VERILOG_NAME, label=f"uart-chip-{compiled.params.key()}")
    return runner, build_dir, compiled.params


def _run_cocotb(model, tmp_path, testcase, **job):
    from neuromesh.hw.uart import divisor_for
    from neuromesh.hw.uart_chip import VERILOG_NAME
    from neuromesh.tools.cosim import simulator
    runner, build_dir, params = model
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps({"params": params.to_dict(), "divisor": divisor_for(CLK_HZ, BAUD),
                                    "rx_depth": RX_DEPTH, "out": str(tmp_path / "run.json"), **job}))
    tests, failed, _ = simulator.run_tests(runner, build_dir, VERILOG_NAME, "tb_board", testcase=testcase,
                                           extra_env={"NM_BOARD_JOB": str(job_file)}, test_dir=tmp_path)
    log = (tmp_path / "sim.log").read_text(errors="replace") if (tmp_path / "sim.log").exists() else ""
    assert tests == 1 and failed == 0, log[-4000:]


def test_board_run_matches_golden(model, tmp_path):
    """The board engine's host code over the simulated line gives the golden model's spikes and
    timing-independent counters."""
    from neuromesh.result import EngineRun, build_result
    from neuromesh.sim import engine as golden
    net, stim, compiled, inputs = _compiled()
    _run_cocotb(model, tmp_path, "board_run", writes=[list(w) for w in compiled.writes], tick_inputs=inputs)
    board = EngineRun(**json.loads((tmp_path / "run.json").read_text()))
    board.out_flits = [tuple(f) for f in board.out_flits]
    gold = golden.run(compiled.params, compiled.writes, inputs)

    def result(run, name):
        return build_result(run, engine=name, params=compiled.params, chip_map=compiled.map,
                            populations=net.populations, stimulus=stim.spikes, ticks=stim.ticks)

    rb, rg = result(board, "board"), result(gold, "golden")
    assert sum(len(v) for v in rg["spikes"].values()) > 50      # the comparison has teeth
    assert rb["spikes"] == rg["spikes"]
    assert board.counters["cores"] == gold.counters["cores"]
    assert board.counters["routers"] == gold.counters["routers"]
    assert board.counters["chip"]["ticks"] == gold.counters["chip"]["ticks"] == STIM["ticks"]
    assert board.host_flits == gold.host_flits
    # Each spike_out flit in the same tick as on the golden model (their cycles differ).
    per_tick = lambda r: sorted((f["tick"], f["flit"]) for f in r["output_flits"])
    assert per_tick(rb) == per_tick(rg)
    # Stamps are ordered as the protocol promises: h_t < q_t <= h_{t+1}, flits inside their tick.
    for t in range(STIM["ticks"]):
        assert board.handshakes[t] < board.completions[t]
        if t + 1 < STIM["ticks"]:
            assert board.completions[t] <= board.handshakes[t + 1]
    for f in rb["output_flits"]:
        assert board.handshakes[f["tick"] - 1] <= f["cycle"] < board.completions[f["tick"] - 1]
    assert rb["board"]["cycle_exact"] is False and "tick_cycles" in rb["board"]["not_cycle_exact"]


def test_bridge_frames(model, tmp_path):
    """Hand-worked frames in, exact bytes out; every error of docs/board.md."""
    _run_cocotb(model, tmp_path, "bridge_frames")
