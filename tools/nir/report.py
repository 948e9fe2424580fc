"""The quantisation report `NET.report.json` / `NET.report.md`: per layer the chosen scale and
exponents, what rounding did to time constants, thresholds, biases and weights, and how the
chip's spikes compare with the float reference's on a stimulus, two ways:

- `framework`: the reference with the framework's timing (a feed-forward chain within one step),
  the chip's layer shifted back by its delay (layer d: d - 1 ticks); this is what a user of the
  trained network will see, and includes the timing effects (the deeper layers' biases start
  before their first input arrives; skip connections);
- `chip_timing`: the reference with the chip's timing (one step per projection, reference.py);
  the difference is quantisation alone.

Fields are documented in docs/nir.md.
"""
from __future__ import annotations

import json
import math

REPORT_FORMAT = "neuromesh-nir-report/1"
GOOD = 0.95      # matched-spike fraction the report calls good agreement


def _clean(x):
    """JSON-safe: inf -> "inf", NaN -> None, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        try:
            x = x.item()
        except (ValueError, AttributeError):
            x = x.tolist()
            return _clean(x)
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return x


def build(conv, comparison: dict, *, network_path: str, stimulus: dict, options: dict) -> dict:
    q = conv.quantised
    layers = []
    for layer in q.net.neurons:
        info = dict(q.layers[layer.name].info)
        info["projections"] = [p.info for p in q.projections if p.post == layer.name]
        info["agreement"] = {k: comparison[k]["layers"][layer.name] for k in ("framework", "chip_timing")
                             if k in comparison}
        layers.append(info)
    worst = {k: min((l["agreement"][k]["matched_fraction"] for l in layers if k in l["agreement"]), default=None)
             for k in ("framework", "chip_timing")}
    return _clean({
        "format": REPORT_FORMAT,
        "source": q.net.path,
        "network": network_path,
        "dt_s": q.dt,
        "options": options,
        "hardware": conv.network["hardware"],
        "inputs": [{"name": l.name, "size": l.size, "shape": list(l.shape)} for l in q.net.inputs],
        "layers": layers,
        "stimulus": stimulus,
        "comparison": {k: v for k, v in comparison["framework"].items() if k in ("engine", "steps", "chip_ticks")},
        "worst_matched_fraction": worst,
        "notes": list(dict.fromkeys(q.notes)),
    })


def _f(x, digits=3):
    if x is None:
        return "n/a"
    if isinstance(x, str):
        return x
    if isinstance(x, int):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-3:
        return f"{x:.{digits}g}"
    return f"{x:.{digits}g}"


def _range(pair, digits=3):
    a, b = pair
    return _f(a, digits) if a == b else f"{_f(a, digits)} .. {_f(b, digits)}"


def markdown(report: dict) -> str:
    r = report
    out = [f"# Quantisation report: {r['source']}", "",
           f"Network written to `{r['network']}` (dt = {_f(r['dt_s'])} s; "
           + ", ".join(f"{k} {v}" for k, v in r["options"].items()) + ").", "",
           f"Hardware: {r['hardware']['width']} x {r['hardware']['height']} tiles, "
           f"{r['hardware']['neurons_per_core']} neurons, {r['hardware']['axons_per_core']} axons, "
           f"{r['hardware']['synapses_per_core']} synapse entries, {r['hardware']['routes_per_core']} route entries "
           f"per core.", "",
           "Inputs: " + ", ".join(f"`{i['name']}` ({i['size']} neurons, shape {i['shape']})" for i in r["inputs"]) + ".",
           "", "## Layers", "",
           "| layer | type | neurons | delay (ticks) | scale (V/unit) | weight_exp | du | dv | tau_mem: NIR -> chip (s) "
           "| tau_syn: NIR -> chip (s) | vth | threshold error | worst accumulator |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for l in r["layers"]:
        tau_syn = (f"{_range(l['tau_syn_s'])} -> {_range(l['tau_syn_chip_s'])}" if "tau_syn_s" in l else "-")
        out.append(f"| `{l['name']}` | {l['type']} | {l['size']} | {l['shift']}{'' if l['aligned'] else ' (misaligned)'} "
                   f"| {_f(l['scale'])} | {', '.join(map(str, l['weight_exp']))} | {_range(l['du'])} | {_range(l['dv'])} "
                   f"| {_range(l['tau_mem_s'])} -> {_range(l['tau_mem_chip_s'])} | {tau_syn} | {_range(l['vth'])} "
                   f"| {_f(100 * l['threshold_max_relative_error'], 2)}% | {l['worst_accumulator']} |")
    out += ["", "Scale: how the layer's scale was chosen. " + "; ".join(
        f"`{l['name']}`: {l['scale_choice']}" for l in r["layers"]) + ".", "",
            "## Weights", "",
            "| projection | recurrent | weight_exp | synapses | kept | clipped | rounded to zero | largest weight "
            "| RMS error (weight steps) | RMS relative error |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for l in r["layers"]:
        for p in l["projections"]:
            out.append(f"| `{p['pre']}` -> `{l['name']}` (via {', '.join(p['via']) or 'no linear node'}) "
                       f"| {'yes' if p['delayed'] else 'no'} | {p['weight_exp']}"
                       f"{'' if p.get('fine_weight_exp') is None else ' + fine ' + str(p['fine_weight_exp'])} "
                       f"| {p['synapses']} | {p['kept']}{'' if not p.get('fine_kept') else ' + ' + str(p['fine_kept'])} "
                       f"| {p['clipped']} | {p['rounded_to_zero']} | {p['max_weight']} | {_f(p['rms_error_steps'])} "
                       f"| {_f(100 * p['rms_relative_error'], 2)}% |")
    cmp = r["comparison"]
    stim = r["stimulus"]
    src = (f"`{stim['path']}`" if stim.get("kind") == "file"
           else f"random Poisson input, {stim['rate']} spikes per tick per input neuron, seed {stim['seed']}")
    out += ["", "## Spikes: float reference against the chip", "",
            f"Stimulus: {src}, {cmp['steps']} steps; the chip ({cmp['engine']} engine) runs {cmp['chip_ticks']} ticks "
            f"so that the deepest layer sees the last step.", "",
            "*Framework timing*: the reference steps like the framework (a spike crosses the whole feed-forward chain "
            "within one step) and the chip's layer is shifted back by its delay. *Chip timing*: the reference takes one "
            "step per projection, as the chip does, so the difference is quantisation alone. Matched: spikes paired "
            "within +-1 tick, over the larger of the two counts.", "",
            "| layer | reference spikes | chip spikes | count correlation | matched (framework timing) "
            "| reference spikes (chip timing) | matched (chip timing) |",
            "|---|---|---|---|---|---|---|"]
    for l in r["layers"]:
        a = l["agreement"].get("framework", {})
        c = l["agreement"].get("chip_timing", {})
        corr = a.get("count_correlation")
        corr_text = _f(corr, 4) if corr is not None else ("equal counts" if a.get("equal_counts") else "n/a (constant)")
        out.append(f"| `{l['name']}` | {a.get('reference_spikes')} | {a.get('chip_spikes')} | {corr_text} "
                   f"| {_pct(a.get('matched_fraction'))} | {c.get('reference_spikes', '-')} "
                   f"| {_pct(c.get('matched_fraction'))} |")
    if r["notes"]:
        out += ["", "## Notes", ""] + [f"- {n}" for n in r["notes"]]
    out += ["", "Fields and formulas: docs/nir.md.", ""]
    return "\n".join(out)


def _pct(x):
    if x is None:
        return "-"
    mark = "" if x >= GOOD else " (below 95%)"
    return f"{100 * x:.1f}%{mark}"


def to_json(report: dict) -> str:
    return json.dumps(report, indent=1) + "\n"
