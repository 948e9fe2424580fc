"""An independent reference of SPEC section 3 (the LIF update), for tests only.

Written from the SPEC text with plain Python integers, deliberately without sharing code with
the RTL or the golden model: the constants are the SPEC's numbers, spelled out here.
"""


def dec(x: int, k: int) -> int:
    """sign(x * k) * (|x * k| >> 12)."""
    p = x * k
    mag = abs(p) >> 12
    return -mag if p < 0 else mag


def sat16(a: int) -> int:
    return max(-32768, min(32767, a))


def wrap24(x: int) -> int:
    x &= (1 << 24) - 1
    return x - (1 << 24) if x >> 23 else x


def clipv(x: int) -> int:
    lim = (1 << 23) - 1
    return max(-lim, min(lim, x))


def lif_step(prm: dict, u: int, v: int, r: int, acc: int) -> tuple[int, int, int, bool]:
    """One tick of one neuron: returns (u, v, r, spiked). `prm` has du, dv, vth, bias_mant,
    bias_exp, refractory, reset."""
    a = sat16(acc)
    u = wrap24(dec(u, 4096 - (prm["du"] + 1)) + a * 64)
    v = clipv(dec(v, 4096 - prm["dv"]) + u + prm["bias_mant"] * (1 << prm["bias_exp"]))
    spiked = False
    if r > 0:
        v, r = 0, r - 1
    elif v > prm["vth"] * 64:
        spiked = True
        r = prm["refractory"]
        v = 0 if prm["reset"] == 0 else v - prm["vth"] * 64
    return u, v, r, spiked

