"""Read a `.nir` file into a checked graph: supported node types, finite parameters, shapes that
agree along every edge, subgraphs flattened, and which edges carry the previous time step's value.

Every refusal is a `NirError`, one line: `FILE: node 'NAME' (TYPE): reason`.

Before `nir.read` touches the file, `_prescan` opens it with h5py and checks that it is HDF5, has
a `node` group, names only node types NIR 1.0 defines, and holds no dataset larger than
`MAX_VALUES` (a compressed file can declare a 10^9-element array in a few kilobytes, and
`nir.read` would allocate it whole).

Time-step semantics (the one every framework with a NIR exporter uses): within one time step the
nodes are evaluated in `Graph.order`; an edge into a node that has already been evaluated when
its source is (a *back edge*, found by depth-first search from the inputs) carries the source's
value of the previous step. So `lif -> w_rec -> lif` (snnTorch's `RLeaky`) feeds the spikes of
step t-1 back at step t, and a feed-forward chain propagates within one step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuromesh import spec

# No chip holds more neurons than the largest mesh of the largest cores (firmware.netfile).
MAX_NEURONS = spec.LIMITS["width"][1] * spec.LIMITS["height"][1] * spec.LIMITS["neurons_per_core"][1]
# The largest array read from a file (a dense 4096 x 16384 weight matrix). Larger ones would be
# more synapses than a 64 x 64 chip holds anyway.
MAX_VALUES = 1 << 26

NEURONS = ("LIF", "CubaLIF", "IF")
READOUTS = ("LI", "CubaLI")               # spiking only with --li-as-lif
LINEAR = ("Affine", "Linear", "Scale", "Flatten", "Conv2d", "SumPool2d", "AvgPool2d", "Identity")
ENDS = ("Input", "Output")
SUPPORTED = NEURONS + READOUTS + LINEAR + ENDS + ("NIRGraph",)
REFUSED = {
    "Delay": "delays other than the chip's one tick per hop are not supported",
    "Conv1d": "1-D convolutions are not supported (Conv2d is)",
    "Threshold": "a threshold without a membrane is not a neuron the chip has (use LIF or IF)",
    "I": "an integrator without a threshold has no spikes to send (the chip has no analogue readout)",
}
NIR_TYPES = set(SUPPORTED) | set(REFUSED)
TAU_FIELDS = ("tau", "tau_mem", "tau_syn")   # may be +inf (no leak)
NEURON_FIELDS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
}


class NirError(spec.NeuroMeshError, ValueError):
    """A NIR file the importer cannot take: one line naming the file, the node and the reason."""

    def __init__(self, path, node: str | None, reason: str, kind: str | None = None):
        text = f"{path}: "
        if node is not None:
            text += f"node {node!r}" + (f" ({kind})" if kind else "") + ": "
        super().__init__((text + reason).replace("\n", " "))


@dataclass
class Node:
    name: str
    type: str                 # the NIR class name ("Identity" for a subgraph's Input/Output)
    params: dict              # checked parameters: float arrays, or ints/tuples for conv geometry
    metadata: dict = field(default_factory=dict)
    shape: tuple = ()         # output shape (neuron nodes: their own shape)
    in_shape: tuple = ()

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def spiking(self) -> bool:
        return self.type in NEURONS or self.type in READOUTS


@dataclass
class Graph:
    path: str
    nodes: dict               # name -> Node, file order
    edges: list               # (src, dst)
    back: set                 # edges carrying the previous step's value
    order: list               # evaluation order within a step
    metadata: dict

    def preds(self, name: str) -> list:
        """[(source, delayed)] in edge order."""
        return [(s, (s, d) in self.back) for s, d in self.edges if d == name]

    def succs(self, name: str) -> list:
        return [d for s, d in self.edges if s == name]

    def of_type(self, *types) -> list:
        return [n for n in self.order if self.nodes[n].type in types]


# ----------------------------------------------------------------------------------------------
# The file


def _prescan(path: Path) -> None:
    import h5py
    if not path.exists():
        raise NirError(path, None, "no such file")
    if path.is_dir():
        raise NirError(path, None, "is a directory, not a NIR file")
    try:
        is_hdf5 = h5py.is_hdf5(str(path))
    except OSError as e:
        raise NirError(path, None, f"cannot read: {e.strerror or e}") from None
    if not is_hdf5:
        raise NirError(path, None, "not a NIR file (NIR files are HDF5; this one is not)")
    try:
        with h5py.File(str(path), "r") as f:
            if "node" not in f or not isinstance(f["node"], h5py.Group):
                raise NirError(path, None, "not a NIR file (no 'node' group at the top level)")
            _scan_group(path, f["node"], None)
    except NirError:
        raise
    except Exception as e:   # h5py raises OSError, KeyError, ValueError ... on damaged files
        raise NirError(path, None, f"damaged HDF5 file ({_first_line(e)})") from None


def _scan_group(path, group, name) -> None:
    import h5py
    if "type" not in group:
        raise NirError(path, name or "<top>", "has no 'type' (a NIR node names its type)")
    kind = group["type"][()]
    kind = kind.decode("utf8", "replace") if isinstance(kind, bytes) else str(kind)
    if kind not in NIR_TYPES:
        raise NirError(path, name or "<top>", f"unknown node type {kind!r} (not a NIR 1.0 node)")
    for key, item in group.items():
        if isinstance(item, h5py.Dataset) and item.size > MAX_VALUES:
            raise NirError(path, name or "<top>", f"{key} holds {item.size} values, more than the {MAX_VALUES} "
                                                  f"this importer reads (no chip holds such a layer)", kind)
    if kind == "NIRGraph":
        if "nodes" not in group or "edges" not in group:
            missing = "nodes" if "nodes" not in group else "edges"
            raise NirError(path, name or "<top>", f"a graph without '{missing}'", kind)
        for child, sub in group["nodes"].items():
            if not isinstance(sub, h5py.Group):
                raise NirError(path, _join(name, child), "is not a node group")
            _scan_group(path, sub, _join(name, child))


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:160]


def _join(prefix, name) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def load(path):
    """The file's top-level NIR graph, read with the `nir` package after the prescan."""
    import nir
    path = Path(path)
    _prescan(path)
    try:
        graph = nir.read(str(path), type_check=False)
    except Exception as e:   # nir raises AssertionError, KeyError, ValueError, TypeError ...
        raise NirError(path, None, f"the nir package cannot read it ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(graph, nir.NIRGraph):
        raise NirError(path, None, f"the top-level node is a {type(graph).__name__}, not a NIRGraph")
    return graph


# ----------------------------------------------------------------------------------------------
# Flattening subgraphs


def _flatten(path, graph, prefix=None, nodes=None, edges=None):
    """Nodes and edges with subgraphs expanded: a subgraph `s`'s node `x` becomes `s.x`, its
    Input and Output nodes become pass-through `Identity` nodes, and an edge to or from `s` goes
    to its one Input or from its one Output node."""
    nodes = {} if nodes is None else nodes
    edges = [] if edges is None else edges
    local_ends = {}
    for name, node in graph.nodes.items():
        full = _join(prefix, name)
        kind = type(node).__name__
        if kind == "NIRGraph":
            ins, outs = _flatten(path, node, full, nodes, edges)
            local_ends[name] = (ins, outs)
        else:
            if full in nodes:
                raise NirError(path, full, "two nodes have this name once subgraphs are expanded")
            if prefix is not None and kind in ENDS:
                kind = "Identity"
            nodes[full] = (kind, node)
    for k, e in enumerate(graph.edges):
        if not (isinstance(e, (tuple, list)) and len(e) == 2 and all(isinstance(v, str) for v in e)):
            raise NirError(path, prefix or "<top>", f"edge {k} is not a pair of node names ({e!r})", "NIRGraph")
        src, dst = e
        src = _end(path, graph, prefix, local_ends, src, 1, "source")
        dst = _end(path, graph, prefix, local_ends, dst, 0, "destination")
        edges.append((src, dst))
    ins = [_join(prefix, n) for n, v in graph.nodes.items() if type(v).__name__ == "Input"]
    outs = [_join(prefix, n) for n, v in graph.nodes.items() if type(v).__name__ == "Output"]
    return ins, outs


def _end(path, graph, prefix, local_ends, name, which, role) -> str:
    if name in local_ends:
        ends = local_ends[name][which]
        if len(ends) != 1:
            raise NirError(path, _join(prefix, name), f"an edge names this subgraph as its {role}, but it has "
                                                      f"{len(ends)} {'Output' if which else 'Input'} nodes", "NIRGraph")
        return ends[0]
    if name in graph.nodes:
        return _join(prefix, name)
    head, _, tail = name.partition(".")   # "sub.node": a node inside a subgraph
    if head in graph.nodes and type(graph.nodes[head]).__name__ == "NIRGraph" and tail:
        return _join(prefix, name)
    raise NirError(path, prefix or "<top>", f"an edge's {role} {name!r} is not a node of the graph", "NIRGraph")


# ----------------------------------------------------------------------------------------------
# Parameters


def _floats(path, name, kind, node, fld, *, allow_inf=False, optional=False):
    value = getattr(node, fld, None)
    if value is None:
        if optional:
            return None
        raise NirError(path, name, f"{fld} is missing", kind)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NirError(path, name, f"{fld} is not numeric ({type(value).__name__})", kind) from None
    bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
    if allow_inf:
        bad |= np.isneginf(arr)
    if bad.any():
        k = int(np.flatnonzero(bad.ravel())[0])
        raise NirError(path, name, f"{fld}[{k}] is {arr.ravel()[k]} (parameters must be finite numbers)", kind)
    return arr


def _ints(path, name, kind, node, fld, n=2, value=None):
    value = getattr(node, fld, None) if node is not None else value
    if value is None:
        raise NirError(path, name, f"{fld} is missing", kind)
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.ndim > 1 or arr.size not in (1, n):
        raise NirError(path, name, f"{fld} must be an integer or {n} integers (got {value!r})", kind)
    arr = arr.ravel()
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise NirError(path, name, f"{fld} must be integers (got {value!r})", kind)
    arr = np.broadcast_to(arr.astype(np.int64), (n,))
    return tuple(int(v) for v in arr)


def _params(path, name, kind, node) -> dict:
    p = {}
    if kind in NEURON_FIELDS:
        for fld in NEURON_FIELDS[kind]:
            p[fld] = _floats(path, name, kind, node, fld, allow_inf=fld in TAU_FIELDS,
                             optional=fld in ("v_reset", "w_in"))
        for fld in TAU_FIELDS:
            if fld in p and (p[fld] <= 0).any():
                k = int(np.flatnonzero((p[fld] <= 0).ravel())[0])
                raise NirError(path, name, f"{fld}[{k}] is {p[fld].ravel()[k]} (a time constant must be positive)",
                               kind)
    elif kind in ("Affine", "Linear"):
        p["weight"] = _floats(path, name, kind, node, "weight")
        if p["weight"].ndim != 2:
            raise NirError(path, name, f"weight must be a matrix (out, in), not shape {p['weight'].shape}", kind)
        p["bias"] = _floats(path, name, kind, node, "bias") if kind == "Affine" else None
    elif kind == "Scale":
        p["scale"] = _floats(path, name, kind, node, "scale")
    elif kind == "Flatten":
        for fld in ("start_dim", "end_dim"):
            v = getattr(node, fld, None)
            if isinstance(v, np.ndarray) and v.size == 1:
                v = v.item()
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise NirError(path, name, f"{fld} must be an integer (got {v!r})", kind)
            p[fld] = int(v)
    elif kind == "Conv2d":
        p["weight"] = _floats(path, name, kind, node, "weight")
        if p["weight"].ndim != 4:
            raise NirError(path, name, f"weight must be (C_out, C_in / groups, kH, kW), not shape "
                                       f"{p['weight'].shape}", kind)
        p["bias"] = _floats(path, name, kind, node, "bias")
        p["stride"] = _ints(path, name, kind, node, "stride")
        p["dilation"] = _ints(path, name, kind, node, "dilation")
        groups = getattr(node, "groups", 1)
        groups = groups.item() if isinstance(groups, np.ndarray) and groups.size == 1 else groups
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise NirError(path, name, f"groups must be a positive integer (got {groups!r})", kind)
        p["groups"] = int(groups)
        pad = getattr(node, "padding", 0)
        pad = pad.item() if isinstance(pad, np.ndarray) and pad.dtype.kind in "SUO" and pad.size == 1 else pad
        pad = pad.decode() if isinstance(pad, bytes) else pad
        if isinstance(pad, str):
            if pad not in ("same", "valid"):
                raise NirError(path, name, f"padding must be 'same', 'valid' or integers (got {pad!r})", kind)
            p["padding"] = pad
        else:
            p["padding"] = _ints(path, name, kind, None, "padding", value=pad)
        shape = getattr(node, "input_shape", None)
        p["input_shape"] = None if shape is None else _ints(path, name, kind, node, "input_shape")
        if min(p["stride"]) < 1 or min(p["dilation"]) < 1:
            raise NirError(path, name, "stride and dilation must be at least 1", kind)
        if not isinstance(p["padding"], str) and min(p["padding"]) < 0:
            raise NirError(path, name, "padding must not be negative", kind)
    elif kind in ("SumPool2d", "AvgPool2d"):
        for fld in ("kernel_size", "stride", "padding"):
            p[fld] = _ints(path, name, kind, node, fld)
        if min(p["kernel_size"]) < 1 or min(p["stride"]) < 1 or min(p["padding"]) < 0:
            raise NirError(path, name, "kernel_size and stride must be at least 1, padding at least 0", kind)
    elif kind in ("Input", "Output"):
        types = getattr(node, "input_type" if kind == "Input" else "output_type", None) or {}
        shape = next(iter(types.values()), None) if isinstance(types, dict) else None
        p["shape"] = None if shape is None else np.asarray(shape).ravel()
    return p


def _meta(node) -> dict:
    md = getattr(node, "metadata", None)
    return dict(md) if isinstance(md, dict) else {}


# ----------------------------------------------------------------------------------------------
# Shapes


def _conv_out(n, k, s, p, d) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_padding(params: dict, hw: tuple) -> tuple:
    """(top, left) padding and the (bottom, right) padding of a Conv2d (PyTorch's 'same' puts
    the odd pixel at the end)."""
    pad = params["padding"]
    if pad == "valid":
        return (0, 0), (0, 0)
    if pad == "same":
        kh, kw = params["weight"].shape[2:]
        total = [d * (k - 1) for d, k in zip(params["dilation"], (kh, kw))]
        before = tuple(t // 2 for t in total)
        return before, tuple(t - b for t, b in zip(total, before))
    return tuple(pad), tuple(pad)


def _out_shape(path, name, node: Node, in_shape: tuple) -> tuple:
    kind, p = node.type, node.params

    def fail(reason):
        raise NirError(path, name, reason, kind)

    if kind in ("Identity", "Output"):
        return in_shape
    if kind in ("Affine", "Linear"):
        out_n, in_n = p["weight"].shape
        if in_shape != (in_n,):
            fail(f"input shape {list(in_shape)} does not match weight (out, in) = {list(p['weight'].shape)} "
                 f"(expected [{in_n}])")
        if p["bias"] is not None and p["bias"].size not in (1, out_n):
            fail(f"bias has {p['bias'].size} values, the layer has {out_n} outputs")
        return (out_n,)
    if kind == "Scale":
        if p["scale"].size != 1 and tuple(p["scale"].shape) != in_shape:
            fail(f"scale shape {list(p['scale'].shape)} does not match the input shape {list(in_shape)}")
        return in_shape
    if kind == "Flatten":
        nd = len(in_shape)
        s, e = p["start_dim"], p["end_dim"]
        s, e = (s + nd if s < 0 else s), (e + nd if e < 0 else e)
        if not (0 <= s <= e < nd):
            fail(f"start_dim {p['start_dim']} / end_dim {p['end_dim']} do not fit an input of shape {list(in_shape)} "
                 f"(NIR shapes have no batch dimension)")
        return in_shape[:s] + (int(np.prod(in_shape[s:e + 1], dtype=np.int64)),) + in_shape[e + 1:]
    if kind == "Conv2d":
        if len(in_shape) != 3:
            fail(f"input shape {list(in_shape)} is not (C, H, W)")
        c, h, w = in_shape
        c_out, c_g, kh, kw = p["weight"].shape
        groups = p["groups"]
        if c % groups or c_out % groups or c // groups != c_g:
            fail(f"weight {list(p['weight'].shape)} with groups {groups} does not fit {c} input channels")
        if p["input_shape"] is not None and tuple(p["input_shape"]) != (h, w):
            fail(f"input_shape {list(p['input_shape'])} does not match the incoming (H, W) = {[h, w]}")
        if p["bias"].size not in (1, c_out):
            fail(f"bias has {p['bias'].size} values, the layer has {c_out} output channels")
        if p["padding"] == "same" and p["stride"] != (1, 1):
            fail("padding 'same' needs stride 1 (as in PyTorch)")
        before, after = conv_padding(p, (h, w))
        oh = (h + before[0] + after[0] - p["dilation"][0] * (kh - 1) - 1) // p["stride"][0] + 1
        ow = (w + before[1] + after[1] - p["dilation"][1] * (kw - 1) - 1) // p["stride"][1] + 1
        if oh < 1 or ow < 1:
            fail(f"the kernel does not fit the {h}x{w} input")
        return (c_out, oh, ow)
    if kind in ("SumPool2d", "AvgPool2d"):
        if len(in_shape) != 3:
            fail(f"input shape {list(in_shape)} is not (C, H, W)")
        c, h, w = in_shape
        oh = _conv_out(h, p["kernel_size"][0], p["stride"][0], p["padding"][0], 1)
        ow = _conv_out(w, p["kernel_size"][1], p["stride"][1], p["padding"][1], 1)
        if oh < 1 or ow < 1:
            fail(f"the kernel does not fit the {h}x{w} input")
        return (c, oh, ow)
    if kind in NEURON_FIELDS:
        for fld, arr in p.items():
            if arr is not None and arr.size != 1 and tuple(arr.shape) != in_shape:
                fail(f"{fld} has shape {list(arr.shape)}, the incoming shape is {list(in_shape)}")
        return in_shape
    raise AssertionError(kind)


def _check_size(path, name, kind, shape) -> None:
    if any(int(s) < 1 for s in shape):
        raise NirError(path, name, f"shape {list(shape)} has an empty dimension", kind)
    n = int(np.prod([int(s) for s in shape], dtype=object))
    if n > MAX_NEURONS:
        raise NirError(path, name, f"{n} values per step; no chip holds more than {MAX_NEURONS} neurons", kind)


# ----------------------------------------------------------------------------------------------
# The whole graph


def read_graph(path, *, li_as_lif: bool = False) -> Graph:
    """Read, flatten and check a NIR file. LI/CubaLI readouts are refused unless `li_as_lif`."""
    path = Path(path)
    top = load(path)
    raw_nodes, edges = {}, []
    _flatten(path, top, None, raw_nodes, edges)
    if not raw_nodes:
        raise NirError(path, None, "the graph has no nodes")

    nodes = {}
    for name, (kind, obj) in raw_nodes.items():
        if kind in REFUSED:
            raise NirError(path, name, REFUSED[kind], kind)
        if kind in READOUTS and not li_as_lif:
            raise NirError(path, name, "a leaky-integrator readout has no spikes, and the chip reports no "
                                       "membrane per tick (SPEC v2); --li-as-lif makes it a spiking layer", kind)
        nodes[name] = Node(name, kind, _params(path, name, kind, obj), _meta(obj))

    seen = set()
    for src, dst in edges:
        for end in (src, dst):
            if end not in nodes:
                raise NirError(path, None, f"edge ({src!r}, {dst!r}) names {end!r}, which is not a node")
        if (src, dst) in seen:
            raise NirError(path, None, f"edge ({src!r}, {dst!r}) appears twice")
        seen.add((src, dst))
        if nodes[dst].type == "Input":
            raise NirError(path, dst, f"an Input node cannot receive an edge (from {src!r})", "Input")
        if nodes[src].type == "Output":
            raise NirError(path, src, f"an Output node cannot send an edge (to {dst!r})", "Output")

    inputs = [n for n, v in nodes.items() if v.type == "Input"]
    if not inputs:
        raise NirError(path, None, "the graph has no Input node")
    if not any(v.type == "Output" for v in nodes.values()):
        raise NirError(path, None, "the graph has no Output node")
    has_pred = {d for _s, d in edges}
    roots = inputs + [n for n in nodes if n not in has_pred and n not in inputs] + list(nodes)
    back, order = _order(nodes, edges, roots)
    _no_algebraic_loops(path, nodes, edges)

    g = Graph(str(path), nodes, edges, back, order, _meta(top))
    for name in order:
        node = nodes[name]
        if node.type == "Input":
            if node.params["shape"] is None or node.params["shape"].size == 0:
                raise NirError(path, name, "has no shape", "Input")
            shape = node.params["shape"]
            if shape.dtype.kind not in "iuf" or not np.all(shape == np.round(shape)):
                raise NirError(path, name, f"shape {shape.tolist()} is not integers", "Input")
            _check_size(path, name, "Input", shape)
            node.shape = node.in_shape = tuple(int(s) for s in shape)
            continue
        fwd = [s for s, delayed in g.preds(name) if not delayed]
        shapes = {nodes[s].shape for s in fwd}
        if not fwd:
            shapes = {_own_shape(path, name, node)}   # driven by its constants (or a recurrent edge) only
        if len(shapes) != 1:
            raise NirError(path, name, "its inputs have different shapes: " +
                           ", ".join(f"{s} {list(nodes[s].shape)}" for s in fwd), node.type)
        node.in_shape = shapes.pop()
        node.shape = _out_shape(path, name, node, node.in_shape)
        _check_size(path, name, node.type, node.shape)
        if node.type == "Output" and node.params["shape"] is not None:
            declared = node.params["shape"]
            if int(np.prod(declared)) != node.size:
                raise NirError(path, name, f"declares shape {declared.tolist()}, receives {list(node.shape)}",
                               "Output")
    for src, dst in sorted(back):
        if nodes[src].shape != nodes[dst].in_shape:
            raise NirError(path, dst, f"the recurrent edge from {src!r} brings shape {list(nodes[src].shape)}, "
                                      f"its other inputs {list(nodes[dst].in_shape)}", nodes[dst].type)
    return g


def _own_shape(path, name, node: Node) -> tuple:
    """The shape of a node no forward edge feeds: from its parameters."""
    p = node.params
    if node.type in ("Affine", "Linear"):
        return (p["weight"].shape[1],)
    if node.type in NEURON_FIELDS:
        arrays = [a for a in p.values() if a is not None]
        big = max(arrays, key=lambda a: a.size)
        if big.ndim >= 1:
            return tuple(big.shape)
    raise NirError(path, name, "nothing feeds it and its parameters do not say its shape", node.type)


def _order(nodes: dict, edges: list, inputs: list):
    """Depth-first search from the roots (the inputs, then nodes nothing feeds, then any node
    not reached yet, each in file order; successors in edge order): the back edges, and the
    evaluation order (reverse post-order: a topological order of the rest)."""
    succ = {n: [] for n in nodes}
    for s, d in edges:
        succ[s].append(d)
    state, post, back = {}, [], set()
    for root in inputs:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = "open"
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = "done"
                post.append(node)
                stack.pop()
            elif state.get(nxt) == "open":
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = "open"
                stack.append((nxt, iter(succ[nxt])))
    return back, post[::-1]


def _no_algebraic_loops(path, nodes, edges) -> None:
    """Every cycle must pass through a spiking node: a loop of linear nodes has no step between
    its passes (an algebraic loop), and no time-stepped simulator can evaluate it."""
    succ = {n: [d for s, d in edges if s == n and not nodes[d].spiking] for n in nodes if not nodes[n].spiking}
    state = {}
    for root in succ:
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise NirError(path, nxt, "lies on a cycle with no spiking node (an algebraic loop)", nodes[nxt].type)
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
