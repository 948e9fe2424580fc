"""`neuromesh export`: a network file as a NIR graph, written so that `neuromesh import` gives the
same chip network back (same spikes) and another tool reads the same dynamics.

Units: one membrane unit of the chip is one volt of the graph. Every neuron gets gain 1 (so a
NIR weight is `weight << weight_exp << 6`, the membrane units one spike adds) by choosing r (and
w_in) from the time constants; `dt` (default 1e-4 s, stored as the graph's `neuromesh_dt`
metadata) turns the decays into time constants:

    du = 4095, dv = 0, no bias  ->  IF(r = 1/dt)
    du = 4095                   ->  LIF(tau = 4096 dt / dv, r = tau / dt, v_leak = bias tau / dt)
    otherwise                   ->  CubaLIF(tau_syn = 4096 dt / (du + 1), w_in = tau_syn / dt,
                                            tau_mem, r, v_leak as for LIF)

with dv = 0 written as tau = 2^24 dt (its decay, 6e-8 per step, rounds to dv = 0) and the
threshold vth << 6. Each projection is one `Linear` node between its two layers; recorded layers
feed `Output` nodes. Each neuron node carries `neuromesh_scale` = 1 (the importer's scale, so the
integers come back exactly). What NIR cannot say is kept as node metadata that only NeuroMesh
reads, with a warning: reset by subtraction (`neuromesh_reset`), refractory periods
(`neuromesh_refractory`); a network's placement and hardware are not exported.
"""
from __future__ import annotations

import numpy as np

from neuromesh import spec

from .quantise import DEFAULT_DT, SCALE_KEY

TAU_NO_LEAK = float(1 << 24)      # in units of dt: rounds to dv = 0 on import
UNIT = 1 << spec.INPUT_SHIFT


def _per_neuron(pop: dict, key: str) -> np.ndarray:
    v = pop["params"][key]
    return np.asarray(v if isinstance(v, list) else [v] * pop["size"], np.int64)


def _node_name(name: str, used: set) -> str:
    base = name.replace("/", "_") or "_"
    out, k = base, 1
    while out in used:
        out, k = f"{base}_{k}", k + 1
    used.add(out)
    return out


def neuron_node(pop: dict, dt: float, warnings: list):
    import nir
    p = {k: _per_neuron(pop, k) for k in spec.NEURON_PARAMS}
    bias = (p["bias_mant"] << p["bias_exp"]).astype(float)
    vth = (p["vth"] * UNIT).astype(float)
    zero = np.zeros(pop["size"])
    meta = {SCALE_KEY: 1.0}
    if p["reset"].any():
        meta["neuromesh_reset"] = p["reset"]
        warnings.append(f"population {pop['name']!r}: reset by subtraction has no NIR field; written as node metadata "
                        f"neuromesh_reset (NeuroMesh reads it, other tools reset to 0)")
    if p["refractory"].any():
        meta["neuromesh_refractory"] = p["refractory"]
        warnings.append(f"population {pop['name']!r}: refractory periods have no NIR field; written as node metadata "
                        f"neuromesh_refractory (NeuroMesh reads it, other tools ignore it)")
    no_syn = np.all(p["du"] == spec.DECAY_ONE - 1)
    if no_syn and np.all(p["dv"] == 0) and not bias.any():
        return nir.IF(r=np.full(pop["size"], 1.0 / dt), v_threshold=vth, v_reset=zero, metadata=meta)
    tau_mem = np.where(p["dv"] > 0, spec.DECAY_ONE * dt / np.maximum(p["dv"], 1), TAU_NO_LEAK * dt)
    r = tau_mem / dt
    v_leak = bias * tau_mem / dt
    if no_syn:
        return nir.LIF(tau=tau_mem, r=r, v_leak=v_leak, v_threshold=vth, v_reset=zero, metadata=meta)
    tau_syn = spec.DECAY_ONE * dt / (p["du"] + 1).astype(float)
    return nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=r, v_leak=v_leak, v_threshold=vth, v_reset=zero,
                       w_in=tau_syn / dt, metadata=meta)


def export_graph(net, dt: float = DEFAULT_DT):
    """(nir.NIRGraph, warnings) for a validated `firmware.netfile.Network`."""
    import nir
    warnings, used, names = [], set(), {}
    nodes, edges = {}, []
    for pop in net.populations:
        name = names[pop["name"]] = _node_name(pop["name"], used)
        if name != pop["name"]:
            warnings.append(f"population {pop['name']!r} is node {name!r} (NIR node names cannot hold '/')")
        if pop["kind"] == "input":
            nodes[name] = nir.Input(input_type=np.array([pop["size"]]))
        else:
            nodes[name] = neuron_node(pop, dt, warnings)
    sizes = {p["name"]: p["size"] for p in net.populations}
    for k, pr in enumerate(net.projections):
        w = np.zeros((sizes[pr["post"]], sizes[pr["pre"]]))
        for i, j, wt in pr["synapses"]:
            w[j, i] += wt << pr["weight_exp"] << spec.INPUT_SHIFT
        lin = _node_name(f"w{k}_{names[pr['pre']]}_{names[pr['post']]}", used)
        nodes[lin] = nir.Linear(weight=w)
        edges += [(names[pr["pre"]], lin), (lin, names[pr["post"]])]
    lif = [p for p in net.populations if p["kind"] == "lif"]
    senders = {pr["pre"] for pr in net.projections}
    outs = [p for p in lif if p["record"]] or [p for p in lif if p["name"] not in senders] or lif
    for pop in outs:
        out = _node_name(f"{names[pop['name']]}_output", used)
        nodes[out] = nir.Output(output_type=np.array([pop["size"]]))
        edges.append((names[pop["name"]], out))
    meta = {"neuromesh_dt": float(dt), "neuromesh_source": str(net.path)}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False), warnings


def export_network(net_path, out_path, dt: float | None = None) -> list:
    """Write the network file `net_path` as a NIR file (whole or not at all); the warnings."""
    import nir

    from neuromesh.firmware.netfile import load_network
    from neuromesh.outputs import Outputs
    dt = DEFAULT_DT if dt is None else dt
    if not (np.isfinite(dt) and dt > 0):
        raise spec.NeuroMeshError(f"--dt: must be a positive number of seconds (got {dt!r})")
    net = load_network(net_path)
    graph, warnings = export_graph(net, dt)
    with Outputs() as out:
        nir.write(str(out.path(out_path)), graph)
    return warnings
