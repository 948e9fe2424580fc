"""The SPEC section 3 neuron update as a pipeline of registered stages, one neuron per cycle.

The updater (hw/neuron_core.py) feeds it a neuron's parameters, state and accumulator from the
registers its memory reads land in (the operand cycle, two cycles after the reads); the results
come out `STAGES` cycles later, combinationally from the last stage's registers, in the cycle
the core writes them back (docs/architecture.md section 4.3 fixes the cycle of each step;
`spec.UPDATE_LATENCY` counts from the reads). Every width comes from `neuromesh.spec`.

Why these cuts (measured with nextpnr: the one-cycle update was the critical path on the iCE40
and the ECP5, docs/fpga.md): every stage holds at most one carry chain plus a little logic, and
the two products have a stage of their own with registers on both sides, so that they map to the
FPGA's multipliers (ECP5 MULT18X18D, iCE40 UltraPlus SB_MAC16) or, on an iCE40 HX, to a LUT
array that has a whole cycle.

    stage 1 (operand cycle): a = sat16(acc), the decay factors, the bias       -> registers
    stage 2: the two products u * ku, v * kv                                    -> registers
    stage 3: u = wrap24(dec(u*ku) + (a << 6)), w = dec(v*kv) + bias             -> registers
    stage 4: v = clipv(w + u), and whether v > vth << 6                         -> registers
    output (write-back cycle): refractory, reset, spike

The threshold compare sits in stage 4, beside the clip, on the unclipped sum: clipv(x) > T
exactly when x > T, for every threshold T = vth << 6 (0 <= T <= (2^17 - 1) << 6 < V_LIMIT). In
the output cycle it was a 24-bit compare feeding the spike queue's count and pointers (the ECP5
2 x 2's critical path, docs/fpga.md); now the spike is a flip-flop and the refractory test.
"""
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec

SAT_MAX = (1 << (spec.ACC_SAT_BITS - 1)) - 1
SAT_MIN = -(1 << (spec.ACC_SAT_BITS - 1))
# Register stages between the operands and the write-back (hw/neuron_core.py adds the read and
# the registered words: spec.UPDATE_LATENCY).
STAGES = 4
# The stage-4 threshold compare reads the unclipped sum; that equals comparing clipv's result
# only while every threshold lies below the clip limit (see the top).
assert ((1 << spec.VTH_BITS) - 1) << spec.VTH_SHIFT < spec.V_LIMIT


def _dec(m: Module, prod, name: str):
    """dec(x, k) from the exact product x*k: sign(x*k) * (|x*k| >> 12), rounding toward zero.
    An arithmetic shift rounds toward minus infinity; a negative product whose low 12 bits are
    not all zero needs one more (the same as biasing it by 2^12 - 1 before the shift), which is
    a carry-in rather than a second wide adder."""
    high = prod[spec.DECAY_SHIFT:].as_signed()
    round_up = Signal(name=f"{name}_round")
    m.d.comb += round_up.eq(prod[-1] & (prod[:spec.DECAY_SHIFT] != 0))
    return high, round_up


class LifDatapath(wiring.Component):
    """`valid`, `tag` (the neuron index) and the operands in, in the operand cycle; `STAGES`
    cycles later `out_valid`, `out_tag`, the next u, v, r and the spike. `busy` is high while a
    neuron is in a stage (registered state only)."""

    def __init__(self, acc_width: int, tag_width: int = 1):
        if not isinstance(acc_width, int) or acc_width < spec.ACC_SAT_BITS:
            raise ValueError(f"acc_width must be an integer >= {spec.ACC_SAT_BITS}, not {acc_width!r}")
        if not isinstance(tag_width, int) or tag_width < 1:
            raise ValueError(f"tag_width must be a positive integer, not {tag_width!r}")
        self.acc_width = acc_width
        sb = spec.STATE_BITS
        super().__init__({
            "valid": In(1), "tag": In(tag_width),
            "du": In(spec.DU_BITS), "dv": In(spec.DV_BITS), "vth": In(spec.VTH_BITS),
            "bias_mant": In(signed(spec.BIAS_MANT_BITS)), "bias_exp": In(spec.BIAS_EXP_BITS),
            "refractory": In(spec.REFRACTORY_BITS), "reset": In(spec.RESET_BITS),
            "u": In(signed(sb)), "v": In(signed(sb)), "r": In(spec.REFRACTORY_BITS),
            "acc": In(signed(acc_width)),
            "out_valid": Out(1), "out_tag": Out(tag_width),
            "u_next": Out(signed(sb)), "v_next": Out(signed(sb)), "r_next": Out(spec.REFRACTORY_BITS),
            "spike": Out(1), "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        sb = spec.STATE_BITS
        tag_width = len(self.tag)

        def stage(n):
            """The registers that every stage carries: valid, tag, and the fields the last stage
            needs (r, refractory, reset, vth)."""
            return {"valid": Signal(name=f"s{n}_valid"), "tag": Signal(tag_width, name=f"s{n}_tag"),
                    "r": Signal(spec.REFRACTORY_BITS, name=f"s{n}_r"),
                    "refractory": Signal(spec.REFRACTORY_BITS, name=f"s{n}_refractory"),
                    "reset": Signal(name=f"s{n}_reset"), "vth": Signal(spec.VTH_BITS, name=f"s{n}_vth")}

        s = [None] + [stage(n) for n in range(1, STAGES + 1)]
        first = {"valid": self.valid, "tag": self.tag, "r": self.r, "refractory": self.refractory,
                 "reset": self.reset, "vth": self.vth}
        for n in range(1, STAGES + 1):
            prev = first if n == 1 else s[n - 1]
            m.d.sync += [s[n][k].eq(prev[k]) for k in s[n]]

        # ---- stage 1: a = sat16(acc); ku = 4096 - (du + 1) = ~du (12 bits); kv = 4096 - dv;
        # the bias. Inputs straight from the memories' read ports.
        a1 = Signal(signed(spec.ACC_SAT_BITS))
        m.d.sync += a1.eq(Mux(self.acc > SAT_MAX, SAT_MAX, Mux(self.acc < SAT_MIN, SAT_MIN, self.acc)))
        u1, v1 = Signal(signed(sb)), Signal(signed(sb))
        ku1 = Signal(unsigned(spec.DU_BITS))
        kv1 = Signal(unsigned(spec.DV_BITS + 1))
        bias1 = Signal(signed(spec.BIAS_MANT_BITS + (1 << spec.BIAS_EXP_BITS) - 1))
        m.d.sync += [u1.eq(self.u), v1.eq(self.v), ku1.eq(spec.DECAY_ONE - 1 - self.du),
                     kv1.eq(spec.DECAY_ONE - self.dv), bias1.eq(self.bias_mant << self.bias_exp)]

        # ---- stage 2: the exact products (24 x 12 and 24 x 13 bits), registered on both sides.
        pu2 = Signal(signed(sb + spec.DU_BITS + 1))
        pv2 = Signal(signed(sb + spec.DV_BITS + 2))
        a2, bias2 = Signal.like(a1), Signal.like(bias1)
        m.d.sync += [pu2.eq(u1 * ku1), pv2.eq(v1 * kv1), a2.eq(a1), bias2.eq(bias1)]

        # ---- stage 3: u = wrap24(dec(u, ku) + (a << 6)): the low 24 bits of the exact sum;
        # w = dec(v, kv) + bias.
        hu, ru = _dec(m, pu2, "u_dec")
        hv, rv = _dec(m, pv2, "v_dec")
        u3 = Signal(signed(sb))
        w3 = Signal(signed(sb + 2))
        m.d.sync += [u3.eq((hu + (a2 << spec.INPUT_SHIFT) + ru)[:sb]), w3.eq(hv + bias2 + rv)]

        # ---- stage 4: v = clipv(w + u), with the NEW u; above4 = v > vth << 6 (see the top).
        v_sum = Signal(signed(sb + 3))
        m.d.comb += v_sum.eq(w3 + u3)
        u4, v4 = Signal(signed(sb)), Signal(signed(sb))
        above4 = Signal()
        m.d.sync += [u4.eq(u3),
                     v4.eq(Mux(v_sum > spec.V_LIMIT, spec.V_LIMIT, Mux(v_sum < -spec.V_LIMIT, -spec.V_LIMIT, v_sum))),
                     above4.eq(v_sum > (s[3]["vth"] << spec.VTH_SHIFT))]

        # ---- output: refractory first, then the threshold (compared in stage 4).
        last = s[STAGES]
        theta = Signal(unsigned(spec.VTH_BITS + spec.VTH_SHIFT))
        m.d.comb += theta.eq(last["vth"] << spec.VTH_SHIFT)
        m.d.comb += [self.out_valid.eq(last["valid"]), self.out_tag.eq(last["tag"]), self.u_next.eq(u4)]
        with m.If(last["r"] != 0):
            m.d.comb += [self.v_next.eq(0), self.r_next.eq(last["r"] - 1), self.spike.eq(0)]
        with m.Elif(above4):
            m.d.comb += [self.spike.eq(1), self.r_next.eq(last["refractory"]),
                         self.v_next.eq(Mux(last["reset"], v4 - theta, 0))]
        with m.Else():
            m.d.comb += [self.v_next.eq(v4), self.r_next.eq(0), self.spike.eq(0)]

        busy = 0
        for n in range(1, STAGES + 1):
            busy = busy | s[n]["valid"]
        m.d.comb += self.busy.eq(busy)
        return m
