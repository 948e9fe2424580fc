"""Handwritten digits, part 1: data, a small ReLU network, its int8 twin, its conversion to an
integrate-and-fire spiking network, input spike codes, and a NumPy model of the spiking network
that computes SPEC section 3 exactly, written without `sim/`: the tests' independent reference
(the workload's sweeps run on the project's functional engine, `pipeline.functional`).

Everything here is deterministic for a given seed and takes a few seconds.

Conversion (rate coding, data-based threshold balancing, after Rueckauer et al., "Conversion of
continuous-valued deep networks to efficient event-driven networks for image classification",
Front. Neurosci. 11:682, 2017):

- With `du = 4095, dv = 0, reset = 1, refractory = 0`, SPEC section 3 reduces to
  `u = a << 6; v = v + u + (bias_mant << bias_exp); spike if v > vth << 6, then v -= vth << 6`:
  an integrate-and-fire neuron whose membrane counts in units of 1/64 of one weight step.
- A layer whose inputs fire with rates r (spikes per tick, <= 1) and whose float pre-activation
  is z = W' r + b fires at rate ~ z / lambda when its threshold is lambda: we take lambda from the
  training data (a high percentile of the layer's activations), quantise W' symmetrically to
  int8 with scale s (W' ~ s * w_q), so that in accumulator units the threshold is lambda / s and
  the bias current per tick is b / s (times 64 for the membrane).
- Layer 1 sees pixel rates x = pixel / 16 (W' = W1); layer 2 sees hidden rates h / lambda_1
  (W' = W2 * lambda_1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
import warnings

import numpy as np

from neuromesh import spec

N_IN, N_HIDDEN, N_OUT = 64, 32, 10
PIXEL_MAX = 16           # load_digits pixels are integers 0..16
WEIGHT_MAX = (1 << (spec.WEIGHT_BITS - 1)) - 1   # 127: symmetric int8
WEXP_MAX = (1 << spec.WEXP_BITS) - 1
BIAS_MANT_LO, BIAS_MANT_HI = spec.field_range(spec.BIAS_MANT_BITS, True)
BIAS_EXP_MAX = (1 << spec.BIAS_EXP_BITS) - 1
VTH_MAX = (1 << spec.VTH_BITS) - 1
ACC_SAT = (1 << (spec.ACC_SAT_BITS - 1)) - 1      # sat16 limit

# ----------------------------------------------------------------------------------------------
# Data and training


@dataclass
class Dataset:
    x_train: np.ndarray   # int pixels 0..16, (n, 64)
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_index: np.ndarray  # index of each test image in load_digits()


def load_data(seed: int = 0, test_size: float = 0.25) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1,797 images, no download), stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    pixels = d.data.astype(np.int64)
    idx = np.arange(len(pixels))
    i_tr, i_te = train_test_split(idx, test_size=test_size, stratify=d.target, random_state=seed)
    return Dataset(pixels[i_tr], d.target[i_tr], pixels[i_te], d.target[i_te], i_te)


@dataclass
class FloatNet:
    w1: np.ndarray  # (64, H)
    b1: np.ndarray
    w2: np.ndarray  # (H, 10)
    b2: np.ndarray

    def hidden(self, x01: np.ndarray) -> np.ndarray:
        return np.maximum(x01 @ self.w1 + self.b1, 0.0)

    def logits(self, x01: np.ndarray) -> np.ndarray:
        return self.hidden(x01) @ self.w2 + self.b2

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        return self.logits(pixels / PIXEL_MAX).argmax(axis=1)


def train(data: Dataset, hidden: int = N_HIDDEN, seed: int = 0) -> FloatNet:
    """A 64-H-10 ReLU network, scikit-learn's MLPClassifier (Adam, fixed seed), under a second."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", alpha=1e-3,
                        max_iter=1000, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(data.x_train / PIXEL_MAX, data.y_train)
    if list(clf.classes_) != list(range(N_OUT)):
        raise RuntimeError(f"digits: the classifier's classes are {list(clf.classes_)}, not 0..{N_OUT - 1}")
    (w1, w2), (b1, b2) = clf.coefs_, clf.intercepts_
    return FloatNet(w1, b1, w2, b2)


# ----------------------------------------------------------------------------------------------
# The dense int8 network (the baseline whose MACs the report prices)


def quantise_symmetric(w: np.ndarray) -> tuple[np.ndarray, float]:
    """int8 weights in [-127, 127] and their scale: w ~ scale * w_q."""
    scale = float(np.abs(w).max()) / WEIGHT_MAX
    return np.clip(np.round(w / scale), -WEIGHT_MAX, WEIGHT_MAX).astype(np.int64), scale


@dataclass
class Int8Net:
    """int8 weights, uint8-range activations (pixels 0..16 exactly, hidden 0..127), int32 biases
    and accumulators: the usual integer inference of a quantised MLP."""
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    m1: float  # hidden requantisation multiplier: a1 = clip(round(acc1 * m1), 0, 127)

    def predict(self, pixels: np.ndarray) -> np.ndarray:
        acc1 = pixels @ self.w1 + self.b1
        a1 = np.clip(np.round(acc1 * self.m1), 0, WEIGHT_MAX).astype(np.int64)
        return (a1 @ self.w2 + self.b2).argmax(axis=1)

    @property
    def macs(self) -> int:
        """Multiply-accumulates per inference (every weight, zero or not: a dense engine)."""
        return self.w1.size + self.w2.size


def activation_scale(net: FloatNet, pixels: np.ndarray, percentile: float) -> float:
    return float(np.percentile(net.hidden(pixels / PIXEL_MAX), percentile))


def quantise(net: FloatNet, data: Dataset, percentile: float = 99.9) -> Int8Net:
    w1, s1 = quantise_symmetric(net.w1)
    w2, s2 = quantise_symmetric(net.w2)
    in_scale = 1.0 / PIXEL_MAX                      # pixel integers are the int8 input
    lam = activation_scale(net, data.x_train, percentile)
    a_scale = lam / WEIGHT_MAX                      # hidden activation step
    b1 = np.round(net.b1 / (s1 * in_scale)).astype(np.int64)
    b2 = np.round(net.b2 / (s2 * a_scale)).astype(np.int64)
    return Int8Net(w1, b1, w2, b2, m1=s1 * in_scale / a_scale)


# ----------------------------------------------------------------------------------------------
# The spiking network


@dataclass
class LifLayer:
    """One population of SPEC section 3 neurons fed by one projection (pre x post int8 weights,
    0 = no synapse, one weight_exp). Neuron parameters are per-neuron integer arrays."""
    weights: np.ndarray
    weight_exp: int
    vth: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    du: np.ndarray
    dv: np.ndarray
    refractory: np.ndarray
    reset: np.ndarray

    @property
    def size(self) -> int:
        return self.weights.shape[1]

    def params(self, i: int) -> dict:
        return {k: int(getattr(self, k)[i]) for k in spec.NEURON_PARAMS}


@dataclass
class Snn:
    hidden: LifLayer
    output: LifLayer
    info: dict = field(default_factory=dict)  # the scales, for the report


def split_bias(current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Membrane-unit bias currents as bias_mant << bias_exp: the smallest exponent whose
    mantissa fits 13 bits signed (so the rounding error is as small as the format allows)."""
    mant = np.zeros(current.shape, np.int64)
    exp = np.zeros(current.shape, np.int64)
    for i, c in enumerate(current):
        for e in range(BIAS_EXP_MAX + 1):
            m = int(np.round(c / (1 << e)))
            if BIAS_MANT_LO <= m <= BIAS_MANT_HI:
                mant[i], exp[i] = m, e
                break
        else:
            raise spec.NeuroMeshError(f"digits conversion: bias current {c:.0f} does not fit "
                                      f"bias_mant << bias_exp (13-bit mantissa, exponent <= 7)")
    return mant, exp


def choose_weight_exp(w_q: np.ndarray, vth_acc: np.ndarray) -> int:
    """The largest weight_exp (<= 7) that keeps every neuron's worst-case per-tick accumulator
    within sat16 and every threshold within 17 bits: a larger exponent gives the threshold and
    the bias finer steps relative to one weight step."""
    worst = int(np.abs(w_q).sum(axis=0).max())
    for e in range(WEXP_MAX, -1, -1):
        if (worst << e) <= ACC_SAT and float(vth_acc.max()) * (1 << e) <= VTH_MAX:
            return e
    raise spec.NeuroMeshError("digits conversion: weights cannot fit sat16 with weight_exp 0")


def lif_layer(w_eff: np.ndarray, b: np.ndarray, lam: float) -> tuple[LifLayer, float]:
    """Integrate-and-fire layer whose firing rate approximates (w_eff @ r + b) / lam."""
    w_q, s = quantise_symmetric(w_eff)
    vth_acc = np.full(w_q.shape[1], lam / s)
    e = choose_weight_exp(w_q, vth_acc)
    vth = np.round(vth_acc * (1 << e)).astype(np.int64)
    mant, bexp = split_bias(b / s * (1 << e) * (1 << spec.INPUT_SHIFT))
    n = w_q.shape[1]
    full = lambda v: np.full(n, v, np.int64)  # noqa: E731
    layer = LifLayer(weights=w_q, weight_exp=e, vth=vth, bias_mant=mant, bias_exp=bexp,
                     du=full(spec.DECAY_ONE - 1), dv=full(0), refractory=full(0), reset=full(1))
    return layer, s


def convert(net: FloatNet, data: Dataset, percentile: float = 99.9, out_percentile: float = 100.0,
            input_gain: float = 1.0) -> Snn:
    """Rate-coded integrate-and-fire conversion with data-based threshold balancing.
    `input_gain` g: the input code fires at g * pixel / 16 spikes per tick (g <= 1, fewer input
    spikes); the hidden layer then sees rates g * x, so its effective weights are W1 / g."""
    x01 = data.x_train / PIXEL_MAX
    h = net.hidden(x01)
    lam1 = float(np.percentile(h, percentile))
    z2 = net.logits(x01)
    lam2 = float(np.percentile(np.maximum(z2, 0.0), out_percentile))
    hidden, s1 = lif_layer(net.w1 / input_gain, net.b1, lam1)
    w2_eff = net.w2 * lam1
    output, s2 = lif_layer(w2_eff, net.b2, lam2)
    info = {"lambda_hidden": lam1, "lambda_output": lam2, "scale_hidden": s1, "scale_output": s2,
            "percentile": percentile, "out_percentile": out_percentile, "input_gain": input_gain}
    return Snn(hidden, output, info)


# ----------------------------------------------------------------------------------------------
# Input spike codes: (images, T ticks, 64 pixels) booleans


def encode(pixels: np.ndarray, ticks: int, code: str = "poisson", seed: int = 0,
           image_ids: np.ndarray | None = None, gain: float = 1.0) -> np.ndarray:
    """Rate r = gain * pixel / 16 spikes per tick (gain in (0, 1]; a binary fraction such as
    1/4 keeps the regular code in exact integers).
    `poisson`: pixel i spikes in each tick with probability r, independently, from a generator
    seeded by (seed, image id), so an image's spikes do not depend on the batch.
    `regular`: deterministic, pixel i spikes whenever round(t * r) steps up, so it fires
    round(T * r) times (halves up), evenly spaced."""
    pixels = np.asarray(pixels, np.int64)
    n = len(pixels)
    if not 0 < gain <= 1:
        raise spec.NeuroMeshError(f"digits: input gain must be in (0, 1] (got {gain!r})")
    if code == "poisson":
        ids = np.arange(n) if image_ids is None else np.asarray(image_ids)
        out = np.empty((n, ticks, pixels.shape[1]), bool)
        for k in range(n):
            rng = np.random.default_rng([seed, int(ids[k])])
            out[k] = rng.random((ticks, pixels.shape[1])) * PIXEL_MAX < gain * pixels[k]
        return out
    if code == "regular":
        g = Fraction(gain)
        t = np.arange(ticks + 1)[None, :, None]
        # round(t * g * p / 16), halves up, in integers: floor((2 t p g_num + 16 g_den) / (32 g_den))
        count = (2 * t * pixels[:, None, :] * g.numerator + PIXEL_MAX * g.denominator) // (2 * PIXEL_MAX * g.denominator)
        return np.diff(count, axis=1) > 0
    raise spec.NeuroMeshError(f"digits: unknown input code {code!r} (poisson, regular)")


# ----------------------------------------------------------------------------------------------
# Functional model: SPEC section 3, vectorised over images


def _dec(x: np.ndarray, k) -> np.ndarray:
    p = x * k
    return np.sign(p) * (np.abs(p) >> spec.DECAY_SHIFT)


def _wrap24(x: np.ndarray) -> np.ndarray:
    half = 1 << (spec.STATE_BITS - 1)
    return ((x + half) & ((1 << spec.STATE_BITS) - 1)) - half


def lif_step(layer: LifLayer, state: dict, acc: np.ndarray) -> np.ndarray:
    """One tick of SPEC section 3 for every neuron of `layer` (state arrays (images, neurons),
    updated in place). Returns the boolean spikes."""
    a = np.clip(acc, -ACC_SAT - 1, ACC_SAT)
    u = _wrap24(_dec(state["u"], spec.DECAY_ONE - (layer.du + 1)) + (a << spec.INPUT_SHIFT))
    v = np.clip(_dec(state["v"], spec.DECAY_ONE - layer.dv) + u + (layer.bias_mant << layer.bias_exp),
                -spec.V_LIMIT, spec.V_LIMIT)
    r = state["r"]
    refr = r > 0
    th = layer.vth << spec.VTH_SHIFT
    fire = ~refr & (v > th)
    v_fired = np.where(layer.reset == 0, 0, v - th)
    state["v"] = np.where(refr, 0, np.where(fire, v_fired, v))
    state["r"] = np.where(refr, r - 1, np.where(fire, layer.refractory, r))
    state["u"] = u
    return fire


@dataclass
class SimOut:
    hidden: np.ndarray   # (images, ticks, H) bool: hidden spikes per tick
    output: np.ndarray   # (images, ticks, 10) bool

    @property
    def counts(self) -> np.ndarray:
        return self.output.sum(axis=1)


def simulate(snn: Snn, in_spikes: np.ndarray, ticks: int | None = None) -> SimOut:
    """Run the network tick by tick. SPEC section 2: input injected before tick t acts in tick t;
    a hidden spike of tick t acts on the output layer in tick t+1. `ticks` defaults to the
    input's length + 1, so the last input tick reaches the output layer."""
    n, t_in, _ = in_spikes.shape
    ticks = t_in + 1 if ticks is None else ticks
    layers = (snn.hidden, snn.output)
    states = [{k: np.zeros((n, l.size), np.int64) for k in "uvr"} for l in layers]
    w1 = snn.hidden.weights << snn.hidden.weight_exp
    w2 = snn.output.weights << snn.output.weight_exp
    hid = np.zeros((n, ticks, snn.hidden.size), bool)
    out = np.zeros((n, ticks, snn.output.size), bool)
    prev_hidden = np.zeros((n, snn.hidden.size), np.int64)
    for t in range(ticks):
        x = in_spikes[:, t, :].astype(np.int64) if t < t_in else np.zeros((n, in_spikes.shape[2]), np.int64)
        h = lif_step(snn.hidden, states[0], x @ w1)
        o = lif_step(snn.output, states[1], prev_hidden @ w2)
        prev_hidden = h.astype(np.int64)
        hid[:, t], out[:, t] = h, o
    return SimOut(hid, out)


def classify(output: np.ndarray) -> np.ndarray:
    """Class = most output spikes; a tie goes to the class that spiked first, then to the lower
    index (all read from spike_out: count, then first tick)."""
    n, ticks, k = output.shape
    counts = output.sum(axis=1)
    first = np.where(output.any(axis=1), output.argmax(axis=1), ticks)
    key = counts * (ticks + 1) * k + (ticks - first) * k + (k - 1 - np.arange(k))[None, :]
    return key.argmax(axis=1)
