"""The `neuromesh` command's contract for bad input: one line naming the file or option, the
field and the reason; exit status 2; no traceback."""
import json
from pathlib import Path

import pytest

from neuromesh.tools.cli import main

TINY = str(Path(__file__).resolve().parent.parent / "examples" / "tiny")


def _one_line_error(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize("flag,value,needle", [
    ("--out-ready", "1.5", "--out-ready: must be a probability"),
    ("--out-ready", "0", "--out-ready"),
    ("--max-gap", "-1", "--max-gap"),
    ("--energy", "nope", "nope: no such energy profile"),
])
def test_bad_run_options(capsys, tmp_path, flag, value, needle):
    _one_line_error(capsys, ["run", f"{TINY}/network.json", "--stimulus", f"{TINY}/stimulus.json",
                             "-o", str(tmp_path / "r.json"), flag, value], needle)
    assert not (tmp_path / "r.json").exists()


def test_missing_network_file(capsys, tmp_path):
    _one_line_error(capsys, ["run", str(tmp_path / "nope.json"), "--stimulus", f"{TINY}/stimulus.json",
                             "-o", str(tmp_path / "r.json")], "nope.json", "no such file")


def test_verilog_refuses_impossible_hardware(capsys, tmp_path):
    _one_line_error(capsys, ["verilog", "-o", str(tmp_path / "v.v"), "--width", "65"], "--width", "65")
    assert not (tmp_path / "v.v").exists()
    # Legal for the golden engine, beyond what Verilog generation takes (spec.RTL_MAX_TILES).
    _one_line_error(capsys, ["verilog", "-o", str(tmp_path / "v.v"), "--width", "17", "--height", "16"],
                    "17x16", "stops at 256 tiles", "64 x 64")
    assert not (tmp_path / "v.v").exists()


def test_run_golden_writes_the_spec_result_fields(capsys, tmp_path):
    out = tmp_path / "r.json"
    assert main(["run", f"{TINY}/network.json", "--stimulus", f"{TINY}/stimulus.json", "-o", str(out), "-q"]) == 0
    r = json.loads(out.read_text())
    stats = r["stats"]
    for key in ("cycles", "tick_cycles", "sops", "flits", "hops", "energy_pj"):
        assert key in stats, key
    assert len(stats["tick_cycles"]) == 10 and stats["cycles"] == r["completions"][-1]
    assert stats["energy_pj"]["total"] == pytest.approx(
        sum(v for k, v in stats["energy_pj"].items() if k != "total"))
    for pop, events in r["spikes"].items():
        assert events == sorted(events)


@pytest.mark.parametrize("domains,needle", [
    ({"domains": [{"tiles": [0, 0, 1, 0], "period_ps": 7000}]}, "domains[0].tiles: holds tile (0, 0)"),
    ({"domains": [{"tiles": [1, 0, 2, 0], "period_ps": 7000}]}, "domains[0].tiles: lies outside the 2x2 mesh"),
    ({"domains": [{"tiles": [1, 0, 1, 1], "period_ps": 7000}, {"tiles": [1, 1, 1, 1], "period_ps": 5}]},
     "domains[1].tiles: overlaps domains[0]"),
    ({"domains": [{"tiles": [1, 0, 1, 1], "period_ps": 0}]}, "domains[0].period_ps: must be at least 1"),
    ({"domains": [{"tiles": [1, 0, 1, 1], "period_ps": 70, "phase_ps": 70}]}, "domains[0].phase_ps: must be below"),
    ({"period_ps": -1}, "period_ps: must be at least 1"),
    ({"clocks": []}, "clocks: unknown key"),
])
def test_domains_file_refusals(capsys, tmp_path, domains, needle):
    """SPEC 7's refusals for --domains FILE.json: one line naming the file and the field, exit 2,
    nothing written."""
    f = tmp_path / "domains.json"
    f.write_text(json.dumps(domains))
    _one_line_error(capsys, ["run", f"{TINY}/network.json", "--stimulus", f"{TINY}/stimulus.json",
                             "-o", str(tmp_path / "r.json"), "--domains", str(f)], str(f), needle)
    assert not (tmp_path / "r.json").exists()


def test_clock_per_tile_refusals_and_use(capsys, tmp_path):
    _one_line_error(capsys, ["run", f"{TINY}/network.json", "--stimulus", f"{TINY}/stimulus.json",
                             "-o", str(tmp_path / "r.json"), "--clock-per-tile", "0"], "--clock-per-tile", "at least 1")
    with pytest.raises(SystemExit) as e:     # argparse's refusal: one line, exit 2
        main(["run", f"{TINY}/network.json", "--stimulus", f"{TINY}/stimulus.json", "-o", str(tmp_path / "r.json"),
              "--clock-per-tile", "7000", "--domains", "x.json"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not allowed with argument" in err
    out = tmp_path / "gals.json"
    assert main(["run", f"{TINY}/network.json", "--stimulus", f"{TINY}/stimulus.json", "-o", str(out),
                 "--clock-per-tile", "7000", "-q"]) == 0
    r = json.loads(out.read_text())
    # 2x2: four domains, tile (0, 0) in domain 0, phases spread over the 7 ns period
    assert r["clocks"]["partition"] == [0, 1, 2, 3] and r["stats"]["domains"] == 4
    assert [d["phase_ps"] for d in r["clocks"]["domains"]] == [1750, 3500, 5250]
    one = tmp_path / "one.json"
    assert main(["run", f"{TINY}/network.json", "--stimulus", f"{TINY}/stimulus.json", "-o", str(one), "-q"]) == 0
    assert r["spikes"] == json.loads(one.read_text())["spikes"]       # SPEC 2: clocks never change spikes
    assert r["stats"]["async_crossings"] > 0
