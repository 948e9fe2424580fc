"""Cycle timing of the golden chip against docs/architecture.md, worked out by hand; the
configuration transport; back-pressure; arrival order. Images are built directly with the
word packers of `neuromesh.spec` (no compiler)."""
import random

import pytest

from neuromesh import spec
from neuromesh.host import HostBehaviour
from neuromesh.sim.engine import run
from neuromesh.sim.mesh import Chip
from lif_ref import lif_step


class Image:
    """Writes for a chip, built with spec's packers. Every core's active-neuron count (SPEC 3) is
    `active` (default: all its slots, which makes the timing that of a version 1 chip, where
    every slot was updated), or what `active_count` set for that tile."""

    def __init__(self, params, active=None):
        self.params = params
        self.body = []
        self.next_syn = {}
        self.next_route = {}
        self.active = {xy: params.neurons_per_core if active is None else active for xy in params.tiles()}

    def active_count(self, x, y, n):
        self.active[(x, y)] = n

    @property
    def writes(self):
        return self.body + [(spec.tile_addr(x, y, "active", 0), spec.ACTIVE_WORD.pack(count=n))
                            for (x, y), n in self.active.items()]

    def w(self, x, y, region, offset, word):
        self.body.append((spec.tile_addr(x, y, region, offset), word))

    def neuron(self, x, y, n, du=0, dv=0, vth=0, bias_mant=0, bias_exp=0, refractory=0, reset=0):
        self.w(x, y, "param", 2 * n, spec.PARAM_WORDS[0].pack(du=du, dv=dv, bias_exp=bias_exp,
                                                            refractory=refractory, reset=reset))
        self.w(x, y, "param", 2 * n + 1, spec.PARAM_WORDS[1].pack(vth=vth, bias_mant=bias_mant))

    def axon(self, x, y, a, synapses, wexp=0):
        """synapses: [(target, weight)] appended to the tile's synapse memory."""
        ptr = self.next_syn.get((x, y), 0)
        for j, (target, weight) in enumerate(synapses):
            self.w(x, y, "synapse", ptr + j, spec.SYNAPSE_WORD.pack(target=target, weight=weight))
        self.next_syn[(x, y)] = ptr + len(synapses)
        self.w(x, y, "axon", a, spec.AXON_WORD.pack(ptr=ptr, len=len(synapses), wexp=wexp))

    def routes(self, x, y, n, flits):
        ptr = self.next_route.get((x, y), 0)
        for j, flit in enumerate(flits):
            self.w(x, y, "route", ptr + j, spec.ROUTE_WORD.pack(flit=flit))
        self.next_route[(x, y)] = ptr + len(flits)
        self.w(x, y, "rlist", n, spec.RLIST_WORD.pack(ptr=ptr, len=len(flits)))


def small(w=1, h=1, n=8, depth=4):
    return spec.HwParams(width=w, height=h, neurons_per_core=n, axons_per_core=8,
                         synapses_per_core=64, routes_per_core=16, fifo_depth=depth)


def counters_of(r, params, x, y, kind="cores"):
    return r.counters[kind][y * params.width + x]


# -- the tick and the updater ------------------------------------------------------------------

def test_silent_ticks_take_n_plus_9_cycles():
    params = small(n=8)
    r = run(params, Image(params).writes, [[], [], []], HostBehaviour())
    # h1 = 0; start pulse in 1, reads 2 .. 9, last write-back 9 + 6 = 15 (architecture 4.3): the
    # core is busy in 2 .. 15, the registered busy in 3 .. 16, the start flags in 1 and 2
    # (section 5); q1 = 17 = h2; ...
    assert r.handshakes == [0, 17, 34]
    assert r.completions == [17, 34, 51]
    assert r.counters["chip"] == {"ticks": 3, "busy_cycles": 48}   # 3 x (N + 8)
    assert counters_of(r, params, 0, 0)["updates"] == 24
    assert r.out_flits == []


@pytest.mark.parametrize("counts,length", [((0, 0), 3), ((3, 0), 12), ((0, 5), 14), ((2, 6), 15), ((8, 8), 17)])
def test_only_active_neurons_are_updated(counts, length):
    """SPEC 3: a core updates neurons 0 .. n-1 only (busy in h+2 .. h+n+7); a core with n = 0
    has no update phase. A silent tick lasts max(n) + 9 cycles, or 3 if no core holds a neuron
    (the handshake in h, the start flags in h+1 and h+2, busy low again in h+3)."""
    params = small(w=2, n=8)
    img = Image(params, active=0)
    img.active_count(0, 0, counts[0])
    img.active_count(1, 0, counts[1])
    r = run(params, img.writes, [[], []], HostBehaviour())
    assert r.handshakes == [0, length]
    assert r.completions == [length, 2 * length]
    assert r.counters["chip"] == {"ticks": 2, "busy_cycles": 2 * (length - 1)}
    assert [counters_of(r, params, x, 0)["updates"] for x in (0, 1)] == [2 * counts[0], 2 * counts[1]]


def test_neurons_beyond_the_active_count_never_fire():
    """A neuron whose slot is past the active count keeps its state and never fires, even with
    a bias that would make it fire every tick; counting it in makes it fire."""
    params = small(n=8)
    for count, fired in ((3, 0), (4, 1)):
        img = Image(params, active=count)
        img.neuron(0, 0, 3, bias_mant=100, refractory=15)
        img.routes(0, 0, 3, [spec.host_flit(3, 0, 0)])
        r = run(params, img.writes, [[], []], HostBehaviour())
        assert len(r.out_flits) == fired
        assert counters_of(r, params, 0, 0)["spikes"] == fired
        assert counters_of(r, params, 0, 0)["updates"] == 2 * count


@pytest.mark.parametrize("n", [0, 3, 7])
def test_spike_to_host_from_origin_tile(n):
    # The start pulse in h+1 (architecture 5); neuron n fires in h+8+n, popped h+11+n (4.4),
    # LIST h+13+n, offered into the local FIFO and taken in h+15+n, at the head in h+16+n and out
    # of the west port (spike_out) in that cycle. The tick ends two cycles after the last busy
    # cycle of the updater (busy to h+N+7) and of that flit (the registered busy, section 5).
    params = small(n=8)
    img = Image(params)
    img.neuron(0, 0, n, bias_mant=100, refractory=15)  # v = 100 > 0: fires in tick 1 only
    flit = spec.host_flit(n, 0, 0)
    img.routes(0, 0, n, [flit])
    r = run(params, img.writes, [[], []], HostBehaviour())
    h1 = 0
    assert r.out_flits == [(h1 + 16 + n, flit)]
    q1 = max(h1 + 8 + 7, h1 + 16 + n) + 2
    assert r.completions[0] == q1
    assert r.handshakes == [0, q1] and r.completions[1] == q1 + 8 + 9
    c = counters_of(r, params, 0, 0)
    assert (c["spikes"], c["flits_sent"], c["updates"]) == (1, 1, 16)
    assert r.counters["routers"][0]["fwd_west"] == 1


def test_one_hop_east_adds_two_cycles_and_multicast_one_per_cycle():
    # Tile (1,0), neuron 2 with three host routes, h = 0: offered in h+15+n = 17, 18, 19; each
    # is at the head of (1,0)'s local FIFO a cycle later and leaves west into the hop register,
    # enters (0,0)'s east FIFO the cycle after and leaves (0,0) west one cycle after that:
    # spike_out in 20, 21, 22 (= h+16+n plus one hop of two cycles). Emitter IDLE in 20; the
    # last busy cycle is 22, so q = 24.
    params = small(w=2, n=4)
    img = Image(params)
    img.neuron(1, 0, 2, bias_mant=1, refractory=15)
    flits = [spec.host_flit(c, 1, 0) for c in (10, 11, 12)]
    img.routes(1, 0, 2, flits)
    r = run(params, img.writes, [[]], HostBehaviour())
    assert r.out_flits == [(20, flits[0]), (21, flits[1]), (22, flits[2])]
    assert r.completions == [24]
    assert counters_of(r, params, 1, 0, "routers")["fwd_west"] == 3
    assert counters_of(r, params, 0, 0, "routers")["fwd_west"] == 3
    assert r.extras["links"][0] == {"from": "host", "to": [0, 0], "port": "spike_in", "flits": 0}
    loads = {(str(l["from"]), str(l["to"])): l["flits"] for l in r.extras["links"]}
    assert loads[("[1, 0]", "[0, 0]")] == 3 and loads[("[0, 0]", "[1, 0]")] == 0
    assert loads[("[0, 0]", "host")] == 3


def test_host_bound_path_from_far_tile():
    # Tile (2,1) on 3x2, neuron 0: offered h+15 = 15, (2,1) west in 16, (1,1) west in 18,
    # (0,1) south in 20, (0,0) west = spike_out in 22 (two cycles per hop).
    params = small(w=3, h=2, n=4)
    img = Image(params)
    img.neuron(2, 1, 0, bias_mant=1, refractory=15)
    flit = spec.host_flit(0, 2, 1)
    img.routes(2, 1, 0, [flit])
    r = run(params, img.writes, [[]], HostBehaviour())
    assert r.out_flits == [(22, flit)]
    assert counters_of(r, params, 2, 1, "routers")["fwd_west"] == 1
    assert counters_of(r, params, 1, 1, "routers")["fwd_west"] == 1
    assert counters_of(r, params, 0, 1, "routers")["fwd_south"] == 1
    assert counters_of(r, params, 0, 0, "routers")["fwd_west"] == 1
    total = sum(sum(v for k, v in c.items() if k.startswith("fwd")) for c in r.counters["routers"])
    assert total == 4


def test_empty_route_lists_take_two_emitter_cycles():
    # Start pulse in 1; neurons 0, 1, 2 fire in 8, 9, 10 and can be popped from 11, 12, 13; 0
    # and 1 have no routes, 2 one host route: pops in 11, 14 (the emitter is IDLE again 3 cycles
    # after an empty pop), 17; offer in 21, spike_out in 22 (the emitter is IDLE in 22), the
    # last busy cycle 22, `busy` low in 24.
    params = small(n=4)
    img = Image(params)
    for n in range(3):
        img.neuron(0, 0, n, bias_mant=1, refractory=15)
    flit = spec.host_flit(2, 0, 0)
    img.routes(0, 0, 2, [flit])
    r = run(params, img.writes, [[]], HostBehaviour())
    assert r.out_flits == [(22, flit)]
    assert r.completions == [24]


# -- the walker --------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [0, 1, 5])
def test_synapse_list_keeps_the_core_busy_until_c_plus_len_plus_5(length):
    # The host offers the flit in 0 (accepted: spike_in's FIFO is empty), at the head in 1, into
    # the core's hop register in 1 and taken by the walker in c = 2. Last accumulator write in c + len + 5; idle from c + len + 6
    # (empty list: LOOKUP in c + 2, idle from c + 3). tick.valid from 1; the handshake a cycle
    # after the core is idle (the registered busy, architecture 5). Neuron 1 (all parameters 0,
    # so vth = 0) fires with any input: in h+9, popped in h+12 and, with no route entry, the
    # emitter is IDLE in h+15 (last busy h+14); without input the tick is silent (4 + 9).
    params = small(n=4)
    img = Image(params)
    img.axon(0, 0, 3, [(1, 1)] * length)
    flit = spec.pack_flit(3, 0, 0)
    r = run(params, img.writes, [[flit]], HostBehaviour())
    c = 2
    h = c + length + 7 if length else c + 4
    tick = 16 if length else 4 + 9
    assert r.handshakes == [h]
    assert r.completions == [h + tick]
    assert counters_of(r, params, 0, 0)["sops"] == length
    # busy: cycle 1 (spike_in took the flit), 2 (in the FIFO), 3 (in the hop register), then the
    # core up to h - 1, then the tick (h+1 .. q-1).
    assert r.counters["chip"]["busy_cycles"] == (h - 1) + tick - 1


def test_back_to_back_flits_wait_for_the_walker():
    # Two flits for an axon of len 3: first taken in c1 = 2 (FIFO head and hop register in 1);
    # the second waits in the hop register from 3; in.ready again in c1 + 2 + 3 = 7, so it is
    # taken in 7; last write 7 + 3 + 5 = 15, handshake in 17.
    params = small(n=4)
    img = Image(params)
    img.axon(0, 0, 0, [(0, 1), (1, 1), (2, 1)])
    flit = spec.pack_flit(0, 0, 0)
    r = run(params, img.writes, [[flit, flit]], HostBehaviour())
    assert r.handshakes == [17]
    assert counters_of(r, params, 0, 0)["sops"] == 6


def test_bad_axon_is_counted_and_dropped():
    params = small(n=4)   # 8 axons
    r = run(params, [], [[spec.pack_flit(9, 0, 0), spec.pack_flit(4095, 0, 0)]], HostBehaviour())
    assert counters_of(r, params, 0, 0)["errors"] == 2
    # in 0 and 1; into the core's hop register in 1 and 2, taken in 2 and 3 (the walker stays
    # IDLE); busy (registered) in 2 .. 4, handshake in 5.
    assert r.handshakes == [5]


def test_refused_host_flit_counted_at_origin_router():
    params = small(w=2, n=4)
    bad = spec.pack_flit(0, 3, 0)   # outside the 2x1 mesh
    r = run(params, [], [[bad]], HostBehaviour())
    assert counters_of(r, params, 0, 0, "routers")["errors"] == 1
    assert r.handshakes == [3]      # accepted in 0, dropped in 1, idle in 2, `busy` low in 3


# -- ticks: the delivery rule --------------------------------------------------------------------

def test_spike_in_tick_t_acts_in_tick_t_plus_1():
    # A = (0,0) neuron 0 fires in tick 1 and sends one flit to axon 0 of (1,0), whose synapse
    # (weight 127 << 7 = 16256) drives B = (1,0) neuron 2 over threshold in tick 2; B reports to
    # the host. Tick 1: A fires 8, pop 11, offered 15, east in 16 (the hop register), in
    # (1,0)'s FIFO in 17, into the core's hop register in 18, walker takes it in 19, last write
    # 19 + 1 + 5 = 25, q1 = 27 = h2. Tick 2: B fires h2 + 8 + 2 = 37, offered h2 + 15 + 2 = 44,
    # west from (1,0) in 45, in (0,0)'s FIFO in 46, spike_out at 47, q2 = 49. Tick 3: silent,
    # 4 + 9 cycles.
    params = small(w=2, n=4)
    img = Image(params)
    img.neuron(0, 0, 0, bias_mant=100, refractory=15)
    img.routes(0, 0, 0, [spec.pack_flit(0, 1, 0)])
    img.neuron(1, 0, 2, du=4095, vth=1)
    img.axon(1, 0, 0, [(2, 127)], wexp=7)
    out = spec.host_flit(2, 1, 0)
    img.routes(1, 0, 2, [out])
    r = run(params, img.writes, [[], [], []], HostBehaviour())
    assert r.handshakes == [0, 27, 49]
    assert r.completions == [27, 49, 62]
    assert r.out_flits == [(47, out)]
    assert counters_of(r, params, 1, 0)["sops"] == 1


def test_input_before_tick_acts_in_that_tick():
    # The host's flit for tick 2 (accepted in q1 = 4 + 9 = 13) is integrated before h2 and
    # fires the neuron in tick 2: at the FIFO's head and into the core's hop register in 14,
    # walker takes it in 15, idle from 15 + 1 + 6 = 22, h2 = 23; fires h2 + 8 + 1, offered
    # h2 + 15 + 1, spike_out h2 + 16 + 1 = 40.
    params = small(n=4)
    img = Image(params)
    img.neuron(0, 0, 1, du=4095, vth=1)
    img.axon(0, 0, 5, [(1, 100)])
    out = spec.host_flit(1, 0, 0)
    img.routes(0, 0, 1, [out])
    r = run(params, img.writes, [[], [spec.pack_flit(5, 0, 0)]], HostBehaviour())
    assert r.handshakes == [0, 23]
    assert r.out_flits == [(40, out)]


# -- the host: gaps and back-pressure ----------------------------------------------------------

def test_host_gaps_delay_offers():
    params = small(n=4)
    img = Image(params)
    img.axon(0, 0, 0, [])
    host = HostBehaviour(seed=5, max_gap=4, gap_prob=1.0)
    g0, g1 = host.gap(0), host.gap(1)
    r = run(params, img.writes, [[spec.pack_flit(0, 0, 0)] * 2], host)
    # first offered and taken in g0, the core's hop register in g0+1, walker in g0+2 (empty
    # list, ready again g0+5); second offered from g0+1+g1, in the FIFO, the hop register a
    # cycle later, taken by the walker no earlier than g0+5; idle 3 cycles after the walker
    # takes it, `busy` low (registered) one cycle later.
    c1 = g0 + 2
    a2 = g0 + 1 + g1
    c2 = max(a2 + 2, c1 + 3)
    assert r.handshakes == [c2 + 4]


def fanout_image(params, per_neuron=3):
    """Every neuron of every tile fires in tick 1 and sends `per_neuron` host flits."""
    img = Image(params)
    expected = []
    for x, y in params.tiles():
        for n in range(params.neurons_per_core):
            img.neuron(x, y, n, bias_mant=1, refractory=15)
            flits = [spec.host_flit((n * per_neuron + j) % 4096, x, y) for j in range(per_neuron)]
            img.routes(x, y, n, flits)
            expected += flits
    return img, expected


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_back_pressure_on_spike_out_loses_nothing(depth):
    params = spec.HwParams(width=3, height=2, neurons_per_core=4, axons_per_core=4,
                           synapses_per_core=4, routes_per_core=16, fifo_depth=depth)
    img, expected = fanout_image(params)
    fast = run(params, img.writes, [[], []], HostBehaviour())
    slow = run(params, img.writes, [[], []], HostBehaviour(seed=3, out_ready_prob=0.3))
    for r in (fast, slow):
        assert sorted(f for _c, f in r.out_flits) == sorted(expected)
        assert all(r.handshakes[0] <= c < r.completions[0] for c, _f in r.out_flits)
    assert slow.completions[0] > fast.completions[0]
    for c, _f in slow.out_flits:   # a flit only leaves in a cycle where ready was high
        assert HostBehaviour(seed=3, out_ready_prob=0.3).out_ready(c)
    assert slow.counters["cores"] == fast.counters["cores"]


# -- arrival order does not matter ------------------------------------------------------------------

def random_network(rng, params):
    """A random image plus an independent expectation model: per tile, neurons with random
    parameters; axons with random synapse lists; each neuron routes to random axons and to the
    host. Returns (image, model) where model has the per-neuron data."""
    img = Image(params)
    neurons, axons = {}, {}
    for x, y in params.tiles():
        for a in range(params.axons_per_core):
            syn = [(rng.randrange(params.neurons_per_core), rng.randrange(-128, 128))
                   for _ in range(rng.randrange(0, 4))]
            wexp = rng.randrange(0, 8)
            img.axon(x, y, a, syn, wexp)
            axons[(x, y, a)] = (syn, wexp)
        for n in range(params.neurons_per_core):
            prm = dict(du=rng.choice([0, 1000, 4095]), dv=rng.choice([0, 500, 4095]),
                       vth=rng.randrange(0, 300), bias_mant=rng.randrange(-50, 200),
                       bias_exp=rng.randrange(0, 4), refractory=rng.randrange(0, 3),
                       reset=rng.randrange(2))
            img.neuron(x, y, n, **prm)
            targets = [(rng.randrange(params.width), rng.randrange(params.height),
                        rng.randrange(params.axons_per_core)) for _ in range(rng.randrange(0, 3))]
            flits = [spec.pack_flit(a, tx, ty) for tx, ty, a in targets]
            flits.append(spec.host_flit(n, x, y))
            img.routes(x, y, n, flits)
            neurons[(x, y, n)] = (prm, targets)
    return img, neurons, axons


def reference_spikes(params, neurons, axons, tick_inputs):
    """Timing-free model of SPEC sections 2-5 with tests/lif_ref.py: per tick, the set of
    (tile, neuron) that fire."""
    state = {key: (0, 0, 0) for key in neurons}
    acc_next = {key: 0 for key in neurons}
    fired_per_tick = []

    def deliver(x, y, a, acc):
        syn, wexp = axons[(x, y, a)]
        for target, weight in syn:
            acc[(x, y, target)] += weight * (1 << wexp)

    for flits in tick_inputs:
        for f in flits:
            u = spec.unpack_flit(f)
            deliver(u["x"], u["y"], u["axon"], acc_next)
        acc_now, acc_next = acc_next, {key: 0 for key in neurons}
        fired = set()
        for key, (prm, targets) in neurons.items():
            u, v, r, spiked = lif_step(prm, *state[key], acc_now[key])
            state[key] = (u, v, r)
            if spiked:
                fired.add(key)
                for tx, ty, a in targets:
                    deliver(tx, ty, a, acc_next)
        fired_per_tick.append(fired)
    return fired_per_tick


def spikes_per_tick(r):
    out = [set() for _ in r.handshakes]
    for c, f in r.out_flits:
        t = next(i for i, (h, q) in enumerate(zip(r.handshakes, r.completions)) if h <= c < q)
        u = spec.unpack_flit(f)
        out[t].add((u["x"], u["y"], u["axon"]))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_spikes_match_reference_whatever_the_arrival_order(seed):
    rng = random.Random(seed)
    params = spec.HwParams(width=2 + seed % 2, height=2, neurons_per_core=6, axons_per_core=5,
                           synapses_per_core=32, routes_per_core=32, fifo_depth=1 + seed % 3)
    img, neurons, axons = random_network(rng, params)
    ticks = 8
    inputs = [[spec.pack_flit(rng.randrange(params.axons_per_core), rng.randrange(params.width),
                              rng.randrange(params.height)) for _ in range(rng.randrange(0, 6))]
              for _ in range(ticks)]
    want = reference_spikes(params, neurons, axons, inputs)
    assert any(want), "the random network should fire at least once"
    runs = []
    for variant in range(3):
        shuffled = [rng.sample(flits, len(flits)) for flits in inputs] if variant else inputs
        host = HostBehaviour(seed=variant, max_gap=3 * variant,
                             out_ready_prob=1.0 if variant < 2 else 0.5)
        r = run(params, img.writes, shuffled, host)
        assert spikes_per_tick(r) == want
        runs.append(r)
    assert runs[0].counters["cores"] == runs[1].counters["cores"] == runs[2].counters["cores"]


# -- the configuration transport ----------------------------------------------------------------

def test_transport_masks_fields_and_ignores_read_only():
    params = small(w=2, h=2, n=4)
    chip = Chip(params)
    cases = [
        ("param", 0, 0xFFFFFFFF, 0xFFFFFFFF),            # param0 uses every bit
        ("param", 1, 0xFFFFFFFF, (1 << 30) - 1),         # vth [16:0] + bias_mant [29:17]
        ("state", 0, 0xFFFFFFFF, (1 << 24) - 1),         # u [23:0]
        ("state", 1, 0xFFFFFFFF, (1 << 28) - 1),         # v [23:0], r [27:24]
        ("acc0", 2, 0xFFFFFFFF, (1 << params.acc_width) - 1),
        ("acc1", 3, 0x12345678, 0x12345678 & ((1 << params.acc_width) - 1)),
        ("axon", 7, 0xFFFFFFFF, 0xFFFFFFFF),             # ptr 14 + len 15 + wexp 3 = 32 bits
        ("synapse", 63, 0xFFFFFFFF, (1 << 20) - 1),      # target [11:0], weight [19:12]
        ("rlist", 3, 0xFFFFFFFF, (1 << 25) - 1),         # ptr [11:0], len [24:12]
        ("route", 15, 0xFFFFFFFF, (1 << 25) - 1),        # flit [24:0]
        ("active", 0, 4, 4),                             # count [12:0]
        ("active", 0, 0xFFFFFFFF, 4),                    # a count above the size is the size
    ]
    for region, off, data, want in cases:
        addr = spec.tile_addr(1, 1, region, off)
        chip.write(addr, data)
        assert chip.read(addr) == want, region
        assert chip.read(spec.tile_addr(0, 1, region, off)) == 0  # other tiles untouched
    chip.write(spec.tile_addr(1, 0, "core_cnt", 0), 77)
    chip.write(spec.tile_addr(1, 0, "router_cnt", 5), 77)
    chip.write(spec.chip_addr("ticks"), 77)
    assert chip.read(spec.tile_addr(1, 0, "core_cnt", 0)) == 0
    assert chip.read(spec.tile_addr(1, 0, "router_cnt", 5)) == 0
    assert chip.read(spec.chip_addr("ticks")) == 0
    assert chip.read(spec.chip_addr("id")) == 0x4E4D0002
    assert chip.read(spec.chip_addr("params")) == (1 << 6) | 1       # width-1 [5:0], height-1 [11:6]
    assert chip.read(spec.chip_addr("status")) == 0


def test_negative_state_reads_back_signed():
    params = small(n=2)
    chip = Chip(params)
    addr = spec.tile_addr(0, 0, "state", 1)
    chip.write(addr, spec.STATE_WORDS[1].pack(v=-5, r=9))
    assert spec.STATE_WORDS[1].unpack(chip.read(addr)) == {"v": -5, "r": 9}
    assert chip.read(addr) == ((1 << 24) - 5) | (9 << 24)


# -- jumping over idle cycles changes nothing ---------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_jumps_equal_stepping_every_cycle(seed):
    rng = random.Random(100 + seed)
    params = spec.HwParams(width=3, height=2, neurons_per_core=5, axons_per_core=4,
                           synapses_per_core=24, routes_per_core=24, fifo_depth=2)
    img, _neurons, _axons = random_network(rng, params)
    inputs = [[spec.pack_flit(rng.randrange(4), rng.randrange(3), rng.randrange(2))
               for _ in range(rng.randrange(0, 5))] for _ in range(6)]
    host = HostBehaviour(seed=seed, max_gap=4, out_ready_prob=0.6)
    fast = run(params, img.writes, inputs, host)
    slow = run(params, img.writes, inputs, host, every_cycle=True)
    assert fast == slow
    assert fast.counters["chip"]["busy_cycles"] > 0


def test_fifo_peaks_reported():
    # Five host flits for an axon with 4 synapses: the walker takes one every 6 cycles (the
    # first in 2), so the core's hop register holds the second and third from the start of 4;
    # the west FIFO of (0,0) took the flits in 0 .. 4 and passed the first three on in 1, 2, 3,
    # so it holds the fourth and fifth from the start of 5 until the walker takes the second
    # (in 8): the level peaks at 2.
    params = small(n=4)
    img = Image(params)
    img.axon(0, 0, 0, [(0, 1)] * 4)
    flit = spec.pack_flit(0, 0, 0)
    r = run(params, img.writes, [[flit] * 5], HostBehaviour())
    peaks = {tuple(p["tile"]): p["peak"] for p in r.extras["fifo_peak"]}
    assert peaks[(0, 0)] == {"local": 0, "north": 0, "east": 0, "south": 0, "west": 2}


def test_accumulator_wraps_at_acc_width():
    # synapses_per_core 1: acc_width = bit_length(128 * 128 * 1) + 1 = 16 bits. Three flits for
    # an axon with one synapse of weight 127 << 7 = 16256: 48768 wraps to 48768 - 65536 = -16768
    # (inside sat16), so u = -16768 << 6 = -1073152 (du 4095: no memory of the old u).
    params = spec.HwParams(width=1, height=1, neurons_per_core=2, axons_per_core=2,
                           synapses_per_core=1, routes_per_core=1)
    assert params.acc_width == 16
    img = Image(params)
    img.neuron(0, 0, 1, du=4095, vth=131071)
    img.axon(0, 0, 0, [(1, 127)], wexp=7)
    chip = Chip(params)
    for a, d in img.writes:
        chip.write(a, d)
    from neuromesh.sim.engine import run_chip
    run_chip(chip, [[spec.pack_flit(0, 0, 0)] * 3])
    u = spec.STATE_WORDS[0].unpack(chip.read(spec.tile_addr(0, 0, "state", 2)))["u"]
    assert u == -16768 * 64


@pytest.mark.long
@pytest.mark.parametrize("seed", range(1000, 1100))
def test_soak_random_networks(seed):
    """Long: spikes against the reference, jumps against stepping every cycle."""
    rng = random.Random(seed)
    params = spec.HwParams(width=rng.randint(1, 4), height=rng.randint(1, 3),
                           neurons_per_core=rng.randint(1, 8), axons_per_core=rng.randint(1, 6),
                           synapses_per_core=64, routes_per_core=64, fifo_depth=rng.randint(1, 4))
    img, neurons, axons = random_network(rng, params)
    inputs = [[spec.pack_flit(rng.randrange(params.axons_per_core), rng.randrange(params.width),
                              rng.randrange(params.height)) for _ in range(rng.randrange(0, 8))]
              for _ in range(10)]
    host = HostBehaviour(seed=seed, max_gap=rng.choice([0, 3]), out_ready_prob=rng.choice([1.0, 0.4]))
    fast = run(params, img.writes, inputs, host)
    assert spikes_per_tick(fast) == reference_spikes(params, neurons, axons, inputs)
    assert fast == run(params, img.writes, inputs, host, every_cycle=True)
