"""cocotb tests of hw/neuron_core.py (driven by tests/test_hw_core.py under Verilator).

Every expected value comes from the SPEC / docs/architecture.md by hand-derived rules or from
tests/lif_ref.py (an independent reference of SPEC section 3), never from the RTL;
`config_readback` also holds the golden model's core to the words the RTL read back.
The environment carries the elaboration parameters (NM_PARAMS, JSON) and the test sizes.
"""
import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ReadOnly, RisingEdge

import lif_ref
from neuromesh import spec
from neuromesh.sim.neuron_core import NeuronCore
from neuromesh.tools.cosim.bounded import bounded_test

PARAMS = spec.HwParams(**json.loads(os.environ.get("NM_PARAMS", "{}")))
SEED = int(os.environ.get("NM_SEED", "1"))
ARITH_TICKS = int(os.environ.get("NM_ARITH_TICKS", "4"))
BP_TICKS = int(os.environ.get("NM_BP_TICKS", "4"))

N = PARAMS.neurons_per_core
A = PARAMS.axons_per_core
S = PARAMS.synapses_per_core
R = PARAMS.routes_per_core
AW = PARAMS.acc_width

# Simulated-time budgets (bounded_test), about ten times what each test took on the two builds
# (small / default core, measured): config_readback 1,388 / 13,340 cycles (a write and a read
# per word), arithmetic ~9.2 N per tick, timing 2,606 / 14,176, synapse_throughput 876,
# backpressure ~7 N per tick, active_count 1,373.
WORDS = sum(spec.region_size(PARAMS, r) for r in spec.WRITABLE_REGIONS)


def _signed(value, bits):
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class Bench:
    """Drives the core one clock cycle at a time. `cycle` is the index of the current cycle;
    inputs set in a cycle hold for that cycle, outputs are sampled once they settled."""

    def __init__(self, dut):
        self.dut = dut
        self.cycle = 0
        self.ticks = 0  # ticks started since reset: the slot being filled is ticks % 2

    async def reset(self):
        d = self.dut
        if not getattr(d, "_clock_started", False):
            cocotb.start_soon(Clock(d.clk, 10, unit="ns").start())
            d._clock_started = True
        self._drive()
        d.rst.value = 1
        await RisingEdge(d.clk)
        await RisingEdge(d.clk)
        d.rst.value = 0
        await RisingEdge(d.clk)
        # Every slot active (SPEC 3's count survives rst, so a test that changed it is undone
        # here); the `active_count` test sets its own.
        await self.write([("active", 0, N)])
        self.cycle = 0
        self.ticks = 0

    def _drive(self, *, inp=None, ready=1, tick=0, cfg=None):
        d = self.dut
        d.inp__valid.value = int(inp is not None)
        d.inp__payload.value = inp or 0
        d.out__ready.value = ready
        d.tick_flip.value = tick
        d.tick_start.value = tick
        region, offset, wdata, we, re = cfg or (0, 0, 0, 0, 0)
        d.cfg__region.value = region
        d.cfg__offset.value = offset
        d.cfg__wdata.value = wdata
        d.cfg__we.value = we
        d.cfg__re.value = re

    async def step(self, **drive):
        """One cycle: drive the inputs, sample the settled outputs, move to the next cycle."""
        self._drive(**drive)
        await ReadOnly()
        d = self.dut
        s = {"idle": int(d.idle.value), "inp_ready": int(d.inp__ready.value),
             "out_valid": int(d.out__valid.value), "out": int(d.out__payload.value),
             "rdata": int(d.cfg__rdata.value)}
        await RisingEdge(d.clk)
        self.cycle += 1
        return s

    # ---- configuration (only while idle) ------------------------------------------------------
    async def write(self, items):
        for region, offset, word in items:
            s = await self.step(cfg=(spec.REGION[region], offset, word, 1, 0))
            assert s["idle"], "cfg write while the core is busy"

    async def read(self, items):
        """Pipelined reads: one issued per cycle, each answered three cycles later
        (hw/cfg_bus.py: the read, its word into a register, the selected word into rdata)."""
        out = []
        items = list(items)
        for i in range(len(items) + 3):
            cfg = (spec.REGION[items[i][0]], items[i][1], 0, 0, 1) if i < len(items) else None
            s = await self.step(cfg=cfg)
            if i >= 3:
                out.append(s["rdata"])
        return out

    async def counters(self):
        vals = await self.read([("core_cnt", i) for i in range(len(spec.CORE_COUNTERS))])
        return dict(zip(spec.CORE_COUNTERS, vals))

    # ---- traffic ------------------------------------------------------------------------------
    async def run(self, *, tick=False, flits=(), gaps=None, flit_start=0, ready=None, limit=200000):
        """Run until everything is done and the core is idle. `tick`: pulse tick_start in the first
        cycle (which must be idle). `flits` are offered on `inp` from cycle `flit_start` of the run,
        with `gaps[i]` empty cycles before flit i; `ready(cycle)` drives out.ready.
        Returns a log with absolute cycles: h, in_cycles, out [(cycle, flit)], idle_rise."""
        flits = list(flits)
        gaps = list(gaps) if gaps is not None else [0] * len(flits)
        log = {"h": None, "in_cycles": [], "out": [], "idle_trace": []}
        start = self.cycle
        i, wait = 0, (gaps[0] if gaps else 0)
        last_event = start
        while True:
            rel = self.cycle - start
            offer = None
            if i < len(flits) and rel >= flit_start:
                if wait > 0:
                    wait -= 1
                else:
                    offer = flits[i]
            r = 1 if ready is None else ready(self.cycle)
            do_tick = int(tick and rel == 0)
            cyc = self.cycle
            s = await self.step(inp=offer, ready=r, tick=do_tick)
            log["idle_trace"].append((cyc, s["idle"]))
            if do_tick:
                assert s["idle"], "tick_start while the core is busy"
                log["h"] = cyc
                self.ticks += 1
                last_event = cyc
            if offer is not None and s["inp_ready"]:
                log["in_cycles"].append(cyc)
                last_event = cyc
                i += 1
                wait = gaps[i] if i < len(gaps) else 0
            if s["out_valid"] and r:
                log["out"].append((cyc, s["out"]))
            if i == len(flits) and cyc > last_event and s["idle"] and not (tick and rel == 0):
                log["idle_rise"] = cyc
                return log
            assert rel < limit, "the core never became idle"


def rand_neuron(rng):
    """Random parameters and state, with the SPEC section 3 edges drawn often."""
    def pick(edges, lo, hi):
        return rng.choice(edges) if rng.random() < 0.3 else rng.randint(lo, hi)
    smax = (1 << 23) - 1
    prm = dict(
        du=pick([0, 1, 4094, 4095], 0, 4095),
        dv=pick([0, 1, 4094, 4095], 0, 4095),
        vth=pick([0, 1, (1 << 17) - 1], 0, (1 << 17) - 1) if rng.random() < 0.5 else rng.randint(0, 3000),
        bias_mant=pick([-4096, -1, 0, 1, 4095], -4096, 4095),
        bias_exp=rng.randint(0, 7),
        refractory=rng.randint(0, 15),
        reset=rng.randint(0, 1),
    )
    u = pick([-smax - 1, -smax, -1, 0, 1, smax], -smax - 1, smax)
    v = pick([-smax - 1, -smax, -1, 0, 1, smax], -smax - 1, smax)
    r = 0 if rng.random() < 0.6 else rng.randint(1, 15)
    return prm, u, v, r


def rand_acc(rng):
    lim = 1 << (AW - 1)
    edges = [-lim, lim - 1, -32769, -32768, -32767, 32766, 32767, 32768, 0, -1, 1]
    roll = rng.random()
    if roll < 0.25:
        return rng.choice(edges)
    if roll < 0.6:
        return rng.randint(-40000, 40000)
    if roll < 0.8:
        return rng.randint(-300, 300)
    return rng.randint(-lim, lim - 1)


def param_words(prm):
    return (spec.PARAM_WORDS[0].pack(du=prm["du"], dv=prm["dv"], bias_exp=prm["bias_exp"],
                                     refractory=prm["refractory"], reset=prm["reset"]),
            spec.PARAM_WORDS[1].pack(vth=prm["vth"], bias_mant=prm["bias_mant"]))


def state_words(u, v, r):
    return spec.STATE_WORDS[0].pack(u=u), spec.STATE_WORDS[1].pack(v=v, r=r)


def acc_to_word(a):
    return a & ((1 << AW) - 1)


async def write_neurons(tb, neurons, idx=None):
    items = []
    for n in (range(N) if idx is None else idx):
        prm, u, v, r = neurons[n]
        p0, p1 = param_words(prm)
        s0, s1 = state_words(u, v, r)
        items += [("param", 2 * n, p0), ("param", 2 * n + 1, p1), ("state", 2 * n, s0), ("state", 2 * n + 1, s1)]
    await tb.write(items)


async def read_states(tb):
    words = await tb.read([("state", k) for k in range(2 * N)])
    out = []
    for n in range(N):
        u = spec.STATE_WORDS[0].unpack(words[2 * n])["u"]
        f = spec.STATE_WORDS[1].unpack(words[2 * n + 1])
        out.append((u, f["v"], f["r"]))
    return out


async def read_acc(tb, slot):
    return [_signed(w, AW) for w in await tb.read([(f"acc{slot}", n) for n in range(N)])]


# ================================================================================================
@bounded_test(cycles=20_000 + 20 * WORDS)
async def config_readback(dut):
    """Every word of every table: write random 32-bit words, read back the word masked by its
    layout (bits outside the fields read 0); counters are read-only; unmapped offsets read 0.
    Synapse words are random within the contract (a target among the core's neurons: what the
    loader writes; architecture.md section 6)."""
    tb = Bench(dut)
    await tb.reset()
    rng = random.Random(SEED)

    items = []
    for region in spec.WRITABLE_REGIONS:
        for off in range(spec.region_size(PARAMS, region)):
            word = rng.getrandbits(32)
            if region == "synapse":    # the bits above the target field stay random
                word = (word & ~spec.SYNAPSE_WORD.field("target").mask) | rng.randrange(N)
            items.append((region, off, word))
    rng.shuffle(items)
    await tb.write(items)
    got = await tb.read([(reg, off) for reg, off, _ in items])
    def want(reg, off, w):
        masked = w & spec.region_word(PARAMS, reg, off).mask
        return min(masked, N) if reg == "active" else masked   # a count above N is stored as N
    bad = [(reg, off, hex(w), hex(g)) for (reg, off, w), g in zip(items, got) if g != want(reg, off, w)]
    assert not bad, f"{len(bad)} words read back wrong, first {bad[:5]}"
    # The golden model's core, given the same writes, reads back what the RTL did (its clamp of
    # the active count, its masks): the loader never writes a count above N, so only this raw
    # configuration reaches that corner of the model against the RTL.
    model = NeuronCore(PARAMS, 0, 0, 0)
    for reg, off, w in items:
        model.write(reg, off, w)
    model_words = [model.read(reg, off) for reg, off, _ in items]
    differ = [(reg, off, hex(g), hex(mw)) for (reg, off, _), g, mw in zip(items, got, model_words) if g != mw]
    assert not differ, f"{len(differ)} words differ from the golden model's read-back, first {differ[:5]}"
    # Counters: writes ignored, all zero after reset (nothing ran).
    await tb.write([("core_cnt", i, 0xFFFFFFFF) for i in range(len(spec.CORE_COUNTERS))])
    assert await tb.counters() == dict.fromkeys(spec.CORE_COUNTERS, 0)
    # Offsets past the end of a region read 0 (when the offset field reaches them).
    past = [(reg, spec.region_size(PARAMS, reg)) for reg in spec.WRITABLE_REGIONS + ("core_cnt",)]
    assert await tb.read(past) == [0] * len(past)


# ================================================================================================
@bounded_test(cycles=20_000 + 100 * N * ARITH_TICKS)
async def arithmetic(dut):
    """ARITH_TICKS ticks over all N neurons with random (edge-biased) parameters, state and
    accumulators, against lif_ref: new state, spikes (one host flit per neuron), counters,
    the consumed slot cleared and the filling slot untouched."""
    tb = Bench(dut)
    await tb.reset()
    rng = random.Random(SEED + 1)
    # Neuron n sends one flit, route[n % R] = a host flit naming n (N <= R in these builds).
    assert N <= R
    await tb.write([("rlist", n, spec.RLIST_WORD.pack(ptr=n, len=1)) for n in range(N)]
                   + [("route", n, spec.host_flit(n, 0, 0)) for n in range(N)])
    neurons = [rand_neuron(rng) for _ in range(N)]
    total_spikes = 0
    for t in range(ARITH_TICKS):
        # Every other tick, fresh parameters and state; otherwise the state carries over.
        if t % 2 == 0:
            neurons = [rand_neuron(rng) for _ in range(N)]
            await write_neurons(tb, neurons)
        consume, other = tb.ticks % 2, 1 - tb.ticks % 2
        accs = [rand_acc(rng) for _ in range(N)]
        others = [rng.randint(-(1 << (AW - 1)), (1 << (AW - 1)) - 1) for _ in range(N)]
        await tb.write([(f"acc{consume}", n, acc_to_word(a)) for n, a in enumerate(accs)]
                       + [(f"acc{other}", n, acc_to_word(a)) for n, a in enumerate(others)])
        log = await tb.run(tick=True)
        expect_spikes = []
        nxt = []
        for n in range(N):
            prm, u, v, r = neurons[n]
            u2, v2, r2, fired = lif_ref.lif_step(prm, u, v, r, accs[n])
            nxt.append((prm, u2, v2, r2))
            if fired:
                expect_spikes.append(n)
        got_state = await read_states(tb)
        bad = [(n, neurons[n], accs[n], got_state[n], nxt[n][1:]) for n in range(N) if got_state[n] != nxt[n][1:]]
        assert not bad, f"tick {t}: {len(bad)} neurons wrong, first (n, before, acc, got, want): {bad[:3]}"
        fired_got = [spec.unpack_flit(f)["axon"] for _c, f in log["out"]]
        assert fired_got == expect_spikes, f"tick {t}: spikes {fired_got} != {expect_spikes}"
        assert await read_acc(tb, consume) == [0] * N, "consumed slot not cleared"
        assert await read_acc(tb, other) == others, "filling slot touched by the update phase"
        total_spikes += len(expect_spikes)
        neurons = nxt
    cnt = await tb.counters()
    assert cnt["updates"] == ARITH_TICKS * N and cnt["spikes"] == total_spikes
    assert cnt["flits_sent"] == total_spikes and cnt["sops"] == 0 and cnt["errors"] == 0
    dut._log.info(f"{ARITH_TICKS * N} updates, {total_spikes} spikes checked")


# ================================================================================================
def emitter_schedule(h, fired, rlens):
    """docs/architecture.md 4.3-4.4 with out.ready high: neuron n fires in h+7+n, is popped at
    e >= h+10+n when the emitter is free, its flits leave in e+4 ... e+3+rlen, and the emitter is
    free again at e+4+rlen (an empty list: e+3). Returns ({n: [cycles]}, cycle the core is idle)."""
    free = 0
    cycles = {}
    for n in fired:
        e = max(h + 10 + n, free)
        cycles[n] = [e + 4 + k for k in range(rlens[n])]
        free = e + 4 + rlens[n] if rlens[n] else e + 3
    return cycles, max(h + N + 7, free)


@bounded_test(cycles=20_000 + 200 * N)
async def timing(dut):
    """Update phase and emitter timing to the cycle, and the idle flag, with out.ready high:
    a silent tick; single neurons firing (first flit at h+14+n); many neurons queueing."""
    tb = Bench(dut)
    await tb.reset()
    rng = random.Random(SEED + 2)
    silent = (dict(du=0, dv=0, vth=(1 << 17) - 1, bias_mant=0, bias_exp=0, refractory=0, reset=0), 0, 0, 0)
    firing = (dict(du=4095, dv=4095, vth=0, bias_mant=1, bias_exp=0, refractory=0, reset=0), 0, 0, 0)
    rlens = [rng.randint(0, 3) for _ in range(N)]
    rlens[0], rlens[N - 1] = 1, 2
    ptrs = [rng.randint(0, R - max(1, rl)) for rl in rlens]
    routes = [rng.getrandbits(spec.FLIT_PAYLOAD_BITS) for _ in range(R)]
    await tb.write([("rlist", n, spec.RLIST_WORD.pack(ptr=ptrs[n], len=rlens[n])) for n in range(N)]
                   + [("route", k, routes[k]) for k in range(R)]
                   + [(f"acc{s}", n, 0) for s in (0, 1) for n in range(N)])

    async def tick_with(fired):
        neurons = [firing if n in fired else silent for n in range(N)]
        await write_neurons(tb, neurons)
        log = await tb.run(tick=True)
        h = log["h"]
        want, idle_at = emitter_schedule(h, sorted(fired), rlens)
        want_out = [(c, routes[ptrs[n] + k]) for n in sorted(fired) for k, c in enumerate(want[n])]
        assert log["out"] == want_out, f"fired {sorted(fired)}: out {log['out'][:6]} != {want_out[:6]}"
        trace = dict(log["idle_trace"])
        assert trace[h] == 1 and all(trace[c] == 0 for c in range(h + 1, idle_at)), "idle fell wrongly"
        assert log["idle_rise"] == idle_at, f"idle rose at {log['idle_rise'] - h} after h, want {idle_at - h}"
        return h, log

    h, log = await tick_with(set())               # silent: busy h+1 .. h+N+6
    assert log["idle_rise"] == h + N + 7 and log["out"] == []
    for n in (0, 1, N // 2, N - 1):               # one neuron: first flit at h+14+n
        h, log = await tick_with({n})
        if rlens[n]:
            assert log["out"][0][0] == h + 14 + n
    for _ in range(3):
        await tick_with({n for n in range(N) if rng.random() < 0.5})
    await tick_with(set(range(N)))


# ================================================================================================
def random_synapses(rng):
    """Axon lists covering the synapse memory: varied lengths (0, 1, 2, long), some lists all
    to one neuron. Returns (axon words, [(ptr, len, wexp)], synapse words, [(target, weight)])."""
    lists, ptr = [], 0
    # Lists 5 and 7 (7 and 16 entries) are given one target below.
    lengths = [0, 1, 2, 3, 1, 7, 2, 16] + [rng.randint(0, 12) for _ in range(A)]
    for a in range(A):
        ln = min(lengths[a], S - ptr)
        lists.append((ptr if ln else rng.randint(0, S - 1), ln, rng.randint(0, 7)))
        ptr += ln
    syn = []
    for k in range(S):
        syn.append((rng.randint(0, N - 1), rng.randint(-128, 127)))
    # Two lists whose entries all name the same neuron (back-to-back read-modify-writes).
    for a in (5, 7):
        p, ln, _ = lists[a]
        tgt = rng.randint(0, N - 1)
        for k in range(p, p + ln):
            syn[k] = (tgt, syn[k][1])
    axon_words = [spec.AXON_WORD.pack(ptr=p, len=ln, wexp=w) for p, ln, w in lists]
    syn_words = [spec.SYNAPSE_WORD.pack(target=t, weight=w) for t, w in syn]
    return axon_words, lists, syn_words, syn


def expected_acc(start, lists, syn, axons):
    acc = list(start)
    for a in axons:
        if a >= A:
            continue
        p, ln, wexp = lists[a]
        for k in range(p, p + ln):
            t, w = syn[k]
            acc[t] += w * (1 << wexp)
    return [_signed(x, AW) for x in acc]


@bounded_test(cycles=10_000 + 10 * (N + A + S))
async def synapse_throughput(dut):
    """Back-to-back flits: flit i+1 is accepted exactly 2 + max(1, len_i) cycles after flit i
    (1 for an axon >= A, dropped and counted); the last read-modify-write ends in c+len+5, so
    idle rises at c+len+6 (architecture 4.2); accumulators equal the exact sums, nothing lost on
    repeated targets (back-to-back synapses to one neuron go through the walker's forwarding)."""
    tb = Bench(dut)
    await tb.reset()
    rng = random.Random(SEED + 3)
    axon_words, lists, syn_words, syn = random_synapses(rng)
    start = [rng.randint(-1000, 1000) for _ in range(N)]
    await tb.write([("axon", a, w) for a, w in enumerate(axon_words)]
                   + [("synapse", k, w) for k, w in enumerate(syn_words)]
                   + [("acc0", n, acc_to_word(x)) for n, x in enumerate(start)])
    axons = [5, 7, 5, 0, 1, 2, 3, 7, 7] + [rng.randint(0, A - 1) for _ in range(60)]
    axons[20:20] = [A, 4095, 0, A + 1]  # out of range: dropped
    # The core reads only `axon`: the other flit fields are random here (docs/neuron-core.md).
    flits = [spec.pack_flit(a, rng.randint(0, 15), rng.randint(0, 15), rng.randint(0, 1)) for a in axons]
    log = await tb.run(flits=flits)
    c = log["in_cycles"]
    for i in range(len(axons) - 1):
        step = 1 if axons[i] >= A else 2 + max(1, lists[axons[i]][1])
        assert c[i + 1] - c[i] == step, f"flit {i} (axon {axons[i]}): next accepted after {c[i + 1] - c[i]}, want {step}"
    last = axons[-1]
    ln = lists[last][1] if last < A else None
    want_idle = c[-1] + (1 if ln is None else 3 if ln == 0 else ln + 6)
    assert log["idle_rise"] == want_idle, f"idle rose {log['idle_rise'] - c[-1]} after the last flit"
    # Section 4.5: a flit for a list of len >= 1 keeps the core busy from c+1 until its last
    # write in c+len+5; an empty list for its FETCH and LOOKUP cycles c+1, c+2; a dropped flit
    # not at all.
    busy = set()
    for ci, a in zip(c, axons):
        if a < A:
            busy.update(range(ci + 1, ci + 1 + (lists[a][1] + 5 if lists[a][1] else 2)))
    trace = dict(log["idle_trace"])
    wrong = [k for k in range(c[0], want_idle + 1) if trace[k] != (k not in busy)]
    assert not wrong, f"idle wrong in cycles {[k - c[0] for k in wrong[:8]]} after the first flit"
    assert await read_acc(tb, 0) == expected_acc(start, lists, syn, axons)
    cnt = await tb.counters()
    assert cnt["sops"] == sum(lists[a][1] for a in axons if a < A)
    assert cnt["errors"] == sum(1 for a in axons if a >= A)


# ================================================================================================
@bounded_test(cycles=20_000 + 100 * N * BP_TICKS)
async def backpressure(dut):
    """Ticks with random out.ready and flits arriving with random gaps during the update phase
    and the emission: every route flit of every fired neuron leaves once, in order; the arriving
    flits are summed into the filling slot and consumed by the next tick (lif_ref)."""
    tb = Bench(dut)
    await tb.reset()
    rng = random.Random(SEED + 4)
    axon_words, lists, syn_words, syn = random_synapses(rng)
    rlens = [rng.randint(0, 4) for _ in range(N)]
    ptrs = [rng.randint(0, R - max(1, rl)) for rl in rlens]
    routes = [rng.getrandbits(spec.FLIT_PAYLOAD_BITS) for _ in range(R)]
    neurons = []
    for _ in range(N):
        prm, u, v, r = rand_neuron(rng)
        prm["vth"] = rng.randint(0, 200)
        neurons.append((prm, u, v, r))
    await write_neurons(tb, neurons)
    await tb.write([("axon", a, w) for a, w in enumerate(axon_words)]
                   + [("synapse", k, w) for k, w in enumerate(syn_words)]
                   + [("rlist", n, spec.RLIST_WORD.pack(ptr=ptrs[n], len=rlens[n])) for n in range(N)]
                   + [("route", k, routes[k]) for k in range(R)]
                   + [(f"acc{s}", n, 0) for s in (0, 1) for n in range(N)])
    acc_in = [0] * N
    total_flits = 0
    for t in range(BP_TICKS):
        axons = [rng.randint(0, A - 1) for _ in range(rng.randint(0, 30))]
        gaps = [rng.choice([0, 0, 1, 2, 5]) for _ in axons]
        p_ready = rng.choice([0.2, 0.5, 0.9])
        log = await tb.run(tick=True, flits=[spec.pack_flit(a, 0, 0) for a in axons], gaps=gaps,
                           flit_start=rng.randint(1, 2 * N), ready=lambda _c: int(rng.random() < p_ready))
        want = []
        nxt = []
        for n in range(N):
            prm, u, v, r = neurons[n]
            u2, v2, r2, fired = lif_ref.lif_step(prm, u, v, r, acc_in[n])
            nxt.append((prm, u2, v2, r2))
            if fired:
                want += [routes[ptrs[n] + k] for k in range(rlens[n])]
        neurons = nxt
        got = [f for _c, f in log["out"]]
        assert got == want, f"tick {t}: {len(got)} flits out, want {len(want)}"
        total_flits += len(want)
        acc_in = expected_acc([0] * N, lists, syn, axons)
        assert await read_acc(tb, tb.ticks % 2) == acc_in, f"tick {t}: filling slot wrong"
        assert await read_states(tb) == [x[1:] for x in neurons]
    cnt = await tb.counters()
    assert cnt["flits_sent"] == total_flits and cnt["updates"] == BP_TICKS * N


# ================================================================================================
@bounded_test(cycles=10_000 + 50 * N)
async def active_count(dut):
    """SPEC 3: only neurons 0 .. n-1 are updated. For n = 0, 1, N//2 and N: the updater keeps the
    core busy exactly h+1 ... h+n+6 (architecture 4.3; not at all for n = 0), `updates` grows by
    n, and only neurons 0 .. n-1 change state (each neuron integrates a bias of 1 under a
    threshold it never reaches, so v = 1 after one update and stays 0 without one)."""
    tb = Bench(dut)
    await tb.reset()
    charging = (dict(du=4095, dv=0, vth=(1 << 17) - 1, bias_mant=1, bias_exp=0, refractory=0, reset=0), 0, 0, 0)
    await tb.write([(f"acc{s}", k, 0) for s in (0, 1) for k in range(N)])
    before = (await tb.counters())["updates"]
    for n in sorted({0, 1, N // 2, N}):
        await tb.write([("active", 0, n)])
        await write_neurons(tb, [charging] * N)        # fresh state: u = v = r = 0 everywhere
        log = await tb.run(tick=True)
        h = log["h"]
        busy = [c for c, idle in log["idle_trace"] if not idle]
        assert busy == (list(range(h + 1, h + n + 7)) if n else []), (n, h, busy)
        states = await read_states(tb)
        assert states == [(0, 1, 0)] * n + [(0, 0, 0)] * (N - n), (n, states)
        cnt = await tb.counters()
        assert cnt["updates"] - before == n and cnt["spikes"] == 0, (n, cnt)
        before = cnt["updates"]
