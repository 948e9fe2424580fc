"""The SPEC section 3 neuron update as one combinational block.

The updater (hw/neuron_core.py) feeds it a neuron's parameters, state and accumulator in the
cycle after it issued their reads, and writes its outputs back in the same cycle
(docs/architecture.md section 4.3). Every width comes from `neuromesh.spec`.
"""
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec

SAT_MAX = (1 << (spec.ACC_SAT_BITS - 1)) - 1
SAT_MIN = -(1 << (spec.ACC_SAT_BITS - 1))


def _dec(m: Module, x, k, name: str):
    """dec(x, k) = sign(x*k) * (|x*k| >> 12): the exact product, rounded toward zero.
    An arithmetic shift rounds toward minus infinity, so a negative product is first biased by
    2^12 - 1 (adding the bias and shifting is the same as negating, shifting, negating)."""
    prod = Signal(signed(len(x) + len(k) + 1), name=f"{name}_prod")
    m.d.comb += prod.eq(x * k)
    biased = Mux(prod < 0, prod + (spec.DECAY_ONE - 1), prod)
    out = Signal(signed(len(prod) - spec.DECAY_SHIFT), name=name)
    m.d.comb += out.eq(biased >> spec.DECAY_SHIFT)
    return out


class LifDatapath(wiring.Component):
    """u, v, r, acc and the parameters in; the next u, v, r and the spike out."""

    def __init__(self, acc_width: int):
        if not isinstance(acc_width, int) or acc_width < spec.ACC_SAT_BITS:
            raise ValueError(f"acc_width must be an integer >= {spec.ACC_SAT_BITS}, not {acc_width!r}")
        self.acc_width = acc_width
        sb = spec.STATE_BITS
        super().__init__({
            "du": In(spec.DU_BITS), "dv": In(spec.DV_BITS), "vth": In(spec.VTH_BITS),
            "bias_mant": In(signed(spec.BIAS_MANT_BITS)), "bias_exp": In(spec.BIAS_EXP_BITS),
            "refractory": In(spec.REFRACTORY_BITS), "reset": In(spec.RESET_BITS),
            "u": In(signed(sb)), "v": In(signed(sb)), "r": In(spec.REFRACTORY_BITS),
            "acc": In(signed(acc_width)),
            "u_next": Out(signed(sb)), "v_next": Out(signed(sb)), "r_next": Out(spec.REFRACTORY_BITS),
            "spike": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        sb = spec.STATE_BITS

        # a = sat16(acc)
        a = Signal(signed(spec.ACC_SAT_BITS))
        m.d.comb += a.eq(Mux(self.acc > SAT_MAX, SAT_MAX, Mux(self.acc < SAT_MIN, SAT_MIN, self.acc)))

        # u = wrap24(dec(u, 4096 - (du + 1)) + (a << 6)): the low 24 bits of the exact sum.
        ku = Signal(unsigned(spec.DU_BITS))
        m.d.comb += ku.eq(spec.DECAY_ONE - 1 - self.du)
        du_dec = _dec(m, self.u, ku, "u_dec")
        u_sum = Signal(signed(sb + 2))
        m.d.comb += [u_sum.eq(du_dec + (a << spec.INPUT_SHIFT)), self.u_next.eq(u_sum[:sb].as_signed())]

        # v = clipv(dec(v, 4096 - dv) + u + (bias_mant << bias_exp)), with the NEW u.
        kv = Signal(unsigned(spec.DV_BITS + 1))
        m.d.comb += kv.eq(spec.DECAY_ONE - self.dv)
        dv_dec = _dec(m, self.v, kv, "v_dec")
        bias = Signal(signed(spec.BIAS_MANT_BITS + (1 << spec.BIAS_EXP_BITS) - 1))
        m.d.comb += bias.eq(self.bias_mant << self.bias_exp)
        v_sum = Signal(signed(sb + 3))
        m.d.comb += v_sum.eq(dv_dec + self.u_next + bias)
        v_clip = Signal(signed(sb))
        m.d.comb += v_clip.eq(Mux(v_sum > spec.V_LIMIT, spec.V_LIMIT, Mux(v_sum < -spec.V_LIMIT, -spec.V_LIMIT, v_sum)))

        # Refractory first, then the threshold (compared with the unsigned vth << 6).
        theta = Signal(unsigned(spec.VTH_BITS + spec.VTH_SHIFT))
        m.d.comb += theta.eq(self.vth << spec.VTH_SHIFT)
        with m.If(self.r != 0):
            m.d.comb += [self.v_next.eq(0), self.r_next.eq(self.r - 1), self.spike.eq(0)]
        with m.Elif(v_clip > theta):
            m.d.comb += [self.spike.eq(1), self.r_next.eq(self.refractory),
                         self.v_next.eq(Mux(self.reset, v_clip - theta, 0))]
        with m.Else():
            m.d.comb += [self.v_next.eq(v_clip), self.r_next.eq(0), self.spike.eq(0)]
        return m
