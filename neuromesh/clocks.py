"""Clock-edge arithmetic of docs/architecture.md section 8, written once.

Time is integer picoseconds from time 0 (the rising edge of `clk` that starts cycle 0). Domain k's
edge n is at `t(k, n) = phase_k + n * period_k`. The RTL realises these functions with
flip-flops; the golden model, the result builder and the tests compute them here:

- `after(k, T)`: the first edge of domain k strictly after time T (a flip-flop sampling at the
  instant another domain's register changes sees the old value: SPEC 5a);
- `seen(k, T) = after(k, T) + 1`: the first domain-k cycle in which a two-flip-flop synchronizer
  shows a source register that changed at time T;
- `tick_schedule(...)`: the cycles of the two-phase tick barrier (section 8.3);
- `link_cycles(...)`: steps 3-5 of an asynchronous link's handshake (section 8.2).
"""
from __future__ import annotations

from dataclasses import dataclass

from .spec import Clocks


class Edges:
    """Edge arithmetic for every domain of one `spec.Clocks`."""

    def __init__(self, clocks: Clocks):
        self.clocks = clocks
        self.periods = [clocks.period(k) for k in range(clocks.n_domains)]
        self.phases = [clocks.phase(k) for k in range(clocks.n_domains)]

    @property
    def n(self) -> int:
        return len(self.periods)

    def t(self, k: int, n: int) -> int:
        """Time of domain k's edge n (the start of its cycle n)."""
        return self.phases[k] + n * self.periods[k]

    def after(self, k: int, t: int) -> int:
        """The first edge index n >= 0 of domain k with t(k, n) > t."""
        d = t - self.phases[k]
        return 0 if d < 0 else d // self.periods[k] + 1

    def before(self, k: int, t: int) -> int:
        """The last edge index n of domain k with t(k, n) < t (-1 if none)."""
        d = t - self.phases[k]
        return -1 if d <= 0 else (d - 1) // self.periods[k]

    def seen(self, k: int, t: int) -> int:
        """The first domain-k cycle in which a 2-flip-flop synchronizer shows a change at t."""
        return self.after(k, t) + 1

    def edges_in(self, k: int, t_end: int) -> int:
        """Rising edges of domain k in [0, t_end) (static energy, SPEC 8)."""
        return self.before(k, t_end) + 1

    def sampled_cycle(self, k: int, c: int) -> int:
        """The domain-k cycle whose `busy_k` domain 0 sees in its cycle c through `busy_q` and a
        synchronizer (section 8.4): `busy_q` holds busy_k of cycle n-1 after edge n; domain 0's
        synchronizer output in cycle c is `busy_q` just before `t(0, c-1)`. -1: before time 0
        (the chip starts quiescent)."""
        if c < 1:
            return -1
        return self.before(k, self.t(0, c - 1)) - 1

    def first_seeing(self, k: int, m: int) -> int:
        """The first domain-0 cycle c whose `sampled_cycle(k, c)` is >= m (m >= 0)."""
        # sampled_cycle(k, c) >= m  <=>  before(k, t(0, c-1)) >= m+1  <=>  t(k, m+1) < t(0, c-1)
        #                           <=>  c-1 >= after(0, t(k, m+1))
        return self.after(0, self.t(k, m + 1)) + 1


@dataclass(frozen=True)
class TickSchedule:
    """The tick barrier of one tick (section 8.3), in each domain's own cycles."""
    flip: tuple      # flip[k]: the cycle domain k's cores flip their fill parity
    start: tuple     # start[k]: the cycle domain k's cores start their update phase
    starting_end: int  # domain-0 cycles h+1 ... starting_end-1 have `starting` high


def tick_schedule(edges: Edges, h: int) -> TickSchedule:
    """The barrier of a tick handshaked in domain-0 cycle h. Domain 0's pulses leave registers
    (section 5): its cores flip in h+1 and start one cycle after the start condition (h in one
    domain, g in several), and `starting` holds for that cycle and the next."""
    if edges.n == 1:
        return TickSchedule((h + 1,), (h + 1,), h + 3)
    t_arm = edges.t(0, h + 1)
    flips = [h + 1] + [edges.seen(k, t_arm) for k in range(1, edges.n)]
    g = max([h + 1] + [edges.seen(0, edges.t(k, flips[k] + 1)) for k in range(1, edges.n)])
    t_go = edges.t(0, g + 1)
    starts = [g + 1] + [edges.seen(k, t_go) for k in range(1, edges.n)]
    end = max([g + 3] + [edges.seen(0, edges.t(k, starts[k] + 2)) for k in range(1, edges.n)])
    return TickSchedule(tuple(flips), tuple(starts), end)


def link_ready_cycle(edges: Edges, a: int, b: int, m: int) -> int:
    """Steps 3-5 of section 8.2: the receiver (domain b) wrote the flit and raised `ack` in its
    cycle m; the sender (domain a) is ready again (`req` and its view of `ack` low) in the
    returned a-cycle c2."""
    c1 = edges.seen(a, edges.t(b, m + 1))          # sender sees ack high, lowers req
    m1 = edges.seen(b, edges.t(a, c1 + 1))         # receiver sees req low, lowers ack
    return edges.seen(a, edges.t(b, m1 + 1))       # sender sees ack low
