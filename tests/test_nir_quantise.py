"""Discretisation and quantisation of NIR layers (tools/nir/quantise.py) on hand-worked cases."""
import nir
import numpy as np
import pytest

from neuromesh import spec
from neuromesh.tools.nir.graph import NirError, read_graph
from neuromesh.tools.nir.lower import lower
from neuromesh.tools.nir.quantise import Options, quantise, split_bias

DT = 1e-4


def one(x, n=1):
    return np.full(n, float(x))


def layer_graph(tmp_path, weights, neuron, bias=None, metadata=None):
    """Input -> Affine/Linear(weights) -> neuron -> Output."""
    w = np.asarray(weights, float)
    n_out, n_in = w.shape
    lin = nir.Linear(weight=w) if bias is None else nir.Affine(weight=w, bias=np.asarray(bias, float))
    if metadata:
        neuron.metadata = metadata
    path = tmp_path / "layer.nir"
    nir.write(str(path), nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([n_in])), "w": lin, "n": neuron,
                                             "out": nir.Output(output_type=np.array([n_out]))},
                                      edges=[("in", "w"), ("w", "n"), ("n", "out")], type_check=False))
    return path


def lif(n=1, tau=10 * DT, thr=1.0):
    # gain (dt / tau) r = 1 with r = tau / dt
    return nir.LIF(tau=one(tau, n), r=one(tau / DT, n), v_leak=one(0, n), v_threshold=one(thr, n))


def q_of(path, **opts):
    q = quantise(lower(read_graph(path)), Options(**opts))
    layer = q.layers["n"]
    proj = [p for p in q.projections if p.post == "n"]
    return layer, proj


def test_scale_exponent_and_threshold_by_hand(tmp_path):
    # Largest |g| = 0.5 -> 127 at exponent 7: sigma = 0.5 / (127 * 2^13). -0.25 -> -63.5 -> -64 (ties
    # to even). Worst accumulator 127 << 7 = 16256 fits sat16; vth = 1 / (64 sigma) = 127 * 256.
    layer, (proj,) = q_of(layer_graph(tmp_path, [[0.5, -0.25]], lif()))
    assert proj.weight_exp == 7
    assert proj.synapses.tolist() == [[0, 0, 127], [1, 0, -64]]
    assert layer.params["vth"].tolist() == [32512]
    assert layer.info["scale"] == pytest.approx(0.5 / (127 * 2 ** 13))
    # tau = 10 dt: dv = round(4096 / 10) = 410; a LIF has no synaptic current: du = 4095.
    assert layer.params["dv"].tolist() == [410] and layer.params["du"].tolist() == [4095]
    assert layer.info["worst_accumulator"] == 127 << 7


def test_the_accumulator_bound_lowers_the_exponent(tmp_path):
    # Three inputs of 0.5: 3 * 127 << 7 = 48768 > 32767, so exponent 6 (24384); vth = 127 * 2^12 / 32.
    layer, (proj,) = q_of(layer_graph(tmp_path, [[0.5, 0.5, 0.5]], lif()))
    assert proj.weight_exp == 6
    assert layer.params["vth"].tolist() == [16256]
    assert layer.info["worst_accumulator"] == 3 * 127 << 6


def test_affine_bias_becomes_bias_mant_and_exp(tmp_path):
    # bias 0.1 per step at sigma = 0.5 / (127 * 2^13): 208076.8 -> 208077; the smallest exponent
    # with a 13-bit mantissa is 6: 3251 << 6 (= 208064).
    layer, _ = q_of(layer_graph(tmp_path, [[0.5, -0.25]], lif(), bias=[0.1]))
    assert (layer.params["bias_mant"].tolist(), layer.params["bias_exp"].tolist()) == ([3251], [6])


def test_time_constants_to_du_dv(tmp_path):
    # tau_syn = 2 dt: du = round(4096 / 2) - 1 = 2047; tau_mem = 3 dt: dv = round(1365.33) = 1365;
    # tau_mem = 1e6 dt: dv = 0 (no leak); tau < dt: clamped to 4095.
    taus = [(2, 3), (2, 1e6), (0.5, 0.5), (1, 1)]
    ts, tm = np.array(taus, float).T * DT
    neuron = nir.CubaLIF(tau_syn=ts, tau_mem=tm, r=tm / DT, v_leak=one(0, 4), v_threshold=one(1, 4), w_in=ts / DT)
    layer, _ = q_of(layer_graph(tmp_path, np.full((4, 1), 0.5), neuron))
    assert layer.params["du"].tolist() == [2047, 2047, 4095, 4095]
    assert layer.params["dv"].tolist() == [1365, 0, 4095, 4095]


def test_fine_weights_carry_the_residual(tmp_path):
    # [0.5, 0.1] at exponent 7: 127 and 25.4 -> 25; the residual 0.4 coarse steps is 51.2 -> 51
    # steps of weight_exp 0 (128 per coarse step): 25 + 51/128.
    _layer, (proj,) = q_of(layer_graph(tmp_path, [[0.5, 0.1]], lif()), fine_weights=True)
    (e0, coarse), (e1, fine) = proj.parts
    assert (e0, e1) == (7, 0)
    assert coarse.tolist() == [[0, 0, 127], [1, 0, 25]]
    assert fine.tolist() == [[1, 0, 51]]
    assert proj.info["rms_error_steps"] == pytest.approx(np.sqrt((25 + 51 / 128 - 25.4) ** 2 / 2))
    # without: the residual is the error
    _layer, (proj,) = q_of(layer_graph(tmp_path, [[0.5, 0.1]], lif()))
    assert len(proj.parts) == 1 and proj.info["rms_error_steps"] == pytest.approx(np.sqrt(0.4 ** 2 / 2))


def test_clip_percentile_clips_the_outliers(tmp_path):
    # the median |g| (0.1) maps to 127: the 1.0 weight is clipped to 127, the 0.1s are 127 too
    layer, (proj,) = q_of(layer_graph(tmp_path, [[1.0, 0.1, 0.1, 0.1]], lif()), clip_percentile=50)
    assert proj.info["clipped"] == 1
    assert sorted(proj.synapses[:, 2].tolist()) == [127, 127, 127, 127]


def test_the_files_scale_metadata_is_used(tmp_path):
    # neuromesh export writes neuromesh_scale = 1: weights are w << wexp << 6 volts, thresholds vth << 6
    meta = {"neuromesh_scale": 1.0}
    layer, (proj,) = q_of(layer_graph(tmp_path, [[12 * 64, -3 * 64]], lif(thr=10 * 64), metadata=meta))
    assert layer.info["scale"] == 1.0
    assert proj.synapses.tolist() == [[0, 0, 12], [1, 0, -3]] and proj.weight_exp == 0
    assert layer.params["vth"].tolist() == [10]


def test_reset_and_refractory_options_per_layer(tmp_path):
    path = layer_graph(tmp_path, [[0.5]], lif())
    layer, _ = q_of(path, reset="subtract", refractory={"n": 3})
    assert layer.params["reset"].tolist() == [1] and layer.params["refractory"].tolist() == [3]
    with pytest.raises(spec.NeuroMeshError, match="--refractory: .* has no spiking layer 'nope'"):
        q_of(path, refractory={"nope": 1})
    with pytest.raises(spec.NeuroMeshError, match="--refractory"):
        q_of(path, refractory=16)


def test_what_the_chip_cannot_do_is_refused(tmp_path):
    neuron = nir.LIF(tau=one(10 * DT), r=one(10), v_leak=one(0), v_threshold=one(1), v_reset=one(-0.5))
    with pytest.raises(NirError, match=r"node 'n' \(LIF\): v_reset\[0\] = -0.5"):
        q_of(layer_graph(tmp_path, [[0.5]], neuron))
    with pytest.raises(NirError, match="not negative"):
        q_of(layer_graph(tmp_path, [[0.5]], lif(thr=-1)))


def test_split_bias_takes_the_smallest_exponent():
    mant, exp = split_bias(np.array([100, -4096, 4096, 10000, -300000]))
    assert mant.tolist() == [100, -4096, 2048, 2500, -2344]
    assert exp.tolist() == [0, 0, 1, 2, 7]
