"""Design-space sweeps on Dask (`neuromesh sweep SWEEP.json -o RESULTS_DIR`, docs/scale.md).

`sweepfile.py` reads and checks the sweep file and turns it into points (data, not paths);
`point.py` runs one point on a worker (compile, engine, result, one row); `runner.py` schedules
the points on a Dask cluster and keeps the results (a file per point, CSV/Parquet, plots);
`plots.py` draws the figures; `digits_example.py` writes the docs' digits sweeps.
"""
from .runner import run_sweep
from .sweepfile import Sweep, SweepError, load_sweep

__all__ = ["run_sweep", "load_sweep", "Sweep", "SweepError"]
