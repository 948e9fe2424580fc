"""Golden model vs RTL co-simulation: the same workload (same image, same standard host) through
`neuromesh.sim.engine.run` and `neuromesh.tools.rtl_engine`, one run each, wall time of each
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


def workloads(quick: bool):
    """(name, params, [(writes, tick_inputs, host)]) -- a list of runs per workload."""
    import netgen
    from network import random_network
    from neuromesh.host import HostBehaviour
    out = []
    # 1. The regression's 2x2 random cases (small cores), back to back.
    runs = []
    for seed in range(8 if quick else 24):
        compiled, ticks = _compile(*netgen.random_case("2x2", seed))
        runs.append((compiled.writes, ticks, HostBehaviour(seed=seed)))
    out.append((f"{len(runs)} random netgen cases, 2x2, 16 neurons/core", netgen.MESHES["2x2"], runs))
    # 2. A busier network: bench/network.py's recurrent LIF populations on a 2x2 mesh.
    net, stim = random_network(seed=1, width=2, height=2, neurons=32, inputs=32,
                               ticks=20 if quick else 100, rate=0.1)
    compiled, ticks = _compile(net, stim)
    out.append((f"recurrent random network 2x2, 32 neurons/core, {len(ticks)} ticks", compiled.params,
                [(compiled.writes, ticks, HostBehaviour())]))
    return out


def bench(name, params, runs) -> dict:
    from neuromesh.sim.engine import run as golden_run
    from neuromesh.tools import rtl_engine
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
    print(f"{'workload':58} {'cycles':>7} {'golden s':>8} {'build s':>8} {'rtl s':>7} "
          f"{'rtl run s':>9} {'ratio':>6} {'ratio run':>9}")
    for r in rows:
        print(f"{r['workload']:58} {r['cycles']:7d} {r['golden_s']:8.2f} {r['rtl_build_s']:8.1f} "
              f"{r['rtl_total_s']:7.2f} {r['rtl_run_s']:9.2f} {r['ratio_total']:6.1f} {r['ratio_run']:9.1f}")
    print("ratio = RTL wall time (simulator process, no build) / golden wall time; "
          "ratio run = the host's cycle loop only")
    print(f"written to {OUT / 'engines.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
