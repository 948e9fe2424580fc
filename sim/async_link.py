"""The four-phase address-event link between tiles of different clock domains (SPEC section 5a;
docs/architecture.md section 8.2), the twin of `hw/async_link.py`.

The link is an object whose handshake phases are clock-edge events:

1. `send(flit, k)`: the sender's router hands it a flit in a-cycle k; `req` rises at t_a(k+1)
   and the receiver can see it from b-cycle `visible = seen_b(t_a(k+1))`; the receiving domain
   is woken for that cycle.
2. `deliver(m)`: the receiver writes the flit into its input FIFO in b-cycle m (the first
   cycle >= `visible` whose start-of-cycle level is below the depth; the receiving domain
   decides that) and raises `ack` at t_b(m+1). From there steps 3-5 follow from the clocks
   alone (`neuromesh.clocks.link_ready_cycle`): the sender is ready again in a-cycle
   `ready_from`, and busy until then.

Every cycle this object exposes is strictly later in time than the event that computed it, so
no result depends on the order in which two domains process coincident edges.
"""
from __future__ import annotations

from neuromesh.clocks import link_ready_cycle


class AsyncLink:
    __slots__ = ("src", "dst", "fifo", "port", "edges", "flit", "visible", "ready_from", "count",
                 "phases")

    def __init__(self, src, dst, fifo, edges):
        self.src, self.dst = src, dst      # the sending and receiving `Domain`s
        self.fifo = fifo                   # the receiving router's input FIFO (sim/fifo.py)
        self.port = fifo.port              # ... and its input port (the crossing counter's)
        self.edges = edges                 # neuromesh.clocks.Edges
        self.flit = None                   # the flit on `data` while a handshake is open
        self.visible = None                # b-cycle from which the receiver sees `req`
        self.ready_from = 0                # a-cycle from which the sender is ready again
        self.count = 0                     # flits crossed (the receiving tile's `link_cnt`)
        self.phases = None                 # (req rise, ack rise, req fall, ack fall) in ps, last flit

    def sender_ready(self, k: int) -> bool:
        """`ready = ~req & ~ack_s` in a-cycle k."""
        return self.flit is None and k >= self.ready_from

    def send(self, flit: int, k: int) -> None:
        """The sender's router transfers `flit` in a-cycle k."""
        self.flit = flit
        t_req = self.edges.t(self.src.k, k + 1)
        self.visible = self.edges.seen(self.dst.k, t_req)
        self.phases = (t_req, None, None, None)
        self.src.link_opened()
        self.dst.expect(self, self.visible)

    def deliver(self, m: int) -> int:
        """The receiver writes the flit in b-cycle m; returns it. The rest of the handshake is
        fixed by the clocks: the sender is ready (and no longer busy) from `ready_from`."""
        flit, self.flit, self.visible = self.flit, None, None
        a, b, e = self.src.k, self.dst.k, self.edges
        t_ack = e.t(b, m + 1)
        c1 = e.seen(a, t_ack)
        t_req_low = e.t(a, c1 + 1)
        m1 = e.seen(b, t_req_low)
        self.ready_from = link_ready_cycle(e, a, b, m)
        self.phases = (self.phases[0], t_ack, t_req_low, e.t(b, m1 + 1))
        self.count += 1
        self.src.link_closed(self.ready_from)
        return flit

    def __repr__(self) -> str:
        r = self.fifo.router
        return f"AsyncLink(domain {self.src.k} -> {self.dst.k} at ({r.x},{r.y}) input {self.port})"
