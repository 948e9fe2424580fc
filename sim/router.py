"""The 5-port XY router (docs/architecture.md section 3), the twin of `hw/router.py`.

A router owns five input FIFOs (`sim/fifo.py`), five outputs with their round-robin pointers and
`fwd_<port>` counters, and its `errors` counter. What it does in one cycle:

* a refused head flit (`spec.flit_refused`) is popped and counted, requesting nothing;
* every other head flit requests `spec.route_port(x, y, flit)`;
* each output grants the first requester in the order rr+1, ..., rr+5 (mod 5), unless its grant
  of the cycle before did not transfer (downstream not ready): then it grants that input again
  (`held`), so the payload holds while valid and not ready; on a transfer the input pops, `rr`
  takes the granted input, `held` clears and the output's counter increments.

The mesh (`sim/mesh.py`) runs that rule for all requested outputs at once in a two-phase step
(evaluate on start-of-cycle state, then commit), so no result depends on evaluation order.
"""
from __future__ import annotations

from neuromesh import spec

from .fifo import Fifo

# What an output port is wired to (docs/architecture.md sections 3, 5 and 8.2); TO_FIFO: a
# neighbour's input FIFO, TO_CORE: the tile's core, each through the hop register `Output.hop`.
TO_FIFO, TO_CORE, TO_HOST, TO_SINK, NOWHERE, TO_LINK = range(6)


class Refused:
    """Marker for a head flit that requests nothing (it is dropped and counted)."""

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED = Refused()


class Output:
    """One output port: round-robin pointer, what it drives, its forward counter."""
    __slots__ = ("router", "port", "rr", "kind", "sink", "hop", "count", "req", "held")

    def __init__(self, router: "Router", port: int):
        self.router = router
        self.port = port
        self.rr = spec.RR_RESET
        self.kind = NOWHERE
        self.sink = None
        self.hop = None  # TO_FIFO, TO_CORE: the hop register in front of `sink` (sim/fifo.py `Hop`)
        self.count = 0
        self.req = 0  # bit i: input i's head requests this output (kept by sim/fabric.py)
        self.held = -1  # the input granted without a transfer, granted again until it transfers

    def priority(self, port: int) -> int:
        """Rank of input `port` in this cycle's round-robin order (0 = served first)."""
        return (port - self.rr - 1) % spec.N_PORTS

    def __repr__(self) -> str:
        return f"Output({self.router.x},{self.router.y}:{spec.PORTS[self.port]})"


def _grant(rr: int, mask: int) -> int:
    for i in range(1, spec.N_PORTS + 1):
        port = (rr + i) % spec.N_PORTS
        if mask >> port & 1:
            return port
    return -1


# GRANT[rr][mask]: the input an output grants with pointer `rr` and request mask `mask`.
GRANT = [[_grant(rr, mask) for mask in range(1 << spec.N_PORTS)] for rr in range(spec.N_PORTS)]


class Router:
    def __init__(self, params: spec.HwParams, x: int, y: int):
        self.params = params
        self.x, self.y = x, y
        self.inputs = [Fifo(params.fifo_depth, self, p) for p in range(spec.N_PORTS)]
        self.outputs = [Output(self, p) for p in range(spec.N_PORTS)]
        self.errors = 0
        self._routes = {}  # flit -> Output or REFUSED

    def route(self, flit: int):
        """The output a flit at this router's head requests, or REFUSED."""
        out = self._routes.get(flit)
        if out is None:
            if spec.flit_refused(flit, self.params.width, self.params.height):
                out = REFUSED
            else:
                out = self.outputs[spec.route_port(self.x, self.y, flit)]
            self._routes[flit] = out
        return out

    def counters(self) -> list:
        """`spec.ROUTER_COUNTERS` in order (unwrapped; the transport wraps to 32 bits)."""
        return [o.count for o in self.outputs] + [self.errors]

    def __repr__(self) -> str:
        return f"Router({self.x},{self.y})"
