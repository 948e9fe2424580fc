"""A sweep's figures: a chosen column against a chosen axis, one line per value of another axis
(`{"y": "energy_pj.total", "x": "hardware.fifo_depth", "by": "engine"}`); points that differ in
other axes are averaged, failed points left out. One PNG per figure in RESULTS_DIR/plots/."""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path


def _key(v):
    try:
        return (0, float(v))
    except (TypeError, ValueError):
        return (1, str(v))


def write_figures(rows: list, figures: list, folder: Path) -> list:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    ok = [r for r in rows if not r.get("error")]
    for fig_spec in figures:
        y, x, by = fig_spec["y"], fig_spec["x"], fig_spec.get("by")
        series = defaultdict(lambda: defaultdict(list))
        for r in ok:
            if r.get(y) is None:
                continue
            series[r.get(by) if by else ""][r.get(x)].append(float(r[y]))
        fig, ax = plt.subplots(figsize=(6, 4))
        numeric = all(isinstance(v, (int, float)) for s in series.values() for v in s)
        labels = sorted({v for s in series.values() for v in s}, key=_key)
        for name in sorted(series, key=_key):
            pts = series[name]
            xs = sorted(pts, key=_key)
            pos = xs if numeric else [labels.index(v) for v in xs]
            ax.plot(pos, [sum(pts[v]) / len(pts[v]) for v in xs], marker="o", label=f"{by} = {name}" if by else None)
        if not numeric:
            ax.set_xticks(range(len(labels)), [str(v) for v in labels], rotation=20)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{y} against {x}" + (f" by {by}" if by else ""))
        ax.grid(alpha=0.3)
        if by:
            ax.legend(fontsize=8)
        fig.tight_layout()
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{y}__{x}" + (f"__{by}" if by else "")) + ".png"
        path = folder / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
