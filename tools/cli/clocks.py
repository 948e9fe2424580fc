"""`--domains FILE.json` and `--clock-per-tile PERIOD_PS` (SPEC section 7, issue "asynchronous
chip"): the clock domains of a run or of generated Verilog, instead of the network's own.

A domains file is the clock part of a network's `hardware` block:
`{"period_ps": 10000, "domains": [{"tiles": [x0, y0, x1, y1], "period_ps": P, "phase_ps": Q}],
"links": "on_chip"}`. `--clock-per-tile P` puts every tile in its own domain of period P (tile
(0, 0) in domain 0), phases spread evenly over the period in tile index order.
"""
from __future__ import annotations

import argparse

from neuromesh import spec


def add_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("clock domains (SPEC sections 1 and 7; default: the network's own)")
    x = g.add_mutually_exclusive_group()
    x.add_argument("--domains", default=None, metavar="FILE.json",
                   help="clock domains: period_ps, domains [{tiles, period_ps, phase_ps}], links")
    x.add_argument("--clock-per-tile", default=None, type=int, metavar="PERIOD_PS",
                   help="every tile its own clock domain of this period (phases spread)")


def clocks_from_args(args, params: spec.HwParams):
    """The `spec.Clocks` the options name for a chip of `params`, or None (none given)."""
    if getattr(args, "clock_per_tile", None) is not None:
        return spec.Clocks.per_tile(params, args.clock_per_tile)
    if getattr(args, "domains", None):
        from neuromesh.firmware.netfile import NetworkError, read_json
        raw = read_json(args.domains)
        if not isinstance(raw, dict):
            raise NetworkError(args.domains, None, "must be a JSON object {period_ps, domains, links}", raw)
        unknown = sorted(set(raw) - {"period_ps", "domains", "links", "description"})
        if unknown:
            raise NetworkError(args.domains, unknown[0], "unknown key (allowed: domains, links, period_ps)",
                               raw[unknown[0]])
        try:
            return spec.Clocks.from_dict(raw, params, where="")   # fields as the file names them
        except spec.ConfigError as e:
            raise NetworkError(args.domains, e.field, e.reason, e.value) from None
    return None
