"""`neuromesh compile NET -o IMAGE [--map FILE]`: the configuration image and its map (SPEC
section 7), written together or not at all, and the per-tile usage table. An IMAGE ending in
`.npz` is the binary image format (firmware/image.py), for large networks. NET may be a `.nir`
file (converted as `neuromesh import` does, with the same options)."""
from __future__ import annotations

import json
from pathlib import Path

from neuromesh.firmware.compiler import RESOURCES, compile_network
from neuromesh.firmware.image import format_image, save_npz
from neuromesh.outputs import Outputs, check_targets
from neuromesh.text import printable
from neuromesh.tools.cli.importer import load_any_network


def is_binary_name(path) -> bool:
    return str(path).endswith(".npz")


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
    check_targets([image_path, map_path])  # before the compiler's work, not after it
    net = load_any_network(args)   # a .nir file is converted in memory (tools/nir)
    compiled = compile_network(net)
    comments = [f"network: {net.path}"]
    with Outputs() as out:
        if is_binary_name(image_path):   # IMAGE.npz: the binary image (firmware/image.py)
            with open(out.path(image_path), "wb") as f:
                save_npz(f, compiled.writes, comments, compiled.params)
        else:
            out.write_text(image_path, format_image(compiled.writes, comments, compiled.params, where=str(image_path)))
        out.write_text(map_path, json.dumps(compiled.map, indent=1 if len(compiled.writes) < 1_000_000 else None) + "\n")
    print(f"{printable(net.path)}: {sum(p['size'] for p in net.populations if p['kind'] == 'lif')} lif neurons, "
          f"{sum(len(pr['synapses']) for pr in net.projections)} synapses on a "
          f"{compiled.params.width}x{compiled.params.height} mesh")
    usage = compiled.map["usage"]
    if len(usage) <= 64:
        print(usage_table(usage))
    else:   # a big mesh: the fullest tiles only
        print(usage_table(sorted(usage, key=lambda u: -max(u[k][0] / u[k][1] for k, _c, _l in RESOURCES))[:16]))
        print(f"(the 16 fullest of {len(usage)} tiles; every tile is in the map's usage)")
    print(f"image written to {printable(image_path)} ({len(compiled.writes)} writes)")
    print(f"map written to {printable(map_path)}")
    return 0
