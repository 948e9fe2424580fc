"""The RTL engine's host (tools/cosim/host.py) on a tiny stand-in chip whose timing is worked out by
hand here, so the standard host's bookkeeping (s_t, h_t, q_t, gaps, back-pressure, cycle 0) is
checked independently of the real chip; then `neuromesh run --engine rtl` on the real chip.

The stand-in (`StubChip`) has the SPEC section 6 ports and the architecture section 5 cfg timing:
- cfg: 16 plain 32-bit registers at tile (0, 0) `param` offsets 0..15 (stored whole: no field
  masking, which lets a test provoke a read-back mismatch), chip registers `ticks` and
  `busy_cycles`; every other address reads 0. Ready = not busy and no read pending; a read
  accepted in cycle c answers from c+2.
- spike_in -> a one-entry register -> spike_out (spike_in.ready = register empty).
- tick: ready = not busy; a handshake in h loads a countdown of 3 (busy in h+1..h+3) and, when
  register 1 is non-zero, puts its value in the loop-back register as an output flit.
- busy = loop-back register full or countdown non-zero.
"""

import json
import shutil
import subprocess
import sys

import pytest
from amaranth import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.host import HostBehaviour

pytestmark = pytest.mark.rtl

COUNTDOWN = 3
P = spec.HwParams(width=1, height=1, neurons_per_core=16, axons_per_core=16, synapses_per_core=16,
                  routes_per_core=16)


class StubChip(wiring.Component):
    cfg_req: In(stream.Signature(spec.cfg_req_layout()))
    cfg_resp: Out(stream.Signature(spec.CFG_RESP_WIDTH))
    spike_in: In(stream.Signature(spec.flit_layout()))
    spike_out: Out(stream.Signature(spec.flit_layout()))
    tick: In(stream.Signature(0))
    busy: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.regs = regs = Memory(shape=32, depth=16, init=[])
        wr, rd = regs.write_port(), regs.read_port(domain="comb")
        full, held = Signal(), Signal(32)
        count = Signal(4)
        ticks, busy_cycles = Signal(32), Signal(32)
        busy = Signal()
        m.d.comb += busy.eq(full | (count != 0))
        m.d.comb += self.busy.eq(busy)
        m.d.sync += busy_cycles.eq(busy_cycles + busy)

        # spike loop-back
        m.d.comb += [self.spike_in.ready.eq(~full), self.spike_out.valid.eq(full),
                     self.spike_out.payload.eq(held)]
        with m.If(self.spike_out.valid & self.spike_out.ready):
            m.d.sync += full.eq(0)
        with m.If(self.spike_in.valid & self.spike_in.ready):
            m.d.sync += [full.eq(1), held.eq(self.spike_in.payload)]

        # tick
        m.d.comb += self.tick.ready.eq(~busy)
        m.d.comb += rd.addr.eq(1)
        with m.If(count != 0):
            m.d.sync += count.eq(count - 1)
        with m.If(self.tick.valid & self.tick.ready):
            m.d.sync += [count.eq(COUNTDOWN), ticks.eq(ticks + 1)]
            with m.If(rd.data != 0):
                m.d.sync += [full.eq(1), held.eq(rd.data)]

        # cfg: read accepted in c -> resp_valid from c+2
        req = self.cfg_req.payload
        stage, resp_valid, resp, raddr = Signal(), Signal(), Signal(32), Signal(32)
        m.d.comb += self.cfg_req.ready.eq(~busy & ~stage & ~resp_valid)
        m.d.comb += [self.cfg_resp.valid.eq(resp_valid), self.cfg_resp.payload.eq(resp)]
        is_reg = lambda a: (a >> 4) == 0  # tile (0, 0) param offsets 0..15 = address 0..15
        regs_rd = regs.read_port(domain="comb")
        m.d.comb += regs_rd.addr.eq(raddr[:4])
        with m.If(self.cfg_req.valid & self.cfg_req.ready):
            with m.If(req.write):
                m.d.comb += [wr.addr.eq(req.addr[:4]), wr.data.eq(req.data), wr.en.eq(is_reg(req.addr))]
            with m.Else():
                m.d.sync += [stage.eq(1), raddr.eq(req.addr)]
        with m.If(stage):
            m.d.sync += [stage.eq(0), resp_valid.eq(1)]
            with m.If(is_reg(raddr)):
                m.d.sync += resp.eq(regs_rd.data)
            with m.Elif(raddr == spec.chip_addr("ticks")):
                m.d.sync += resp.eq(ticks)
            with m.Elif(raddr == spec.chip_addr("busy_cycles")):
                m.d.sync += resp.eq(busy_cycles)
            with m.Else():
                m.d.sync += resp.eq(0)
        with m.If(self.cfg_resp.valid & self.cfg_resp.ready):
            m.d.sync += resp_valid.eq(0)
        return m


@pytest.fixture(scope="module")
def stub_model():
    from neuromesh.tools.cosim import engine as rtl_engine, simulator
    if shutil.which("verilator") is None:
        try:
            simulator.toolchain_env()
        except spec.NeuroMeshError as e:
            pytest.skip(str(e))
    text = simulator.verilog_of(StubChip(), rtl_engine.TOPLEVEL)
    return rtl_engine.build_model(P, verilog=text, label="stub-chip")


def _run(stub_model, jobs, tmp_path):
    from neuromesh.tools.cosim import engine as rtl_engine
    return rtl_engine.run_jobs(P, jobs, model=stub_model, workdir=tmp_path)


REG1 = spec.tile_addr(0, 0, "param", 1)
F1, F2, F3 = spec.pack_flit(5, 0, 0), spec.pack_flit(6, 0, 0), spec.host_flit(7, 0, 0)


def test_standard_host_timing_on_stub(stub_model, tmp_path):
    from neuromesh.tools.cosim.engine import Job
    jobs = [
        # A: two silent ticks. h1 = 0 (s1 = 0, no flits), busy 1..3, q1 = 4; h2 = 4, q2 = 8.
        Job("silent", [], [[], []]),
        # B: two input flits back to back. f1 accepted in 0 and out in 1 (register empties at 2);
        # f2 offered from 1, accepted in 2, out in 3; tick.valid from 3 but busy until 3, so
        # h1 = 4, q1 = 8; tick 2 has no input: h2 = 8, q2 = 12. busy: 1, 3, 5-7, 9-11 = 8 cycles.
        Job("loopback", [], [[F1, F2], []]),
        # C: register 1 holds F3, so every tick puts F3 out in h+1. The image is one write.
        Job("tick-flit", [(REG1, F3)], [[], [F1]]),
    ]
    a, b, c = _run(stub_model, jobs, tmp_path)
    for r in (a, b, c):
        assert "error" not in r, r
    assert (a["handshakes"], a["completions"], a["out_flits"], a["host_flits"]) == ([0, 4], [4, 8], [], 0)
    assert a["counters"]["chip"] == {"ticks": 2, "busy_cycles": 6}
    assert (b["handshakes"], b["completions"], b["host_flits"]) == ([4, 8], [8, 12], 2)
    assert b["out_flits"] == [[1, F1], [3, F2]]
    assert b["counters"]["chip"] == {"ticks": 2, "busy_cycles": 8}
    # C: tick 1 at 0, F3 out in 1, busy 1..3, q1 = 4. Tick 2's input F1 accepted in 4, out in 5,
    # tick.valid from 5, busy in 5 (register) -> h2 = 6, F3 out in 7, busy 7..9, q2 = 10.
    # Job C runs after A and B in the same process: a fresh reset, counters from 0.
    assert (c["handshakes"], c["completions"]) == ([0, 6], [4, 10])
    assert c["out_flits"] == [[1, F3], [5, F1], [7, F3]]
    assert c["counters"]["chip"] == {"ticks": 2, "busy_cycles": 3 + 1 + 3}


def _expected_with_host(host: HostBehaviour, tick_inputs):
    """An independent cycle stepper of StubChip + the standard host (architecture section 7)."""
    full, held, count = False, 0, 0
    g, t, k = 0, 1, 0
    out, hs, qs = [], [], []
    idx, flits = 0, tick_inputs[0]
    next_offer = host.gap(0) if flits else None
    tick_from = None if flits else 0
    waiting = None
    while True:
        busy = full or count != 0
        if waiting is not None and k > waiting and not busy:
            qs.append(k)
            waiting = None
            t += 1
            if t > len(tick_inputs):
                return out, hs, qs
            flits, idx = tick_inputs[t - 1], 0
            next_offer, tick_from = (k + host.gap(g), None) if flits else (None, k)
        offer = waiting is None and idx < len(flits) and k >= next_offer
        tick_valid = waiting is None and tick_from is not None and k >= tick_from
        ready_out = host.out_ready(k)
        nfull, nheld, ncount = full, held, max(0, count - 1)
        if full and ready_out:
            out.append([k, held])
            nfull = False
        if offer and not full:
            nfull, nheld = True, flits[idx]
            idx += 1
            g += 1
            if idx < len(flits):
                next_offer = k + 1 + host.gap(g)
            else:
                tick_from = k + 1
        if tick_valid and not busy:
            hs.append(k)
            waiting, tick_from, ncount = k, None, COUNTDOWN
        full, held, count = nfull, nheld, ncount
        k += 1


@pytest.mark.parametrize("seed", [1, 2])
def test_standard_host_gaps_and_backpressure_on_stub(stub_model, tmp_path, seed):
    from neuromesh.tools.cosim.engine import Job
    import random
    rng = random.Random(seed)
    tick_inputs = [[spec.pack_flit(rng.randrange(4096), 0, 0) for _ in range(rng.randrange(5))]
                   for _ in range(12)]
    hosts = [HostBehaviour(seed=seed, out_ready_prob=0.4), HostBehaviour(seed=seed, max_gap=3),
             HostBehaviour(seed=seed, out_ready_prob=0.6, max_gap=2, gap_prob=0.8)]
    jobs = [Job(f"h{i}", [], tick_inputs, h) for i, h in enumerate(hosts)]
    results = _run(stub_model, jobs, tmp_path)
    for h, r in zip(hosts, results):
        out, hs, qs = _expected_with_host(h, tick_inputs)
        assert "error" not in r, r
        assert r["out_flits"] == out, h
        assert (r["handshakes"], r["completions"]) == (hs, qs), h
        assert r["host_flits"] == sum(map(len, tick_inputs))


def test_readback_mismatch_fails_loudly(stub_model, tmp_path):
    """param1 has no bits 31:30 (vth [16:0], bias_mant [29:17]); the stub stores them anyway, so
    the read-back differs and the job must stop with address, expected and read value."""
    from neuromesh.tools.cosim.engine import Job
    good = spec.PARAM_WORDS[1].pack(vth=100, bias_mant=-3)
    (r,) = _run(stub_model, [Job("bad", [(REG1, good | (3 << 30))], [[]])], tmp_path)
    assert "error" in r
    assert f"address {REG1:#010x}" in r["error"]
    assert f"expected {good:#010x}, read {good | (3 << 30):#010x}" in r["error"]


def test_timeout_is_reported(stub_model, tmp_path):
    """A budget smaller than a tick: the job ends with an error instead of hanging."""
    from neuromesh.tools.cosim.engine import Job
    (r,) = _run(stub_model, [Job("slow", [], [[]], max_cycles=2)], tmp_path)
    assert "not completed within the budget of 2" in r["error"]


def test_build_failure_is_one_line_error(tmp_path):
    """Bad Verilog: a NeuroMeshError naming the build log, not a traceback from the runner."""
    from neuromesh.tools.cosim import engine as rtl_engine
    with pytest.raises(spec.NeuroMeshError) as e:
        rtl_engine.build_model(P, verilog="module neuromesh_chip(input clk); syntax error here\n",
                               label="broken-chip")
    msg = str(e.value)
    assert "\n" not in msg and "build.log" in msg and "failed" in msg


def _case_files(tmp_path, name):
    """A hand-written regression case (tests/cases) as network and stimulus files."""
    from pathlib import Path
    c = json.loads((Path(__file__).parent / "cases" / f"{name}.json").read_text())
    net, stim = tmp_path / "network.json", tmp_path / "stimulus.json"
    net.write_text(json.dumps(c["network"]))
    stim.write_text(json.dumps(c["stimulus"]))
    return net, stim


def test_cli_run_engine_rtl_matches_golden(tmp_path):
    """`neuromesh run --engine rtl` end to end (1x1 regression mesh: the build is shared), with
    back-pressure and gaps, and an FST trace; the result equals the golden engine's."""
    from neuromesh.tools.cli import main
    net, stim = _case_files(tmp_path, "refractory_resets")
    host = ["--seed", "5", "--out-ready", "0.7", "--max-gap", "2", "-q"]
    waves = tmp_path / "waves.fst"
    fst = simulator_fst_available()  # without liblz4-dev the trace is skipped, the comparison is not
    assert main(["run", str(net), "--stimulus", str(stim), "-o", str(tmp_path / "rtl.json"),
                 "--engine", "rtl", *(["--waves", str(waves)] if fst else []), *host]) == 0
    assert main(["run", str(net), "--stimulus", str(stim), "-o", str(tmp_path / "golden.json"), *host]) == 0
    rtl = json.loads((tmp_path / "rtl.json").read_text())
    golden = json.loads((tmp_path / "golden.json").read_text())
    assert rtl["engine"] == "rtl" and golden["engine"] == "golden"
    for key in ("spikes", "stats", "output_flits", "handshakes", "completions", "counters"):
        assert rtl[key] == golden[key], key
    # the drive is strong enough that every neuron fires: the comparison is not vacuous
    assert sum(len(v) for v in rtl["spikes"].values()) > 12
    if fst:
        assert waves.stat().st_size > 1000 and waves.read_bytes()[:1] != b"$"  # FST, not VCD text


def test_cli_rtl_bad_network_exit_2(tmp_path, capsys):
    """A bad file stops before any build: one line, exit status 2."""
    from neuromesh.tools.cli import main
    net = tmp_path / "bad.json"
    net.write_text('{"format": "neuromesh-network/1", "populations": []}')
    stim = tmp_path / "s.json"
    stim.write_text('{"ticks": 1}')
    assert main(["run", str(net), "--stimulus", str(stim), "-o", str(tmp_path / "r.json"), "--engine", "rtl"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "populations" in err


def test_engine_run_interface_and_progress(stub_model):
    """`run(params, writes, tick_inputs, host, progress=...)` returns an EngineRun (the stub's
    silent ticks: h = 0, 4, 8; q = 4, 8, 12) and reports ticks 1..T in order."""
    from neuromesh.result import EngineRun
    from neuromesh.tools.cosim import engine as rtl_engine
    seen = []
    r = rtl_engine.run(P, [], [[], [], []], HostBehaviour(), progress=seen.append, model=stub_model)
    assert isinstance(r, EngineRun)
    assert (r.handshakes, r.completions, r.out_flits, r.host_flits) == ([0, 4, 8], [4, 8, 12], [], 0)
    assert r.counters["chip"] == {"ticks": 3, "busy_cycles": 9}
    assert seen == [1, 2, 3]


def test_bad_image_refused_before_simulation(stub_model, tmp_path):
    from neuromesh.tools.cosim.engine import Job
    bad = spec.tile_addr(0, 0, "core_cnt", 0)  # a read-only counter
    with pytest.raises(spec.NeuroMeshError, match="write 1: .*core_cnt"):
        _run(stub_model, [Job("bad", [(REG1, 1), (bad, 5)], [[]])], tmp_path)
    with pytest.raises(spec.NeuroMeshError, match="outside the 1x1 mesh"):
        _run(stub_model, [Job("bad", [(spec.tile_addr(1, 0, "param", 0), 5)], [[]])], tmp_path)


def simulator_fst_available() -> bool:
    from neuromesh.tools.cosim.simulator import fst_available
    return fst_available()


@pytest.mark.rtl
def test_a_build_left_broken_is_rebuilt_from_scratch(monkeypatch, tmp_path):
    """A compiler killed midway leaves object files that make trusts (newer than their sources):
    the next build must start again from an empty folder, not fail on them for ever."""
    import os
    from neuromesh.tools.cosim import simulator
    monkeypatch.setattr(simulator, "BUILD_ROOT", tmp_path)
    text = "module blinker(input clk, output reg q); always @(posedge clk) q <= ~q; endmodule\n"
    _runner, build_dir = simulator.build(text, "blinker", label="blinker")
    objects = sorted(build_dir.glob("*.o"))
    assert objects and (build_dir / "blinker").exists()
    later = objects[0].stat().st_mtime + 3600
    for obj in objects:                       # what a crash leaves: garbage make takes as done
        obj.write_bytes(b"\0garbage")
        os.utime(obj, (later, later))
    (build_dir / "blinker").unlink()
    (build_dir / ".built").unlink()
    _runner, again = simulator.build(text, "blinker", label="blinker")
    assert again == build_dir
    assert (build_dir / "blinker").exists() and all(o.read_bytes()[:8] != b"\0garbage" for o in objects)
    assert "Error" in (build_dir / "build.failed.log").read_text()     # why the first try failed
