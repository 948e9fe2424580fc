"""The float reference simulator of NIR graphs (tools/nir/reference.py) and the linear operators
(tools/nir/ops.py) on hand-worked cases, and the unrolled convolutions against a plain loop."""
import itertools

import nir
import numpy as np
import pytest

from neuromesh.tools.nir import ops, reference
from neuromesh.tools.nir.graph import read_graph

DT = 1e-4


def graph(tmp_path, nodes, edges, name="g.nir"):
    path = tmp_path / name
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))
    return read_graph(path)


def chain(tmp_path, neuron, weight, n_in=1):
    """Input -> Linear(weight) -> neuron -> Output."""
    w = np.atleast_2d(np.asarray(weight, float))
    n = w.shape[0]
    return graph(tmp_path, {"in": nir.Input(input_type=np.array([n_in])), "w": nir.Linear(weight=w),
                            "n": neuron, "out": nir.Output(output_type=np.array([n]))},
                 [("in", "w"), ("w", "n"), ("n", "out")])


def times(spikes):
    """1-based steps at which neuron 0 spiked."""
    return (np.flatnonzero(spikes[:, 0]) + 1).tolist()


def one(x):
    return np.array([float(x)])


def test_lif_forward_euler_by_hand(tmp_path):
    # tau = 10 dt, r = 10: v <- 0.9 v + 0.1 * 10 * x = 0.9 v + x; input 0.5 every step.
    # v: 0.5, 0.95, 1.355 > 1 -> spike at 3, v = 0; the same again: spikes at 3, 6, 9.
    g = chain(tmp_path, nir.LIF(tau=one(10 * DT), r=one(10), v_leak=one(0), v_threshold=one(1)), [[0.5]])
    x = np.ones((9, 1), bool)
    assert times(reference.simulate(g, {"in": x}, 9, DT)["n"]) == [3, 6, 9]
    # Subtracting the threshold: after step 3 v = 0.355; 0.8195, 1.23755 > 1 -> spike at 5, v = 0.23755;
    # 0.713795, 1.1424155 -> spike at 7, v = 0.1424155; 0.628174, 1.0653566 -> spike at 9.
    assert times(reference.simulate(g, {"in": x}, 9, DT, reset="subtract")["n"]) == [3, 5, 7, 9]
    # v_leak 0.5 with no input: v <- 0.9 v + 0.1 * 0.5: 0.05, 0.095, ... -> 0.5, never above 1.
    g = chain(tmp_path, nir.LIF(tau=one(10 * DT), r=one(10), v_leak=one(0.5), v_threshold=one(0.4)), [[0.0]])
    # 0.05 * (1 - 0.9^k) / 0.1 > 0.4 first at k = 16 (0.9^16 = 0.1853 < 0.2; 0.9^15 = 0.2059).
    assert times(reference.simulate(g, {"in": np.zeros((16, 1), bool)}, 16, DT)["n"]) == [16]


def test_li_as_lif_fires_at_li_threshold(tmp_path):
    # The LIF case above, as an LI readout with --li-as-lif: threshold 1 by default (v 0.5, 0.95,
    # 1.355 -> spike at 3); at 1.4, 1.355 stays below and 1.7195 at step 4 fires.
    path = tmp_path / "li.nir"
    li = nir.LI(tau=one(10 * DT), r=one(10), v_leak=one(0))
    nir.write(str(path), nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([1])),
                                             "w": nir.Linear(weight=np.array([[0.5]])), "n": li,
                                             "out": nir.Output(output_type=np.array([1]))},
                                      edges=[("in", "w"), ("w", "n"), ("n", "out")], type_check=False))
    g = read_graph(path, li_as_lif=True)
    x = np.ones((9, 1), bool)
    assert times(reference.simulate(g, {"in": x}, 9, DT)["n"]) == [3, 6, 9]
    assert times(reference.simulate(g, {"in": x}, 9, DT, li_threshold=1.4)["n"]) == [4, 8]


def test_cuba_lif_and_a_refractory_period_by_hand(tmp_path):
    # tau_syn = tau_mem = 2 dt, w_in = 2, r = 2: I <- I / 2 + x, v <- v / 2 + I.
    lif = nir.CubaLIF(tau_syn=one(2 * DT), tau_mem=one(2 * DT), r=one(2), v_leak=one(0), v_threshold=one(1.2),
                      w_in=one(2))
    g = chain(tmp_path, lif, [[1.0]])
    x = np.zeros((6, 1), bool)
    x[0] = x[1] = True
    # I: 1, 1.5, 0.75, 0.375, ...; v: 1, 2 (> 1.2: spike at 2, v = 0), 0.75, 0.75, 0.5625, ...
    assert times(reference.simulate(g, {"in": x}, 6, DT)["n"]) == [2]
    # Inputs at 1, 2, 4: I 1, 1.5, .75, 1.375; v 1, 2 -> spike, 0.75, 1.75 -> spike at 4.
    x[3] = True
    assert times(reference.simulate(g, {"in": x}, 6, DT)["n"]) == [2, 4]
    # One refractory step: step 3 is held at v = 0 (I still integrates); v4 = 0 + 1.375: spike at 4 all the same.
    # Two: steps 3 and 4 held; I5 = 0.6875, v5 = 0.6875; no spike.
    assert times(reference.simulate(g, {"in": x}, 6, DT, refractory=1)["n"]) == [2, 4]
    assert times(reference.simulate(g, {"in": x}, 6, DT, refractory=2)["n"]) == [2]


def test_if_integrates_dt_r_i_unless_per_step(tmp_path):
    # NIR: dv/dt = R I, so v <- v + dt r x. With r = 1 / (2 dt) and x = 0.8 each step: +0.4:
    # 0.4, 0.8, 1.2 > 1 at step 3. Per step (snnTorch's importer): v <- v + r x, huge: every step.
    g = chain(tmp_path, nir.IF(r=one(1 / (2 * DT)), v_threshold=one(1)), [[0.8]])
    x = np.ones((6, 1), bool)
    assert times(reference.simulate(g, {"in": x}, 6, DT)["n"]) == [3, 6]
    assert times(reference.simulate(g, {"in": x}, 6, DT, if_per_step=True)["n"]) == [1, 2, 3, 4, 5, 6]


def _recurrent(tmp_path):
    """in -> [1] -> IF (gain 1, threshold 0.5) with IF -> [-2] -> IF recurrent."""
    return graph(tmp_path, {"in": nir.Input(input_type=np.array([1])), "w": nir.Linear(weight=np.array([[1.0]])),
                            "n": nir.IF(r=one(1 / DT), v_threshold=one(0.5)),
                            "rec": nir.Linear(weight=np.array([[-2.0]])),
                            "out": nir.Output(output_type=np.array([1]))},
                 [("in", "w"), ("w", "n"), ("n", "rec"), ("rec", "n"), ("n", "out")])


def test_a_recurrent_edge_carries_the_previous_step(tmp_path):
    g = _recurrent(tmp_path)
    assert g.back == {("rec", "n")}
    x = np.array([[1], [1], [1], [1]], bool)
    # step 1: v = 1 -> spike, 0. step 2: v = 1 - 2 (step 1's spike) = -1. step 3: -1 + 1 = 0.
    # step 4: 0 + 1 = 1 -> spike.
    assert times(reference.simulate(g, {"in": x}, 4, DT)["n"]) == [1, 4]


def test_chip_timing_delays_every_projection_by_one_step(tmp_path):
    n1 = nir.IF(r=one(1 / DT), v_threshold=one(0.5))
    n2 = nir.IF(r=one(1 / DT), v_threshold=one(0.5))
    g = graph(tmp_path, {"in": nir.Input(input_type=np.array([1])), "a": nir.Linear(weight=np.array([[1.0]])),
                         "n1": n1, "b": nir.Linear(weight=np.array([[1.0]])), "n2": n2,
                         "out": nir.Output(output_type=np.array([1]))},
              [("in", "a"), ("a", "n1"), ("n1", "b"), ("b", "n2"), ("n2", "out")])
    x = np.array([[1], [0], [0], [0]], bool)
    fw = reference.simulate(g, {"in": x}, 4, DT)
    chip = reference.simulate(g, {"in": x}, 4, DT, chip_timing=True)
    assert times(fw["n1"]) == [1] and times(fw["n2"]) == [1]       # one step crosses the chain
    assert times(chip["n1"]) == [1] and times(chip["n2"]) == [2]   # one tick per projection
    # A recurrent edge costs one step either way.
    g = _recurrent(tmp_path)
    x = np.ones((4, 1), bool)
    assert times(reference.simulate(g, {"in": x}, 4, DT, chip_timing=True)["n"]) == [1, 4]


def test_affine_bias_reaches_a_recurrent_edge_from_step_one(tmp_path):
    # snnTorch's RLeaky adds recurrent(spk) with spk = 0 at step 1, i.e. the recurrent Affine's
    # bias acts from step 1. No input; rec bias 0.3, threshold 0.5, gain 1: v 0.3, 0.6 -> spike at 2.
    g = graph(tmp_path, {"in": nir.Input(input_type=np.array([1])), "w": nir.Linear(weight=np.array([[0.0]])),
                         "n": nir.IF(r=one(1 / DT), v_threshold=one(0.5)),
                         "rec": nir.Affine(weight=np.array([[0.0]]), bias=one(0.3)),
                         "out": nir.Output(output_type=np.array([1]))},
              [("in", "w"), ("w", "n"), ("n", "rec"), ("rec", "n"), ("n", "out")])
    assert times(reference.simulate(g, {"in": np.zeros((4, 1), bool)}, 4, DT)["n"]) == [2, 4]


# ----------------------------------------------------------------------------------------------
# Linear operators


def _node(tmp_path, node, in_shape, out_shape):
    g = graph(tmp_path, {"in": nir.Input(input_type=np.array(in_shape)), "op": node,
                         "out": nir.Output(output_type=np.array(out_shape))}, [("in", "op"), ("op", "out")],
              name="op.nir")
    return g.nodes["op"]


def test_conv_and_pooling_by_hand(tmp_path):
    x = np.arange(1, 10, dtype=float).reshape(1, 3, 3)   # 1 2 3 / 4 5 6 / 7 8 9
    conv = _node(tmp_path, nir.Conv2d(input_shape=(3, 3), weight=np.array([[[[1.0, 0.0], [0.0, -1.0]]]]),
                                      stride=1, padding=0, dilation=1, groups=1, bias=one(10)), (1, 3, 3), (1, 2, 2))
    assert conv.shape == (1, 2, 2)
    # out[y, x] = in[y, x] - in[y + 1, x + 1] + 10 = 10 - 4 everywhere
    assert ops.apply(conv, x).tolist() == [[[6.0, 6.0], [6.0, 6.0]]]
    pool = _node(tmp_path, nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]),
                                         padding=np.array([0, 0])), (1, 3, 3), (1, 2, 2))
    assert ops.apply(pool, x).tolist() == [[[12.0, 16.0], [24.0, 28.0]]]
    avg = _node(tmp_path, nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                        padding=np.array([1, 1])), (1, 3, 3), (1, 2, 2))
    # zero padding counts (PyTorch's count_include_pad): [[1, 2+3], [4+7, 5+6+8+9]] / 4
    assert ops.apply(avg, x).tolist() == [[[0.25, 1.25], [2.75, 7.0]]]


def _naive_conv(x, w, b, stride, pad, dil, groups):
    c, h, wd = x.shape
    co, cg, kh, kw = w.shape
    (pt, pl), (pb, pr) = pad
    oh = (h + pt + pb - dil[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + pl + pr - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((co, oh, ow))
    for o, yy, xx in itertools.product(range(co), range(oh), range(ow)):
        g = o // (co // groups)
        total = b[o]
        for ci, ky, kx in itertools.product(range(cg), range(kh), range(kw)):
            iy, ix = yy * stride[0] - pt + ky * dil[0], xx * stride[1] - pl + kx * dil[1]
            if 0 <= iy < h and 0 <= ix < wd:
                total += w[o, ci, ky, kx] * x[g * cg + ci, iy, ix]
        out[o, yy, xx] = total
    return out


@pytest.mark.parametrize("c,h,w,co,k,stride,padding,dil,groups", [
    (1, 5, 5, 2, (3, 3), (1, 1), 0, (1, 1), 1),
    (2, 6, 5, 4, (3, 2), (2, 1), 1, (1, 1), 2),
    (3, 7, 7, 3, (3, 3), (1, 1), "same", (2, 1), 3),
    (2, 4, 6, 2, (2, 2), (1, 2), "valid", (1, 1), 1),
    (1, 6, 6, 1, (4, 3), (1, 1), "same", (1, 1), 1),     # odd total padding: the extra pixel at the end
])
def test_unrolled_convolution_equals_a_plain_loop(tmp_path, c, h, w, co, k, stride, padding, dil, groups):
    rng = np.random.default_rng(c * 100 + h)
    weight = rng.normal(size=(co, c // groups, *k))
    bias = rng.normal(size=co)
    if padding == "same":
        tot = [d * (kk - 1) for d, kk in zip(dil, k)]
        pad = ((tot[0] // 2, tot[1] // 2), (tot[0] - tot[0] // 2, tot[1] - tot[1] // 2))
    else:
        p = 0 if padding == "valid" else padding
        pad = ((p, p), (p, p))
    x = rng.normal(size=(c, h, w))
    want = _naive_conv(x, weight, bias, stride, pad, dil, groups)
    node = _node(tmp_path, nir.Conv2d(input_shape=(h, w), weight=weight, stride=stride, padding=padding,
                                      dilation=dil, groups=groups, bias=bias), (c, h, w), want.shape)
    assert node.shape == want.shape
    assert np.allclose(ops.apply(node, x), want)
    m, b = ops.matrix(node)
    assert np.allclose(m @ x.ravel() + b, want.ravel())


def test_flatten_is_c_order(tmp_path):
    node = _node(tmp_path, nir.Flatten(input_type={"input": np.array([2, 3, 4])}, start_dim=0, end_dim=-1),
                 (2, 3, 4), (24,))
    x = np.arange(24.0).reshape(2, 3, 4)
    assert node.shape == (24,)
    assert ops.apply(node, x).tolist() == list(range(24))
    m, _ = ops.matrix(node)
    assert (m @ x.ravel()).tolist() == list(range(24))
