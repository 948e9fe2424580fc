"""Run a sweep's points on Dask and keep their results (docs/scale.md "Sweeps").

- Scheduler: an embedded `distributed.LocalCluster` (`workers` processes, one thread each) by
  default, or an existing cluster at `scheduler` (`tcp://host:8786`). Each point is one task
  whose argument is data (`Sweep.task`: network JSON, synapse arrays, stimuli), so a remote
  worker needs no file of the submitting machine, only NeuroMesh installed.
- Results: `RESULTS_DIR/points/<key>.json`, one file per point, written whole (temporary file,
  then rename) as soon as the point finishes; `<key>` hashes the base inputs and the point's
  values, so re-running the sweep skips every point already there (failed ones are re-run).
  Then `results.csv` (and `results.parquet` if pyarrow is installed) with one row per point, and
  the plots the sweep file asks for in `plots/`.
- A point that fails is recorded with its error (`error` column); the others go on.
- Progress on stderr: points done, failed, skipped, rate, time left.
"""
from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from neuromesh import spec

from .point import run_point
from .sweepfile import LOCAL_ONLY_ENGINES, Sweep


class Progress:
    def __init__(self, total: int, skipped: int, quiet: bool = False, stream=sys.stderr):
        self.total, self.skipped, self.done, self.failed = total, skipped, 0, 0
        self.quiet, self.stream = quiet, stream
        self.t0 = time.perf_counter()

    def update(self, row: dict) -> None:
        self.done += 1
        self.failed += bool(row.get("error"))
        if self.quiet:
            return
        todo = self.total - self.skipped
        if not self.stream.isatty() and self.done not in {todo} | {todo * k // 10 for k in range(1, 10)}:
            return   # a log file: about ten lines, not one per point
        elapsed = time.perf_counter() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = (todo - self.done) / rate if rate else 0.0
        width = 24
        filled = int(width * (self.done + self.skipped) / max(1, self.total))
        end = "\n" if self.done == todo or not self.stream.isatty() else ""
        self.stream.write(f"\rsweep [{'#' * filled}{'.' * (width - filled)}] {self.done + self.skipped}/{self.total} points"
                          f" ({self.failed} failed, {self.skipped} already done), {rate:.2f} points/s, "
                          f"{left:.0f} s left  {end}")
        self.stream.flush()


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_sweep(sweep: Sweep, out: Path, *, scheduler: str | None = None, workers: int = 2, quiet: bool = False,
              client=None) -> list:
    """Run every point not already in `out/points`; return all rows in point order."""
    out = Path(out)
    if scheduler and any(v in LOCAL_ONLY_ENGINES for v in [sweep.defaults["engine"], *sweep.axes.get("engine", [])]):
        raise spec.NeuroMeshError("--scheduler: the rtl engine runs only on a local cluster (it needs this "
                                  "machine's Verilator build); use golden or functional on a remote cluster")
    (out / "points").mkdir(parents=True, exist_ok=True)
    tasks = [sweep.task(p) for p in sweep.points]
    rows, todo = {}, []
    for task in tasks:
        f = out / "points" / f"{task['key']}.json"
        if f.exists():
            try:
                row = json.loads(f.read_text())
                if not row.get("error"):
                    rows[task["key"]] = row
                    continue
            except ValueError:
                pass   # a damaged file: run the point again
        todo.append(task)
    progress = Progress(len(tasks), len(tasks) - len(todo), quiet)
    if todo:
        own = client is None
        if own:
            client = _client(scheduler, workers)
        try:
            from distributed import as_completed
            futures = {client.submit(run_point, t, key=f"neuromesh-point-{t['key']}", pure=False): t for t in todo}
            for fut in as_completed(futures):
                task = futures[fut]
                try:
                    row = fut.result()
                except Exception as e:  # noqa: BLE001 - a worker that died: record it, go on
                    row = {"point": task["key"], **task["point"], "error": f"worker failed: {type(e).__name__}: {e}"}
                write_atomic(out / "points" / f"{task['key']}.json", json.dumps(row, sort_keys=True) + "\n")
                rows[task["key"]] = row
                progress.update(row)
        finally:
            if own:
                cluster = getattr(client, "_nm_cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
    ordered = [rows[t["key"]] for t in tasks]
    write_tables(ordered, out, list(sweep.axes))
    if sweep.figures:
        from .plots import write_figures
        write_figures(ordered, sweep.figures, out / "plots")
    return ordered


def _client(scheduler: str | None, workers: int):
    from distributed import Client, LocalCluster
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise spec.NeuroMeshError(f"--scheduler: cannot reach a Dask scheduler at {scheduler} ({e})") from None
    if workers < 1:
        raise spec.NeuroMeshError(f"--workers: must be at least 1 (got {workers})")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=40)
    client = Client(cluster)
    client._nm_cluster = cluster
    return client


def columns(rows: list, axes: list) -> list:
    first = ["point", *axes, "engine", "error"]
    rest = sorted({k for r in rows for k in r} - set(first))
    return first + rest


def write_tables(rows: list, out: Path, axes: list) -> list:
    """results.csv (always) and results.parquet (when pyarrow is installed), written whole."""
    cols = columns(rows, axes)
    fd, tmp = tempfile.mkstemp(prefix=".results.csv.", suffix=".part", dir=out)
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in cols})
    os.replace(tmp, out / "results.csv")
    written = [out / "results.csv"]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return written
    table = pa.table({c: [r.get(c) for r in rows] for c in cols})
    fd, tmp = tempfile.mkstemp(prefix=".results.parquet.", suffix=".part", dir=out)
    os.close(fd)
    pq.write_table(table, tmp)
    os.replace(tmp, out / "results.parquet")
    return written + [out / "results.parquet"]
