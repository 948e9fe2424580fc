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
    """Figures that depend on the network and its image only."""
    sizes = {p["name"]: p["size"] for p in net.populations}
    pairs = {}   # (pre, post) populations -> their nonzero (i, j): one weight matrix per pair
    for pr in net.projections:
        nonzero = pairs.setdefault((pr["pre"], pr["post"]), set())
        nonzero.update((i, j) for i, j, w in pr["synapses"] if w)
    dense = sum(sizes[pre] * sizes[post] for pre, post in pairs)
    connections = sum(len(nz) for nz in pairs.values())
    words = len({addr for addr, _ in writes})
    return {
        "footprint": 4 * words,
        "connection_sparsity": (1 - connections / dense) if dense else 0.0,
        "dense_synops": dense,
        "connections": connections,
    }


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
