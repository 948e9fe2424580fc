"""Handwritten digits, part 3: the report (`report.md`) and its plots (spike raster of one
inference, link load, energy by event type, accuracy against energy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from neuromesh import spec
from neuromesh.energy import BUILTIN, EVENTS, load_profile

from . import net as dn


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def engine_summary(st) -> dict | None:
    if st is None:
        return None
    rows = st.per_image
    n = len(rows)
    energy, ranges = {}, {}
    for name in BUILTIN:
        energy[name] = {ev: _mean([r["energy_pj"][name][ev] for r in rows]) for ev in (*EVENTS, "total")}
        ranges[name] = [_mean([r["energy_range_pj"][name][0] for r in rows]),
                        _mean([r["energy_range_pj"][name][1] for r in rows])]
    workload = {}
    if rows:
        w0 = rows[0]["workload"]
        workload = {"Effective_ACs": _mean([r["workload"]["synaptic_operations"]["Effective_ACs"] for r in rows]),
                    "Effective_MACs": 0,
                    "activation_sparsity": _mean([r["workload"]["activation_sparsity"] for r in rows]),
                    "connection_sparsity": w0.get("connection_sparsity"), "footprint": w0.get("footprint")}
    keys = ("ticks", "cycles", "sops", "flits", "hops", "input_spikes", "spikes_fired",
            "first_output_cycle", "decision_cycle")
    return {
        "engine": st.engine, "code": st.code, "gain": st.gain, "T": st.T, "images": n,
        "accuracy": st.correct / n if n else None,
        "mismatches": st.mismatches, "seconds": st.seconds,
        "mean": {k: _mean([r[k] for r in rows]) for k in keys},
        "max": {k: max((r[k] for r in rows if r[k] is not None), default=None) for k in keys},
        "energy_pj": energy, "energy_range_pj": ranges, "workload": workload,
        "link_load": {str(k): v for k, v in st.link_load.items()},
    }


def _label(r: dict) -> str:
    return f"{r['code']}, gain {r['gain']:g}, T = {r['T']}"


def _nj(pj) -> str:
    return "-" if pj is None else f"{pj / 1000:.2f}"


def _f(x, nd=0) -> str:
    return "-" if x is None else f"{x:,.{nd}f}"


# ----------------------------------------------------------------------------------------------
# Plots


def plot_raster(path: Path, probe: dict, snn, in_spikes: np.ndarray, label: int, pixels: np.ndarray):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ticks = probe["stats"]["ticks"]
    n_in = snn.hidden.weights.shape[0]
    hid = dn.hidden_raster(probe, snn.hidden.size, ticks)
    out = dn.output_raster(probe, snn.output.size, ticks)
    fig, axes = plt.subplots(3, 1, figsize=(7, 7), sharex=True,
                             gridspec_kw={"height_ratios": [n_in, snn.hidden.size, 3 * snn.output.size]})
    in_ticks = in_spikes.shape[0]
    tt, ii = np.nonzero(in_spikes)
    axes[0].scatter(tt + 1, ii, s=4, marker="|", color="tab:gray")
    axes[0].set_ylabel(f"pixel\n({len(tt)} spikes)")
    inset = axes[0].inset_axes([1.01, 0.55, 0.2, 0.45])
    inset.imshow(pixels.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
    inset.set_xticks([])
    inset.set_yticks([])
    tt, jj = np.nonzero(hid)
    axes[1].scatter(tt + 1, jj, s=6, marker="|", color="tab:blue")
    axes[1].set_ylabel(f"hidden\n({len(tt)} spikes)")
    tt, kk = np.nonzero(out)
    axes[2].scatter(tt + 1, kk, s=30, marker="|", color="tab:red")
    axes[2].set_ylabel(f"output class\n({len(tt)} spikes)")
    axes[2].set_yticks(range(snn.output.size))
    axes[2].set_xlabel(f"tick (inputs in ticks 1..{in_ticks}, one more tick for the output layer)")
    axes[0].set_title(f"One inference on the golden model (test image 0, digit {label})")
    for ax in axes:
        ax.set_xlim(0.5, ticks + 0.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_link_load(path: Path, load: dict, hw: dict, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    params = spec.HwParams(**hw)
    tiles = list(params.tiles())
    m = np.array([[load[str(k)][p] if str(k) in load else 0.0 for p in spec.PORTS] for k in range(len(tiles))])
    fig, ax = plt.subplots(figsize=(6.5, 1.2 + 0.6 * len(tiles)))
    im = ax.imshow(m, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(spec.PORTS)))
    ax.set_xticklabels([f"{p}\n(out)" if p != "west" else "west\n(out; host at 0,0)" for p in spec.PORTS], fontsize=8)
    ax.set_yticks(range(len(tiles)))
    ax.set_yticklabels([f"router ({x}, {y})" for x, y in tiles])
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, f"{m[i, j]:.0f}", ha="center", va="center",
                    color="white" if m[i, j] < m.max() / 2 else "black", fontsize=8)
    fig.colorbar(im, ax=ax, label="flits forwarded per inference")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_energy(path: Path, energy: dict, dense_pj: dict, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    events = [e for e in EVENTS if any(energy[n][e] for n in BUILTIN)]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / len(BUILTIN)
    x = np.arange(len(events))
    for k, name in enumerate(BUILTIN):
        vals = [max(energy[name][e], 1e-6) / 1000 for e in events]
        ax.bar(x + (k - (len(BUILTIN) - 1) / 2) * width, vals, width, label=f"spiking, {name} profile")
    styles = {"arithmetic": ":", "with_weight_fetch": "--"}
    for key, pj in dense_pj.items():
        ax.axhline(pj / 1000, color="k", linestyle=styles.get(key, "-"), linewidth=1,
                   label=f"dense int8 at 45 nm, whole inference ({key.replace('_', ' ')})")
    ax.set_xticks(x)
    ax.set_xticklabels(events, rotation=20, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-3)
    ax.set_ylabel("nJ per inference")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_stream(path: Path, st: dict, dense_nodes: list):
    """Energy per frame against F (spiking per profile with its range; dense every frame and on
    change, with weight fetch, at 45 nm and the profiles' nodes), and accuracy against F."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = st["rows"]
    F = [r["F"] for r in rows]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(7.5, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, name in enumerate(BUILTIN):
        pt = [r["snn_pj"][name]["pj"] / 1000 for r in rows]
        lo = [r["snn_pj"][name]["low"] / 1000 for r in rows]
        hi = [r["snn_pj"][name]["high"] / 1000 for r in rows]
        ax.plot(F, pt, "o-", color=colors[k], label=f"spiking, delta code ({name})")
        ax.fill_between(F, lo, hi, color=colors[k], alpha=0.15)
    for node, style in zip(dense_nodes, ("-", "--", ":")):
        every = [r["dense_pj"][node]["with_weight_fetch"]["every_frame"] / 1000 for r in rows]
        change = [r["dense_pj"][node]["with_weight_fetch"]["on_change"] / 1000 for r in rows]
        ax.plot(F, every, style, color="k", label=f"dense, every frame ({node} nm)")
        ax.plot(F, change, style, color="0.55", label=f"dense, changed frames only ({node} nm)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylabel("nJ per frame")
    ax.set_title(f"Streaming digits: each held for F frames of {st['ticks_per_frame']} ticks "
                 f"(dense with weight fetch; bands: profile ranges)", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    ax2.plot(F, [100 * r["snn_accuracy"] for r in rows], "o-", color="tab:red", label="spiking, every frame")
    ax2.plot(F, [100 * r["snn_accuracy_held"] for r in rows], "s--", color="tab:red", alpha=0.6,
             label="spiking, last frame of each digit")
    ax2.axhline(100 * st["int8_accuracy"], color="k", label="dense int8 (both baselines)")
    ax2.set_ylabel("accuracy, %")
    ax2.set_xlabel("F, frames per digit")
    ax2.set_xticks(F, [str(f) for f in F])
    ax2.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_sweep(path: Path, rows: list, int8_acc: float, floor: float, dense_pj: dict):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for code, marker in (("poisson", "o"), ("regular", "s")):
        for gain in sorted({x["gain"] for x in rows}, reverse=True):
            r = [x for x in rows if x["code"] == code and x["gain"] == gain]
            e = [x["energy_pj_static0"]["loihi"] / 1000 for x in r]
            a = [100 * x["accuracy"] for x in r]
            ax.plot(e, a, marker=marker, markersize=3, linewidth=1, label=f"{code}, gain {gain:g}")
            if gain == 1.0:
                for x, ei, ai in zip(r, e, a):
                    ax.annotate(f"T={x['T']}", (ei, ai), fontsize=6, xytext=(3, -8), textcoords="offset points")
    ax.scatter([dense_pj["arithmetic"] / 1000], [100 * int8_acc], color="k", marker="*", s=80,
               label="dense int8 (arithmetic only)", zorder=3)
    ax.scatter([dense_pj["with_weight_fetch"] / 1000], [100 * int8_acc], color="gray", marker="*", s=80,
               label="dense int8 (with weight fetch)", zorder=3)
    ax.axhline(100 * floor, color="k", linestyle=":", linewidth=1, label="dense int8 - 1.5 points")
    ax.set_xscale("log")
    ax.set_xlabel("energy per inference, nJ")
    ax.set_ylabel("test accuracy, %")
    ax.set_ylim(max(0, 100 * floor - 15), 100)
    ax.legend(fontsize=6, loc="lower right", ncol=2)
    ax.set_title("Accuracy against energy (functional engine, whole test split)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----------------------------------------------------------------------------------------------
# Markdown


def _pair(pj, rng) -> str:
    """`12.34 nJ (10.00-15.00)`, the range only when it differs from the point."""
    if rng is None or (abs(rng[0] - pj) < 1e-9 and abs(rng[1] - pj) < 1e-9):
        return f"{_nj(pj)}"
    return f"{_nj(pj)} ({_nj(rng[0])} to {_nj(rng[1])})"


def _verdict(s: dict, dense: dict, runs: list) -> list:
    m = runs[0]
    by_node = s["dense_energy_pj_by_node"]
    L = ["## Verdict\n"]
    L.append(f"One inference ({_label(m)}, golden model, mean of {m['images']} test images; only neurons a core "
             f"holds are updated, so no empty slot is counted) against the dense int8 network's {s['macs']:,} "
             f"MACs. The headline column is the dense network **with its weight fetches**, at the spiking chip's "
             f"own technology node (Horowitz's 45 nm figures scaled as `dense_int8.json` says) and at 45 nm "
             f"(unscaled, which favours the spiking chips). Spiking energies are the profile's point value, its "
             f"range in brackets.\n")
    L.append("| profile | node | spiking nJ per inference | dense nJ with weight fetch, same node / 45 nm | "
             "spiking / dense (same node) | dense arithmetic only, same node |")
    L.append("|---|---|---|---|---|---|")
    for name in BUILTIN:
        node = str(s["profiles"][name]["node_nm"])
        sp = m["energy_pj"][name]["total"]
        d, d45 = by_node[node], by_node[str(dense["node_nm"])]
        L.append(f"| {name} | {node} nm | {_pair(sp, m['energy_range_pj'][name])} | "
                 f"{_nj(d['with_weight_fetch'])} / {_nj(d45['with_weight_fetch'])} | "
                 f"{sp / d['with_weight_fetch']:,.1f}x | {_nj(d['arithmetic'])} |")
    L.append("")
    worst = max(m["energy_pj"][n]["total"] / by_node[str(s["profiles"][n]["node_nm"])]["with_weight_fetch"]
                for n in BUILTIN)
    best = min(m["energy_pj"][n]["total"] / by_node[str(s["profiles"][n]["node_nm"])]["with_weight_fetch"]
               for n in BUILTIN)
    word = "more" if best > 1 else "less than the dense network under some profile, more under others" \
        if worst > 1 else "less"
    L.append(f"**One inference on the spiking chip costs {word} energy than the dense int8 network at the same "
             f"node: {best:,.1f}x to {worst:,.1f}x its energy with weight fetches, depending on the profile.** ")
    lo = load_profile("loihi")["energy"]
    L.append(f"Per event, a synaptic operation costs {lo['sop_pj']['pj']} pJ on Loihi against "
             f"{dense['mac_with_weight_fetch_pj'] * 14 / dense['node_nm']:.2f} pJ for a MAC with its weight fetch "
             f"at 14 nm, and every held neuron is updated every tick whether it fires or not "
             f"({lo['update_idle_pj']['pj']} pJ each on Loihi): {m['mean']['input_spikes']:.0f} input spikes per "
             f"image fan out to about 30 hidden neurons each, so the spiking network does "
             f"{m['mean']['sops']:,.0f} synaptic operations where the dense network does {s['macs']:,} MACs. "
             f"The TrueNorth profile charges only the marginal 2.3 pJ per event (its leakage is charged per "
             f"tile-edge of this chip's clock, which a short run hardly pays), so it comes closest; its upper "
             f"end, the 26 pJ all-in average of Merolla 2014, lands with Loihi.\n")
    st = s.get("stream")
    if st and st["rows"]:
        L.append(_stream_verdict(st, s))
    return L


def _stream_verdict(st: dict, s: dict) -> str:
    """Plain words: where, if anywhere, the spiking chip breaks even, and why."""
    be = st["break_even"]
    rows = st["rows"]
    last = rows[-1]
    f_span = f"F = {rows[0]['F']} to {last['F']}"

    def node(name):
        return str(s["profiles"][name]["node_nm"])

    def hits(kind):
        out = []
        for name in BUILTIN:
            at_node, at45 = be[name][f"{kind}_{node(name)}nm"], be[name][f"{kind}_45nm"]
            if at_node or at45:
                out.append(f"`{name}` from F = {at_node} at {node(name)} nm" if at_node else
                           f"`{name}` only against the unscaled 45 nm figures, from F = {at45}")
                if at_node and at45 and at45 != at_node:
                    out[-1] += f" (F = {at45} against 45 nm)"
        return out

    def ratio(name):
        return last["snn_pj"][name]["pj"] / last["dense_pj"][node(name)]["with_weight_fetch"]["on_change"]

    fair, naive = hits("on_change"), hits("every_frame")
    text = ["**Streaming, where the spiking chip breaks even:** "]
    if fair:
        text.append(f"against the fair dense baseline (recompute only changed frames) it breaks even for "
                    f"{'; '.join(fair)}. ")
    else:
        text.append(f"against the fair dense baseline (recompute only changed frames) **nowhere**: under no "
                    f"profile at any F measured ({f_span}); at F = {last['F']} a frame costs "
                    f"{min(ratio(n) for n in BUILTIN):,.0f}x to {max(ratio(n) for n in BUILTIN):,.0f}x the fair "
                    f"baseline's. ")
    quiet = [f"`{n}`" for n in BUILTIN if not any(be[n][k] for k in be[n] if k.startswith("every_frame"))]
    if naive:
        text.append(f"Against recomputing every frame it breaks even for {'; '.join(naive)}"
                    + (f"; {', '.join(quiet)} never" if quiet else "") + ". ")
    else:
        text.append("Against recomputing every frame it never breaks even either. ")
    text.append(f"Why: the delta code removes the input spikes of a held digit ({rows[0]['counts']['host_flits']:.0f} "
                f"per frame at F = {rows[0]['F']}, {last['counts']['host_flits']:.1f} at F = {last['F']}), but the "
                f"hidden neurons keep firing while the digit is held (a rate code's activity follows the input's "
                f"value, not its change) and every neuron a core holds is updated every tick: at F = {last['F']} a "
                f"frame still costs {last['counts']['sop']:,.0f} synaptic operations and "
                f"{last['counts']['update_idle'] + last['counts']['update_active']:,.0f} neuron updates, where the "
                f"fair baseline does nothing but compare 64 pixels. Its cost per frame falls as 1/F; the spiking "
                f"chip's settles on that floor. Only a profile whose per-event energies are small against a MAC "
                f"(TrueNorth's marginal 2.3 pJ) gets below a dense engine that recomputes everything, and only "
                f"once frames repeat long enough.\n")
    return "".join(text)


def write_report(out: Path, s: dict, dense: dict, probe, snn, data) -> None:
    runs = s["engine_runs"]
    dense_pj = s["dense_energy_pj"]
    plots = []
    if probe is not None:
        plot_raster(out / "raster.png", probe, snn, probe["input_spikes"], int(data.y_test[0]), data.x_test[0])
        plots.append(("raster.png", "Spike raster of one inference (golden model; hidden layer recorded by a probe run)"))
    if runs:
        main = runs[0]
        plot_link_load(out / "link_load.png", main["link_load"], s["hardware"],
                       f"Flits per inference by router output port\n({_label(main)}, mean of "
                       f"{main['images']} test images, golden model)")
        plots.append(("link_load.png", "Link load: flits forwarded per router output port, mean per inference"))
        plot_energy(out / "energy_by_event.png", main["energy_pj"], dense_pj,
                    f"Energy per inference by event type ({_label(main)}, golden model counts)")
        plots.append(("energy_by_event.png", "Energy by event type under every profile, against the dense int8 network"))
    plot_sweep(out / "accuracy_energy.png", s["sweep"], s["int8_accuracy"], s["accuracy_floor"], dense_pj)
    plots.append(("accuracy_energy.png", "Accuracy against energy for every code and T"))
    st = s.get("stream")
    if st and st["rows"]:
        nodes = sorted({str(dense["node_nm"]), *(str(p["node_nm"]) for p in s["profiles"].values())},
                       key=float, reverse=True)
        plot_stream(out / "stream_energy.png", st, nodes)
        plots.append(("stream_energy.png", "Streaming: energy per frame and accuracy against F"))

    L = []
    L.append("# Handwritten digits on NeuroMesh: accuracy, latency and energy against a dense network\n")
    L.append(f"Written by `python -m neuromesh.tools.workloads.digits` (`make digits`); method in `docs/digits.md`, "
             f"what the energy figures count in `docs/energy.md`. "
             f"Data: scikit-learn `load_digits` (8x8, pixels 0..16), stratified split with seed {s['seed']}: "
             f"{s['train_images']} training and {s['test_images']} test images. Network 64-32-10 ReLU "
             f"(scikit-learn MLPClassifier), converted to integrate-and-fire neurons; mesh "
             f"{s['hardware']['width']}x{s['hardware']['height']}, hidden layer on tile "
             f"{tuple(dn.LAYOUTS[s['layout']]['hidden'])}, output layer on tile {tuple(dn.LAYOUTS[s['layout']]['output'])}, "
             f"the 64 pixel inputs driven by the host. Energy profiles: "
             + "; ".join(f"`{n}` ({p['description']}, {p['node_nm']} nm)" for n, p in s["profiles"].items()) + ".\n")
    t = s["timing_s"]
    L.append(f"Training took {t['train_s']:.1f} s, conversion {t['convert_s']:.2f} s, the functional sweep of "
             f"{len(s['sweep'])} codes over the whole test split {t['sweep_s']:.1f} s, the streaming study "
             f"{t.get('stream_s', 0):.1f} s.\n")

    if runs:
        L.extend(_verdict(s, dense, runs))

    # Accuracy
    L.append("## Accuracy (test split)\n")
    L.append("| network | accuracy |")
    L.append("|---|---|")
    L.append(f"| float ReLU 64-32-10 | {100 * s['float_accuracy']:.2f}% |")
    L.append(f"| dense int8 (int8 weights and activations, int32 accumulators) | {100 * s['int8_accuracy']:.2f}% |")
    sw = {(r["code"], r["gain"], r["T"]): r for r in s["sweep"]}
    for code in ("poisson", "regular"):
        for T in (8, 16, 32):
            r = sw.get((code, 1.0, T))
            if r:
                L.append(f"| spiking, {code} code, T = {T} | {100 * r['accuracy']:.2f}% |")
    if s["sparsest"]:
        b = s["sparsest"]
        L.append(f"| spiking, {_label(b)} (the cheapest code, below) | {100 * b['accuracy']:.2f}% |")
    L.append("")
    L.append(f"Spiking accuracies are the functional engine's (`--engine functional`) over all {s['test_images']} test images; the golden "
             f"model gives the same output spikes on every image it ran (below). Target: within 1.5 points of "
             f"the dense int8 network ({100 * s['accuracy_floor']:.2f}% or better) at T <= 16.\n")
    if runs:
        L.append("| engine | code | gain | T | images | accuracy | disagreements (functional engine; RTL: also golden) | wall time |")
        L.append("|---|---|---|---|---|---|---|---|")
        for r in runs + s["rtl_runs"]:
            L.append(f"| {r['engine']} | {r['code']} | {r['gain']:g} | {r['T']} | {r['images']} | {100 * r['accuracy']:.2f}% | "
                     f"{len(r['mismatches'])} | {r['seconds']:.0f} s |")
        L.append("")

    # Per inference
    if runs:
        L.append("## Per inference (golden model, means over the images run)\n")
        L.append("Latency: cycle 0 is the first input flit offered; the class is read from the output spike "
                 "counts after the last tick, so the latency to the decision is the run's cycles. Also shown: "
                 "the first output spike, and the output flit from which the running count already names the "
                 "final class and keeps it (a decision an early-stopping host could take). Energies: point value "
                 "of each profile (its range in `summary.json`).\n")
        L.append("| code | gain | T | ticks | cycles (= latency to decision) | first output spike | early decision | "
                 "input spikes | SOPs | flits | hops | " + " | ".join(f"{n} nJ" for n in BUILTIN) + " |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(BUILTIN))
        for r in runs:
            mn = r["mean"]
            L.append(f"| {r['code']} | {r['gain']:g} | {r['T']} | {_f(mn['ticks'])} | {_f(mn['cycles'])} | {_f(mn['first_output_cycle'])} | "
                     f"{_f(mn['decision_cycle'])} | {_f(mn['input_spikes'])} | {_f(mn['sops'])} | {_f(mn['flits'])} | "
                     f"{_f(mn['hops'])} | " + " | ".join(_nj(r["energy_pj"][n]["total"]) for n in BUILTIN) + " |")
        L.append("")
        m = runs[0]
        L.append(f"Energy by event type (nJ per inference, {_label(m)}, golden model counts):\n")
        L.append("| event | " + " | ".join(BUILTIN) + " |")
        L.append("|---|" + "---|" * len(BUILTIN))
        for ev in (*EVENTS, "total"):
            L.append(f"| {ev} | " + " | ".join(_nj(m["energy_pj"][n][ev]) for n in BUILTIN) + " |")
        L.append("| range of the total | " + " | ".join(f"{_nj(m['energy_range_pj'][n][0])} to "
                                                      f"{_nj(m['energy_range_pj'][n][1])}" for n in BUILTIN) + " |")
        L.append("")
        w = m.get("workload") or {}
        if w:
            L.append("NeuroBench-style figures (names as NeuroBench's harness reports them; `docs/energy.md`):\n")
            L.append("| figure | spiking network | dense int8 network |")
            L.append("|---|---|---|")
            L.append(f"| synaptic_operations: Effective_ACs | {w['Effective_ACs']:,.0f} | 0 |")
            L.append(f"| synaptic_operations: Effective_MACs | 0 | {s['macs']:,} |")
            L.append(f"| synaptic_operations: Dense | {s['macs']:,} | {s['macs']:,} |")
            L.append(f"| activation_sparsity | {w['activation_sparsity']:.3f} (neuron updates without a spike) | - |")
            L.append(f"| connection_sparsity | {s['connection_sparsity']:.3f} | 0 (every weight is computed) |")
            L.append(f"| footprint | {w['footprint']:,} bytes (configuration image) | {s['macs']:,} bytes (int8 weights, "
                     f"biases not counted) |")
            L.append("")

    # Dense baseline
    sc = dense["scaling"]
    L.append("## The dense baseline and what is counted\n")
    L.append(f"The dense int8 network does {s['macs']:,} multiply-accumulates per inference (64x32 + 32x10, every "
             f"weight, as a dense engine does). Energy per MAC from `neuromesh/energy_profiles/dense_int8.json`: "
             f"{dense['source']}. *Arithmetic only*: an 8-bit multiply ({dense['mult_int8_pj']} pJ) and an 8-bit "
             f"add ({dense['add_int8_pj']} pJ) = {dense['mac_pj']} pJ per MAC; no memory, no control, so a lower "
             f"bound. *With weight fetch* (the headline): plus each weight's share of a 64-bit read of an 8 KB SRAM "
             f"({dense['sram_read_64bit_8kb_pj']} pJ / 8 weights) = {dense['mac_with_weight_fetch_pj']} pJ per MAC. "
             f"To compare at one node: {sc['rule']} ({sc['source']}). {sc['caveat']}. {sc['voltage']}.\n")
    L.append("| node | arithmetic only, nJ per inference | with weight fetch, nJ per inference |")
    L.append("|---|---|---|")
    for node, d in s["dense_energy_pj_by_node"].items():
        L.append(f"| {node} nm | {_nj(d['arithmetic'])} | {_nj(d['with_weight_fetch'])} |")
    L.append("")
    L.append("The spiking energies are the NeuroMesh counters (synaptic operations, neuron updates with and "
             "without a spike, flits sent, link hops, leakage per tile and clock edge) times each profile's "
             "per-event figures; every figure, its source and what it includes is in `docs/energy.md`. Loading "
             "the image is not counted for either network.\n")

    if st and st["rows"]:
        L.extend(_stream_section(st, s))

    # Sweep
    L.append("## Looking for the sparsest code that keeps accuracy\n")
    L.append("Functional engine; energy from its counters over the test split "
             "(the golden model's counters equal them on every image it ran), without leakage (the functional "
             "engine has no clock). `poisson`: each pixel spikes in a "
             "tick with probability gain x pixel/16 (seeded); `regular`: deterministic, round(T x gain x pixel/16) "
             "evenly spaced spikes. A gain below 1 sends fewer input spikes per tick; the conversion then divides "
             "the hidden layer's effective weights by the gain (docs/digits.md). The choice is made on the "
             "**training** split (accuracy at least the dense int8 network's training accuracy, "
             f"{100 * s['int8_train_accuracy']:.2f}%, minus 1.5 points), so it does not peek at the test split; "
             "the test accuracy is reported beside it.\n")
    b = s["sparsest"]
    L.append("| code | gain | T | train acc. | test acc. | input spikes | hidden spikes | output spikes | SOPs | "
             + " | ".join(f"{n} nJ" for n in BUILTIN) + " | kept (train) |")
    L.append("|---|---|---|---|---|---|---|---|---|" + "---|" * len(BUILTIN) + "---|")
    for r in s["sweep"]:
        e = r["energy_pj_static0"]
        mark = "**" if r is b or (b and _label(r) == _label(b)) else ""
        L.append(f"| {mark}{r['code']}{mark} | {r['gain']:g} | {r['T']} | {100 * r['train_accuracy']:.2f}% | "
                 f"{100 * r['accuracy']:.2f}% | {r['input_spikes']:.0f} | "
                 f"{r['hidden_spikes']:.0f} | {r['output_spikes']:.1f} | {r['sops']:,.0f} | "
                 + " | ".join(_nj(e[n]) for n in BUILTIN) +
                 f" | {'yes' if r['train_accuracy'] >= s['accuracy_floor_train'] else 'no'} |")
    L.append("")
    if b:
        L.append(f"Cheapest code that keeps accuracy: **{_label(b)}**: {100 * b['accuracy']:.2f}% on the test split, "
                 f"{b['input_spikes']:.0f} input spikes, {b['sops']:,.0f} SOPs, {_nj(b['energy_pj_static0']['loihi'])} nJ "
                 f"(Loihi) per inference.\n")
    else:
        L.append("No code in the sweep keeps accuracy within 1.5 points.\n")

    # Cross-checks
    L.append("## Cross-checks\n")
    for r in runs:
        L.append(f"- Golden model, {_label(r)}, {r['images']} images: output spikes and every core's and "
                 f"router's counters (SOPs, neuron updates, spikes, flits sent, flits forwarded per port) equal "
                 f"the functional engine's: **{len(r['mismatches'])} disagreements**.")
        for msg in r["mismatches"][:10]:
            L.append(f"  - {msg}")
    for r in s["rtl_runs"]:
        L.append(f"- RTL engine, {_label(r)}, {r['images']} images ({r['seconds']:.0f} s): "
                 f"output spikes, every output flit's cycle, every tick's handshake and completion cycle and every "
                 f"counter compared with the golden model, and output spikes and counters with the functional engine: "
                 f"**{len(r['mismatches'])} disagreements**.")
        for msg in r["mismatches"][:10]:
            L.append(f"  - {msg}")
    if st and st.get("golden_segment"):
        g = st["golden_segment"]
        L.append(f"- Streaming network, golden model on a segment of {g['ticks']} ticks ({g['frames']} frames): "
                 f"output spikes and every core's and router's counters equal the functional engine's: "
                 f"**{'agrees' if g['agrees'] else 'disagrees: ' + ', '.join(g['disagreements'])}**.")
    for note in s["notes"]:
        L.append(f"- {note}")
    L.append("")

    L.append("## Plots\n")
    for name, caption in plots:
        L.append(f"![{caption}]({name})\n")
    (out / "report.md").write_text("\n".join(L) + "\n")


def _stream_section(st: dict, s: dict) -> list:
    L = ["## Streaming: a digit held for F frames\n"]
    L.append(f"The test split in its order, cut into {st['streams']} streams of {st['digits_per_stream']} digits run "
             f"side by side; each digit is held for F frames of {st['ticks_per_frame']} ticks. Dense baselines: "
             f"the int8 network recomputing every frame, and recomputing only frames that changed after comparing "
             f"the frame's 64 pixels with the previous one (the fair baseline; its comparisons are charged). "
             f"Spiking: the host sends spikes only where a pixel's level (0..{st['levels']}) changed, from an `up` "
             f"or a `down` input neuron, one per tick from the frame's first tick; hidden neurons hold their "
             f"input current (du = {st['du_hidden']}) and leak dv = {st['dv_hidden']}, output neurons dv = "
             f"{st['dv_output']}"
             + (" (the leaks with the best accuracy on the **training** split among "
                + ", ".join(f"({r['dv_hidden']}, {r['dv_output']}): {100 * r['train_accuracy']:.1f}%"
                            for r in st["leak_choice"]) + ")" if st["leak_choice"] else "")
             + "; the host reads the class from the output spikes since the last change. Functional engine over "
             f"every stream; leakage from the golden segment's {st.get('cycles_per_tick', 0):.0f} cycles per tick "
             f"on both tiles. Energies per frame, nJ, dense with weight fetch (arithmetic only in `summary.json`).\n")
    nodes = sorted(st["rows"][0]["dense_pj"], key=float)
    L.append("| F | changed frames | input spikes / frame | SOPs / frame | spiking accuracy (every frame / last of "
             "each digit) | " + " | ".join(f"spiking {n}" for n in BUILTIN) + " | "
             + " | ".join(f"dense every frame {n} nm | dense on change {n} nm" for n in nodes) + " |")
    L.append("|---|---|---|---|---|" + "---|" * len(BUILTIN) + "---|---|" * len(nodes))
    for r in st["rows"]:
        c = r["counts"]
        L.append(f"| {r['F']} | {100 * r['fraction_changed']:.1f}% | {c['host_flits']:.1f} | {c['sop']:,.0f} | "
                 f"{100 * r['snn_accuracy']:.2f}% / {100 * r['snn_accuracy_held']:.2f}% | "
                 + " | ".join(_pair(r["snn_pj"][n]["pj"], [r["snn_pj"][n]["low"], r["snn_pj"][n]["high"]])
                              for n in BUILTIN) + " | "
                 + " | ".join(f"{_nj(r['dense_pj'][n]['with_weight_fetch']['every_frame'])} | "
                              f"{_nj(r['dense_pj'][n]['with_weight_fetch']['on_change'])}" for n in nodes) + " |")
    L.append("")
    accs = [100 * r["snn_accuracy"] for r in st["rows"]]
    longest = st["rows"][-1]["F"] * st["ticks_per_frame"]
    L.append(f"Dense int8 accuracy is {100 * st['int8_accuracy']:.2f}% on every frame for both baselines (the "
             f"change check never skips a changed frame); the spiking network's is {min(accs):.2f}% to "
             f"{max(accs):.2f}%: nothing resets it between digits, so a new digit starts from the old one's state "
             f"(worst at F = 1), and a held current decays by 1/4096 per tick, "
             f"{100 * (1 - (4095 / 4096) ** longest):.0f}% over the {longest:,} ticks of a digit held "
             f"{st['rows'][-1]['F']} frames (worst at long holds).\n")
    L.append(_stream_verdict(st, s))
    return L
