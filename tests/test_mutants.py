"""Mutation testing (tools/mutants, docs/mutants.md): the lists apply to the source as it is, a
child imports the mutated file and nothing else, verdicts come out right on tiny regressions
(killed, survived, killed by the time limit, a guard error), the report is written whole, bad
options get one line. `make test-long` runs the fixed sample of six mutants through the command."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuromesh.tools.mutants import catalogue, regression, report, runner, shadow
from neuromesh.tools.mutants.edit import EditError, apply_once, line_of

REPO = Path(__file__).resolve().parent.parent
UART_RX = "tests/test_uart.py::test_rx_back_to_back[4]"
UART_TX = "tests/test_uart.py::test_tx_waveform[4]"
# RTL files with no mutant, and why (docs/mutants.md): no logic, or no bench simulates them.
UNMUTATED_HW = {"__init__.py", "cfg_bus.py", "board_top.py", "board_clock.py"}
ISSUE_CATEGORIES = {"operator", "off_by_one", "inverted", "stuck_handshake", "pipeline", "rr_order",
                    "reset_value", "saturation"}


def _mutant(mid):
    return next(m for m in catalogue.load() if m.id == mid)


# ---- the lists ---------------------------------------------------------------------------------

def test_every_mutant_applies_exactly_once_to_the_current_source():
    apps = catalogue.applies(catalogue.load(), REPO)
    assert [a.problem for a in apps if not a.ok] == []
    hw = [a for a in apps if a.mutant.target == "hw"]
    assert len(hw) >= 60 and 15 <= len(apps) - len(hw) <= 30
    files = {p.name for p in (REPO / "hw").glob("*.py")} - UNMUTATED_HW
    assert {Path(a.mutant.file).name for a in hw} == files
    assert ISSUE_CATEGORIES <= {a.mutant.category for a in hw}
    for a in apps:   # the line is where the snippet is
        lines = (REPO / a.mutant.file).read_text().splitlines()
        assert a.mutant.old.strip().splitlines()[0].strip() in lines[a.line - 1], a.mutant.id


def test_explained_survivors_name_real_mutants():
    ids = {m.id for m in catalogue.load()}
    assert set(catalogue.explanations(ids)) <= ids


def test_an_edit_applies_once_or_says_why():
    src = "a = 1\nb = a + 1\nc = a + 1\n"
    assert apply_once(src, "b = a + 1", "b = a - 1", "x.py") == "a = 1\nb = a - 1\nc = a + 1\n"
    with pytest.raises(EditError, match="x.py: the snippet 'a \\+ 1' occurs 2 times, not once"):
        apply_once(src, "a + 1", "a - 1", "x.py")
    with pytest.raises(EditError, match="occurs 0 times"):
        apply_once(src, "d = 4", "d = 5", "x.py")
    assert line_of(src, "c = a") == 3 and line_of(src, "\nb =") == 2


@pytest.mark.parametrize("body,needle", [
    ("[[mutant]]\nid = 'a'\n", "fields must be"),
    ("[[mutant]]\nid='a'\nfile='hw/x.py'\ncategory='nope'\nwhat='w'\nold='o'\nnew='n'\n", "category 'nope' unknown"),
    ("[[mutant]]\nid='a'\nfile='sim/x.py'\ncategory='inverted'\nwhat='w'\nold='o'\nnew='n'\n", "under hw/"),
    ("[[mutant]]\nid='a'\nfile='hw/x.py'\ncategory='inverted'\nwhat='w'\nold='o'\nnew='o'\n", "no mutation"),
    ("[[mutant]]\nid='a'\nfile='hw/x.py'\ncategory='inverted'\nwhat='w'\nold='o'\nnew='n'\n" * 2, "used twice"),
    ("[[mutant]\n", "not valid TOML"),
])
def test_a_bad_list_entry_is_one_line(body, needle):
    with pytest.raises(catalogue.CatalogueError, match=needle) as e:
        catalogue.parse(body, "hw", "hw.toml")
    assert "\n" not in str(e.value) and str(e.value).startswith("hw.toml:")


# ---- the child imports the mutated file ---------------------------------------------------------

def _child(site, code, safe_path=True, **env):
    flags = ["-P"] if safe_path else []
    return subprocess.run([sys.executable, *flags, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(site), **env), timeout=120)


def test_the_child_imports_the_mutated_file_and_the_guard_proves_it():
    mu = _mutant("router.rr_reversed")
    site, target = shadow.make(REPO, mu)
    try:
        assert target == site / "neuromesh" / "hw" / "router.py"
        assert mu.new in target.read_text() and mu.new not in (REPO / mu.file).read_text()
        env = {"NEUROMESH_MUTANT_ROOT": str(site), "NEUROMESH_MUTANT_MODULE": mu.module,
               "NEUROMESH_MUTANT_FILE": str(target), "NEUROMESH_MUTANT_SHA256": shadow.digest(target.read_text())}
        code = "from neuromesh.tools.mutants.guard import check; print(check())"
        ok = _child(site, code, **env)
        assert ok.returncode == 0 and ok.stdout.strip() == f"mutant guard: neuromesh.hw.router from {target} (mutated)"
        # Without -P the checkout (the current folder) comes first: the guard must refuse it.
        unsafe = _child(site, code, safe_path=False, **env)
        assert unsafe.returncode != 0 and "not from the copy" in unsafe.stderr
        wrong = _child(site, code, **dict(env, NEUROMESH_MUTANT_SHA256="0" * 64))
        assert wrong.returncode != 0 and "is not the mutated text" in wrong.stderr
    finally:
        shadow.remove(site)
    assert not site.parent.exists()
    assert mu.new not in (REPO / mu.file).read_text()   # the checkout was never touched


# ---- verdicts on tiny regressions (a child pytest each, a few seconds) ---------------------------

def test_a_mutant_is_killed_by_the_test_that_sees_it(tmp_path):
    out = runner.run(REPO, [UART_TX, UART_RX], mutant=_mutant("uart.rx_msb_first"), cache=tmp_path / "cache",
                     timeout_s=300, temp_parent=tmp_path)
    assert (out.status, out.killer, out.tests_run) == ("killed", UART_RX, 2)
    assert any("mutant guard: neuromesh.hw.uart from" in line for line in out.log_tail)


def test_a_mutant_no_test_sees_survives(tmp_path):
    out = runner.run(REPO, [UART_TX], mutant=_mutant("uart.rx_msb_first"), cache=tmp_path / "cache",
                     timeout_s=300, temp_parent=tmp_path)
    assert (out.status, out.killer, out.tests_run) == ("survived", None, 1)


def test_a_hung_run_is_stopped_and_counts_as_killed_by_the_timeout(tmp_path):
    slow = tmp_path / "test_slow.py"
    slow.write_text("import time\n\ndef test_sleeps():\n    time.sleep(120)\n")
    out = runner.run(REPO, [str(slow)], mutant=_mutant("uart.rx_msb_first"), cache=tmp_path / "cache",
                     timeout_s=6, temp_parent=tmp_path)
    assert out.status == "timeout" and "6 s of wall time" in out.detail
    assert out.seconds < 60        # TERM reached the child's group (not a 120 s sleep)
    assert not list(tmp_path.glob("neuromesh-mutant-*"))   # its copy was removed


def test_a_copy_that_is_not_the_mutant_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(shadow, "digest", lambda text: "0" * 64)
    out = runner.run(REPO, [UART_TX], mutant=_mutant("uart.rx_msb_first"), cache=tmp_path / "cache",
                     timeout_s=300, temp_parent=tmp_path)
    assert out.status == "error" and "is not the mutated text" in out.detail


def test_a_mutant_that_does_not_elaborate_is_an_error_not_a_kill(tmp_path):
    broken = catalogue.Mutant(id="uart.broken", file="hw/uart.py", category="wiring", what="a name that does not exist",
                              old="shreg.eq(Cat(shreg[1:], pin))", new="shreg.eq(Cat(shreg[1:], no_such_pin))",
                              target="hw")
    out = runner.run(REPO, [UART_RX], mutant=broken, cache=tmp_path / "cache", timeout_s=300, temp_parent=tmp_path)
    assert (out.status, out.tests_run) == ("error", 0)
    assert "does not elaborate" in out.detail and "no_such_pin" in out.detail


def test_junit_verdicts(tmp_path):
    xml = tmp_path / "j.xml"
    xml.write_text('<testsuites><testsuite>'
                   '<testcase classname="tests.test_a" name="test_ok"/>'
                   '<testcase classname="tests.test_a" name="test_p[1-2]"><failure message="assert 3 == 4">x</failure></testcase>'
                   '<testcase classname="" name="tests.test_b"><error message="collection failure"/></testcase>'
                   '</testsuite></testsuites>')
    assert runner.read_junit(xml) == (3, "tests/test_a.py::test_p[1-2]", "assert 3 == 4")
    xml.write_text('<testsuites><testsuite><testcase classname="" name="tests.test_b">'
                   '<error message="collection failure"/></testcase></testsuite></testsuites>')
    assert runner.read_junit(xml) == (1, "collection of tests/test_b.py", "collection failure")
    assert runner.read_junit(tmp_path / "missing.xml") == (0, None, "")


# ---- order of the regression -------------------------------------------------------------------

NODES = ["tests/test_hw_router.py::test_router[a]", "tests/test_regression.py::test_random[1x1-seed0-ready]",
         "tests/test_regression.py::test_random[2x2-split-seed0-ready-1to4]", "tests/test_uart.py::test_rx_x[4]",
         "tests/test_async_link.py::test_rtl_link_equals_the_model", "tests/test_hw_core.py::test_timing[small]",
         "tests/test_lif_differential.py::test_rtl_datapath_equals_the_reference_on_10k_vectors",
         "tests/test_board.py::test_bridge_frames", "tests/test_hw_mesh.py::test_mesh[1-1-1]"]


@pytest.mark.parametrize("mid,first", [
    ("router.rr_reversed", "tests/test_hw_router.py::test_router[a]"),
    ("fifo.ready_one_early", "tests/test_hw_router.py::test_router[a]"),
    ("core.acc_not_cleared", "tests/test_hw_core.py::test_timing[small]"),
    ("lif.threshold_ge", "tests/test_lif_differential.py::test_rtl_datapath_equals_the_reference_on_10k_vectors"),
    ("link.valid_ignores_ack", "tests/test_async_link.py::test_rtl_link_equals_the_model"),
    ("bridge.flip_is_level", "tests/test_regression.py::test_random[2x2-split-seed0-ready-1to4]"),
    ("mesh.tick_while_busy", "tests/test_hw_mesh.py::test_mesh[1-1-1]"),
    ("bridge_host.crc_check_inverted", "tests/test_board.py::test_bridge_frames"),
    ("sim.lif.threshold_ge", "tests/test_regression.py::test_random[1x1-seed0-ready]"),
])
def test_the_mutated_components_tests_come_first(mid, first):
    plan = regression.plan(_mutant(mid), NODES)
    assert plan[0] == first and sorted(plan) == sorted(NODES)


def test_the_rest_runs_cheapest_first():
    plan = regression.order(NODES, ())
    assert plan[0].startswith("tests/test_lif_differential.py") and plan[1].startswith("tests/test_uart.py")
    assert plan.index("tests/test_hw_router.py::test_router[a]") < plan.index("tests/test_hw_mesh.py::test_mesh[1-1-1]")
    assert plan[-2:] == NODES[1:3]


# ---- report and options ------------------------------------------------------------------------

def _rec(mid, status, killer=None, explanation=None):
    mu = _mutant(mid)
    return {"id": mid, "target": mu.target, "component": mu.component, "file": mu.file, "line": 7,
            "category": mu.category, "what": mu.what, "old": mu.old, "new": mu.new, "status": status,
            "killer": killer, "detail": "", "seconds": 3.0, "tests_run": 1, "explanation": explanation}


def test_the_report_counts_by_hand_and_is_written_whole(tmp_path, monkeypatch):
    recs = [_rec("router.rr_reversed", "killed", "tests/test_hw_router.py::test_router[a]"),
            _rec("fifo.never_pops", "timeout", "wall-clock limit"),
            _rec("router.rr_frozen", "survived", explanation="never, in no bench"),
            _rec("router.rr_reset", "survived"), _rec("uart.rx_msb_first", "no-longer-applies")]
    rep = {"command": "c", "source": "s", "started": "t", "wall_s": 60.0, "baseline": None, "mutants": recs}
    report.write(tmp_path, rep)
    data = json.loads((tmp_path / "report.json").read_text())
    hw = data["summary"]["hw"]["all"]
    # 2 of the 4 judged killed (one by the time limit); without the one explained: 2 of 3
    assert (hw["killed"], hw["timeout"], hw["survived"], hw["judged"], hw["score_pct"]) == (1, 1, 2, 4, 50.0)
    assert hw["score_without_equivalents_pct"] == 66.7 and hw["no-longer-applies"] == 1
    md = (tmp_path / "report.md").read_text()
    assert "**2 of 4 killed (50.0%)**" in md and "never, in no bench" in md
    assert "`router.rr_reset` (hw/router.py:7, reset_value)" in md and "**NOT EXPLAINED**" in md
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    real = report.Outputs.write_text

    def fail_md(self, target, text):
        if Path(target).name == "report.md":
            raise OSError("disk full")
        return real(self, target, text)
    monkeypatch.setattr(report.Outputs, "write_text", fail_md)
    with pytest.raises(OSError):
        report.write(tmp_path, dict(rep, mutants=recs[:1]))
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("argv,needle", [
    (["--only", "nope.*"], "--only nope.*: no such mutant"),
    (["--timeout", "-1"], "--timeout must be a positive number"),
    (["--sample", "--only", "router.*"], "--sample and --only"),
    (["--target", "rtl"], "invalid choice: 'rtl'"),
    (["-j", "0"], "-j/--jobs must be at least 1"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_options_are_one_line(argv, needle, capsys):
    from neuromesh.tools.mutants.run import main
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err
    assert rc == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_list_says_where_each_mutant_applies(capsys):
    from neuromesh.tools.mutants.run import main
    assert main(["--list", "--only", "link.*"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "6 mutants, 6 apply" and out[0].split()[-1].startswith("hw/async_link.py:")


# ---- resuming and running side by side (the children faked: verdicts by hand) -----------------

UART = ["uart.rx_msb_first", "uart.rx_seven_bits", "uart.rx_framing_inverted", "uart.tx_line_low_at_reset"]


def _fake_runs(monkeypatch, verdicts, interrupt_at=None, pause=0.0):
    """runner.run replaced: the verdict of `verdicts[id]`; a model of the mutant's own built in
    the cache it was given (as a Verilator build would); Ctrl-C on `interrupt_at`."""
    import threading
    import time
    from neuromesh.tools.mutants import run as run_mod
    calls, lock, live = [], threading.Lock(), [0, 0]

    def fake(root, nodes, *, mutant=None, cache, timeout_s, temp_parent=None, on_start=None):
        if mutant.id == interrupt_at:
            raise KeyboardInterrupt
        with lock:
            calls.append((mutant.id, Path(cache), timeout_s))
            live[0] += 1
            live[1] = max(live[1], live[0])
        assert (Path(cache) / "verilator" / "shared-model" / "model.so").read_text() == "unmutated"
        (Path(cache) / "verilator" / f"own-{mutant.id}").mkdir(parents=True)
        time.sleep(pause)
        with lock:
            live[0] -= 1
        status, killer = verdicts[mutant.id]
        return runner.Outcome(status, killer, "", 1.0, 1)
    monkeypatch.setattr(run_mod.regression, "collect", lambda root: [UART_TX, UART_RX])
    monkeypatch.setattr(run_mod.runner, "run", fake)
    return calls, live


def _main(tmp_path, *argv, baseline=False):
    from neuromesh.tools.mutants.run import main
    cache = tmp_path / "cache"
    (cache / "verilator" / "shared-model").mkdir(parents=True, exist_ok=True)
    (cache / "verilator" / "shared-model" / "model.so").write_text("unmutated")
    return main([*([] if baseline else ["--no-baseline"]), "--out", str(tmp_path / "out"), "--cache", str(cache), *argv])


def test_the_time_limit_is_three_baselines_and_at_least_45_minutes(tmp_path, monkeypatch):
    from neuromesh.tools.mutants import run as run_mod
    verdicts = {UART[0]: ("killed", UART_RX)}
    calls, _ = _fake_runs(monkeypatch, verdicts)
    assert _main(tmp_path, "--only", UART[0]) == 0 and calls[0][2] == 2700     # no baseline
    out = tmp_path / "out"
    key = "baseline\0" + run_mod.base_digest(REPO)      # a passing baseline of 1,200 s, resumed
    (out / "progress.jsonl").write_text(json.dumps({"status": "survived", "killer": None, "detail": "all passed",
                                                    "seconds": 1200.0, "tests_run": 2, "key": key}) + "\n")
    calls, _ = _fake_runs(monkeypatch, verdicts)
    assert _main(tmp_path, "--only", UART[0], "--resume", baseline=True) == 0 and calls[0][2] == 3600
    assert "bounded by 3600 s of wall time" in (out / "report.md").read_text()
    calls, _ = _fake_runs(monkeypatch, verdicts)
    assert _main(tmp_path, "--only", UART[0], "--timeout", "60") == 0 and calls[0][2] == 60


def test_an_interrupted_run_reports_what_ran_and_resume_runs_only_the_rest(tmp_path, monkeypatch):
    verdicts = {UART[0]: ("killed", UART_RX), UART[1]: ("survived", None), UART[2]: ("killed", UART_RX),
                UART[3]: ("killed", UART_TX)}
    only = [a for i in UART for a in ("--only", i)]
    calls, _ = _fake_runs(monkeypatch, verdicts, interrupt_at=UART[2])
    assert _main(tmp_path, *only) == 130
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [r["id"] for r in data["mutants"]] == UART[:2] and data["not_run"] == UART[2:]
    assert data["summary"]["hw"]["all"]["judged"] == 2 and data["summary"]["hw"]["all"]["score_pct"] == 50.0
    assert "**2 of 4 selected mutants did not run**" in (tmp_path / "out" / "report.md").read_text()

    calls, _ = _fake_runs(monkeypatch, verdicts)
    assert _main(tmp_path, *only, "--resume") == 1          # one survivor, not explained
    assert [c[0] for c in calls] == UART[2:]                 # the first two came from progress.jsonl
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [(r["id"], r["status"]) for r in data["mutants"]] == [(i, verdicts[i][0]) for i in UART]
    assert data["not_run"] == [] and data["summary"]["hw"]["all"]["score_pct"] == 75.0

    calls, _ = _fake_runs(monkeypatch, verdicts)
    assert _main(tmp_path, *only) == 1 and len(calls) == 4   # without --resume: all again


def test_two_at_a_time_each_in_its_own_slot_cache(tmp_path, monkeypatch):
    verdicts = {i: ("killed", UART_RX) for i in UART}
    only = [a for i in UART for a in ("--only", i)]
    calls, live = _fake_runs(monkeypatch, verdicts, pause=0.5)
    assert _main(tmp_path, *only, "-j", "2") == 0
    assert live[1] == 2                                       # two ran at once
    assert sorted(c[0] for c in calls) == sorted(UART)        # each once
    assert {c[1].name for c in calls} == {"0", "1"}           # in two slot caches
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [r["id"] for r in data["mutants"]] == UART         # the report in list order
    cache = tmp_path / "cache"
    # the mutants' own models went with their slots; the shared one is untouched
    assert [p.name for p in (cache / "verilator").iterdir()] == ["shared-model"]
    assert not (cache / "slots").exists()


# ---- make test-long: the sample through the command -------------------------------------------

@pytest.mark.long
@pytest.mark.rtl
def test_the_sample_is_killed(tmp_path):
    """The six sample mutants through `python -m neuromesh.tools.mutants --sample`: each killed
    by a failing test of its own component; the depth-1 FIFO whose ready never rises ends at the
    router bench's cycle bound, not at the wall-clock limit."""
    out = tmp_path / "mutants"
    done = subprocess.run([sys.executable, "-m", "neuromesh.tools.mutants", "--sample", "--no-baseline",
                           "--out", str(out), "--timeout", "1800"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    recs = {r["id"]: r for r in json.loads((out / "report.json").read_text())["mutants"]}
    assert set(recs) == {"fifo.ready_one_early", "router.rr_reversed", "lif.no_input_saturation",
                         "core.acc_forward_dropped", "link.valid_ignores_ack", "sim.fabric.grant_not_held"}
    assert {r["status"] for r in recs.values()} == {"killed"}
    assert recs["fifo.ready_one_early"]["killer"].startswith("tests/test_hw_router.py::")
    assert recs["link.valid_ignores_ack"]["killer"].startswith("tests/test_async_link.py::")
    shared = out / "cache" / "verilator"          # no baseline: nothing shared was built
    assert not shared.exists() or not list(shared.iterdir())
    assert not (out / "cache" / "slots").exists()  # the mutants' own models were removed


def test_mutants_that_finish_with_an_interrupt_are_kept_whatever_order_the_wait_gives(tmp_path, monkeypatch):
    # On a loaded machine one wait can return finished mutants together with the one that was
    # interrupted, in any order; those that finished are recorded, and only the rest is not run.
    import concurrent.futures as cf
    from neuromesh.tools.mutants import run as run_mod
    real_wait, first = cf.wait, [True]

    def late_wait(fs, timeout=None, return_when=None):
        if not first[0]:
            return real_wait(fs, timeout=timeout, return_when=return_when)
        first[0] = False
        three = list(fs)[:3]                    # UART[0..2] in selection order, the third interrupted
        real_wait(three, timeout=30)
        return list(reversed(three)), set()     # the interrupt first
    monkeypatch.setattr(run_mod.concurrent.futures, "wait", late_wait)
    verdicts = {i: ("killed", UART_RX) for i in UART}
    _fake_runs(monkeypatch, verdicts, interrupt_at=UART[2])
    assert _main(tmp_path, *[a for i in UART for a in ("--only", i)]) == 130
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [r["id"] for r in data["mutants"]] == UART[:2] and data["not_run"] == UART[2:]
