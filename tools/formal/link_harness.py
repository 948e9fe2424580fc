"""The formal harness around one `hw.async_link.AsyncLink` over two clocks (sby `multiclock on`).

With `multiclock on`, yosys (`clk2fflogic`) turns every flip-flop into logic on the solver's own
step, an implicit global clock: a flip-flop takes, in the step where its clock is high and was
low in the step before (a rise), the value its input had in the step before. So a register never
sees a value another register takes at the same step: SPEC 5a's edge rule. The two-flip-flop
synchronizers are plain flip-flops there (no metastability), as under Verilator.

Environment:
- clocks: `clk_a` (domain `a`, the sender: the link's `src`) and `clk_b` (domain `b`, the
  receiver: `dst`) are free inputs; any waveform, coincident edges included. Only where a
  property needs time to pass (`latency`, and the cover job) each clock rises at least once
  every `gap_a` / `gap_b` steps;
- reset: both domains' resets are high in the first step only (`harness.reset_domain`); nothing is
  offered on `i` then;
- `i` (domain a) is a free upstream producer under the stream rule: its valid and payload change
  only at rises of `clk_a` (it is a register of domain a), and a flit offered and not taken is
  offered again, unchanged;
- `o.ready` (domain b) is free but changes only at rises of `clk_b`; `latency` holds it high.

State on the global step (past values, step counters) uses yosys's `$ff` cell, an `Instance`
whose initial value the harness assumes in the first step (`GlobalRegs`).
"""
from __future__ import annotations

from amaranth.hdl import Elaboratable, Fragment, Instance, Module, Mux, Signal, Value
from amaranth.back import rtlil

from neuromesh import spec

from .harness import Statements, name_property_cells, reset_domain
from .probes import FormalPlatform, LinkProbes

COUNT_BITS = 3      # transfer counts modulo 8: at most one flit is ever in flight

# The Johnson-counter codes of the handshake (LinkProbes.handshake: req, req stage 0, req_s,
# ack, ack stage 0, ack_s; bit 0 = req). Phase 0 is idle; phases 1..6 set the bits one after
# another, from `req` rising to the sender seeing `ack`; phases 7..11 clear them again.
PHASES = [0] + [(1 << p) - 1 for p in range(1, 7)] + [0b111111 & ~((1 << p) - 1) for p in range(1, 6)]
# The clock whose rise moves phase p to p + 1 (p = 1..11; from 11 to idle): three receiver
# edges to deliver, three sender edges to see ack and lower req, three receiver edges to see
# that and lower ack, two sender edges to see ack low.
MOVES = "bbbaaabbbaa"


class GlobalRegs:
    """Registers on the solver's step (the implicit global clock of `multiclock on`)."""

    def __init__(self, stmts: Statements):
        self.stmts = stmts

    def reg(self, name: str, shape, init):
        """(value now, value next step): a `$ff` whose first-step value is assumed `init`."""
        now, nxt = Signal(shape, name=name), Signal(shape, name=f"{name}__next")
        self.stmts.m.submodules[f"{name}__ff"] = Instance("$ff", p_WIDTH=len(now), i_D=nxt, o_Q=now)
        self.stmts.assume(f"env_first_{name}", ~self.stmts.first_cycle | (now == init))
        return now, nxt

    def past(self, value, name: str, init=None):
        """`value` as it was one step before; in the first step `init`, or by default `value`
        itself (nothing changes in the first step)."""
        value = Value.cast(value)
        now, nxt = self.reg(f"past_{name}", len(value), value if init is None else init)
        self.stmts.m.d.comb += nxt.eq(value)
        return now

    def counter(self, name: str, restart, count, top: int, init: int):
        """0 in a step where `restart`; else one more than in the step before in a step where
        `count`, up to `top`, where it stays. `init` is the value before the first step."""
        before, nxt = self.reg(f"{name}__before", range(top + 1), init)
        now = Signal(range(top + 1), name=name)
        self.stmts.m.d.comb += [
            now.eq(Mux(restart, 0, Mux(count & (before < top), before + 1, before))), nxt.eq(now)]
        return now


class LinkContext(Statements):
    """What a link property builder sees: the link's ports, its handshake registers, and events
    on the global step derived from them."""

    def __init__(self, m: Module, link, probes: LinkProbes, clocks: dict, gaps: tuple,
                 covers_only: bool = False, lemmas: bool = True):
        super().__init__(m, covers_only, lemmas)
        self.link, self.probes, self.clocks = link, probes, clocks
        self.gaps = dict(zip("ab", gaps))       # the most steps between two rises of each clock
        self.g = GlobalRegs(self)
        self.i, self.o = link.i, link.o
        # A rise of each clock (none in the first step: that is the reset).
        self.rose = {d: self.named(f"rose_{d}", clk & ~self.g.past(clk, f"clk_{d}", init=1))
                     for d, clk in clocks.items()}
        self.i_fire = self.named("i_fire", self.i.valid & self.i.ready)
        self.o_fire = self.named("o_fire", self.o.valid & self.o.ready)
        # A transfer takes effect at the next rise of its domain's clock: `took` is the step in
        # which the link has a flit taken on `i` (its registers show it), `gave` the step in
        # which the receiver has one written from `o`.
        self._past = {}
        self.took = self.named("took", self.rose["a"] & self.past(self.i_fire, "i_fire"))
        self.gave = self.named("gave", self.rose["b"] & self.past(self.o_fire, "o_fire"))
        # Transfers so far, counted on the ports in their own domains (modulo 8).
        self.sent = Signal(COUNT_BITS, name="count_sent")
        self.received = Signal(COUNT_BITS, name="count_received")
        m.d.a += self.sent.eq(self.sent + self.i_fire)
        m.d.b += self.received.eq(self.received + self.o_fire)
        self.undelivered = self.named("undelivered", self.sent != self.received)
        p = probes
        self.code = Signal(6, name="handshake_code")
        m.d.comb += self.code.eq(sum(Value.cast(bit) << k for k, bit in enumerate(p.handshake())))
        # The flit on `data` is on its way: req rose and ack has not (phases 1..3).
        self.pending = self.named("pending", p.req & ~p.ack)
        # What a property may narrow before the environment is built.
        self.ready_high = False         # o.ready held high
        self.toggling = False           # each clock rises at least once every gap steps
        self._since = {}

    def named(self, name: str, value):
        sig = Signal(name=name)
        self.m.d.comb += sig.eq(value)
        return sig

    def phase(self, p: int):
        return self.code == PHASES[p]

    def past(self, sig, name: str):
        """`sig` one step before (in the first step, `sig` itself); one `$ff` per name."""
        if name not in self._past:
            self._past[name] = self.g.past(sig, name)
        return self._past[name]

    def rose_of(self, sig, name: str):
        return sig & ~self.past(sig, name)

    def fell_of(self, sig, name: str):
        return ~sig & self.past(sig, name)

    def since(self, d: str):
        """Steps since the last rise of clock `d` (0 in the step of a rise); the toggle
        assumption bounds it by gap - 1."""
        if d not in self._since:
            self.toggling = True
            self._since[d] = self.g.counter(f"env_since_rise_{d}", self.rose[d], 1, self.gaps[d], init=0)
        return self._since[d]


class LinkHarness(Elaboratable):
    """One `AsyncLink("a", "b")` (or `link_class`, a mutant) with the named link properties.

    `gaps` = (gap_a, gap_b): the most steps between two rises of `clk_a` / `clk_b`, where a
    property assumes the clocks keep toggling. `covers_only` and `lemmas` as in RouterHarness."""

    def __init__(self, properties, gaps=(4, 4), link_class=None, covers_only: bool = False,
                 lemmas: bool = True):
        from neuromesh.hw.async_link import AsyncLink
        from .link_properties import LINK_PROPERTIES
        unknown = [p for p in properties if p not in LINK_PROPERTIES]
        if unknown:
            raise ValueError(f"unknown link properties {unknown} (known: {', '.join(LINK_PROPERTIES)})")
        if min(gaps) < 2:
            raise ValueError(f"a clock needs two steps per period (low, then high), not gaps {gaps}")
        self.properties = tuple(properties)
        self.gaps = tuple(gaps)
        self.link_class = link_class or AsyncLink
        self.covers_only = covers_only
        self.lemmas = lemmas
        self.clk_a, self.clk_b = Signal(name="clk_a"), Signal(name="clk_b")

    def elaborate(self, platform):
        from neuromesh.hw.async_link import AsyncLink
        from .link_properties import LINK_PROPERTIES
        link = self.link_class("a", "b")
        fragment = Fragment.get(link, FormalPlatform())
        probes = LinkProbes.of(fragment, exact=self.link_class is AsyncLink)

        m = Module()
        reset_domain(m, "a", self.clk_a)
        reset_domain(m, "b", self.clk_b)
        m.submodules.link = fragment
        ctx = LinkContext(m, link, probes, {"a": self.clk_a, "b": self.clk_b}, self.gaps,
                          self.covers_only, self.lemmas)
        for name in self.properties:
            LINK_PROPERTIES[name].build(ctx)
        _environment(ctx)
        _common_lemmas(ctx)
        _observe(ctx)
        return m

    def rtlil(self) -> str:
        text = name_property_cells(rtlil.convert(self, name="top", ports=[self.clk_a, self.clk_b]))
        # Amaranth writes an Instance's type as a user cell (`\$ff`); yosys's own cell is `$ff`.
        return text.replace("cell \\$ff ", "cell $ff ")


def _environment(ctx: LinkContext):
    m, i, o = ctx.m, ctx.i, ctx.o
    if ctx.toggling:
        for d in "ab":
            ctx.assume(f"env_clock_{d}_toggles", ctx.since(d) < ctx.gaps[d])
    # Upstream: a register of domain a, under the stream rule.
    valid = ctx.anyseq("env_i_valid", 1)
    payload = ctx.anyseq("env_i_payload", spec.FLIT_WIDTH)
    m.d.comb += [i.valid.eq(valid), i.payload.eq(payload)]
    ctx.assume("env_i_reset_idle", ~(ctx.first_cycle & valid))
    ctx.assume("env_i_on_clock_a", ctx.rose["a"] | ((valid == ctx.g.past(valid, "env_i_valid")) &
                                                   (payload == ctx.g.past(payload, "env_i_payload"))))
    waiting = Signal(name="env_i_waiting")
    waiting_payload = Signal(spec.FLIT_WIDTH, name="env_i_waiting_payload")
    m.d.a += [waiting.eq(i.valid & ~i.ready), waiting_payload.eq(Value.cast(i.payload))]
    ctx.assume("env_i_stream", ~waiting | (valid & (payload == waiting_payload)))
    # Downstream: the receiving FIFO's ready, a function of domain b's registers.
    if ctx.ready_high:
        m.d.comb += o.ready.eq(1)
    else:
        ready = ctx.anyseq("env_o_ready", 1)
        m.d.comb += o.ready.eq(ready)
        ctx.assume("env_o_ready_on_clock_b", ctx.rose["b"] | (ready == ctx.g.past(ready, "env_o_ready")))


def _common_lemmas(ctx: LinkContext):
    """Invariants every link proof needs: the six handshake bits form a Johnson counter (each
    stage copies the one before it, so the bits are a run of ones then zeros, or of zeros then
    ones: 12 of the 64 values), and the transfers counted on the ports differ by the flit in
    flight."""
    ctx.lemma("link_phase", sum(ctx.phase(p) for p in range(len(PHASES))) == 1)
    ctx.lemma("link_in_flight", (ctx.sent - ctx.received)[:COUNT_BITS] == ctx.pending)


def _observe(ctx: LinkContext):
    """Kept copies of the ports and handshake wires, for counterexamples (trace.render_link)."""
    p = ctx.probes
    watched = {"port_i_valid": ctx.i.valid, "port_i_ready": ctx.i.ready, "port_i_payload": ctx.i.payload,
               "port_o_valid": ctx.o.valid, "port_o_ready": ctx.o.ready, "port_o_payload": ctx.o.payload,
               "port_busy": ctx.link.busy, "wire_req": p.req, "wire_req_s": p.req_s, "wire_ack": p.ack,
               "wire_ack_s": p.ack_s, "wire_data": p.data, "edge_a": ctx.rose["a"], "edge_b": ctx.rose["b"]}
    for name, value in watched.items():
        value = Value.cast(value)
        seen = Signal(len(value), name=name, attrs={"keep": 1})
        ctx.m.d.comb += seen.eq(value)
