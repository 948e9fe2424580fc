"""cocotb tests of one Router (hw/router.py) against docs/architecture.md section 3.

Driven by tests/test_hw_router.py; the build's parameters come in NM_ROUTER (JSON: the HwParams
fields plus the router's x and y). `RouterModel` below is an independent cycle model written from
the architecture text; the lock-step test compares the RTL with it in every cycle.
"""
import itertools
import json
import os
import random
from collections import deque

from cocotb.triggers import ReadOnly, RisingEdge

from neuromesh import spec
from neuromesh.tools.cosim.bounded import bounded_test
from neuromesh.tools.cosim.drivers import StreamSink, StreamSource, TbClock

CFG = json.loads(os.environ.get("NM_ROUTER", "{}"))
X, Y = CFG.pop("x", 1), CFG.pop("y", 1)
PARAMS = spec.HwParams(**CFG)
P = spec.N_PORTS
# Outputs this router can use: local, the neighbours inside the mesh, and west at (0, 0) (the
# host port).
REACHABLE = [o for o in range(P) if o == spec.LOCAL or (o == spec.WEST and (X, Y) == (0, 0))
             or (0 <= X + spec.PORT_DELTA[o][0] < PARAMS.width and 0 <= Y + spec.PORT_DELTA[o][1] < PARAMS.height)]


class RouterModel:
    """The router as docs/architecture.md section 3 words it, one call per cycle."""

    def __init__(self, params, x, y):
        self.p, self.x, self.y = params, x, y
        self.fifos = [deque() for _ in range(P)]
        self.rr = [spec.RR_RESET] * P
        self.held = [None] * P   # the input an output offered last cycle without a transfer
        self.fwd = [0] * P
        self.errors = 0

    def outputs(self):
        """(in_ready, out_valid, out_payload, grant) for the current state."""
        in_ready = [len(f) < self.p.fifo_depth for f in self.fifos]
        requests = {o: [] for o in range(P)}
        for i, f in enumerate(self.fifos):
            if f and not spec.flit_refused(f[0], self.p.width, self.p.height):
                requests[spec.route_port(self.x, self.y, f[0])].append(i)
        grant = list(self.held)
        for o in range(P):
            if grant[o] is not None:
                continue
            for k in range(1, P + 1):
                i = (self.rr[o] + k) % P
                if i in requests[o]:
                    grant[o] = i
                    break
        valid = [g is not None for g in grant]
        payload = [self.fifos[g][0] if g is not None else None for g in grant]
        return in_ready, valid, payload, grant

    def step(self, offers, out_ready):
        """Advance one cycle; `offers[i]` is the flit offered on input i (or None).
        Returns the transfers [(out_port, in_port, flit)] of this cycle."""
        in_ready, valid, payload, grant = self.outputs()
        moved = []
        pops = set()
        for i, f in enumerate(self.fifos):
            if f and spec.flit_refused(f[0], self.p.width, self.p.height):
                pops.add(i)
                self.errors += 1
        for o in range(P):
            self.held[o] = grant[o] if valid[o] and not out_ready[o] else None
            if valid[o] and out_ready[o]:
                moved.append((o, grant[o], payload[o]))
                pops.add(grant[o])
                self.rr[o] = grant[o]
                self.fwd[o] = (self.fwd[o] + 1) & 0xFFFFFFFF
        for i in pops:
            self.fifos[i].popleft()
        for i in range(P):
            if offers[i] is not None and in_ready[i]:
                self.fifos[i].append(offers[i])
        return moved


def flit_to(port, rng, x=X, y=Y, params=PARAMS):
    """A random valid flit that router (x, y) sends out of `port`."""
    while True:
        if rng.random() < 0.15:
            word = spec.host_flit(rng.randrange(spec.HOST_CHANNELS), rng.randrange(16), rng.randrange(16))
        else:
            word = spec.pack_flit(rng.randrange(1 << spec.AXON_FIELD_BITS),
                                  rng.randrange(params.width), rng.randrange(params.height))
        if spec.route_port(x, y, word) == port:
            return word


def bad_flit(rng):
    """A flit the router must refuse: reserved bits, or a target outside the mesh."""
    kind = rng.randrange(3)
    if kind == 0:
        # SPEC 5 (v2): bits 31:25 are reserved
        return spec.pack_flit(rng.randrange(4096), rng.randrange(PARAMS.width), 0) | (1 << rng.randrange(25, 32))
    if kind == 1 and PARAMS.width < 64:
        return spec.pack_flit(1, rng.randrange(PARAMS.width, 64), 0)
    if PARAMS.height < 64:
        return spec.pack_flit(1, 0, rng.randrange(PARAMS.height, 64))
    return spec.pack_flit(1, 0, 0) | spec.RESERVED_MASK


async def setup(dut):
    clock = TbClock(dut)
    for i in range(P):
        getattr(dut, f"inputs__{i}__valid").value = 0
        getattr(dut, f"outputs__{i}__ready").value = 0
    dut.cfg__re.value = 0
    dut.cfg__we.value = 0
    await clock.reset()
    return clock


async def read_counters(dut, clock):
    """Read the six counters over the cfg bus (re in c, rdata in c+1)."""
    values = []
    for k in range(len(spec.ROUTER_COUNTERS)):
        await RisingEdge(dut.clk)
        dut.cfg__region.value = spec.REGION["router_cnt"]
        dut.cfg__offset.value = k
        dut.cfg__re.value = 1
        await RisingEdge(dut.clk)
        dut.cfg__re.value = 0
        await ReadOnly()
        values.append(int(dut.cfg__rdata.value))
    # another region answers 0
    await RisingEdge(dut.clk)
    dut.cfg__region.value = spec.REGION["core_cnt"]
    dut.cfg__offset.value = 0
    dut.cfg__re.value = 1
    await RisingEdge(dut.clk)
    dut.cfg__re.value = 0
    await ReadOnly()
    assert int(dut.cfg__rdata.value) == 0, "router answered a read of another region"
    await RisingEdge(dut.clk)
    return dict(zip(spec.ROUTER_COUNTERS, values))


async def lockstep(dut, clock, model, cycles, offer_fn, ready_fn, accepts=None):
    """Drive inputs/outputs for `cycles` cycles, comparing with `model` every cycle.
    offer_fn(cycle, i, pending) -> flit or None for a new offer; ready_fn(cycle, o) -> bool."""
    pending = [None] * P
    log = []
    waiting = [None] * P   # payload an output offered last cycle without a transfer
    for cyc in range(cycles):
        await RisingEdge(dut.clk)
        for i in range(P):
            if pending[i] is None:
                pending[i] = offer_fn(cyc, i)
            v = getattr(dut, f"inputs__{i}__valid")
            v.value = int(pending[i] is not None)
            if pending[i] is not None:
                getattr(dut, f"inputs__{i}__payload").value = pending[i]
        ready = [bool(ready_fn(cyc, o)) for o in range(P)]
        for o in range(P):
            getattr(dut, f"outputs__{o}__ready").value = int(ready[o])
        await ReadOnly()
        in_ready, valid, payload, _grant = model.outputs()
        for i in range(P):
            got = int(getattr(dut, f"inputs__{i}__ready").value)
            assert got == in_ready[i], f"cycle {cyc}: inputs[{i}].ready = {got}, model {in_ready[i]}"
        for o in range(P):
            got = int(getattr(dut, f"outputs__{o}__valid").value)
            assert got == valid[o], f"cycle {cyc}: outputs[{o}].valid = {got}, model {valid[o]}"
            if waiting[o] is not None:   # stream rule 2, on the ports alone
                assert got, f"cycle {cyc}: outputs[{o}].valid dropped without a transfer"
            if valid[o]:
                gp = int(getattr(dut, f"outputs__{o}__payload").value)
                assert gp == payload[o], f"cycle {cyc}: outputs[{o}].payload = {gp:#x}, model {payload[o]:#x}"
                assert waiting[o] in (None, gp), \
                    f"cycle {cyc}: outputs[{o}].payload changed from {waiting[o]:#x} to {gp:#x} before a transfer"
            waiting[o] = int(getattr(dut, f"outputs__{o}__payload").value) if got and not ready[o] else None
        busy = int(dut.busy.value)
        assert busy == int(any(model.fifos)), f"cycle {cyc}: busy = {busy}"
        accepted = [pending[i] is not None and in_ready[i] for i in range(P)]
        moved = model.step(list(pending), ready)
        log.extend((cyc, o, i, f) for o, i, f in moved)
        for i in range(P):
            if accepted[i]:
                pending[i] = None
                if accepts is not None:
                    accepts.append((cyc, i))
    return log


# Simulated-time budgets (bounded_test): about ten times what each test takes (93, 263, 2,718
# and 103 cycles at depth 2), so a deadlocked router fails in seconds, not never.
@bounded_test(cycles=2_000)
async def every_input_to_every_output(dut):
    """Single flits from every input to every reachable output, one at a time: each leaves by the port XY routing names, one cycle after
    it was accepted (written in c, at the head in c+1, forwarded in c+1)."""
    clock = await setup(dut)
    rng = random.Random(1)
    sinks = [StreamSink(dut, f"outputs__{o}", clock) for o in range(P)]
    sources = [StreamSource(dut, f"inputs__{i}", clock) for i in range(P)]
    expected_fwd = [0] * P
    for i in range(P):
        for o in REACHABLE:
            word = flit_to(o, rng)
            before = [len(s.received) for s in sinks]
            sources[i].send(word)
            await sources[i].wait_idle()
            accepted = sources[i].sent[-1][0]
            await clock.cycles(3)
            got = [s.received[before[k]:] for k, s in enumerate(sinks)]
            assert got[o] == [(accepted + 1, word)], f"input {i} -> output {o}: {got}"
            assert all(not got[k] for k in range(P) if k != o), f"input {i}: flit duplicated: {got}"
            expected_fwd[o] += 1
    counters = await read_counters(dut, clock)
    assert [counters[f"fwd_{p}"] for p in spec.PORTS] == expected_fwd
    assert counters["errors"] == 0


@bounded_test(cycles=3_000)
async def round_robin_order(dut):
    """All five inputs compete for one output that is always ready: grants rotate
    local, north, east, south, west, local, ... (rr resets to west). Then the same with a
    subset of requesters, checked against a three-line round-robin model."""
    clock = await setup(dut)
    rng = random.Random(2)
    target = spec.EAST if X < PARAMS.width - 1 else spec.LOCAL
    depth = PARAMS.fifo_depth
    model = RouterModel(PARAMS, X, Y)
    flits = {i: [flit_to(target, rng) | 0 for _ in range(12)] for i in range(P)}
    # tag each flit with its input in the axon field's top bits so that the order is visible
    tagged = {i: [(f & ~0xF00) | (i << 8) for f in flits[i]] for i in range(P)}
    queues = {i: deque(tagged[i]) for i in range(P)}

    def offer(cyc, i):
        return queues[i].popleft() if queues[i] else None

    log = await lockstep(dut, clock, model, 200, offer, lambda c, o: True)
    order = [i for _c, o, i, _f in log if o == target]
    # independent expectation: with everyone requesting, pure rotation 0,1,2,3,4,...
    if depth >= 2:
        assert order[:25] == [k % P for k in range(25)], order[:25]
    assert sorted(order) == sorted([i for i in range(P) for _ in range(12)])

    # a subset of inputs: 1 and 3 only, from a fresh state of the pointer (whatever it is)
    rr = model.rr[target]
    subset = [1, 3]
    for i in subset:
        queues[i].extend([(flit_to(target, rng) & ~0xF00) | (i << 8) for _ in range(6)])
    log = await lockstep(dut, clock, model, 60, offer, lambda c, o: True)
    order = [i for _c, o, i, _f in log if o == target]
    expect = []
    left = {1: 6, 3: 6}
    while any(left.values()):
        for k in range(1, P + 1):
            i = (rr + k) % P
            if left.get(i):
                expect.append(i)
                left[i] -= 1
                rr = i
                break
    if depth >= 2:
        assert order == expect, (order, expect)
    assert sorted(order) == sorted(expect)


@bounded_test(cycles=30_000)
async def random_traffic_lockstep(dut):
    """Random offers (including refused flits) on all inputs and random back-pressure on all
    outputs, compared cycle by cycle with RouterModel; then no flit lost or duplicated, and the
    counters equal the model's."""
    clock = await setup(dut)
    rng = random.Random(3)
    model = RouterModel(PARAMS, X, Y)
    offered = []
    seq = itertools.count()

    def offer(cyc, i):
        if cyc > 2500 or rng.random() > 0.6:
            return None
        if rng.random() < 0.08:
            f = bad_flit(rng)
        else:
            f = flit_to(rng.choice(REACHABLE), rng)
            f = (f & ~0xFF) | (next(seq) & 0xFF)   # vary the axon: distinct-ish payloads
        offered.append((i, f))
        return f

    log = await lockstep(dut, clock, model, 2700, offer, lambda c, o: rng.random() < 0.55)
    # every good flit accepted came out exactly once, at its XY port, in per-input order
    assert not any(model.fifos), "flits left in the FIFOs"
    good = [(i, f) for i, f in offered if not spec.flit_refused(f, PARAMS.width, PARAMS.height)]
    assert sorted((i, f) for _c, _o, i, f in log) == sorted(good)
    for _c, o, _i, f in log:
        assert o == spec.route_port(X, Y, f)
    counters = await read_counters(dut, clock)
    assert [counters[f"fwd_{p}"] for p in spec.PORTS] == model.fwd
    n_bad = len(offered) - len(good)
    assert counters["errors"] == model.errors == n_bad > 0


@bounded_test(cycles=2_000)
async def fifo_depth_semantics(dut):
    """One input, output always ready: a depth-1 FIFO passes a flit every 2 cycles, deeper ones
    one per cycle. Output blocked: exactly `depth` flits are accepted, and after the output
    opens a full FIFO accepts again only the cycle after its first pop."""
    clock = await setup(dut)
    depth = PARAMS.fifo_depth
    rng = random.Random(4)
    words = [flit_to(spec.LOCAL, rng) for _ in range(10)]
    model = RouterModel(PARAMS, X, Y)
    q = deque(words)
    log = await lockstep(dut, clock, model, 40, lambda c, i: q.popleft() if i == spec.NORTH and q else None,
                         lambda c, o: True)
    cycles = [c for c, *_ in log]
    step = 2 if depth == 1 else 1
    assert [b - a for a, b in zip(cycles, cycles[1:])] == [step] * 9, cycles

    # blocked output: exactly `depth` flits go in; the first pop is in the cycle the output
    # opens, and the full FIFO takes the next flit only in the cycle after it (ready ignores
    # a pop in the same cycle).
    q = deque(words)
    blocked = 20
    accepts = []
    log = await lockstep(dut, clock, model, 60, lambda c, i: q.popleft() if i == spec.NORTH and q else None,
                         lambda c, o: c >= blocked, accepts=accepts)
    north = [c for c, i in accepts if i == spec.NORTH]
    assert north[:depth] == list(range(depth)), north
    assert north[depth] == blocked + 1, north
    assert [c for c, *_ in log][0] == blocked
    assert len(log) == 10
