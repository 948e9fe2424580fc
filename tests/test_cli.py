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
