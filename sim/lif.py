"""SPEC section 3, bit-exact, vectorised with numpy int64 over any array shape (the golden
model updates every neuron of the chip in one call; the RTL's `hw/lif_datapath.py` computes the
same function on one neuron per cycle).

    a   = sat16(acc)
    u   = wrap24(dec(u, 4096 - (du + 1)) + (a << 6))
    v   = clipv(dec(v, 4096 - dv) + u + (bias_mant << bias_exp))
    if r > 0:            v = 0; r = r - 1; no spike
    elif v > (vth << 6): spike; r = refractory; v = 0 if reset == 0 else v - (vth << 6)
    acc = 0

int64 is exact here: |u|, |v| < 2^23 and k <= 4096, so every product is below 2^36.
"""
from __future__ import annotations

import numpy as np

from neuromesh import spec

_SAT = 1 << (spec.ACC_SAT_BITS - 1)
_HALF24 = 1 << (spec.STATE_BITS - 1)
_MASK24 = (1 << spec.STATE_BITS) - 1


def dec(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """sign(x*k) * (|x*k| >> 12): the decay product rounded toward zero."""
    p = x * k
    return np.where(p < 0, -((-p) >> spec.DECAY_SHIFT), p >> spec.DECAY_SHIFT)


def sat16(a: np.ndarray) -> np.ndarray:
    return np.clip(a, -_SAT, _SAT - 1)


def wrap24(x: np.ndarray) -> np.ndarray:
    return ((x + _HALF24) & _MASK24) - _HALF24


def clipv(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -spec.V_LIMIT, spec.V_LIMIT)


def wrap_signed(x, bits: int):
    """Two's-complement wrap to `bits` (the accumulator memory is `acc_width` bits wide)."""
    half = 1 << (bits - 1)
    return ((x + half) & ((1 << bits) - 1)) - half


def update(p: dict, u: np.ndarray, v: np.ndarray, r: np.ndarray, acc: np.ndarray, active=None):
    """One tick of every neuron. `p` maps each name of `spec.NEURON_PARAMS` to an int64 array;
    `u`, `v`, `r` are updated IN PLACE; `acc` is the consumed slot (already wrapped to
    `acc_width`). `active` (a boolean array, or None for all): only those neurons are updated;
    the others keep their state and never fire. Returns the boolean array of neurons that fired."""
    a = sat16(acc)
    u_new = wrap24(dec(u, spec.DECAY_ONE - (p["du"] + 1)) + (a << spec.INPUT_SHIFT))
    v_new = clipv(dec(v, spec.DECAY_ONE - p["dv"]) + u_new + (p["bias_mant"] << p["bias_exp"]))
    refractory = r > 0
    threshold = p["vth"] << spec.VTH_SHIFT
    fired = ~refractory & (v_new > threshold)
    v_after = np.where(p["reset"] == 0, 0, v_new - threshold)
    v_new = np.where(refractory, 0, np.where(fired, v_after, v_new))
    r_new = np.where(refractory, r - 1, np.where(fired, p["refractory"], r))
    if active is not None:
        fired &= active
        u_new = np.where(active, u_new, u)
        v_new = np.where(active, v_new, v)
        r_new = np.where(active, r_new, r)
    u[...] = u_new
    v[...] = v_new
    r[...] = r_new
    return fired
