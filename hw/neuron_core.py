"""The neuron core: synaptic integration, the LIF update phase and the spike emitter.

Three engines run independently and share no memory port (docs/architecture.md section 4,
which fixes the cycle of every step below; docs/neuron-core.md describes the block):

- the walker takes flits from `inp`, looks the axon up and adds one synapse per cycle into the
  filling accumulator slot through a read-modify-write pipeline;
- the updater, started by `tick_start`, runs SPEC section 3 over the core's active neurons, one
  per cycle, on the slot that `tick_flip` retired, and queues the neurons that fire;
- the emitter pops fired neurons and sends one flit per route entry on `out`.

Configuration (`cfg`) reaches every table through the engines' own ports: accesses only happen
while the core is idle, so they never compete with an engine.
"""
from amaranth import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_bus import CfgBusSignature
from neuromesh.hw.lif_datapath import STAGES as LIF_STAGES, LifDatapath


def _word_width(word: spec.Word) -> int:
    """Memories hold only a word's field bits; every layout here starts at bit 0 and has no
    holes, so the stored value is the word's low bits and reads zero-extend it."""
    width = word.mask.bit_length()
    if word.mask != (1 << width) - 1:
        raise ValueError(f"{word.name} has holes: cannot store it compactly")
    return width


class Stored:
    """How a memory holds a configuration word: each field in `bits[name]` bits (at most the
    field's width), the fields concatenated in the word's order from bit 0. A field kept whole
    is stored as it stands; a field whose values the core's sizes bound (`spec.table_word_problem`
    refuses the others) may keep only the bits those values need,
    which is what lets a synapse entry of a 256-neuron core fit 16 bits."""

    def __init__(self, word: spec.Word, bits: dict | None = None):
        _word_width(word)
        bits = bits or {}
        for name, b in bits.items():
            if not 1 <= b <= word.field(name).width:
                raise ValueError(f"{word.name}.{name}: {b} bits is not between 1 and the field's width")
        self.word = word
        self.bits = {f.name: bits.get(f.name, f.width) for f in word.fields}
        self.width = sum(self.bits.values())

    @property
    def whole(self) -> bool:
        return all(self.bits[f.name] == f.width for f in self.word.fields)

    def store(self, data):
        """A configuration word (an Amaranth value in the word's layout) as stored."""
        if self.whole:
            return data[:self.width]
        return Cat(*(data[f.lsb:f.lsb + self.bits[f.name]] for f in self.word.fields))

    def load(self, stored):
        """A stored value back in the word's layout (zero-extended fields, signed ones too: a
        signed field is never narrowed)."""
        if self.whole:
            return stored
        out, at, top = [], 0, 0
        for f in self.word.fields:
            b = self.bits[f.name]
            out.append(Const(0, f.lsb - top))
            out.append(stored[at:at + b])
            out.append(Const(0, f.width - b))
            at, top = at + b, f.lsb + f.width
        return Cat(*out)

    def store_int(self, word: int) -> int:
        out, at = 0, 0
        for f in self.word.fields:
            b = self.bits[f.name]
            out |= ((word >> f.lsb) & ((1 << b) - 1)) << at
            at += b
        return out

    def fields(self, stored) -> dict:
        """The fields of a stored value (signed ones as signed)."""
        out, at = {}, 0
        for f in self.word.fields:
            b = self.bits[f.name]
            v = stored[at:at + b]
            out[f.name] = v.as_signed() if f.signed else v
            at += b
        return out


def _fields(value, word: spec.Word) -> dict:
    """Slice a stored word into its fields (signed ones as signed)."""
    out = {}
    for f in word.fields:
        v = value[f.lsb:f.lsb + f.width]
        out[f.name] = v.as_signed() if f.signed else v
    return out


def memory_layout(params: spec.HwParams) -> dict:
    """Memory name -> (config region, how it stores its word, depth). `param` and `state` each
    hold two words per neuron; they are two memories of one word each, so that the updater reads
    all of a neuron in one cycle. A synapse entry keeps `neuron_bits` bits of its target: the
    loader refuses a target past the core's neurons (`spec.table_word_problem`), and with 256
    neurons the entry is 16 bits, which halves its block RAMs on an iCE40 and saves one in
    three on an ECP5 (docs/fpga.md). Pointers and lengths stay whole: the loader accepts any
    pointer with a length of 0, and reads it back."""
    n = params.neurons_per_core
    acc = spec.acc_word(params)
    return {
        "param0": ("param", Stored(spec.PARAM_WORDS[0]), n), "param1": ("param", Stored(spec.PARAM_WORDS[1]), n),
        "state0": ("state", Stored(spec.STATE_WORDS[0]), n), "state1": ("state", Stored(spec.STATE_WORDS[1]), n),
        "acc0": ("acc0", Stored(acc), n), "acc1": ("acc1", Stored(acc), n),
        "axon": ("axon", Stored(spec.AXON_WORD), params.axons_per_core),
        "synapse": ("synapse", Stored(spec.SYNAPSE_WORD, {"target": params.neuron_bits}), params.synapses_per_core),
        "rlist": ("rlist", Stored(spec.RLIST_WORD), n),
        "route": ("route", Stored(spec.ROUTE_WORD), params.routes_per_core),
    }


# The cfg decode below selects a neuron's param/state word by offset bit 0 and its row by
# offset[1:], which holds only for two words per neuron.
if spec.NEURON_WORDS != 2:
    raise ImportError("hw/neuron_core.py decodes param/state words by offset bit 0: NEURON_WORDS must be 2")


def locate(params: spec.HwParams, region: str, offset: int) -> tuple[str, int]:
    """Where a configuration word lives: (memory name, row)."""
    if region in ("param", "state"):
        return f"{region}{offset % spec.NEURON_WORDS}", offset // spec.NEURON_WORDS
    return region, offset


def memory_images(params: spec.HwParams, init: dict | None) -> dict:
    """Check `init` ({region: {offset: word}}) and turn it into one init list per memory, plus
    `active`: the initial active-neuron count (a register, not a memory)."""
    layout = memory_layout(params)
    images = {name: [0] * depth for name, (_r, _w, depth) in layout.items()}
    images["active"] = 0
    for region, words in (init or {}).items():
        if region not in spec.WRITABLE_REGIONS:
            raise spec.ConfigError("init", region, f"not a writable core region ({', '.join(spec.WRITABLE_REGIONS)})")
        if not isinstance(words, dict):
            raise spec.ConfigError(f"init.{region}", words, "must map word offsets to words")
        size = spec.region_size(params, region)
        for offset, word in words.items():
            if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < size:
                raise spec.ConfigError(f"init.{region}", offset, f"offset must be an integer in [0, {size})")
            if isinstance(word, bool) or not isinstance(word, int) or not 0 <= word < (1 << spec.CFG_WORD_BITS):
                raise spec.ConfigError(f"init.{region}[{offset}]", word, "must be a 32-bit word")
            if region == "active":
                count = word & spec.ACTIVE_WORD.mask
                if count > params.neurons_per_core:
                    raise spec.ConfigError(f"init.{region}", count, f"more than {params.neurons_per_core} neurons")
                images["active"] = count
                continue
            name, row = locate(params, region, offset)
            images[name][row] = layout[name][1].store_int(word & layout[name][1].word.mask)
    return images


class NeuronCore(wiring.Component):
    """One tile's neuron core (docs/architecture.md section 4)."""

    def __init__(self, params: spec.HwParams, init: dict | None = None):
        try:
            if not isinstance(params, spec.HwParams):
                raise spec.ConfigError("params", params, "must be a neuromesh.spec.HwParams")
            if params.neurons_per_core > 1 << spec.SYNAPSE_WORD.field("target").width:
                raise spec.ConfigError("neurons_per_core", params.neurons_per_core, "too many for a synapse target")
            self._images = memory_images(params, init)
        except spec.NeuroMeshError:
            self._MustUse__silence = True  # a refused core is not an unused one
            raise
        self.params = params
        super().__init__({
            "inp": In(stream.Signature(spec.flit_layout())),
            "out": Out(stream.Signature(spec.flit_layout())),
            "tick_flip": In(1),
            "tick_start": In(1),
            "idle": Out(1),
            "cfg": In(CfgBusSignature()),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        n_neurons = p.neurons_per_core
        cfg = self.cfg

        # ---- memories and their configuration side --------------------------------------
        # Every memory has one write port and one synchronous read port, and every read port's
        # data goes into a register before any logic uses it (`raw`, loaded every cycle): on an
        # ECP5 a block RAM's clock-to-output alone is more than half of a 10 ns cycle, so a
        # read issued in cycle k is used from its register in k+2 (docs/fpga.md). No row is
        # read in the cycle it is written, except by a configuration write (whose read data
        # nothing uses) and by the walker's read-modify-write, which forwards its own recent
        # sums over that read; so `no_rw_check` tells yosys not to emulate the "old data"
        # collision rule that FPGA block RAMs lack across ports (a register and a multiplexer
        # per read bit). A configuration access takes over the ports of the memory it names.
        mems, rd, wr, hit, raw = {}, {}, {}, {}, {}
        layout = memory_layout(p)
        for name, (region, stored, depth) in layout.items():
            mem = Memory(shape=unsigned(stored.width), depth=depth, init=self._images[name],
                         attrs={"no_rw_check": 1})
            m.submodules[f"{name}_mem"] = mem
            wp = mem.write_port()
            rp = mem.read_port()
            mems[name], rd[name], wr[name] = mem, rp, wp
            raw[name] = Signal(stored.width, name=f"raw_{name}")
            m.d.sync += raw[name].eq(rp.data)
            size = spec.region_size(p, region)
            h = Signal(name=f"cfg_hit_{name}")
            sel = cfg.region == spec.REGION[region]
            if region in ("param", "state"):
                sel &= cfg.offset[0] == int(name[-1])
            m.d.comb += h.eq((cfg.re | cfg.we) & sel & (cfg.offset < size))
            hit[name] = h

        def cfg_row(name):
            region = layout[name][0]
            return cfg.offset[1:] if region in ("param", "state") else cfg.offset

        # ---- counters ---------------------------------------------------------------------
        counters = {name: Signal(spec.COUNTER_BITS, name=f"cnt_{name}") for name in spec.CORE_COUNTERS}

        # ---- active-neuron count (SPEC 3): written by the loader, survives `rst` like the
        # tables (reset_less), so a reset chip keeps its configuration. A count above the
        # core's size (the loader refuses it) is stored as the size, so the updater always ends.
        active_bits = spec.ACTIVE_WORD.field("count").width
        n_active = Signal(active_bits, init=self._images["active"], reset_less=True)
        active_hit = Signal()
        m.d.comb += active_hit.eq((cfg.region == spec.REGION["active"]) & (cfg.offset == 0))
        with m.If(cfg.we & active_hit):
            written = cfg.wdata[:active_bits]
            m.d.sync += n_active.eq(Mux(written > n_neurons, n_neurons, written))

        # ---- accumulator slots -------------------------------------------------------------
        # `fill` names the slot the walker adds into; the updater consumes the other one.
        # The tick flips `fill` (`tick_flip`) and starts the updater (`tick_start`); in a
        # one-domain chip both are the cycle after the handshake, in a multi-domain chip the
        # barrier of architecture section 8.3 separates them. `fill` only flips while the core
        # is idle.
        fill = Signal()
        with m.If(self.tick_flip):
            m.d.sync += fill.eq(~fill)
        acc_shape = spec.acc_word(p).fields[0]

        def acc_raw(slot_is_fill: bool):
            """The registered read data of the walker's slot (True) or the updater's (False)."""
            sel = fill if slot_is_fill else ~fill
            return Mux(sel, raw["acc1"], raw["acc0"])[:acc_shape.width].as_signed()

        # ---- walker: IDLE / FETCH / LOOKUP / WALK (section 4.2) -----------------------------
        W_IDLE, W_FETCH, W_LOOKUP, W_WALK = 0, 1, 2, 3
        walker = Signal(2)
        walk_ptr = Signal(spec.AXON_WORD.field("ptr").width)
        walk_left = Signal(spec.AXON_WORD.field("len").width)
        walk_wexp = Signal(spec.WEXP_BITS)
        # The read-modify-write of a synapse whose read is issued in cycle s, one stage per
        # cycle: s+1 the synapse word leaves the memory (into `raw`); s+2 the accumulator read
        # is issued at its target; s+3 the accumulator word leaves the memory (into `raw`) with
        # the addend formed; s+4 the sum is written and counted. vN: a synapse is in s+N.
        issued, wexp0 = Signal(), Signal(spec.WEXP_BITS)
        v1, wexp1 = Signal(), Signal(spec.WEXP_BITS)
        v2, wexp2 = Signal(), Signal(spec.WEXP_BITS)
        v3, t3 = Signal(), Signal(p.neuron_bits)
        v4, t4 = Signal(), Signal(p.neuron_bits)
        addend_shape = signed(spec.WEIGHT_BITS + (1 << spec.WEXP_BITS) - 1)
        a3, a4 = Signal(addend_shape), Signal(addend_shape)
        # The sums written in the last two cycles (w1: the previous cycle), which a read
        # issued in s+2 does not see (one is written in s+2 itself, one in s+3): forwarded.
        w1v, w1t, w1s = Signal(), Signal(p.neuron_bits), Signal(acc_shape.width)
        w2v, w2t, w2s = Signal(), Signal(p.neuron_bits), Signal(acc_shape.width)
        f1, f2 = Signal(), Signal()     # in s+4: the sum of s+3 (w1) / of s+2 (w2) is the base

        m.d.comb += self.inp.ready.eq(walker == W_IDLE)
        m.d.comb += rd["axon"].addr.eq(self.inp.payload.axon)
        m.d.comb += issued.eq(0)
        axon = layout["axon"][1].fields(raw["axon"])
        with m.Switch(walker):
            with m.Case(W_IDLE):
                with m.If(self.inp.valid):
                    with m.If(self.inp.payload.axon >= p.axons_per_core):
                        m.d.sync += counters["errors"].eq(counters["errors"] + 1)
                    with m.Else():
                        m.d.sync += walker.eq(W_FETCH)
            with m.Case(W_FETCH):          # c+1: the axon word goes into its register
                m.d.sync += walker.eq(W_LOOKUP)
            with m.Case(W_LOOKUP):         # c+2
                with m.If(axon["len"] == 0):
                    m.d.sync += walker.eq(W_IDLE)
                with m.Else():
                    m.d.comb += [rd["synapse"].addr.eq(axon["ptr"]), issued.eq(1), wexp0.eq(axon["wexp"])]
                    m.d.sync += [walk_wexp.eq(axon["wexp"]), walk_ptr.eq(axon["ptr"] + 1),
                                 walk_left.eq(axon["len"] - 1), walker.eq(Mux(axon["len"] > 1, W_WALK, W_IDLE))]
            with m.Case(W_WALK):
                m.d.comb += [rd["synapse"].addr.eq(walk_ptr), issued.eq(1), wexp0.eq(walk_wexp)]
                m.d.sync += [walk_ptr.eq(walk_ptr + 1), walk_left.eq(walk_left - 1)]
                with m.If(walk_left == 1):
                    m.d.sync += walker.eq(W_IDLE)

        syn = layout["synapse"][1].fields(raw["synapse"])      # in s+2: the word read in s
        walk_sum = Signal(acc_shape.width)
        base = Mux(f1, w1s, Mux(f2, w2s, acc_raw(True)))
        m.d.comb += walk_sum.eq(base + a4)
        m.d.sync += [
            v1.eq(issued), wexp1.eq(wexp0),
            v2.eq(v1), wexp2.eq(wexp1),
            v3.eq(v2), t3.eq(syn["target"]), a3.eq(syn["weight"] << wexp2),
            v4.eq(v3), t4.eq(t3), a4.eq(a3),
            # which recent write the synapse now in s+3 must take instead of the memory's word
            f1.eq(v4 & (t4 == t3)), f2.eq(w1v & (w1t == t3)),
            w1v.eq(v4), w1t.eq(t4), w1s.eq(walk_sum),
            w2v.eq(w1v), w2t.eq(w1t), w2s.eq(w1s),
        ]
        with m.If(v4):
            m.d.sync += counters["sops"].eq(counters["sops"] + 1)

        # ---- updater (section 4.3) ---------------------------------------------------------
        # Reads of neuron n issued in h+1+n for n < n_active; its words come out of the
        # memories in h+2+n (the consumed accumulator is cleared then) and are registered; from
        # h+3+n they go through the LIF pipeline, and the new state and the spike are written
        # in h+1+UPDATE_LATENCY+n. A core holding no neuron has no update phase.
        upd_reading, upd_rd_n = Signal(), Signal(p.neuron_bits)
        upd_operand, upd_op_n = Signal(), Signal(p.neuron_bits)
        upd_raw, upd_raw_n = Signal(), Signal(p.neuron_bits)
        with m.If(self.tick_start):
            m.d.sync += [upd_reading.eq(n_active != 0), upd_rd_n.eq(0)]
        with m.Elif(upd_reading):
            m.d.sync += upd_rd_n.eq(upd_rd_n + 1)
            with m.If(upd_rd_n == n_active - 1):
                m.d.sync += upd_reading.eq(0)
        m.d.sync += [upd_operand.eq(upd_reading), upd_op_n.eq(upd_rd_n),
                     upd_raw.eq(upd_operand), upd_raw_n.eq(upd_op_n)]
        for name in ("param0", "param1", "state0", "state1"):
            m.d.comb += rd[name].addr.eq(upd_rd_n)

        m.submodules.lif = lif = LifDatapath(p.acc_width, p.neuron_bits)
        if LIF_STAGES + 2 != spec.UPDATE_LATENCY:    # the read, the registered words, the pipeline
            raise ValueError(f"the updater takes {LIF_STAGES + 2} cycles, spec.UPDATE_LATENCY says "
                             f"{spec.UPDATE_LATENCY}: change both, and architecture.md 4.3")
        prm0 = _fields(raw["param0"], spec.PARAM_WORDS[0])
        prm1 = _fields(raw["param1"], spec.PARAM_WORDS[1])
        st0 = _fields(raw["state0"], spec.STATE_WORDS[0])
        st1 = _fields(raw["state1"], spec.STATE_WORDS[1])
        m.d.comb += [
            lif.valid.eq(upd_raw), lif.tag.eq(upd_raw_n),
            lif.du.eq(prm0["du"]), lif.dv.eq(prm0["dv"]), lif.bias_exp.eq(prm0["bias_exp"]),
            lif.refractory.eq(prm0["refractory"]), lif.reset.eq(prm0["reset"]),
            lif.vth.eq(prm1["vth"]), lif.bias_mant.eq(prm1["bias_mant"]),
            lif.u.eq(st0["u"]), lif.v.eq(st1["v"]), lif.r.eq(st1["r"]), lif.acc.eq(acc_raw(False)),
        ]
        upd_writing, upd_wr_n = lif.out_valid, lif.out_tag
        fired = Signal()
        m.d.comb += fired.eq(upd_writing & lif.spike)
        with m.If(upd_writing):
            m.d.sync += counters["updates"].eq(counters["updates"] + 1)
        with m.If(fired):
            m.d.sync += counters["spikes"].eq(counters["spikes"] + 1)
        r_field = spec.STATE_WORDS[1].field("r")
        state1_next = Signal(_word_width(spec.STATE_WORDS[1]))
        m.d.comb += state1_next.eq(lif.v_next.as_unsigned() | (lif.r_next << r_field.lsb))
        m.d.comb += [
            wr["state0"].en.eq(upd_writing), wr["state0"].addr.eq(upd_wr_n), wr["state0"].data.eq(lif.u_next),
            wr["state1"].en.eq(upd_writing), wr["state1"].addr.eq(upd_wr_n), wr["state1"].data.eq(state1_next),
        ]

        # Both accumulator memories: the walker owns the `fill` slot, the updater the other.
        for slot in (0, 1):
            name = f"acc{slot}"
            walker_owns = fill == slot
            with m.If(walker_owns):
                m.d.comb += [rd[name].addr.eq(syn["target"]),
                             wr[name].en.eq(v4), wr[name].addr.eq(t4), wr[name].data.eq(walk_sum)]
            with m.Else():
                m.d.comb += [rd[name].addr.eq(upd_rd_n),
                             wr[name].en.eq(upd_operand), wr[name].addr.eq(upd_op_n), wr[name].data.eq(0)]

        # ---- spike queue (section 4.4): a FIFO of depth N and a head register ---------------
        # An entry written in p is counted from p+1; while the head register is empty (or is
        # being popped) and an entry is counted, its read is issued, and it is in the head
        # register two cycles later: an entry written in p can be popped from p+3.
        q_mem = Memory(shape=unsigned(p.neuron_bits), depth=n_neurons, init=[], attrs={"no_rw_check": 1})
        m.submodules.spike_queue = q_mem
        q_wp = q_mem.write_port()
        q_rp = q_mem.read_port()
        q_wr, q_rd = Signal(p.neuron_bits), Signal(p.neuron_bits)
        q_count = Signal(range(n_neurons + 1))       # written, not yet read into the head
        q_fetch, q_fetched = Signal(), Signal()      # read issued this cycle / last cycle
        head, head_valid = Signal(p.neuron_bits), Signal()
        q_pop = Signal()

        def q_next(ptr):
            return Mux(ptr == n_neurons - 1, 0, ptr + 1)

        m.d.comb += [q_wp.en.eq(fired), q_wp.addr.eq(q_wr), q_wp.data.eq(upd_wr_n), q_rp.addr.eq(q_rd),
                     q_fetch.eq((q_count != 0) & ~q_fetched & (~head_valid | q_pop))]
        m.d.sync += q_fetched.eq(q_fetch)
        with m.If(fired):
            m.d.sync += q_wr.eq(q_next(q_wr))
        with m.If(q_fetch):
            m.d.sync += q_rd.eq(q_next(q_rd))
        with m.If(fired & ~q_fetch):
            m.d.sync += q_count.eq(q_count + 1)
        with m.Elif(q_fetch & ~fired):
            m.d.sync += q_count.eq(q_count - 1)
        with m.If(q_fetched):
            m.d.sync += [head.eq(q_rp.data), head_valid.eq(1)]
        with m.Elif(q_pop):
            m.d.sync += head_valid.eq(0)

        # ---- emitter: IDLE / RLIST / LIST / EMIT (section 4.4) ------------------------------
        # Pop in e (the rlist read of the head issued), its word registered in e+1, LIST in
        # e+2 issues the first route read, whose word goes into the output register in e+3:
        # offered from e+4. In EMIT the route read of the next entry is issued when the output
        # register takes the current one, so a flit that is not taken holds everything behind it.
        E_IDLE, E_RLIST, E_LIST, E_EMIT = 0, 1, 2, 3
        emitter = Signal(2)
        ra = Signal(spec.RLIST_WORD.field("ptr").width)       # the route entry whose read is pending
        em_left = Signal(spec.RLIST_WORD.field("len").width)  # entries still to read after it
        pend = Signal()                                       # its word is out of the memory now
        ob_valid = Signal()
        ob = Signal(layout["route"][1].width)
        xfer, take = Signal(), Signal()
        rlist = layout["rlist"][1].fields(raw["rlist"])
        m.d.comb += [rd["rlist"].addr.eq(head), rd["route"].addr.eq(ra),
                     self.out.valid.eq(ob_valid), self.out.payload.eq(ob),
                     xfer.eq(ob_valid & self.out.ready), take.eq(pend & (~ob_valid | xfer))]
        with m.If(xfer):
            m.d.sync += [ob_valid.eq(0), counters["flits_sent"].eq(counters["flits_sent"] + 1)]
        with m.If(take):
            m.d.sync += [ob.eq(rd["route"].data), ob_valid.eq(1)]
        with m.Switch(emitter):
            with m.Case(E_IDLE):
                with m.If(head_valid):
                    m.d.comb += q_pop.eq(1)
                    m.d.sync += emitter.eq(E_RLIST)
            with m.Case(E_RLIST):      # e+1: the rlist word goes into its register
                m.d.sync += emitter.eq(E_LIST)
            with m.Case(E_LIST):       # e+2
                with m.If(rlist["len"] == 0):
                    m.d.sync += emitter.eq(E_IDLE)
                with m.Else():
                    m.d.comb += rd["route"].addr.eq(rlist["ptr"])
                    m.d.sync += [ra.eq(rlist["ptr"]), em_left.eq(rlist["len"] - 1), pend.eq(1),
                                 emitter.eq(E_EMIT)]
            with m.Case(E_EMIT):
                with m.If(take):
                    with m.If(em_left != 0):
                        m.d.comb += rd["route"].addr.eq(ra + 1)
                        m.d.sync += [ra.eq(ra + 1), em_left.eq(em_left - 1)]
                    with m.Else():
                        m.d.sync += pend.eq(0)
                with m.If(~pend & xfer):   # the last flit leaves: IDLE in the next cycle
                    m.d.sync += emitter.eq(E_IDLE)

        # ---- idle (section 4.5): registered state only --------------------------------------
        m.d.comb += self.idle.eq((walker == W_IDLE) & ~v1 & ~v2 & ~v3 & ~v4
                                 & ~upd_reading & ~upd_operand & ~upd_raw & ~lif.busy
                                 & (q_count == 0) & ~q_fetched & ~head_valid & (emitter == E_IDLE))

        # ---- configuration: writes and reads override the engines (only while idle) ----------
        # A read with `re` in cycle r: the memory reads in r, its word leaves the memory in r+1
        # and is in `raw` in r+2 (a counter is latched in r), where the selected word is
        # registered into `rdata`: the answer is on `rdata` from r+3 (`cfg_bus.READ_LATENCY`).
        rd_src = Signal(range(len(mems) + 2))  # 0: nothing (reads 0), 1..: a memory, last: a register
        rd_src2 = Signal.like(rd_src)
        cnt_value, cnt_value2 = Signal(spec.COUNTER_BITS), Signal(spec.COUNTER_BITS)
        rdata = Signal(spec.CFG_WORD_BITS)
        # Accesses come only while the tile is quiescent (architecture 5), when no engine uses
        # a port, so every memory's address and write data follow the bus on any access to the
        # tile, and only the write enable waits for the region decode (`hit`): the decode is
        # off the path into the address and data multiplexers (docs/fpga.md).
        names = list(mems)
        access = Signal()
        m.d.comb += access.eq(cfg.re | cfg.we)
        for name in names:
            with m.If(access):
                m.d.comb += [rd[name].addr.eq(cfg_row(name)), wr[name].addr.eq(cfg_row(name)),
                             wr[name].data.eq(layout[name][1].store(cfg.wdata)),
                             wr[name].en.eq(cfg.we & hit[name])]
        m.d.sync += [rd_src.eq(0), rd_src2.eq(rd_src), cnt_value2.eq(cnt_value), rdata.eq(0)]
        with m.If(cfg.re):
            for i, name in enumerate(names):
                with m.If(hit[name]):
                    m.d.sync += rd_src.eq(1 + i)
            with m.If(cfg.region == spec.REGION["core_cnt"]):
                with m.Switch(cfg.offset):
                    for i, name in enumerate(spec.CORE_COUNTERS):
                        with m.Case(i):
                            m.d.sync += [rd_src.eq(len(names) + 1), cnt_value.eq(counters[name])]
            with m.If(active_hit):
                m.d.sync += [rd_src.eq(len(names) + 1), cnt_value.eq(n_active)]
        with m.Switch(rd_src2):
            for i, name in enumerate(names):
                with m.Case(1 + i):
                    m.d.sync += rdata.eq(layout[name][1].load(raw[name]))
            with m.Case(len(names) + 1):
                m.d.sync += rdata.eq(cnt_value2)
        m.d.comb += cfg.rdata.eq(rdata)
        return m
