"""Discretisation and quantisation: a `lower.FloatNet` becomes a network v2 file (SPEC section 7)
with per-neuron parameter lists, and a record of every rounding for the report.

Discretisation is forward Euler at `dt` (docs/nir.md gives the derivation):

    CubaLIF  I <- (1 - dt/tau_syn) I + (dt/tau_syn) w_in x        v <- (1 - dt/tau_mem) v + (dt/tau_mem) (v_leak + r I)
    LIF      v <- (1 - dt/tau) v + (dt/tau) (v_leak + r x)
    IF       v <- v + dt r x                   (--if-per-step: v <- v + r x)

SPEC section 3 decays u by (4095 - du) / 4096 and v by (4096 - dv) / 4096 each tick, so

    du = round(4096 dt / tau_syn) - 1,   dv = round(4096 dt / tau_mem),   clamped to 0..4095,

a LIF (no synaptic current) gets du = 4095 (u is the tick's input alone) and an IF dv = 0. The
gains in front of x fold into the weights, so a synapse of NIR weight W onto neuron j adds

    g = W * gain_j,   gain = (dt/tau) r (LIF), (dt/tau_syn) w_in (dt/tau_mem) r (CubaLIF), dt r (IF)

to v (through u), and the per-step constant (v_leak and the bias current b reaching the neuron)
adds `bias_v` = (dt/tau) (v_leak + r b), (dt/tau_mem) (v_leak + r w_in b), dt r b.

Quantisation: one scale `sigma` (volts per membrane unit) per layer. A weight becomes
`w << weight_exp << 6` membrane units, so w = round(g / (sigma 2^(6 + weight_exp))) in -127..127,
vth = round(v_threshold / (64 sigma)), bias_mant << bias_exp = round(bias_v / sigma). The layer's
largest |g| (or a percentile of them, --clip-percentile) maps to 127 at exponent E; E is the
largest in 7..0 at which every threshold fits 17 bits, every bias fits, and no neuron's
accumulator can leave sat16 even if all its inputs fire in one tick. Each projection then takes
the smallest weight_exp <= E at which its own largest weight fits (finest steps).

--fine-weights: weights are 8 bits; a projection at weight_exp e >= 1 can add a second synapse
per weight at weight_exp max(0, e - 7) that carries the rounding residual, up to 7 more bits of
precision for twice the synapse entries, SOPs and (per distinct weight_exp) axons.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neuromesh import spec

from .graph import NirError
from .lower import FloatNet, Layer

DEFAULT_DT = 1e-4          # snnTorch's exporter turns beta into tau with this step
W_MAX = (1 << (spec.WEIGHT_BITS - 1)) - 1          # 127: symmetric weights
WEXP_MAX = (1 << spec.WEXP_BITS) - 1               # 7
VTH_MAX = (1 << spec.VTH_BITS) - 1
ACC_MAX = (1 << (spec.ACC_SAT_BITS - 1)) - 1       # sat16
MANT_LO, MANT_HI = spec.field_range(spec.BIAS_MANT_BITS, True)
BEXP_MAX = (1 << spec.BIAS_EXP_BITS) - 1
BIAS_MAX = MANT_HI << BEXP_MAX
U_MAX = (1 << (spec.STATE_BITS - 1)) - 1
REFRACTORY_MAX = (1 << spec.REFRACTORY_BITS) - 1
UNIT = 1 << spec.INPUT_SHIFT                       # a << 6: one weight step in membrane units
SCALE_KEY = "neuromesh_scale"                      # node metadata written by `neuromesh export`


@dataclass
class Options:
    """The import options (CLI flags of the same names, docs/nir.md)."""
    dt: float | None = None          # None: the file's neuromesh_dt metadata, else DEFAULT_DT
    # Per layer: {layer name or "*": value}; a plain value means {"*": value}. A layer named in
    # neither takes its node's neuromesh_reset / neuromesh_refractory metadata, else zero / 0.
    reset: dict | str | None = None          # "zero" (NIR's v_reset = 0) or "subtract"
    refractory: dict | int | None = None     # ticks held at v = 0 after a spike
    li_as_lif: bool = False
    li_threshold: float = 1.0
    if_per_step: bool = False
    clip_percentile: float = 100.0
    fine_weights: bool = False       # a second synapse per weight carries the rounding residual
    record: str = "outputs"          # "outputs" or "all"
    hardware: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("reset", "refractory"):
            value = getattr(self, name)
            setattr(self, name, {} if value is None else dict(value) if isinstance(value, dict) else {"*": value})

    def per_layer(self, name: str, layer: str):
        table = getattr(self, name)
        return table.get(layer, table.get("*"))

    def check(self) -> None:
        def bad(flag, value, reason):
            raise spec.NeuroMeshError(f"{flag}: {reason} (got {value!r})")
        if self.dt is not None and not (np.isfinite(self.dt) and self.dt > 0):
            bad("--dt", self.dt, "must be a positive number of seconds")
        for value in self.reset.values():
            if value not in ("zero", "subtract"):
                bad("--reset", value, "must be zero or subtract")
        for value in self.refractory.values():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= REFRACTORY_MAX:
                bad("--refractory", value, f"must be in 0..{REFRACTORY_MAX} ticks")
        if not (np.isfinite(self.li_threshold) and self.li_threshold >= 0):
            bad("--li-threshold", self.li_threshold, "must be a non-negative number")
        if not 50 <= self.clip_percentile <= 100:
            bad("--clip-percentile", self.clip_percentile, "must be in 50..100")
        if self.record not in ("outputs", "all"):
            bad("--record", self.record, "must be outputs or all")

    def check_layers(self, net) -> None:
        names = [l.name for l in net.neurons]
        for flag in ("reset", "refractory"):
            for layer in getattr(self, flag):
                if layer != "*" and layer not in names:
                    raise spec.NeuroMeshError(f"--{flag}: {net.path} has no spiking layer {layer!r} "
                                              f"(layers: {', '.join(names)})")

    def step(self, net: FloatNet) -> float:
        if self.dt is not None:
            return float(self.dt)
        md = net.metadata.get("neuromesh_dt")
        try:
            value = float(np.asarray(md).ravel()[0]) if md is not None else None
        except (TypeError, ValueError, IndexError):
            value = None
        return value if value is not None and np.isfinite(value) and value > 0 else DEFAULT_DT


@dataclass
class QLayer:
    """One neuron layer on the chip: its section-3 parameters and how they came about."""
    name: str
    params: dict              # du dv vth bias_mant bias_exp refractory reset: int arrays
    info: dict                # for the report


@dataclass
class QProjection:
    """One NIR projection on the chip: one network projection per part, each (weight_exp,
    synapses (S, 3) int64 [pre, post, weight], nonzero weights only); the second part, with
    --fine-weights, holds the rounding residual of the first at a smaller weight_exp."""
    pre: str
    post: str
    delayed: bool
    parts: list
    info: dict

    @property
    def weight_exp(self) -> int:
        return self.parts[0][0]

    @property
    def synapses(self) -> np.ndarray:
        return self.parts[0][1]


@dataclass
class Quantised:
    net: FloatNet
    dt: float
    options: Options
    layers: dict              # name -> QLayer (neuron layers)
    projections: list         # QProjection
    notes: list

    def network_json(self, hardware: dict | None = None, record_all: bool = False,
                     synapse_files: dict | None = None) -> dict:
        """The network v2 file. `synapse_files`: {projection index: relative .npy path} for
        projections written beside the file instead of inline."""
        record_all = record_all or self.options.record == "all"
        pops = []
        for layer in self.net.layers.values():
            if layer.kind == "Input":
                pops.append({"name": layer.name, "kind": "input", "size": layer.size})
                continue
            q = self.layers[layer.name]
            pop = {"name": layer.name, "kind": "lif", "size": layer.size}
            for key in spec.NEURON_PARAMS:
                values = q.params[key]
                pop[key] = int(values[0]) if np.all(values == values[0]) else [int(v) for v in values]
            pop["record"] = bool(record_all or layer.output)
            pops.append(pop)
        projs = []
        for k, p in enumerate(self.projections):
            for part, (wexp, syn) in enumerate(p.parts):
                entry = {"pre": p.pre, "post": p.post, "weight_exp": int(wexp)}
                if synapse_files and (k, part) in synapse_files:
                    entry["synapses_file"] = synapse_files[(k, part)]
                else:
                    entry["synapses"] = syn.tolist()
                projs.append(entry)
        shifts = ", ".join(f"{l.name} +{l.shift}" for l in self.net.neurons)
        out = {"format": "neuromesh-network/2",
               "description": (f"Imported from {self.net.path} by neuromesh import (dt = {self.dt:g} s). A layer's "
                               f"spikes come later than the framework's step by its delay in ticks ({shifts})."),
               "populations": pops, "projections": projs}
        if hardware:
            out["hardware"] = hardware
        return out


def quantise(net: FloatNet, opts: Options) -> Quantised:
    opts.check()
    opts.check_layers(net)
    dt = opts.step(net)
    layers, projections, notes = {}, [], list(net.notes)
    for layer in net.neurons:
        q, projs = _layer(net, layer, dt, opts, notes)
        layers[layer.name] = q
        projections += projs
    order = {name: k for k, name in enumerate(net.layers)}
    projections.sort(key=lambda p: (order[p.post], order[p.pre], p.delayed))
    return Quantised(net, dt, opts, layers, projections, notes)


# ----------------------------------------------------------------------------------------------
# One layer


def _dynamics(net: FloatNet, layer: Layer, dt: float, opts: Options):
    """Per-neuron (a_syn or None, a_mem, gain, bias_v) in float, NIR units."""
    p = layer.params
    b = layer.bias if layer.bias is not None else np.zeros(layer.size)
    kind = layer.kind
    if kind in ("LIF", "LI"):
        a_mem = dt / p["tau"]
        return None, a_mem, a_mem * p["r"], a_mem * (p["v_leak"] + p["r"] * b)
    if kind in ("CubaLIF", "CubaLI"):
        a_syn, a_mem = dt / p["tau_syn"], dt / p["tau_mem"]
        return a_syn, a_mem, a_syn * p["w_in"] * a_mem * p["r"], a_mem * (p["v_leak"] + p["r"] * p["w_in"] * b)
    if kind == "IF":
        k = p["r"] if opts.if_per_step else dt * p["r"]
        return None, np.zeros(layer.size), k, k * b
    raise AssertionError(kind)


def _layer(net: FloatNet, layer: Layer, dt: float, opts: Options, notes: list):
    a_syn, a_mem, gain, bias_v = _dynamics(net, layer, dt, opts)
    thr = layer.params["v_threshold"]
    if (thr < 0).any():
        k = int(np.flatnonzero(thr < 0)[0])
        raise NirError(net.path, layer.name, f"v_threshold[{k}] = {thr[k]:g}: the chip's threshold is not negative",
                       layer.kind)
    v_reset = layer.params["v_reset"]
    if np.any(v_reset != 0):
        k = int(np.flatnonzero(v_reset != 0)[0])
        raise NirError(net.path, layer.name, f"v_reset[{k}] = {v_reset[k]:g}: the chip resets to 0 (or, with --reset "
                                             f"subtract, subtracts the threshold)", layer.kind)
    n = layer.size
    du = np.full(n, spec.DECAY_ONE - 1) if a_syn is None else np.clip(np.rint(spec.DECAY_ONE * a_syn) - 1, 0,
                                                                       spec.DECAY_ONE - 1).astype(np.int64)
    dv = np.clip(np.rint(spec.DECAY_ONE * a_mem), 0, spec.DECAY_ONE - 1).astype(np.int64)

    incoming = net.incoming(layer.name)
    gains = [sp.diags(gain) @ p.weights for p in incoming]
    gains = [g.tocsr() for g in gains]
    sigma, exps, how = _choose_scale(layer, gains, thr, bias_v, opts)

    q_projs, w_ints = [], []
    for p, g, e in zip(incoming, gains, exps):
        parts, info = _weights(g, sigma, e, opts.fine_weights)
        w_ints += parts
        info.update(pre=p.pre, delayed=p.delayed, weight_exp=e, via=p.via,
                    fine_weight_exp=parts[1][1] if len(parts) > 1 else None)
        q_projs.append(QProjection(p.pre, p.post, p.delayed, [(wexp, _synapses(w)) for w, wexp in parts], info))

    vth_f = thr / (UNIT * sigma)
    vth = np.clip(np.rint(vth_f), 0, VTH_MAX).astype(np.int64)
    mant, bexp = split_bias(np.rint(bias_v / sigma))
    worst = _worst_acc(w_ints, n)
    params = {"du": du, "dv": dv, "vth": vth, "bias_mant": mant, "bias_exp": bexp,
              "refractory": _from_metadata(net.path, layer, "neuromesh_refractory",
                                           opts.per_layer("refractory", layer.name), REFRACTORY_MAX),
              "reset": _from_metadata(net.path, layer, "neuromesh_reset",
                                      None if opts.per_layer("reset", layer.name) is None
                                      else int(opts.per_layer("reset", layer.name) == "subtract"), 1)}
    info = _layer_info(layer, dt, a_syn, a_mem, du, dv, sigma, exps, how, thr, vth, bias_v, mant, bexp, worst)
    if worst > ACC_MAX:
        notes.append(f"layer {layer.name}: if all its inputs fire in one tick a neuron's accumulator reaches {worst}, "
                     f"beyond sat16 ({ACC_MAX}): such ticks saturate")
    if a_syn is not None and worst * UNIT * spec.DECAY_ONE / (int(du.min()) + 1) > U_MAX:
        notes.append(f"layer {layer.name}: at the worst-case input every tick, the synaptic current u could exceed "
                     f"24 bits and wrap (SPEC section 3); typical activity stays far below")
    if layer.shift > 0 and np.any(mant != 0):
        notes.append(f"layer {layer.name}: its bias acts from tick 1 but its first input arrives at tick {layer.shift + 1}; "
                     f"for {layer.shift} tick(s) the chip integrates a bias the framework has not applied yet (a network "
                     f"file sets no initial state, so this is not corrected)")
    if a_syn is not None and layer.bias is not None and np.any(du < spec.DECAY_ONE - 1):
        notes.append(f"layer {layer.name}: its bias current reaches v directly at its steady-state value; NIR filters "
                     f"it through the synaptic current, so the first ~tau_syn/dt steps differ")
    return QLayer(layer.name, params, info), q_projs


def _from_metadata(path, layer: Layer, key: str, option, top: int) -> np.ndarray:
    """Per-neuron reset / refractory: the option if given, else the node's metadata (written by
    `neuromesh export`; other tools have no such field), else 0."""
    n = layer.size
    if option is not None:
        return np.full(n, option, np.int64)
    value = layer.metadata.get(key)
    if value is None:
        return np.zeros(n, np.int64)
    arr = np.asarray(value).ravel()
    if arr.size not in (1, n) or arr.dtype.kind not in "iub" or arr.min() < 0 or arr.max() > top:
        raise NirError(path, layer.name, f"metadata {key} must be {n} integers in 0..{top}", layer.kind)
    return np.broadcast_to(arr.astype(np.int64), (n,)).copy()


def _hint(layer: Layer):
    value = layer.metadata.get(SCALE_KEY)
    try:
        value = float(np.asarray(value).ravel()[0]) if value is not None else None
    except (TypeError, ValueError, IndexError):
        return None
    return value if value is not None and np.isfinite(value) and value > 0 else None


def _choose_scale(layer: Layer, gains: list, thr, bias_v, opts: Options):
    """(sigma, weight_exp per projection, how it was chosen)."""
    mags = [np.abs(g.data) for g in gains]
    nonzero = np.concatenate([m[m > 0] for m in mags]) if mags else np.zeros(0)
    thr_max = float(thr.max()) if thr.size else 0.0
    bias_abs = float(np.abs(bias_v).max()) if bias_v.size else 0.0

    def exps_for(sigma, cap):
        return [_smallest_exp(float(m.max()) if m.size else 0.0, sigma, cap) for m in mags]

    def fits(sigma, exps, acc=True):
        if thr_max / (UNIT * sigma) > VTH_MAX + 0.5 or bias_abs / sigma > BIAS_MAX:
            return False
        if any(e is None for e in exps):
            return False
        if not acc:
            return True
        w = [part for g, e in zip(gains, exps) for part in _weights(g, sigma, e, opts.fine_weights)[0]]
        return _worst_acc(w, layer.size) <= ACC_MAX

    hint = _hint(layer)
    if hint is not None:
        exps = exps_for(hint, WEXP_MAX)
        if fits(hint, exps, acc=False):
            return hint, exps, f"from the file's {SCALE_KEY} metadata"
    if nonzero.size == 0:
        sigma = max(thr_max / (UNIT * (1 << 14)), bias_abs / (1 << 14), 1e-300) if (thr_max or bias_abs) else 1.0
        return sigma, [0] * len(gains), "no synapses: threshold to 2^14"
    top = float(np.percentile(nonzero, opts.clip_percentile)) if opts.clip_percentile < 100 else float(nonzero.max())
    for e in range(WEXP_MAX, -1, -1):
        sigma = top / (W_MAX * (1 << (spec.INPUT_SHIFT + e)))
        exps = exps_for(sigma, e) if opts.clip_percentile >= 100 else [e] * len(gains)
        if fits(sigma, exps):
            return sigma, exps, f"largest weight to {W_MAX} at exponent {e}"
    sigma = top / (W_MAX * UNIT)
    sigma = max(sigma, thr_max / (UNIT * VTH_MAX) * (1 + 1e-12), bias_abs / BIAS_MAX * (1 + 1e-12))
    exps = [e if e is not None else 0 for e in exps_for(sigma, 0)]
    return sigma, exps, "exponent 0 (no exponent keeps every constraint)"


def _smallest_exp(top: float, sigma: float, cap: int):
    for e in range(cap + 1):
        if top / (sigma * (1 << (spec.INPUT_SHIFT + e))) < W_MAX + 0.5:
            return e
    return None


def _weights(g: sp.csr_matrix, sigma: float, e: int, fine: bool = False):
    """Integer weights as [(csr matrix, weight_exp)] (zeros dropped): the weights at exponent
    e, and with `fine` (and e > 0) their rounding residual at exponent max(0, e - 7); and the
    rounding record (errors in steps of the first part's weight)."""
    x = g.data / (sigma * (1 << (spec.INPUT_SHIFT + e)))
    w = np.clip(np.rint(x), -W_MAX, W_MAX)
    total, parts = w.copy(), [(w, e)]
    per_step = 1
    if fine and e > 0:
        f = max(0, e - (spec.WEIGHT_BITS - 1))
        per_step = 1 << (e - f)                  # fine steps per coarse step
        r = np.clip(np.rint((x - w) * per_step), -W_MAX, W_MAX)
        parts.append((r, f))
        total = w + r / per_step
    nz = g.data != 0
    err = (total - x)[nz]
    ref = np.abs(x[nz])
    out = []
    for values, exp in parts:
        m = sp.csr_matrix((values.astype(np.int64), g.indices.copy(), g.indptr.copy()), shape=g.shape)
        m.eliminate_zeros()
        out.append((m, exp))
    info = {"synapses": int(np.count_nonzero(nz)), "kept": int(out[0][0].nnz),
            "fine_kept": int(out[1][0].nnz) if len(out) > 1 else 0,
            "clipped": int(np.count_nonzero(np.abs(err) > 0.5 / per_step + 1e-9)),
            "rounded_to_zero": int(np.count_nonzero(total[nz] == 0)),
            "max_weight": int(np.abs(w).max()) if w.size else 0,
            "rms_error_steps": float(np.sqrt(np.mean(err ** 2))) if err.size else 0.0,
            "rms_relative_error": float(np.sqrt(np.sum(err ** 2) / np.sum(ref ** 2))) if err.size and ref.any() else 0.0}
    return out, info


def _synapses(w: sp.csr_matrix) -> np.ndarray:
    """(S, 3) [pre, post, weight] of a (post x pre) matrix, sorted by pre then post."""
    coo = w.tocoo()
    syn = np.stack([coo.col, coo.row, coo.data], axis=1).astype(np.int64) if coo.nnz else np.zeros((0, 3), np.int64)
    return syn[np.lexsort((syn[:, 1], syn[:, 0]))]


def _worst_acc(w_ints: list, n: int) -> int:
    pos, neg = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for w, e in w_ints:
        pos += np.asarray(w.maximum(0).sum(axis=1)).ravel().astype(np.int64) << e
        neg += np.asarray((-w).maximum(0).sum(axis=1)).ravel().astype(np.int64) << e
    return int(max(pos.max(initial=0), neg.max(initial=0)))


def split_bias(current: np.ndarray):
    """Integer currents as bias_mant << bias_exp: per neuron the smallest exponent whose mantissa
    fits 13 bits signed (finest steps). Currents beyond the field are clamped."""
    current = np.clip(np.asarray(current, np.int64), MANT_LO << BEXP_MAX, MANT_HI << BEXP_MAX)
    mant = np.zeros(current.shape, np.int64)
    exp = np.full(current.shape, -1, np.int64)
    for e in range(BEXP_MAX + 1):
        m = np.rint(current / (1 << e)).astype(np.int64)
        ok = (exp < 0) & (m >= MANT_LO) & (m <= MANT_HI)
        mant[ok], exp[ok] = m[ok], e
    return mant, exp


def _span(x):
    x = np.asarray(x, float)
    return [float(x.min()), float(x.max())] if x.size else [0.0, 0.0]


def _layer_info(layer, dt, a_syn, a_mem, du, dv, sigma, exps, how, thr, vth, bias_v, mant, bexp, worst) -> dict:
    def tau_chip(k):   # the time constant the chip's decay implements (inf: no decay)
        k = np.asarray(k, float)
        with np.errstate(divide="ignore"):
            return np.where(k > 0, spec.DECAY_ONE * dt / np.where(k > 0, k, 1), np.inf)

    info = {"name": layer.name, "type": layer.kind, "size": layer.size, "level": layer.level,
            "shift": layer.shift, "aligned": layer.aligned, "output": layer.output,
            "scale": sigma, "scale_choice": how, "weight_exp": [int(e) for e in exps],
            "dv": [int(dv.min()), int(dv.max())], "du": [int(du.min()), int(du.max())],
            "tau_mem_s": _span(np.where(a_mem > 0, dt / np.where(a_mem > 0, a_mem, 1), np.inf)),
            "tau_mem_chip_s": _span(tau_chip(dv)),
            "vth": [int(vth.min()), int(vth.max())],
            "threshold_max_relative_error": float(np.max(np.abs(vth * UNIT * sigma - thr) / np.where(thr > 0, thr, 1))),
            "bias_per_step": _span(bias_v),
            "bias_max_error_units": float(np.max(np.abs((mant << bexp) - bias_v / sigma))) if bias_v.size else 0.0,
            "worst_accumulator": worst}
    if a_syn is not None:
        info["tau_syn_s"] = _span(dt / a_syn)
        info["tau_syn_chip_s"] = _span(tau_chip(du + 1))
    return info
