"""Golden model vs RTL co-simulation: the same workload (same image, same standard host) through
`neuromesh.sim.engine.run` and `neuromesh.tools.cosim.engine`, one run each, wall time of each
excluding the Verilator build (reported separately), and the ratio. Prints a table and writes
build/bench/engines.json.

RTL times: `rtl total` is the whole simulator process (start, image load with read-back, run,
counter read-back); `rtl run` is only the standard host's cycle loop inside it. The golden time
covers loading the image and the run. Both engines must agree (the regression checks that; this
script asserts the cycle counts match so that a ratio is never taken between different runs).

    .venv/bin/python bench/bench_engines.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))
OUT = REPO / "build" / "bench"


def _compile(net: dict, stim: dict):
    import netgen
    return netgen.compile_case(net, stim)


def recurrent_network(seed=1, ticks=100, rate=0.1, inputs=16, sizes=(48, 48, 32)) -> tuple[dict, dict]:
    """bench/network.py's shape (input -> three LIF populations, one inhibitory feedback),
    sized for the regression's 4x4 mesh of small cores, so the Verilator build is shared."""
    import netgen
    import numpy as np
    rng = np.random.default_rng(seed)
    pops = [{"name": "in", "kind": "input", "size": inputs}]
    size_of = {"in": inputs}
    for i, size in enumerate(sizes):
        pops.append({"name": f"l{i}", "kind": "lif", "size": size, "du": 1024, "dv": 256, "vth": 60,
                     "refractory": 1, "record": True})
        size_of[f"l{i}"] = size
    proj = []
    for pre, post, p, lo, hi in (("in", "l0", 0.15, 20, 100), ("l0", "l1", 0.06, 10, 90),
                                 ("l1", "l2", 0.06, 10, 90), ("l1", "l0", 0.03, -60, 20)):
        syn = [[int(i), int(j), int(rng.integers(lo, hi))]
               for i in range(size_of[pre]) for j in np.flatnonzero(rng.random(size_of[post]) < p)]
        proj.append({"pre": pre, "post": post, "weight_exp": 4, "synapses": syn})
    net = {"format": "neuromesh-network/1", "hardware": netgen.MESHES["4x4"].to_dict(),
           "populations": pops, "projections": proj}
    fire = rng.random((ticks, inputs)) < rate
    stim = {"ticks": ticks, "spikes": {"in": [[int(t) + 1, int(i)] for t, i in zip(*np.nonzero(fire))]}}
    return net, stim


def workloads(quick: bool):
    """(name, params, [(writes, tick_inputs, host)]) -- a list of runs per workload."""
    import netgen
    from neuromesh.host import HostBehaviour
    out = []
    for mesh, n in (("1x1", 8 if quick else 32), ("2x2", 8 if quick else 32)):
        runs = []
        for seed in range(n):
            compiled, ticks = _compile(*netgen.random_case(mesh, seed))
            runs.append((compiled.writes, ticks, HostBehaviour(seed=seed)))
        out.append((f"{n} random netgen cases, {mesh}, 16 neurons/core", netgen.MESHES[mesh], runs))
    ticks_n = 20 if quick else 100
    compiled, ticks = _compile(*recurrent_network(ticks=ticks_n))
    out.append((f"recurrent network 4x4, 144 neurons, {ticks_n} ticks", compiled.params,
                [(compiled.writes, ticks, HostBehaviour())]))
    return out


def bench(name, params, runs) -> dict:
    from neuromesh.sim.engine import run as golden_run
    from neuromesh.tools.cosim import engine as rtl_engine
    t0 = time.perf_counter()
    golden = [golden_run(params, w, t, h) for w, t, h in runs]
    golden_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = rtl_engine.build_model(params)
    build_s = time.perf_counter() - t0
    jobs = [rtl_engine.Job(f"run{i}", w, t, h, verify=False) for i, (w, t, h) in enumerate(runs)]
    t0 = time.perf_counter()
    rtl = rtl_engine.run_jobs(params, jobs, model=model)
    rtl_s = time.perf_counter() - t0
    for g, r in zip(golden, rtl):
        assert "error" not in r, r["error"]
        assert g.completions == r["completions"], f"{name}: the engines disagree; run the regression"
    rtl_run_s = sum(r["run_wall_s"] for r in rtl)
    cycles = sum(g.completions[-1] for g in golden if g.completions)
    return {"workload": name, "hardware": params.to_dict(), "runs": len(runs), "cycles": cycles,
            "golden_s": golden_s, "rtl_build_s": build_s, "rtl_total_s": rtl_s, "rtl_run_s": rtl_run_s,
            "ratio_total": rtl_s / golden_s, "ratio_run": rtl_run_s / golden_s,
            "golden_cycles_per_s": cycles / golden_s, "rtl_cycles_per_s": cycles / rtl_run_s}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller workloads")
    args = ap.parse_args(argv)
    rows = [bench(*w) for w in workloads(args.quick)]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "engines.json").write_text(json.dumps({"python": platform.python_version(), "rows": rows},
                                                 indent=1) + "\n")
    print("golden model vs RTL co-simulation (cocotb + Verilator), wall time, one run each")
    print(f"{'workload':48} {'cycles':>7} {'golden s':>8} {'build s':>8} {'rtl s':>7} "
          f"{'rtl run s':>9} {'ratio':>6} {'ratio run':>9}")
    for r in rows:
        print(f"{r['workload']:48} {r['cycles']:7d} {r['golden_s']:8.2f} {r['rtl_build_s']:8.1f} "
              f"{r['rtl_total_s']:7.2f} {r['rtl_run_s']:9.2f} {r['ratio_total']:6.1f} {r['ratio_run']:9.1f}")
    print("ratio = RTL wall time (simulator process, no build) / golden wall time; "
          "ratio run = the host's cycle loop only")
    print(f"written to {OUT / 'engines.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
