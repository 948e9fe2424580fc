"""The router's formal properties, one builder each (docs/formal.md states them in prose).

Each builder adds to the harness (tools/formal/harness.py), every name starting with the
property's own (`lemma_` and `cover_` before it for lemmas and covers):
- checks: what is claimed, on the router's ports wherever the ports can say it;
- lemmas: invariants over internal state (probes) that make k-induction close; they are
  asserted too, so a passing job proves them as well;
- covers: reachable events, so a cover job shows the checks are not vacuous.

Ports are judged against `reference.py` (SPEC routing rules) and `spec.RR_RESET`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from amaranth.hdl import Array, Const, Mux, Signal, Value

from neuromesh import spec
from neuromesh.spec import N_PORTS, PORTS, REGION, ROUTER_COUNTERS, COUNTER_BITS

from .harness import Context, table


@dataclass(frozen=True)
class Property:
    name: str
    claim: str
    build: Callable[[Context], None]
    assumption: str = ""        # an environment assumption beyond the harness's own, if any


def _any(values):
    out = Value.cast(0)
    for v in values:
        out = out | v
    return out


def _all(values):
    out = Value.cast(1)
    for v in values:
        out = out & v
    return out


def _payload(port):
    return Value.cast(port.payload)


def _priority(i: int, rr):
    """Rank of input i in the round-robin order after `rr` (0 = served first):
    (i - rr - 1) mod N_PORTS, docs/architecture.md section 3."""
    return table(rr, [(i - r - 1) % N_PORTS for r in range(N_PORTS)])


def reachable_outputs(params: spec.HwParams, x: int, y: int) -> list[int]:
    """Outputs some accepted flit routes to at (x, y), from `spec.route_port` itself."""
    ports = set()
    for host in (0, 1):
        for tx in range(params.width):
            for ty in range(params.height):
                word = spec.pack_flit(0, tx, ty, host)
                if not spec.flit_refused(word, params.width, params.height):
                    ports.add(spec.route_port(x, y, word))
    return sorted(ports)


# ----------------------------------------------------------------------------------------------

def build_routing(ctx: Context):
    for o, out in enumerate(ctx.outputs):
        flit = _payload(out)
        ctx.check(f"routing_{PORTS[o]}", ~out.valid | (~ctx.refused(flit) & (ctx.route(flit) == o)))
    for o in reachable_outputs(ctx.params, ctx.x, ctx.y):
        ctx.cover(f"cover_routing_transfer_{PORTS[o]}", ctx.out_fire[o])
    ctx.cover("cover_routing_refusal", _any(ctx.refusal_pop))


def build_stream_valid(ctx: Context):
    for o, out in enumerate(ctx.outputs):
        waiting = Signal(name=f"prop_waiting_{PORTS[o]}")
        ctx.m.d.sync += waiting.eq(out.valid & ~out.ready)
        ctx.check(f"stream_valid_held_{PORTS[o]}", ~waiting | out.valid)


def build_stream_payload(ctx: Context):
    for o, out in enumerate(ctx.outputs):
        waiting = Signal(name=f"prop_waiting_{PORTS[o]}")
        before = Signal(spec.FLIT_WIDTH, name=f"prop_payload_before_{PORTS[o]}")
        ctx.m.d.sync += [waiting.eq(out.valid & ~out.ready), before.eq(_payload(out))]
        ctx.check(f"stream_payload_held_{PORTS[o]}", ~waiting | (_payload(out) == before))


def build_arbitration(ctx: Context):
    m, fifos = ctx.m, ctx.probes.fifos
    granted_by = [[None] * N_PORTS for _ in range(N_PORTS)]     # [i][o]
    for o, out in enumerate(ctx.outputs):
        rr = Signal(range(N_PORTS), init=spec.RR_RESET, name=f"ref_rr_{PORTS[o]}")
        stalled = Signal(name=f"ref_stalled_{PORTS[o]}")
        held = Signal(range(N_PORTS), name=f"ref_held_{PORTS[o]}")
        requests = [ctx.request[i][o] for i in range(N_PORTS)]
        prio = [_priority(i, rr) for i in range(N_PORTS)]
        # The held input after a stall; else the requester that comes first after rr: no
        # other requester ranks before it.
        for i in range(N_PORTS):
            first = _all(~requests[j] | (prio[j] > prio[i]) for j in range(N_PORTS) if j != i)
            granted_by[i][o] = Signal(name=f"ref_grant_{PORTS[o]}_{PORTS[i]}")
            m.d.comb += granted_by[i][o].eq(Mux(stalled, held == i, requests[i] & first))
        m.d.sync += stalled.eq(out.valid & ~out.ready)
        for i in range(N_PORTS):
            with m.If(granted_by[i][o]):
                m.d.sync += held.eq(i)
        ctx.lemma(f"arbitration_stalled_{PORTS[o]}", ctx.probes.stalled[o] == stalled)
        # The router keeps its held grant one-hot (hw/router.py).
        ctx.lemma(f"arbitration_held_{PORTS[o]}", ~stalled | (ctx.probes.held[o] == (Const(1, N_PORTS) << held)))
        ctx.check(f"arbitration_valid_{PORTS[o]}", out.valid == _any(requests))
        expected = _any(granted_by[i][o].replicate(spec.FLIT_WIDTH) & fifos[i].head for i in range(N_PORTS))
        ctx.check(f"arbitration_payload_{PORTS[o]}", ~out.valid | (_payload(out) == expected))
        with m.If(ctx.out_fire[o]):
            for i in range(N_PORTS):
                with m.If(granted_by[i][o]):
                    m.d.sync += rr.eq(i)
        ctx.lemma(f"arbitration_rr_{PORTS[o]}", ctx.probes.rr[o] == rr)
    for i, f in enumerate(fifos):
        served = _any(ctx.out_fire[o] & granted_by[i][o] for o in range(N_PORTS))
        refuse = f.head_valid & ctx.refused(f.head)
        ctx.check(f"arbitration_pop_{PORTS[i]}", f.pop == (refuse | served))


def _wait_counters(ctx: Context, per_cycle: bool):
    """wait[i][o]: transfers of output o to other inputs (or, per_cycle, cycles) since input i
    began requesting o. Round robin over five inputs lets at most four others go first."""
    m = ctx.m
    bound = N_PORTS - 1
    prop = "fairness_cycles" if per_cycle else "fairness"      # names start with the property's
    for o in range(N_PORTS):
        waits = []
        for i in range(N_PORTS):
            wait = Signal(range(2 * N_PORTS), name=f"prop_{prop}_wait_{PORTS[i]}_{PORTS[o]}")
            with m.If(~ctx.request[i][o] | ctx.served[i][o]):
                m.d.sync += wait.eq(0)
            with m.Elif(Value.cast(1) if per_cycle else ctx.out_fire[o]):
                m.d.sync += wait.eq(wait + 1)
            ctx.check(f"{prop}_{PORTS[i]}_to_{PORTS[o]}", wait <= bound)
            # Each transfer to another input moves rr past at least one input ranked before i.
            rr = ctx.probes.rr[o]
            ctx.lemma(f"{prop}_{PORTS[i]}_to_{PORTS[o]}",
                      ~ctx.request[i][o] | (wait + _priority(i, rr) <= bound))
            # A grant held through a stall goes to an input ranked before i, or i began
            # requesting during the stall (nothing else transfers then, so wait is still 0).
            held = ctx.probes.held[o]
            ranked_before = _any(held[j] & (_priority(j, rr) < _priority(i, rr))
                                 for j in range(N_PORTS) if j != i)
            ctx.lemma(f"{prop}_held_{PORTS[i]}_to_{PORTS[o]}",
                      ~ctx.request[i][o] | ~ctx.probes.stalled[o] | held[i] | ranked_before | (wait == 0))
            waits.append(wait)
        if o in reachable_outputs(ctx.params, ctx.x, ctx.y):
            ctx.cover(f"cover_{prop}_bound_{PORTS[o]}", _any(w == bound for w in waits))


def build_fairness(ctx: Context):
    _wait_counters(ctx, per_cycle=False)


def build_fairness_cycles(ctx: Context):
    ctx.ready_free = [False] * N_PORTS       # assumption: every output's ready held high
    _wait_counters(ctx, per_cycle=True)


def build_counters(ctx: Context):
    m, cfg = ctx.m, ctx.router.cfg
    ctx.cfg_free = True
    shadow = {name: Signal(COUNTER_BITS, name=f"prop_count_{name}") for name in ROUTER_COUNTERS}
    for o in range(N_PORTS):
        name = f"fwd_{PORTS[o]}"
        with m.If(ctx.out_fire[o]):
            m.d.sync += shadow[name].eq(shadow[name] + 1)
    m.d.sync += shadow["errors"].eq(shadow["errors"] + sum(ctx.refusal_pop))
    # A read in cycle c answers in c+1 with the counter as it stood in c; anything else reads 0.
    hit = cfg.re & (cfg.region == REGION["router_cnt"]) & (cfg.offset < len(ROUTER_COUNTERS))
    expected = Signal(COUNTER_BITS, name="prop_read_expected")
    m.d.sync += expected.eq(0)
    with m.If(hit):
        m.d.sync += expected.eq(Array(shadow[name] for name in ROUTER_COUNTERS)[cfg.offset])
    ctx.check("counters_read", cfg.rdata == expected)
    for name in ROUTER_COUNTERS:
        ctx.lemma(f"counters_{name}", ctx.probes.counters[name] == shadow[name])
    ctx.cover("cover_counters_read_nonzero", cfg.rdata != 0)


def build_conservation(ctx: Context):
    """No flit lost, duplicated or invented, in two parts that together give, for every flit
    value V at every cycle, written(V) = forwarded(V) + refused(V) + held(V):
    - each input FIFO: (V written into it) - (V popped from it) = the copies of V it holds;
    - each cycle: the transfers of V on the outputs are the pops of accepted (not refused) V
      heads, one for one, so a refused flit is never forwarded.
    Each part gets its own arbitrary V (`AnyConst`): one V shared by all six parts is logically
    the same claim, but then yices does not finish even at depth 4; separate, they take seconds."""
    m, fifos = ctx.m, ctx.probes.fifos
    width = ctx.depth.bit_length() + 1                  # holds 0..depth, compared mod 2**width
    for i, f in enumerate(fifos):
        value = ctx.anyconst(f"tag_value_{PORTS[i]}", spec.FLIT_WIDTH)
        written = ctx.in_fire[i] & (_payload(ctx.inputs[i]) == value)
        popped = f.pop & (f.head == value)
        held = sum(ctx.slot_valid(i, k) & (f.slots[k] == value) for k in range(ctx.depth))
        balance = Signal(width, name=f"prop_balance_{PORTS[i]}")
        m.d.sync += balance.eq(balance + written - popped)
        ctx.check(f"conservation_fifo_{PORTS[i]}", balance == held)
    value = ctx.anyconst("tag_value_out", spec.FLIT_WIDTH)
    sent = sum(ctx.out_fire[o] & (_payload(p) == value) for o, p in enumerate(ctx.outputs))
    forwarded = sum(f.pop & ~ctx.refused(f.head) & (f.head == value) for f in fifos)
    ctx.check("conservation_sent_is_popped", sent == forwarded)
    ctx.cover("cover_conservation_forwarded", sent != 0)


def build_order(ctx: Context):
    m, fifos = ctx.m, ctx.probes.fifos
    lane = ctx.anyconst("tag_input", range(N_PORTS))
    ctx.assume("tag_input_is_a_port", lane < N_PORTS)
    write = Array(ctx.in_fire)[lane]
    incoming = Array(_payload(p) for p in ctx.inputs)[lane]
    pop = Array(f.pop for f in fifos)[lane]
    level = Array(f.level for f in fifos)[lane]
    head = Array(f.head for f in fifos)[lane]
    out_fire = Array(ctx.out_fire)
    out_payload = Array(_payload(p) for p in ctx.outputs)

    tags = {}
    for tag in ("A", "B"):
        t = tags[tag] = {
            "pick": ctx.anyseq(f"tag_pick_{tag}", 1),
            "inside": Signal(name=f"tag_{tag}_inside"),
            "gone": Signal(name=f"tag_{tag}_gone"),
            "payload": Signal(spec.FLIT_WIDTH, name=f"tag_{tag}_payload"),
            "ahead": Signal(range(ctx.depth), name=f"tag_{tag}_ahead"),   # flits before it
        }
        t["leaves"] = Signal(name=f"tag_{tag}_leaves")
        m.d.comb += t["leaves"].eq(t["inside"] & pop & (t["ahead"] == 0))
    a, b = tags["A"], tags["B"]
    a_takes = write & a["pick"] & ~a["inside"] & ~a["gone"]
    b_takes = write & b["pick"] & (a["inside"] | a["gone"]) & ~b["inside"] & ~b["gone"]
    for t, takes in ((a, a_takes), (b, b_takes)):
        with m.If(takes):
            m.d.sync += [t["inside"].eq(1), t["payload"].eq(incoming), t["ahead"].eq(level - pop)]
        with m.Elif(t["inside"] & pop):
            with m.If(t["ahead"] == 0):
                m.d.sync += [t["inside"].eq(0), t["gone"].eq(1)]
            with m.Else():
                m.d.sync += t["ahead"].eq(t["ahead"] - 1)

    for tag, t in tags.items():
        port = ctx.route(t["payload"])
        ctx.check(f"order_{tag}_unchanged", ~t["leaves"] | (head == t["payload"]))
        ctx.check(f"order_{tag}_forwarded", ~t["leaves"] | ctx.refused(t["payload"]) |
                  (out_fire[port] & (out_payload[port] == t["payload"])))
        ctx.lemma(f"order_{tag}_ahead", ~t["inside"] | (t["ahead"] < level))
        ctx.lemma(f"order_{tag}_stored", ~t["inside"] | (ctx.slot_ahead(lane, t["ahead"]) == t["payload"]))
        ctx.lemma(f"order_{tag}_once", ~(t["inside"] & t["gone"]))
    ctx.check("order_A_before_B", ~b["leaves"] | a["gone"])
    ctx.lemma("order_B_after_A", ~(b["inside"] | b["gone"]) | a["inside"] | a["gone"])
    ctx.lemma("order_A_ahead_of_B", ~(a["inside"] & b["inside"]) | (a["ahead"] < b["ahead"]))
    ctx.cover("cover_order_same_output", b["leaves"] & a["gone"] & ~ctx.refused(a["payload"]) &
              ~ctx.refused(b["payload"]) & (ctx.route(a["payload"]) == ctx.route(b["payload"])))


PROPERTIES = {p.name: p for p in (
    Property("routing", "every output offers only accepted flits whose XY port (spec.route_port) it is",
             build_routing),
    Property("stream_valid", "an output's valid never drops without a transfer", build_stream_valid),
    Property("stream_payload", "an output's payload holds while valid and not ready", build_stream_payload),
    Property("arbitration", "valid, payload, grants and pops are exactly the round-robin rule of "
             "docs/architecture.md section 3, from rr = spec.RR_RESET", build_arbitration),
    Property("fairness", "an input requesting an output is served before that output makes a fifth "
             "transfer to other inputs (at most 4 others first; tight)", build_fairness),
    Property("fairness_cycles", "with every output ready, a requesting input waits at most 4 cycles",
             build_fairness_cycles, assumption="every output's ready is held high"),
    Property("counters", "fwd_<port> = transfers on that output and errors = refused flits "
             "(mod 2**32), as read on the cfg bus", build_counters),
    Property("conservation", "for any flit value: written = forwarded + refused + still held; no flit "
             "lost, duplicated or invented", build_conservation),
    Property("order", "flits leave an input in the order they came, unchanged, each on its XY port "
             "in the cycle it leaves", build_order),
)}
