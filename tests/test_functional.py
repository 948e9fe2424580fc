"""The functional engine (sim/functional/, `--engine functional`) against the golden model: the
same image and input flits must give exactly the same spikes, output flits per tick and every
counter of SPEC section 8 except the cycle ones, on every regression network (tests/cases/*.json
with their extra flits, netgen's random networks on every regression mesh, the examples) and on
random seeds; plus hand-worked checks of the per-link counts and asynchronous crossings, and the
result JSON's contract (no cycle or time fields, no static energy, and it says so)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import netgen
from neuromesh import spec
from neuromesh.engines import run_network
from neuromesh.host import HostBehaviour
from neuromesh.result import build_result
from neuromesh.sim import functional
from neuromesh.sim.engine import run as run_golden

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "tests" / "cases"
EXAMPLES = REPO / "examples"


def same_observations(params, writes, ticks, host=HostBehaviour(), clocks=None):
    """Run both engines on one image and input; assert every tick-level observation is equal
    (per-link loads and crossings of asynchronous links included)."""
    g = run_golden(params, writes, ticks, host, clocks=clocks)
    f = functional.run(params, writes, ticks, host, clocks=clocks)
    gc, fc = g.counters, f.counters
    assert fc["cores"] == gc["cores"]
    assert fc["links"] == gc["links"]
    assert fc["routers"] == gc["routers"]
    assert fc["chip"]["ticks"] == gc["chip"]["ticks"]
    assert f.host_flits == g.host_flits
    # output flits: the same flits in each tick (the order inside a tick is the chip's timing)
    tick_of = {}
    start = 0
    for t, q in enumerate(g.completions, start=1):
        for c in range(start, q):
            tick_of[c] = t
        start = q
    assert Counter(f.out_flits) == Counter((tick_of[c], flit) for c, flit in g.out_flits)
    # per-link loads (golden: sim/mesh.py Chip.link_loads) equal, link by link
    assert f.extras["links"] == g.extras["links"]
    return g, f


def _hand_cases():
    out = []
    for path in sorted(CASES.glob("*.json")):
        c = json.loads(path.read_text())
        out.append(pytest.param(c, id=path.stem))
    return out


@pytest.mark.parametrize("case", _hand_cases())
def test_hand_cases_equal_the_golden_model(case):
    from neuromesh.firmware.netfile import parse_network
    compiled, ticks = netgen.compile_case(case["network"], case["stimulus"])
    clocks = parse_network(case["network"]).clocks      # some cases have clock domains
    for t, flit in case.get("extra_flits", []):   # refused and host-bound flits from the host
        ticks[t - 1].append(flit)
    for k, host in enumerate(case.get("hosts", ["ready"])):
        behaviour = HostBehaviour(seed=k + 1, out_ready_prob=0.6 if "bp" in host else 1.0,
                                  max_gap=3 if "gap" in host else 0)
        same_observations(compiled.params, compiled.writes, ticks, behaviour, clocks)


@pytest.mark.parametrize("layout", sorted(netgen.LAYOUTS))
def test_clock_domain_layouts_equal_the_golden_model(layout):
    """The regression's clock layouts: crossings per asynchronous link equal the golden model's
    (and so, by the regression, the RTL's)."""
    mesh = netgen.LAYOUTS[layout][0]
    crossed = 0
    for seed in range(4):
        net, stim = netgen.random_case(mesh, seed)
        compiled, ticks = netgen.compile_case(net, stim)
        _name, clocks = netgen.random_clocks(layout, seed)
        g, _f = same_observations(compiled.params, compiled.writes, ticks, HostBehaviour(seed=seed), clocks)
        crossed += sum(link["crossed"] for link in g.counters["links"])
    assert crossed > 0


@pytest.mark.parametrize("mesh,seeds", [("1x1", range(0, 12)), ("2x2", range(0, 16)), ("3x2", range(0, 16)),
                                        ("4x4", range(0, 6)), ("2x2default", range(0, 2))])
def test_random_networks_equal_the_golden_model(mesh, seeds):
    fired = 0
    for seed in seeds:
        net, stim = netgen.random_case(mesh, seed)
        compiled, ticks = netgen.compile_case(net, stim)
        g, _f = same_observations(compiled.params, compiled.writes, ticks, HostBehaviour(seed=seed))
        fired += sum(c["spikes"] for c in g.counters["cores"])
    assert fired > 0   # the networks do something


def test_fresh_seeds_and_many_stimuli_at_once():
    """run_many (one image, stimuli batched on a leading axis) equals one golden run per stimulus,
    on seeds the regression does not use, with stimuli of different lengths mixed."""
    for seed in (5000, 5001, 5002):
        net, _stim = netgen.random_case("3x2", seed)
        rng = np.random.default_rng(seed)
        stims = []
        for k in range(5):
            ticks = int(rng.integers(3, 12))
            spikes = {}
            for p in net["populations"]:
                if p["kind"] == "input":
                    ev = {(int(rng.integers(1, ticks + 1)), int(rng.integers(0, p["size"]))) for _ in range(3 * p["size"])}
                    spikes[p["name"]] = sorted(map(list, ev))
            stims.append({"ticks": ticks, "spikes": spikes})
        inputs = [netgen.compile_case(net, s)[1] for s in stims]
        compiled = netgen.compile_case(net, stims[0])[0]
        many = functional.run_many(compiled.params, compiled.writes, inputs, batch=3)
        for ticks, f in zip(inputs, many):
            g = run_golden(compiled.params, compiled.writes, ticks)
            assert f.counters["cores"] == g.counters["cores"] and f.counters["routers"] == g.counters["routers"]
            assert sorted(f.out_flits) == sorted((t, flit) for t, flit in _ticked(g))


def _ticked(g):
    start, out = 0, []
    for t, q in enumerate(g.completions, start=1):
        out += [(t, flit) for c, flit in g.out_flits if start <= c < q]
        start = q
    return out


@pytest.mark.parametrize("name", ["tiny", "ring", "fanout"])
def test_examples_through_run_network(name):
    d = EXAMPLES / name
    g = run_network(d / "network.json", d / "stimulus.json")
    f = run_network(d / "network.json", d / "stimulus.json", engine="functional")
    assert f["spikes"] == g["spikes"]
    for key in ("sops", "updates", "spikes_fired", "flits", "flits_core", "flits_host", "flits_out", "hops",
                "hops_ew", "hops_ns", "errors"):
        assert f["stats"][key] == g["stats"][key], key
    # energy from the same counts, without the static part
    for event, pj in f["stats"]["energy_pj"].items():
        if event not in ("static", "total"):
            assert pj == g["stats"]["energy_pj"][event]
    assert f["stats"]["energy_pj"]["static"] == 0


def test_the_result_has_no_cycle_fields_and_says_so():
    d = EXAMPLES / "tiny"
    f = run_network(d / "network.json", d / "stimulus.json", engine="functional")
    s = f["stats"]
    for key in ("cycles", "tick_cycles", "busy_cycles", "latency_cycles", "time_ps"):
        assert key not in s
    assert "no cycle" in s["timing"] and "static energy" in s["timing"]
    assert "handshakes" not in f and "completions" not in f and "busy_cycles" not in f["counters"]["chip"]
    assert all("cycle" not in e and "latency" not in e for e in f["output_flits"])
    json.dumps(f)


@pytest.mark.parametrize("name", ["fanout", "two_chips"])
def test_output_flits_and_spikes_equal_the_golden_results_entry_by_entry(name):
    """The result's output flits (built from the engine's arrays) are the golden result's, each
    entry minus its cycle and time fields, the same multiset in every tick; spikes equal."""
    d = EXAMPLES / name
    g = run_network(d / "network.json", d / "stimulus.json")
    f = run_network(d / "network.json", d / "stimulus.json", engine="functional")
    assert f["output_flits"], "the example sends output flits"

    def key(e):
        return json.dumps(e, sort_keys=True)
    untimed = [{k: v for k, v in e.items() if k in ("flit", "tick", "population", "index")}
               for e in g["output_flits"]]
    assert sorted(map(key, f["output_flits"])) == sorted(map(key, untimed))
    # and the keys in the golden result's order (the JSON text, not only its meaning)
    assert {tuple(e) for e in f["output_flits"]} == {tuple(e) for e in untimed}
    assert f["spikes"] == g["spikes"]


def test_output_flits_the_map_does_not_name_keep_flit_and_tick_only():
    """Hand-made run: flit 7 is a neuron of `n` (recorded), 9 of `m` (not recorded), 5 unknown."""
    from neuromesh.result import EngineRun
    from neuromesh.sim.functional.engine import TickFlits
    p = spec.HwParams(width=1, height=1, neurons_per_core=4, axons_per_core=4, synapses_per_core=8,
                      routes_per_core=4)
    ran = functional.run(p, [], [[], []])
    flits = TickFlits([2, 1, 2, 2], [7, 5, 9, 7])
    assert flits == [(2, 7), (1, 5), (2, 9), (2, 7)] and len(flits) == 4 and flits[1] == (1, 5)
    run = EngineRun(out_flits=flits, handshakes=[], completions=[], counters=ran.counters, host_flits=0,
                    extras=ran.extras, timed=False)
    chip_map = {"outputs": {"7": ["n", 3], "9": ["m", 0]}}
    pops = [{"name": "n", "kind": "lif", "record": True}, {"name": "m", "kind": "lif"}]
    r = build_result(run, engine="functional", params=p, chip_map=chip_map, populations=pops, stimulus={}, ticks=2)
    assert r["output_flits"] == [{"flit": 7, "tick": 2, "population": "n", "index": 3}, {"flit": 5, "tick": 1},
                                 {"flit": 9, "tick": 2, "population": "m", "index": 0},
                                 {"flit": 7, "tick": 2, "population": "n", "index": 3}]
    assert [list(e) for e in r["output_flits"]][0] == ["flit", "tick", "population", "index"]
    assert r["spikes"] == {"n": [[2, 3], [2, 3]]}


def _line_network(width, record=True):
    """One input neuron driving one neuron on the east end of a 1-row mesh, which is recorded:
    every input spike crosses width-1 links east, every output spike width-1 links west."""
    return {"format": "neuromesh-network/2",
            "hardware": {"width": width, "height": 2, "neurons_per_core": 4, "axons_per_core": 4,
                         "synapses_per_core": 8, "routes_per_core": 4},
            "populations": [{"name": "in", "kind": "input", "size": 1},
                            {"name": "n", "kind": "lif", "size": 1, "du": 4095, "vth": 0, "record": record,
                             "placement": [width - 1, 1]}],
            "projections": [{"pre": "in", "post": "n", "weights": [[5]]}]}


def test_hand_worked_link_counts_and_asynchronous_crossings():
    """3x2 mesh, neuron at (2, 1); 4 input spikes: each flit goes (0,0) -E-> (1,0) -E-> (2,0) -N->
    (2,1); the neuron fires 4 times (vth 0), each host flit goes (2,1) -W-> (1,1) -W-> (0,1) -S->
    (0,0) -> host. With domain 1 = column x = 2 (tiles (2,0), (2,1)), the links (1,0)->(2,0) and
    (2,1)->(1,1) are asynchronous: 4 + 4 crossings; the others are not."""
    raw = _line_network(3)
    raw["hardware"]["domains"] = [{"tiles": [2, 0, 2, 1], "period_ps": 7000}]
    stim = {"ticks": 5, "spikes": {"in": [[1, 0], [2, 0], [3, 0], [4, 0]]}}
    from neuromesh.firmware.netfile import parse_network
    net = parse_network(raw)
    compiled, ticks = netgen.compile_case(raw, stim)
    f = functional.run(compiled.params, compiled.writes, ticks, clocks=net.clocks)
    load = {(tuple(l["from"]) if l["from"] != "host" else "host", tuple(l["to"]) if l["to"] != "host" else "host"):
            (l["flits"], l.get("asynchronous", False)) for l in f.extras["links"]}
    assert load[((0, 0), (1, 0))] == (4, False)
    assert load[((1, 0), (2, 0))] == (4, True)
    assert load[((2, 0), (2, 1))] == (4, False)
    assert load[((2, 1), (1, 1))] == (4, True)
    assert load[((1, 1), (0, 1))] == (4, False)
    assert load[((0, 1), (0, 0))] == (4, False)
    assert load[((0, 0), "host")] == (4, False)
    assert sum(n for (n, _a) in load.values()) - 4 - 4 == 24   # 6 links x 4 flits (minus host in/out)
    # the crossing counters, by receiving tile and input port (tile index order, then N, E, S, W):
    # every link between the two domains, both directions; only (2,0) west and (1,1) east carry
    assert f.counters["links"] == [{"tile": [1, 0], "port": "east", "crossed": 0},
                                   {"tile": [2, 0], "port": "west", "crossed": 4},
                                   {"tile": [1, 1], "port": "east", "crossed": 4},
                                   {"tile": [2, 1], "port": "west", "crossed": 0}]
    result = build_result(f, engine="functional", params=compiled.params, chip_map=compiled.map,
                          populations=net.populations, stimulus={"in": stim["spikes"]["in"]}, ticks=5,
                          clocks=net.clocks)
    assert result["stats"]["async_crossings"] == 8 and result["stats"]["hops"] == 24
    assert result["spikes"]["n"] == [[t, 0] for t in (1, 2, 3, 4)]   # SPEC 2: an input acts in its tick
    # one domain: no crossing
    g = functional.run(compiled.params, compiled.writes, ticks, clocks=spec.Clocks())
    assert not any(l.get("asynchronous") for l in g.extras["links"]) and g.counters["links"] == []


def test_a_bad_image_is_refused_like_the_loader_does():
    from neuromesh.firmware.loader import LoadError
    params = spec.HwParams(width=1, height=1, neurons_per_core=4)
    with pytest.raises(LoadError, match=r"write 1: .*synapse target 9 is not a neuron of a 4-neuron core"):
        functional.run(params, [(spec.tile_addr(0, 0, "active", 0), 1),
                                (spec.tile_addr(0, 0, "synapse", 0), spec.SYNAPSE_WORD.pack(target=9, weight=1))],
                       [[]])
    with pytest.raises(LoadError, match=r"write 0: .*read-only core_cnt"):
        functional.run(params, [(spec.tile_addr(0, 0, "core_cnt", 0), 1)], [[]])


def test_progress_reports_ticks_rate_and_time_left():
    """`neuromesh run`'s progress (both engines call it once per tick): to a log file a line
    every 10% of the ticks, each with ticks done, rate and time left."""
    import io
    from neuromesh.tools.cli.run import Progress
    out = io.StringIO()
    p = Progress(40, "golden", stream=out)
    for t in range(1, 41):
        p(t)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("golden: tick 40/40, ") and lines[0].startswith("golden: tick 4/40")
    assert all("ticks/s" in l and "elapsed" in l and l.endswith(" left") for l in lines)
    quiet = io.StringIO()
    q = Progress(40, "golden", quiet=True, stream=quiet)
    q(40)
    assert quiet.getvalue() == ""


def test_the_digits_workloads_private_model_equals_the_engine():
    """tools/workloads/digits/model.py `simulate` (SPEC 3 on dense matrices, its own code) and this
    engine on the compiled digits network give the same hidden and output rasters on test
    images: the workload can switch to `spike_rasters(run_many(...))`."""
    pytest.importorskip("sklearn")
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import parse_network, parse_stimulus
    from neuromesh.result import tick_inputs
    from neuromesh.tools.workloads.digits import model as dm
    from neuromesh.tools.workloads.digits import net as dn
    data = dm.load_data(0)
    snn = dm.convert(dm.train(data, seed=0), data)
    raw = dn.network_json(snn, "2x1", record_hidden=True)
    raw["hardware"]["routes_per_core"] = 2 * 32
    net = parse_network(raw, "<digits>")
    compiled = compile_network(net)
    enc = dm.encode(data.x_test[:12], 8, "poisson", 0, data.test_index[:12])
    ref = dm.simulate(snn, enc)
    inputs = [tick_inputs(parse_stimulus(dn.stimulus_json(enc[k], 9), net).spikes, compiled.map["inputs"], 9)
              for k in range(12)]
    rasters = functional.spike_rasters(functional.run_many(compiled.params, compiled.writes, inputs),
                                       compiled.map, 9)
    hidden, output = rasters[dn.HIDDEN], rasters[dn.OUTPUT]    # one population per layer
    assert np.array_equal(hidden, ref.hidden) and np.array_equal(output, ref.output)
    assert output.sum() > 20


@pytest.mark.long
def test_the_largest_configuration_runs_on_both_engines(tmp_path):
    """A 64 x 64 mesh of 4096-neuron cores (16.7 M neuron slots, the largest the format
    accepts) holding a small network: the golden model loads it and runs it without a
    MemoryError, and the functional engine agrees with it (several minutes: `make test-long`)."""
    side = 64
    net = {"format": "neuromesh-network/2",
           "hardware": {"width": side, "height": side, "neurons_per_core": 4096, "axons_per_core": 4096,
                        "synapses_per_core": 16384, "routes_per_core": 4096},
           "populations": [{"name": "in", "kind": "input", "size": 4},
                           {"name": "a", "kind": "lif", "size": 8, "du": 4095, "vth": 1, "record": True,
                            "placement": [side - 1, side - 1]}],
           "projections": [{"pre": "in", "post": "a", "weights": [[5] * 8] * 4}]}
    (tmp_path / "net.json").write_text(json.dumps(net))
    (tmp_path / "stim.json").write_text(json.dumps({"ticks": 4, "spikes": {"in": [[1, 0], [2, 1], [3, 2]]}}))
    g = run_network(tmp_path / "net.json", tmp_path / "stim.json", engine="golden")
    f = run_network(tmp_path / "net.json", tmp_path / "stim.json", engine="functional")
    assert g["spikes"] == f["spikes"] and g["spikes"]["a"][:2] == [[1, 0], [1, 1]]
    assert g["stats"]["hops"] == f["stats"]["hops"] == 3 * 2 * (side - 1) + 24 * 2 * (side - 1)


def test_the_golden_models_tick_level_expectations_hold():
    """tests/test_compiler.py's tick-level expectations, written for the golden model, on this
    engine: its independent SPEC 2-3 reference (`reference_spikes`, straight from the network
    JSON) under every placement variant, and examples/README.md's hand calculation of tiny."""
    import test_compiler as tc
    from neuromesh.firmware.netfile import parse_network, parse_stimulus
    from neuromesh.result import tick_inputs
    for _name, raw, stim in tc._golden_cases():
        expected = tc.reference_spikes(raw, stim)
        for variant in tc.placement_variants(raw, 7).values():
            net = parse_network(variant, "<case>")
            compiled = tc.compile_raw(variant)
            s = parse_stimulus(stim, net)
            run = functional.run(compiled.params, compiled.writes, tick_inputs(s.spikes, compiled.map["inputs"], s.ticks))
            result = build_result(run, engine="functional", params=compiled.params, chip_map=compiled.map,
                                  populations=net.populations, stimulus=s.spikes, ticks=s.ticks)
            assert result["spikes"] == expected and result["stats"]["errors"] == 0
    result = run_network(EXAMPLES / "tiny" / "network.json", EXAMPLES / "tiny" / "stimulus.json", engine="functional")
    exc = {0: [1, 2, 5, 8], 1: [2, 3, 7, 8], 2: [2, 5, 8]}
    out = {0: [2, 3, 4, 6, 8, 9], 1: [3, 6, 9]}
    assert result["spikes"]["exc"] == sorted([t, i] for i, ts in exc.items() for t in ts)
    assert result["spikes"]["out"] == sorted([t, i] for i, ts in out.items() for t in ts)
