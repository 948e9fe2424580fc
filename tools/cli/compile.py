"""`neuromesh compile NET -o IMAGE [--map FILE]`: the configuration image and its map (SPEC
section 7), written together or not at all, and the per-tile usage table. NET may be a `.nir` file
(converted as `neuromesh import` does, with the same options)."""
from __future__ import annotations

import json
from pathlib import Path

from neuromesh.firmware.compiler import RESOURCES, compile_network
from neuromesh.firmware.image import format_image
from neuromesh.outputs import Outputs
from neuromesh.tools.cli.importer import load_any_network


def usage_table(usage: list) -> str:
    head = f"{'tile':>8}  " + "  ".join(f"{label:>16}" for _k, _c, label in RESOURCES)
    lines = [head]
    for entry in usage:
        x, y = entry["tile"]
        cells = "  ".join(f"{entry[k][0]:>7} / {entry[k][1]:<6}" for k, _c, _l in RESOURCES)
        lines.append(f"{f'({x}, {y})':>8}  {cells}")
    return "\n".join(lines)


def default_map_path(image_path) -> Path:
    image_path = Path(image_path)
    return image_path.with_name(image_path.name + ".map.json")


def compile_command(args) -> int:
    image_path = Path(args.output)
    map_path = Path(args.map) if args.map else default_map_path(image_path)
    net = load_any_network(args)   # a .nir file is converted in memory (tools/nir)
    compiled = compile_network(net)
    with Outputs() as out:
        out.write_text(image_path, format_image(compiled.writes, [f"network: {net.path}"], compiled.params,
                                                where=str(image_path)))
        out.write_text(map_path, json.dumps(compiled.map, indent=1) + "\n")
    print(f"{net.path}: {sum(p['size'] for p in net.populations if p['kind'] == 'lif')} lif neurons, "
          f"{sum(len(pr['synapses']) for pr in net.projections)} synapses on a "
          f"{compiled.params.width}x{compiled.params.height} mesh")
    print(usage_table(compiled.map["usage"]))
    print(f"image written to {image_path} ({len(compiled.writes)} writes)")
    print(f"map written to {map_path}")
    return 0
