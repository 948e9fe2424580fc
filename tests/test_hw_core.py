"""The neuron core (hw/neuron_core.py): interface checks, the reference model against hand-worked
values, and the cocotb tests of tests/tb_core.py under Verilator on two builds (a small core and
the default size; each built once and cached by tools/simulator.py)."""
import json

import pytest

import lif_ref
from neuromesh import spec

SMALL = spec.HwParams(neurons_per_core=48, axons_per_core=24, synapses_per_core=256, routes_per_core=64)
DEFAULT = spec.HwParams()


# ---- the reference itself, against values worked by hand from SPEC section 3 -----------------
def test_lif_ref_hand_cases():
    assert lif_ref.dec(-4097, 4095) == -4095  # -(16777215 >> 12) = -4095: toward zero
    assert lif_ref.dec(4097, 4095) == 4095
    assert lif_ref.dec(-1, 4095) == 0
    assert lif_ref.wrap24(1 << 23) == -(1 << 23)
    assert lif_ref.sat16(40000) == 32767 and lif_ref.sat16(-40000) == -32768
    # IF neuron (du = 4095, dv = 0), subtractive reset: u = 1*64, v = 10 + 64 = 74 > 64: fires, v = 10.
    prm = dict(du=4095, dv=0, vth=1, bias_mant=0, bias_exp=0, refractory=2, reset=1)
    assert lif_ref.lif_step(prm, 5, 10, 0, 1) == (64, 10, 2, True)
    # Refractory: v forced to 0, r counts down, no spike.
    assert lif_ref.lif_step(prm, 0, 10, 2, 1) == (64, 0, 1, False)
    # Bias exponent: -3 << 5 = -96; dv = 4095 leaves dec(1000, 1) = 0.
    prm = dict(du=0, dv=4095, vth=100, bias_mant=-3, bias_exp=5, refractory=0, reset=0)
    assert lif_ref.lif_step(prm, 0, 1000, 0, 0) == (0, -96, 0, False)
    # wrap of u: (2^23-1)*4095 >> 12 = 8386559, + 32767*64 = 10483647 -> 10483647 - 2^24.
    prm = dict(du=0, dv=0, vth=(1 << 17) - 1, bias_mant=0, bias_exp=0, refractory=0, reset=0)
    assert lif_ref.lif_step(prm, (1 << 23) - 1, 0, 0, 40000)[0] == -6293569
    # clipv, then the largest threshold (131071 * 64 = 8388544) crossed, subtractive reset: 63.
    prm = dict(du=0, dv=0, vth=(1 << 17) - 1, bias_mant=4095, bias_exp=7, refractory=0, reset=1)
    assert lif_ref.lif_step(prm, 0, (1 << 23) - 1, 0, 32767) == (2097088, 63, 0, True)


# ---- interface --------------------------------------------------------------------------------
@pytest.mark.parametrize("params", [SMALL, DEFAULT, spec.HwParams(neurons_per_core=1, axons_per_core=1,
                                    synapses_per_core=1, routes_per_core=1),
                                    spec.HwParams(neurons_per_core=4096, axons_per_core=4096,
                                    synapses_per_core=16384, routes_per_core=4096)],
                         ids=["small", "default", "min", "max"])
def test_interface_widths(params):
    from amaranth.lib import wiring
    from neuromesh.hw.neuron_core import NeuronCore
    core = NeuronCore(params)
    sig = core.signature.members
    assert sig["inp"].flow == wiring.In and sig["out"].flow == wiring.Out
    assert len(core.inp.payload.as_value()) == spec.FLIT_WIDTH == len(core.out.payload.as_value())
    assert len(core.cfg.rdata) == 32 and len(core.tick_start) == 1 and len(core.idle) == 1
    from amaranth.hdl import Fragment
    Fragment.get(core, None)  # it elaborates


@pytest.mark.parametrize("init, field", [
    ({"core_cnt": {0: 1}}, "init"),
    ({"param": {2 * SMALL.neurons_per_core: 0}}, "init.param"),
    ({"route": {0: 1 << 32}}, "init.route[0]"),
    ({"axon": [1, 2]}, "init.axon"),
])
def test_bad_init_is_refused(init, field):
    from neuromesh.hw.neuron_core import NeuronCore
    with pytest.raises(spec.ConfigError) as e:
        NeuronCore(SMALL, init)
    assert e.value.field == field


def test_bad_params_are_refused():
    from neuromesh.hw.neuron_core import NeuronCore
    with pytest.raises(spec.NeuroMeshError):
        NeuronCore({"neurons_per_core": 4})


def test_init_is_baked_into_the_memories():
    """`init` words read back over cfg (Amaranth's simulator), masked by their layouts; a synapse
    word outside the contract (a target past the neurons) keeps only the target bits the core's
    size needs (architecture.md section 6)."""
    from amaranth.sim import Simulator
    from neuromesh.hw.neuron_core import NeuronCore
    tiny = spec.HwParams(neurons_per_core=4, axons_per_core=4, synapses_per_core=8, routes_per_core=8)
    axon = spec.AXON_WORD.pack(ptr=5, len=3, wexp=7)
    synapse = spec.SYNAPSE_WORD.pack(target=3, weight=-128)
    rlist = spec.RLIST_WORD.pack(ptr=2, len=6)
    init = {"param": {0: 0xFFFFFFFF, 3: 0xFFFFFFFF}, "state": {1: 0xFFFFFFFF, 6: 0x00ABCDEF},
            "acc1": {2: 0xFFFFFFFF}, "axon": {3: 0x12345678, 0: axon}, "synapse": {7: 0xFFFFFFFF, 6: synapse},
            "rlist": {1: 0xFFFFFFFF, 2: rlist}, "route": {5: 0xFFFFFFFF}, "active": {0: 3}}
    # Expected by hand from docs/architecture.md section 6: the fields' bits only. A synapse
    # target past the 4 neurons (outside the contract) keeps its 2 low bits.
    want = {("param", 0): 0xFFFFFFFF, ("param", 3): (1 << 30) - 1, ("param", 1): 0,
            ("state", 1): (1 << 28) - 1, ("state", 6): 0x00ABCDEF, ("acc1", 2): (1 << tiny.acc_width) - 1,
            ("acc0", 2): 0, ("axon", 0): axon, ("axon", 3): 0x12345678, ("synapse", 6): synapse,
            ("synapse", 7): (0xFF << 12) | 3, ("rlist", 2): rlist, ("rlist", 1): (1 << 25) - 1,
            ("route", 5): (1 << 25) - 1, ("route", 4): 0, ("active", 0): 3}
    core = NeuronCore(tiny, init)
    got = {}

    async def bench(ctx):
        for (region, offset) in want:
            ctx.set(core.cfg.region, spec.REGION[region])
            ctx.set(core.cfg.offset, offset)
            ctx.set(core.cfg.re, 1)
            await ctx.tick()
            ctx.set(core.cfg.re, 0)
            await ctx.tick().repeat(2)     # answered three cycles after re (hw/cfg_bus.py)
            got[(region, offset)] = ctx.get(core.cfg.rdata)

    sim = Simulator(core)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert got == want


@pytest.mark.parametrize("n", [1, 3])
def test_tiny_core(n):
    """The smallest tables (1 axon, 1 synapse, 1 route entry; N = 1 and 3), in Amaranth's
    simulator, from an `init` image: the last neuron fires in h+7+(N-1) (architecture.md 4.3)
    and sends its flit at h+14+(N-1) (4.4), idle is low exactly h+1 ... h+14+(N-1); then one flit
    adds -3 << 2 into the filling slot (acc1 after one tick) and idle is low exactly c+1 ... c+6
    (len 1: its write in c+6, 4.2)."""
    from amaranth.sim import Simulator
    from neuromesh.hw.neuron_core import NeuronCore
    tiny = spec.HwParams(neurons_per_core=n, axons_per_core=1, synapses_per_core=1, routes_per_core=1)
    last = n - 1
    silent = spec.PARAM_WORDS[1].pack(vth=(1 << 17) - 1)
    flit = spec.host_flit(77, 1, 2)
    init = {"param": {**{2 * k + 1: silent for k in range(n)}, 2 * last: spec.PARAM_WORDS[0].pack(du=4095, dv=4095),
                      2 * last + 1: spec.PARAM_WORDS[1].pack(vth=0, bias_mant=1)},
            "rlist": {last: spec.RLIST_WORD.pack(ptr=0, len=1)}, "route": {0: flit},
            "axon": {0: spec.AXON_WORD.pack(ptr=0, len=1, wexp=2)},
            "synapse": {0: spec.SYNAPSE_WORD.pack(target=last, weight=-3)}, "active": {0: n}}
    core = NeuronCore(tiny, init)
    seen = {"out": [], "idle": [], "in": []}

    async def bench(ctx):
        ctx.set(core.out.ready, 1)
        for cyc in range(20 + n):          # tick in cycle 0
            ctx.set(core.tick_start, int(cyc == 0))
            ctx.set(core.tick_flip, int(cyc == 0))
            if ctx.get(core.out.valid):
                seen["out"].append((cyc, ctx.get(core.out.payload.as_value())))
            seen["idle"].append(ctx.get(core.idle))
            await ctx.tick()
        ctx.set(core.tick_start, 0)
        ctx.set(core.tick_flip, 0)
        ctx.set(core.inp.payload.axon, 0)
        for cyc in range(9):               # the flit is offered in cycle 0
            ctx.set(core.inp.valid, int(cyc == 0))
            if cyc == 0:
                seen["in"].append(ctx.get(core.inp.ready))
            seen["idle"].append(ctx.get(core.idle))
            await ctx.tick()
        ctx.set(core.inp.valid, 0)
        ctx.set(core.cfg.region, spec.REGION["acc1"])
        ctx.set(core.cfg.offset, last)
        ctx.set(core.cfg.re, 1)
        await ctx.tick()
        ctx.set(core.cfg.re, 0)
        await ctx.tick().repeat(2)
        seen["acc"] = ctx.get(core.cfg.rdata)

    sim = Simulator(core)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen["out"] == [(14 + last, flit)]
    tick_idle, flit_idle = seen["idle"][:20 + n], seen["idle"][20 + n:]
    assert tick_idle == [1] + [0] * (14 + last) + [1] * (20 + n - 15 - last)
    assert seen["in"] == [1] and flit_idle == [1, 0, 0, 0, 0, 0, 0, 1, 1]
    assert seen["acc"] == (-12) & ((1 << tiny.acc_width) - 1)


# ---- RTL ----------------------------------------------------------------------------------------
_BUILDS = {}


def _build(params, init=None):
    from neuromesh.hw.neuron_core import NeuronCore
    from neuromesh.tools.cosim import simulator
    key = (params, json.dumps(init, sort_keys=True))
    if key not in _BUILDS:
        text = simulator.verilog_of(NeuronCore(params, init), "neuron_core")
        _BUILDS[key] = simulator.build(text, "neuron_core", label=f"core-{params.key()}")
    return _BUILDS[key]


def _run(params, testcase, tmp_path, **env):
    from neuromesh.tools.cosim import simulator
    runner, build_dir = _build(params)
    extra = {"NM_PARAMS": json.dumps(params.to_dict()), **{k: str(v) for k, v in env.items()}}
    log = tmp_path / "sim.log"
    try:
        tests, failed, _xml = simulator.run_tests(runner, build_dir, "neuron_core", "tb_core", testcase=testcase,
                                               extra_env=extra, test_dir=tmp_path)
    except SystemExit:  # cocotb's runner exits when a test fails: show why
        tests, failed = 1, 1
    if failed:
        why = [ln.strip() for ln in log.read_text().splitlines() if "Error" in ln or "assert" in ln]
        pytest.fail(f"{testcase}: {failed} of {tests} failed ({log}): " + " | ".join(why[-4:]))
    assert tests == 1


# 209 ticks x 48 neurons = 10,032 updates on the small core, 8 x 256 on the default one.
@pytest.mark.rtl
@pytest.mark.parametrize("params, ticks", [(SMALL, 209), (DEFAULT, 8)], ids=["small", "default"])
def test_arithmetic(params, ticks, tmp_path):
    _run(params, "arithmetic", tmp_path, NM_ARITH_TICKS=ticks, NM_SEED=11)


@pytest.mark.rtl
@pytest.mark.parametrize("params", [SMALL, DEFAULT], ids=["small", "default"])
def test_config_readback(params, tmp_path):
    _run(params, "config_readback", tmp_path, NM_SEED=12)


@pytest.mark.rtl
@pytest.mark.parametrize("params", [SMALL, DEFAULT], ids=["small", "default"])
def test_timing(params, tmp_path):
    _run(params, "timing", tmp_path, NM_SEED=13)


@pytest.mark.rtl
def test_active_count(tmp_path):
    _run(SMALL, "active_count", tmp_path, NM_SEED=16)


@pytest.mark.rtl
def test_synapse_throughput(tmp_path):
    _run(SMALL, "synapse_throughput", tmp_path, NM_SEED=14)


@pytest.mark.rtl
def test_backpressure(tmp_path):
    _run(SMALL, "backpressure", tmp_path, NM_SEED=15, NM_BP_TICKS=12)


# ---- soak (make test-long) ---------------------------------------------------------------------
@pytest.mark.rtl
@pytest.mark.long
@pytest.mark.parametrize("seed", [101, 102, 103])
def test_soak(seed, tmp_path):
    """More seeds and ticks of the random tests: ~100k updates, 200 back-pressured ticks."""
    for testcase in ("arithmetic", "backpressure", "synapse_throughput", "timing"):
        _run(SMALL, testcase, tmp_path / testcase, NM_SEED=seed, NM_ARITH_TICKS=2000, NM_BP_TICKS=200)
