"""The linear NIR nodes two ways:

- `matrix(node)`: a sparse matrix from the node's flattened input to its flattened output (C
  order, as `nir.Flatten` and PyTorch flatten) and the constant it adds (a bias, or None). The
  importer multiplies these along a path to get one synapse matrix per pair of spiking layers;
  a convolution becomes one synapse per (output pixel, kernel tap) that lands inside the input.
- `apply(node, x)`: the same operation computed directly on an array of the node's input shape
  (the float reference simulator uses it, so the unrolled matrices are checked against an
  independent computation).

Conventions (PyTorch's, which NIR's exporters follow): Conv2d is a cross-correlation with
weight (C_out, C_in / groups, kH, kW), zero padding, 'same' puts the odd padding pixel at the
bottom / right; AvgPool2d divides by kH * kW whatever the padding (count_include_pad).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .graph import Node, NirError, conv_padding

# The most synapse entries one linear node may unroll into: more than a 64 x 64 chip's
# 64 * 64 * 16384 = 67M would be refused by the compiler anyway, and each entry costs memory here.
MAX_ENTRIES = 1 << 26


def _geometry(node: Node):
    p = node.params
    c, h, w = node.in_shape
    if node.type == "Conv2d":
        kh, kw = p["weight"].shape[2:]
        (pt, pl), _ = conv_padding(p, (h, w))
        return (kh, kw), p["stride"], (pt, pl), p["dilation"]
    return tuple(p["kernel_size"]), p["stride"], tuple(p["padding"]), (1, 1)


def matrix(node: Node, path: str = "") -> tuple:
    """(csr matrix (out_size, in_size), bias vector of out_size or None)."""
    p, kind = node.params, node.type
    n_in = int(np.prod(node.in_shape))
    n_out = node.size
    if kind in ("Identity", "Flatten", "Output"):
        return sp.identity(n_in, format="csr"), None
    if kind in ("Affine", "Linear"):
        m = sp.csr_matrix(p["weight"])
        m.eliminate_zeros()
        bias = None if p["bias"] is None else np.broadcast_to(p["bias"].ravel(), (n_out,)).astype(float)
        return m, bias
    if kind == "Scale":
        return sp.diags(np.broadcast_to(p["scale"].ravel(), (n_in,)).astype(float), format="csr"), None
    if kind in ("Conv2d", "SumPool2d", "AvgPool2d"):
        return _unrolled(node, path), _conv_bias(node)
    raise AssertionError(kind)


def _conv_bias(node: Node):
    if node.type != "Conv2d":
        return None
    c_out, oh, ow = node.shape
    b = np.broadcast_to(node.params["bias"].ravel(), (c_out,)).astype(float)
    return np.repeat(b, oh * ow)


def _unrolled(node: Node, path: str):
    c, h, w = node.in_shape
    c_out, oh, ow = node.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _geometry(node)
    if node.type == "Conv2d":
        weight = node.params["weight"]
        groups = node.params["groups"]
        c_g = weight.shape[1]
        per_group = c_out // groups
    else:
        weight, groups, c_g, per_group = None, c, 1, 1
    worst = c_out * oh * ow * c_g * kh * kw
    if worst > MAX_ENTRIES:
        raise NirError(path, node.name, f"unrolls into {worst} synapse entries, more than the {MAX_ENTRIES} "
                                        f"this importer builds (no chip holds them)", node.type)
    co = np.arange(c_out)[:, None, None, None]
    oy = np.arange(oh)[None, :, None, None]
    ox = np.arange(ow)[None, None, :, None]
    cg = np.arange(c_g)[None, None, None, :]
    ci = (co // per_group) * c_g + cg
    rows, cols, vals = [], [], []
    for ky in range(kh):
        for kx in range(kw):
            iy = oy * sh - ph + ky * dh
            ix = ox * sw - pw + kx * dw
            ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            ok = np.broadcast_to(ok, (c_out, oh, ow, c_g))
            r = np.broadcast_to((co * oh + oy) * ow + ox, ok.shape)[ok]
            col = np.broadcast_to((ci * h + iy) * w + ix, ok.shape)[ok]
            if weight is None:
                v = np.full(r.shape, 1.0 / (kh * kw) if node.type == "AvgPool2d" else 1.0)
            else:
                v = np.broadcast_to(weight[:, :, ky, kx][:, None, None, :], ok.shape)[ok]
            keep = v != 0
            rows.append(r[keep])
            cols.append(col[keep])
            vals.append(v[keep])
    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(c_out * oh * ow, c * h * w))
    m.sum_duplicates()
    return m


def apply(node: Node, x: np.ndarray) -> np.ndarray:
    """The node's output for input `x` (shape node.in_shape), computed directly."""
    p, kind = node.params, node.type
    if kind in ("Identity", "Output"):
        return x
    if kind == "Flatten":
        return x.reshape(node.shape)
    if kind == "Affine":
        return p["weight"] @ x + p["bias"].ravel()
    if kind == "Linear":
        return p["weight"] @ x
    if kind == "Scale":
        return x * p["scale"]
    if kind in ("Conv2d", "SumPool2d", "AvgPool2d"):
        return _conv_direct(node, x)
    raise AssertionError(kind)


def _conv_direct(node: Node, x: np.ndarray) -> np.ndarray:
    c, h, w = node.in_shape
    c_out, oh, ow = node.shape
    (kh, kw), (sh, sw), _, (dh, dw) = _geometry(node)
    if node.type == "Conv2d":
        before, after = conv_padding(node.params, (h, w))
    else:
        before = after = tuple(node.params["padding"])
    xp = np.pad(x, ((0, 0), (before[0], after[0]), (before[1], after[1])))
    out = np.zeros(node.shape)
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dh, kx * dw
            patch = xp[:, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw]   # (C, oh, ow)
            if node.type == "Conv2d":
                wgt = node.params["weight"]
                groups = node.params["groups"]
                c_g, per_group = wgt.shape[1], c_out // groups
                for g in range(groups):
                    outs = slice(g * per_group, (g + 1) * per_group)
                    ins = slice(g * c_g, (g + 1) * c_g)
                    out[outs] += np.einsum("oc,chw->ohw", wgt[outs, :, ky, kx], patch[ins])
            else:
                out += patch
    if node.type == "Conv2d":
        out += np.broadcast_to(node.params["bias"].ravel(), (c_out,))[:, None, None]
    elif node.type == "AvgPool2d":
        out /= kh * kw
    return out
