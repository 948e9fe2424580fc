"""`neuromesh sweep SWEEP.json -o RESULTS_DIR [--scheduler ADDRESS] [--workers N]`: a design-space
sweep on Dask (tools/sweep/, docs/scale.md): one row per point in RESULTS_DIR/results.csv, a file
per point in RESULTS_DIR/points/ (re-running skips finished points), plots in RESULTS_DIR/plots/."""
from __future__ import annotations

from pathlib import Path


def sweep_command(args) -> int:
    from neuromesh.tools.sweep import load_sweep, run_sweep
    sweep = load_sweep(args.sweep)
    rows = run_sweep(sweep, Path(args.output), scheduler=args.scheduler, workers=args.workers, quiet=args.quiet)
    failed = [r for r in rows if r.get("error")]
    if not args.quiet:
        print(f"{len(rows)} points, {len(failed)} failed; results in {Path(args.output) / 'results.csv'}")
        for r in failed[:5]:
            print(f"  failed {r['point']}: {r['error']}")
    return 1 if failed and len(failed) == len(rows) else 0
