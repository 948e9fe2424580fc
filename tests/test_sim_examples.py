"""The bundled examples end to end on the golden engine (validate, compile, run), and the
plots of a result."""
from pathlib import Path

import pytest

from neuromesh.engines import run_network

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_tiny_spikes_and_first_tick_cycles_by_hand():
    r = run_network(EXAMPLES / "tiny" / "network.json", EXAMPLES / "tiny" / "stimulus.json")
    # examples/README.md, worked by hand.
    want = {"exc": {0: [1, 2, 5, 8], 1: [2, 3, 7, 8], 2: [2, 5, 8]},
            "out": {0: [2, 3, 4, 6, 8, 9], 1: [3, 6, 9]}}
    for pop, per_neuron in want.items():
        assert r["spikes"][pop] == sorted([t, n] for n, ticks in per_neuron.items() for t in ticks)
    # Tick 1: in0's flit (one axon, 2 synapses on tile (0,0)) offered and taken in 0, into the
    # core's hop register in 1, walker in c = 2, last write c + 2 + 5 = 9 (architecture 4.2),
    # idle from 10, so `busy` (registered, section 5) low and the handshake in 11. Start pulse
    # 12; exc0 (slot 0) fires in 11 + 8 = 19 (4.3), pop 22, LIST 24, route flits offered in 26
    # (to (1,0)) and 27 (host) (4.4): the host flit leaves in 28; the first one is east in 27
    # (into the hop register), in (1,0)'s FIFO in 28, its core's hop register in 29, taken by its
    # walker in 30 (1 synapse): idle from 30 + 1 + 6 = 37, `busy` low from 38 = q1 (the
    # updaters were done after 11 + 3 + 7).
    assert r["handshakes"][0] == 11
    assert r["completions"][0] == 38
    assert r["output_flits"][0]["cycle"] == 28
    assert r["output_flits"][0]["population"] == "exc" and r["output_flits"][0]["index"] == 0


@pytest.mark.parametrize("name", ["tiny", "ring", "fanout"])
def test_examples_conserve_flits(name):
    r = run_network(EXAMPLES / name / "network.json", EXAMPLES / name / "stimulus.json")
    c = r["counters"]
    entered = sum(core["flits_sent"] for core in c["cores"]) + r["stats"]["flits_host"]
    left = (sum(rt["fwd_local"] for rt in c["routers"]) + c["routers"][0]["fwd_west"]
            + sum(rt["errors"] for rt in c["routers"]))
    assert entered == left
    assert c["routers"][0]["fwd_west"] == len(r["output_flits"])
    assert c["chip"]["ticks"] == r["stats"]["ticks"] == len(r["handshakes"])
    assert r["stats"]["cycles"] == r["completions"][-1]
    assert all(h < q for h, q in zip(r["handshakes"], r["completions"]))
    assert all(q <= h for q, h in zip(r["completions"], r["handshakes"][1:]))
    links = {(str(l["from"]), str(l["to"])): l["flits"] for l in r["links"]}
    assert links[("[0, 0]", "host")] == len(r["output_flits"])
    assert sum(v for (a, b), v in links.items() if "host" not in (a, b)) == r["stats"]["hops"]
    assert r["stats"]["errors"] == 0


def test_write_plots(tmp_path):
    from neuromesh.tools.plots.result import links_from_counters, write_plots
    r = run_network(EXAMPLES / "ring" / "network.json", EXAMPLES / "ring" / "stimulus.json")
    paths = write_plots(r, tmp_path / "plots")
    # latency.png: the recorded neurons' flits carry their latency (result field latency_ps)
    assert [p.name for p in paths] == ["raster.png", "links.png", "energy.png", "ticks.png", "latency.png",
                                       "energy_map.png", "energy_ticks.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the link loads rebuilt from the counters (an RTL result has no "links") agree
    def key(ls):
        return sorted((str(l["from"]), str(l["to"]), l["flits"]) for l in ls)
    assert key(links_from_counters(r)) == key(r["links"])
    no_links = {k: v for k, v in r.items() if k != "links"}
    assert len(write_plots(no_links, tmp_path / "again")) == 7
    no_latency = dict(r, output_flits=[{k: v for k, v in f.items() if k != "latency_ps"} for f in r["output_flits"]])
    assert len(write_plots(no_latency, tmp_path / "third")) == 6
    # an RTL result: counters read once, so no energy per tick and no plot of it
    rtl_like = dict(no_links, energy={k: v for k, v in r["energy"].items() if k != "per_tick"})
    assert "energy_ticks.png" not in [p.name for p in write_plots(rtl_like, tmp_path / "rtl")]
