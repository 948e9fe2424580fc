"""The standard host (docs/architecture.md section 7): what a host does on `spike_in`, `tick`
and `spike_out.ready`, as pure functions of a seed and a cycle or flit index, so that the golden
model and the RTL testbench replay exactly the same behaviour without sharing any state.
"""
from __future__ import annotations

from dataclasses import dataclass

_MASK64 = (1 << 64) - 1


def _mix(seed: int, stream: int, index: int) -> int:
    """splitmix64 of (seed, stream, index): a random-access pseudo-random 64-bit value."""
    z = (seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03 + index + 1) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


@dataclass(frozen=True)
class HostBehaviour:
    """`out_ready_prob`: probability that `spike_out.ready` is high in a cycle (1.0 = always).
    `max_gap`: input flits are offered with a gap of 0 ... max_gap idle cycles before each one
    (0 = back to back); `gap_prob` is the chance that a flit gets a non-zero gap."""
    seed: int = 0
    out_ready_prob: float = 1.0
    max_gap: int = 0
    gap_prob: float = 0.5

    def __post_init__(self):
        if not 0.0 < self.out_ready_prob <= 1.0:
            raise ValueError(f"out_ready_prob must be in (0, 1], not {self.out_ready_prob!r}")
        if self.max_gap < 0:
            raise ValueError(f"max_gap must be >= 0, not {self.max_gap!r}")

    def out_ready(self, cycle: int) -> bool:
        if self.out_ready_prob >= 1.0:
            return True
        return _mix(self.seed, 1, cycle) < int(self.out_ready_prob * (1 << 64))

    def gap(self, flit_index: int) -> int:
        """Idle cycles before the host offers its `flit_index`-th input flit (counted over the
        whole run from 0)."""
        if self.max_gap == 0:
            return 0
        r = _mix(self.seed, 2, flit_index)
        if (r & 0xFFFF) >= int(self.gap_prob * 0x10000):
            return 0
        return 1 + (r >> 16) % self.max_gap

    def describe(self) -> str:
        ready = "always ready" if self.out_ready_prob >= 1.0 else f"ready p={self.out_ready_prob}"
        gaps = "back to back" if self.max_gap == 0 else f"gaps up to {self.max_gap}"
        return f"seed {self.seed}, spike_out {ready}, inputs {gaps}"


class StandardHost:
    """The standard host's decisions (docs/architecture.md section 7) as one state machine that
    both engines drive, so the golden model and the RTL testbench cannot read the policy
    differently. Per cycle k, on start-of-cycle state:

    1. `begin(k, busy)`: if the tick in hand has completed (busy low after its handshake), record
       q_t and start the next phase; False once the last tick has completed;
    2. `offer(k)` (the flit on `spike_in`, or None) and `tick_valid(k)`;
    3. after the cycle's handshakes: `accepted(k)` if the offered flit transferred,
       `handshake(k)` if the tick did.

    `offer_from` and `valid_from` are the first cycles from which `offer` and `tick_valid` can
    be true (None: not in this phase), for an engine that jumps over idle cycles."""

    def __init__(self, tick_inputs, behaviour: HostBehaviour | None = None, progress=None):
        self.inputs = [list(flits) for flits in tick_inputs]
        self.behaviour = behaviour or HostBehaviour()
        self.progress = progress
        self.handshakes: list = []
        self.completions: list = []
        self.host_flits = 0
        self.t = 1
        self._g = 0               # index of the next input flit over the whole run (gap(i))
        self._waiting = False     # tick t's handshake done, waiting for q_t
        self._offer_from = self._valid_from = None
        if self.inputs:
            self._start_phase(0)

    def _start_phase(self, k: int) -> None:
        self._flits, self._i = self.inputs[self.t - 1], 0
        if self._flits:
            self._offer_from, self._valid_from = k + self.behaviour.gap(self._g), None
        else:
            self._offer_from, self._valid_from = None, k

    @property
    def done(self) -> bool:
        return len(self.completions) == len(self.inputs)

    def begin(self, k: int, busy: bool) -> bool:
        if self.done:
            return False
        if self._waiting and not busy and k > self.handshakes[-1]:
            self.completions.append(k)
            self._waiting = False
            if self.progress:
                self.progress(self.t)
            if self.done:
                return False
            self.t += 1
            self._start_phase(k)
        return True

    def offer(self, k: int):
        if self._offer_from is not None and k >= self._offer_from:
            return self._flits[self._i]
        return None

    def tick_valid(self, k: int) -> bool:
        return self._valid_from is not None and k >= self._valid_from

    def accepted(self, k: int) -> None:
        self.host_flits += 1
        self._i += 1
        self._g += 1
        if self._i < len(self._flits):
            self._offer_from = k + 1 + self.behaviour.gap(self._g)
        else:
            self._offer_from, self._valid_from = None, k + 1

    def handshake(self, k: int) -> None:
        self.handshakes.append(k)
        self._waiting, self._valid_from = True, None

    @property
    def waiting(self) -> bool:
        """Tick t has started and has not completed yet."""
        return self._waiting

    @property
    def offer_from(self):
        return self._offer_from

    @property
    def valid_from(self):
        return self._valid_from
