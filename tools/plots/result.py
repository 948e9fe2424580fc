"""`neuromesh run --plot DIR`: PNG plots of a result (matplotlib, Agg backend).

* `raster.png`: spikes of every recorded population (tick x neuron index);
* `links.png`: flits per directed link of the mesh (router to router, host in and out), from
  `result["links"]` or, for a result without it, from the routers' forward counters; tiles are
  shaded by clock domain and asynchronous links drawn dashed;
* `latency.png` (when the result has per-flit latencies): latency in ns from a neuron's firing
  to its flit on spike_out, against the hops it took, coloured by asynchronous crossings;
* `energy.png`: energy by event type (`stats.energy_pj`), with the profile's low-high range and
  the run's NeuroBench figures;
* `energy_map.png`: energy heat map of the mesh: each core's energy (its synaptic operations,
  neuron updates, flits sent, leakage) and each link's (hops, asynchronous crossings);
* `energy_ticks.png`: energy per tick by event type (golden engine: the RTL reads its
  counters once, at the end, so its results have no per-tick energy and no such plot);
* `ticks.png`: clock cycles each tick took.
"""
from __future__ import annotations

from pathlib import Path

from neuromesh import spec
from neuromesh.text import printable


def label(name) -> str:
    """A user's name as matplotlib text: non-printable characters escaped (a lone surrogate
    cannot be rendered at all) and `$` escaped (it would start mathtext, which refuses most
    names)."""
    return printable(name).replace("$", r"\$")


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def links_from_counters(result: dict) -> list:
    """Directed link loads from the routers' `fwd_<port>` counters (tile index order)."""
    hw = result["hardware"]
    w, h = hw["width"], hw["height"]
    links = [{"from": "host", "to": [0, 0], "port": "spike_in", "flits": result["stats"].get("flits_host", 0)}]
    for i, c in enumerate(result["counters"]["routers"]):
        x, y = i % w, i // w
        for port, (dx, dy) in spec.PORT_DELTA.items():
            n = c[f"fwd_{spec.PORTS[port]}"]
            nx, ny = x + dx, y + dy
            if 0 <= nx < w and 0 <= ny < h:
                links.append({"from": [x, y], "to": [nx, ny], "port": spec.PORTS[port], "flits": n})
            elif (x, y, port) == (0, 0, spec.WEST):
                links.append({"from": [0, 0], "to": "host", "port": "spike_out", "flits": n})
    return links


def plot_raster(result: dict, path: Path) -> Path:
    plt = _plt()
    spikes = result.get("spikes", {})
    ticks = result.get("stats", {}).get("ticks", 0)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    offset, yticks, ylabels = 0, [], []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    total = sum(len(v) for v in spikes.values())
    mark = 60 if total < 500 else 20 if total < 5000 else 4  # readable ticks at any density
    for i, (pop, events) in enumerate(spikes.items()):
        size = max([e[1] for e in events], default=-1) + 1
        if events:
            ax.scatter([e[0] for e in events], [offset + e[1] for e in events], s=mark, marker="|",
                       color=colors[i % len(colors)], label=f"{label(pop)} ({len(events)})")
        yticks.append(offset + max(size, 1) / 2)
        ylabels.append(label(pop))
        offset += max(size, 1) + 1
    ax.set_yticks(yticks, ylabels)
    ax.set_xlabel("tick")
    ax.set_xlim(0.5, max(ticks, 1) + 0.5)
    ax.set_title(f"spike raster ({sum(len(v) for v in spikes.values())} spikes recorded)")
    if spikes and any(spikes.values()):
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(plt, fig, path)


def plot_links(result: dict, path: Path) -> Path:
    plt = _plt()
    from matplotlib import cm, colors as mcolors
    hw = result["hardware"]
    w, h = hw["width"], hw["height"]
    links = result.get("links") or links_from_counters(result)
    peak = max([l["flits"] for l in links], default=0) or 1
    norm = mcolors.Normalize(vmin=0, vmax=peak)
    cmap = cm.get_cmap("viridis") if hasattr(cm, "get_cmap") else plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(1.6 * w + 2.5, 1.6 * h + 1.2))
    partition = result.get("clocks", {}).get("partition") or [0] * (w * h)
    shades = plt.get_cmap("Pastel1")
    multi = max(partition) > 0
    for x in range(w):
        for y in range(h):
            k = partition[y * w + x]
            ax.add_patch(plt.Rectangle((x - 0.18, y - 0.18), 0.36, 0.36, fill=multi, lw=1.2,
                                       facecolor=shades(k % 9) if multi else "none", edgecolor="0.3"))
            ax.text(x, y, f"{x},{y}" + (f"\nd{k}" if multi else ""), ha="center", va="center", fontsize=8,
                    color="0.3")
    side = 0.07  # the two directions of a link side by side
    for l in links:
        n = l["flits"]
        if l["from"] == "host":
            (x0, y0), (x1, y1) = (-0.85, side), (-0.2, side)
        elif l["to"] == "host":
            (x0, y0), (x1, y1) = (-0.2, -side), (-0.85, -side)
        else:
            (fx, fy), (tx, ty) = l["from"], l["to"]
            dx, dy = tx - fx, ty - fy
            ox, oy = -dy * side, dx * side  # keep to the right of the direction of travel
            x0, y0 = fx + 0.2 * dx + ox, fy + 0.2 * dy + oy
            x1, y1 = tx - 0.2 * dx + ox, ty - 0.2 * dy + oy
        color = cmap(norm(n)) if n else (0.85, 0.85, 0.85, 1.0)
        style = "--" if l.get("asynchronous") else "-"
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1 + 4 * n / peak, shrinkA=0, shrinkB=0,
                                    linestyle=style))
    ax.text(-0.9, 0.3, "host", fontsize=8, color="0.3")
    ax.set_xlim(-1.0, w - 0.5)
    ax.set_ylim(-0.6, h - 0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(w))
    ax.set_yticks(range(h))
    ax.set_xlabel("x (east)")
    ax.set_ylabel("y (north)")
    sm = cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label="flits", shrink=0.8)
    title = f"link load ({result['stats'].get('hops', 0)} hops)"
    if multi:
        title += (f"; {max(partition) + 1} clock domains, dashed: asynchronous links "
                  f"({result['stats'].get('async_crossings', 0)} crossings)")
    ax.set_title(title, fontsize=9)
    return _save(plt, fig, path)


def plot_energy(result: dict, path: Path) -> Path:
    plt = _plt()
    energy = result["stats"]["energy_pj"]
    section = result.get("energy", {})
    items = [(k, v) for k, v in energy.items() if k != "total"]
    fig, ax = plt.subplots(figsize=(8, 4))
    low, high = section.get("low"), section.get("high")
    err = None
    if section.get("has_range") and low and high:
        err = [[v - low[k] for k, v in items], [high[k] - v for k, v in items]]
    bars = ax.bar([k for k, _ in items], [v for _, v in items], color="tab:orange", yerr=err,
                  capsize=3, ecolor="0.3")
    for bar, (_, v) in zip(bars, items):
        ax.annotate(f"{v:,.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("pJ")
    span = ""
    rng = result["stats"].get("energy_pj_range")
    if rng and section.get("has_range"):
        span = f" (range {rng['low']:,.0f} to {rng['high']:,.0f}: whiskers)"
    ax.set_title(f"energy by event ({label(result['stats'].get('energy_profile', ''))}): "
                 f"total {energy['total']:,.0f} pJ{span}", fontsize=9)
    ax.tick_params(axis="x", labelrotation=25, labelsize=8)
    w = result.get("workload")
    if w:   # the NeuroBench figures of the run beside its energy
        ops = w["synaptic_operations"]
        lines = [f"Effective_ACs {ops['Effective_ACs']:,}", f"Effective_MACs {ops['Effective_MACs']:,}"]
        if "Dense" in ops:
            lines.append(f"Dense {ops['Dense']:,} (per pass)")
        if w.get("activation_sparsity") is not None:
            lines.append(f"activation_sparsity {w['activation_sparsity']:.3f}")
        if "connection_sparsity" in w:
            lines += [f"connection_sparsity {w['connection_sparsity']:.3f}", f"footprint {w['footprint']:,} B"]
        ax.text(0.99, 0.97, "NeuroBench figures\n" + "\n".join(lines), transform=ax.transAxes, ha="right",
                va="top", fontsize=7, family="monospace", bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    return _save(plt, fig, path)


def plot_energy_map(result: dict, path: Path) -> Path:
    """Cores as squares and links as arrows, both coloured by their energy (one colour scale)."""
    plt = _plt()
    from matplotlib import cm, colors as mcolors
    section = result["energy"]
    hw = result["hardware"]
    w, h = hw["width"], hw["height"]
    cores, links = section["by_core"], section["by_link"]
    peak = max([c["pj"]["total"] for c in cores] + [l["pj"] for l in links] + [0]) or 1.0
    norm = mcolors.LogNorm(vmin=max(peak / 1e4, 1e-3), vmax=peak) if peak > 1e-3 else mcolors.Normalize(0, 1)
    cmap = plt.get_cmap("inferno")
    grey = (0.9, 0.9, 0.9, 1.0)
    size = 0.5 if w * h <= 256 else 0.8
    fig, ax = plt.subplots(figsize=(min(1.5 * w + 3, 14), min(1.5 * h + 1.5, 12)))
    for c in cores:
        x, y = c["tile"]
        e = c["pj"]["total"]
        ax.add_patch(plt.Rectangle((x - size / 2, y - size / 2), size, size,
                                   color=cmap(norm(e)) if e > 0 else grey, ec="0.3", lw=0.8))
        if w * h <= 64:
            ax.text(x, y, f"{x},{y}\n{e / 1000:,.2f} nJ", ha="center", va="center", fontsize=7,
                    color="white" if e > 0 and norm(e) < 0.6 else "black")
    side = 0.08
    for l in links:
        (fx, fy), (tx, ty) = l["from"], l["to"]
        dx, dy = tx - fx, ty - fy
        ox, oy = -dy * side, dx * side    # each direction on its own side
        x0, y0 = fx + (size / 2 + 0.02) * dx + ox, fy + (size / 2 + 0.02) * dy + oy
        x1, y1 = tx - (size / 2 + 0.02) * dx + ox, ty - (size / 2 + 0.02) * dy + oy
        e = l["pj"]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color=cmap(norm(e)) if e > 0 else grey,
                                    lw=2.5 if l.get("async") else 1.5,
                                    linestyle="--" if l.get("async") else "-", shrinkA=0, shrinkB=0))
    ax.set_xlim(-0.7, w - 0.3)
    ax.set_ylim(-0.7, h - 0.3)
    ax.set_aspect("equal")
    ax.set_xticks(range(w))
    ax.set_yticks(range(h))
    ax.set_xlabel("x (east)")
    ax.set_ylabel("y (north)")
    sm = cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label="pJ", shrink=0.8)
    total = section["pj"]["total"]
    ax.set_title(f"energy map ({label(section['profile'])}), {total / 1000:,.2f} nJ in all\ncores: synaptic ops, "
                 f"updates, flits sent, leakage; arrows: links (dashed: asynchronous)", fontsize=8)
    return _save(plt, fig, path)


def plot_energy_ticks(result: dict, path: Path) -> Path:
    """Energy of each tick phase, stacked by event type."""
    plt = _plt()
    section = result["energy"]
    ticks = section["per_tick"]
    events = [k for k in section["pj"] if k != "total" and any(t["pj"][k] for t in ticks)]
    fig, ax = plt.subplots(figsize=(8, 4))
    x = [t["tick"] for t in ticks]
    bottom = [0.0] * len(ticks)
    for ev in events:
        vals = [t["pj"][ev] / 1000 for t in ticks]
        ax.bar(x, vals, bottom=bottom, width=1.0 if len(x) > 60 else 0.8, label=ev)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xlabel("tick")
    ax.set_ylabel("nJ")
    ax.set_title(f"energy per tick ({label(section['profile'])}, golden engine): total "
                 f"{section['pj']['total'] / 1000:,.2f} nJ over {len(ticks)} ticks", fontsize=9)
    if events:
        ax.legend(fontsize=7, ncol=3)
    return _save(plt, fig, path)


def plot_ticks(result: dict, path: Path) -> Path:
    plt = _plt()
    cycles = result["stats"]["tick_cycles"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(range(1, len(cycles) + 1), cycles, width=1.0, color="tab:blue")
    ax.set_xlabel("tick")
    ax.set_ylabel("clock cycles")
    ax.set_title(f"cycles per tick (total {result['stats']['cycles']})")
    return _save(plt, fig, path)


def plot_latency(result: dict, path: Path) -> Path:
    """Latency (ns) from firing to spike_out against hops, coloured by asynchronous crossings."""
    plt = _plt()
    flits = [f for f in result.get("output_flits", []) if "latency_ps" in f]
    fig, ax = plt.subplots(figsize=(7, 4))
    crossings = sorted({f.get("crossings", 0) for f in flits})
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, c in enumerate(crossings):
        pts = [f for f in flits if f.get("crossings", 0) == c]
        jitter = [(hash((f["cycle"], f["flit"])) % 100 - 50) / 400 for f in pts]  # spread equal hops
        ax.scatter([f["hops"] + j for f, j in zip(pts, jitter)], [f["latency_ps"] / 1000 for f in pts], s=10,
                   color=colors[i % len(colors)], alpha=0.6, label=f"{c} asynchronous crossing{'s' if c != 1 else ''}")
    ax.set_xlabel("hops from the firing tile to spike_out")
    ax.set_ylabel("latency firing -> spike_out (ns)")
    ax.set_title(f"flit latency ({len(flits)} flits)")
    if flits:
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def write_plots(result: dict, outdir: Path) -> list:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    out = [
        plot_raster(result, outdir / "raster.png"),
        plot_links(result, outdir / "links.png"),
        plot_energy(result, outdir / "energy.png"),
        plot_ticks(result, outdir / "ticks.png"),
    ]
    if any("latency_ps" in f for f in result.get("output_flits", [])):
        out.append(plot_latency(result, outdir / "latency.png"))
    if result.get("energy", {}).get("by_core"):
        out.append(plot_energy_map(result, outdir / "energy_map.png"))
    if result.get("energy", {}).get("per_tick"):
        out.append(plot_energy_ticks(result, outdir / "energy_ticks.png"))
    return out
