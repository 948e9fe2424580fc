"""The compiler (firmware/compiler.py, firmware/placement.py): placement, axon and route
allocation, capacity refusals, the map.

The main check decodes the image the way the chip reads it (axon table -> synapse list; rlist ->
route entries -> flits), maps tile slots back to neurons through the map's placement, and compares
the synapse multiset with one computed straight from the network's raw JSON in this file.
"""
import copy
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from neuromesh import spec
from neuromesh.firmware.compiler import compile_network
from neuromesh.firmware.netfile import NetworkError, load_network, parse_network
from neuromesh.tools.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# ---------------------------------------------------------------------------------------------
# Independent references


def expected_synapses(raw: dict) -> Counter:
    """{(pre pop, pre i, post pop, post j, weight, weight_exp): count} from the raw network JSON."""
    out = Counter()
    for pr in raw.get("projections", []):
        wexp = pr.get("weight_exp", 0)
        if "weights" in pr:
            for i, row in enumerate(pr["weights"]):
                for j, w in enumerate(row):
                    if w != 0:
                        out[(pr["pre"], i, pr["post"], j, w, wexp)] += 1
        else:
            for i, j, w in pr["synapses"]:
                out[(pr["pre"], i, pr["post"], j, w, wexp)] += 1
    return out


def field(word, lsb, width, signed=False):
    v = (word >> lsb) & ((1 << width) - 1)
    return v - (1 << width) if signed and v >> (width - 1) else v


class Chip:
    """The image as the chip would see it, decoded by hand from docs/architecture.md section 6."""

    def __init__(self, params, writes):
        self.p = params
        self.mem = {}
        for addr, data in writes:
            self.mem[addr] = data

    def word(self, x, y, region, offset):
        return self.mem.get(spec.tile_addr(x, y, region, offset), 0)

    def axon_targets(self, flit):
        """[(x, y, slot, weight, wexp)] reached by a tile-bound flit."""
        assert not field(flit, 24, 1) and not field(flit, 25, 7)
        a, x, y = field(flit, 0, 12), field(flit, 12, 6), field(flit, 18, 6)
        w = self.word(x, y, "axon", a)
        ptr, n, wexp = field(w, 0, 14), field(w, 14, 15), field(w, 29, 3)
        assert n > 0, "a route to an empty axon"
        out = []
        for e in range(ptr, ptr + n):
            s = self.word(x, y, "synapse", e)
            out.append((x, y, field(s, 0, 12), field(s, 12, 8, True), wexp))
        return out

    def routes(self, x, y, slot):
        w = self.word(x, y, "rlist", slot)
        ptr, n = field(w, 0, 12), field(w, 12, 13)
        return [self.word(x, y, "route", e) for e in range(ptr, ptr + n)]


def decoded_synapses(raw, compiled) -> Counter:
    chip = Chip(compiled.params, compiled.writes)
    where = {}
    for pop, places in compiled.map["placement"].items():
        for i, (x, y, slot) in enumerate(places):
            assert (x, y, slot) not in where, "two neurons share a slot"
            where[(x, y, slot)] = (pop, i)
    out = Counter()

    def follow(src, flits):
        for flit in flits:
            if field(flit, 24, 1):
                continue
            for x, y, slot, w, wexp in chip.axon_targets(flit):
                out[(*src, *where[(x, y, slot)], w, wexp)] += 1

    for pop, per_neuron in compiled.map["inputs"].items():
        for i, flits in enumerate(per_neuron):
            follow((pop, i), flits)
    for pop, places in compiled.map["placement"].items():
        for i, (x, y, slot) in enumerate(places):
            follow((pop, i), chip.routes(x, y, slot))
    return out


def check_outputs(raw, compiled):
    """Every recorded lif neuron has exactly one host-bound route, from its own tile, and the
    map's outputs translate it back to the neuron; nothing else reaches the host."""
    chip = Chip(compiled.params, compiled.writes)
    recorded = {p["name"] for p in raw["populations"] if p.get("record") and p["kind"] == "lif"}
    seen = {}
    for pop, places in compiled.map["placement"].items():
        for i, (x, y, slot) in enumerate(places):
            host = [f for f in chip.routes(x, y, slot) if field(f, 24, 1)]
            if pop in recorded:
                assert len(host) == 1
                assert (field(host[0], 12, 6), field(host[0], 18, 6)) == (x, y)
                assert compiled.map["outputs"][str(host[0])] == [pop, i]
                seen[host[0]] = (pop, i)
            else:
                assert host == []
    assert len(compiled.map["outputs"]) == len(seen) == sum(
        p["size"] for p in raw["populations"] if p["name"] in recorded)


def random_network(seed, width=3, height=3, n_per_core=8):
    rng = random.Random(seed)
    pops = [{"name": "in", "kind": "input", "size": rng.randint(1, 5)}]
    for k in range(rng.randint(1, 4)):
        pops.append({"name": f"p{k}", "kind": "lif", "size": rng.randint(1, 10), "vth": rng.randint(1, 50),
                     "du": rng.randint(0, 4095), "record": rng.random() < 0.6})
    projs = []
    for _ in range(rng.randint(1, 6)):
        pre = rng.choice(pops)
        post = rng.choice(pops[1:])
        pr = {"pre": pre["name"], "post": post["name"], "weight_exp": rng.randint(0, 7)}
        if rng.random() < 0.5:
            pr["weights"] = [[rng.choice([0, 0, rng.randint(-128, 127)]) for _ in range(post["size"])]
                             for _ in range(pre["size"])]
        else:
            pr["synapses"] = [[rng.randrange(pre["size"]), rng.randrange(post["size"]), rng.randint(-128, 127)]
                              for _ in range(rng.randint(0, 12))]
        projs.append(pr)
    return {"format": "neuromesh-network/1",
            "hardware": {"width": width, "height": height, "neurons_per_core": n_per_core, "axons_per_core": 64,
                         "synapses_per_core": 256, "routes_per_core": 128},
            "populations": pops, "projections": projs}


def with_placement(raw, mode, seed=0):
    """The same network with every lif population placed explicitly: all on tile (0, 0)
    ('one'), or in random chunks over the mesh ('spread')."""
    raw = copy.deepcopy(raw)
    hw = raw["hardware"]
    rng = random.Random(seed)
    free = {(x, y): hw["neurons_per_core"] for y in range(hw["height"]) for x in range(hw["width"])}
    for p in raw["populations"]:
        if p["kind"] != "lif":
            continue
        if mode == "one":
            p["placement"] = [0, 0]
            continue
        chunks, left = [], p["size"]
        while left:
            tile = rng.choice([t for t, n in free.items() if n])
            n = rng.randint(1, min(left, free[tile]))
            free[tile] -= n
            left -= n
            chunks.append([tile[0], tile[1], n])
        p["placement"] = chunks
    return raw


def compile_raw(raw, path="net.json"):
    return compile_network(parse_network(raw, path))


# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny", "ring", "fanout"])
def test_examples_realise_their_synapses(name):
    raw = json.loads((EXAMPLES / name / "network.json").read_text())
    compiled = compile_raw(raw)
    assert decoded_synapses(raw, compiled) == expected_synapses(raw)
    check_outputs(raw, compiled)


@pytest.mark.parametrize("seed", range(12))
def test_placements_give_the_same_synapses(seed):
    raw = random_network(seed)
    expected = expected_synapses(raw)
    lif_total = sum(p["size"] for p in raw["populations"] if p["kind"] == "lif")
    variants = {"auto": raw, "spread": with_placement(raw, "spread", seed)}
    if lif_total <= raw["hardware"]["neurons_per_core"]:
        variants["one"] = with_placement(raw, "one")
    placements = set()
    for label, variant in variants.items():
        compiled = compile_raw(variant)
        assert decoded_synapses(variant, compiled) == expected, label
        check_outputs(variant, compiled)
        placements.add(json.dumps(compiled.map["placement"], sort_keys=True))
        if label != "auto":  # explicit placement honoured, slots consecutive per tile in file order
            nxt = Counter()
            for p in variant["populations"]:
                if p["kind"] != "lif":
                    continue
                want = []
                chunks = [p["placement"] + [p["size"]]] if not isinstance(p["placement"][0], list) else p["placement"]
                for x, y, n in chunks:
                    for _ in range(n):
                        want.append([x, y, nxt[(x, y)]])
                        nxt[(x, y)] += 1
                assert compiled.map["placement"][p["name"]] == want
    assert len(placements) >= 2  # the variants really place the network differently


def test_axon_per_weight_exp_and_hand_worked_tables():
    """examples/tiny: exc2 reaches tile (1, 0) through weight_exp 1 and weight_exp 0, so it needs
    two axons there. Axon indices follow (source population, index, weight_exp)."""
    raw = json.loads((EXAMPLES / "tiny" / "network.json").read_text())
    c = compile_raw(raw)
    chip = Chip(c.params, c.writes)
    assert c.map["placement"] == {"exc": [[0, 0, 0], [0, 0, 1], [0, 0, 2]], "out": [[1, 0, 0], [1, 0, 1]]}
    # tile (0, 0): axon 0 = in0 -> exc0 (12), exc2 (6); axon 1 = in1 -> exc1 (12), exc2 (6)
    assert c.map["inputs"] == {"in": [[spec.pack_flit(0, 0, 0)], [spec.pack_flit(1, 0, 0)]]}
    assert chip.axon_targets(spec.pack_flit(0, 0, 0)) == [(0, 0, 0, 12, 0), (0, 0, 2, 6, 0)]
    assert chip.axon_targets(spec.pack_flit(1, 0, 0)) == [(0, 0, 1, 12, 0), (0, 0, 2, 6, 0)]
    # tile (1, 0): axons (exc0, wexp1), (exc1, wexp1), (exc2, wexp0), (exc2, wexp1)
    assert [chip.word(1, 0, "axon", a) != 0 for a in range(8)] == [True] * 4 + [False] * 4
    assert chip.routes(0, 0, 0) == [spec.pack_flit(0, 1, 0), spec.host_flit(0, 0, 0)]
    assert chip.routes(0, 0, 1) == [spec.pack_flit(1, 1, 0), spec.host_flit(1, 0, 0)]
    assert chip.routes(0, 0, 2) == [spec.pack_flit(2, 1, 0), spec.pack_flit(3, 1, 0), spec.host_flit(2, 0, 0)]
    assert chip.axon_targets(spec.pack_flit(2, 1, 0)) == [(1, 0, 0, 8, 0)]
    assert chip.axon_targets(spec.pack_flit(3, 1, 0)) == [(1, 0, 1, 12, 1)]
    assert chip.routes(1, 0, 0) == [spec.host_flit(0, 1, 0)]
    assert c.map["outputs"] == {str(spec.host_flit(s, 0, 0)): ["exc", s] for s in range(3)} | {
        str(spec.host_flit(s, 1, 0)): ["out", s] for s in range(2)}
    assert c.map["recorded"] == ["exc", "out"]
    usage = {tuple(u["tile"]): u for u in c.map["usage"]}
    assert usage[(0, 0)] == {"tile": [0, 0], "neurons": [3, 8], "axons": [2, 8], "synapses": [4, 32], "routes": [7, 16]}
    assert usage[(1, 0)] == {"tile": [1, 0], "neurons": [2, 8], "axons": [4, 8], "synapses": [4, 32], "routes": [2, 16]}
    json.dumps(c.map)  # serialisable


def test_duplicate_synapses_each_get_an_entry():
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 1, "height": 1, "neurons_per_core": 4},
           "populations": [{"name": "i", "kind": "input", "size": 1},
                           {"name": "n", "kind": "lif", "size": 2}],
           "projections": [{"pre": "i", "post": "n", "weight_exp": 3,
                            "synapses": [[0, 1, 5], [0, 1, 5], [0, 0, 0], [0, 1, -3]]}]}
    c = compile_raw(raw)
    chip = Chip(c.params, c.writes)
    assert c.map["inputs"]["i"] == [[spec.pack_flit(0, 0, 0)]]
    assert chip.axon_targets(spec.pack_flit(0, 0, 0)) == [(0, 0, 1, 5, 3), (0, 0, 1, 5, 3), (0, 0, 0, 0, 3),
                                                          (0, 0, 1, -3, 3)]


def test_image_writes_the_used_slots_every_axon_and_the_active_count_in_tile_order():
    raw = random_network(3, width=2, height=2, n_per_core=6)
    c = compile_raw(raw)
    p = c.params
    addrs = [a for a, _ in c.writes]
    assert len(addrs) == len(set(addrs))
    decoded = [spec.decode_addr(p, a) for a in addrs]
    order = [((d.y * p.width + d.x), spec.REGION[d.region]) for d in decoded]
    assert order == sorted(order)  # tile by tile, region by region
    data = dict(c.writes)
    held = Counter((x, y) for places in c.map["placement"].values() for x, y, _slot in places)
    for x, y in p.tiles():
        n = held[(x, y)]   # slots 0 .. n-1 (placement fills a tile's slots from 0)
        assert data[spec.tile_addr(x, y, "active", 0)] == n    # SPEC 3: the active-neuron count
        for region, words in (("param", 2), ("state", 2), ("acc0", 1), ("acc1", 1), ("rlist", 1)):
            for off in range(spec.region_size(p, region)):
                written = spec.tile_addr(x, y, region, off) in data
                assert written == (off < words * n), (x, y, region, off)   # nothing beyond slot n-1
        for off in range(spec.region_size(p, "axon")):
            assert spec.tile_addr(x, y, "axon", off) in data, (x, y, "axon", off)
        for region in ("state", "acc0", "acc1"):
            assert all(data[spec.tile_addr(x, y, region, o)] == 0 for o in range(spec.region_size(p, region))
                       if spec.tile_addr(x, y, region, o) in data)
    # neuron parameters land in the param words of the placed slot, by the layout of
    # docs/architecture.md section 6 (decoded by hand here)
    pops = {q["name"]: q for q in raw["populations"]}
    used = set()
    for name, places in c.map["placement"].items():
        q = pops[name]
        for x, y, slot in places:
            used.add((x, y, slot))
            w0 = data[spec.tile_addr(x, y, "param", 2 * slot)]
            w1 = data[spec.tile_addr(x, y, "param", 2 * slot + 1)]
            assert (field(w0, 0, 12), field(w1, 0, 17)) == (q.get("du", 0), q.get("vth", 0))
    for x, y in p.tiles():
        for slot in range(p.neurons_per_core):
            if (x, y, slot) not in used:
                assert spec.tile_addr(x, y, "param", 2 * slot) not in data
                assert spec.tile_addr(x, y, "rlist", slot) not in data


def test_all_parameter_fields_packed():
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 1, "height": 1, "neurons_per_core": 2},
           "populations": [{"name": "n", "kind": "lif", "size": 1, "du": 4095, "dv": 1234, "vth": 131071,
                            "bias_mant": -4096, "bias_exp": 7, "refractory": 15, "reset": 1}]}
    data = dict(compile_raw(raw).writes)
    w0, w1 = data[spec.tile_addr(0, 0, "param", 0)], data[spec.tile_addr(0, 0, "param", 1)]
    assert w0 == 4095 | (1234 << 12) | (7 << 24) | (15 << 27) | (1 << 31)
    assert w1 == 131071 | ((-4096 & 0x1FFF) << 17)


# ---------------------------------------------------------------------------------------------
# Placement


def _lif(name, size, **kw):
    return {"name": name, "kind": "lif", "size": size, **kw}


def test_auto_placement_keeps_populations_together_and_fills_in_tile_order():
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 2, "height": 2, "neurons_per_core": 8},
           "populations": [_lif("a", 5), _lif("b", 5), _lif("c", 3), _lif("d", 11)]}
    pl = compile_raw(raw).map["placement"]
    assert pl["a"] == [[0, 0, s] for s in range(5)]
    assert pl["b"] == [[1, 0, s] for s in range(5)]          # 3 left on (0, 0): b moves on whole
    assert pl["c"] == [[0, 0, s] for s in range(5, 8)]       # c fits the rest of (0, 0)
    # d (11 > 8) is split: first the 3 slots left on (1, 0), then (0, 1)
    assert pl["d"] == [[1, 0, s] for s in range(5, 8)] + [[0, 1, s] for s in range(8)]


def test_auto_placement_splits_on_synapse_memory():
    # each of the 3 neurons receives 5 synapses; a core holds 10 entries: 2 + 1
    raw = {"format": "neuromesh-network/1",
           "hardware": {"width": 2, "height": 1, "neurons_per_core": 8, "synapses_per_core": 10},
           "populations": [{"name": "i", "kind": "input", "size": 5}, _lif("n", 3)],
           "projections": [{"pre": "i", "post": "n", "weights": [[1, 1, 1]] * 5}]}
    c = compile_raw(raw)
    assert c.map["placement"]["n"] == [[0, 0, 0], [0, 0, 1], [1, 0, 0]]
    assert decoded_synapses(raw, c) == expected_synapses(raw)


def test_auto_placement_fills_around_explicit_ones():
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 2, "height": 1, "neurons_per_core": 4},
           "populations": [_lif("auto", 3), _lif("fixed", 2, placement=[0, 0])]}
    pl = compile_raw(raw).map["placement"]
    assert pl["fixed"] == [[0, 0, 0], [0, 0, 1]]
    assert pl["auto"] == [[1, 0, 0], [1, 0, 1], [1, 0, 2]]


def test_auto_placement_counts_route_entries():
    # tile (0, 0) has 3 route entries, all taken by the recorded population `a` placed there;
    # `b` would fit its neuron slots, but its own host route would be a fourth: it goes to (1, 0)
    raw = {"format": "neuromesh-network/1",
           "hardware": {"width": 2, "height": 1, "neurons_per_core": 8, "routes_per_core": 3},
           "populations": [_lif("a", 3, record=True, placement=[0, 0]), _lif("b", 1, record=True)]}
    assert compile_raw(raw).map["placement"]["b"] == [[1, 0, 0]]
    # routes live at the source: c on (0, 0) reaching d needs one entry per (tile, weight_exp) of
    # d's neurons; with room for 2, d must not be split over two tiles with two weight_exps
    raw = {"format": "neuromesh-network/1",
           "hardware": {"width": 3, "height": 1, "neurons_per_core": 4, "routes_per_core": 2},
           "populations": [_lif("c", 1, placement=[0, 0]), _lif("filler", 2, placement=[1, 0]), _lif("d", 4)],
           "projections": [{"pre": "c", "post": "d", "weight_exp": e, "weights": [[1, 1, 1, 1]]} for e in (0, 3)]}
    c = compile_raw(raw)
    assert c.map["placement"]["d"] == [[2, 0, s] for s in range(4)]  # the first tile that holds it whole
    assert c.map["usage"][0]["routes"] == [2, 2]
    # one more neuron in d: no core holds 5, any split puts d on 2 tiles, so c needs
    # 2 tiles x 2 weight_exps = 4 route entries at (0, 0): refused, naming them
    raw["populations"][2]["size"] = 5
    raw["projections"] = [{"pre": "c", "post": "d", "weight_exp": e, "weights": [[1] * 5]} for e in (0, 3)]
    with pytest.raises(NetworkError, match=r"tile \(0, 0\): needs 4 route entries, has 2 \(2 too many\)"):
        compile_raw(raw)


# ---------------------------------------------------------------------------------------------
# Capacity refusals: one line naming the tile, the resource and by how much


def compile_cli_fails(tmp_path, capsys, raw):
    path = tmp_path / "network.json"
    path.write_text(json.dumps(raw))
    capsys.readouterr()
    status = main(["compile", str(path), "-o", str(tmp_path / "image.hex")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "image.hex").exists()
    return err.strip().removeprefix(f"neuromesh compile: {path}: ")


def test_too_many_neurons(tmp_path, capsys):
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 2, "height": 2, "neurons_per_core": 8},
           "populations": [_lif("a", 30), _lif("b", 10)]}
    assert compile_cli_fails(tmp_path, capsys, raw) == \
        "populations: the lif populations need 40 neurons, the 2x2 mesh has 32 (8 too many)"
    raw["populations"] = [_lif("a", 10, placement=[1, 0])]
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (1, 0): needs 10 neurons, has 8 (2 too many)"
    raw["populations"] = [_lif("a", 6, placement=[0, 0]), _lif("b", 5, placement=[[1, 1, 2], [0, 0, 3]])]
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (0, 0): needs 9 neurons, has 8 (1 too many)"


def test_too_many_axons(tmp_path, capsys):
    # inputs 0-2 reach n0, inputs 3-5 reach n1: each neuron needs 3 axons, the core has 4
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 1, "height": 1, "axons_per_core": 4},
           "populations": [{"name": "i", "kind": "input", "size": 6}, _lif("n", 2)],
           "projections": [{"pre": "i", "post": "n", "weights": [[1, 0]] * 3 + [[0, 1]] * 3}]}
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (0, 0): needs 6 axons, has 4 (2 too many)"


def test_one_neuron_larger_than_a_core(tmp_path, capsys):
    # 2 sources x 3 weight_exps onto one neuron: 6 axons, whatever the placement
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 2, "height": 2, "axons_per_core": 4},
           "populations": [{"name": "i", "kind": "input", "size": 2}, _lif("m", 1), _lif("n", 2)],
           "projections": [{"pre": "i", "post": "n", "weight_exp": e, "weights": [[1, 0], [1, 0]]} for e in (0, 1, 5)]}
    assert compile_cli_fails(tmp_path, capsys, raw) == (
        "populations[2]: neuron 0 of 'n' alone needs 6 axons (one per source neuron and weight_exp), "
        "a core has 4 (2 too many)")
    raw["hardware"] = {"width": 2, "height": 2, "synapses_per_core": 5}
    raw["projections"][0]["weights"] = [[1, 1], [1, 1]]
    assert compile_cli_fails(tmp_path, capsys, raw) == (
        "populations[2]: neuron 0 of 'n' alone needs 6 synapse entries, a core has 5 (1 too many)")


def test_too_many_synapses(tmp_path, capsys):
    raw = {"format": "neuromesh-network/1",
           "hardware": {"width": 2, "height": 1, "neurons_per_core": 8, "synapses_per_core": 8},
           "populations": [{"name": "i", "kind": "input", "size": 5}, _lif("n", 3)],
           "projections": [{"pre": "i", "post": "n", "weights": [[1, 1, 1]] * 5}]}
    # each neuron brings 5 entries: (0, 0) and (1, 0) take one each; the third fits nowhere and
    # lands on the first tile with a free slot, which then holds 10
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (0, 0): needs 10 synapse entries, has 8 (2 too many)"
    raw["populations"][1]["placement"] = [[1, 0, 1], [0, 0, 2]]
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (0, 0): needs 10 synapse entries, has 8 (2 too many)"
    raw["populations"][1]["placement"] = [1, 0]
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (1, 0): needs 15 synapse entries, has 8 (7 too many)"


def test_too_many_routes(tmp_path, capsys):
    # one recorded neuron reaching itself through 5 weight_exps: 5 axons -> 5 routes + 1 host route
    raw = {"format": "neuromesh-network/1", "hardware": {"width": 1, "height": 1, "routes_per_core": 4},
           "populations": [_lif("n", 1, record=True)],
           "projections": [{"pre": "n", "post": "n", "weight_exp": e, "synapses": [[0, 0, 1]]} for e in range(5)]}
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (0, 0): needs 6 route entries, has 4 (2 too many)"


def test_exactly_full_is_accepted():
    raw = {"format": "neuromesh-network/1",
           "hardware": {"width": 1, "height": 1, "neurons_per_core": 2, "axons_per_core": 3,
                        "synapses_per_core": 6, "routes_per_core": 4},
           "populations": [{"name": "i", "kind": "input", "size": 3}, _lif("n", 2, record=True)],
           "projections": [{"pre": "i", "post": "n", "weights": [[1, 1]] * 3},
                           {"pre": "n", "post": "n", "synapses": []}]}
    c = compile_raw(raw)
    assert c.map["usage"] == [{"tile": [0, 0], "neurons": [2, 2], "axons": [3, 3], "synapses": [6, 6], "routes": [2, 4]}]


# ---------------------------------------------------------------------------------------------
# The command


def test_compile_command_writes_image_and_map(tmp_path, capsys):
    from neuromesh.firmware.image import read_image
    out = tmp_path / "build" / "image.hex"
    assert main(["compile", str(EXAMPLES / "tiny" / "network.json"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(1, 0)" in text and "image written to" in text and "map written to" in text
    m = json.loads((tmp_path / "build" / "image.hex.map.json").read_text())
    assert m["format"] == "neuromesh-map/1" and set(m) >= {"inputs", "outputs", "placement", "usage", "hardware"}
    c = compile_network(load_network(EXAMPLES / "tiny" / "network.json"))
    assert read_image(out) == c.writes
    assert main(["compile", str(EXAMPLES / "tiny" / "network.json"), "-o", str(out), "--map", str(tmp_path / "m.json")]) == 0
    assert json.loads((tmp_path / "m.json").read_text()) == m


# ---------------------------------------------------------------------------------------------
# End to end on the golden model: placement changes timing, never spikes


def reference_spikes(raw, stim):
    """SPEC sections 2-3 computed straight from the raw network JSON (no placement, no mesh):
    an input spike listed for tick t and a lif spike fired in tick t-1 act in tick t."""
    def dec(x, k):
        p = x * k
        return (1 if p > 0 else -1 if p < 0 else 0) * (abs(p) >> 12)

    def wrap24(x):
        x &= (1 << 24) - 1
        return x - (1 << 24) if x >> 23 else x

    lim = (1 << 23) - 1
    pops = {p["name"]: p for p in raw["populations"]}
    lif = [p for p in raw["populations"] if p["kind"] == "lif"]
    state = {p["name"]: [[0, 0, 0] for _ in range(p["size"])] for p in lif}
    syn = expected_synapses(raw)
    fired_prev = {}
    out = {name: [] for name, p in pops.items() if p.get("record")}
    for t in range(1, stim["ticks"] + 1):
        active = {name: set() for name in pops}
        for pop, events in stim["spikes"].items():
            active[pop] |= {i for tt, i in events if tt == t}
        for pop, s in fired_prev.items():
            active[pop] |= s
        acc = {p["name"]: [0] * p["size"] for p in lif}
        for (pre, i, post, j, w, wexp), n in syn.items():
            if i in active[pre]:
                acc[post][j] += n * (w << wexp)
        fired_prev = {}
        for p in lif:
            g = {k: p.get(k, 0) for k in spec.NEURON_PARAMS}
            fired_prev[p["name"]] = set()
            for n, s in enumerate(state[p["name"]]):
                u, v, r = s
                a = max(-32768, min(32767, acc[p["name"]][n]))
                u = wrap24(dec(u, 4096 - (g["du"] + 1)) + (a << 6))
                v = max(-lim, min(lim, dec(v, 4096 - g["dv"]) + u + (g["bias_mant"] << g["bias_exp"])))
                if r > 0:
                    v, r = 0, r - 1
                elif v > (g["vth"] << 6):
                    fired_prev[p["name"]].add(n)
                    r = g["refractory"]
                    v = 0 if g["reset"] == 0 else v - (g["vth"] << 6)
                    if p.get("record"):
                        out[p["name"]].append([t, n])
                s[:] = [u, v, r]
    for name in out:
        if pops[name]["kind"] == "input":
            out[name] = [list(e) for e in stim["spikes"].get(name, [])]
    return {k: sorted(v) for k, v in out.items()}


def random_stimulus(raw, seed, ticks=25):
    rng = random.Random(seed)
    spikes = {}
    for p in raw["populations"]:
        if p["kind"] == "input":
            spikes[p["name"]] = sorted({(rng.randint(1, ticks), rng.randrange(p["size"]))
                                        for _ in range(rng.randint(1, 3 * p["size"]))})
            spikes[p["name"]] = [list(e) for e in spikes[p["name"]]]
    return {"ticks": ticks, "spikes": spikes}


def placement_variants(raw, seed):
    """auto as given; everything on one tile; auto over a 3x3 mesh; explicit random chunks on 3x3."""
    lif_total = sum(p["size"] for p in raw["populations"] if p["kind"] == "lif")
    hw = raw["hardware"]
    one = copy.deepcopy(raw)
    one["hardware"] = {**hw, "neurons_per_core": max(hw["neurons_per_core"], lif_total),
                       "axons_per_core": 256, "synapses_per_core": 1024, "routes_per_core": 512}
    one = with_placement(one, "one")
    wide = copy.deepcopy(raw)
    wide["hardware"] = {**hw, "width": 3, "height": 3, "neurons_per_core": max(4, -(-lif_total // 6))}
    for p in wide["populations"]:
        p.pop("placement", None)
    return {"auto": raw, "one": one, "wide": wide, "spread": with_placement(wide, "spread", seed)}


def _golden_cases():
    cases = []
    for name in ("tiny", "ring", "fanout"):
        raw = json.loads((EXAMPLES / name / "network.json").read_text())
        stim = json.loads((EXAMPLES / name / "stimulus.json").read_text())
        cases.append((name, raw, stim))
    for seed in range(3):
        raw = random_network(100 + seed)
        rng = random.Random(seed)
        for p in raw["populations"]:  # chattier: recorded, a positive bias, some leak and refractoriness
            if p["kind"] == "lif":
                p.update(record=True, vth=rng.randint(2, 20), bias_mant=rng.randint(0, 40), bias_exp=rng.randint(0, 4),
                         dv=rng.randint(0, 600), refractory=rng.randint(0, 3), reset=rng.randint(0, 1))
        cases.append((f"random{seed}", raw, random_stimulus(raw, seed)))
    return cases


@pytest.mark.parametrize("case", _golden_cases(), ids=lambda c: c[0])
def test_golden_spikes_do_not_depend_on_placement(tmp_path, case):
    from neuromesh.engines import run_network
    name, raw, stim = case
    expected = reference_spikes(raw, stim)
    stim_path = tmp_path / "stimulus.json"
    stim_path.write_text(json.dumps(stim))
    placements = set()
    for label, variant in placement_variants(raw, 7).items():
        net_path = tmp_path / f"{label}.json"
        net_path.write_text(json.dumps(variant))
        result = run_network(net_path, stim_path)
        assert result["spikes"] == expected, label
        assert result["stats"]["errors"] == 0
        placements.add(json.dumps(compile_raw(variant).map["placement"], sort_keys=True))
    assert len(placements) >= 3  # the variants really are different placements
    assert sum(len(v) for k, v in expected.items() if k != "in") > 0  # lif neurons do fire


def test_tiny_example_matches_the_hand_calculation():
    """examples/README.md works the tiny example by hand."""
    from neuromesh.engines import run_network
    result = run_network(EXAMPLES / "tiny" / "network.json", EXAMPLES / "tiny" / "stimulus.json")
    exc = {0: [1, 2, 5, 8], 1: [2, 3, 7, 8], 2: [2, 5, 8]}
    out = {0: [2, 3, 4, 6, 8, 9], 1: [3, 6, 9]}
    assert result["spikes"]["exc"] == sorted([t, i] for i, ts in exc.items() for t in ts)
    assert result["spikes"]["out"] == sorted([t, i] for i, ts in out.items() for t in ts)


def test_overflow_beyond_a_field_width_is_still_a_clean_refusal(tmp_path, capsys):
    # 5000 axons on a core of 4096: axon numbers past 4095 do not even fit a flit's axon field
    raw = {"format": "neuromesh-network/1",
           "hardware": {"width": 1, "height": 1, "neurons_per_core": 4096, "axons_per_core": 4096},
           "populations": [{"name": "i", "kind": "input", "size": 5000}, _lif("n", 2)],
           "projections": [{"pre": "i", "post": "n", "synapses": [[k, k % 2, 1] for k in range(5000)]}]}
    assert compile_cli_fails(tmp_path, capsys, raw) == "tile (0, 0): needs 5000 axons, has 4096 (904 too many)"


def test_per_neuron_parameters_land_in_each_slot():
    """Network format 2: a list gives each neuron its own value (decoded by hand from the
    param0/param1 layouts of docs/architecture.md section 6: du [11:0], reset [31]; vth [16:0],
    bias_mant [29:17] signed)."""
    raw = {"format": "neuromesh-network/2", "hardware": {"width": 2, "height": 1, "neurons_per_core": 4},
           "populations": [{"name": "n", "kind": "lif", "size": 6, "vth": [10, 11, 12, 13, 14, 15],
                            "bias_mant": [-1, 0, 1, -4096, 4095, 7], "du": 9, "reset": [0, 1, 0, 1, 0, 1],
                            "placement": [[1, 0, 2], [0, 0, 4]]}]}
    c = compile_raw(raw)
    data = dict(c.writes)
    for i, (x, y, slot) in enumerate(c.map["placement"]["n"]):
        w0 = data[spec.tile_addr(x, y, "param", 2 * slot)]
        w1 = data[spec.tile_addr(x, y, "param", 2 * slot + 1)]
        assert (field(w0, 0, 12), field(w0, 31, 1)) == (9, raw["populations"][0]["reset"][i])
        assert (field(w1, 0, 17), field(w1, 17, 13, signed=True)) == (10 + i, raw["populations"][0]["bias_mant"][i])
    assert data[spec.tile_addr(0, 0, "active", 0)] == 4 and data[spec.tile_addr(1, 0, "active", 0)] == 2


def test_a_tile_holding_no_neuron_writes_no_slot_and_a_zero_count():
    raw = {"format": "neuromesh-network/2", "hardware": {"width": 2, "height": 2, "neurons_per_core": 4},
           "populations": [{"name": "in", "kind": "input", "size": 1},
                           {"name": "n", "kind": "lif", "size": 2, "vth": 1, "placement": [0, 0]}],
           "projections": [{"pre": "in", "post": "n", "weights": [[1, 1]]}]}
    c = compile_raw(raw)
    by_tile = Counter()
    for addr, data in c.writes:
        d = spec.decode_addr(c.params, addr)
        if d.region in ("param", "state", "acc0", "acc1", "rlist"):
            by_tile[(d.x, d.y)] += 1
        if d.region == "active":
            assert data == (2 if (d.x, d.y) == (0, 0) else 0)
    assert set(by_tile) == {(0, 0)}
