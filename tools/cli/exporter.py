"""`neuromesh export NET.json -o MODEL.nir [--dt SECONDS]`: a network file as a NIR graph
(tools/nir/exporter.py does the work; what NIR cannot express is printed as a warning)."""
from __future__ import annotations

import sys


def export_command(args) -> int:
    from neuromesh.tools.nir.exporter import export_network
    warnings = export_network(args.network, args.output, dt=args.dt)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"NIR graph written to {args.output}")
    return 0
