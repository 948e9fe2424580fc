"""Energy: event counts from counters (hand-worked), static tile-edges over clock domains, the
built-in profiles against their published figures written out here, the refusal of bad
profiles, and the result's energy maps, ranges, per-tick energy and NeuroBench figures on a real
golden run (whose parts must add up to its totals)."""
import json
import math
from pathlib import Path

import pytest

from neuromesh import spec
from neuromesh.energy import (BUILTIN, EVENTS, KEYS, ProfileError, energy_bounds,
                              energy_from_counts, load_profile, tile_edges)
from neuromesh.energy_report import event_counts, tick_counts
from neuromesh.spec import NeuroMeshError
from neuromesh.tools.cli import main

TINY = Path(__file__).resolve().parent.parent / "examples" / "tiny"


def _counters(p):
    cores = [dict.fromkeys(spec.CORE_COUNTERS, 0) for _ in range(p.n_tiles)]
    routers = [dict.fromkeys(spec.ROUTER_COUNTERS, 0) for _ in range(p.n_tiles)]
    return {"chip": {"ticks": 0, "busy_cycles": 0}, "cores": cores, "routers": routers}


# ----------------------------------------------------------------------------------------------
# Counting


def test_event_counts_do_not_charge_the_host_exit_as_a_hop():
    p = spec.HwParams(width=2, height=2)
    c = _counters(p)
    c["routers"][0]["fwd_west"] = 5        # (0,0) west = spike_out, not a link
    c["routers"][1]["fwd_west"] = 2        # (1,0) -> (0,0): a hop
    c["routers"][2]["fwd_south"] = 3       # (0,1) -> (0,0)
    c["cores"][3].update(sops=7, updates=10, spikes=4, flits_sent=6)
    e = event_counts(c, p, cycles=100)
    assert e == {"sop": 7, "update_idle": 6, "update_active": 4, "spike": 6, "hop_ew": 2, "hop_ns": 3,
                 "async_on_chip": 0, "async_off_chip": 0, "static": 400}
    assert event_counts(c, p, cycles=None)["static"] == 0      # no clock (functional engine)


def test_tile_edges_by_hand():
    # 2x1 mesh, tile (1, 0) in a 7 ns domain with a 3 ns phase: edges 3000, 10000, 17000, 24000 ...
    p = spec.HwParams(width=2, height=1)
    clocks = spec.Clocks(10000, (spec.ClockDomain((1, 0, 1, 0), 7000, 3000),)).check(p)
    assert tile_edges(p, clocks, 20000) == [2, 3]            # domain 0: 0, 10000
    assert tile_edges(p, clocks, 20000, 10000) == [1, 2]     # 10000; 10000 and 17000
    assert tile_edges(p, clocks, 17000, 10001) == [0, 0]     # [10001, 17000) holds none
    assert tile_edges(p, clocks, 3000) == [1, 0]             # domain 1's first edge is at 3000
    assert tile_edges(p, None, 30000) == [3, 3]              # one domain: 0, 10000, 20000: the cycles


def test_async_crossings_and_tile_edges_over_two_domains():
    # 2x1 mesh, tile (1, 0) its own domain (7 ns, phase 3 ns), chips of a board.
    p = spec.HwParams(width=2, height=1)
    clocks = spec.Clocks(10000, (spec.ClockDomain((1, 0, 1, 0), 7000, 3000),), "off_chip").check(p)
    c = _counters(p)
    c["routers"][0]["fwd_east"] = 5        # (0,0) -> (1,0): crosses
    c["routers"][1]["fwd_west"] = 2        # (1,0) -> (0,0): crosses
    c["routers"][0]["fwd_west"] = 4        # to the host
    assert tile_edges(p, clocks, 20000) == [2, 3]   # domain 0: 0, 10000; domain 1: 3000, 10000, 17000
    e = event_counts(c, p, cycles=2, clocks=clocks)
    assert (e["hop_ew"], e["async_off_chip"], e["async_on_chip"], e["static"]) == (7, 7, 0, 5)
    on_chip = spec.Clocks(10000, clocks.domains, "on_chip").check(p)
    assert event_counts(c, p, cycles=2, clocks=on_chip)["async_on_chip"] == 7
    # The engines' per-link counters (SPEC 8, read_counters' "links") are believed as they stand.
    c["links"] = [{"tile": [1, 0], "port": "west", "crossed": 1}]
    assert event_counts(c, p, cycles=2, clocks=clocks)["async_off_chip"] == 1


def test_static_counts_each_tile_edges_of_its_own_clock_and_crossings_by_link_kind():
    """(The lead's, moved here from test_host_result_energy.py.) SPEC 8: static per tile per
    rising edge of its domain's clock in [0, end); an asynchronous crossing counts by the `links`
    kind. 2x2 mesh, tile (1, 1) in domain 1 (period 3000 ps, phase 1000); run of 100 domain-0
    cycles of 10000 ps: end at 1,000,000 ps. Domain 0: three tiles x 100 edges; domain 1: edges
    at 1000 + 3000 n < 1e6, n = 0 .. 332: 333 edges."""
    p = spec.HwParams(width=2, height=2)
    c = _counters(p)
    c["links"] = [{"tile": [1, 1], "port": "west", "crossed": 4}, {"tile": [0, 1], "port": "east", "crossed": 1}]
    for links, on, off in (("on_chip", 5, 0), ("off_chip", 0, 5)):
        clocks = spec.Clocks(10000, (spec.ClockDomain((1, 1, 1, 1), 3000, 1000),), links)
        e = event_counts(c, p, cycles=100, clocks=clocks)
        assert (e["static"], e["async_on_chip"], e["async_off_chip"]) == (3 * 100 + 333, on, off)


def test_tick_counts_from_totals_by_hand():
    p = spec.HwParams(width=2, height=1)
    zero_r = dict.fromkeys(spec.ROUTER_COUNTERS, 0)
    s1 = {"cores": dict(sops=4, updates=3, spikes=1, flits_sent=2, errors=0),
          "routers": dict(zero_r, fwd_east=2, fwd_west=1), "host_exit": 1}
    s2 = {"cores": dict(sops=10, updates=6, spikes=3, flits_sent=5, errors=0),
          "routers": dict(zero_r, fwd_east=3, fwd_west=4, fwd_north=0), "host_exit": 3}
    t1, t2 = tick_counts([s1, s2], [5, 12], p)
    assert t1 == {"sop": 4, "update_idle": 2, "update_active": 1, "spike": 2, "hop_ew": 2, "hop_ns": 0,
                  "async_on_chip": 0, "async_off_chip": 0, "static": 10}         # 2 tiles x 5 cycles
    assert t2 == {"sop": 6, "update_idle": 1, "update_active": 2, "spike": 3, "hop_ew": 2, "hop_ns": 0,
                  "async_on_chip": 0, "async_off_chip": 0, "static": 14}         # (4 - 2) hops, 2 x 7


# ----------------------------------------------------------------------------------------------
# The built-in profiles, against the published figures written out here


def test_loihi_energy_sums_table_2_figures():
    prof = load_profile("loihi")
    counts = {"sop": 10, "update_idle": 2, "update_active": 1, "spike": 3, "hop_ew": 4, "hop_ns": 5,
              "async_on_chip": 2, "async_off_chip": 1, "static": 100}
    # Davies et al. 2018, Table 2: 23.6, 52, 81, 1.7, 3.0, 4.0 pJ; off-chip 32 x 0.54 pJ/bit.
    assert energy_from_counts(prof, counts)["total"] == pytest.approx(236 + 104 + 81 + 5.1 + 12 + 20 + 17.28, abs=0.05)
    b = energy_bounds(prof, counts)
    # high: SANA-FE's dense synapse 35.5, an active update 81 for idle ones too, a hop per crossing
    assert b["high"]["total"] == pytest.approx(355 + 162 + 81 + 5.1 + 12 + 20 + 8 + 200)
    assert b["low"]["total"] == pytest.approx(energy_from_counts(prof, counts)["total"])


def test_sanafe_profile_maps_the_architecture_file():
    # SLAM-Lab/SANA-FE arch/loihi.yaml at c55bfa87a0d9: access 51.2, update 21.6, spike_out 69.3,
    # axon_out 111, synapse dense 35.5 / sparse 33.6 / conv 24.0, hops 3.0 E-W and 4.2 N-S (pJ);
    # hop latency 4.1 / 6.5 ns.
    e = load_profile("sanafe_loihi")["energy"]
    assert e["sop_pj"]["pj"] == 33.6 and (e["sop_pj"]["low"], e["sop_pj"]["high"]) == (24.0, 35.5)
    assert e["update_idle_pj"]["pj"] == pytest.approx(51.2 + 21.6) and e["update_idle_pj"]["low"] == 51.2
    assert e["update_active_pj"]["pj"] == pytest.approx(51.2 + 21.6 + 69.3)
    assert e["update_active_pj"]["low"] == pytest.approx(51.2 + 69.3)
    assert e["spike_pj"]["pj"] == 111.0
    assert (e["hop_ew_pj"]["pj"], e["hop_ns_pj"]["pj"]) == (3.0, 4.2)
    lat = load_profile("sanafe_loihi")["latency_ns"]
    assert (lat["hop_ew"]["ns"], lat["hop_ns"]["ns"]) == (4.1, 6.5)


def test_truenorth_profile_splits_the_26_pj_as_its_derivation_says():
    e = load_profile("truenorth")["energy"]
    events_per_hz = 1_048_576 * 128                       # neurons x active synapses
    slope_w_per_hz = (94e-3 - 68e-3) / (95.93 - 11.58)    # the sweep's end points
    intercept_w = 68e-3 - slope_w_per_hz * 11.58
    assert e["sop_pj"]["pj"] == pytest.approx(slope_w_per_hz / events_per_hz * 1e12, rel=0.01)
    assert e["sop_pj"]["high"] == 26.0                    # Merolla 2014's all-in average
    assert e["static_pj_per_tile_edge"]["pj"] == pytest.approx(intercept_w / 4096 * 10e-9 * 1e12, rel=0.01)
    assert e["static_pj_per_tile_edge"]["high"] == pytest.approx(65e-3 / 4096 * 10e-9 * 1e12, rel=0.01)
    # At the benchmark point (20 Hz) the zero-activity share is most of the 26 pJ.
    p20 = intercept_w + slope_w_per_hz * 20.07
    assert 0.85 < intercept_w / p20 < 0.95


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_value_has_a_source_and_says_what_it_includes(name):
    prof = load_profile(name)
    assert set(prof["energy"]) == set(KEYS)
    for key, e in prof["energy"].items():
        assert e["low"] <= e["pj"] <= e["high"], key
        assert e["citation"] == prof["sources"][e["source"]], key   # every source names a full citation
        assert e.get("includes"), f"{name}.{key}: no note on what it includes"
    # Reloadable as it stands: the normalised form is the file format.
    again = json.loads(json.dumps(prof))
    from neuromesh.energy import check_profile
    assert check_profile(again, "copy")["energy"] == prof["energy"]


# ----------------------------------------------------------------------------------------------
# Bad profiles: one line, the file and the field, before any run


def _good(**energy):
    prof = {"name": "mine", "source": "my bench, 2025",
            "energy": {k: 1.0 for k in KEYS}}
    prof["energy"].update(energy)
    return prof


BAD = {
    "nested": (("[" * 1000 + "]" * 1000).encode(), "nested deeper"),
    "not_utf8": (b'{"name": "caf\xe9"}', "not UTF-8"),
    "huge_int": (json.dumps(_good()).replace('"sop_pj": 1.0', '"sop_pj": ' + "9" * 400).encode(), "400 digits"),
    "nan": (json.dumps(_good()).replace('"sop_pj": 1.0', '"sop_pj": NaN').encode(), "NaN"),
    "infinity": (json.dumps(_good()).replace('"sop_pj": 1.0', '"sop_pj": Infinity').encode(), "Infinity"),
    "minus_infinity": (json.dumps(_good()).replace('"sop_pj": 1.0', '"sop_pj": -Infinity').encode(), "-Infinity"),
    "overflow": (json.dumps(_good()).replace('"sop_pj": 1.0', '"sop_pj": 1e999').encode(), "overflows"),
    "negative": (json.dumps(_good(hop_ns_pj=-1)).encode(), "hop_ns_pj: must not be negative"),
    "bool": (json.dumps(_good(spike_pj=True)).encode(), "spike_pj: must be a number"),
    "missing": (json.dumps({"source": "x", "energy": {k: 1 for k in KEYS[1:]}}).encode(), "sop_pj: missing"),
    "unknown": (json.dumps(_good(sop_pJ=1)).encode(), "energy.sop_pJ: unknown"),
    "range": (json.dumps(_good(sop_pj={"pj": 2, "low": 3, "source": "x"})).encode(), "low <= pj <= high"),
    "no_source": (json.dumps({"energy": {k: 1 for k in KEYS}}).encode(), "needs the profile's \"source\""),
    "absurd": (json.dumps(_good(sop_pj=1e12)).encode(), "unit mistake"),
    "broken": (b"{", "line 1: malformed JSON"),
    "not_object": (b"[1, 2]", "must be a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_profiles_are_refused_in_one_line(tmp_path, case):
    data, needle = BAD[case]
    path = tmp_path / f"{case}.json"
    path.write_bytes(data)
    with pytest.raises(NeuroMeshError) as err:   # ProfileError, or jsonfile's JsonFileError for the syntax
        load_profile(str(path))
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg and needle in msg, msg


@pytest.mark.parametrize("case", ["nested", "huge_int", "nan", "not_utf8"])
def test_cli_refuses_a_bad_profile_before_any_run(capsys, tmp_path, monkeypatch, case):
    import neuromesh.engines as engines

    def no_run(name):
        raise AssertionError("the engine ran before the profile was checked")
    monkeypatch.setattr(engines, "engine_run", no_run)
    path = tmp_path / "p.json"
    path.write_bytes(BAD[case][0])
    out = tmp_path / "r.json"
    assert main(["run", str(TINY / "network.json"), "--stimulus", str(TINY / "stimulus.json"),
                 "-o", str(out), "--energy", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and str(path) in err, err
    assert not out.exists()


def test_a_user_profile_in_the_flat_format_of_version_1_still_loads(tmp_path):
    flat = {"name": "old", "source": "my bench", "sop_pj": 1.0, "update_idle_pj": 2.0, "update_active_pj": 3.0,
            "spike_pj": 0.5, "hop_ew_pj": 1.0, "hop_ns_pj": 1.0, "async_crossing_on_chip_pj": 0.0,
            "async_crossing_off_chip_pj": 10.0, "static_pj_per_tile_cycle": 0.25}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(flat))
    prof = load_profile(str(path))
    assert prof["energy"]["static_pj_per_tile_edge"]["pj"] == 0.25   # the old name, the same meaning
    assert energy_from_counts(prof, {"sop": 2, "static": 4})["total"] == 3.0


# ----------------------------------------------------------------------------------------------
# A real run: the maps and per-tick energy add up to the totals


@pytest.fixture(scope="module")
def tiny_result():
    from neuromesh.engines import run_network
    return run_network(TINY / "network.json", TINY / "stimulus.json", profile="sanafe_loihi")


def test_tiny_run_counts_only_real_updates_and_adds_up(tiny_result):
    r = tiny_result
    e = r["energy"]
    # 5 neurons (3 + 2) for 10 ticks: 50 updates, none of them an empty slot of the 8-slot cores.
    assert e["counts"]["update_idle"] + e["counts"]["update_active"] == 50
    assert e["pj"]["total"] == pytest.approx(sum(v for k, v in e["pj"].items() if k != "total"))
    maps = sum(c["pj"]["total"] for c in e["by_core"]) + sum(l["pj"] for l in e["by_link"])
    assert maps == pytest.approx(e["pj"]["total"])
    # every tile leaks, used or not: 4 tiles x the run's cycles
    assert e["counts"]["static"] == 4 * r["stats"]["cycles"]
    per_tick = e["per_tick"]
    assert len(per_tick) == 10
    for ev in EVENTS:
        assert sum(t["counts"][ev] for t in per_tick) == e["counts"][ev], ev
    assert sum(t["pj"]["total"] for t in per_tick) == pytest.approx(e["pj"]["total"])
    assert per_tick[0]["counts"]["update_idle"] + per_tick[0]["counts"]["update_active"] == 5
    assert e["low"]["total"] <= e["pj"]["total"] <= e["high"]["total"]
    assert set(e["profiles"]) == set(BUILTIN)
    json.dumps(r, allow_nan=False)   # strict JSON


def test_tiny_neurobench_figures_by_hand(tiny_result):
    w = tiny_result["workload"]
    # in -> exc: 2 x 3 with 4 synapses; exc -> out: one 3 x 2 matrix for both weight_exp
    # projections, 4 nonzero pairs.
    assert w["synaptic_operations"]["Dense"] == 12
    assert w["connection_sparsity"] == pytest.approx(1 - 8 / 12)
    assert w["synaptic_operations"]["Effective_ACs"] == tiny_result["stats"]["sops"]
    assert w["synaptic_operations"]["Effective_MACs"] == 0
    s = tiny_result["stats"]
    assert w["activation_sparsity"] == pytest.approx(1 - s["spikes_fired"] / s["updates"])
    from neuromesh.firmware.compiler import compile_network
    from neuromesh.firmware.netfile import load_network
    writes = compile_network(load_network(TINY / "network.json")).writes
    assert w["footprint"] == 4 * len({a for a, _ in writes})
    assert not math.isnan(w["activation_sparsity"])


def test_the_example_profile_in_docs_energy_md_loads(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "docs" / "energy.md").read_text()
    block = text.split("```json\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "mine.json"
    path.write_text(block)
    prof = load_profile(str(path))
    assert prof["name"] == "mychip" and prof["energy"]["sop_pj"]["high"] == 9.0
    assert prof["energy"]["sop_pj"]["citation"].startswith("Our measurements")


def test_an_engine_may_give_each_tiles_clock_edges():
    from neuromesh.result import EngineRun, build_result
    p = spec.HwParams(width=2, height=1, neurons_per_core=4)
    run = EngineRun(out_flits=[], handshakes=[1], completions=[10], counters=_counters(p), host_flits=0,
                    extras={"tile_edges": [10, 7]})
    r = build_result(run, engine="golden", params=p, chip_map={"outputs": {}}, populations=[], stimulus={},
                     ticks=1, profile="truenorth")
    assert r["energy"]["counts"]["static"] == 17 and "tile_edges" not in r
    assert [c["counts"]["static"] for c in r["energy"]["by_core"]] == [10, 7]
    assert r["energy"]["pj"]["static"] == pytest.approx(17 * 0.157)


def test_a_board_of_two_chips_charges_its_off_chip_crossings_per_link_and_per_tick():
    from neuromesh.engines import run_network
    ex = TINY.parent / "two_chips"
    r = run_network(ex / "network.json", ex / "stimulus.json")
    e = r["energy"]
    assert e["counts"]["async_off_chip"] == r["stats"]["async_crossings"] > 0 and e["counts"]["async_on_chip"] == 0
    assert sum(t["counts"]["async_off_chip"] for t in e["per_tick"]) == e["counts"]["async_off_chip"]
    assert sum(t["counts"]["static"] for t in e["per_tick"]) == e["counts"]["static"]
    crossing = [l for l in e["by_link"] if l["async"]]
    assert {tuple(l["from"][:1]) + tuple(l["to"][:1]) for l in crossing} == {(1, 2), (2, 1)}  # the chip edge
    maps = sum(c["pj"]["total"] for c in e["by_core"]) + sum(l["pj"] for l in e["by_link"])
    assert maps == pytest.approx(e["pj"]["total"])
    # the second chip's tiles leak on their own 12.5 ns clock (phase 3 ns): fewer edges than chip 0's
    static = {tuple(c["tile"]): c["counts"]["static"] for c in e["by_core"]}
    assert static[(0, 0)] == r["stats"]["cycles"] and static[(3, 1)] < static[(0, 0)]


def test_static_figures_count_each_nonzero_pair_once_by_hand():
    """Duplicate entries, zero weights and two projections between the same populations (one as
    `Synapses` arrays, one as a plain list) count each nonzero (pre, post) neuron pair once."""
    from types import SimpleNamespace
    from neuromesh.firmware.netfile import Synapses
    from neuromesh.workload import static_figures
    net = SimpleNamespace(
        populations=[{"name": "a", "size": 3}, {"name": "b", "size": 4}],
        projections=[
            {"pre": "a", "post": "b", "synapses": Synapses.from_rows([[0, 1, 5], [0, 1, 7], [2, 3, 0], [1, 0, -2]])},
            {"pre": "a", "post": "b", "synapses": [(0, 1, 3), (2, 3, 1)]},
            {"pre": "b", "post": "b", "synapses": [(3, 3, 0)]},
        ])
    writes = [(0x10, 1), (0x10, 2), (0x20, 3)]
    f = static_figures(net, writes)
    # a -> b: pairs (0, 1), (1, 0), (2, 3) nonzero = 3 of 12; b -> b: 0 of 16
    assert f["connections"] == 3
    assert f["dense_synops"] == 12 + 16
    assert f["connection_sparsity"] == pytest.approx(1 - 3 / 28)
    assert f["footprint"] == 8   # two distinct addresses
