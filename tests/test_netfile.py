"""Network and stimulus validation (firmware/netfile.py): every refusal is one line naming the
file, the JSON path of the field and the reason, shows the bad value, and makes `neuromesh
compile` / `neuromesh run` exit with status 2 and no traceback."""
import copy
import json

import pytest

from neuromesh import spec
from neuromesh.firmware.netfile import NetworkError, load_network, load_stimulus, load_stimulus_ticks
from neuromesh.tools.cli import main

BASE = {
    "format": "neuromesh-network/1",
    "hardware": {"width": 2, "height": 2, "neurons_per_core": 8, "axons_per_core": 8,
                 "synapses_per_core": 32, "routes_per_core": 16},
    "populations": [
        {"name": "in", "kind": "input", "size": 2},
        {"name": "a", "kind": "lif", "size": 3, "vth": 10, "du": 4095, "record": True},
        {"name": "b", "kind": "lif", "size": 2, "vth": 5},
    ],
    "projections": [
        {"pre": "in", "post": "a", "weights": [[1, 0, 2], [0, 3, 0]]},
        {"pre": "a", "post": "b", "weight_exp": 2, "synapses": [[0, 1, -4], [2, 0, 5]]},
    ],
}


def write(tmp_path, obj, name="net.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj, indent=1))
    return path


def compile_fails(tmp_path, capsys, path, *needles):
    """Run `neuromesh compile` on `path`; assert exit status 2, one line, the needles, no traceback."""
    capsys.readouterr()
    status = main(["compile", str(path), "-o", str(tmp_path / "out" / "image.hex")])
    err = capsys.readouterr().err
    assert status == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith(f"neuromesh compile: {path}: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert not (tmp_path / "out" / "image.hex").exists()  # nothing written on a refusal
    return lines[0]


def mutated(fn):
    net = copy.deepcopy(BASE)
    fn(net)
    return net


def _set(path, value):
    """A mutation that sets net[...path...] = value (path: keys and indices)."""
    def fn(net):
        obj = net
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
    return fn


def _del(path):
    def fn(net):
        obj = net
        for k in path[:-1]:
            obj = obj[k]
        del obj[path[-1]]
    return fn


CASES = {
    # top level
    "missing format": (_del(["format"]), ["format: missing"]),
    "unknown format": (_set(["format"], "neuromesh-network/3"), ["format: unknown format", '(got "neuromesh-network/3")']),
    "unknown top key": (_set(["projection"], []), ["projection: unknown key", "(got [])"]),
    "populations missing": (_del(["populations"]), ["populations: missing"]),
    "populations not a list": (_set(["populations"], {}), ["populations: must be a JSON list", "(got {})"]),
    "populations empty": (_set(["populations"], []), ["populations: must name at least one population"]),
    "projections not a list": (_set(["projections"], 3), ["projections: must be a JSON list (got 3)"]),
    # populations
    "unknown population key": (_set(["populations", 1, "vht"], 10), ["populations[1].vht: unknown key", "(got 10)"]),
    "missing name": (_del(["populations", 1, "name"]), ["populations[1].name: missing"]),
    "empty name": (_set(["populations", 1, "name"], ""), ["populations[1].name: must be a non-empty string", '(got "")']),
    "missing size": (_del(["populations", 2, "size"]), ["populations[2].size: missing"]),
    # 64 x 64 tiles of 4096 neurons: 16,777,216 (SPEC sections 1 and 3).
    "size zero": (_set(["populations", 1, "size"], 0), ["populations[1].size: must be in 1..16777216 (got 0)"]),
    "size huge": (_set(["populations", 0, "size"], 1 << 40), ["populations[0].size: must be in 1..16777216 (got 1099511627776)"]),
    "size string": (_set(["populations", 1, "size"], "3"), ["populations[1].size: must be an integer", '(got "3")']),
    "size float": (_set(["populations", 1, "size"], 3.0), ["populations[1].size: must be an integer (got 3.0)"]),
    "size bool": (_set(["populations", 1, "size"], True), ["populations[1].size: must be an integer (got true)"]),
    "bad kind": (_set(["populations", 1, "kind"], "LIF"), ['populations[1].kind: must be "input" or "lif"', '(got "LIF")']),
    "duplicate name": (_set(["populations", 2, "name"], "a"),
                       ["populations[2].name: duplicate population name (also populations[1])", '(got "a")']),
    "record not bool": (_set(["populations", 1, "record"], 1), ["populations[1].record: must be true or false (got 1)"]),
    "vth bool": (_set(["populations", 1, "vth"], True), ["populations[1].vth: must be an integer (got true)"]),
    "param on input": (_set(["populations", 0, "vth"], 3),
                       ["populations[0].vth: an input population has no neuron parameters", "(got 3)"]),
    # placement
    "placement outside mesh": (_set(["populations", 1, "placement"], [2, 0]),
                               ["populations[1].placement: tile (2, 0) is outside the 2x2 mesh", "(got [2, 0])"]),
    "placement chunk outside": (_set(["populations", 1, "placement"], [[0, 0, 1], [0, 2, 2]]),
                                ["populations[1].placement[1]: tile (0, 2) is outside the 2x2 mesh"]),
    "placement wrong total": (_set(["populations", 1, "placement"], [[0, 0, 1], [1, 0, 1]]),
                              ["populations[1].placement: places 2 neurons, the population has 3"]),
    "placement bad chunk": (_set(["populations", 1, "placement"], [[0, 0]]),
                            ["populations[1].placement[0]: must be [x, y] or a list of [x, y, count]"]),
    "placement zero count": (_set(["populations", 1, "placement"], [[0, 0, 3], [1, 0, 0]]),
                             ["populations[1].placement[1][2]: must be at least 1 (got 0)"]),
    "placement not list": (_set(["populations", 1, "placement"], "auto"),
                           ["populations[1].placement: must be a JSON list", '(got "auto")']),
    "placement coordinate bool": (_set(["populations", 1, "placement"], [True, 0]),
                                  ["populations[1].placement: must be an integer (got true)"]),
    "placement on input": (_set(["populations", 0, "placement"], [0, 0]),
                           ["populations[0].placement: an input population lives in the host"]),
    # projections
    "unknown projection key": (_set(["projections", 0, "delay"], 1), ["projections[0].delay: unknown key (allowed:"]),
    "unknown pre": (_set(["projections", 0, "pre"], "c"), ['projections[0].pre: unknown population (got "c")']),
    "unknown post": (_set(["projections", 1, "post"], "B"), ['projections[1].post: unknown population (got "B")']),
    "missing pre": (_del(["projections", 0, "pre"]), ["projections[0].pre: missing"]),
    "into input": (_set(["projections", 0, "post"], "in"),
                   ['projections[0].post: an input population cannot receive a projection (got "in")']),
    "weight_exp 8": (_set(["projections", 0, "weight_exp"], 8), ["projections[0].weight_exp: must be in 0..7 (got 8)"]),
    "weight_exp negative": (_set(["projections", 0, "weight_exp"], -1), ["projections[0].weight_exp: must be in 0..7 (got -1)"]),
    "weight_exp bool": (_set(["projections", 0, "weight_exp"], False), ["projections[0].weight_exp: must be an integer (got false)"]),
    "dense weight 128": (_set(["projections", 0, "weights", 1, 2], 128),
                         ["projections[0].weights[1][2]: must be in -128..127 (got 128)"]),
    "dense weight -129": (_set(["projections", 0, "weights", 0, 0], -129),
                          ["projections[0].weights[0][0]: must be in -128..127 (got -129)"]),
    "dense weight float": (_set(["projections", 0, "weights", 0, 1], 0.5),
                           ["projections[0].weights[0][1]: must be an integer (got 0.5)"]),
    "dense rows": (_set(["projections", 0, "weights"], [[1, 0, 2]]),
                   ["projections[0].weights: must have 2 rows (pre 'in' size), not 1"]),
    "dense columns": (_set(["projections", 0, "weights", 1], [0, 3]),
                      ["projections[0].weights[1]: must have 3 columns (post 'a' size), not 2"]),
    "dense row not list": (_set(["projections", 0, "weights", 1], 7),
                           ["projections[0].weights[1]: must be a JSON list (got 7)"]),
    "both weights and synapses": (_set(["projections", 0, "synapses"], []),
                                  ['projections[0]: needs exactly one of "weights" (dense matrix), "synapses" (list) and '
                                   '"synapses_file" (a .npy file) (got ["weights", "synapses"])']),
    "neither weights nor synapses": (_del(["projections", 1, "synapses"]),
                                     ['projections[1]: needs exactly one of "weights"']),
    "synapse not a triple": (_set(["projections", 1, "synapses", 0], [0, 1]),
                             ["projections[1].synapses[0]: must be [pre, post, weight] (got [0, 1])"]),
    "synapse pre out of range": (_set(["projections", 1, "synapses", 1], [3, 0, 5]),
                                 ["projections[1].synapses[1][0]: must be in 0..2 (got 3)"]),
    "synapse post out of range": (_set(["projections", 1, "synapses", 1], [0, 2, 5]),
                                  ["projections[1].synapses[1][1]: must be in 0..1 (got 2)"]),
    "synapse weight out of range": (_set(["projections", 1, "synapses", 0], [0, 1, -129]),
                                    ["projections[1].synapses[0][2]: must be in -128..127 (got -129)"]),
    # hardware (spec.HwParams' own checks, re-wrapped with the file name)
    "hardware width": (_set(["hardware", "width"], 65), ["hardware.width: must be between 1 and 64 (got 65)"]),
    # version 1 files may not use what only version 2 has
    "v1 per-neuron list": (_set(["populations", 2, "vth"], [5, 6]),
                           ["populations[2].vth: only neuromesh-network/2 has this field"]),
    "v1 period": (_set(["hardware", "period_ps"], 5000), ["hardware.period_ps: only neuromesh-network/2 has this field"]),
    "v1 domains": (_set(["hardware", "domains"], []), ["hardware.domains: only neuromesh-network/2 has this field"]),
    "v1 synapses file": (_set(["projections", 1], {"pre": "a", "post": "b", "synapses_file": "s.npy"}),
                         ["projections[1].synapses_file: only neuromesh-network/2 has this field"]),
    "hardware unknown": (_set(["hardware", "depth"], 2), ["hardware.depth: unknown"]),
    "hardware bool": (_set(["hardware", "fifo_depth"], True), ["hardware.fifo_depth: must be an integer"]),
    "hardware not object": (_set(["hardware"], [2, 2]), ["hardware: must be a JSON object (got [2, 2])"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_network_refusals(tmp_path, capsys, case):
    fn, needles = CASES[case]
    path = write(tmp_path, mutated(fn))
    compile_fails(tmp_path, capsys, path, *needles)


# SPEC section 3, written out: du, dv 12-bit unsigned; vth 17-bit unsigned; bias_mant 13-bit
# signed; bias_exp 3-bit; refractory 4-bit; reset 1 bit.
SPEC_RANGES = {"du": (0, 4095), "dv": (0, 4095), "vth": (0, 131071), "bias_mant": (-4096, 4095),
               "bias_exp": (0, 7), "refractory": (0, 15), "reset": (0, 1)}


def test_neuron_parameter_table_is_the_spec_one():
    assert {n: spec.field_range(*spec.NEURON_PARAMS[n]) for n in spec.NEURON_PARAMS} == SPEC_RANGES


@pytest.mark.parametrize("name", sorted(SPEC_RANGES))
@pytest.mark.parametrize("side", ["low", "high"])
def test_each_neuron_parameter_range(tmp_path, capsys, name, side):
    lo, hi = SPEC_RANGES[name]
    bad = lo - 1 if side == "low" else hi + 1
    path = write(tmp_path, mutated(_set(["populations", 2, name], bad)))
    compile_fails(tmp_path, capsys, path, f"populations[2].{name}: must be in {lo}..{hi} (got {bad})")
    # The extreme legal values are accepted.
    for ok in (lo, hi):
        net = load_network(write(tmp_path, mutated(_set(["populations", 2, name], ok)), "ok.json"))
        assert net.populations[2]["params"][name] == ok


def test_file_level_refusals(tmp_path, capsys):
    compile_fails(tmp_path, capsys, tmp_path / "nope.json", "no such file")
    compile_fails(tmp_path, capsys, write(tmp_path, '{\n "format": "neuromesh-network/1",\n "populations": [,]\n}'),
                  "line 3: malformed JSON")
    compile_fails(tmp_path, capsys, write(tmp_path, "[1, 2]"), "the top level must be a JSON object (got [1, 2])")
    compile_fails(tmp_path, capsys, write(tmp_path, '{"format": "neuromesh-network/1", "format": "x"}'),
                  'key "format" appears twice')
    compile_fails(tmp_path, capsys, write(tmp_path, '{"format": NaN}'), "NaN is not allowed")
    compile_fails(tmp_path, capsys, tmp_path, "is a directory")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe{}")
    compile_fails(tmp_path, capsys, tmp_path / "bin.json", "not UTF-8")


def test_defaults_and_normalisation(tmp_path):
    net = load_network(write(tmp_path, BASE))
    assert net.params == spec.HwParams(width=2, height=2, neurons_per_core=8, axons_per_core=8,
                                       synapses_per_core=32, routes_per_core=16)
    a = net.population("a")
    assert a["params"] == {"du": 4095, "dv": 0, "vth": 10, "bias_mant": 0, "bias_exp": 0, "refractory": 0, "reset": 0}
    assert a["record"] is True and net.population("b")["record"] is False
    assert a["placement"] is None
    # dense: every nonzero entry, row-major; weight_exp defaults to 0
    assert net.projections[0] == {"pre": "in", "post": "a", "weight_exp": 0,
                                  "synapses": [(0, 0, 1), (0, 2, 2), (1, 1, 3)]}
    assert net.projections[1]["synapses"] == [(0, 1, -4), (2, 0, 5)]
    assert net.raw == BASE and net.path == str(tmp_path / "net.json")
    # no hardware block: SPEC section 1 defaults
    bare = copy.deepcopy(BASE)
    del bare["hardware"]
    assert load_network(write(tmp_path, bare, "bare.json")).params == spec.HwParams()


def test_placement_forms(tmp_path):
    net = load_network(write(tmp_path, mutated(_set(["populations", 1, "placement"], [1, 1]))))
    assert net.population("a")["placement"] == [(1, 1, 3)]
    net = load_network(write(tmp_path, mutated(_set(["populations", 1, "placement"], [[0, 1, 2], [1, 0, 1]]))))
    assert net.population("a")["placement"] == [(0, 1, 2), (1, 0, 1)]


def test_synapse_list_keeps_duplicates(tmp_path):
    net = load_network(write(tmp_path, mutated(_set(["projections", 1, "synapses"], [[0, 1, 3], [0, 1, 3], [0, 1, -2]]))))
    assert net.projections[1]["synapses"] == [(0, 1, 3), (0, 1, 3), (0, 1, -2)]


# ---------------------------------------------------------------------------------------------
# Stimulus

STIM = {"ticks": 5, "spikes": {"in": [[1, 0], [3, 1], [2, 0]]}}

STIM_CASES = {
    "ticks missing": ({"spikes": {}}, ["ticks: missing"]),
    "ticks zero": ({"ticks": 0}, ["ticks: must be at least 1 (got 0)"]),
    "ticks bool": ({"ticks": True}, ["ticks: must be an integer (got true)"]),
    "ticks string": ({"ticks": "5"}, ['ticks: must be an integer (got "5")']),
    "top level list": ([1], ["the top level must be a JSON object (got [1])"]),
    "unknown key": ({"ticks": 5, "spike": {}}, ["spike: unknown key"]),
    "spikes not object": ({"ticks": 5, "spikes": [[1, 0]]}, ["spikes: must be a JSON object"]),
    "unknown population": ({"ticks": 5, "spikes": {"inp": [[1, 0]]}}, ['spikes.inp: no such population', '(got "inp")']),
    "lif population": ({"ticks": 5, "spikes": {"a": [[1, 0]]}},
                       ['spikes.a: only an input population can be driven by the stimulus (got "a")']),
    "events not list": ({"ticks": 5, "spikes": {"in": 3}}, ["spikes.in: must be a JSON list (got 3)"]),
    "event not pair": ({"ticks": 5, "spikes": {"in": [[1, 0], [2]]}}, ["spikes.in[1]: must be [tick, index] (got [2])"]),
    "tick zero": ({"ticks": 5, "spikes": {"in": [[0, 0]]}}, ["spikes.in[0][0]: must be in 1..5 (got 0)"]),
    "tick past end": ({"ticks": 5, "spikes": {"in": [[6, 0]]}}, ["spikes.in[0][0]: must be in 1..5 (got 6)"]),
    "index past size": ({"ticks": 5, "spikes": {"in": [[1, 2]]}}, ["spikes.in[0][1]: must be in 0..1 (got 2)"]),
    "index negative": ({"ticks": 5, "spikes": {"in": [[1, -1]]}}, ["spikes.in[0][1]: must be in 0..1 (got -1)"]),
    "index bool": ({"ticks": 5, "spikes": {"in": [[1, False]]}}, ["spikes.in[0][1]: must be an integer (got false)"]),
    "duplicate spike": ({"ticks": 5, "spikes": {"in": [[1, 0], [2, 1], [1, 0]]}},
                        ["spikes.in[2]: duplicate spike", "(got [1, 0])"]),
}


@pytest.mark.parametrize("case", sorted(STIM_CASES))
def test_stimulus_refusals(tmp_path, capsys, case):
    stim, needles = STIM_CASES[case]
    net_path = write(tmp_path, BASE)
    stim_path = write(tmp_path, stim, "stim.json")
    with pytest.raises(NetworkError) as e:
        load_stimulus(stim_path, load_network(net_path))
    assert str(e.value).startswith(f"{stim_path}: ")
    for needle in needles:
        assert needle in str(e.value)
    # the same through `neuromesh run` (it refuses before any engine runs)
    capsys.readouterr()
    status = main(["run", str(net_path), "--stimulus", str(stim_path), "-o", str(tmp_path / "r.json"), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert needles[0] in err


def test_stimulus_accepted(tmp_path):
    net = load_network(write(tmp_path, BASE))
    stim = load_stimulus(write(tmp_path, STIM, "stim.json"), net)
    assert stim.ticks == 5
    assert stim.spikes == {"in": [[1, 0], [3, 1], [2, 0]]}  # file order kept
    assert load_stimulus_ticks(tmp_path / "stim.json") == 5
    assert load_stimulus(write(tmp_path, {"ticks": 2}, "quiet.json"), net).spikes == {}
    with pytest.raises(NetworkError, match="ticks: must be at least 1"):
        load_stimulus_ticks(write(tmp_path, {"ticks": 0}, "zero.json"))
    with pytest.raises(NetworkError, match="no such file"):
        load_stimulus_ticks(tmp_path / "missing.json")


def test_bundled_examples_are_valid():
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "examples"
    found = sorted(root.glob("*/network.json"))
    assert len(found) >= 3
    for path in found:
        net = load_network(path)
        stim = load_stimulus(path.with_name("stimulus.json"), net)
        assert stim.ticks >= 1 and any(stim.spikes.values())


def _leaves(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))


@pytest.mark.parametrize("seed", range(4))
def test_any_mutation_is_accepted_or_refused_cleanly(seed):
    """Replace a random part of a valid network with a random JSON value, many times: the
    result is a Network that compiles (or a capacity refusal), or a one-line NeuroMeshError;
    never another exception."""
    import random
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import parse_network
    rng = random.Random(seed)
    values = [None, True, False, 0, -1, 1, 2, 7, 8, 127, 128, -129, 4095, 1 << 40, 0.5, "", "a", "in", "lif",
              "input", [], [0], [0, 0], [0, 0, 1], [[0, 0, 1]], {}, {"x": 1}]
    refused = 0
    for _ in range(150):
        net = copy.deepcopy(BASE)
        for _ in range(rng.randint(1, 3)):
            paths = [p for p in _leaves(net) if p]
            path = rng.choice(paths)
            obj = net
            for k in path[:-1]:
                obj = obj[k]
            if rng.random() < 0.15 and isinstance(obj, dict):
                del obj[path[-1]]
            else:
                obj[path[-1]] = copy.deepcopy(rng.choice(values))
        try:
            compile_network(parse_network(net, "m.json"))
        except spec.NeuroMeshError as e:
            assert str(e).startswith("m.json: ") and "\n" not in str(e)
            refused += 1
    assert refused > 50


def test_stimulus_with_absurd_tick_count_is_refused_in_one_line(tmp_path):
    from neuromesh.firmware.netfile import MAX_TICKS, load_stimulus_ticks
    stim = tmp_path / "stim.json"
    stim.write_text('{"ticks": %d, "spikes": {}}' % (MAX_TICKS + 1))
    with pytest.raises(spec.NeuroMeshError, match="ticks"):
        load_stimulus_ticks(stim)


# ---------------------------------------------------------------------------------------------
# Version 2: per-neuron parameters, clock domains, synapse arrays in .npy files (SPEC section 7)

def v2(fn=None):
    net = copy.deepcopy(BASE)
    net["format"] = "neuromesh-network/2"
    if fn:
        fn(net)
    return net


V2_CASES = {
    "list too short": (_set(["populations", 2, "vth"], [5]),
                       ["populations[2].vth: a per-neuron list must have 2 entries (the population's size), not 1"]),
    "list element out of range": (_set(["populations", 2, "du"], [0, 4096]),
                                  ["populations[2].du[1]: must be in 0..4095 (got 4096)"]),
    "list element not int": (_set(["populations", 1, "bias_mant"], [0, 1.5, 2]),
                             ["populations[1].bias_mant[1]: must be an integer (got 1.5)"]),
    "list on input": (_set(["populations", 0, "vth"], [1, 2]), ["populations[0].vth: an input population has no"]),
    "period zero": (_set(["hardware", "period_ps"], 0), ["hardware.period_ps: must be at least 1 (got 0)"]),
    "domain holds origin": (_set(["hardware", "domains"], [{"tiles": [0, 0, 1, 0], "period_ps": 7000}]),
                            ["hardware.domains[0].tiles: holds tile (0, 0)", "(got [0, 0, 1, 0])"]),
    "domain outside mesh": (_set(["hardware", "domains"], [{"tiles": [1, 0, 2, 1], "period_ps": 7000}]),
                            ["hardware.domains[0].tiles: lies outside the 2x2 mesh"]),
    "domain inverted": (_set(["hardware", "domains"], [{"tiles": [1, 1, 1, 0], "period_ps": 7000}]),
                        ["hardware.domains[0].tiles: needs x0 <= x1 and y0 <= y1"]),
    "domains overlap": (_set(["hardware", "domains"], [{"tiles": [1, 0, 1, 1], "period_ps": 7000},
                                                       {"tiles": [0, 1, 1, 1], "period_ps": 5000}]),
                        ["hardware.domains[1].tiles: overlaps hardware.domains[0] [1, 0, 1, 1]"]),
    "domain period negative": (_set(["hardware", "domains"], [{"tiles": [1, 0, 1, 1], "period_ps": -3}]),
                               ["hardware.domains[0].period_ps: must be at least 1 (got -3)"]),
    "domain phase too big": (_set(["hardware", "domains"], [{"tiles": [1, 0, 1, 1], "period_ps": 7000,
                                                             "phase_ps": 7000}]),
                             ["hardware.domains[0].phase_ps: must be below the period (7000 ps) (got 7000)"]),
    "domain phase negative": (_set(["hardware", "domains"], [{"tiles": [1, 0, 1, 1], "period_ps": 7000,
                                                              "phase_ps": -1}]),
                              ["hardware.domains[0].phase_ps: must be at least 0 (got -1)"]),
    "domain unknown key": (_set(["hardware", "domains"], [{"tiles": [1, 0, 1, 1], "period_ps": 7, "clock": 1}]),
                           ["hardware.domains[0].clock: unknown key"]),
    "links unknown": (_set(["hardware", "links"], "optical"), ["hardware.links: must be one of on_chip, off_chip"]),
}


@pytest.mark.parametrize("case", sorted(V2_CASES))
def test_v2_refusals(tmp_path, capsys, case):
    fn, needles = V2_CASES[case]
    compile_fails(tmp_path, capsys, write(tmp_path, v2(fn)), *needles)


def test_v2_per_neuron_parameters_and_domains_are_read():
    net = load_network_raw(v2(lambda n: (
        n["populations"][1].update(vth=[3, 4, 5], reset=1),
        n["hardware"].update(period_ps=8000, links="off_chip",
                             domains=[{"tiles": [1, 0, 1, 1], "period_ps": 7000, "phase_ps": 3500}]))))
    assert net.populations[1]["params"]["vth"] == [3, 4, 5] and net.populations[1]["params"]["reset"] == 1
    clocks = net.clocks
    assert (clocks.period_ps, clocks.links, clocks.n_domains) == (8000, "off_chip", 2)
    assert clocks.partition(net.params) == (0, 1, 0, 1)   # tiles (0,0) (1,0) (0,1) (1,1)
    assert (clocks.period(1), clocks.phase(1)) == (7000, 3500)


def load_network_raw(raw):
    from neuromesh.firmware.netfile import parse_network
    return parse_network(raw, "<test>")


def test_v2_synapses_file(tmp_path, capsys):
    import numpy as np
    np.save(tmp_path / "syn.npy", np.array([[0, 1, -4], [2, 0, 5], [2, 0, 5]], dtype=np.int16))
    net = load_network(write(tmp_path, v2(_set(["projections", 1],
                                               {"pre": "a", "post": "b", "weight_exp": 2, "synapses_file": "syn.npy"}))))
    assert net.projections[1]["synapses"] == [(0, 1, -4), (2, 0, 5), (2, 0, 5)]   # duplicates kept
    bad = {"float.npy": np.zeros((2, 3)), "shape.npy": np.zeros((2, 2), dtype=int),
           "range.npy": np.array([[0, 0, 1], [0, 5, 1]])}
    for name, arr in bad.items():
        np.save(tmp_path / name, arr)
    np.save(tmp_path / "pickle.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "text.npy").write_text("not numpy")
    expect = {"float.npy": "must hold integers, not float64", "shape.npy": "must hold an array of shape (S, 3)",
              "range.npy": "projections[1].synapses_file[1][1]: post must be in 0..1 (got 5)",
              "pickle.npy": "without pickles", "text.npy": "not a NumPy .npy array", "missing.npy": "no such file"}
    for name, needle in expect.items():
        path = write(tmp_path, v2(_set(["projections", 1], {"pre": "a", "post": "b", "synapses_file": name})))
        compile_fails(tmp_path, capsys, path, needle)
