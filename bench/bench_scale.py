"""Scale benchmark (issue 13; docs/scale.md): reported, not asserted.

1. The 8 x 8 random network (bench/scale_networks.py `random_8x8`, 14,745 neurons, ~173k
   synapses, 50 ticks) through `neuromesh.engines.run_network` (validate, compile, run, result) on
   the golden and the functional engine: wall and CPU time of each, in this process (imports
   excluded from both), and a check that their spikes and counts agree.
2. The million-neuron network (`million`: 1,048,576 neurons, 67 M synapses, 64 x 64 mesh, 100
   ticks, 256 inputs at 5%) on the functional engine: time and peak memory (ru_maxrss) of each
   step: writing the files, reading and compiling, the binary image, the run.

    .venv/bin/python bench/bench_scale.py [--skip-golden] [--skip-million] [--side 64] [--out build/bench-scale]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale_networks as sn  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(label, fn, *args, **kw):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    w, c = time.perf_counter() - w0, time.process_time() - c0
    print(f"  {label}: {w:.2f} s wall, {c:.2f} s CPU, peak RSS {peak_mb():.0f} MB", flush=True)
    return out, w, c


def bench_8x8(out: Path, golden: bool) -> dict:
    from neuromesh.engines import engine_run, run_network
    # imports excluded from both timings: run_network imports the compiler (and with it NumPy,
    # ~0.15 s) and each engine on first use, which would land on whichever engine runs first
    import neuromesh.energy  # noqa: F401
    import neuromesh.firmware.compiler  # noqa: F401
    import neuromesh.workload  # noqa: F401
    for engine in ("functional", "golden"):
        engine_run(engine)
    net, stim = sn.random_8x8()
    out.mkdir(parents=True, exist_ok=True)
    (out / "net8.json").write_text(json.dumps(net))
    (out / "stim8.json").write_text(json.dumps(stim))
    print("8 x 8 random network, 14,745 neurons, 50 ticks (run_network: validate, compile, run, result)")
    f, fw, fc = timed("functional", run_network, out / "net8.json", out / "stim8.json", engine="functional")
    row = {"functional_wall_s": fw, "functional_cpu_s": fc, "sops": f["stats"]["sops"],
           "spikes_fired": f["stats"]["spikes_fired"], "hops": f["stats"]["hops"]}
    if golden:
        g, gw, gc = timed("golden", run_network, out / "net8.json", out / "stim8.json", engine="golden")
        same = g["spikes"] == f["spikes"] and all(g["stats"][k] == f["stats"][k] for k in
                                                  ("sops", "updates", "spikes_fired", "flits", "hops", "errors"))
        row.update(golden_wall_s=gw, golden_cpu_s=gc, cycles=g["stats"]["cycles"], same=same,
                   speedup_wall=gw / fw, speedup_cpu=gc / fc)
        print(f"  speed-up {gw / fw:.0f}x wall, {gc / fc:.0f}x CPU; spikes and counts equal: {same}")
    return row


def bench_million(out: Path, side: int) -> dict:
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.image import write_image
    from neuromesh.firmware.netfile import load_network, load_stimulus
    from neuromesh.result import build_result, tick_inputs
    from neuromesh.sim import functional
    n = side * side * 256
    print(f"{n:,} neurons on a {side} x {side} mesh, 64 synapses each, 100 ticks, functional engine")
    (net_path, stim_path), w_gen, _ = timed("write network files", sn.million, out / f"million{side}", side=side)
    net, w_load, _ = timed("read network (+ .npy synapses)", load_network, net_path)
    stim = load_stimulus(stim_path, net)
    c, w_comp, _ = timed("compile", compile_network, net)
    _, w_img, _ = timed("binary image", write_image, out / f"million{side}" / "image.npz", c.writes, [], c.params)
    img_mb = (out / f"million{side}" / "image.npz").stat().st_size / 1e6
    inputs = tick_inputs(stim.spikes, c.map["inputs"], stim.ticks)
    del net.projections
    tb, w_tab, _ = timed("decode image", functional.load_tables, c.params, c.writes)
    r, w_run, _ = timed("run 100 ticks", functional.run, c.params, c.writes, inputs, tables=tb, clocks=net.clocks)
    res = build_result(r, engine="functional", params=c.params, chip_map=c.map, populations=net.populations,
                       stimulus=stim.spikes, ticks=stim.ticks)
    s = res["stats"]
    print(f"  {len(c.writes):,} writes ({img_mb:.0f} MB .npz); {s['spikes_fired']:,} spikes, {s['sops']:,} SOPs, "
          f"{s['hops']:,} hops; peak RSS {peak_mb():.0f} MB")
    return {"neurons": n, "writes": len(c.writes), "image_mb": img_mb, "gen_s": w_gen, "load_s": w_load,
            "compile_s": w_comp, "image_s": w_img, "tables_s": w_tab, "run_s": w_run,
            "spikes_fired": s["spikes_fired"], "sops": s["sops"], "hops": s["hops"], "peak_rss_mb": peak_mb()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/bench-scale")
    ap.add_argument("--skip-golden", action="store_true")
    ap.add_argument("--skip-million", action="store_true")
    ap.add_argument("--side", type=int, default=64)
    args = ap.parse_args(argv)
    out = Path(args.out)
    report = {"random_8x8": bench_8x8(out, not args.skip_golden)}
    if not args.skip_million:
        report["million"] = bench_million(out, args.side)
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"report written to {out / 'report.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
