"""cocotb tests of the chip top (hw/mesh.py): links, host ports, tick/busy, configuration.

Driven by tests/test_hw_mesh.py; NM_MESH (JSON) = {"params": {...HwParams...}}. The expectations are computed here, independently of the RTL: an XY walk written in
this file gives each flit's path, hence the per-router `fwd_*` counters; the delivered flits give
the per-core counters; docs/architecture.md section 5 gives the tick/busy/cfg timing.

Traffic that reaches a core is made observable the same way for the stand-in and the real core:
each core's neuron 0 fires every tick (vth = 0, bias 1) and emits its route entries, and every
axon lists one synapse, so each tile-bound flit is one SOP (or one core error if its axon is
beyond the axon table).
"""
import itertools
import json
import os
import random
from collections import Counter

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from neuromesh import spec
from neuromesh.tools.cosim.bounded import bounded_test
from neuromesh.tools.cosim.drivers import (CfgMaster, ChipPorts, StreamMonitor, StreamSink, StreamSource, TbClock,
                                           TickDriver)

CFG = json.loads(os.environ.get("NM_MESH", '{"params": {}}'))
P = spec.HwParams(**CFG["params"])

# Simulated-time budget of each test (bounded_test): the longest took 622 cycles on 3x2; ten
# times that and more for larger meshes.
BUDGET = 10_000 + 2_000 * P.n_tiles


class Bench:
    def __init__(self, dut, out_ready=None, in_pause=None):
        self.dut = dut
        self.clock = TbClock(dut)
        self.cfg = CfgMaster(ChipPorts(dut), cycle=lambda: self.clock.now)
        self.tick = TickDriver(dut, self.clock)
        self.src = StreamSource(dut, "spike_in", self.clock, pause=in_pause)
        self.spike_in = StreamMonitor(dut, "spike_in", self.clock)
        self.sink = StreamSink(dut, "spike_out", self.clock, ready=out_ready)
        self.busy_count = 0
        self.violations = []

    async def start(self, active=None):
        """Reset, then give every core `active` active neurons (default: all of them, so that
        every slot is updated; the count survives `rst`, so each test sets its own)."""
        await self.clock.reset()
        count = P.neurons_per_core if active is None else active
        await self.cfg.write_all([(spec.tile_addr(x, y, "active", 0), count) for x, y in P.tiles()])
        cocotb.start_soon(self._watch())

    async def _watch(self):
        """Every cycle: tick.ready == ~busy, and no cfg request is accepted while busy."""
        dut = self.dut
        while True:
            await ReadOnly()
            busy = int(dut.busy.value)
            self.busy_count += busy
            if int(dut.tick__ready.value) != 1 - busy:
                self.violations.append((self.clock.now, "tick.ready != ~busy"))
            if busy and int(dut.cfg_req__ready.value):
                self.violations.append((self.clock.now, "cfg_req.ready while busy"))
            await RisingEdge(dut.clk)


def xy_path(sx, sy, word):
    """[((x, y), out_port)] of a flit entering router (sx, sy): X first, then Y; host-bound
    flits go to (0, 0) and leave west. Written independently of spec.route_port."""
    f = spec.unpack_flit(word)
    tx, ty = (0, 0) if f["host"] else (f["x"], f["y"])
    hops, x, y = [], sx, sy
    while x != tx:
        step = 1 if tx > x else -1
        hops.append(((x, y), spec.EAST if step > 0 else spec.WEST))
        x += step
    while y != ty:
        step = 1 if ty > y else -1
        hops.append(((x, y), spec.NORTH if step > 0 else spec.SOUTH))
        y += step
    hops.append(((x, y), spec.WEST if f["host"] else spec.LOCAL))
    return hops


def refused(word):
    f = spec.unpack_flit(word)
    return bool(word >> 25) or (not f["host"] and (f["x"] >= P.width or f["y"] >= P.height))  # SPEC 5: 31:25 reserved


class Expect:
    """Independent bookkeeping of where every flit goes."""

    def __init__(self):
        self.fwd = {xy: [0] * spec.N_PORTS for xy in P.tiles()}
        self.router_errors = Counter()
        self.sops = Counter()
        self.core_errors = Counter()
        self.to_host = Counter()

    def flit(self, source, word):
        if refused(word):
            self.router_errors[source] += 1
            return
        hops = xy_path(*source, word)
        for xy, port in hops:
            self.fwd[xy][port] += 1
        f = spec.unpack_flit(word)
        if f["host"]:
            self.to_host[word] += 1
        elif f["axon"] < P.axons_per_core:
            self.sops[(f["x"], f["y"])] += 1
        else:
            self.core_errors[(f["x"], f["y"])] += 1


def random_target(rng, allow_bad=True):
    r = rng.random()
    if r < 0.35:
        return spec.host_flit(rng.randrange(spec.HOST_CHANNELS), rng.randrange(P.width), rng.randrange(P.height))
    if allow_bad and r < 0.40 and P.axons_per_core < spec.HOST_CHANNELS:
        return spec.pack_flit(rng.randrange(P.axons_per_core, spec.HOST_CHANNELS),
                              rng.randrange(P.width), rng.randrange(P.height))
    if allow_bad and r < 0.44 and P.width < spec.MAX_MESH_SIDE:
        return spec.pack_flit(rng.randrange(P.axons_per_core), rng.randrange(P.width, spec.MAX_MESH_SIDE),
                              rng.randrange(P.height))
    return spec.pack_flit(rng.randrange(P.axons_per_core), rng.randrange(P.width), rng.randrange(P.height))


def program(routes):
    """Configuration writes: neuron 0 of every tile fires every tick and emits `routes[xy]`;
    every axon lists synapse 0 (neuron 0, weight 0)."""
    writes = []
    for (x, y), entries in routes.items():
        a = lambda region, off: spec.tile_addr(x, y, region, off)
        writes.append((a("param", 0), spec.PARAM_WORDS[0].pack()))
        writes.append((a("param", 1), spec.PARAM_WORDS[1].pack(vth=0, bias_mant=1)))
        writes.append((a("synapse", 0), spec.SYNAPSE_WORD.pack(target=0, weight=0)))
        for ax in range(P.axons_per_core):
            writes.append((a("axon", ax), spec.AXON_WORD.pack(ptr=0, len=1, wexp=0)))
        for k, word in enumerate(entries):
            writes.append((a("route", k), spec.ROUTE_WORD.pack(flit=word)))
        writes.append((a("rlist", 0), spec.RLIST_WORD.pack(ptr=0, len=len(entries))))
    return writes


@bounded_test(cycles=BUDGET)
async def registers_and_cfg_timing(dut):
    tb = Bench(dut)
    await tb.start()
    cfg = tb.cfg
    assert await cfg.read(spec.chip_addr("id")) == spec.CHIP_ID
    assert cfg.last_response - cfg.last_accept == 5, "a read accepted in c answers from c+5"
    params = spec.CHIP_PARAMS_WORD.unpack(await cfg.read(spec.chip_addr("params")))
    assert (params["width_m1"] + 1, params["height_m1"] + 1) == (P.width, P.height)
    for reg in ("ticks", "busy_cycles", "status"):
        assert await cfg.read(spec.chip_addr(reg)) == 0, reg
    # chip registers and counters are read-only
    await cfg.write(spec.chip_addr("ticks"), 55)
    await cfg.write(spec.tile_addr(0, 0, "router_cnt", 0), 77)
    assert await cfg.read(spec.chip_addr("ticks")) == 0
    assert await cfg.read(spec.tile_addr(0, 0, "router_cnt", 0)) == 0
    # unmapped addresses read as 0
    assert await cfg.read(spec.chip_addr("domains")) == 1                 # one clock domain
    unmapped = [(1 << 31) | len(spec.CHIP_REGISTERS), (1 << 31) | (spec.DOMAIN_BUSY_BASE + 1),
                (1 << 31) | (1 << 20), 1 << 28,
                spec.tile_addr(P.width - 1, P.height - 1, "router_cnt", len(spec.ROUTER_COUNTERS)),
                spec.tile_addr(0, 0, "route", P.routes_per_core),
                (len(spec.REGIONS) << spec.ADDR_REGION_LSB)]
    if P.width < spec.MAX_MESH_SIDE:
        unmapped.append(spec.tile_addr(P.width, 0, "route", 0))
    for addr in unmapped:
        await cfg.write(addr, 0xFFFFFFFF)
        assert await cfg.read(addr) == 0, hex(addr)

    # cfg_req.ready: 1 in the accept cycle c, 0 in c+1 ... c+5 (response offered in c+5 and
    # taken there, since cfg_resp.ready is high), 1 again in c+6 (architecture 5).
    await RisingEdge(dut.clk)
    dut.cfg_req__payload.value = spec.pack_cfg_req(spec.chip_addr("id"))
    dut.cfg_req__valid.value = 1
    seen = []
    for _ in range(8):
        await ReadOnly()
        seen.append((int(dut.cfg_req__ready.value), int(dut.cfg_resp__valid.value)))
        await RisingEdge(dut.clk)
    dut.cfg_req__valid.value = 0
    assert seen[:7] == [(1, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 1), (1, 0)], seen

    # a host-bound flit goes from spike_in to spike_out in one hop (accepted c, out c+1)
    word = spec.host_flit(5, 0, 0)
    tb.src.send(word)
    await tb.src.wait_idle()
    await tb.clock.cycles(3)
    assert tb.sink.received == [(tb.src.sent[0][0] + 1, word)]

    rng = random.Random(7)   # the cores answer reads of their tables
    routes = {xy: [random_target(rng, False) for _ in range(3)] for xy in P.tiles()}
    writes = program(routes)
    await cfg.write_all(writes)
    assert await cfg.readback(P, writes) == []
    # an access drives its own tile's bus only: after every tile was read back, a write to one
    # tile leaves every other tile's words as they were (hw/cfg_decoder.py)
    await cfg.write(*writes[0])
    assert await cfg.readback(P, writes) == []
    assert not tb.violations, tb.violations[:5]


@bounded_test(cycles=BUDGET)
async def random_traffic(dut):
    """Host flits (tile-bound, host-bound, refused) and core-emitted flits over several ticks,
    with random gaps and random spike_out back-pressure: every flit is delivered exactly once
    along its XY path, busy falls only when everything is delivered, counters match."""
    rng = random.Random(11 + P.width * 7 + P.height)
    ready_rng = random.Random(5)
    tb = Bench(dut, out_ready=(ready_rng.random() < 0.6 for _ in itertools.count()),
               in_pause=itertools.cycle([0, 0, 1, 0, 1]))
    await tb.start()
    n_routes = min(P.routes_per_core, 6)
    routes = {xy: [random_target(rng) for _ in range(rng.randrange(n_routes + 1))] for xy in P.tiles()}
    await tb.cfg.write_all(program(routes))

    exp = Expect()
    ticks = 4
    for t in range(1, ticks + 1):
        batch = [random_target(rng) for _ in range(rng.randrange(25))]
        for k, word in enumerate(batch):
            if rng.random() < 0.1:
                word |= 1 << rng.randrange(25, 32)        # reserved bit (SPEC 5 v2): refused at (0, 0)
            tb.src.send(word, gap=rng.choice([0, 0, 0, 1, 3]))
            exp.flit((0, 0), word)
        await tb.src.wait_idle()
        h, q = await tb.tick.run_tick()
        for xy, entries in routes.items():
            for word in entries:
                exp.flit(xy, word)
        # at quiescence every host-bound flit so far has come out
        assert Counter(w for _c, w in tb.sink.received) == exp.to_host, f"tick {t}: spike_out differs"
        assert q > h
        # the status register's parity follows every tick (an even count alone would hide a stuck bit)
        status = spec.CHIP_STATUS_WORD.unpack(await tb.cfg.read(spec.chip_addr("status")))
        assert status == {"busy": 0, "parity": t % 2}, (t, status)
    assert tb.spike_in.transfers == tb.src.sent      # the monitor saw what the source sent

    await RisingEdge(dut.clk)
    for xy in P.tiles():
        rc = await tb.cfg.read_counters(P, *xy, "router_cnt")
        assert [rc[f"fwd_{p}"] for p in spec.PORTS] == exp.fwd[xy], (xy, rc, exp.fwd[xy])
        assert rc["errors"] == exp.router_errors[xy], (xy, rc)
        cc = await tb.cfg.read_counters(P, *xy, "core_cnt")
        assert cc["sops"] == exp.sops[xy], (xy, cc, exp.sops[xy])
        assert cc["errors"] == exp.core_errors[xy], (xy, cc)
        assert cc["flits_sent"] == ticks * len(routes[xy]), (xy, cc)
    assert sum(exp.router_errors.values()) > 0
    assert await tb.cfg.read(spec.chip_addr("ticks")) == ticks
    busy_cycles = await tb.cfg.read(spec.chip_addr("busy_cycles"))
    assert busy_cycles == tb.busy_count, (busy_cycles, tb.busy_count)
    status = spec.CHIP_STATUS_WORD.unpack(await tb.cfg.read(spec.chip_addr("status")))
    assert status == {"busy": 0, "parity": ticks % 2}
    assert not tb.violations, tb.violations[:5]


@bounded_test(cycles=BUDGET)
async def tick_and_busy(dut):
    """A silent tick takes N + 9 cycles (architecture 5). A tick offered while the mesh is stalled
    (spike_out not ready) is not taken; busy (registered) falls two cycles after the last flit
    leaves (its FIFO is empty in the next), and the waiting tick is taken in exactly that cycle."""
    flag = [1]
    tb = Bench(dut, out_ready=(flag[0] for _ in itertools.count()))
    await tb.start()
    # earlier tests of this run left programs in the memories: silence every neuron 0
    vth_max = (1 << spec.VTH_BITS) - 1
    for xy in P.tiles():
        await tb.cfg.write(spec.tile_addr(*xy, "param", 1), spec.PARAM_WORDS[1].pack(vth=vth_max))
        await tb.cfg.write(spec.tile_addr(*xy, "rlist", 0), 0)
    h, q = await tb.tick.run_tick()
    assert q - h == P.neurons_per_core + 9, (h, q)
    # SPEC 3: with no active neuron anywhere there is no update phase: busy low again in h+3 (the
    # start pulse in h+1 and the cycle after it keep busy high, architecture 5).
    await tb.cfg.write_all([(spec.tile_addr(x, y, "active", 0), 0) for x, y in P.tiles()])
    h, q = await tb.tick.run_tick()
    assert q - h == 3, (h, q)
    await tb.cfg.write_all([(spec.tile_addr(x, y, "active", 0), P.neurons_per_core) for x, y in P.tiles()])

    n = min(P.routes_per_core, 10)
    entries = [spec.host_flit(k, 0, 0) for k in range(n)]
    await tb.cfg.write_all(program({xy: entries if xy == (0, 0) else [] for xy in P.tiles()}))
    flag[0] = 0
    before = len(tb.tick.handshakes)
    await tb.tick.tick()                        # tile (0, 0) emits n host-bound flits
    await RisingEdge(dut.clk)
    second = cocotb.start_soon(tb.tick.tick())  # the next tick waits while the mesh is stalled
    await tb.clock.cycles(P.neurons_per_core + 60)
    assert len(tb.tick.handshakes) == before + 1, tb.tick.handshakes
    await ReadOnly()
    assert int(dut.busy.value) == 1
    await RisingEdge(dut.clk)
    flag[0] = 1
    h3 = await second
    got = tb.sink.received
    assert [w for _c, w in got] == entries          # in order: one source, one path
    assert h3 == got[-1][0] + 2, (h3, got[-1])
    # A read offered while the chip is busy is taken in the first quiet cycle and counts every
    # busy cycle before it, the last one included (architecture 5)
    await tb.tick.tick()
    await ReadOnly()
    assert int(dut.busy.value) == 1
    busy_cycles = await tb.cfg.read(spec.chip_addr("busy_cycles"))
    assert busy_cycles == tb.busy_count, (busy_cycles, tb.busy_count)
    await tb.tick.wait_quiescent()
    assert not tb.violations, tb.violations[:5]


@bounded_test(cycles=BUDGET)
async def two_cycles_per_hop(dut):
    """For each tile alone: its neuron 0 fires in the tick handshaked in h (start pulse in h+1,
    architecture 5; fires in h+8, 4.3), the core offers the first route flit in h+15 (4.4, neuron
    0), it is at the head of the local FIFO in h+16, and with no contention each router forwards
    it in its first cycle at the head, into a hop register whose head enters the next FIFO a
    cycle later (architecture 3): a host-bound flit from (x, y) leaves on spike_out in cycle
    h + 16 + 2 (x + y)."""
    tb = Bench(dut)
    await tb.start()
    vth_max = (1 << spec.VTH_BITS) - 1
    silent = spec.PARAM_WORDS[1].pack(vth=vth_max)
    for xy in P.tiles():
        await tb.cfg.write(spec.tile_addr(*xy, "param", 1), silent)
        await tb.cfg.write(spec.tile_addr(*xy, "rlist", 0), 0)
    for x, y in P.tiles():
        word = spec.host_flit(x * 16 + y, x, y)
        await tb.cfg.write_all(program({(x, y): [word]}))
        before = len(tb.sink.received)
        h, _q = await tb.tick.run_tick()
        await tb.cfg.write(spec.tile_addr(x, y, "param", 1), silent)
        assert tb.sink.received[before:] == [(h + 16 + 2 * (x + y), word)], ((x, y), h, tb.sink.received[before:])
    assert not tb.violations, tb.violations[:5]
