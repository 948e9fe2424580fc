"""The RTL engine: the Amaranth chip (`neuromesh.hw.mesh.Chip`) under Verilator, driven by the
standard host of docs/architecture.md section 7 in a cocotb test (tools/cosim/host.py).

`run(...)` has the engine interface of the golden model (`neuromesh.sim.engine.run`) and returns
the same `EngineRun`, so `neuromesh run --engine rtl` reports through the same result builder.
`run_jobs(...)` runs many images/stimuli in ONE simulator process (the regression's way: the
process start and the Verilator build are paid once per HwParams).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from neuromesh import spec
from neuromesh.hw.mesh import VERILOG_NAME as TOPLEVEL
from neuromesh.host import HostBehaviour
from neuromesh.result import EngineRun
from neuromesh.spec import NeuroMeshError

TEST_MODULE = "neuromesh.tools.cosim.host"
DEFAULT_MAX_CYCLES = 20_000_000


class RtlEngineError(NeuroMeshError):
    pass


@dataclass
class Job:
    """One run of the standard host on a freshly reset chip."""
    name: str
    writes: list
    tick_inputs: list
    host: HostBehaviour = HostBehaviour()
    max_cycles: int = DEFAULT_MAX_CYCLES
    verify: bool = True     # read the image back over cfg_req
    scrub: bool = False     # zero every writable word the image does not write (not job 0)
    clocks: spec.Clocks = spec.Clocks()   # periods and phases (the partition must be the model's)

    def to_json(self) -> dict:
        return {"name": self.name, "writes": [list(w) for w in self.writes],
                "tick_inputs": [list(t) for t in self.tick_inputs], "host": asdict(self.host),
                "clocks": self.clocks.to_dict(),
                "max_cycles": self.max_cycles, "verify": self.verify, "scrub": self.scrub}


@dataclass
class Model:
    """A built Verilator model of one chip."""
    runner: object
    build_dir: Path
    build_s: float      # wall time of the build (about 0 when the cache had it)
    waves: bool


def chip_verilog(params: spec.HwParams, partition=None) -> str:
    from neuromesh.hw.mesh import chip_verilog as hw_chip_verilog
    return hw_chip_verilog(params, partition=partition)


def partition_label(partition) -> str:
    """A short name for a partition of tiles into domains (build folder names)."""
    if partition is None or not any(partition):
        return ""
    return "-d" + "".join(str(k) if k < 10 else f"[{k}]" for k in partition)


def build_model(params: spec.HwParams, *, waves: bool = False, verilog: str | None = None,
                label: str | None = None, partition=None) -> Model:
    """Build (or reuse from the cache keyed by the Verilog text) the model of
    `Chip(params, partition=partition)`."""
    from neuromesh.tools.cosim import simulator
    try:
        simulator.toolchain_env()
    except NeuroMeshError as e:
        raise RtlEngineError(f"rtl engine: {e}") from None
    if shutil.which("verilator") is None:
        raise RtlEngineError("rtl engine: Verilator is not on PATH (run `make install`)")
    if waves and not simulator.fst_available():
        raise RtlEngineError("rtl engine: --waves: FST traces need the lz4 headers, which this machine "
                             "lacks (apt-get install liblz4-dev; `make install` tries it)")
    spec.check_rtl_size(params, "the RTL engine")
    text = verilog if verilog is not None else chip_verilog(params, partition)
    t0 = time.perf_counter()
    label = label or f"chip-{params.key()}{partition_label(partition)}"
    try:
        runner, build_dir = simulator.build(text, TOPLEVEL, waves=waves, label=label)
    except Exception as e:  # the runner raises a bare CalledProcessError / SystemExit
        log = simulator.BUILD_ROOT / "verilator"
        logs = sorted(log.glob(f"{label}-*/build.log"), key=lambda p: p.stat().st_mtime)
        where = logs[-1] if logs else log
        hint = ""
        if waves and logs and "lz4.h" in logs[-1].read_text(errors="replace"):
            hint = " (FST traces need the lz4 headers: apt-get install liblz4-dev)"
        tail = f": {simulator.log_tail(where)}" if logs else ""
        raise RtlEngineError(f"rtl engine: Verilator build of {TOPLEVEL} failed "
                             f"({type(e).__name__}){hint}; see {where}{tail}") from None
    return Model(runner, Path(build_dir), time.perf_counter() - t0, waves)


def run_jobs(params: spec.HwParams, jobs: list, *, model: Model | None = None, waves=None,
             workdir: Path | None = None, progress=None) -> list:
    """Run `jobs` in one simulator process; return one dict per job (keys: name, out_flits,
    handshakes, completions, counters, host_flits, load_wall_s, run_wall_s, or `error`).
    `waves`: a path to copy the FST trace of the whole process to."""
    from neuromesh.tools.cosim import simulator
    for job in jobs:  # refuse a bad image here, in one line, not inside the simulator
        for k, (addr, data) in enumerate(job.writes):
            try:
                d = spec.decode_addr(params, addr)
            except spec.AddressError as e:
                raise RtlEngineError(f"rtl engine: job {job.name!r} write {k}: {e}") from None
            if not d.writable or not 0 <= data < 1 << spec.CFG_WORD_BITS:
                raise RtlEngineError(f"rtl engine: job {job.name!r} write {k}: {data!r} at {addr:#010x} "
                                     f"({d.region}) is not a writable 32-bit word")
    if model is None or (waves and not model.waves):
        model = build_model(params, waves=bool(waves), partition=jobs[0].clocks.partition(params) if jobs else None)
    own_dir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="rtl-", dir=_scratch_root()))
    workdir.mkdir(parents=True, exist_ok=True)
    job_file, results = workdir / "job.json", workdir / "results.json"
    progress_file = workdir / "progress.txt" if progress else None
    if results.exists():
        results.unlink()
    partitions = {j.clocks.partition(params) for j in jobs}
    if len(partitions) > 1:
        raise RtlEngineError("rtl engine: the jobs of one simulator process must share one partition of "
                             "tiles into clock domains (it is in the Verilog)")
    job_file.write_text(json.dumps({
        "params": params.to_dict(), "n_domains": max(max(partitions, default=(0,))) + 1, "results": str(results),
        "progress": str(progress_file) if progress_file else None,
        "jobs": [j.to_json() for j in jobs]}))
    poller = _ProgressPoller(progress_file, progress) if progress else None
    try:
        simulator.run_tests(model.runner, model.build_dir, TOPLEVEL, TEST_MODULE,
                         extra_env={"NEUROMESH_RTL_JOB": str(job_file)},
                         waves=bool(waves), test_dir=workdir)
    except SystemExit:
        pass  # the runner exits when the cocotb test fails: the results file says which job
    finally:
        if poller:
            poller.stop()
    if not results.exists():
        raise RtlEngineError(f"rtl engine: the simulation wrote no results; see {workdir / 'sim.log'}")
    out = json.loads(results.read_text())["results"]
    if len(out) < len(jobs):  # the process died in the middle of a job
        out.append({"name": jobs[len(out)].name,
                    "error": f"the simulation stopped during this job; see {workdir / 'sim.log'}"})
    if waves:
        dumps = sorted(workdir.glob("dump.*"), key=lambda p: p.stat().st_mtime)
        if not dumps:
            raise RtlEngineError(f"rtl engine: --waves: the simulation wrote no trace in {workdir}")
        Path(waves).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dumps[-1], waves)
    if own_dir and not any("error" in r for r in out):
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def to_engine_run(r: dict, build_s: float = 0.0) -> EngineRun:
    return EngineRun(out_flits=[tuple(f) for f in r["out_flits"]], handshakes=r["handshakes"],
                     completions=r["completions"], counters=r["counters"], host_flits=r["host_flits"],
                     extras={"rtl_sim": {"load_cycles": r.get("load_cycles"),
                                         "load_wall_s": r.get("load_wall_s"),
                                         "run_wall_s": r.get("run_wall_s"), "build_s": build_s}})


def run(params: spec.HwParams, writes, tick_inputs, host: HostBehaviour, *, clocks: spec.Clocks | None = None,
        progress=None, waves=None, max_cycles: int = DEFAULT_MAX_CYCLES, model: Model | None = None) -> EngineRun:
    """The engine interface (`neuromesh.engines`): one run of the standard host on the RTL."""
    clocks = clocks or spec.Clocks()
    if model is None:
        model = build_model(params, waves=bool(waves), partition=clocks.partition(params))
    job = Job("run", list(writes), [list(t) for t in tick_inputs], host, max_cycles, clocks=clocks)
    (r,) = run_jobs(params, [job], model=model, waves=waves, progress=progress)
    if "error" in r:
        raise RtlEngineError(f"rtl engine: {r['error']}")
    return to_engine_run(r, model.build_s)


def _scratch_root() -> Path:
    from neuromesh.tools.cosim import simulator
    root = simulator.BUILD_ROOT / "rtl-runs"
    root.mkdir(parents=True, exist_ok=True)
    return root


class _ProgressPoller:
    """Calls progress(t) for each tick the simulator process reports (it writes `job tick`)."""

    def __init__(self, path: Path, progress):
        self.path, self.progress, self.done = path, progress, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _poll(self):
        try:
            _job, t = map(int, self.path.read_text().split())
        except (OSError, ValueError):
            return
        while self.done < t:
            self.done += 1
            self.progress(self.done)

    def _loop(self):
        while not self._stop.wait(0.2):
            self._poll()

    def stop(self):
        self._stop.set()
        self._thread.join()
        self._poll()
