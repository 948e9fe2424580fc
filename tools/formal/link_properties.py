"""The asynchronous link's formal properties, one builder each (docs/formal.md states them in
prose). Names as in properties.py: checks start with the property's name, lemmas with
`lemma_<property>`, covers with `cover_<property>`.

A "step" is one step of the solver (tools/formal/link_harness.py); a "rise of a" is a rising
edge of the sender's clock, "of b" of the receiver's. `took` is the step in which the link's
registers show a flit taken on `i`, `gave` the step in which the receiver's show one written
from `o`; `sent` and `received` count those transfers on the ports.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from amaranth.hdl import Signal, Value

from neuromesh import spec

from .link_harness import COUNT_BITS, MOVES, PHASES, LinkContext


@dataclass(frozen=True)
class LinkProperty:
    name: str
    claim: str
    build: Callable[[LinkContext], None]
    assumption: str = ""        # beyond the harness's own (free clocks), if any


def _payload(port):
    return Value.cast(port.payload)


def build_handshake(ctx: LinkContext):
    """SPEC 5a's four-phase order on the wires between the domains, and bundled data."""
    p = ctx.probes
    req_rose, req_fell = ctx.rose_of(p.req, "req"), ctx.fell_of(p.req, "req")
    ack_rose, ack_fell = ctx.rose_of(p.ack, "ack"), ctx.fell_of(p.ack, "ack")
    req_before, ack_before = ctx.past(p.req, "req"), ctx.past(p.ack, "ack")
    ctx.check("handshake_req_rises_while_ack_low", ~req_rose | (~p.ack & ~ack_before))
    ctx.check("handshake_req_falls_after_ack_rose", ~req_fell | (p.ack & ack_before))
    ctx.check("handshake_ack_rises_while_req_high", ~ack_rose | (p.req & req_before))
    ctx.check("handshake_ack_falls_after_req_fell", ~ack_fell | (~p.req & ~req_before))
    ctx.check("handshake_data_stable_while_req", ~req_before | (p.data == ctx.past(p.data, "data")))
    for phase in range(1, len(PHASES)):
        ctx.cover(f"cover_handshake_phase_{phase}", ctx.phase(phase))
    ctx.cover("cover_handshake_idle_again", ctx.phase(0) & (ctx.received != 0))


def build_stream(ctx: LinkContext):
    """`i` is a port of domain a and `o` a stream of domain b (Amaranth's stream rules)."""
    m, i, o = ctx.m, ctx.i, ctx.o
    ctx.check("stream_i_ready_on_clock_a", ctx.rose["a"] | (i.ready == ctx.past(i.ready, "i_ready")))
    ctx.check("stream_busy_on_clock_a", ctx.rose["a"] | (ctx.link.busy == ctx.past(ctx.link.busy, "busy")))
    ctx.check("stream_o_valid_on_clock_b", ctx.rose["b"] | (o.valid == ctx.past(o.valid, "o_valid")))
    waiting = Signal(name="prop_stream_o_waiting")
    before = Signal(spec.FLIT_WIDTH, name="prop_stream_o_payload_before")
    m.d.b += [waiting.eq(o.valid & ~o.ready), before.eq(_payload(o))]
    ctx.check("stream_o_valid_held", ~waiting | o.valid)
    ctx.check("stream_o_payload_held", ~waiting | (_payload(o) == before))
    # Stronger than rule 2, and what a receiver in another clock domain needs: the payload
    # never changes, at any step, while valid is (or was, one step before) high.
    ctx.check("stream_o_payload_steady", (_payload(o) == ctx.past(_payload(o), "o_payload")) |
              (~o.valid & ~ctx.past(o.valid, "o_valid")))
    ctx.cover("cover_stream_o_waited_then_sent", waiting & ctx.o_fire)


def build_conservation(ctx: LinkContext):
    """For any flit value V at every step: V taken on `i` minus V written from `o` is the copy
    of V the link holds (1 while `data` = V is on its way, phases 1..3; else 0)."""
    m, p = ctx.m, ctx.probes
    value = ctx.anyconst("tag_value", spec.FLIT_WIDTH)
    sent = Signal(COUNT_BITS, name="prop_conservation_sent")
    received = Signal(COUNT_BITS, name="prop_conservation_received")
    m.d.a += sent.eq(sent + (ctx.i_fire & (_payload(ctx.i) == value)))
    m.d.b += received.eq(received + (ctx.o_fire & (_payload(ctx.o) == value)))
    ctx.check("conservation_balance", (sent - received)[:COUNT_BITS] == (ctx.pending & (p.data == value)))
    ctx.cover("cover_conservation_crossed", received != 0)
    ctx.cover("cover_conservation_two_crossed", received == 2)


def build_order(ctx: LinkContext):
    """The n-th flit written from `o` is the n-th taken on `i`, unchanged, for an arbitrary n
    (the flit tagged by an `AnySeq` pick)."""
    m, p = ctx.m, ctx.probes
    pick = ctx.anyseq("tag_pick", 1)
    tagged, done = Signal(name="tag_taken"), Signal(name="tag_delivered")
    index = Signal(COUNT_BITS, name="tag_index")
    payload = Signal(spec.FLIT_WIDTH, name="tag_payload")
    with m.If(ctx.i_fire & pick & ~tagged):
        m.d.a += [tagged.eq(1), index.eq(ctx.sent), payload.eq(_payload(ctx.i))]
    its_turn = ctx.named("tag_its_turn", tagged & ~done & (ctx.received == index))
    with m.If(ctx.o_fire & its_turn):
        m.d.b += done.eq(1)
    ctx.check("order_nth_out_is_nth_in", ~(ctx.o_fire & its_turn) | (_payload(ctx.o) == payload))
    ctx.lemma("order_tagged_in_flight", ~(tagged & ~done) |
              (ctx.pending & (p.data == payload) & (index == ctx.received)))
    ctx.lemma("order_delivered_after_taken", ~done | tagged)
    ctx.cover("cover_order_tagged_delivered", done & (index != 0))


def build_backpressure(ctx: LinkContext):
    """A receiver without room (o.ready low) delays ack and loses nothing: ack rises only on a
    transfer, and while a flit is undelivered the sender is busy and takes no other."""
    p, o = ctx.probes, ctx.o
    ctx.check("backpressure_ack_only_on_transfer", ~ctx.rose_of(p.ack, "ack") | ctx.gave)
    ctx.check("backpressure_sender_holds", ~ctx.undelivered | (ctx.link.busy & ~ctx.i.ready))
    refused = Signal(name="prop_backpressure_refused")
    ctx.m.d.b += refused.eq(o.valid & ~o.ready)
    ctx.cover("cover_backpressure_refused_then_sent", refused & ctx.o_fire)
    ctx.cover("cover_backpressure_sender_waits", ctx.i.valid & ~ctx.i.ready & ctx.undelivered)


def build_timing(ctx: LinkContext):
    """docs/architecture.md 8.2's table, in clock edges (the golden model's `seen`/`after`):
    each step of the handshake happens at exactly the edge it names, no earlier, no later."""
    p, g = ctx.probes, ctx.g
    req_rose, req_fell = ctx.rose_of(p.req, "req"), ctx.fell_of(p.req, "req")
    ack_rose, ack_fell = ctx.rose_of(p.ack, "ack"), ctx.fell_of(p.ack, "ack")
    ctx.check("timing_req_rises_with_transfer", req_rose == ctx.took)
    ctx.check("timing_ack_rises_with_transfer", ack_rose == ctx.gave)
    # Rises of a clock strictly after an event (one at the same step does not see it).
    b_after_req = g.counter("prop_timing_b_after_req", req_rose, ctx.rose["b"], 3, init=3)
    a_after_ack = g.counter("prop_timing_a_after_ack", ack_rose, ctx.rose["a"], 3, init=3)
    b_after_req_fell = g.counter("prop_timing_b_after_req_fell", req_fell, ctx.rose["b"], 3, init=3)
    a_after_ack_fell = g.counter("prop_timing_a_after_ack_fell", ack_fell, ctx.rose["a"], 2, init=2)
    # Step 2: the receiver offers the flit from the second b edge after req rose (seen_b).
    ctx.check("timing_valid_at_second_b_edge", ~ctx.pending | (ctx.o.valid == (b_after_req >= 2)))
    # Step 3: req falls at the third a edge after ack rose (seen_a, then one cycle).
    ctx.check("timing_req_falls_at_third_a_edge", ~p.ack | (p.req == (a_after_ack < 3)))
    # Step 4: ack falls at the third b edge after req fell.
    ctx.check("timing_ack_falls_at_third_b_edge", p.req | (p.ack == (b_after_req_fell < 3)))
    # Step 5: the sender is ready from the second a edge after ack fell.
    ctx.check("timing_ready_at_second_a_edge",
              ctx.i.ready == (~p.req & ~p.ack & (a_after_ack_fell >= 2)))
    # SPEC 2: busy from the flit leaving the router until the sender sees ack low again.
    ctx.check("timing_busy_until_ready", ctx.link.busy == ~ctx.i.ready)
    for phase, counter, value in [(1, b_after_req, 0), (2, b_after_req, 1),
                                  (4, a_after_ack, 0), (5, a_after_ack, 1), (6, a_after_ack, 2),
                                  (7, a_after_ack, 3), (8, a_after_ack, 3), (9, a_after_ack, 3),
                                  (7, b_after_req_fell, 0), (8, b_after_req_fell, 1), (9, b_after_req_fell, 2),
                                  (10, b_after_req_fell, 3), (11, b_after_req_fell, 3), (0, b_after_req_fell, 3),
                                  (10, a_after_ack_fell, 0), (11, a_after_ack_fell, 1), (0, a_after_ack_fell, 2)]:
        ctx.lemma(f"timing_phase_{phase}_{counter.name}", ~ctx.phase(phase) | (counter == value))
    ctx.lemma("timing_phase_3", ~ctx.phase(3) | (b_after_req >= 2))
    ctx.cover("cover_timing_coincident_edges", ctx.rose["a"] & ctx.rose["b"] & (ctx.received != 0))


def latency_bounds(gap_a: int, gap_b: int) -> tuple[list, int, int]:
    """For each handshake phase p (1..11), the most steps after `took` at which it can begin
    (each move waits for at most one gap of its clock: MOVES); the steps a flit can stay
    undelivered (phases 1..3) and the sender stay busy (1..11) are then below the bounds
    3 * gap_b and 6 * gap_b + 5 * gap_a."""
    gap = {"a": gap_a, "b": gap_b}
    begin = [0, 0]                                  # phase 0 unused; phase 1 begins at took
    for move in MOVES:
        begin.append(begin[-1] + gap[move])
    return begin, begin[4], begin[12]


def build_latency(ctx: LinkContext):
    """With each clock rising at least once every gap steps and o.ready high: a flit is written
    from `o` fewer than 3 * gap_b steps after `took`, and the sender is ready again fewer than
    6 * gap_b + 5 * gap_a steps after it. Both bounds are tight (covers)."""
    if not ctx.covers_only:
        ctx.ready_high = True
    begin, cross, ready = latency_bounds(ctx.gaps["a"], ctx.gaps["b"])
    steps = ctx.g.counter("prop_latency_steps", ctx.took, 1, ready + 1, init=ready + 1)
    since = {d: ctx.since(d) for d in "ab"}
    ctx.check("latency_delivered", ~ctx.undelivered | (steps < cross))
    ctx.check("latency_sender_ready", ctx.i.ready | (steps < ready))
    # In phase p the clock that moves it on has not risen since p began (else it would have
    # moved), so p began at most `since` steps ago.
    for phase in range(1, len(PHASES)):
        ctx.lemma(f"latency_phase_{phase}", ~ctx.phase(phase) | (steps <= begin[phase] + since[MOVES[phase - 1]]))
    ctx.cover("cover_latency_delivered_bound", ctx.undelivered & (steps == cross - 1))
    ctx.cover("cover_latency_sender_ready_bound", ~ctx.i.ready & (steps == ready - 1))


LINK_PROPERTIES = {p.name: p for p in (
    LinkProperty("handshake", "four-phase order on the wires (req rises only while ack is low and falls "
                 "only after ack rose; ack rises only while req is high and falls only after req fell); "
                 "data stable while req is high", build_handshake),
    LinkProperty("stream", "i.ready and busy change only at sender edges, o.valid only at receiver edges; "
                 "o.valid never drops without a transfer; o.payload holds while valid and not ready, and "
                 "never changes while valid is high", build_stream),
    LinkProperty("conservation", "for any flit value: taken on i = written from o + held on the link; no "
                 "flit lost, duplicated or invented", build_conservation),
    LinkProperty("order", "the n-th flit written from o is the n-th taken on i, unchanged", build_order),
    LinkProperty("backpressure", "ack rises only on a transfer on o; while a flit is undelivered the "
                 "sender is busy and takes no other", build_backpressure),
    LinkProperty("timing", "each handshake step at exactly the clock edge of docs/architecture.md 8.2 "
                 "(o.valid at the 2nd receiver edge after req rose, req low at the 3rd sender edge after "
                 "ack rose, ack low at the 3rd receiver edge after req fell, ready at the 2nd sender edge "
                 "after ack fell; busy until then)", build_timing),
    LinkProperty("latency", "a flit is written from o within 3 gap_b steps of being taken, and the sender "
                 "is ready again within 6 gap_b + 5 gap_a (tight)", build_latency,
                 assumption="each clock rises at least once every gap steps; o.ready held high"),
)}
