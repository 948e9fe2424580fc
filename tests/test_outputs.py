"""Outputs written whole or not at all (neuromesh/outputs.py; SPEC section 7): a command's outputs
that belong together (image and map; result and plots) are all replaced or all left as they were,
whatever fails and wherever it fails: a bad target, a full disk in the middle of a write (here
`RLIMIT_FSIZE`, the limit `ulimit -f` sets, in a child process), a target named twice."""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from neuromesh.outputs import OutputError, Outputs
from neuromesh.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny"
NET, STIM = str(TINY / "network.json"), str(TINY / "stimulus.json")
OLD = {"old": "contents"}


def snapshot(folder: Path) -> dict:
    """Every file under `folder` (temporary files included) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def old_files(folder: Path, *names) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(OLD))
    return snapshot(folder)


def one_line(err: str, *needles):
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


def test_map_equal_to_output_is_refused(capsys, tmp_path):
    before = old_files(tmp_path / "out", "image.hex")
    for map_arg in ("image.hex", "../out/image.hex"):
        status = main(["compile", NET, "-o", str(tmp_path / "out" / "image.hex"),
                       "--map", str(tmp_path / "out" / map_arg)])
        assert status == 2
        one_line(capsys.readouterr().err, "image.hex: named twice as an output of one command")
        assert snapshot(tmp_path / "out") == before


def test_outputs_set_refuses_a_target_named_twice(tmp_path):
    with pytest.raises(OutputError, match="named twice"):
        with Outputs() as out:
            out.write_text(tmp_path / "a.txt", "first")
            out.write_text(tmp_path / "sub" / ".." / "a.txt", "second")
    assert list(tmp_path.iterdir()) == []  # nothing left, not even the folder `sub` it made


def test_failed_map_write_leaves_old_image_and_map(capsys, tmp_path):
    """The map's folder is a file: the command refuses it (before compiling), and an Outputs set
    whose image is already staged when the map fails rolls the image back."""
    out = tmp_path / "out"
    before = old_files(out, "image.hex", "image.hex.map.json", "blocker")
    status = main(["compile", NET, "-o", str(out / "image.hex"), "--map", str(out / "blocker" / "m.json")])
    assert status == 2
    one_line(capsys.readouterr().err, "blocker is a file, not a folder")
    assert snapshot(out) == before

    with pytest.raises(OutputError, match="blocker is a file"):
        with Outputs() as o:
            o.write_text(out / "image.hex", "new image")           # staged beside its target
            assert len(list(out.glob(".image.hex.*.part"))) == 1
            o.write_text(out / "blocker" / "m.json", "new map")
    assert snapshot(out) == before                                # temporary image removed too


def test_new_outputs_replace_old_ones_together(tmp_path):
    out = tmp_path / "out"
    old_files(out, "image.hex", "image.hex.map.json")
    assert main(["compile", NET, "-o", str(out / "image.hex")]) == 0
    assert (out / "image.hex").read_text().startswith("# neuromesh-image/1")
    assert json.loads((out / "image.hex.map.json").read_text())["inputs"]
    assert sorted(p.name for p in out.iterdir()) == ["image.hex", "image.hex.map.json"]   # no .part left
    mode = (out / "image.hex").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask    # as open() would make it, not mkstemp's 0600


def _limited(fsize):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return apply


def _cli_with_file_limit(fsize, *argv):
    return subprocess.run([sys.executable, "-m", "neuromesh.tools.cli", *map(str, argv)], capture_output=True,
                          text=True, preexec_fn=_limited(fsize), timeout=300)


def test_a_write_that_fails_midway_leaves_the_old_result_whole(tmp_path):
    """`ulimit -f`: the result (7 kB for the tiny example) stops at 4 kB: EFBIG in mid-write."""
    before = old_files(tmp_path, "r.json")
    r = _cli_with_file_limit(4096, "run", NET, "--stimulus", STIM, "-o", tmp_path / "r.json", "-q")
    assert r.returncode == 2
    one_line(r.stderr, "r.json: cannot write: File too large")
    assert snapshot(tmp_path) == before
    # without the limit the same command writes it (so the limit, not the command, failed it)
    r = _cli_with_file_limit(resource.RLIM_INFINITY, "run", NET, "--stimulus", STIM, "-o", tmp_path / "r.json", "-q")
    assert r.returncode == 0 and json.loads((tmp_path / "r.json").read_text())["stats"]["ticks"] == 10


def test_a_plot_that_fails_midway_leaves_result_and_plots_as_they_were(tmp_path):
    """Result (21 kB) staged whole, then a PNG over 30 kB (energy.png, 43 kB) hits a 30 kB
    limit: neither the result nor the plot folder changes."""
    before = old_files(tmp_path, "r.json", "plots/raster.png", "plots/mine.txt")
    r = _cli_with_file_limit(30 * 1024, "run", NET, "--stimulus", STIM, "-o", tmp_path / "r.json",
                             "--plot", tmp_path / "plots", "-q")
    assert r.returncode == 2
    one_line(r.stderr, "plots: cannot write the plots: File too large")
    assert snapshot(tmp_path) == before


def test_plot_on_a_plain_file_fails_before_the_run(capsys, tmp_path, monkeypatch):
    import neuromesh.tools.cli.run as run_mod

    def must_not_run(*a, **k):
        raise AssertionError("the run started before the outputs were checked")
    monkeypatch.setattr(run_mod, "run_network", must_not_run)
    before = old_files(tmp_path, "r.json", "plots")
    status = main(["run", NET, "--stimulus", STIM, "-o", str(tmp_path / "r.json"), "--plot", str(tmp_path / "plots")])
    assert status == 2
    one_line(capsys.readouterr().err, "plots: exists and is not a folder")
    assert snapshot(tmp_path) == before
    status = main(["run", NET, "--stimulus", STIM, "-o", str(tmp_path), "-q"])
    assert status == 2
    one_line(capsys.readouterr().err, "is a directory, not a file to write")


def test_waves_only_with_the_rtl_engine(capsys, tmp_path):
    status = main(["run", NET, "--stimulus", STIM, "-o", str(tmp_path / "r.json"), "--waves", str(tmp_path / "w.fst")])
    assert status == 2
    one_line(capsys.readouterr().err, "--waves: only the rtl engine writes a trace (--engine golden)")
    assert list(tmp_path.iterdir()) == []
