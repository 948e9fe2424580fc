"""The handwritten-digits workload: conversion, the functional model (against hand-worked SPEC
section 3 values), the input codes, the predicted event counts, and a few images end to end on
the golden model (and the RTL) against the functional model."""

import numpy as np
import pytest

from neuromesh import spec
from neuromesh.firmware.compiler import compile_network
from neuromesh.firmware.netfile import load_network, parse_network
from neuromesh.tools.workloads.digits import model as dm
from neuromesh.tools.workloads.digits import net as dn
from neuromesh.tools.workloads.digits.pipeline import decision_cycle, sparsest


@pytest.fixture(scope="module")
def trained():
    data = dm.load_data(0)
    net = dm.train(data, seed=0)
    return data, net, dm.convert(net, data)


def _layer(n, **kw):
    base = {"du": 0, "dv": 0, "vth": 0, "bias_mant": 0, "bias_exp": 0, "refractory": 0, "reset": 0}
    base.update(kw)
    arr = {k: np.array(v if isinstance(v, list) else [v] * n, np.int64) for k, v in base.items()}
    return dm.LifLayer(weights=np.zeros((1, n), np.int64), weight_exp=0, **arr)


def _state(n):
    return {k: np.zeros((1, n), np.int64) for k in "uvr"}


# ----------------------------------------------------------------------------------------------
# SPEC section 3 by hand


def test_lif_step_matches_hand_worked_spec_section_3():
    # Neuron 0: du 2048, dv 1024, vth 3, bias -5 << 2, refractory 1, reset by subtraction.
    # Neuron 1: the same decays, no bias, reset to zero; it sees the negative current.
    layer = _layer(2, du=2048, dv=1024, vth=3, bias_mant=[-5, 0], bias_exp=[2, 0], refractory=[1, 0],
                   reset=[1, 0])
    st = _state(2)
    # tick 1: acc = +14 / -14.  u = 14 << 6 = 896; v = 896 - 20 = 876 > 192: spike, v = 684, r = 1.
    # neuron 1: u = v = -896, no spike.
    fire = dm.lif_step(layer, st, np.array([[14, -14]]))
    assert fire.tolist() == [[True, False]]
    assert st["u"].tolist() == [[896, -896]] and st["v"].tolist() == [[684, -896]] and st["r"].tolist() == [[1, 0]]
    # tick 2, no input.  u: 896 * 2047 >> 12 = 447; v: 684 * 3072 >> 12 = 513, + 447 - 20 = 940,
    # but r = 1: v = 0, r = 0.  Neuron 1 rounds toward zero: u = -447 (not -448),
    # v = -(896 * 3072 >> 12) - 447 = -672 - 447 = -1119.
    fire = dm.lif_step(layer, st, np.array([[0, 0]]))
    assert fire.tolist() == [[False, False]]
    assert st["u"].tolist() == [[447, -447]] and st["v"].tolist() == [[0, -1119]] and st["r"].tolist() == [[0, 0]]
    # tick 3: u = 447 * 2047 >> 12 = 223; v = 0 + 223 - 20 = 203 > 192: spike, v = 11, r = 1.
    # Neuron 1: u = -223; v = -(1119 * 3072 >> 12) - 223 = -839 - 223 = -1062.
    fire = dm.lif_step(layer, st, np.array([[0, 0]]))
    assert fire.tolist() == [[True, False]]
    assert st["u"].tolist() == [[223, -223]] and st["v"].tolist() == [[11, -1062]] and st["r"].tolist() == [[1, 0]]


def test_lif_step_saturates_the_current_and_clips_v():
    # du 4095, dv 0 (integrate and fire), largest threshold, reset to zero.  acc 48768 saturates
    # to 32767, so u = 32767 << 6 = 2097088 every tick and v climbs by that much:
    # 2097088, 4194176, 6291264, 8388352 (< 131071 << 6 = 8388544), then clipv(10485440) = 8388607,
    # which fires and resets to 0.
    layer = _layer(1, du=4095, vth=131071)
    st = _state(1)
    vs, fired = [], []
    for _ in range(5):
        fired.append(bool(dm.lif_step(layer, st, np.array([[48768]]))[0, 0]))
        vs.append(int(st["v"][0, 0]))
    assert fired == [False, False, False, False, True]
    assert vs == [2097088, 4194176, 6291264, 8388352, 0]
    assert int(st["u"][0, 0]) == 2097088
    # and a negative acc below -32768 saturates to -32768
    st = _state(1)
    dm.lif_step(layer, st, np.array([[-40000]]))
    assert int(st["u"][0, 0]) == -32768 * 64


def test_simulate_delays_each_layer_by_one_tick():
    # 1 input -> 1 hidden -> 1 output, integrate-and-fire, vth 0 (fires when v > 0), reset to zero.
    # Input spikes in ticks 1 and 3: the hidden neuron fires in ticks 1 and 3 and the output
    # neuron in ticks 2 and 4 (SPEC section 2: a spike of tick t acts in tick t + 1).
    hid = _layer(1, du=4095)
    hid.weights = np.array([[1]])
    out = _layer(1, du=4095)
    out.weights = np.array([[1]])
    snn = dm.Snn(hid, out)
    spikes = np.zeros((1, 4, 1), bool)
    spikes[0, [0, 2], 0] = True
    sim = dm.simulate(snn, spikes)
    assert sim.hidden[0, :, 0].tolist() == [True, False, True, False, False]
    assert sim.output[0, :, 0].tolist() == [False, True, False, True, False]


def test_classify_counts_then_first_spike_then_index():
    out = np.zeros((1, 4, 3), bool)
    out[0, [1, 2], 2] = True     # class 2: 2 spikes, first in tick 2
    out[0, [0, 3], 1] = True     # class 1: 2 spikes, first in tick 1 -> wins the tie
    assert dm.classify(out).tolist() == [1]
    out[0, 0, 2] = True          # class 2: 3 spikes -> wins on count
    assert dm.classify(out).tolist() == [2]
    assert dm.classify(np.zeros((1, 4, 3), bool)).tolist() == [0]


def test_decision_cycle_is_where_the_running_count_settles():
    flits = [{"cycle": 10, "population": dn.OUTPUT, "index": 3}, {"cycle": 20, "population": dn.OUTPUT, "index": 5},
             {"cycle": 30, "population": dn.OUTPUT, "index": 5}, {"cycle": 40, "population": dn.OUTPUT, "index": 3},
             {"cycle": 50, "population": dn.HIDDEN, "index": 5}]   # a probe's hidden flit is no vote
    # running leader: 3 (10), 3 (tie 1-1, 3 spiked first: 20), 5 (30), 3 (tie 2-2, first: 40)
    assert decision_cycle(flits, 3, 10) == 40
    assert decision_cycle(flits[:3], 5, 10) == 30
    assert decision_cycle([], 0, 10) is None


# ----------------------------------------------------------------------------------------------
# Encoding


def test_encoding_is_seeded_and_independent_of_the_batch():
    px = np.array([[0, 16, 8, 4] * 16, [16] * 64])
    a = dm.encode(px, 12, "poisson", seed=3, image_ids=np.array([5, 9]))
    b = dm.encode(px[1:], 12, "poisson", seed=3, image_ids=np.array([9]))
    assert np.array_equal(a[1], b[0])
    assert np.array_equal(a, dm.encode(px, 12, "poisson", seed=3, image_ids=np.array([5, 9])))
    assert not np.array_equal(a, dm.encode(px, 12, "poisson", seed=4, image_ids=np.array([5, 9])))
    assert not a[0][:, 0].any() and a[0][:, 1].all() and a[1].all()   # rates 0 and 1 are exact


def test_regular_code_fires_round_t_p_over_16_times_evenly():
    px = np.arange(17)[None, :]
    for t in (1, 3, 8, 16):
        enc = dm.encode(px, t, "regular")
        counts = enc.sum(axis=1)[0]
        assert counts.tolist() == [int(np.floor(t * p / 16 + 0.5)) for p in range(17)]
    enc = dm.encode(np.array([[8]]), 8, "regular")[0, :, 0]   # rate 1/2: every other tick
    assert enc.tolist() == [True, False, True, False, True, False, True, False]
    with pytest.raises(spec.NeuroMeshError):
        dm.encode(px, 4, "morse")


# ----------------------------------------------------------------------------------------------
# Training, quantisation, conversion


def test_training_and_int8_reach_the_target(trained):
    data, net, _snn = trained
    assert np.mean(net.predict(data.x_test) == data.y_test) >= 0.95
    q = dm.quantise(net, data)
    assert np.abs(q.w1).max() <= 127 and np.abs(q.w2).max() <= 127
    assert q.macs == 64 * 32 + 32 * 10
    assert np.mean(q.predict(data.x_test) == data.y_test) >= 0.95
    # the split is stratified: every class in the test split in proportion
    counts = np.bincount(data.y_test, minlength=10)
    assert counts.min() >= 40 and len(data.y_test) == 450


def test_conversion_fits_the_spec_fields(trained):
    _data, _net, snn = trained
    for layer in (snn.hidden, snn.output):
        assert np.abs(layer.weights).max() <= 127
        assert 0 <= layer.weight_exp <= 7
        worst = np.abs(layer.weights).sum(axis=0).max() << layer.weight_exp
        assert worst <= 32767                                    # sat16 never clips
        assert (layer.bias_mant >= -4096).all() and (layer.bias_mant <= 4095).all()
        assert (layer.bias_exp >= 0).all() and (layer.bias_exp <= 7).all()
        assert (layer.vth > 0).all() and (layer.vth < 1 << 17).all()
        assert (layer.du == 4095).all() and (layer.dv == 0).all() and (layer.reset == 1).all()


def test_split_bias_uses_the_smallest_exponent():
    mant, exp = dm.split_bias(np.array([100.0, -4096.0, 4096.0, 10000.0, -300000.0]))
    assert mant.tolist() == [100, -4096, 2048, 2500, -2344]
    assert exp.tolist() == [0, 0, 1, 2, 7]
    with pytest.raises(spec.NeuroMeshError):
        dm.split_bias(np.array([4096.0 * 128]))


def test_network_file_is_valid_and_placed_on_two_tiles(trained, tmp_path):
    _data, _net, snn = trained
    path = dn.write_json(tmp_path / "net.json", dn.network_json(snn, "2x1"))
    net = load_network(path)
    assert [p["name"] for p in net.populations] == [dn.INPUT, dn.HIDDEN, dn.OUTPUT]   # one per layer
    compiled = compile_network(net)
    place = compiled.map["placement"]
    assert {tuple(w[:2]) for w in place[dn.HIDDEN]} == {(1, 0)} and len(place[dn.HIDDEN]) == 32
    assert {tuple(w[:2]) for w in place[dn.OUTPUT]} == {(0, 0)} and len(place[dn.OUTPUT]) == 10
    # every weight of the conversion is a synapse, nothing else
    syn = {}
    for pr in net.projections:
        for i, j, w in pr["synapses"]:
            syn[(pr["pre"], i, pr["post"], j)] = (w, pr["weight_exp"])
    assert len(syn) == np.count_nonzero(snn.hidden.weights) + np.count_nonzero(snn.output.weights)
    i, j = np.argwhere(snn.hidden.weights)[0]
    assert syn[(dn.INPUT, i, dn.HIDDEN, j)] == (snn.hidden.weights[i, j], snn.hidden.weight_exp)
    p = net.population(dn.HIDDEN)["params"]   # per-neuron lists where the neurons differ
    assert {k: (v[5] if isinstance(v, list) else v) for k, v in p.items()} == snn.hidden.params(5)
    assert isinstance(p["bias_mant"], list) and p["du"] == 4095
    # one input spike = one flit, to the hidden core (1, 0)
    assert all(len(f) <= 1 for f in compiled.map["inputs"][dn.INPUT])
    f = next(f[0] for f in compiled.map["inputs"][dn.INPUT] if f)
    assert (spec.unpack_flit(f)["x"], spec.unpack_flit(f)["y"]) == (1, 0)
    # the 2x2 layout is valid too
    parse_network(dn.network_json(snn, "2x2"))


def _one_population_per_neuron(raw: dict) -> dict:
    """The same network with every lif neuron a population of its own, one projection per synapse
    in the original order (how a version 1 file gave each neuron its own parameters)."""
    out = {k: v for k, v in raw.items() if k not in ("populations", "projections")}
    out["format"] = "neuromesh-network/1"
    kinds = {p["name"]: p["kind"] for p in raw["populations"]}
    pops = []
    for p in raw["populations"]:
        if p["kind"] == "input":
            pops.append(p)
            continue
        for i in range(p["size"]):
            one = {k: (v[i] if isinstance(v, list) and k in spec.NEURON_PARAMS else v) for k, v in p.items()}
            pops.append({**one, "name": f"{p['name']}_{i}", "size": 1})
    projs = []
    for pr in raw["projections"]:
        for i, j, w in pr["synapses"]:
            pre = pr["pre"] if kinds[pr["pre"]] == "input" else f"{pr['pre']}_{i}"
            projs.append({"pre": pre, "post": f"{pr['post']}_{j}", "weight_exp": pr["weight_exp"],
                          "synapses": [[i if kinds[pr["pre"]] == "input" else 0, 0, w]]})
    return {**out, "populations": pops, "projections": projs}


@pytest.mark.parametrize("layout,probe", [("2x1", False), ("2x2", True)])
def test_one_population_per_layer_is_the_same_chip_as_one_per_neuron(trained, layout, probe):
    """Per-neuron parameter lists (network format 2) compile to the very image that one population
    per neuron gives."""
    _data, _net, snn = trained
    raw = dn.network_json(snn, layout, record_hidden=probe)
    a = compile_network(parse_network(raw))
    b = compile_network(parse_network(_one_population_per_neuron(raw)))
    assert a.writes == b.writes and len(a.writes) > 2000


def test_predicted_counts_by_hand(trained):
    _data, _net, snn = trained
    in_spikes = np.zeros((1, 2, 64), bool)
    pixel = int(np.argmax(np.count_nonzero(snn.hidden.weights, axis=1)))
    in_spikes[0, 0, pixel] = True
    hidden = np.zeros((1, 3, 32), bool)
    hidden[0, 1, 4] = True
    output = np.zeros((1, 3, 10), bool)
    output[0, 2, 7] = True
    c = dn.predicted_counts(snn, "2x1", in_spikes, hidden, output)
    fan_in = np.count_nonzero(snn.hidden.weights[pixel])
    fan_h = np.count_nonzero(snn.output.weights[4])
    assert c["sop"][0] == fan_in + fan_h
    # SPEC 3 (v2): only the 32 hidden + 10 output neurons are updated, 3 ticks, 2 of them fire
    assert c["update_active"][0] == 2 and c["update_idle"][0] == (32 + 10) * 3 - 2
    assert c["spike"][0] == 2 and c["host_flits"][0] == 1
    # pixel flit east (0,0)->(1,0), hidden flit west (1,0)->(0,0), output leaves (0,0): not a hop
    assert c["hop_ew"][0] == 2 and c["hop_ns"][0] == 0
    c = dn.predicted_counts(snn, "2x2", in_spikes, hidden, output)
    # 2x2: output on (1,1): hidden flit north 1, output flit west 1 + south 1; the two empty
    # cores update nothing
    assert c["hop_ew"][0] == 2 and c["hop_ns"][0] == 2 and c["update_idle"][0] == (32 + 10) * 3 - 2


def test_sparsest_picks_the_cheapest_above_the_floor_on_the_chosen_split():
    rows = [{"code": "a", "T": 4, "train_accuracy": 0.90, "accuracy": 0.99, "sops": 10, "energy_pj_static0": {"loihi": 1}},
            {"code": "a", "T": 8, "train_accuracy": 0.96, "accuracy": 0.96, "sops": 30, "energy_pj_static0": {"loihi": 3}},
            {"code": "b", "T": 8, "train_accuracy": 0.97, "accuracy": 0.90, "sops": 20, "energy_pj_static0": {"loihi": 2}}]
    assert sparsest(rows, 0.95)["code"] == "b"
    assert sparsest(rows, 0.95, key="accuracy")["T"] == 4
    assert sparsest(rows, 0.99) is None


def test_gain_scales_the_codes_and_the_conversion(trained):
    data, net, snn = trained
    px = np.arange(17)[None, :]
    enc = dm.encode(px, 8, "regular", gain=0.25)
    # round(8 * 0.25 * p / 16) = round(p / 8), halves up
    assert enc.sum(axis=1)[0].tolist() == [int(np.floor(p / 8 + 0.5)) for p in range(17)]
    full = dm.encode(np.array([[16] * 64]), 400, "poisson", seed=1, gain=0.5)
    assert 0.45 < full.mean() < 0.55
    with pytest.raises(spec.NeuroMeshError):
        dm.encode(px, 4, "regular", gain=1.5)
    # gain g: the hidden layer's effective weights are W1 / g, so its int8 scale is g times
    # smaller and (same lambda) its threshold g times lower in weight steps
    quarter = dm.convert(net, data, input_gain=0.25)
    assert np.array_equal(quarter.hidden.weights, snn.hidden.weights)
    ratio = (quarter.hidden.vth[0] / (1 << quarter.hidden.weight_exp)) / (snn.hidden.vth[0] / (1 << snn.hidden.weight_exp))
    assert abs(ratio - 0.25) < 1e-3


# ----------------------------------------------------------------------------------------------
# End to end on the engines


def _engine_check(trained, tmp_path, engine, n_images, t):
    data, _net, snn = trained
    path = dn.write_json(tmp_path / "net.json", dn.network_json(snn, "2x1"))
    prep = dn.prepare(path)
    enc = dm.encode(data.x_test[:n_images], t, "poisson", 0, data.test_index[:n_images])
    sim = dm.simulate(snn, enc)
    counts = dn.predicted_counts(snn, "2x1", enc, sim.hidden, sim.output)
    results = dn.run_images(prep, [dn.stimulus_json(enc[k], t + 1) for k in range(n_images)], engine)
    for k, res in enumerate(results):
        assert np.array_equal(dn.output_raster(res, 10, t + 1), sim.output[k])
        s = res["stats"]
        assert s["sops"] == counts["sop"][k]
        assert s["spikes_fired"] == counts["update_active"][k]
        assert s["flits_core"] == counts["spike"][k] and s["flits_host"] == counts["host_flits"][k]
        assert s["hops_ew"] == counts["hop_ew"][k] and s["hops_ns"] == counts["hop_ns"][k]
        assert s["errors"] == 0 and s["ticks"] == t + 1
    return results


def test_golden_model_agrees_with_the_functional_model(trained, tmp_path):
    _engine_check(trained, tmp_path, "golden", 3, 6)


def test_golden_hidden_layer_agrees_with_the_functional_model(trained, tmp_path):
    data, _net, snn = trained
    path = dn.write_json(tmp_path / "probe.json", dn.network_json(snn, "2x1", record_hidden=True))
    prep = dn.prepare(path)
    enc = dm.encode(data.x_test[1:2], 6, "regular")
    sim = dm.simulate(snn, enc)
    res = dn.run_image(prep, dn.stimulus_json(enc[0], 7))
    assert np.array_equal(dn.hidden_raster(res, 32, 7), sim.hidden[0])
    assert np.array_equal(dn.output_raster(res, 10, 7), sim.output[0])


@pytest.mark.rtl
@pytest.mark.long
def test_rtl_agrees_with_golden_on_digits(trained, tmp_path):
    rtl = _engine_check(trained, tmp_path, "rtl", 2, 4)
    gold = _engine_check(trained, tmp_path, "golden", 2, 4)
    for r, g in zip(rtl, gold):
        for key in ("spikes", "handshakes", "completions", "counters"):
            assert dn.first_difference(r[key], g[key], key) is None
        assert [(f["cycle"], f["flit"]) for f in r["output_flits"]] == [(f["cycle"], f["flit"]) for f in g["output_flits"]]


def test_first_difference_names_the_path_and_both_values():
    assert dn.first_difference({"a": [1, 2, {"b": 3}]}, {"a": [1, 2, {"b": 3}]}) is None
    assert dn.first_difference({"a": [1, 2, {"b": 3}]}, {"a": [1, 2, {"b": 4}]}, "x") == "x.a[2].b: 3 != 4"
    assert dn.first_difference([1, 2], [1, 2, 3], "h") == "h: length 2 != 3"


# ----------------------------------------------------------------------------------------------
# The streaming study


def test_stream_levels_and_delta_spikes_by_hand():
    from neuromesh.tools.workloads.digits import stream as ds
    # round(4 p / 16), halves up: 0, 1 -> 0; 2 -> 1 (0.5 up); 8 -> 2; 14 -> 4 (3.5 up); 16 -> 4
    assert ds.levels(np.array([0, 1, 2, 8, 13, 14, 16])).tolist() == [0, 0, 1, 2, 3, 4, 4]
    up, down = ds.delta_spikes(np.array([0, 3, 2]), np.array([2, 1, 2]), 4)
    # pixel 0 rises by 2: up in ticks 0 and 1; pixel 1 falls by 2: down in ticks 0 and 1; pixel 2 holds
    assert up[:, 0].tolist() == [True, True, False, False] and not up[:, 1:].any()
    assert down[:, 1].tolist() == [True, True, False, False] and not down[:, [0, 2]].any()


def test_dense_per_frame_by_hand():
    from neuromesh.tools.workloads.digits import stream as ds
    dense = {"node_nm": 45, "mac_pj": 0.23, "mac_with_weight_fetch_pj": 1.48, "compare_int8_pj": 0.03}
    d = ds.dense_per_frame(dense, 100, 45, 0.25)
    assert d["with_weight_fetch"]["every_frame"] == pytest.approx(148.0)
    assert d["with_weight_fetch"]["on_change"] == pytest.approx(148.0 / 4 + 64 * 0.03)
    assert ds.dense_per_frame(dense, 100, 14, 1.0)["arithmetic"]["every_frame"] == pytest.approx(23.0 * 14 / 45)


def test_stream_stimulus_and_class_reading_by_hand():
    from neuromesh.tools.workloads.digits import stream as ds
    # two digits of one pixel held 2 frames of 4 ticks: level 0 -> 2 (p 8), then 2 -> 1 (p 4)
    stim, changed, n_in = ds.stream_stimulus(np.array([[8], [4]]), 2, 4)
    assert stim == {"ticks": 16, "spikes": {"up": [[1, 0], [2, 0]], "down": [[9, 0]]}}
    assert changed.tolist() == [True, False, True, False] and n_in.tolist() == [2, 0, 1, 0]
    # the class after each frame counts output spikes since the digit's first tick
    r = np.zeros((1, 16, 3), bool)
    r[0, 1, 2] = r[0, 5, 1] = r[0, 6, 1] = True      # digit 1: class 2 first, then 1 twice
    r[0, 12, 0] = True                                # digit 2: class 0 in its second frame
    # frame 1 (ticks 0-3): 2 leads; frame 2 (0-7): 1 has two; frame 3 (8-11): no spike at all,
    # so the lowest index; frame 4 (8-15): 0
    assert ds.read_classes(r, 2, 4).tolist() == [[2, 1, 0, 0]]


def test_stream_network_golden_equals_the_functional_engine(trained):
    from neuromesh.tools.workloads.digits import stream as ds
    data, _net, snn = trained
    ssnn = ds.stream_snn(snn)
    prep = ds.prepare(ssnn)
    run = ds.simulate(prep, data.x_test[:2][None], data.y_test[:2][None], 2, ticks=8)
    # a held digit sends nothing: frames 1 and 3 (the second of each digit) have no input spikes
    assert run.input_spikes[0, 1] == 0 and run.input_spikes[0, 3] == 0 and run.input_spikes[0, 0] > 0
    res = dn.run_image(prep, run.stimuli[0])
    got = np.zeros((32, 10), bool)
    for t, i in res["spikes"][dn.OUTPUT]:
        got[t - 1, i] = True
    assert np.array_equal(got, run.output_raster[0])
    assert res["counters"]["cores"] == run.runs[0].counters["cores"]
    assert res["counters"]["routers"] == run.runs[0].counters["routers"]
    assert res["stats"]["updates"] == 42 * 4 * 8     # 32 hidden + 10 output neurons, 4 frames of 8 ticks
    assert res["stats"]["flits_host"] == run.input_spikes.sum()


def test_pipeline_quick_writes_the_report(tmp_path):
    import json
    from neuromesh.tools.workloads.digits.pipeline import main
    assert main(["--out", str(tmp_path), "--quick", "--golden-images", "2", "--rtl-images", "0"]) == 0
    report = (tmp_path / "report.md").read_text()
    assert "## Verdict" in report and "dense int8" in report
    for png in ("raster.png", "link_load.png", "energy_by_event.png", "accuracy_energy.png", "stream_energy.png"):
        assert (tmp_path / png).stat().st_size > 1000
    assert "## Streaming" in report and "breaks even" in report
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["macs"] == 2368
    assert abs(s["dense_energy_pj"]["arithmetic"] - 2368 * 0.23) < 1e-6   # Horowitz: 0.2 + 0.03 pJ
    assert abs(s["dense_energy_pj_by_node"]["14"]["with_weight_fetch"] - 2368 * 1.48 * 14 / 45) < 1e-6
    assert s["stream"]["golden_segment"]["agrees"]
    assert [r["F"] for r in s["stream"]["rows"]] == [1, 4, 16]
    m = s["engine_runs"][0]
    for name in ("loihi", "sanafe_loihi", "truenorth"):
        lo, hi = m["energy_range_pj"][name]
        assert lo <= m["energy_pj"][name]["total"] <= hi
    assert all(r["images"] == 2 and not r["mismatches"] for r in s["engine_runs"])
    load_network(tmp_path / "network.json")
