"""The cocotb test module behind `neuromesh run --engine rtl` and the regression: loads an image
over `cfg_req` (with read-back verify), then runs THE STANDARD HOST of docs/architecture.md
section 7 cycle by cycle, and reads every counter with `neuromesh.result.read_counters`.

The engine (tools/cosim/engine.py) hands over a JSON job file (path in `NEUROMESH_RTL_JOB`):

    {"params": {...HwParams...}, "n_domains": D, "results": "out.json", "progress": "progress.txt" | null,
     "jobs": [{"name", "writes": [[addr, data]], "tick_inputs": [[flit]], "host": {...},
               "clocks": {...spec.Clocks...}, "max_cycles": int, "verify": bool, "scrub": bool}]}

Every job of one process has the same partition of tiles into clock domains (it is in the
Verilog); periods and phases may differ from job to job.

One simulator process runs the jobs in order and resets the chip between them. Memories keep
their contents across a reset: the compiler's images rewrite every neuron slot and every axon,
and unused synapse and route entries are unreachable, so nothing leaks from one job into the
next; a job with `"scrub": true` also writes zero to each writable word its image does not
write (for hand-made images). The results file is rewritten after every job, so a crash or a
hang loses only the job in hand. A job that fails (load mismatch, timeout) gets an `error`.

Cycle bookkeeping (architecture section 2): the chip is clocked on rising edges only, so the host
acts at the FALLING edge of `clk` in the middle of domain-0 cycle k: every domain-0 register of
cycle k has settled there (whatever order the simulator runs edge callbacks in; no other domain
drives a domain-0 signal except through synchronizers), the host reads `busy`, drives its inputs
for cycle k, and samples every handshake at ReadOnly of that time step. Cycle 0 is the first
cycle after the image has been loaded: every clock is stopped, then restarted so that `clk`
rises at time 0 and `clk_k` at `phase_k` (`drivers.DomainClocks.align`, architecture 8.1).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from cocotb.triggers import FallingEdge, ReadOnly

from neuromesh import spec
from neuromesh.host import HostBehaviour, StandardHost
from neuromesh.firmware.loader import LoadError, plan
from neuromesh.result import Transport, read_counters
from neuromesh.tools.cosim.bounded import bounded_test
from neuromesh.tools.cosim.drivers import CfgMaster, ChipPorts, DomainClocks

JOB_ENV = "NEUROMESH_RTL_JOB"
DEFAULT_MAX_CYCLES = 10_000_000  # a job without its own budget (the engine always gives one)


class HostError(Exception):
    """A job that cannot finish: the message says where and why."""


class _Recorder(Transport):
    """Records the addresses `read_counters` asks for (answers 0)."""

    def __init__(self):
        self.addrs = []

    def read(self, addr):
        self.addrs.append(addr)
        return 0


class _Prefetched(Transport):
    """Answers reads from words already fetched over cfg_req by the async host."""

    def __init__(self, words):
        self.words = words

    def read(self, addr):
        return self.words[addr]


async def reset(ports: ChipPorts, clocks: spec.Clocks, cycles: int = 2) -> None:
    """`rst` for `cycles` domain-0 cycles and at least 3 cycles of the slowest clock, then as
    long again for every domain's synchronized reset to be released (architecture 8.6)."""
    slowest = max(clocks.period(k) for k in range(clocks.n_domains))
    n = max(cycles, -(-3 * slowest // clocks.period_ps))
    await FallingEdge(ports.clk)  # also leaves a ReadOnly phase that a failed job ended in
    ports.idle_inputs()
    ports.put(ports.rst, 1)
    for _ in range(n):
        await FallingEdge(ports.clk)
    ports.put(ports.rst, 0)
    for _ in range(n if clocks.n_domains > 1 else 0):
        await FallingEdge(ports.clk)


async def load_image(cfg: CfgMaster, params: spec.HwParams, writes, *, scrub: bool,
                     verify: bool = True) -> None:
    """The project's one load-and-verify path (`neuromesh.firmware.loader.plan`), over cfg_req:
    zero every writable word the image does not write (when `scrub`), write the image, read
    every written address back. Fails on the first difference."""
    try:
        p = plan(writes, params)
        if scrub:
            await cfg.writes(p.scrub_writes())
        await cfg.writes(p.writes)
        if verify:
            for addr in p.expected:
                p.check(addr, await cfg.read(addr))
    except LoadError as e:
        raise HostError(f"image {e}") from None


async def standard_host(ports: ChipPorts, tick_inputs, host: HostBehaviour, max_cycles: int,
                        progress=None) -> dict:
    """docs/architecture.md section 7 (`neuromesh.host.StandardHost`, the same state machine the
    golden engine drives), one loop iteration per clock cycle. Called at the falling edge in
    the middle of cycle 0."""
    p = ports
    sh = StandardHost(tick_inputs, host, progress)
    out_flits = []
    ready_always = host.out_ready_prob >= 1.0
    p.put(p.out_ready, 1 if ready_always else 0)
    busy_h, in_ready_h, tick_ready_h = p.busy, p.in_ready, p.tick_ready
    out_valid_h, out_payload_h = p.out_valid, p.out_payload
    k = 0
    while True:
        # -- middle of cycle k: busy depends on registered state only (architecture section 2),
        # so it is settled at the falling edge; ReadOnly re-checks it below.
        busy = int(busy_h.value)
        if not sh.begin(k, bool(busy)):
            p.put(p.in_valid, 0)
            p.put(p.tick_valid, 0)
            break
        flit = sh.offer(k)
        if flit is not None:
            p.put(p.in_payload, flit)
        p.put(p.in_valid, 0 if flit is None else 1)
        tick_valid = sh.tick_valid(k)
        p.put(p.tick_valid, 1 if tick_valid else 0)
        out_ready = ready_always or host.out_ready(k)
        if not ready_always:
            p.put(p.out_ready, 1 if out_ready else 0)
        await ReadOnly()
        if int(busy_h.value) != busy:
            raise HostError(f"cycle {k}: busy changed with the host's inputs ({busy} -> "
                            f"{int(busy_h.value)}): it must depend on registered state only")
        if flit is not None and int(in_ready_h.value):
            sh.accepted(k)
        if tick_valid and int(tick_ready_h.value):
            sh.handshake(k)
        if out_ready and int(out_valid_h.value):
            out_flits.append([k, int(out_payload_h.value)])
        if k >= max_cycles:
            raise HostError(f"cycle {k}: tick {sh.t} has not completed within the budget of {max_cycles} "
                            f"cycles (handshakes so far {len(sh.handshakes)}, busy {busy})")
        await FallingEdge(p.clk)
        k += 1
    return dict(out_flits=out_flits, handshakes=sh.handshakes, completions=sh.completions,
                host_flits=sh.host_flits)


async def read_all_counters(cfg: CfgMaster, params: spec.HwParams, clocks: spec.Clocks) -> dict:
    """`neuromesh.result.read_counters` over cfg_req: the same addresses, read by the chip."""
    rec = _Recorder()
    read_counters(rec, params, clocks)
    words = {}
    for addr in rec.addrs:
        words[addr] = await cfg.read(addr)
    return read_counters(_Prefetched(words), params, clocks)


def job_budget(job_file: str | None) -> int:
    """The simulated-time bound of a whole job file (`bounded.bounded_test`), in cycles of its
    10 ns reference clock: each job's run budget `max_cycles` of domain 0 (which the host checks
    every cycle, naming the tick: that message comes first) plus its scrub, load and read-back
    over cfg_req (under 8 cycles a word, each a four-phase crossing of up to 4 cycles of the
    slowest clock when it goes to another domain) and 100,000 such cycles for the reset and the
    counters."""
    try:
        spec_ = json.loads(Path(job_file).read_text())
        params, jobs = spec.HwParams.from_dict(spec_["params"]), spec_["jobs"]
    except (OSError, TypeError, ValueError, KeyError):
        return 1_000_000  # no readable job file: the test fails at once anyway
    words = params.n_tiles * sum(spec.region_size(params, r) for r in spec.WRITABLE_REGIONS)
    total_ps = 0
    for job in jobs:
        clocks = job.get("clocks", {})
        p0 = clocks.get("period_ps", spec.DEFAULT_PERIOD_PS)
        slowest = max([p0] + [d.get("period_ps", p0) for d in clocks.get("domains", [])])
        loaded = len(job.get("writes", [])) + (words if job.get("scrub") else 0)
        total_ps += job.get("max_cycles", DEFAULT_MAX_CYCLES) * p0 + (8 * loaded + 100_000) * 4 * slowest
    return max(-(-total_ps // 10_000), 1_000_000)


@bounded_test(cycles=job_budget(os.environ.get(JOB_ENV)))
async def run_jobs(dut):
    """Run every job of the job file in order; write the results file after each one."""
    job_file = Path(os.environ[JOB_ENV])
    spec_ = json.loads(job_file.read_text())
    params = spec.HwParams.from_dict(spec_["params"])
    out_path = Path(spec_["results"])
    progress_path = spec_.get("progress")
    ports = ChipPorts(dut)
    domain_clocks = DomainClocks(dut, spec_.get("n_domains", 1))
    results = []
    failures = []
    for n, job in enumerate(spec_["jobs"]):
        name = job.get("name", f"job{n}")
        host = HostBehaviour(**job.get("host", {}))
        entry = {"name": name}
        t0 = time.perf_counter()
        try:
            clocks = spec.Clocks.from_dict(job.get("clocks", {}), params, "clocks")
            domain_clocks.start(clocks)
            await reset(ports, clocks)
            cfg = CfgMaster(ports)
            await load_image(cfg, params, [tuple(w) for w in job["writes"]],
                             scrub=job.get("scrub", False) and n > 0, verify=job.get("verify", True))
            entry["load_cycles"] = cfg.cycles
            await domain_clocks.align(clocks)  # clk rises: time 0 of the run
            await FallingEdge(ports.clk)      # the middle of cycle 0
            t1 = time.perf_counter()
            prog = None
            if progress_path:
                def prog(t, _path=progress_path, _n=n):
                    Path(_path).write_text(f"{_n} {t}\n")
            run = await standard_host(ports, job["tick_inputs"], host, job.get("max_cycles", DEFAULT_MAX_CYCLES), prog)
            t2 = time.perf_counter()
            run["counters"] = await read_all_counters(cfg, params, clocks)
            entry.update(run)
            entry["load_wall_s"] = t1 - t0
            entry["run_wall_s"] = t2 - t1
        except (HostError, TimeoutError, spec.ConfigError, ValueError) as e:
            entry["error"] = str(e)
            failures.append(f"{name}: {e}")
        results.append(entry)
        out_path.write_text(json.dumps({"results": results}))
    assert not failures, "; ".join(failures)
