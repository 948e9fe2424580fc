"""The golden engine: `run(params, writes, tick_inputs, host) -> EngineRun`.

One SimPy process is the chip clock (one SimPy time unit = one clock cycle) and the standard
host of docs/architecture.md section 7 at once. While anything moves (a flit in a FIFO, an
emitter with flits, a host flit offered) it steps cycle by cycle over the active parts only;
otherwise it jumps with one `env.timeout(gap)` to the next thing that can happen: a spike-queue
pop, the host's next offer, or the cycle `busy` falls.

Per cycle k, in this order (all on start-of-cycle state, as in the RTL):
1. `chip.begin_cycle(k)`: spike-queue pops of cycle k, then `busy` of cycle k;
2. tick t completes in k if it was started and `busy` is low (q_t = k); phase t+1 starts in k;
3. the handshake happens in k if `tick.valid` (from the cycle after the phase's last input
   flit was accepted) and not `busy`;
4. the host's input flit (if offered from <= k) and the emitters' flits are offered, the mesh
   moves (two-phase), spike_out takes a flit if `host.out_ready(k)`.
"""
from __future__ import annotations

import simpy

from neuromesh import spec
from neuromesh.firmware.loader import load
from neuromesh.host import HostBehaviour, StandardHost
from neuromesh.result import EngineRun, read_counters

from .mesh import Chip


def load_image(chip: Chip, writes, params: spec.HwParams) -> None:
    """The image through the project's one load path (every write checked before the first)."""
    load(chip, writes, params, verify=False)


class _Run:
    """The standard host (`neuromesh.host.StandardHost`) driving one chip; `clock` is the
    SimPy process."""

    def __init__(self, chip: Chip, tick_inputs, host: HostBehaviour, progress, max_cycles,
                 every_cycle=False):
        self.chip = chip
        self.every_cycle = every_cycle  # never jump (a check of the jump arithmetic)
        self.host = StandardHost(tick_inputs, host, progress)
        self.max_cycles = max_cycles

    @property
    def handshakes(self) -> list:
        return self.host.handshakes

    @property
    def completions(self) -> list:
        return self.host.completions

    def clock(self, env: simpy.Environment):
        chip, host = self.chip, self.host
        if host.behaviour.out_ready_prob < 1.0:
            chip.out_ready = host.behaviour.out_ready
        k = 0
        while True:
            busy = chip.begin_cycle(k)
            if not host.begin(k, busy):
                return
            if host.tick_valid(k) and not busy:
                chip.handshake(k)
                host.handshake(k)
            offered = host.offer(k)
            if chip.step_cycle(k, offered):
                host.accepted(k)
            if offered is not None or chip.moving() or self.every_cycle:
                nxt = k + 1
            else:
                nxt = self._next_cycle(k)
            if self.max_cycles is not None and nxt > self.max_cycles:
                raise spec.NeuroMeshError(f"golden model: tick {host.t} did not complete within "
                                          f"{self.max_cycles} cycles")
            yield env.timeout(nxt - k)
            k = nxt

    def _next_cycle(self, k) -> int:
        """Nothing moves after cycle k: the first cycle in which something can happen."""
        chip, host = self.chip, self.host
        candidates = []
        pop = chip.next_event()
        if pop is not None:
            candidates.append(pop)
        if host.offer_from is not None:
            candidates.append(host.offer_from)
        if host.valid_from is not None:
            candidates.append(max(host.valid_from, chip.idle_max))
        if host.waiting:
            candidates.append(chip.idle_max)
        return max(k + 1, min(candidates))


def run(params: spec.HwParams, writes, tick_inputs, host: HostBehaviour | None = None, *,
        progress=None, max_cycles: int | None = None, every_cycle: bool = False, **_opts) -> EngineRun:
    """Load `writes` into a fresh chip and run the standard host over `tick_inputs`
    (`tick_inputs[t-1]`: the flits offered before starting tick t). `max_cycles`: give up
    (NeuroMeshError) past that cycle; `every_cycle`: step every cycle instead of jumping over
    idle ones (same result, slower: a check of the jumps)."""
    host = host or HostBehaviour()
    chip = Chip(params)
    load_image(chip, writes, params)
    # Energy per tick (neuromesh.energy_report.tick_counts): chip-wide counter totals at each tick
    # completion, taken in the host's completion callback, before the next phase starts.
    tick_totals = []

    def on_tick(t):
        routers = [rt.counters() for rt in chip.routers]
        tick_totals.append({
            "cores": {n: sum(c.counters[n] for c in chip.cores) for n in spec.CORE_COUNTERS},
            "routers": {n: sum(rc[i] for rc in routers) for i, n in enumerate(spec.ROUTER_COUNTERS)},
            "host_exit": routers[0][spec.WEST]})
        if progress:
            progress(t)

    r = _Run(chip, tick_inputs, host, on_tick, max_cycles, every_cycle)
    if tick_inputs:
        env = simpy.Environment()
        env.process(r.clock(env))
        env.run()
    return EngineRun(
        out_flits=list(chip.out_flits),
        handshakes=r.handshakes,
        completions=r.completions,
        counters=read_counters(chip, params),
        host_flits=r.host.host_flits,
        extras={**chip.extras(), "tick_totals": tick_totals},
    )


def run_chip(chip: Chip, tick_inputs, host: HostBehaviour | None = None, *, progress=None,
             max_cycles: int | None = None) -> _Run:
    """Run the standard host on an already configured chip (tests): returns the run record
    (`handshakes`, `completions`); the chip keeps `out_flits`, counters and state."""
    r = _Run(chip, tick_inputs, host or HostBehaviour(), progress, max_cycles)
    if tick_inputs:
        env = simpy.Environment()
        env.process(r.clock(env))
        env.run()
    return r
