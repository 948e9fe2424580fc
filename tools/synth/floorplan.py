"""A floorplan for nextpnr: each tile's block RAMs fixed where its mesh position says.

Left to itself, nextpnr's placer scatters a large mesh over the ECP5-85F: on the 4 x 4 (192 of
the 208 block RAMs) tiles ended up far from their mesh neighbours and each one's logic spread
across the die after its block RAMs, so wires inside a tile ran 10-19 ns (docs/fpga.md section
3). The block RAMs are the cells whose sites are fewest and fixed in rows, so fixing them by
mesh position is enough: mesh row y takes a block RAM row of the die, the tiles of a mesh row
sit side by side along it in mesh order, and the placer then pulls each tile's logic around its own block RAMs and the hop
registers between neighbours. nextpnr honours a cell's `BEL` attribute as a fixed placement.

The ECP5-85F's block RAM sites (DP16KD) as nextpnr-ecp5 names them, read off its placements of
the 4 x 4 (`NEXTPNR_BEL` of the placed JSON): four rows (Y 22, 46, 70, 82) of 52 sites, in
groups of four columns whose sites are EBR0..EBR3.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

ECP5_85K_EBR_ROWS = (22, 46, 70, 82)
ECP5_85K_EBR_COLUMNS = (4, 6, 8, 10, 13, 15, 17, 19, 22, 24, 26, 28, 31, 33, 35, 37, 40, 42, 44, 46,
                        49, 51, 53, 55, 58, 60, 62, 64, 69, 71, 73, 75, 78, 80, 82, 84, 87, 89, 91, 93,
                        96, 98, 100, 102, 105, 107, 109, 111, 114, 116, 118, 120)

_TILE = re.compile(r"(?:^|\.)tile_(\d+)_(\d+)\.")


def ecp5_85k_brams(names: list[str]) -> tuple[dict[str, str], str]:
    """Block RAM cell name -> DP16KD site, and a line saying what was done (or why nothing
    was). Mesh row y -> block RAM row (the middle rows when the mesh has fewer than four); in
    the row, the tiles side by side in mesh order, `per` sites each (the most any tile has),
    the mesh centred; a tile's block RAMs in name order (a table's side by side)."""
    per_tile = defaultdict(list)
    for name in names:
        m = _TILE.search(name)
        if m is None:
            return {}, f"no floorplan: block RAM `{name}` belongs to no tile"
        per_tile[(int(m.group(1)), int(m.group(2)))].append(name)
    if not per_tile:
        return {}, "no floorplan: no block RAMs"
    width = 1 + max(x for x, _ in per_tile)
    height = 1 + max(y for _, y in per_tile)
    most = max(len(v) for v in per_tile.values())
    rows, columns = ECP5_85K_EBR_ROWS, ECP5_85K_EBR_COLUMNS
    if height > len(rows):
        return {}, f"no floorplan: {height} mesh rows, the part has {len(rows)} block RAM rows"
    if width * most > len(columns):
        return {}, (f"no floorplan: {width} tiles of {most} block RAMs a row, "
                    f"the part has {len(columns)} sites a row")
    first_row = (len(rows) - height) // 2
    first_site = (len(columns) - width * most) // 2
    sites = {}
    for (x, y), tile_names in per_tile.items():
        for i, name in enumerate(sorted(tile_names)):
            k = first_site + x * most + i
            sites[name] = f"X{columns[k]}/Y{rows[first_row + y]}/EBR{k % 4}"
    return sites, (f"block RAMs fixed per tile: {height} mesh rows on block RAM rows "
                   f"{', '.join(map(str, rows[first_row:first_row + height]))}, {most} sites a tile "
                   f"from site {first_site} of {len(columns)}")


FLOORPLANS = {"ecp5-85k": ecp5_85k_brams}


def apply(target_name: str, netlist: Path, out: Path) -> str | None:
    """Write `netlist` (yosys JSON) to `out` with the target's floorplan as `BEL` attributes;
    the line saying what was done, or None when the target has no floorplan (nothing written)."""
    plan = FLOORPLANS.get(target_name)
    if plan is None:
        return None
    design = json.loads(netlist.read_text())
    top = next(m for m in design["modules"].values() if m.get("attributes", {}).get("top"))
    brams = [n for n, c in top["cells"].items() if c["type"] == "DP16KD"]
    sites, said = plan(brams)
    for name, site in sites.items():
        top["cells"][name].setdefault("attributes", {})["BEL"] = site
    out.write_text(json.dumps(design))
    return said
