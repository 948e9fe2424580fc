"""A checked NIR graph as the chip sees it: spiking layers (the Input nodes and every neuron node)
joined by float projections.

Between two spiking layers lie linear nodes only (Affine, Linear, Scale, Flatten, Conv2d,
pooling, the pass-through ends of subgraphs). Their composition along every path is one sparse
matrix, the projection's weights (NIR's units, before the neuron's own gains); the constants the
linear nodes add (Affine and Conv2d biases, carried through what follows them) become one bias
current per neuron. A path through a back edge (graph.py) is a *delayed* projection: the
framework feeds it the previous step's spikes.

Timing on the chip: every projection costs one tick (SPEC section 2), while a framework passes
spikes through a whole feed-forward chain within one step. A layer's *level* is 0 for an input
and 1 + its forward predecessors' level otherwise; layer N's spikes at chip tick t are the
framework's at step t - shift(N), shift = level - 1. That holds when every forward projection
climbs exactly one level and every delayed one stays on its level; any other projection (a skip
connection, feedback from a later layer) makes the chip compute something else, and the layers
it reaches are marked `aligned = False`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import ops
from .graph import NEURON_FIELDS, Graph, NirError


@dataclass
class Layer:
    name: str
    kind: str                 # "Input" or the NIR neuron type (LIF, CubaLIF, IF, LI, CubaLI)
    shape: tuple
    params: dict = field(default_factory=dict)   # per-neuron float arrays of `size`
    bias: np.ndarray | None = None               # constant input current (NIR units), per neuron
    level: int = 0
    aligned: bool = True
    output: bool = False      # feeds an Output node
    metadata: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def shift(self) -> int:
        return self.level - 1


@dataclass
class Projection:
    pre: str
    post: str
    delayed: bool
    weights: sp.csr_matrix    # (post size, pre size), NIR units
    via: list                 # the linear nodes it was composed from (for the report)


@dataclass
class FloatNet:
    path: str
    layers: dict              # name -> Layer: inputs, then neuron layers, in graph order
    projections: list
    notes: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    @property
    def inputs(self) -> list:
        return [l for l in self.layers.values() if l.kind == "Input"]

    @property
    def neurons(self) -> list:
        return [l for l in self.layers.values() if l.kind != "Input"]

    def incoming(self, name: str) -> list:
        return [p for p in self.projections if p.post == name]

    @property
    def depth(self) -> int:
        return max((l.level for l in self.layers.values()), default=0)


def lower(g: Graph, li_threshold: float = 1.0) -> FloatNet:
    memo = {}
    path = g.path

    def contrib(name):
        """{(source layer, delayed): (matrix (this node's output x source size), [linear nodes])},
        and the constant this node's output carries (None if none)."""
        if name in memo:
            return memo[name]
        node = g.nodes[name]
        if node.type == "Input" or node.spiking:
            memo[name] = ({(name, False): (sp.identity(node.size, format="csr"), [])}, None)
            return memo[name]
        terms, bias = _gather(name)
        m, b = ops.matrix(node, path)
        out = {k: ((m @ mat).tocsr(), via + [name]) for k, (mat, via) in terms.items()}
        bias = (m @ bias if bias is not None else None)
        if b is not None:
            bias = b if bias is None else bias + b
        memo[name] = (out, bias)
        return memo[name]

    def _gather(name):
        terms, bias = {}, None
        for src, delayed in g.preds(name):
            t, b = contrib(src)
            for (layer, was_delayed), (mat, via) in t.items():
                if delayed and was_delayed:
                    raise NirError(path, name, "a path from a spiking layer crosses two recurrent edges before "
                                               "the next spiking layer (a two-step delay)", g.nodes[name].type)
                key = (layer, delayed or was_delayed)
                if key in terms:
                    old, old_via = terms[key]
                    terms[key] = (old + mat, old_via + [n for n in via if n not in old_via])
                else:
                    terms[key] = (mat, list(via))
            if b is not None:
                bias = b if bias is None else bias + b
        return terms, bias

    layers, projections = {}, []
    for name in g.of_type("Input"):
        layers[name] = Layer(name, "Input", g.nodes[name].shape, metadata=g.nodes[name].metadata)
    for name in g.order:
        node = g.nodes[name]
        if not node.spiking:
            continue
        terms, bias = _gather(name)
        layer = Layer(name, node.type, node.shape, _neuron_params(node, li_threshold),
                      metadata=node.metadata)
        layer.bias = None if bias is None or not np.any(bias) else np.asarray(bias, float).ravel()
        layers[name] = layer
        for (src, delayed), (mat, via) in terms.items():
            mat = mat.tocsr()
            mat.eliminate_zeros()
            projections.append(Projection(src, name, delayed, mat, via))

    net = FloatNet(path, layers, projections, metadata=g.metadata)
    _outputs(g, net, contrib)
    _levels(net)
    return net


def _neuron_params(node, li_threshold: float) -> dict:
    n = node.size
    out = {}
    for fld in NEURON_FIELDS[node.type]:
        arr = node.params.get(fld)
        if arr is None:
            arr = np.ones(1) if fld == "w_in" else np.zeros(1)
        out[fld] = np.broadcast_to(arr.ravel(), (n,)).astype(float) if arr.size == 1 else arr.ravel().astype(float)
    if node.type in ("LI", "CubaLI"):
        out["v_threshold"] = np.full(n, float(li_threshold))
        out["v_reset"] = np.zeros(n)
    return out


def _outputs(g: Graph, net: FloatNet, contrib) -> None:
    for name in g.of_type("Output"):
        terms, bias = contrib(name)
        layers = {src for src, _d in terms}
        ok = False
        if len(terms) == 1 and bias is None:
            (src, delayed), (mat, _via) = next(iter(terms.items()))
            if not delayed and net.layers[src].kind != "Input" and mat.shape[0] == mat.shape[1]:
                ok = (mat - sp.identity(mat.shape[0], format="csr")).count_nonzero() == 0
        if not ok:
            raise NirError(g.path, name, "the chip's outputs are spikes: an Output must receive one spiking layer "
                                         f"unchanged (it receives {', '.join(sorted(layers)) or 'nothing'}"
                                         f"{' through linear nodes' if terms else ''})", "Output")
        net.layers[src].output = True


def _levels(net: FloatNet) -> None:
    for layer in net.layers.values():
        if layer.kind == "Input":
            continue
        fwd = [net.layers[p.pre].level for p in net.incoming(layer.name) if not p.delayed]
        layer.level = 1 + max(fwd, default=0)   # no forward input: it starts with the first layer
    for p in net.projections:
        pre, post = net.layers[p.pre], net.layers[p.post]
        want = post.level if p.delayed else post.level - 1
        if pre.level != want:
            post.aligned = False
            kind = "recurrent" if p.delayed else "forward"
            net.notes.append(
                f"{kind} projection {p.pre} -> {p.post} joins level {pre.level} to level {post.level}: on the chip it "
                f"arrives {abs(want - pre.level)} tick(s) {'earlier' if pre.level < want else 'later'} than in the "
                f"framework, so layer {p.post} (and what it drives) computes something else on the chip")
