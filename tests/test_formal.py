"""The formal harness (tools/formal, docs/formal.md).

Without a solver: the harness's reference rules equal `spec.flit_refused` / `spec.route_port`,
properties are named in the RTLIL (router and link), a renamed router or link signal stops
elaboration, the link's latency bounds match a hand count, bad options exit 2.
With yowasp-sby and yices (skipped otherwise): one property proved by induction and one mutant
router caught with a counterexample, the payload rule proved and its mutant caught; the link's
conservation proved over two clocks and a link that writes a flit twice caught; under
`-m long`, every mutant (router and link) caught by its property.
"""
import pytest

from neuromesh import spec
from neuromesh.tools.formal.jobs import CONFIGS, KNOWN_FAILURES
from neuromesh.tools.formal.mutants import MUTANTS
from neuromesh.tools.formal.sby import tools_available

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

NO_TOOLS = tools_available()
def needs_solver(test):
    return pytest.mark.formal(pytest.mark.skipif(NO_TOOLS is not None, reason=f"no formal tools: {NO_TOOLS}")(test))


def _field_width(name):
    return next(width for field, _lsb, width in spec.FLIT_FIELDS if field == name)


@pytest.mark.parametrize("width,height,x,y", [(3, 3, 1, 1), (3, 3, 0, 0), (2, 4, 1, 3), (1, 1, 0, 0)])
def test_reference_rules_match_spec(width, height, x, y):
    """(host, x, y) inside, at and past the mesh's edges, and each reserved bit, through Amaranth's
    simulator."""
    from amaranth.hdl import Module, Signal
    from amaranth.sim import Simulator
    from neuromesh.tools.formal import reference

    params = spec.HwParams(width=width, height=height)
    word = Signal(spec.FLIT_WIDTH)
    refused, port = Signal(), Signal(3)
    m = Module()
    m.d.comb += [refused.eq(reference.refused(word, params)), port.eq(reference.route_port(word, x, y))]
    # inside the mesh, the first rows and columns past it, and the largest coordinate the flit holds
    side = 1 << _field_width("x")
    coords = sorted(set(range(min(side, max(width, height) + 2))) | {side - 1})
    words = [spec.pack_flit(7, tx, ty, host) for host in (0, 1) for tx in coords for ty in coords]
    reserved_lsb = next(lsb for name, lsb, _w in spec.FLIT_FIELDS if name == "reserved")
    words += [spec.pack_flit(0, 0, 0) | (1 << bit) for bit in range(reserved_lsb, spec.FLIT_WIDTH)]
    mismatches = []

    async def bench(ctx):
        for w in words:
            ctx.set(word, w)
            want_refused = spec.flit_refused(w, width, height)
            if ctx.get(refused) != want_refused:
                mismatches.append((hex(w), "refused", want_refused))
            elif not want_refused and ctx.get(port) != spec.route_port(x, y, w):
                mismatches.append((hex(w), "port", spec.route_port(x, y, w)))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert mismatches == []


def test_properties_are_named_cells_in_the_rtlil():
    from neuromesh.tools.formal.harness import RouterHarness
    config = CONFIGS["interior-d1"]
    text = RouterHarness(config.params, config.x, config.y, ["conservation", "routing"]).rtlil()
    for name in ["conservation_sent_is_popped", "routing_east", "lemma_rr_in_range_west"] + \
            [f"conservation_fifo_{p}" for p in spec.PORTS]:
        assert f"cell $check \\{name}\n" in text


def test_a_renamed_router_signal_stops_the_harness():
    from neuromesh.tools.formal.harness import RouterHarness
    from neuromesh.tools.formal.mutants import edited_module
    from neuromesh.tools.formal.probes import ProbeError
    renamed = edited_module("neuromesh.hw.router", 'name=f"rr_{PORTS[o]}"', 'name=f"pointer_{PORTS[o]}"',
                            "renamed_rr").Router
    config = CONFIGS["interior-d1"]
    with pytest.raises(ProbeError, match="rr_local"):
        RouterHarness(config.params, config.x, config.y, ["routing"], router_class=renamed).rtlil()


def test_bad_option_is_one_line_and_status_2(capsys):
    from neuromesh.tools.formal.run import main
    with pytest.raises(SystemExit) as exit_info:
        main(["--property", "speed"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--property speed: unknown" in err


def test_list_names_every_job_and_the_expected_failures(capsys):
    from neuromesh.tools.formal.run import main
    assert main(["--list", "--config", "corner-d1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("corner-d1/cover")
    assert [line.split()[0] for line in lines if "expected to fail" in line] == \
        [f"corner-d1/{name}" for name in KNOWN_FAILURES]


# ---------------------------------------------------------------------------------------------
# With the solver.

def _run(tmp_path, config, prop, mutant=None):
    """The job `make formal` (or `--mutant`) would run: prove for the router, bmc for a mutant."""
    from neuromesh.tools.formal.jobs import plan
    from neuromesh.tools.formal.run import run_job
    job, = plan([config], [prop], covers=False, mutant=mutant)
    return run_job(job, tmp_path)


@needs_solver
def test_conservation_is_proved_by_induction(tmp_path):
    result = _run(tmp_path, "interior-d2", "conservation")
    assert result.outcome.status == "PASS", result.outcome.log[-2000:]
    assert result.outcome.basecase == "pass" and result.outcome.induction == "pass"
    assert result.as_expected


@needs_solver
def test_a_router_that_never_pops_is_caught(tmp_path):
    result = _run(tmp_path, "interior-d1", "conservation", mutant="dropped_pop")
    assert result.outcome.status == "FAIL"
    assert result.as_expected
    failed = {name for name, _src, _step, phase in result.base_failures}
    assert failed and all(name.startswith("conservation_") for name in failed)
    text = (tmp_path / "interior-d1/conservation-mutant-dropped_pop/job/engine_0/trace.txt").read_text()
    assert "sent" in text        # the counterexample shows a flit leaving (and leaving again)


@needs_solver
@pytest.mark.long
@pytest.mark.parametrize("mutant", list(MUTANTS))
def test_every_mutant_is_caught_by_its_property(tmp_path, mutant):
    prop = MUTANTS[mutant].caught_by
    config = "link" if MUTANTS[mutant].kind == "link" else "interior-d2"
    result = _run(tmp_path, config, prop, mutant=mutant)
    assert result.outcome.status == "FAIL" and result.base_failures, result.verdict
    # a check on the ports (a bounded job has no lemmas), not one of SyncFIFO's own asserts
    assert all(name.startswith(prop + "_") for name, *_ in result.base_failures)


@needs_solver
def test_payload_holds_while_an_output_waits_is_proved(tmp_path):
    """The router keeps an output's grant while valid and not ready (docs/formal.md, Findings 1):
    stream rule 2 proved by induction; the mutant that re-arbitrates is caught by it."""
    result = _run(tmp_path, "interior-d2", "stream_payload")
    assert result.outcome.status == "PASS", result.outcome.log[-2000:]
    assert result.outcome.induction == "pass" and result.as_expected
    result = _run(tmp_path / "mutant", "interior-d2", "stream_payload", mutant="grant_not_held")
    assert result.outcome.status == "FAIL" and result.as_expected
    assert {name for name, *_ in result.base_failures} <= {f"stream_payload_held_{p}" for p in spec.PORTS}


# ---------------------------------------------------------------------------------------------
# The asynchronous link over two clocks.

def test_link_properties_are_named_cells_in_the_rtlil():
    from neuromesh.tools.formal.link_harness import LinkHarness
    text = LinkHarness(["handshake", "latency"]).rtlil()
    for name in ["handshake_req_rises_while_ack_low", "handshake_data_stable_while_req", "latency_delivered",
                 "latency_sender_ready", "lemma_link_phase", "lemma_latency_phase_11"]:
        assert f"cell $check \\{name}\n" in text
    assert "cell $ff " in text and "cell \\$ff " not in text     # yosys's own global-clock flip-flop


def test_a_renamed_link_signal_stops_the_harness():
    from neuromesh.tools.formal.link_harness import LinkHarness
    from neuromesh.tools.formal.mutants import edited_module
    from neuromesh.tools.formal.probes import ProbeError
    renamed = edited_module("neuromesh.hw.async_link", "ack = Signal()", "ack = Signal(name='acknowledge')",
                            "renamed_ack").AsyncLink
    with pytest.raises(ProbeError, match="'ack'"):
        LinkHarness(["handshake"], link_class=renamed).rtlil()


def test_latency_bounds_by_hand():
    """Clock a rises at least every 2 steps, b every 5: the flit waits for 3 rises of b (two
    synchronizer stages, then the write), at most 15 steps; the sender then waits for 3 rises of
    a (ack seen, req low), 3 of b (req low seen, ack low) and 2 of a (ack low seen):
    15 + 6 + 15 + 4 = 40."""
    from neuromesh.tools.formal.link_properties import latency_bounds
    begin, cross, ready = latency_bounds(2, 5)
    assert (cross, ready) == (15, 40)
    assert begin[1:5] == [0, 5, 10, 15] and begin[7] == 21 and begin[10] == 36
    assert latency_bounds(4, 4)[1:] == (12, 44)


def test_list_marks_the_link_jobs_multiclock(capsys):
    from neuromesh.tools.formal.link_properties import LINK_PROPERTIES
    from neuromesh.tools.formal.run import main
    assert main(["--list", "--config", "link"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == [f"link/{p}" for p in LINK_PROPERTIES] + ["link/cover"]
    assert all(line.split()[1:2] in (["prove"], ["cover"]) and "multiclock" in line for line in lines)


def test_a_link_mutant_needs_a_link_configuration(capsys):
    from neuromesh.tools.formal.run import main
    with pytest.raises(SystemExit) as exit_info:
        main(["--mutant", "valid_ignores_ack", "--config", "interior-d1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a link configuration" in err


@needs_solver
def test_link_conservation_is_proved_over_two_clocks(tmp_path):
    result = _run(tmp_path, "link", "conservation")
    assert result.job.config.multiclock
    assert result.outcome.status == "PASS", result.outcome.log[-2000:]
    assert result.outcome.basecase == "pass" and result.outcome.induction == "pass"
    assert "multiclock on" in (tmp_path / "link/conservation/job.sby").read_text()
    assert result.as_expected


@needs_solver
def test_a_link_that_writes_a_flit_twice_is_caught(tmp_path):
    """o.valid without ~ack: the receiver writes the flit again in the cycle after it raised ack."""
    result = _run(tmp_path, "link", "conservation", mutant="valid_ignores_ack")
    assert result.outcome.status == "FAIL" and result.as_expected
    assert {name for name, *_ in result.base_failures} == {"conservation_balance"}
    text = (tmp_path / "link/conservation-mutant-valid_ignores_ack/job/engine_0/trace.txt").read_text()
    offered = [line.split(" [")[0] for line in text.splitlines() if line.startswith("    o: ")]
    # one flit offered on o in the cycle of its write and again after ack rose
    assert "ack=1*" in text and len(offered) >= 2 and len(set(offered)) == 1
    assert "failed: conservation_balance" in text


@needs_solver
def test_a_link_that_reloads_data_breaks_order(tmp_path):
    """No link mutant is meant for `order` (one flit in flight leaves no two to swap), so this
    shows it is not vacuous: a sender that reloads `data` while req is high hands the receiver a
    flit that was never the n-th taken."""
    result = _run(tmp_path, "link", "order", mutant="data_always_loaded")
    assert result.outcome.status == "FAIL"
    assert {name for name, *_ in result.base_failures} == {"order_nth_out_is_nth_in"}
