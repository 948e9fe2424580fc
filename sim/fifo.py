"""A router input FIFO (docs/architecture.md section 3), the twin of `hw/fifo.py`.

`ready = level < depth` is evaluated on the level at the start of the cycle (a pop in the same
cycle does not free a slot until the next one), and a flit written in cycle c is at the head
from cycle c+1. The mesh's two-phase step (sim/mesh.py) gives exactly that: it reads every
level during evaluation and applies pops and pushes only in the commit phase.

Each entry is `(flit, output)`: the output port object the flit requests at this router,
computed once when the flit is written (the RTL computes it combinationally from the head; the
answer is the same, and caching it keeps the per-hop cost low).
"""
from __future__ import annotations

from collections import deque


class Fifo:
    __slots__ = ("q", "depth", "router", "port", "peak")

    def __init__(self, depth: int, router, port: int):
        self.q = deque()
        self.depth = depth
        self.router = router
        self.port = port
        self.peak = 0  # highest level seen at the start of a cycle

    @property
    def level(self) -> int:
        return len(self.q)

    @property
    def ready(self) -> bool:
        return len(self.q) < self.depth

    def __repr__(self) -> str:
        return f"Fifo({self.router.x},{self.router.y}:{self.port} level {len(self.q)}/{self.depth})"


class Hop:
    """A hop register (docs/architecture.md section 3), the twin of the `StreamFIFO` that
    hw/mesh.py puts on every link between two routers of one clock domain and hw/tile.py between
    a router's local output and its core: `spec.HOP_DEPTH` entries with the timing of a `Fifo`
    (a router output is ready on the start-of-cycle level; written in cycle c, at the head from
    c+1), whose head goes into `sink`, the neighbour's input FIFO or the core (`to_core`), in any
    cycle that sink is ready (sim/fabric.py)."""
    __slots__ = ("q", "depth", "sink", "to_core")

    def __init__(self, depth: int, sink, to_core: bool = False):
        self.q = deque()
        self.depth = depth
        self.sink = sink
        self.to_core = to_core

    def __repr__(self) -> str:
        return f"Hop(to {self.sink!r}, level {len(self.q)}/{self.depth})"
