"""The engine regression (SPEC section 9): the same image and the same standard host
(docs/architecture.md section 7) go to the golden model (`neuromesh.sim.engine.run`) and to the
RTL under Verilator (`neuromesh.tools.cosim.engine`), and every observation must be EXACTLY equal:
each tick's handshake h_t and completion q_t, every spike_out flit (payload and cycle), the flits
the host got in, and every counter of SPEC section 8.

Cases: hand-written networks in tests/cases/*.json (one feature each, several host behaviours) and
random networks from tests/netgen.py on the meshes 1x1, 2x2, 3x2 and 4x4, each seed with one of
four host behaviours (always ready / back-pressure p=0.6 / input gaps up to 3 / both); and the
same on clock-domain layouts (`netgen.LAYOUTS`: a mesh split in two islands, a clock per tile,
2 x 2 chips), each case with periods and phases from one of `netgen.CLOCK_SCENARIOS` (coincident
edges, 2:3, 7:5, 1:4, slow and fast host domain, random).
The hand-written cases also run the golden model stepping every cycle of every domain (no jumps
over idle cycles), held to the same RTL observations.
All cases of one mesh and layout run in ONE simulator process (one Verilator build each); the
per-case tests then only compare. On a mismatch the case is re-run with an FST trace into
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
# Evidence of a mismatch goes here; `make mutants` points each mutant's run elsewhere and turns
# the traced re-run off (NEUROMESH_REGRESSION_WAVES=0: a traced rebuild per killed mutant).
OUT = Path(os.environ.get("NEUROMESH_REGRESSION_OUT") or REPO / "build" / "regression")

HOSTS = {
    "ready": lambda seed: HostBehaviour(seed=seed),
    "bp": lambda seed: HostBehaviour(seed=seed, out_ready_prob=0.6),
    "gap": lambda seed: HostBehaviour(seed=seed, max_gap=3),
    "bpgap": lambda seed: HostBehaviour(seed=seed, out_ready_prob=0.6, max_gap=3),
}
HOST_ORDER = tuple(HOSTS)

# Seeds per mesh: the default suite, and `make test-long` (at least 1,000 in all, disjoint).
DEFAULT_SEEDS = {"1x1": range(0, 12), "2x2": range(0, 16), "3x2": range(0, 16), "4x4": range(0, 6)}
DEFAULT_LAYOUT_SEEDS = {"2x2-split": range(0, 10), "2x2-pertile": range(0, 8)}
# make test-long: 750 one-domain seeds and 310 on clock-domain layouts.
LONG_SEEDS = {"1x1": range(1000, 1150), "2x2": range(1000, 1200), "3x2": range(1000, 1200),
              "4x4": range(1000, 1160), "2x2default": range(1000, 1040)}
LONG_LAYOUT_SEEDS = {"2x2-split": range(1000, 1100), "2x2-pertile": range(1000, 1090),
                     "3x2-pertile": range(1000, 1060), "4x4-blocks": range(1000, 1060)}
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
    clocks: spec.Clocks = spec.Clocks()
    step: bool = False      # also run the golden model stepping every cycle (no jumps)

    def inputs(self):
        compiled, ticks = netgen.compile_case(self.net, self.stim)
        for t, flit in self.extra_flits:
            ticks[t - 1].append(flit)
        return compiled, ticks


def hand_cases() -> list:
    """tests/cases/*.json; a case whose network has clock domains (`hardware.domains`) runs on
    them, in the batch of its partition."""
    from neuromesh.firmware.netfile import parse_network
    out = []
    for path in sorted(CASES.glob("*.json")):
        c = json.loads(path.read_text())
        clocks = parse_network(c["network"], str(path)).clocks
        for k, host in enumerate(c.get("hosts", ["ready"])):
            out.append(Case(f"{path.stem}-{host}", c["mesh"], c["network"], c["stimulus"],
                            HOSTS[host](k + 1), True, tuple(map(tuple, c.get("extra_flits", []))), clocks,
                            step=True))
    return out


def random_cases(mesh: str, seeds, layout: str | None = None) -> list:
    """Random networks on `mesh`, or on the mesh of clock layout `layout` (netgen.LAYOUTS) with
    periods and phases drawn per seed."""
    out = []
    if layout is not None:
        mesh = netgen.LAYOUTS[layout][0]
    for n, seed in enumerate(seeds):
        host = HOST_ORDER[seed % len(HOST_ORDER)]
        net, stim = netgen.random_case(mesh, seed)
        name = f"{mesh}-seed{seed}-{host}"
        clocks = spec.Clocks()
        if layout is not None:
            scenario, clocks = netgen.random_clocks(layout, seed)
            name = f"{layout}-seed{seed}-{host}-{scenario.replace(' ', '_').replace(':', 'to')}"
        out.append(Case(name, mesh, net, stim, HOSTS[host](seed), verify=n % VERIFY_EVERY == 0, clocks=clocks))
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
    for k, (want, got) in enumerate(zip(gc["domains"], rc["domains"])):
        if want != got:
            return f"domain {k} busy cycles: expected {want}, actual {got}"
    for want, got in zip(gc["links"], rc["links"]):
        if want != got:
            return (f"asynchronous link into tile {tuple(want['tile'])} {want['port']}: expected "
                    f"{want['crossed']} crossings, actual {got['crossed']}")
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
# The golden model stepping every cycle of every domain, for the cases with `step`: the model
# normally jumps over cycles in which nothing can happen, so code that only runs in a cycle it
# steps through (the barrier's `starting` in a cycle of its own, say) is held to the RTL here.
_STEPPED: dict = {}


def _run_batch(key: str, cases: list) -> dict:
    """{case name: (golden EngineRun or exception, rtl dict)}, computed once per session. The
    cases of a batch share a mesh and a partition into clock domains (one Verilator build)."""
    if key in _BATCHES:
        return _BATCHES[key]
    from neuromesh.sim.engine import run as golden_run
    from neuromesh.tools.cosim import engine as rtl_engine
    params = netgen.MESHES[cases[0].mesh]
    partition = cases[0].clocks.partition(params)
    jobs, golden = [], {}
    t0 = time.perf_counter()
    for c in cases:
        compiled, ticks = c.inputs()
        assert compiled.params == params and c.clocks.partition(params) == partition, c.name
        try:
            g = golden_run(params, compiled.writes, ticks, c.host, clocks=c.clocks)
        except Exception as e:  # noqa: BLE001 - reported per case
            g = e
        golden[c.name] = g
        if c.step:
            try:
                _STEPPED[c.name] = golden_run(params, compiled.writes, ticks, c.host, clocks=c.clocks,
                                              every_cycle=True)
            except Exception as e:  # noqa: BLE001 - reported per case
                _STEPPED[c.name] = e
        budget = 10 * (g.completions[-1] if not isinstance(g, Exception) and g.completions else 0) + 20_000
        jobs.append(rtl_engine.Job(c.name, compiled.writes, ticks, c.host, budget, c.verify, clocks=c.clocks))
    t1 = time.perf_counter()
    model = rtl_engine.build_model(params, partition=partition)
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
    (where / "clocks.json").write_text(json.dumps(case.clocks.to_dict()))
    (where / "rtl.json").write_text(json.dumps(rtl))
    if not isinstance(golden, Exception):
        (where / "golden.json").write_text(json.dumps(golden.__dict__, default=list))
    (where / "mismatch.txt").write_text(message + "\n")
    if os.environ.get("NEUROMESH_REGRESSION_WAVES", "1") == "0":
        (where / "waves-error.txt").write_text("no trace: NEUROMESH_REGRESSION_WAVES=0\n")
        return where
    try:
        params = netgen.MESHES[case.mesh]
        compiled, ticks = case.inputs()
        job = rtl_engine.Job(case.name, compiled.writes, ticks, case.host, 10 * max(1, len(ticks)) * 10_000,
                             clocks=case.clocks)
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
        stepped = _STEPPED.get(case.name)
        if diff is None and stepped is not None:
            if isinstance(stepped, Exception):
                pytest.fail(f"{case.name}: the golden model stepping every cycle failed: "
                            f"{type(stepped).__name__}: {stepped}")
            diff = first_difference(stepped, rtl, params)
            if diff is not None:
                diff = f"the golden model stepping every cycle (no jumps): {diff}"
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


RANDOM.update({layout: random_cases(None, seeds, layout) for layout, seeds in DEFAULT_LAYOUT_SEEDS.items()})
DEFAULT_CASES = HAND + [c for cases in RANDOM.values() for c in cases]


def batch_of(case: Case) -> str:
    """Cases share a simulator process when they share a mesh and a partition into domains."""
    part = case.clocks.partition(netgen.MESHES[case.mesh])
    return case.mesh if not any(part) else f"{case.mesh}-p{''.join(map(str, part))}"


def _default_batch(key: str) -> dict:
    return _run_batch(f"default-{key}", [c for c in DEFAULT_CASES if batch_of(c) == key])


@pytest.mark.parametrize("case", HAND, ids=_ids(HAND))
def test_hand_written(case):
    check(_default_batch(batch_of(case))[case.name])


@pytest.mark.parametrize("case", [c for m in RANDOM for c in RANDOM[m]],
                         ids=_ids([c for m in RANDOM for c in RANDOM[m]]))
def test_random(case):
    check(_default_batch(batch_of(case))[case.name])


def test_cases_cover_every_mesh_host_and_clock_scenario():
    """The suite is what docs/regression.md says: every mesh, every host behaviour, clock
    domains (two layouts, every clock scenario), hand-written cases across domains."""
    meshes = {c.mesh for c in HAND} | {c.mesh for v in RANDOM.values() for c in v}
    assert meshes == set(netgen.MESHES) - {"2x2default"}
    hosts = {(c.host.out_ready_prob < 1, c.host.max_gap > 0) for c in DEFAULT_CASES}
    assert hosts == {(False, False), (True, False), (False, True), (True, True)}
    multi = [c for c in DEFAULT_CASES if c.clocks.n_domains > 1]
    assert {c.clocks.n_domains for c in multi} >= {2, 4}
    scenarios = {c.name.rsplit("-", 1)[1] for c in RANDOM["2x2-split"] + RANDOM["2x2-pertile"]}
    assert len(scenarios) == len(netgen.CLOCK_SCENARIOS), scenarios
    assert any(c.clocks.n_domains > 1 for c in HAND)


def test_first_grant_contested_keeps_its_contest(monkeypatch):
    """`first_grant_contested` exists for one contest (docs/regression.md): the first transfer
    through (0, 0) west after reset wanted by the core's flit and tile (1, 0)'s in the same cycle.
    A timing change can move one of them away silently (the hop registers did that to
    `host_all_tiles`), so hold the model to it: with the reset pointer at west the local flit
    leaves first (architecture 3), with it at local the east one does."""
    from neuromesh.sim.engine import run as golden_run
    case = next(c for c in HAND if c.name == "first_grant_contested-ready")
    params = netgen.MESHES[case.mesh]
    compiled, ticks = case.inputs()

    def first_two_sources():
        run = golden_run(params, compiled.writes, ticks, case.host)
        fields = [spec.unpack_flit(flit) for _, flit in run.out_flits[:2]]
        assert all(f["host"] for f in fields)
        return [(f["x"], f["y"], f["axon"]) for f in fields]

    assert first_two_sources() == [(0, 0, 2), (1, 0, 0)]
    monkeypatch.setattr(spec, "RR_RESET", spec.LOCAL)
    assert first_two_sources() == [(1, 0, 0), (0, 0, 2)]


@pytest.mark.parametrize("name", ["host_all_tiles-ready", "fanin-ready"])
def test_arbitration_cases_keep_their_contests(name, monkeypatch):
    """Cases where flits converge (docs/regression.md) keep contests that decide something: in
    the golden model, granting each contested output in the reverse round-robin order changes
    which flit leaves when, so a timing change has not spread the flits apart."""
    from neuromesh.sim import fabric
    from neuromesh.sim.engine import run as golden_run
    case = next(c for c in HAND if c.name == name)
    compiled, ticks = case.inputs()

    def spikes_out():
        run = golden_run(netgen.MESHES[case.mesh], compiled.writes, ticks, case.host)
        assert run.out_flits
        return run.out_flits

    def reversed_grant(rr, mask):
        for k in range(1, spec.N_PORTS + 1):
            port = (rr - k) % spec.N_PORTS
            if mask >> port & 1:
                return port
        return -1

    rr_order = spikes_out()
    monkeypatch.setattr(fabric, "GRANT", [[reversed_grant(rr, mask) for mask in range(1 << spec.N_PORTS)]
                                          for rr in range(spec.N_PORTS)])
    assert spikes_out() != rr_order


def test_contention_keeps_its_back_pressure():
    """`contention` (3x2, FIFO depth 1) is about back-pressure: tile (0, 0)'s walker is the
    bottleneck and full depth-1 FIFOs hold the flits back along row 0 (docs/regression.md; its
    contests are too few to matter, `contention` is not in the test above). Hold it to that:
    with deeper FIFOs the model's ticks end at other cycles."""
    import dataclasses
    from neuromesh.sim.engine import run as golden_run
    case = next(c for c in HAND if c.name == "contention-ready")
    compiled, ticks = case.inputs()
    params = netgen.MESHES[case.mesh]
    assert params.fifo_depth == 1
    shallow = golden_run(params, compiled.writes, ticks, case.host)
    deeper = golden_run(dataclasses.replace(params, fifo_depth=2), compiled.writes, ticks, case.host)
    assert len(shallow.out_flits) == len(deeper.out_flits) > 0
    assert shallow.completions != deeper.completions


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
    zero = {"chip": {"ticks": 1, "busy_cycles": 5}, "domains": [5, 3],
            "cores": [dict.fromkeys(spec.CORE_COUNTERS, 0) for _ in range(4)],
            "routers": [dict.fromkeys(spec.ROUTER_COUNTERS, 0) for _ in range(4)],
            "links": [{"tile": [1, 0], "port": "west", "crossed": 2}]}
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
    bad = json.loads(json.dumps(zero))
    bad["domains"][1] = 4
    assert first_difference(g, dict(same, counters=bad), p) == "domain 1 busy cycles: expected 3, actual 4"
    bad = json.loads(json.dumps(zero))
    bad["links"][0]["crossed"] = 1
    assert first_difference(g, dict(same, counters=bad), p) == \
        "asynchronous link into tile (1, 0) west: expected 2 crossings, actual 1"


# ------------------------------------------------------------------------------------------
# make test-long: >= 1,000 random seeds, and hypothesis-shrunk networks

def _long_batch(key: str) -> dict:
    if key in LONG_LAYOUT_SEEDS:
        cases = random_cases(None, LONG_LAYOUT_SEEDS[key], key)
    else:
        cases = random_cases(key, LONG_SEEDS[key])
    return _run_batch(f"long-{key}", cases)


LONG_IDS = ([(mesh, seed) for mesh, seeds in LONG_SEEDS.items() for seed in seeds]
            + [(layout, seed) for layout, seeds in LONG_LAYOUT_SEEDS.items() for seed in seeds])


@pytest.mark.long
@pytest.mark.parametrize("key,seed", LONG_IDS,
                         ids=[f"{k}-seed{s}-{HOST_ORDER[s % len(HOST_ORDER)]}" for k, s in LONG_IDS])
def test_long_random(key, seed):
    """One test per seed (so `make test-long` reports how many ran); the seeds of one mesh or
    clock layout run in one simulator process, on the first of them."""
    batch = _long_batch(key)
    prefix = f"{key}-seed{seed}-{HOST_ORDER[seed % len(HOST_ORDER)]}"
    (name,) = [n for n in batch if n == prefix or n.startswith(prefix + "-")]
    check(batch[name])


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
    grant of each output; the one-domain 2x2 cases must expose it (`first_grant_contested` is
    built for it: since the hop registers no random default case has such a first contest)."""
    import neuromesh.hw.router as hw_router
    from neuromesh.sim.engine import run as golden_run
    from neuromesh.tools.cosim import engine as rtl_engine
    monkeypatch.setattr(hw_router, "RR_RESET", spec.LOCAL)
    params = netgen.MESHES["2x2"]
    model = rtl_engine.build_model(params, verilog=rtl_engine.chip_verilog(params), label="mutant-rr-reset")
    cases = [c for c in HAND if c.mesh == "2x2" and c.clocks.n_domains == 1] + random_cases("2x2", range(16))
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


@pytest.mark.long
def test_long_two_chips_example_on_both_engines():
    """examples/two_chips (README: a board of two chips, off-chip links) through `neuromesh run`'s
    own flow on the golden model and on the RTL: the same flits at the same domain-0 cycles,
    the same completions and counters (its 4x2 two-domain model is built here)."""
    from neuromesh.engines import run_network
    ex = REPO / "examples" / "two_chips"
    g = run_network(ex / "network.json", ex / "stimulus.json", engine="golden")
    r = run_network(ex / "network.json", ex / "stimulus.json", engine="rtl")
    assert [(f["cycle"], f["flit"]) for f in r["output_flits"]] == [(f["cycle"], f["flit"]) for f in g["output_flits"]]
    assert (r["handshakes"], r["completions"]) == (g["handshakes"], g["completions"])
    assert r["counters"] == g["counters"] and r["stats"]["async_crossings"] == g["stats"]["async_crossings"] > 0
