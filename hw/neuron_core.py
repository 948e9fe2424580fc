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
from neuromesh.hw.lif_datapath import LifDatapath


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
        # Every memory has one write port and one synchronous read port. The accumulators'
        # read ports are transparent to their write ports: the walker's read-modify-write may
        # read a neuron in the very cycle the previous synapse writes it. A configuration
        # access takes over the ports of the memory it names (`hit`).
        # Every other memory is read and written at one row in one cycle only by a
        # configuration write, whose read data nothing uses (the updater writes state[m] while
        # it reads state[m+5]), so `no_rw_check` tells yosys not to emulate the "old data"
        # collision rule that FPGA block RAMs lack across ports: that emulation cost a register
        # and a multiplexer per read bit, on the read data's path (docs/fpga.md).
        mems, rd, wr, hit = {}, {}, {}, {}
        layout = memory_layout(p)
        for name, (region, stored, depth) in layout.items():
            attrs = {} if name.startswith("acc") else {"no_rw_check": 1}
            mem = Memory(shape=unsigned(stored.width), depth=depth, init=self._images[name], attrs=attrs)
            m.submodules[f"{name}_mem"] = mem
            wp = mem.write_port()
            rp = mem.read_port(transparent_for=(wp,) if name.startswith("acc") else ())
            mems[name], rd[name], wr[name] = mem, rp, wp
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
        # one-domain chip both are the handshake cycle, in a multi-domain chip the barrier of
        # architecture section 8.3 separates them.
        fill = Signal()
        with m.If(self.tick_flip):
            m.d.sync += fill.eq(~fill)
        acc_shape = spec.acc_word(p).fields[0]

        def acc_data(slot_is_fill: bool):
            """The read data of the walker's slot (True) or the updater's slot (False)."""
            a0, a1 = rd["acc0"].data, rd["acc1"].data
            sel = fill if slot_is_fill else ~fill
            return Mux(sel, a1, a0)[:acc_shape.width].as_signed()

        # ---- walker: IDLE / LOOKUP / WALK (section 4.2) -------------------------------------
        W_IDLE, W_LOOKUP, W_WALK = 0, 1, 2
        walker = Signal(2)
        walk_ptr = Signal(spec.AXON_WORD.field("ptr").width)
        walk_left = Signal(spec.AXON_WORD.field("len").width)
        walk_wexp = Signal(spec.WEXP_BITS)
        # RMW stage 1 (cycle s+1): synapse data out of memory, accumulator read issued.
        s1_valid, s1_wexp = Signal(), Signal(spec.WEXP_BITS)
        # RMW stage 2 (cycle s+2): accumulator data out, sum written.
        s2_valid = Signal()
        s2_target = Signal(p.neuron_bits)
        s2_addend = Signal(signed(spec.WEIGHT_BITS + (1 << spec.WEXP_BITS) - 1))

        m.d.comb += self.inp.ready.eq(walker == W_IDLE)
        m.d.comb += rd["axon"].addr.eq(self.inp.payload.axon)
        m.d.sync += s1_valid.eq(0)
        axon = layout["axon"][1].fields(rd["axon"].data)
        with m.Switch(walker):
            with m.Case(W_IDLE):
                with m.If(self.inp.valid):
                    with m.If(self.inp.payload.axon >= p.axons_per_core):
                        m.d.sync += counters["errors"].eq(counters["errors"] + 1)
                    with m.Else():
                        m.d.sync += walker.eq(W_LOOKUP)
            with m.Case(W_LOOKUP):
                with m.If(axon["len"] == 0):
                    m.d.sync += walker.eq(W_IDLE)
                with m.Else():
                    m.d.comb += rd["synapse"].addr.eq(axon["ptr"])
                    m.d.sync += [s1_valid.eq(1), s1_wexp.eq(axon["wexp"]), walk_wexp.eq(axon["wexp"]),
                                 walk_ptr.eq(axon["ptr"] + 1), walk_left.eq(axon["len"] - 1),
                                 walker.eq(Mux(axon["len"] > 1, W_WALK, W_IDLE))]
            with m.Case(W_WALK):
                m.d.comb += rd["synapse"].addr.eq(walk_ptr)
                m.d.sync += [s1_valid.eq(1), s1_wexp.eq(walk_wexp),
                             walk_ptr.eq(walk_ptr + 1), walk_left.eq(walk_left - 1)]
                with m.If(walk_left == 1):
                    m.d.sync += walker.eq(W_IDLE)

        syn = layout["synapse"][1].fields(rd["synapse"].data)
        walk_acc_addr = syn["target"]  # stage 1 issues the accumulator read
        m.d.sync += [s2_valid.eq(s1_valid), s2_target.eq(syn["target"]),
                     s2_addend.eq(syn["weight"] << s1_wexp)]
        walk_sum = Signal(acc_shape.width)
        m.d.comb += walk_sum.eq(acc_data(True) + s2_addend)
        with m.If(s2_valid):
            m.d.sync += counters["sops"].eq(counters["sops"] + 1)

        # ---- updater (section 4.3) ---------------------------------------------------------
        # Reads of neuron n issued in h+1+n for n < n_active; its operands come out of the
        # memories in h+2+n (the consumed accumulator is cleared then), go through the LIF
        # pipeline, and the new state and the spike are written in h+1+UPDATE_LATENCY+n.
        # A core holding no neuron has no update phase.
        upd_reading, upd_rd_n = Signal(), Signal(p.neuron_bits)
        upd_operand, upd_op_n = Signal(), Signal(p.neuron_bits)
        with m.If(self.tick_start):
            m.d.sync += [upd_reading.eq(n_active != 0), upd_rd_n.eq(0)]
        with m.Elif(upd_reading):
            m.d.sync += upd_rd_n.eq(upd_rd_n + 1)
            with m.If(upd_rd_n == n_active - 1):
                m.d.sync += upd_reading.eq(0)
        m.d.sync += [upd_operand.eq(upd_reading), upd_op_n.eq(upd_rd_n)]
        for name in ("param0", "param1", "state0", "state1"):
            m.d.comb += rd[name].addr.eq(upd_rd_n)

        m.submodules.lif = lif = LifDatapath(p.acc_width, p.neuron_bits)
        prm0 = _fields(rd["param0"].data, spec.PARAM_WORDS[0])
        prm1 = _fields(rd["param1"].data, spec.PARAM_WORDS[1])
        st0 = _fields(rd["state0"].data, spec.STATE_WORDS[0])
        st1 = _fields(rd["state1"].data, spec.STATE_WORDS[1])
        m.d.comb += [
            lif.valid.eq(upd_operand), lif.tag.eq(upd_op_n),
            lif.du.eq(prm0["du"]), lif.dv.eq(prm0["dv"]), lif.bias_exp.eq(prm0["bias_exp"]),
            lif.refractory.eq(prm0["refractory"]), lif.reset.eq(prm0["reset"]),
            lif.vth.eq(prm1["vth"]), lif.bias_mant.eq(prm1["bias_mant"]),
            lif.u.eq(st0["u"]), lif.v.eq(st1["v"]), lif.r.eq(st1["r"]), lif.acc.eq(acc_data(False)),
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
                m.d.comb += [rd[name].addr.eq(walk_acc_addr),
                             wr[name].en.eq(s2_valid), wr[name].addr.eq(s2_target), wr[name].data.eq(walk_sum)]
            with m.Else():
                m.d.comb += [rd[name].addr.eq(upd_rd_n),
                             wr[name].en.eq(upd_operand), wr[name].addr.eq(upd_op_n), wr[name].data.eq(0)]

        # ---- spike queue (section 4.4): a FIFO of depth N with a look-ahead read --------------
        # The read port always reads the row that will be the head next cycle, and is
        # transparent to the write port, so an entry written in p is the head data in p+1.
        q_mem = Memory(shape=unsigned(p.neuron_bits), depth=n_neurons, init=[])
        m.submodules.spike_queue = q_mem
        q_wp = q_mem.write_port()
        q_rp = q_mem.read_port(transparent_for=(q_wp,))
        q_wr, q_rd = Signal(p.neuron_bits), Signal(p.neuron_bits)
        q_count = Signal(range(n_neurons + 1))
        q_pop = Signal()

        def q_next(ptr):
            return Mux(ptr == n_neurons - 1, 0, ptr + 1)

        m.d.comb += [q_wp.en.eq(fired), q_wp.addr.eq(q_wr), q_wp.data.eq(upd_wr_n),
                     q_rp.addr.eq(Mux(q_pop, q_next(q_rd), q_rd))]
        with m.If(fired):
            m.d.sync += q_wr.eq(q_next(q_wr))
        with m.If(q_pop):
            m.d.sync += q_rd.eq(q_next(q_rd))
        with m.If(fired & ~q_pop):
            m.d.sync += q_count.eq(q_count + 1)
        with m.Elif(q_pop & ~fired):
            m.d.sync += q_count.eq(q_count - 1)

        # ---- emitter: IDLE / LIST / EMIT (section 4.4) --------------------------------------
        E_IDLE, E_LIST, E_EMIT = 0, 1, 2
        emitter = Signal(2)
        em_ptr = Signal(spec.RLIST_WORD.field("ptr").width)
        em_left = Signal(spec.RLIST_WORD.field("len").width)
        rlist = layout["rlist"][1].fields(rd["rlist"].data)
        m.d.comb += [rd["rlist"].addr.eq(q_rp.data), rd["route"].addr.eq(em_ptr)]
        m.d.comb += [self.out.valid.eq(emitter == E_EMIT), self.out.payload.eq(rd["route"].data)]
        with m.Switch(emitter):
            with m.Case(E_IDLE):
                with m.If(q_count != 0):
                    m.d.comb += q_pop.eq(1)
                    m.d.sync += emitter.eq(E_LIST)
            with m.Case(E_LIST):
                with m.If(rlist["len"] == 0):
                    m.d.sync += emitter.eq(E_IDLE)
                with m.Else():
                    m.d.comb += rd["route"].addr.eq(rlist["ptr"])
                    m.d.sync += [em_ptr.eq(rlist["ptr"]), em_left.eq(rlist["len"]), emitter.eq(E_EMIT)]
            with m.Case(E_EMIT):
                # The route entry stays addressed (and so held on `out`) until it transfers.
                with m.If(self.out.ready):
                    m.d.sync += counters["flits_sent"].eq(counters["flits_sent"] + 1)
                    with m.If(em_left == 1):
                        m.d.sync += emitter.eq(E_IDLE)
                    with m.Else():
                        m.d.comb += rd["route"].addr.eq(em_ptr + 1)
                        m.d.sync += [em_ptr.eq(em_ptr + 1), em_left.eq(em_left - 1)]

        # ---- idle (section 4.5): registered state only --------------------------------------
        m.d.comb += self.idle.eq((walker == W_IDLE) & ~s1_valid & ~s2_valid & ~upd_reading & ~upd_operand & ~lif.busy
                                 & (q_count == 0) & (emitter == E_IDLE))

        # ---- configuration: writes and reads override the engines (only while idle) ----------
        rd_src = Signal(range(len(mems) + 2))  # 0: nothing (reads 0), 1..: a memory, last: a register
        cnt_value = Signal(spec.COUNTER_BITS)
        names = list(mems)
        for name in names:
            with m.If(hit[name]):
                m.d.comb += rd[name].addr.eq(cfg_row(name))
                with m.If(cfg.we):
                    m.d.comb += [wr[name].en.eq(1), wr[name].addr.eq(cfg_row(name)),
                                 wr[name].data.eq(layout[name][1].store(cfg.wdata))]
        m.d.sync += rd_src.eq(0)
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
        with m.Switch(rd_src):
            for i, name in enumerate(names):
                with m.Case(1 + i):
                    m.d.comb += cfg.rdata.eq(layout[name][1].load(rd[name].data))
            with m.Case(len(names) + 1):
                m.d.comb += cfg.rdata.eq(cnt_value)
        return m
