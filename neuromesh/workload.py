"""NeuroBench-style workload figures of a run, named as NeuroBench's harness names them
(`neurobench.metrics`: `Footprint`, `ConnectionSparsity`, `ActivationSparsity`,
`SynapticOperations` with `Effective_MACs`, `Effective_ACs`, `Dense`).

- `static_figures(net, writes)`: what the network and its image are, before any run;
- `workload_figures(counts, static)`: those plus what a run did (from the SPEC section 8 counts).

What each means here (docs/energy.md, "NeuroBench figures"):

- `footprint`: bytes of the configuration image, 4 per distinct 32-bit word written (the
  tables, neuron parameters and counts the chip holds; not the addresses);
- `connection_sparsity`: the share of zeros in the weight matrices, one pre x post matrix per
  pair of populations (projections between the same two populations, e.g. with different
  `weight_exp`, share it), a (pre, post) neuron pair counted once however many entries it has;
- `activation_sparsity`: the share of neuron updates in which the neuron did not fire
  (NeuroBench: zero activations over all activations of every neuron layer, every time step);
- `synaptic_operations`: `Effective_ACs` the synaptic operations the chip performed (one
  accumulate per synapse entry per event), `Effective_MACs` 0 (a spiking chip multiplies
  nothing), `Dense` the multiply-accumulates of one pass of a non-spiking network of the same
  shape (every weight, zero or not).  NeuroBench's harness, run step by step on a spiking
  model, would count `Dense` once per time step; `Dense_per_tick_total` gives that reading.
"""
from __future__ import annotations


def static_figures(net, writes) -> dict:
    """Figures that depend on the network and its image only. Whole-array: a (pre, post) pair of
    neurons is one int64 key, counted once with `np.unique` (no Python object per synapse)."""
    import numpy as np
    sizes = {p["name"]: p["size"] for p in net.populations}
    pairs = {}   # (pre, post) populations -> keys of their nonzero (i, j): one weight matrix per pair
    for pr in net.projections:
        pre, post, weight = _synapse_columns(pr["synapses"])
        nz = weight != 0
        keys = pre[nz] * sizes[pr["post"]] + post[nz]
        pairs.setdefault((pr["pre"], pr["post"]), []).append(keys)
    dense = sum(sizes[pre] * sizes[post] for pre, post in pairs)
    connections = sum(_distinct(np.concatenate(keys)) for keys in pairs.values())
    addr = writes.addr if hasattr(writes, "addr") else np.array([a for a, _ in writes], dtype=np.int64)
    words = _distinct(addr)
    return {
        "footprint": 4 * words,
        "connection_sparsity": (1 - connections / dense) if dense else 0.0,
        "dense_synops": dense,
        "connections": connections,
    }


def _distinct(values) -> int:
    """How many distinct values: by sorting (NumPy's hash-based `unique` is several times slower
    on a few hundred thousand integers)."""
    import numpy as np
    values = np.asarray(values)
    if len(values) < 2 or np.all(values[1:] > values[:-1]):
        return len(values)   # already strictly increasing (a compiled image's addresses)
    v = np.sort(values)
    return int(np.count_nonzero(v[1:] != v[:-1])) + 1


def _synapse_columns(synapses):
    """(pre, post, weight) int64 arrays of a projection's synapses (a `netfile.Synapses` or a
    list of (pre, post, weight))."""
    import numpy as np
    if hasattr(synapses, "pre"):
        return (synapses.pre.astype(np.int64), synapses.post.astype(np.int64), synapses.weight.astype(np.int64))
    arr = np.array([tuple(s) for s in synapses], dtype=np.int64).reshape(-1, 3)
    return arr[:, 0], arr[:, 1], arr[:, 2]


def workload_figures(counts: dict, static: dict | None, ticks: int) -> dict:
    """The NeuroBench figures of one run (`counts`: energy event counts, `energy.EVENTS` keys)."""
    updates = counts.get("update_idle", 0) + counts.get("update_active", 0)
    out = {
        "synaptic_operations": {"Effective_MACs": 0, "Effective_ACs": counts.get("sop", 0)},
        "activation_sparsity": (1 - counts.get("update_active", 0) / updates) if updates else None,
    }
    if static:
        out["synaptic_operations"]["Dense"] = static["dense_synops"]
        out["synaptic_operations"]["Dense_per_tick_total"] = static["dense_synops"] * ticks
        out["connection_sparsity"] = static["connection_sparsity"]
        out["footprint"] = static["footprint"]
    return out
