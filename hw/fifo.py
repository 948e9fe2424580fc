"""The router's input FIFO: a stream-interfaced first-in first-out queue whose timing is the one
docs/architecture.md section 3 fixes.

- `w.ready = level < depth`, from the level at the start of the cycle: a pop in the same cycle
  does not make room (a full FIFO accepts again the cycle after it pops).
- A flit written in cycle c is at the head (`r.valid`) from cycle c+1.

`amaranth.lib.fifo.SyncFIFO` has exactly this timing (`w_rdy = level != depth`, a registered
level, an asynchronous read port), so this component is a thin stream wrapper around it; the
wrapper exists so that the contract is written down next to the code that keeps it, and so that
`level` and `empty` are visible to the router's `busy`.
"""
from amaranth.hdl import Module, Shape, Value
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out


class StreamFIFO(wiring.Component):
    """`w` (in) -> `r` (out), `depth` entries of `shape`; `level` and `empty` for observers."""

    def __init__(self, shape, depth: int):
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise ValueError(f"FIFO depth must be a positive integer, not {depth!r}")
        self._shape = shape
        self._depth = depth
        super().__init__({
            "w": In(stream.Signature(shape)),
            "r": Out(stream.Signature(shape)),
            "level": Out(range(depth + 1)),
            "empty": Out(1),
        })

    @property
    def depth(self) -> int:
        return self._depth

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(self._shape).width
        m.submodules.queue = queue = fifo.SyncFIFO(width=width, depth=self._depth)
        m.d.comb += [
            queue.w_data.eq(Value.cast(self.w.payload)),
            queue.w_en.eq(self.w.valid),
            self.w.ready.eq(queue.w_rdy),          # level != depth, i.e. level < depth
            self.r.payload.eq(queue.r_data),
            self.r.valid.eq(queue.r_rdy),           # level != 0: written in c, visible in c+1
            queue.r_en.eq(self.r.ready),
            self.level.eq(queue.level),
            self.empty.eq(queue.level == 0),
        ]
        return m
