"""`make bench` (part): the golden model on one 8 x 8 chip network under three clock layouts
(docs/architecture.md section 8): one domain; a clock per tile (GALS, 64 domains, all 10 ns with
phases spread); and a board of 2 x 2 chips of 4 x 4 tiles (10, 11, 9 and 12 ns, off-chip links).
Same network, same stimulus: the spikes must be identical (SPEC 2), only times change.
Reported: wall and CPU time, flit-hops/s (CPU), the run's length in ps, the mean latency from a
neuron's firing to its flit on spike_out, and the asynchronous crossings. Rates use CPU time
(the machine is shared).

    .venv/bin/python bench/bench_domains.py [--ticks 40] [--seed 1]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from network import random_network    # noqa: E402

from neuromesh import spec             # noqa: E402

OUT = HERE.parent / "build" / "bench"


def layouts(params: spec.HwParams) -> dict:
    chips = (spec.ClockDomain((4, 0, 7, 3), 11000, 1300), spec.ClockDomain((0, 4, 3, 7), 9000, 500),
             spec.ClockDomain((4, 4, 7, 7), 12000, 7000))
    return {
        "one domain": spec.Clocks(10000),
        "clock per tile": spec.Clocks.per_tile(params, 10000),
        "2 x 2 chips of 4 x 4": spec.Clocks(10000, chips, "off_chip"),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    from neuromesh.engines import run_network
    net, stim = random_network(seed=args.seed, width=8, height=8, neurons=32, inputs=64, ticks=args.ticks)
    params = spec.HwParams.from_dict(net["hardware"])
    rows, spikes = [], None
    with tempfile.TemporaryDirectory() as d:
        np_, sp = Path(d, "net.json"), Path(d, "stim.json")
        np_.write_text(json.dumps(net))
        sp.write_text(json.dumps(stim))
        for name, clocks in layouts(params).items():
            t0, w0 = time.process_time(), time.perf_counter()
            r = run_network(np_, sp, clocks=clocks)
            cpu, wall = time.process_time() - t0, time.perf_counter() - w0
            if spikes is None:
                spikes = r["spikes"]
            s = r["stats"]
            rows.append({"layout": name, "domains": clocks.n_domains, "cycles": s["cycles"], "time_ps": s["time_ps"],
                         "flit_hops": s["hops"], "async_crossings": s["async_crossings"], "cpu_s": cpu,
                         "wall_s": wall, "flit_hops_per_s": s["hops"] / cpu,
                         "latency_ns_mean": (s["latency_ps"] or {}).get("mean", 0) / 1000,
                         "same_spikes": r["spikes"] == spikes})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "domains_8x8.json").write_text(json.dumps(rows, indent=1) + "\n")
    n = sum(p["size"] for p in net["populations"])
    print(f"golden model, 8x8 mesh, {n} neurons, {args.ticks} ticks: one network, three clock layouts")
    print(f"{'layout':22} {'domains':>7} {'time us':>9} {'hops':>8} {'async':>7} {'CPU s':>7} {'wall s':>7} "
          f"{'flit-hops/s':>12} {'latency ns':>11} {'spikes':>7}")
    for r in rows:
        print(f"{r['layout']:22} {r['domains']:7d} {r['time_ps'] / 1e6:9.2f} {r['flit_hops']:8d} "
              f"{r['async_crossings']:7d} {r['cpu_s']:7.2f} {r['wall_s']:7.2f} {r['flit_hops_per_s']:12,.0f} "
              f"{r['latency_ns_mean']:11.1f} {'same' if r['same_spikes'] else 'DIFFER':>7}")
    print(f"written to {OUT / 'domains_8x8.json'}")
    return 0 if all(r["same_spikes"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
