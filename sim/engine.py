"""The golden engine: `run(params, writes, tick_inputs, host, clocks=...) -> EngineRun`.

Time is integer picoseconds (one SimPy time unit = 1 ps). Every clock domain is a SimPy process
(`sim/domain.py` `Domain.clock`; domain 0's is `_Run.clock` below, which is also the standard
host): while anything in a domain moves it steps that domain's cycles one by one, otherwise it
sleeps until the next thing that can happen there (a spike-queue pop, a barrier step, a flit
arriving over an asynchronous link, the host's next offer, the cycle `busy` falls). Domains
interact only through the asynchronous links (`sim/async_link.py`), the tick barrier and the
synchronized busy (`neuromesh.clocks`), whose effects always land at a later edge than their
cause, so the order in which SimPy runs two domains' coincident edges changes nothing.

Domain 0's cycle k, in this order (all on start-of-cycle state, as in the RTL):
1. `Domain.begin(k)`: spike-queue pops of k, domain 0's local busy of k (recorded); `busy` of
   k is domain 0's local busy of k-1 (registered, architecture 5), a spike_in flit taken in k-1,
   the barrier and the other domains' synchronized busy (`Chip.busy`, counted in `busy_cycles`);
2. tick t completes in k if it was started and `busy` is low (q_t = k); phase t+1 starts in k;
3. the handshake happens in k if `tick.valid` (from the cycle after the phase's last input
   flit was accepted) and not `busy`: the barrier is scheduled (`Chip.handshake`);
4. `Domain.barrier(k)`: the flip and the start of the update phase that fall in k;
5. the host's input flit (if offered from <= k), the emitters' and the links' flits are
   offered, the fabric moves (two-phase); spike_out takes a flit if `host.out_ready(k)`.
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
    """The standard host (`neuromesh.host.StandardHost`) driving one chip; `clock` is domain 0's
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
        zero = chip.domains[0]
        if host.behaviour.out_ready_prob < 1.0:
            zero.out_ready = host.behaviour.out_ready
        period = chip.edges.periods[0]
        spike_in = chip.spike_in
        injected = None      # the last cycle spike_in took a flit
        k = 0
        while True:
            if k > zero.last + 1:
                chip.busy_cycles += chip.busy_count(zero.last + 1, k)
            busy = chip.begin(k, injected == k - 1)
            chip.busy_cycles += busy
            if not host.begin(k, busy):
                break
            if host.tick_valid(k) and not busy:
                chip.handshake(k)
                host.handshake(k)
            zero.barrier(k)
            offered = host.offer(k)
            pushes = []
            if offered is not None and len(spike_in.q) < spike_in.depth:
                pushes.append((spike_in, offered))
                chip.host_in += 1
                host.accepted(k)
                injected = k
            zero.move(k, pushes)
            nxt = self._next_cycle(k, offered is not None)
            if nxt == k + 1:
                self._check_budget(nxt)
                yield env.timeout(period)
                k = nxt
                continue
            while True:  # sleep until the planned cycle, or until another domain's news
                zero.wake = env.event()
                if nxt is None:
                    yield zero.wake
                else:
                    self._check_budget(nxt)
                    yield env.timeout(nxt * period - env.now) | zero.wake
                zero.wake = None
                if nxt is not None and env.now >= nxt * period:
                    break
                # News: plan again; cycles before now are gone (nothing happened in them).
                nxt = self._next_cycle(k, False, floor=max(k + 1, -(-env.now // period)))
                if nxt is not None and nxt * period <= env.now:
                    break
            k = nxt
        chip.done = True
        for dom in chip.domains:
            dom.finish()
            dom.poke()

    def _check_budget(self, nxt: int) -> None:
        if self.max_cycles is not None and nxt > self.max_cycles:
            raise spec.NeuroMeshError(f"golden model: tick {self.host.t} did not complete within "
                                      f"{self.max_cycles} cycles")

    def _next_cycle(self, k: int, offered: bool, floor: int | None = None):
        """After domain-0 cycle k: the next cycle in which something can happen (None: nothing
        is planned; another domain's news will wake domain 0)."""
        chip, host = self.chip, self.host
        zero = chip.domains[0]
        floor = k + 1 if floor is None else floor
        if offered or self.every_cycle:
            return k + 1
        mine = zero.next_cycle()
        cands = [] if mine is None else [mine]
        if host.offer_from is not None:
            cands.append(host.offer_from)
        quiet = chip.quiet_from() if (host.valid_from is not None or host.waiting) else None
        if host.valid_from is not None and quiet is not None:
            cands.append(max(host.valid_from, quiet))
        if host.waiting and quiet is not None:
            cands.append(quiet)
        return max(floor, min(cands)) if cands else None


def _simulate(chip: Chip, r: _Run, every_cycle: bool) -> None:
    env = simpy.Environment()
    chip.env = env
    for dom in chip.domains[1:]:
        env.process(dom.clock(env, every_cycle))
    env.process(r.clock(env))
    env.run()


def run(params: spec.HwParams, writes, tick_inputs, host: HostBehaviour | None = None, *,
        clocks: spec.Clocks | None = None, progress=None, max_cycles: int | None = None,
        every_cycle: bool = False, **_opts) -> EngineRun:
    """Load `writes` into a fresh chip and run the standard host over `tick_inputs`
    (`tick_inputs[t-1]`: the flits offered before starting tick t). `clocks`: the clock domains
    (default: one domain, period 10 ns). `max_cycles`: give up (NeuroMeshError) past that
    domain-0 cycle; `every_cycle`: step every cycle of every domain instead of jumping over
    idle ones (same result, slower: a check of the jumps)."""
    host = host or HostBehaviour()
    chip = Chip(params, clocks)
    load_image(chip, writes, params)
    # Energy per tick (neuromesh.energy_report.tick_counts): chip-wide counter totals at each tick
    # completion, taken in the host's completion callback, before the next phase starts.
    tick_totals = []

    def on_tick(t):
        routers = [rt.counters() for rt in chip.routers]
        tick_totals.append({
            "cores": {n: sum(c.counters[n] for c in chip.cores) for n in spec.CORE_COUNTERS},
            "routers": {n: sum(rc[i] for rc in routers) for i, n in enumerate(spec.ROUTER_COUNTERS)},
            "host_exit": routers[0][spec.WEST],
            "async_crossings": sum(link.count for link in chip.links.values())})
        if progress:
            progress(t)

    r = _Run(chip, tick_inputs, host, on_tick, max_cycles, every_cycle)
    if tick_inputs:
        _simulate(chip, r, every_cycle)
    return EngineRun(
        out_flits=list(chip.out_flits),
        handshakes=r.handshakes,
        completions=r.completions,
        counters=read_counters(chip, params, chip.clocks),
        host_flits=r.host.host_flits,
        extras={**chip.extras(), "tick_totals": tick_totals},
    )


def run_chip(chip: Chip, tick_inputs, host: HostBehaviour | None = None, *, progress=None,
             max_cycles: int | None = None) -> _Run:
    """Run the standard host on an already configured chip (tests): returns the run record
    (`handshakes`, `completions`); the chip keeps `out_flits`, counters and state."""
    r = _Run(chip, tick_inputs, host or HostBehaviour(), progress, max_cycles)
    if tick_inputs:
        _simulate(chip, r, False)
    return r
