"""The formal harness around one `hw.router.Router`: a free environment, the router, and the
properties a job asks for (tools/formal/properties.py), emitted as RTLIL for sby.

Environment (every job):
- reset: the `sync` domain's reset is `Initial()`, high in the first cycle only; nothing is
  offered on any input and no configuration access happens in that cycle;
- each input port is free (`AnySeq`) but keeps the stream rule of `amaranth.lib.stream`: once
  `valid` is high it stays high with the same payload until the router takes the flit. All five
  inputs are driven, even those a mesh leaves idle at its edges: that is the stronger claim;
- each output's `ready` is free, except where a property says otherwise (fairness in cycles);
- the configuration bus is idle, except for the counters property, which reads freely.

The only port of the emitted design is `clk`; a second domain for the asynchronous link would
add `clk_1` the same way (see docs/formal.md, "Two clocks").
"""
from __future__ import annotations

import re

from amaranth.asserts import AnyConst, AnySeq, Initial
from amaranth.hdl import (Array, Assert, Assume, ClockDomain, Const, Cover, Elaboratable, Fragment, Module,
                          Mux, Signal, Value)
from amaranth.back import rtlil

from neuromesh import spec
from neuromesh.spec import N_PORTS, PORTS

from . import reference
from .probes import FormalPlatform, RouterProbes


class Statements:
    """Named formal statements in one module; nothing here knows about routers, so the
    asynchronous link's harness can build on it. Each statement's message becomes its cell name
    in the RTLIL (`name_property_cells`), which is how sby names a failed assertion;
    `src_loc_at=1` points its `src` at the property's own line."""

    def __init__(self, m: Module, covers_only: bool = False, lemmas: bool = True):
        self.m = m
        self.covers_only = covers_only     # a cover job: reachability only, no checks or lemmas
        self.lemmas = lemmas and not covers_only
        self.first_cycle = Initial()

    def check(self, name: str, cond):
        if not self.covers_only:
            self.m.d.comb += Assert(cond, name, src_loc_at=1)

    def lemma(self, name: str, cond):
        """An inductive strengthening over internal state: asserted (so proved) like a check,
        named `lemma_...` so a report can tell it from a property of the ports. Left out of
        bounded (BMC) jobs, which need no induction, so a mutant's counterexample shows the
        property of the ports that breaks rather than the first lemma that does."""
        if self.lemmas:
            self.m.d.comb += Assert(cond, f"lemma_{name}", src_loc_at=1)

    def assume(self, name: str, cond):
        self.m.d.comb += Assume(cond, name, src_loc_at=1)

    def cover(self, name: str, cond):
        self.m.d.comb += Cover(cond, name, src_loc_at=1)

    def anyconst(self, name: str, shape):
        sig = Signal(shape, name=name)
        self.m.d.comb += sig.eq(AnyConst(shape))
        return sig

    def anyseq(self, name: str, shape):
        sig = Signal(shape, name=name)
        self.m.d.comb += sig.eq(AnySeq(shape))
        return sig


def reset_domain(m: Module, name: str, clk: Signal) -> ClockDomain:
    """Clock domain `name` driven by the port `clk`, in reset in the first cycle only. A
    two-clock harness calls it once per domain (and sby then needs `multiclock on`)."""
    domain = ClockDomain(name)
    m.domains += domain
    m.d.comb += [domain.clk.eq(clk), domain.rst.eq(Initial())]
    return domain


class Context(Statements):
    """What a router property builder sees: the router's ports, the white-box probes, the
    reference rules, and signals derived from them that several properties share."""

    def __init__(self, m: Module, params: spec.HwParams, x: int, y: int, router, probes: RouterProbes,
                 covers_only: bool = False, lemmas: bool = True):
        super().__init__(m, covers_only, lemmas)
        self.params, self.x, self.y = params, x, y
        self.router, self.probes = router, probes
        self.depth = params.fifo_depth
        self.inputs = [router.inputs[i] for i in range(N_PORTS)]
        self.outputs = [router.outputs[o] for o in range(N_PORTS)]
        self.in_fire = [_named(m, f"in_fire_{PORTS[i]}", p.valid & p.ready) for i, p in enumerate(self.inputs)]
        self.out_fire = [_named(m, f"out_fire_{PORTS[o]}", p.valid & p.ready) for o, p in enumerate(self.outputs)]
        # Input i's head requests output o (the reference rule applied to the head).
        self.request = [[_named(m, f"ref_req_{PORTS[i]}_{PORTS[o]}",
                                f.head_valid & ~self.refused(f.head) & (self.route(f.head) == o))
                         for o in range(N_PORTS)] for i, f in enumerate(probes.fifos)]
        # Input i's head leaves by a refusal, or is served by output o (its only request).
        self.refusal_pop = [_named(m, f"refusal_pop_{PORTS[i]}", f.pop & self.refused(f.head))
                            for i, f in enumerate(probes.fifos)]
        self.served = [[_named(m, f"served_{PORTS[i]}_by_{PORTS[o]}", probes.fifos[i].pop & self.request[i][o])
                        for o in range(N_PORTS)] for i in range(N_PORTS)]
        # What the environment does; a property builder may narrow it before it is built.
        self.ready_free = [True] * N_PORTS
        self.cfg_free = False

    # The reference rules, for this router's mesh and position.
    def refused(self, value):
        return reference.refused(value, self.params)

    def route(self, value):
        return reference.route_port(value, self.x, self.y)

    def slot_valid(self, i: int, k: int):
        """Slot k of input FIFO i holds a flit: it lies fewer than `level` slots after the head."""
        f = self.probes.fifos[i]
        return table(f.consume, [(k - p) % self.depth for p in range(self.depth)]) < f.level

    def slot_ahead(self, i, ahead):
        """What input FIFO i holds `ahead` slots after its head (0 <= ahead < depth); `i` may
        be a signal (an `AnyConst` input)."""
        index = Signal(range(self.depth + 1))
        if isinstance(i, int):
            consume, slots = self.probes.fifos[i].consume, self.probes.fifos[i].slots
        else:
            consume = Array(f.consume for f in self.probes.fifos)[i]
            slots = [Array(f.slots[k] for f in self.probes.fifos)[i] for k in range(self.depth)]
        total = consume + ahead
        self.m.d.comb += index.eq(Mux(total >= self.depth, total - self.depth, total))
        return Array(slots)[index]


def _named(m, name, value):
    sig = Signal(name=name)
    m.d.comb += sig.eq(value)
    return sig


def table(index, values):
    """`values[index]` as a multiplexer over constants computed in Python."""
    width = max(1, max(values).bit_length())
    return Array(Const(v, width) for v in values)[index]


class RouterHarness(Elaboratable):
    """One router at tile (x, y) of `params`'s mesh, with the named properties.

    `router_class` lets the negative tests put a mutant in the router's place; `covers_only`
    builds the covers of those properties without their checks (for a cover job); `lemmas`
    False leaves out the inductive lemmas (for a bounded job); `stream_inputs` False drops the
    upstream stream rule, so inputs may withdraw or change an offered flit.
    """

    def __init__(self, params: spec.HwParams, x: int, y: int, properties, router_class=None,
                 covers_only: bool = False, lemmas: bool = True, stream_inputs: bool = True):
        from neuromesh.hw.router import Router
        from .properties import PROPERTIES
        unknown = [p for p in properties if p not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown properties {unknown} (known: {', '.join(PROPERTIES)})")
        self.params, self.x, self.y = params, x, y
        self.properties = tuple(properties)
        self.router_class = router_class or Router
        self.covers_only = covers_only
        self.lemmas = lemmas
        self.stream_inputs = stream_inputs
        self.clk = Signal(name="clk")

    def elaborate(self, platform):
        from .properties import PROPERTIES
        router = self.router_class(self.params, self.x, self.y)
        formal = FormalPlatform()
        fragment = Fragment.get(router, formal)
        probes = RouterProbes.of(fragment, formal, self.params.fifo_depth)

        m = Module()
        reset_domain(m, "sync", self.clk)
        m.submodules.router = fragment
        ctx = Context(m, self.params, self.x, self.y, router, probes, self.covers_only, self.lemmas)
        for name in self.properties:
            PROPERTIES[name].build(ctx)
        _environment(ctx, self.stream_inputs)
        _common_lemmas(ctx)
        _observe_ports(ctx)
        return m

    def rtlil(self) -> str:
        """The harness as RTLIL, each property cell named after its message."""
        return name_property_cells(rtlil.convert(self, name="top", ports=[self.clk]))


_CHECK_CELL = re.compile(r'^(\s*cell \$check )\$(\d+)\n(\s*parameter \\FORMAT "([A-Za-z0-9_]+)")', re.M)


def name_property_cells(text: str) -> str:
    """Rename `cell $check $123` to `cell $check \\routing_east` after its FORMAT (message), so
    sby reports failures by property name. Checks without a message (the SyncFIFO's own) keep
    their numbers."""
    seen: dict[str, int] = {}

    def rename(match):
        name = match.group(4)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}__{seen[name]}"
        return f"{match.group(1)}\\{name}\n{match.group(3)}"
    return _CHECK_CELL.sub(rename, text)


def _common_lemmas(ctx: Context):
    """Invariants every job needs for induction: a round-robin pointer names a port (rr is a
    3-bit register; values 5..7 are unreachable, and from them the router would grant no input);
    every flit a FIFO holds has beside it the route decision the reference rules give it (the
    router computes them as the flit is written: the output one-hot, none for a refused flit;
    other contents are unreachable); a stalled output's held grant is one-hot and names an input
    that still requests it (its head pops only on that output's transfer)."""
    for o in range(N_PORTS):
        ctx.lemma(f"rr_in_range_{PORTS[o]}", ctx.probes.rr[o] < N_PORTS)
        held, stalled = ctx.probes.held[o], ctx.probes.stalled[o]
        still = Value.cast(0)
        for i in range(N_PORTS):
            still = still | (held[i] & ctx.request[i][o])
        one_hot = (held != 0) & ((held & (held - 1)) == 0)
        ctx.lemma(f"held_requests_{PORTS[o]}", ~stalled | (still & one_hot))
    for i, f in enumerate(ctx.probes.fifos):
        for k, (port, refused) in enumerate(f.stored):
            flit = f.slots[k]
            want = Mux(ctx.refused(flit), 0, Const(1, N_PORTS) << ctx.route(flit))
            ok = (refused == ctx.refused(flit)) & (port == want)
            ctx.lemma(f"stored_route_{PORTS[i]}_{k}", ~ctx.slot_valid(i, k) | ok)


def _observe_ports(ctx: Context):
    """Copies of every port, kept (`keep`) so that yosys does not optimise away what no property
    reads (an output's payload, in a fairness job): a counterexample (trace.py) shows them all."""
    for kind, ports in (("in", ctx.inputs), ("out", ctx.outputs)):
        for p, port in enumerate(ports):
            for member in ("valid", "ready", "payload"):
                value = Value.cast(getattr(port, member))
                seen = Signal(len(value), name=f"port_{kind}_{PORTS[p]}_{member}", attrs={"keep": 1})
                ctx.m.d.comb += seen.eq(value)


def _environment(ctx: Context, stream_inputs: bool):
    m = ctx.m
    for i, port in enumerate(ctx.inputs):
        valid = ctx.anyseq(f"env_valid_{PORTS[i]}", 1)
        payload = ctx.anyseq(f"env_payload_{PORTS[i]}", spec.FLIT_WIDTH)
        m.d.comb += [port.valid.eq(valid), port.payload.eq(payload)]
        # The stream rule upstream: a flit offered and not taken is offered again, unchanged.
        waiting = Signal(name=f"env_waiting_{PORTS[i]}")
        waiting_payload = Signal(spec.FLIT_WIDTH, name=f"env_waiting_payload_{PORTS[i]}")
        m.d.sync += [waiting.eq(port.valid & ~port.ready), waiting_payload.eq(Value.cast(port.payload))]
        if stream_inputs:
            ctx.assume(f"env_stream_{PORTS[i]}", ~waiting | (port.valid & (Value.cast(port.payload) == waiting_payload)))
        ctx.assume(f"env_reset_idle_{PORTS[i]}", ~(ctx.first_cycle & port.valid))
    for o, port in enumerate(ctx.outputs):
        if ctx.ready_free[o]:
            m.d.comb += port.ready.eq(ctx.anyseq(f"env_ready_{PORTS[o]}", 1))
        else:
            m.d.comb += port.ready.eq(1)
    cfg = ctx.router.cfg
    if ctx.cfg_free:
        for name in ("region", "offset", "wdata", "we", "re"):
            field = getattr(cfg, name)
            m.d.comb += field.eq(ctx.anyseq(f"env_cfg_{name}", len(field)))
        ctx.assume("env_reset_no_cfg", ~(ctx.first_cycle & (cfg.re | cfg.we)))
    else:
        m.d.comb += [cfg.re.eq(0), cfg.we.eq(0)]
