"""The float reference: a NumPy simulator of a NIR graph, forward Euler at `dt`, node by node.

It does not use the importer's composed matrices: linear nodes run through `ops.apply`
(convolutions computed directly), so comparing it with the chip also checks the unrolling.

One step, for every node in `Graph.order`, with x the sum of its inputs (a back edge brings its
source's value from the previous step; before step 1 every node holds its output for silent
inputs, so an Affine's bias reaches a recurrent edge from the first step on, as in snnTorch):

    Input     its spikes of this step (0 / 1)
    linear    ops.apply (Affine: W x + b, Conv2d, pooling, ...)
    LIF       v = (1 - dt/tau) v + (dt/tau) (v_leak + r x)
    CubaLIF   I = (1 - dt/tau_syn) I + (dt/tau_syn) w_in x;  v = (1 - dt/tau_mem) v + (dt/tau_mem) (v_leak + r I)
    IF        v = v + dt r x       (if_per_step: v = v + r x)
    LI/CubaLI as LIF/CubaLIF with threshold `li_threshold` (only with --li-as-lif)

then, per neuron: if refractory steps remain, v = 0, one fewer remains, no spike; else if
v > v_threshold it spikes and v = 0 (reset "zero", NIR's v_reset = 0) or v = v - v_threshold
(reset "subtract"), and `refractory` steps follow (the chip's SPEC section 3 order).
"""
from __future__ import annotations

import numpy as np

from . import ops
from .graph import Graph


def simulate(g: Graph, inputs: dict, steps: int, dt: float, *, reset="zero", refractory=0,
             if_per_step: bool = False, li_threshold: float = 1.0, chip_timing: bool = False) -> dict:
    """`inputs`: {Input node: bool array (steps, size)} (missing: silent). Returns
    {neuron node: bool array (steps, size)} (flattened in C order). `reset` ("zero",
    "subtract") and `refractory` (ticks) hold for every layer, or are {node: per-neuron array}
    (reset 1 = subtract).

    `chip_timing`: every spike reaches the next spiking layer one step later (SPEC section 2:
    one tick per projection) while the inputs act in their own step; with it, the reference
    differs from the chip by quantisation alone."""
    nodes = g.nodes
    states = {n: _State(nodes[n], dt, if_per_step, li_threshold,
                        reset[n] if isinstance(reset, dict) else np.full(nodes[n].size, reset == "subtract"),
                        refractory[n] if isinstance(refractory, dict) else np.full(nodes[n].size, refractory))
              for n in g.order if nodes[n].spiking}
    preds = {n: g.preds(n) for n in g.order}
    order = _chip_order(g) if chip_timing else g.order
    out = {n: np.zeros((steps, nodes[n].size), bool) for n in states}

    def step(t, prev, live):
        cur = {}
        if chip_timing:   # spiking layers send what they fired in the previous step
            cur.update({n: prev[n] for n in states})
        for name in order:
            node = nodes[name]
            if node.type == "Input":
                x = inputs.get(name)
                cur[name] = (x[t].reshape(node.shape).astype(float) if x is not None and live
                             else np.zeros(node.shape))
                continue
            x = np.zeros(node.in_shape)
            for src, delayed in preds[name]:
                x = x + (prev[src] if delayed and not chip_timing else cur[src])
            if not node.spiking:
                cur[name] = ops.apply(node, x)
            elif chip_timing:
                cur[name + "\0next"] = states[name].step(x) if live else np.zeros(node.shape)
            else:
                cur[name] = states[name].step(x) if live else np.zeros(node.shape)
        if chip_timing:
            for n in states:
                cur[n] = cur.pop(n + "\0next")
        return cur

    # Step 0: silent inputs and no spikes, so that back edges start with their constants.
    prev = step(0, {n: np.zeros(nodes[n].shape) for n in g.order}, False)
    for t in range(steps):
        prev = step(t, prev, True)
        for n in states:
            out[n][t] = prev[n].ravel() > 0
    return out


def _chip_order(g: Graph) -> list:
    """Inputs, then the linear nodes in an order where each follows its non-spiking sources
    (spiking sources hold last step's spikes), then the spiking nodes."""
    nodes = g.nodes
    linear = [n for n in g.order if not nodes[n].spiking and nodes[n].type != "Input"]
    deps = {n: {s for s, _d in g.preds(n) if s in linear} for n in linear}
    done, order = set(), []
    while len(order) < len(linear):
        ready = [n for n in linear if n not in done and deps[n] <= done]
        order += ready
        done.update(ready)
    return g.of_type("Input") + order + [n for n in g.order if nodes[n].spiking]


class _State:
    def __init__(self, node, dt, if_per_step, li_threshold, subtract, refractory):
        p = {k: (v.astype(float) if v is not None else None) for k, v in node.params.items()}
        self.kind = node.type
        shape = node.shape
        self.v = np.zeros(shape)
        self.i = np.zeros(shape)
        self.r = np.zeros(shape, np.int64)
        one = np.ones(shape)
        self.w_in = p.get("w_in") if p.get("w_in") is not None else one
        if self.kind in ("LIF", "LI"):
            self.a_mem, self.a_syn = dt / p["tau"], None
        elif self.kind in ("CubaLIF", "CubaLI"):
            self.a_mem, self.a_syn = dt / p["tau_mem"], dt / p["tau_syn"]
        else:   # IF: no leak; the input gain is dt r (per step: r)
            self.a_mem, self.a_syn = None, None
            self.k_if = p["r"] if if_per_step else dt * p["r"]
        self.r_gain = p["r"]
        self.v_leak = p.get("v_leak") if p.get("v_leak") is not None else 0.0
        self.thr = p["v_threshold"] if "v_threshold" in p else li_threshold * one
        self.thr = np.broadcast_to(self.thr, shape)
        self.subtract = _per_neuron(subtract, shape, bool)
        self.refractory = _per_neuron(refractory, shape, np.int64)

    def step(self, x):
        if self.kind == "IF":
            self.v = self.v + self.k_if * x
        else:
            drive = x
            if self.a_syn is not None:
                self.i = (1 - self.a_syn) * self.i + self.a_syn * self.w_in * x
                drive = self.i
            self.v = (1 - self.a_mem) * self.v + self.a_mem * (self.v_leak + self.r_gain * drive)
        held = self.r > 0
        fire = ~held & (self.v > self.thr)
        self.v = np.where(held, 0.0, self.v)
        self.r = np.where(held, self.r - 1, self.r)
        self.v = np.where(fire, np.where(self.subtract, self.v - self.thr, 0.0), self.v)
        self.r = np.where(fire, self.refractory, self.r)
        return fire.astype(float)


def _per_neuron(value, shape, dtype) -> np.ndarray:
    arr = np.asarray(value, dtype)
    return np.full(shape, arr.ravel()[0], dtype) if arr.size == 1 else arr.reshape(shape)
