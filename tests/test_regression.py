"""The engine regression (SPEC section 9): the same image and the same standard host
(docs/architecture.md section 7) go to the golden model (`neuromesh.sim.engine.run`) and to the
RTL under Verilator (`neuromesh.tools.cosim.engine`), and every observation must be EXACTLY equal:
each tick's handshake h_t and completion q_t, every spike_out flit (payload and cycle), the flits
the host got in, and every counter of SPEC section 8.

Cases: hand-written networks in tests/cases/*.json (one feature each, several host behaviours) and
random networks from tests/netgen.py on the meshes 1x1, 2x2, 3x2 and 4x4, each seed with one of
four host behaviours (always ready / back-pressure p=0.6 / input gaps up to 3 / both).
All cases of one mesh run in ONE simulator process (one Verilator build per mesh); the per-case
tests then only compare. On a mismatch the case is re-run with an FST trace into
build/regression/<case>/ together with its network, stimulus, host and both observations.
docs/regression.md explains how to read the report and reproduce a seed.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

import netgen
from neuromesh import spec
from neuromesh.host import HostBehaviour

pytestmark = pytest.mark.rtl

REPO = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
OUT = REPO / "build" / "regression"

HOSTS = {
    "ready": lambda seed: HostBehaviour(seed=seed),
    "bp": lambda seed: HostBehaviour(seed=seed, out_ready_prob=0.6),
    "gap": lambda seed: HostBehaviour(seed=seed, max_gap=3),
    "bpgap": lambda seed: HostBehaviour(seed=seed, out_ready_prob=0.6, max_gap=3),
}
HOST_ORDER = tuple(HOSTS)

# Seeds per mesh: the default suite, and `make test-long` (at least 1,000 in all, disjoint).
DEFAULT_SEEDS = {"1x1": range(0, 12), "2x2": range(0, 16), "3x2": range(0, 16), "4x4": range(0, 6)}
LONG_SEEDS = {"1x1": range(1000, 1250), "2x2": range(1000, 1300), "3x2": range(1000, 1300),
              "4x4": range(1000, 1160), "2x2default": range(1000, 1040)}
# The image is read back over cfg_req for every hand-written case and for every VERIFY_EVERY-th
# random one (a read-back costs ~3 cycles a word; the compiler's images are checked against the
# network in tests/test_compiler.py).
VERIFY_EVERY = 8


@dataclass
class Case:
    name: str
    mesh: str
    net: dict
    stim: dict
    host: HostBehaviour
    verify: bool = True
    extra_flits: tuple = ()

    def inputs(self):
        compiled, ticks = netgen.compile_case(self.net, self.stim)
        for t, flit in self.extra_flits:
            ticks[t - 1].append(flit)
        return compiled, ticks


def hand_cases() -> list:
    out = []
    for path in sorted(CASES.glob("*.json")):
        c = json.loads(path.read_text())
        for k, host in enumerate(c.get("hosts", ["ready"])):
            out.append(Case(f"{path.stem}-{host}", c["mesh"], c["network"], c["stimulus"],
                            HOSTS[host](k + 1), True, tuple(map(tuple, c.get("extra_flits", [])))))
    return out


def random_cases(mesh: str, seeds) -> list:
    out = []
    for n, seed in enumerate(seeds):
        host = HOST_ORDER[seed % len(HOST_ORDER)]
        net, stim = netgen.random_case(mesh, seed)
        out.append(Case(f"{mesh}-seed{seed}-{host}", mesh, net, stim, HOSTS[host](seed),
                        verify=n % VERIFY_EVERY == 0))
    return out


# ------------------------------------------------------------------------------------------
# Comparison


def _flit_text(flit: int) -> str:
    f = spec.unpack_flit(flit)
    if f["host"]:
        return f"{flit:#010x} (host-bound: source tile ({f['x']}, {f['y']}), channel {f['axon']})"
    return f"{flit:#010x} (to tile ({f['x']}, {f['y']}) axon {f['axon']}{', reserved bits set' if f['reserved'] else ''})"


def _events(handshakes, completions, out_flits) -> list:
    """Everything the host saw, in time order: (cycle, order, text)."""
    ev = [(h, 0, f"tick {t} handshake") for t, h in enumerate(handshakes, 1)]
    ev += [(k, 1, f"spike_out (tile (0, 0) west) flit {_flit_text(f)}") for k, f in out_flits]
    ev += [(q, 2, f"tick {t} complete (busy low)") for t, q in enumerate(completions, 1)]
    return sorted(ev, key=lambda e: (e[0], e[1]))


def first_difference(golden, rtl: dict, params: spec.HwParams) -> str | None:
    """The first observation where the RTL differs from the golden model, as one line, or None."""
    g = _events(golden.handshakes, golden.completions, [tuple(f) for f in golden.out_flits])
    r = _events(rtl["handshakes"], rtl["completions"], [tuple(f) for f in rtl["out_flits"]])
    for i in range(max(len(g), len(r))):
        a = g[i] if i < len(g) else None
        b = r[i] if i < len(r) else None
        if a != b:
            cycle = min(e[0] for e in (a, b) if e is not None)
            return (f"cycle {cycle}: expected (golden) {f'cycle {a[0]}: {a[2]}' if a else 'nothing more'}, "
                    f"actual (rtl) {f'cycle {b[0]}: {b[2]}' if b else 'nothing more'}")
    if golden.host_flits != rtl["host_flits"]:
        return f"host flits accepted on spike_in: expected {golden.host_flits}, actual {rtl['host_flits']}"
    gc, rc = golden.counters, rtl["counters"]
    for name in gc["chip"]:
        if gc["chip"][name] != rc["chip"][name]:
            return f"chip counter {name}: expected {gc['chip'][name]}, actual {rc['chip'][name]}"
    for i, (x, y) in enumerate(params.tiles()):
        for group, label in (("cores", "core"), ("routers", "router")):
            for name, want in gc[group][i].items():
                got = rc[group][i][name]
                if want != got:
                    return f"tile ({x}, {y}) {label} counter {name}: expected {want}, actual {got}"
    return None


# ------------------------------------------------------------------------------------------
# Running a batch: golden per case, RTL all cases of a mesh in one process.

_BATCHES: dict = {}


def _run_batch(key: str, cases: list) -> dict:
    """{case name: (golden EngineRun or exception, rtl dict)}, computed once per session."""
    if key in _BATCHES:
        return _BATCHES[key]
    from neuromesh.sim.engine import run as golden_run
    from neuromesh.tools.cosim import engine as rtl_engine
    params = netgen.MESHES[cases[0].mesh]
    jobs, golden = [], {}
    t0 = time.perf_counter()
    for c in cases:
        compiled, ticks = c.inputs()
        assert compiled.params == params, c.name
        try:
            g = golden_run(params, compiled.writes, ticks, c.host)
        except Exception as e:  # noqa: BLE001 - reported per case
            g = e
        golden[c.name] = g
        budget = 10 * (g.completions[-1] if not isinstance(g, Exception) and g.completions else 0) + 20_000
        jobs.append(rtl_engine.Job(c.name, compiled.writes, ticks, c.host, budget, c.verify))
    t1 = time.perf_counter()
    model = rtl_engine.build_model(params)
    t2 = time.perf_counter()
    # One folder per process: other engineers may run the regression at the same time.
    workdir = OUT / "batches" / f"{key}.{os.getpid()}"
    rtl = rtl_engine.run_jobs(params, jobs, model=model, workdir=workdir)
    t3 = time.perf_counter()
    if not any("error" in r for r in rtl):
        shutil.rmtree(workdir, ignore_errors=True)
    rtl = {r["name"]: r for r in rtl}
    timing = {"cases": len(cases), "golden_s": t1 - t0, "build_s": t2 - t1, "rtl_s": t3 - t2,
              "rtl_run_s": sum(r.get("run_wall_s", 0) for r in rtl.values()),
              "rtl_load_s": sum(r.get("load_wall_s", 0) for r in rtl.values()),
              "cycles": sum(g.completions[-1] for g in golden.values()
                            if not isinstance(g, Exception) and g.completions)}
    (OUT / "batches" / key).mkdir(parents=True, exist_ok=True)
    (OUT / "batches" / key / "timing.json").write_text(json.dumps(timing, indent=1))
    _BATCHES[key] = {c.name: (golden[c.name], rtl.get(c.name, {"error": "not run"}), c) for c in cases}
    return _BATCHES[key]


def keep_evidence(case: Case, golden, rtl: dict, message: str) -> Path:
    """Re-run a failing case with an FST trace into build/regression/<case>/, with everything
    needed to reproduce it."""
    from neuromesh.tools.cosim import engine as rtl_engine
    where = OUT / case.name
    where.mkdir(parents=True, exist_ok=True)
    (where / "network.json").write_text(json.dumps(case.net, indent=1))
    (where / "stimulus.json").write_text(json.dumps(case.stim, indent=1))
    (where / "host.json").write_text(json.dumps(case.host.__dict__))
    (where / "rtl.json").write_text(json.dumps(rtl))
    if not isinstance(golden, Exception):
        (where / "golden.json").write_text(json.dumps(golden.__dict__, default=list))
    (where / "mismatch.txt").write_text(message + "\n")
    try:
        params = netgen.MESHES[case.mesh]
        compiled, ticks = case.inputs()
        job = rtl_engine.Job(case.name, compiled.writes, ticks, case.host, 10 * max(1, len(ticks)) * 10_000)
        rtl_engine.run_jobs(params, [job], waves=where / "waves.fst", workdir=where / "sim")
    except Exception as e:  # noqa: BLE001 - the trace is a help, not the verdict
        (where / "waves-error.txt").write_text(f"{type(e).__name__}: {e}\n")
    return where


def check(entry) -> None:
    golden, rtl, case = entry
    params = netgen.MESHES[case.mesh]
    if isinstance(golden, Exception):
        pytest.fail(f"{case.name}: the golden model failed: {type(golden).__name__}: {golden}")
    if "error" in rtl:
        msg = f"{case.name}: the RTL run failed: {rtl['error']}"
    else:
        diff = first_difference(golden, rtl, params)
        if diff is None:
            return
        msg = f"{case.name} ({case.host.describe()}): {diff}"
    where = keep_evidence(case, golden, rtl, msg)
    pytest.fail(f"{msg}\n  evidence and waves: {where}")


def _ids(cases):
    return [c.name for c in cases]


# ------------------------------------------------------------------------------------------
# The default suite

HAND = hand_cases()
RANDOM = {mesh: random_cases(mesh, seeds) for mesh, seeds in DEFAULT_SEEDS.items()}


def _default_batch(mesh: str) -> dict:
    cases = [c for c in HAND if c.mesh == mesh] + RANDOM[mesh]
    return _run_batch(f"default-{mesh}", cases)


@pytest.mark.parametrize("case", HAND, ids=_ids(HAND))
def test_hand_written(case):
    check(_default_batch(case.mesh)[case.name])


@pytest.mark.parametrize("case", [c for m in RANDOM for c in RANDOM[m]],
                         ids=_ids([c for m in RANDOM for c in RANDOM[m]]))
def test_random(case):
    check(_default_batch(case.mesh)[case.name])


def test_cases_cover_every_mesh_and_host():
    """The suite is what docs/regression.md says: every mesh, every host behaviour."""
    meshes = {c.mesh for c in HAND} | set(RANDOM)
    assert meshes == set(netgen.MESHES) - {"2x2default"}
    hosts = {(c.host.out_ready_prob < 1, c.host.max_gap > 0) for c in HAND + [c for v in RANDOM.values() for c in v]}
    assert hosts == {(False, False), (True, False), (False, True), (True, True)}


def test_regression_sees_a_different_host():
    """Not vacuous: the RTL observations of a back-pressured 1x1 case, compared against a golden
    run whose only change is the back-pressure seed, must be reported as different."""
    from neuromesh.sim.engine import run as golden_run
    batch = _default_batch("1x1")
    for golden, rtl, case in batch.values():
        if case.host.out_ready_prob < 1 and len(rtl.get("out_flits", [])) >= 3:
            break
    else:
        pytest.fail("no back-pressured 1x1 case with output flits")
    assert first_difference(golden, rtl, netgen.MESHES["1x1"]) is None
    compiled, ticks = case.inputs()
    other = HostBehaviour(seed=case.host.seed + 12345, out_ready_prob=case.host.out_ready_prob)
    moved = golden_run(compiled.params, compiled.writes, ticks, other)
    assert first_difference(moved, rtl, netgen.MESHES["1x1"]) is not None


def test_mismatch_keeps_evidence_and_waves():
    """A mismatch (made here by shifting one completion of a real 1x1 result) fails with the first
    difference and leaves the case, both observations and an FST trace in build/regression/."""
    import dataclasses
    golden, rtl, case = next(iter(_default_batch("1x1").values()))
    case = dataclasses.replace(case, name="selftest-evidence")
    shutil.rmtree(OUT / case.name, ignore_errors=True)
    wrong = dict(rtl, completions=rtl["completions"][:-1] + [rtl["completions"][-1] + 1])
    with pytest.raises(pytest.fail.Exception) as e:
        check((golden, wrong, case))
    assert f"tick {len(rtl['completions'])} complete" in str(e.value)
    where = OUT / case.name
    for name in ("network.json", "stimulus.json", "host.json", "golden.json", "rtl.json", "mismatch.txt"):
        assert (where / name).exists(), name
    from neuromesh.tools.cosim.simulator import fst_available
    if fst_available():
        assert not (where / "waves-error.txt").exists(), (where / "waves-error.txt").read_text()
        assert (where / "waves.fst").stat().st_size > 1000
    else:  # no liblz4-dev: the evidence says why there is no trace
        assert "liblz4-dev" in (where / "waves-error.txt").read_text()


def test_first_difference_names_what_differs():
    """The mismatch report: an independent check on made-up observations."""
    from neuromesh.result import EngineRun
    p = netgen.MESHES["2x2"]
    zero = {"chip": {"ticks": 1, "busy_cycles": 5},
            "cores": [dict.fromkeys(spec.CORE_COUNTERS, 0) for _ in range(4)],
            "routers": [dict.fromkeys(spec.ROUTER_COUNTERS, 0) for _ in range(4)]}
    flit = spec.host_flit(3, 1, 1)
    g = EngineRun([(7, flit)], [0], [20], zero, 0)
    same = {"out_flits": [[7, flit]], "handshakes": [0], "completions": [20], "counters": zero, "host_flits": 0}
    assert first_difference(g, same, p) is None
    late = dict(same, out_flits=[[8, flit]])
    msg = first_difference(g, late, p)
    assert msg.startswith("cycle 7:") and "source tile (1, 1), channel 3" in msg and "cycle 8" in msg
    assert "tick 1 complete" in first_difference(g, dict(same, completions=[21]), p)
    bad = json.loads(json.dumps(zero))
    bad["routers"][3]["fwd_west"] = 2
    assert first_difference(g, dict(same, counters=bad), p) == \
        "tile (1, 1) router counter fwd_west: expected 0, actual 2"


# ------------------------------------------------------------------------------------------
# make test-long: >= 1,000 random seeds, and hypothesis-shrunk networks

def _long_batch(mesh: str) -> dict:
    return _run_batch(f"long-{mesh}", random_cases(mesh, LONG_SEEDS[mesh]))


LONG_IDS = [(mesh, seed) for mesh, seeds in LONG_SEEDS.items() for seed in seeds]


@pytest.mark.long
@pytest.mark.parametrize("mesh,seed", LONG_IDS,
                         ids=[f"{m}-seed{s}-{HOST_ORDER[s % len(HOST_ORDER)]}" for m, s in LONG_IDS])
def test_long_random(mesh, seed):
    """One test per seed (so `make test-long` reports how many ran); the seeds of one mesh run
    in one simulator process, on the first of them."""
    check(_long_batch(mesh)[f"{mesh}-seed{seed}-{HOST_ORDER[seed % len(HOST_ORDER)]}"])


@pytest.mark.long
def test_long_hypothesis():
    """Hypothesis networks on the 2x2 mesh, one RTL process per example, so that a failure
    shrinks to a minimal network (shown in the report)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=int(os.environ.get("NEUROMESH_HYPOTHESIS_EXAMPLES", "30")), deadline=None,
              suppress_health_check=list(HealthCheck), database=None)
    @given(netgen.cases("2x2"), st.sampled_from(HOST_ORDER), st.integers(0, 1000))
    def prop(case, host, seed):
        net, stim = case
        c = Case(f"hypothesis-{host}-{seed}", "2x2", net, stim, HOSTS[host](seed))
        _BATCHES.pop(c.name, None)
        check(_run_batch(c.name, [c])[c.name])
    prop()


@pytest.mark.long
def test_long_regression_catches_a_mutant(monkeypatch):
    """Sensitivity: an RTL whose round-robin pointers reset to `local` instead of `west`
    (architecture section 3) differs from the golden model only in who wins the first contested
    grant of each output; the 3x2 cases must expose it."""
    import neuromesh.hw.router as hw_router
    from neuromesh.sim.engine import run as golden_run
    from neuromesh.tools.cosim import engine as rtl_engine
    monkeypatch.setattr(hw_router, "RR_RESET", spec.LOCAL)
    params = netgen.MESHES["3x2"]
    model = rtl_engine.build_model(params, verilog=rtl_engine.chip_verilog(params), label="mutant-rr-reset")
    cases = [c for c in HAND if c.mesh == "3x2"] + random_cases("3x2", range(16))
    jobs, golden = [], {}
    for c in cases:
        compiled, ticks = c.inputs()
        golden[c.name] = golden_run(params, compiled.writes, ticks, c.host)
        jobs.append(rtl_engine.Job(c.name, compiled.writes, ticks, c.host, verify=False))
    rtl = rtl_engine.run_jobs(params, jobs, model=model)
    caught = [(c.name, first_difference(golden[c.name], r, params)) for c, r in zip(cases, rtl)]
    caught = [(name, diff) for name, diff in caught if diff]
    print(f"mutant (rr reset = local) caught by {len(caught)} of {len(cases)} cases")
    for name, diff in caught:
        print(f"  {name}: {diff}")
    assert caught
