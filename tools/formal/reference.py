"""The SPEC's routing rules as Amaranth expressions, written from `spec.flit_refused` and
`spec.route_port` (SPEC section 5, docs/architecture.md section 3), not from `hw/router.py`.

The harness judges the router against these. tests/test_formal.py checks them against the
Python functions in `neuromesh.spec` on every (host, x, y) of small meshes, so they cannot
drift from the single source of truth; field names and widths come from `spec.flit_layout()`.
"""
from amaranth.hdl import Mux, Value

from neuromesh import spec


def flit(value):
    """A raw flit word seen through the flit layout."""
    return spec.flit_layout()(Value.cast(value))


def refused(value, params: spec.HwParams):
    """1 where `spec.flit_refused(value, params.width, params.height)` holds."""
    f = flit(value)
    outside = (f.x >= params.width) | (f.y >= params.height)
    return (f.reserved != 0) | (~f.host & outside)


def route_port(value, x: int, y: int):
    """`spec.route_port(x, y, value)` for a flit that is not refused: X first, then Y; a
    host-bound flit goes as if to tile (0, 0) and leaves there by the west port."""
    f = flit(value)
    tx = Mux(f.host, 0, f.x)
    ty = Mux(f.host, 0, f.y)
    here = Mux(f.host, spec.WEST, spec.LOCAL)
    return Mux(tx > x, spec.EAST,
               Mux(tx < x, spec.WEST,
                   Mux(ty > y, spec.NORTH,
                       Mux(ty < y, spec.SOUTH, here))))
