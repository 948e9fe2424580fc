"""Bad input as a new user makes it (issue 15, SPEC section 7's last sentence), one test per
class, through the `neuromesh` command: one line on stderr naming the file, the field and the
reason, exit status 2, no traceback, nothing written. docs/robustness.md lists the classes."""
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from neuromesh.tools.cli import MAX_CYCLES_PER_TICK, main

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny"
NET, STIM = TINY / "network.json", TINY / "stimulus.json"


def refused(capsys, argv, *needles, status=2):
    """`main(argv)` ends with `status` and exactly one stderr line holding every needle."""
    capsys.readouterr()
    try:
        got = main([str(a) for a in argv])
    except SystemExit as e:   # argparse's own exit
        got = e.code
    err = capsys.readouterr().err
    assert got == status, err
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, repr(err)
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def cli(*argv, **kw):
    """The installed command in a child process (real stdout/stderr encodings, real exit)."""
    return subprocess.run([sys.executable, "-m", "neuromesh.tools.cli", *map(str, argv)],
                          capture_output=True, text=True, errors="strict", **kw)


def tiny_net():
    return json.loads(NET.read_text())


def write(path, obj):
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def image_of(tmp_path):
    out = tmp_path / "good.hex"
    assert main(["compile", str(NET), "-o", str(out)]) == 0
    return out


# -- deep nesting, huge integers, special files -------------------------------------------------

def test_deeply_nested_json_in_network_stimulus_and_image_header(capsys, tmp_path):
    deep = "[" * 1000 + "]" * 1000
    net = write(tmp_path / "net.json", '{"format": "neuromesh-network/2", "populations": ' + deep + "}")
    refused(capsys, ["compile", net, "-o", tmp_path / "i.hex"], f"{net}: nested deeper than 32 levels")
    stim = write(tmp_path / "stim.json", '{"ticks": 2, "spikes": {"in": ' + deep + "}}")
    refused(capsys, ["run", NET, "--stimulus", stim, "-o", tmp_path / "r.json"], f"{stim}: nested deeper")
    lines = image_of(tmp_path).read_text().splitlines()
    lines[1] = "# hardware: " + deep
    img = write(tmp_path / "deep.hex", "\n".join(lines) + "\n")
    refused(capsys, ["verilog", "-o", tmp_path / "v.v", "--image", img],
            f"{img}: line 2: hardware header: nested deeper")
    assert not list(tmp_path.glob("[irv].*"))


def test_huge_integers_in_network_and_image_trailer(capsys, tmp_path):
    net = tiny_net()
    net["populations"][1]["vth"] = int("1" + "0" * 399)
    path = write(tmp_path / "net.json", json.dumps(net))
    refused(capsys, ["compile", path, "-o", tmp_path / "i.hex"], f"{path}: ", "integer of 400 digits")
    text = image_of(tmp_path).read_text()
    body, _trailer = text.rstrip("\n").rsplit("\n", 1)
    img = write(tmp_path / "long.hex", body + "\n# end: " + "9" * 5000 + " writes\n")
    refused(capsys, ["verilog", "-o", tmp_path / "v.v", "--image", img], "trailer count of 5000 digits")


def test_dev_zero_and_a_fifo_as_inputs(capsys, tmp_path):
    refused(capsys, ["compile", "/dev/zero", "-o", tmp_path / "i.hex"],
            "/dev/zero: is a device, not a regular file (a network must be a file)")
    refused(capsys, ["run", NET, "--stimulus", "/dev/zero", "-o", tmp_path / "r.json"],
            "/dev/zero: is a device", "a stimulus must be a file")
    refused(capsys, ["verilog", "-o", tmp_path / "v.v", "--image", "/dev/zero"], "/dev/zero: is a device")
    fifo = tmp_path / "net.fifo"
    os.mkfifo(fifo)
    refused(capsys, ["compile", fifo, "-o", tmp_path / "i.hex"], "is a FIFO")   # and does not block


# -- names that would break a line or a stream --------------------------------------------------

def _surrogate_case(tmp_path, name):
    net = tiny_net()
    net["populations"][0]["name"] = name
    net["populations"][0]["record"] = True
    for pr in net["projections"]:
        pr["pre"] = name if pr["pre"] == "in" else pr["pre"]
    stim = json.loads(STIM.read_text())
    stim["spikes"] = {name: stim["spikes"]["in"]}
    return write(tmp_path / "net.json", net), write(tmp_path / "stim.json", stim)


@pytest.mark.parametrize("name,shown", [("in\ud800", "in\\ud800"), ("a\nb\x1b[31m$x^{$", "a\\nb\\x1b[31m$x^{$")])
def test_population_names_print_escaped(tmp_path, name, shown):
    """A lone surrogate cannot be encoded on any UTF-8 stream, a newline splits the summary,
    an escape sequence drives the terminal, and `$...$` is mathtext to matplotlib."""
    net, stim = _surrogate_case(tmp_path, name)
    r = cli("run", net, "--stimulus", stim, "-o", tmp_path / "r.json", "--plot", tmp_path / "plots")
    assert r.returncode == 0, r.stderr
    assert f"({shown}: 8, exc: 11, out: 9)" in r.stdout     # examples/README.md: 8 input spikes
    assert "\x1b" not in r.stdout
    assert json.loads((tmp_path / "r.json").read_text())["spikes"][name] == sorted(json.loads(STIM.read_text())["spikes"]["in"])
    assert {p.name for p in (tmp_path / "plots").iterdir()} == {"raster.png", "links.png", "energy.png", "ticks.png",
                                                               "latency.png", "energy_map.png", "energy_ticks.png"}
    # the same name in an error message: one escaped line
    bad = json.loads(stim.read_text())
    bad["spikes"][name].append([1, 7])
    write(stim, bad)
    r = cli("run", net, "--stimulus", stim, "-o", tmp_path / "r2.json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"spikes.{shown}[8][1]: must be in 0..1 (got 7)" in r.stderr


@pytest.mark.parametrize("kind", ["missing", "malformed", "output folder is a file"])
def test_newline_in_a_file_name_keeps_the_message_one_line(capsys, tmp_path, kind):
    odd = tmp_path / "two\nlines"
    shown = str(odd).replace("\n", "\\n")
    if kind == "missing":
        refused(capsys, ["compile", f"{odd}.json", "-o", tmp_path / "i.hex"], f"{shown}.json: no such file")
    elif kind == "malformed":
        write(Path(f"{odd}.json"), "{")
        refused(capsys, ["compile", f"{odd}.json", "-o", tmp_path / "i.hex"], f"{shown}.json: line 1: malformed")
    else:
        odd.write_text("a file, not a folder")
        refused(capsys, ["compile", NET, "-o", odd / "i.hex"], shown)


# -- the command line itself ----------------------------------------------------------------------

@pytest.mark.parametrize("argv,needle", [
    (["run", NET, "-o", "r.json"], "the following arguments are required: --stimulus"),
    (["run", NET, "--stimulus", STIM, "-o", "r.json", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", NET, "--stimulus", STIM, "-o", "r.json", "--engine", "gpu"], "invalid choice: 'gpu'"),
    (["verilog", "-o", "v.v", "--width", "two\nx"], "invalid int value: 'two\\nx'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
])
def test_argparse_errors_are_one_line(capsys, argv, needle):
    err = refused(capsys, argv, needle)
    assert "usage:" not in err and err.startswith("neuromesh")


def test_help_is_still_help(capsys):
    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--max-cycles N" in out and f"{MAX_CYCLES_PER_TICK:,} per tick" in out


# -- runs that could not end --------------------------------------------------------------------

def test_out_ready_floor(capsys, tmp_path):
    for p in ("1e-300", "0.0099"):
        refused(capsys, ["run", NET, "--stimulus", STIM, "-o", tmp_path / "r.json", "--out-ready", p],
                f"--out-ready: must be at least 0.01", f"got {float(p)!r}")
    assert not (tmp_path / "r.json").exists()
    # the floor itself runs, and every flit still reaches the host
    assert main(["run", str(NET), "--stimulus", str(STIM), "-o", str(tmp_path / "r.json"), "--out-ready", "0.01", "-q"]) == 0
    slow = json.loads((tmp_path / "r.json").read_text())
    assert main(["run", str(NET), "--stimulus", str(STIM), "-o", str(tmp_path / "f.json"), "-q"]) == 0
    fast = json.loads((tmp_path / "f.json").read_text())
    assert slow["spikes"] == fast["spikes"] and slow["stats"]["cycles"] > fast["stats"]["cycles"]


def test_max_cycles_golden(capsys, tmp_path):
    """The cycle limit is the last cycle a run may reach: a run whose last tick completes in
    cycle C passes with --max-cycles C and, with C - 1, ends naming that tick."""
    out = tmp_path / "r.json"
    assert main(["run", str(NET), "--stimulus", str(STIM), "-o", str(out), "-q"]) == 0
    r = json.loads(out.read_text())
    last, ticks = r["completions"][-1], r["stats"]["ticks"]
    out.unlink()
    assert main(["run", str(NET), "--stimulus", str(STIM), "-o", str(out), "-q", "--max-cycles", str(last)]) == 0
    out.unlink()
    refused(capsys, ["run", NET, "--stimulus", STIM, "-o", out, "--max-cycles", last - 1],
            f"tick {ticks} did not complete within {last - 1} cycles")
    # an early limit names an early tick: tick t is in hand until cycle q_t
    q3 = r["completions"][2]
    refused(capsys, ["run", NET, "--stimulus", STIM, "-o", out, "--max-cycles", q3 - 1], "tick 3 did not complete")
    refused(capsys, ["run", NET, "--stimulus", STIM, "-o", out, "--max-cycles", 0], "--max-cycles: must be a positive")
    assert not out.exists()


def test_max_cycles_default_scales_with_the_stimulus(tmp_path, monkeypatch):
    import neuromesh.tools.cli.run as run_mod
    seen = {}

    def fake_run_network(net, stim, **kw):
        seen.update(kw)
        raise run_mod.NeuroMeshError("stop here")
    monkeypatch.setattr(run_mod, "run_network", fake_run_network)
    stim = json.loads(STIM.read_text())
    for ticks in (10, 12345):
        stim["ticks"] = ticks
        write(tmp_path / "s.json", stim)
        assert main(["run", str(NET), "--stimulus", str(tmp_path / "s.json"), "-o", str(tmp_path / "r.json")]) == 2
        assert seen["max_cycles"] == ticks * 100_000


@pytest.mark.rtl
def test_max_cycles_rtl(capsys, tmp_path):
    # A 1x1 regression case, so that the Verilator model is the regression's (no extra build).
    case = json.loads((Path(__file__).resolve().parent / "cases" / "refractory_resets.json").read_text())
    net, stim = write(tmp_path / "net.json", case["network"]), write(tmp_path / "stim.json", case["stimulus"])
    out = tmp_path / "r.json"
    assert main(["run", str(net), "--stimulus", str(stim), "-o", str(out), "-q", "--engine", "rtl"]) == 0
    q3 = json.loads(out.read_text())["completions"][2]
    out.unlink()
    refused(capsys, ["run", net, "--stimulus", stim, "-o", out, "--engine", "rtl", "--max-cycles", q3 - 1],
            "rtl engine:", "tick 3 has not completed within the budget of")
    assert not out.exists()


# -- a huge stimulus ------------------------------------------------------------------------------

def test_large_stimulus_names_its_bad_entry(capsys, tmp_path):
    n = 50_000
    events = [[k // 2 + 1, k % 2] for k in range(n)]
    stim = {"ticks": n // 2, "spikes": {"in": events + [[n // 2, 2]]}}
    path = write(tmp_path / "s.json", stim)
    refused(capsys, ["run", NET, "--stimulus", path, "-o", tmp_path / "r.json"],
            f"spikes.in[{n}][1]: must be in 0..1 (got 2)")
    stim["spikes"]["in"] = events + [[7, True]]
    write(path, stim)
    refused(capsys, ["run", NET, "--stimulus", path, "-o", tmp_path / "r.json"], f"spikes.in[{n}][1]: must be an integer")
    stim["spikes"]["in"] = events[:5] + [events[3]] + events[5:] + [events[4]]
    write(path, stim)
    refused(capsys, ["run", NET, "--stimulus", path, "-o", tmp_path / "r.json"],
            "spikes.in[5]: duplicate spike", f"(got {json.dumps(events[3])})")


def _limit_memory(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


@pytest.mark.long
def test_ten_million_spikes_last_one_bad_in_bounded_memory(tmp_path):
    """10^7 spikes, the last out of range, under a 2.5 GB address-space limit: the old checker
    (a set and a copy of every pair beside json's own lists) died of MemoryError there."""
    n = 10 ** 7
    path = tmp_path / "big.json"
    with open(path, "w") as f:
        f.write('{"ticks": %d, "spikes": {"in": [' % (n // 2))
        for start in range(0, n, 10 ** 6):
            f.write("".join(f"[{k // 2 + 1}, {k % 2}], " for k in range(start, min(n, start + 10 ** 6))))
        f.write("[1, 2]]}}")
    r = subprocess.run([sys.executable, "-m", "neuromesh.tools.cli", "run", str(NET), "--stimulus", str(path),
                        "-o", str(tmp_path / "r.json")], capture_output=True, text=True,
                       preexec_fn=_limit_memory(2500 << 20), timeout=600)
    assert r.returncode == 2, r.stderr[-2000:]
    assert r.stderr.count("\n") == 1 and f"spikes.in[{n}][1]: must be in 0..1 (got 2)" in r.stderr, r.stderr


def test_a_reader_that_leaves_early_is_not_an_error_message(tmp_path):
    """`neuromesh run ... | head -0`: stdout has no reader left. The result is written, nothing
    is printed on stderr (no BrokenPipeError traceback), exit status 1."""
    p = subprocess.Popen([sys.executable, "-m", "neuromesh.tools.cli", "run", str(NET), "--stimulus", str(STIM),
                          "-o", str(tmp_path / "r.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # before the child can print anything
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 1 and err == "", err
    assert json.loads((tmp_path / "r.json").read_text())["stats"]["ticks"] == 10
