"""The asynchronous link alone, on the golden model's side: `sim/async_link.py`'s `AsyncLink`
between two stub domains, driven by a sender that offers flits and a receiver FIFO whose room
is a function of the receiver's cycle. Edges of the two clocks are visited in time order (their
order at coincident instants does not matter: every cycle the link exposes lies strictly later
than its cause). The RTL bench (tests/tb_link.py) drives `hw/async_link.py` the same way, so
the two can be compared transfer by transfer."""
from __future__ import annotations

from neuromesh.clocks import Edges
from neuromesh.sim.async_link import AsyncLink


class _Fifo:
    port = 4

    class router:  # noqa: N801 - what AsyncLink.__repr__ reads
        x = y = 0


class _Domain:
    def __init__(self, k: int):
        self.k = k
        self.open = 0
        self.busy_until = 0
        self.expected = None

    def link_opened(self):
        self.open += 1

    def link_closed(self, ready_from: int):
        self.open -= 1
        self.busy_until = ready_from

    def expect(self, link, cycle: int):
        self.expected = cycle


def simulate(clocks, flits, gaps, room, horizon_ps: int):
    """Send `flits` in order from domain 0 to domain 1 of `clocks`: flit i is offered from
    the sender cycle `gaps[i]` cycles after the previous one was taken (from cycle 0 for the
    first); the receiver writes when `room(m)` is true in its cycle m. Returns
    ([(flit, sender cycle of the transfer, receiver cycle of the write)], sender busy cycles)."""
    e = Edges(clocks)
    a, b = _Domain(0), _Domain(1)
    link = AsyncLink(a, b, _Fifo(), e)
    out, sent_at = [], {}
    i, offer_from = 0, gaps[0] if gaps else 0
    busy = 0
    na = nb = 0
    while True:
        ta, tb = e.t(0, na), e.t(1, nb)
        if min(ta, tb) > horizon_ps:
            break
        if ta <= tb:   # sender cycle na (coincident edges: either order gives the same result)
            c = na
            busy += bool(link.flit is not None or c < link.ready_from)
            if i < len(flits) and c >= offer_from and link.sender_ready(c):
                link.send(flits[i], c)
                sent_at[flits[i]] = c
                i += 1
                offer_from = c + 1 + (gaps[i] if i < len(gaps) else 0)
            na += 1
        else:          # receiver cycle nb
            m = nb
            if link.flit is not None and link.visible <= m and room(m):
                f = link.deliver(m)
                out.append((f, sent_at[f], m))
            nb += 1
    return out, busy
