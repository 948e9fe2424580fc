"""Write the docs' two digits sweeps (docs/scale.md): the converted digits network, N test images
as labelled stimulus files, and

- `mesh_fifo.json`: mesh size (2x1, 3x2, 4x4: the network keeps its placement, the extra tiles
  are idle silicon that leaks) x FIFO depth (1, 2, 4) on the golden model, accuracy, cycles and
  energy per inference;
- `domains.json`: one clock domain vs a clock per tile (SPEC 1: every tile its own domain, the
  links between them asynchronous) on a 2x2 mesh, golden (cycles and time: it needs the
  golden model's clock domains) and functional (async crossings, which need no cycles).

    python -m neuromesh.tools.sweep.digits_example build/digits-sweep [--images 20]
    neuromesh sweep build/digits-sweep/mesh_fifo.json -o build/digits-sweep/mesh_fifo
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def write_example(out: Path, images: int = 20, ticks: int = 16) -> list:
    from neuromesh.tools.workloads.digits import model as dm
    from neuromesh.tools.workloads.digits import net as dn
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = dm.load_data(0)
    snn = dm.convert(dm.train(data, seed=0), data)
    dn.write_json(out / "network.json", dn.network_json(snn, "2x1"))
    enc = dm.encode(data.x_test[:images], ticks, "poisson", 0, data.test_index[:images])
    stimuli = []
    for k in range(images):
        name = f"stimuli/image_{k:03d}.json"
        dn.write_json(out / name, dn.stimulus_json(enc[k], ticks + 1))
        stimuli.append({"path": name, "label": int(data.y_test[k])})
    readout = {"populations": [dn.output_name(k) for k in range(snn.output.size)]}
    mesh_fifo = {
        "format": "neuromesh-sweep/1",
        "description": "digits: mesh size x FIFO depth on the golden model",
        "network": "network.json", "stimulus": stimuli, "readout": readout,
        "engine": "golden", "energy": "loihi",
        "axes": {"hardware.width": [2, 3, 4], "hardware.height": [1, 2, 4], "hardware.fifo_depth": [1, 2, 4]},
        "figures": [{"y": "cycles", "x": "hardware.fifo_depth", "by": "hardware.width"},
                    {"y": "energy_pj.total", "x": "hardware.width", "by": "hardware.fifo_depth"},
                    {"y": "accuracy", "x": "hardware.fifo_depth", "by": "hardware.width"}],
    }
    domains = {
        "format": "neuromesh-sweep/1",
        "description": "digits: one clock domain vs a clock per tile (GALS)",
        "network": "network.json", "stimulus": stimuli, "readout": readout,
        "energy": "loihi",
        "axes": {"hardware.width": [2], "hardware.height": [2], "clocks": ["one", {"per_tile": 10000}],
                 "engine": ["golden", "functional"]},
        "figures": [{"y": "async_crossings", "x": "clocks", "by": "engine"},
                    {"y": "time_ps", "x": "clocks", "by": "engine"}],
    }
    paths = []
    for name, sweep in (("mesh_fifo.json", mesh_fifo), ("domains.json", domains)):
        (out / name).write_text(json.dumps(sweep, indent=1) + "\n")
        paths.append(out / name)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neuromesh.tools.sweep.digits_example", description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=20)
    args = ap.parse_args(argv)
    for p in write_example(Path(args.out), args.images):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
