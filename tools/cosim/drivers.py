"""Reusable cocotb drivers and monitors for the chip's ports (and any Amaranth stream port).

Amaranth flattens a stream member `name` into `name__payload`, `name__valid`, `name__ready`.
Every class here works one clock cycle at a time with the same discipline:

    await RisingEdge(clk)     # cycle k starts: drive this cycle's inputs
    await ReadOnly()          # everything settled for cycle k: sample, decide transfers

so a driver never reads a value that another coroutine has not finished writing, and a
"transfer in cycle k" means exactly what docs/architecture.md section 2 says: valid and ready
both high during cycle k. Cycle numbers come from `TbClock.cycle` (cycle 0 = the first cycle
after reset, or after the last `TbClock.rebase()`).

Classes:
- `TbClock`: clock, reset, cycle counter.
- `StreamSource`: drives a stream; per-item gaps and/or an itertools.cycle-style pause pattern.
- `StreamSink`: drives `ready` from a pattern and records what it takes.
- `StreamMonitor`: only watches; records (cycle, payload) of each transfer.
- `ChipPorts`: the chip's port handles with write caching, shared by the drivers of one chip.
- `CfgMaster`: word writes and reads over cfg_req/cfg_resp (at falling edges), read-back checks.
- `TickDriver`: the tick handshake and the wait for quiescence (`busy` low).
- `DomainClocks`: every clock of a multi-domain chip, with its period and phase, aligned for a run.
"""
from __future__ import annotations

import itertools
from collections import deque

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, Event, FallingEdge, ReadOnly, RisingEdge, Timer

from neuromesh import spec


def _port(dut, name, member):
    return getattr(dut, f"{name}__{member}")


def _int(handle) -> int:
    return int(handle.value)


class TbClock:
    """Starts the clock on `clk`, resets with `rst`, counts cycles."""

    def __init__(self, dut, period_ns: int = 10):
        self.dut = dut
        self.clk = dut.clk
        self.cycle = -1
        self._origin = 0
        self._task = None
        Clock(dut.clk, period_ns, unit="ns").start()

    async def reset(self, cycles: int = 2) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.clk, cycles)
        self.dut.rst.value = 0
        await RisingEdge(self.clk)       # first cycle with rst low: cycle 0
        self.cycle = 0
        if self._task is None:
            self._task = cocotb.start_soon(self._count())

    async def _count(self):
        while True:
            await RisingEdge(self.clk)
            self.cycle += 1

    @property
    def now(self) -> int:
        """The current cycle, relative to the last `rebase` (read it after ReadOnly)."""
        return self.cycle - self._origin

    def rebase(self) -> None:
        """Make the current cycle cycle 0 of a run (call it at the start of that cycle)."""
        self._origin = self.cycle

    async def cycles(self, n: int) -> None:
        await ClockCycles(self.clk, n)


class StreamSource:
    """Drives stream `name` of `dut`. `send(payload, gap=0)` queues an item that is offered from
    `gap` cycles after the previous item was accepted (or after it was queued, for the first);
    `pause` (an iterator of bools, e.g. itertools.cycle([0, 0, 1])) is consulted every cycle in
    which a new item could start, and a true value delays it by that cycle. Once offered, an
    item is held until accepted (the stream rule). `sent` lists (cycle, payload)."""

    def __init__(self, dut, name: str, clock: TbClock, pause=None):
        self.valid = _port(dut, name, "valid")
        self.ready = _port(dut, name, "ready")
        self.payload = getattr(dut, f"{name}__payload", None)   # absent for zero-width streams
        self.clock = clock
        self.pause = pause
        self.queue: deque = deque()
        self.sent: list[tuple[int, int]] = []
        self._idle = Event()
        self._idle.set()
        self.valid.value = 0
        cocotb.start_soon(self._run())

    def send(self, payload: int = 0, gap: int = 0) -> None:
        self.queue.append((payload, gap))
        self._idle.clear()

    def send_all(self, payloads, gap: int = 0) -> None:
        for p in payloads:
            self.send(p, gap)

    async def wait_idle(self) -> None:
        """Until every queued item has been accepted."""
        await self._idle.wait()

    async def _run(self):
        current = None
        wait = None
        while True:
            await RisingEdge(self.clock.clk)
            if current is None and self.queue:
                if wait is None:
                    wait = self.queue[0][1]
                if wait > 0:
                    wait -= 1
                elif not (self.pause is not None and next(self.pause)):
                    current = self.queue.popleft()[0]
                    wait = None
            if current is not None:
                if self.payload is not None:
                    self.payload.value = current
                self.valid.value = 1
            else:
                self.valid.value = 0
            await ReadOnly()
            if current is not None and _int(self.ready):
                self.sent.append((self.clock.now, current))
                current = None
                if not self.queue:
                    self._idle.set()


class StreamSink:
    """Drives `name__ready` from `ready` (an iterator of bools; default always 1) and records
    each transfer as (cycle, payload) in `received`."""

    def __init__(self, dut, name: str, clock: TbClock, ready=None):
        self.valid = _port(dut, name, "valid")
        self.ready = _port(dut, name, "ready")
        self.payload = getattr(dut, f"{name}__payload", None)
        self.clock = clock
        self.pattern = ready if ready is not None else itertools.repeat(1)
        self.received: list[tuple[int, int]] = []
        self._new = Event()
        self.ready.value = 0
        cocotb.start_soon(self._run())

    async def _run(self):
        while True:
            await RisingEdge(self.clock.clk)
            r = 1 if next(self.pattern) else 0
            self.ready.value = r
            await ReadOnly()
            if r and _int(self.valid):
                self.received.append((self.clock.now, _int(self.payload) if self.payload is not None else 0))
                self._new.set()

    async def wait_count(self, n: int, timeout_cycles: int = 100000) -> None:
        """Until `n` items have been received (raises TimeoutError after `timeout_cycles`)."""
        for _ in range(timeout_cycles):
            if len(self.received) >= n:
                return
            await RisingEdge(self.clock.clk)
        raise TimeoutError(f"received {len(self.received)} of {n} items")


class StreamMonitor:
    """Watches a stream without driving it: `transfers` = [(cycle, payload)]. `prefix` names
    the signals (`prefix__valid` ...) on `dut` or on any hierarchy handle."""

    def __init__(self, dut, name: str, clock: TbClock):
        self.valid = _port(dut, name, "valid")
        self.ready = _port(dut, name, "ready")
        self.payload = getattr(dut, f"{name}__payload", None)
        self.clock = clock
        self.transfers: list[tuple[int, int]] = []
        cocotb.start_soon(self._run())

    async def _run(self):
        while True:
            await RisingEdge(self.clock.clk)
            await ReadOnly()
            if _int(self.valid) and _int(self.ready):
                self.transfers.append((self.clock.now, _int(self.payload) if self.payload is not None else 0))


class ChipPorts:
    """The SPEC section 6 ports of `neuromesh_chip` by name, with write caching: a write costs
    time in cocotb, and most inputs hold their value for many cycles. Every driver of a chip's
    ports goes through one `ChipPorts`, so no cache can go stale behind another's back."""

    NAMES = {
        "cfg_req_payload": "cfg_req__payload", "cfg_req_valid": "cfg_req__valid",
        "cfg_req_ready": "cfg_req__ready", "cfg_resp_payload": "cfg_resp__payload",
        "cfg_resp_valid": "cfg_resp__valid", "cfg_resp_ready": "cfg_resp__ready",
        "in_payload": "spike_in__payload", "in_valid": "spike_in__valid", "in_ready": "spike_in__ready",
        "out_payload": "spike_out__payload", "out_valid": "spike_out__valid", "out_ready": "spike_out__ready",
        "tick_valid": "tick__valid", "tick_ready": "tick__ready", "busy": "busy",
    }

    def __init__(self, dut):
        self.dut = dut
        self.clk = dut.clk
        self.rst = dut.rst
        for attr, name in self.NAMES.items():
            setattr(self, attr, getattr(dut, name))
        self._last = {}

    def put(self, handle, value: int) -> None:
        key = id(handle)
        if self._last.get(key) != value:
            handle.value = value
            self._last[key] = value

    def idle_inputs(self) -> None:
        for h in (self.cfg_req_valid, self.in_valid, self.tick_valid, self.out_ready,
                  self.cfg_req_payload, self.in_payload):
            self.put(h, 0)
        self.put(self.cfg_resp_ready, 1)


class CfgMaster:
    """Word writes and reads on `cfg_req`/`cfg_resp` (docs/architecture.md section 5: a write
    takes effect at the end of the cycle after it is accepted; a read accepted in cycle c answers
    from c+5), the one configuration-port driver of every bench and of the RTL engine's host.

    It acts at the FALLING edge in the middle of each cycle: `cfg_req.ready` and `cfg_resp.valid`
    depend on registered state only (architecture section 2), so they have settled there, and one
    simulator callback per cycle is enough (loading an image is several times faster than
    sampling at ReadOnly). Every method is entered and returns at a falling edge (it awaits one
    first if called elsewhere). A chip that broke the registered-state rule would be caught by
    the read-back of an image.

    `cycle`: a callable giving the current cycle number (e.g. `TbClock.now`); without it the
    master counts the falling edges it awaits itself. `last_accept` / `last_response` are the
    cycles of the last accepted request and of the last read response taken. `limit`: cycles
    to wait for `ready` or a response before calling the chip hung."""

    def __init__(self, ports: ChipPorts, cycle=None, limit: int = 100_000):
        self.p = ports
        self.limit = limit
        self.cycles = 0          # falling edges awaited so far
        self._cycle = cycle
        self.last_accept = None
        self.last_response = None
        ports.put(ports.cfg_resp_ready, 1)

    @property
    def now(self) -> int:
        return self._cycle() if self._cycle is not None else self.cycles

    async def _edge(self) -> None:
        await FallingEdge(self.p.clk)
        self.cycles += 1

    async def _wait_ready(self, what: str) -> None:
        ready = self.p.cfg_req_ready
        for _ in range(self.limit):
            if int(ready.value):
                return
            await self._edge()
        raise TimeoutError(f"cfg_req: not ready for {self.limit} cycles ({what})")

    async def _enter(self) -> None:
        if int(self.p.clk.value):  # not in the low half of a cycle: go to the next falling edge
            await self._edge()

    async def writes(self, pairs) -> None:
        """Back-to-back writes, one per cycle while cfg_req is ready."""
        p = self.p
        await self._enter()
        for addr, data in pairs:
            if not int(p.cfg_req_ready.value):
                p.put(p.cfg_req_valid, 0)
                await self._wait_ready(f"write {addr:#010x}")
            p.put(p.cfg_req_payload, spec.pack_cfg_req(addr, data & ((1 << spec.CFG_WORD_BITS) - 1), True))
            p.put(p.cfg_req_valid, 1)
            self.last_accept = self.now
            await self._edge()
        p.put(p.cfg_req_valid, 0)

    async def write(self, addr: int, data: int) -> None:
        await self.writes([(addr, data)])

    async def write_all(self, writes) -> None:
        await self.writes(writes)

    async def read(self, addr: int) -> int:
        p = self.p
        await self._enter()
        await self._wait_ready(f"read {addr:#010x}")
        p.put(p.cfg_req_payload, spec.pack_cfg_req(addr, 0, False))
        p.put(p.cfg_req_valid, 1)
        self.last_accept = self.now
        await self._edge()  # accepted in the cycle just ended (c); the answer comes from c+2
        p.put(p.cfg_req_valid, 0)
        for _ in range(self.limit):
            await self._edge()
            if int(p.cfg_resp_valid.value):
                word = int(p.cfg_resp_payload.value)
                self.last_response = self.now
                await self._edge()  # taken (cfg_resp.ready is held high)
                return word
        raise TimeoutError(f"cfg_resp: no answer for {self.limit} cycles (read {addr:#010x})")

    async def readback(self, params: spec.HwParams, writes) -> list[tuple[int, int, int]]:
        """Read every written address back; return the (addr, expected, got) that differ
        (`neuromesh.firmware.loader.LoadPlan` says what a read must return)."""
        from neuromesh.firmware.loader import plan
        expected = plan(writes, params).expected
        bad = []
        for addr, want in expected.items():
            got = await self.read(addr)
            if got != want:
                bad.append((addr, want, got))
        return bad

    async def read_counters(self, params: spec.HwParams, x: int, y: int, region: str) -> dict:
        names = spec.CORE_COUNTERS if region == "core_cnt" else spec.ROUTER_COUNTERS
        return {n: await self.read(spec.tile_addr(x, y, region, k)) for k, n in enumerate(names)}


class TickDriver:
    """The tick handshake on `tick__valid`/`tick__ready`, and quiescence on `busy`."""

    def __init__(self, dut, clock: TbClock):
        self.dut = dut
        self.clock = clock
        self.valid = dut.tick__valid
        self.ready = dut.tick__ready
        self.busy = dut.busy
        self.valid.value = 0
        self.handshakes: list[int] = []

    async def tick(self, timeout_cycles: int = 100000) -> int:
        """Raise tick.valid from the next cycle until the handshake; return its cycle h.
        Returns at the start of cycle h+1."""
        await RisingEdge(self.clock.clk)
        self.valid.value = 1
        for _ in range(timeout_cycles):
            await ReadOnly()
            if _int(self.ready):
                h = self.clock.now
                self.handshakes.append(h)
                await RisingEdge(self.clock.clk)
                self.valid.value = 0
                return h
            await RisingEdge(self.clock.clk)
        raise TimeoutError("tick never ready")

    async def wait_quiescent(self, timeout_cycles: int = 100000) -> int:
        """The first cycle, from the current one on, in which busy is low (returns in it,
        after ReadOnly; the caller awaits RisingEdge before driving)."""
        for _ in range(timeout_cycles):
            await ReadOnly()
            if not _int(self.busy):
                return self.clock.now
            await RisingEdge(self.clock.clk)
        raise TimeoutError("busy never fell")

    async def run_tick(self) -> tuple[int, int]:
        """One tick: (h, q) with q the first cycle after h in which busy is low."""
        h = await self.tick()
        q = await self.wait_quiescent()
        return h, q


class DomainClocks:
    """Drives `clk` (domain 0) and `clk_k` (domain k >= 1) of a chip with the periods and phases
    of a `neuromesh.spec.Clocks`, in integer picoseconds (the simulator's time step is 1 ps, so
    an odd period gets a high time one step shorter than its low time; only the rising edges
    matter). One object per chip, for the whole simulation: every `start`/`align` first stops
    the clocks it started before. `align(clocks)` drives them all low and restarts them so that
    the next rising edge of `clk` is time 0 of a run (docs/architecture.md 8.1): domain k's
    first rising edge then comes `phase_k` ps later. It returns at that edge of `clk`."""

    def __init__(self, dut, n_domains: int):
        self.signals = [dut.clk] + [getattr(dut, f"clk_{k}") for k in range(1, n_domains)]
        self._running = []

    def _clocks(self, clocks) -> list:
        if clocks.n_domains != len(self.signals):
            raise ValueError(f"the chip has {len(self.signals)} clock domains, the clocks give {clocks.n_domains}")
        out = []
        for k, s in enumerate(self.signals):
            p = clocks.period(k)
            if p < 2:
                raise ValueError(f"domain {k}: a period of {p} ps is below the RTL engine's 2 ps "
                                 "(the simulator's step is 1 ps)")
            out.append(Clock(s, p, unit="ps", period_high=p // 2))
        return out

    def start(self, clocks) -> None:
        """Free-running clocks (their alignment does not matter: before a run)."""
        self.stop()
        self._running = self._clocks(clocks)
        for c in self._running:
            c.start(start_high=False)

    def stop(self) -> None:
        for c in self._running:
            c.stop()
        self._running = []

    async def align(self, clocks, settle_ps: int = 1000) -> None:
        self.stop()
        for s in self.signals:
            s.value = 0
        await Timer(settle_ps, unit="ps")
        self._running = self._clocks(clocks)
        self._running[0].start(start_high=True)            # time 0 of the run: clk rises
        for k in range(1, len(self.signals)):
            phase = clocks.phase(k)
            if phase == 0:
                self._running[k].start(start_high=True)
            else:
                cocotb.start_soon(self._start_later(self._running[k], phase))

    async def _start_later(self, clock: Clock, phase: int) -> None:
        await Timer(phase, unit="ps")
        if any(c is clock for c in self._running):     # not stopped meanwhile
            clock.start(start_high=True)
