"""SPEC section 3 in the golden model, against numbers worked out by hand (the derivation of
each expected value is in the comment beside it)."""
import numpy as np
import pytest

from neuromesh import spec
from neuromesh.sim import lif
from neuromesh.sim.engine import run_chip
from neuromesh.sim.mesh import Chip

DEFAULTS = dict(du=0, dv=0, vth=0, bias_mant=0, bias_exp=0, refractory=0, reset=0)


def step(u, v, r, acc, **prm):
    """One tick of one neuron through the vectorised model."""
    p = {k: np.array([v_], dtype=np.int64) for k, v_ in {**DEFAULTS, **prm}.items()}
    ua, va, ra = (np.array([x], dtype=np.int64) for x in (u, v, r))
    fired = lif.update(p, ua, va, ra, np.array([acc], dtype=np.int64))
    return int(ua[0]), int(va[0]), int(ra[0]), bool(fired[0])


def test_integrate_and_fire():
    # du=4095: k_u = 0, so u = a << 6 = 5 * 64 = 320; dv=0: k_v = 4096, v = 0 + 320 = 320 > 1 << 6.
    assert step(0, 0, 0, 5, du=4095, vth=1, refractory=4) == (320, 0, 4, True)


def test_u_wraps_to_24_bits():
    # du=0: k = 4095. 8388607 * 4095 = 34351345665; >> 12 = 8386559.
    # acc 100000 saturates to 32767; << 6 = 2097088. 8386559 + 2097088 = 10483647 >= 2^23,
    # wrap24: 10483647 - 2^24 = -6293569.  v = 0 + u = -6293569, not above 0.
    assert step(8388607, 0, 0, 100000) == (-6293569, -6293569, 0, False)


def test_negative_decay_rounds_toward_zero():
    # u: -5 * (4096 - 2048) = -10240, |.| >> 12 = 2 -> -2 (floor would be -3).
    # v: -3 * (4096 - 1) = -12285, |.| >> 12 = 2 -> -2; bias -3 << 2 = -12; v = -2 + -2 - 12 = -16.
    assert step(-5, -3, 0, 0, du=2047, dv=1, bias_mant=-3, bias_exp=2) == (-2, -16, 0, False)
    # the same magnitudes, positive: 10240 >> 12 = 2, 12285 >> 12 = 2; v = 2 + 2 + 12 = 16 > 0.
    assert step(5, 3, 0, 0, du=2047, dv=1, bias_mant=3, bias_exp=2, vth=0) == (2, 0, 0, True)
    # -4095 * 4095 = -16769025; 16769025 >> 12 = 4094 -> -4094.
    assert step(-4095, 0, 0, 0)[0] == -4094


def test_v_clips_and_acc_saturates_negative():
    # a = sat16(-40000) = -32768; u = -32768 << 6 = -2097152 (du=4095: old u decays to 0).
    # v = -8000000 + -2097152 = -10097152 -> clipv -> -(2^23 - 1) = -8388607.
    assert step(0, -8000000, 0, -40000, du=4095) == (-2097152, -8388607, 0, False)


def test_clip_then_subtractive_reset():
    # u = 32767 << 6 = 2097088; v = 8000000 + 2097088 = 10097088 -> clipv -> 8388607.
    # vth 131071 << 6 = 8388544 < 8388607: spike; reset by subtraction: v = 63; r = refractory.
    assert step(0, 8000000, 0, 32767, du=4095, vth=131071, reset=1, refractory=3) == (2097088, 63, 3, True)


def test_subtractive_reset_and_threshold_equality():
    # bias 4095 << 7 = 524160; vth 8190 << 6 = 524160: equal is not above -> no spike.
    assert step(0, 0, 0, 0, du=4095, bias_mant=4095, bias_exp=7, vth=8190, reset=1) == (0, 524160, 0, False)
    # vth 8189 << 6 = 524096: spike, v = 524160 - 524096 = 64.
    assert step(0, 0, 0, 0, du=4095, bias_mant=4095, bias_exp=7, vth=8189, reset=1) == (0, 64, 0, True)


def test_bias_exponent_negative_mantissa():
    # -4096 << 7 = -524288.
    assert step(0, 0, 0, 0, du=4095, bias_mant=-4096, bias_exp=7) == (0, -524288, 0, False)


def test_sat16_positive_edge():
    # 32768 saturates to 32767: u = 32767 * 64 = 2097088; 32767 itself is not changed.
    assert step(0, 0, 0, 32768, du=4095, vth=131071)[0] == 2097088
    assert step(0, 0, 0, 32767, du=4095, vth=131071)[0] == 2097088
    assert step(0, 0, 0, 32766, du=4095, vth=131071)[0] == 32766 * 64


def test_refractory_countdown():
    # bias 100, vth 0, refractory 2: fire, then two silent ticks (v forced to 0, r 2 -> 1 -> 0),
    # then fire again.
    u, v, r = 0, 0, 0
    seen = []
    for _ in range(7):
        u, v, r, fired = step(u, v, r, 0, du=4095, dv=4095, bias_mant=100, refractory=2)
        seen.append((v, r, fired))
    assert seen == [(0, 2, True), (0, 1, False), (0, 0, False), (0, 2, True),
                    (0, 1, False), (0, 0, False), (0, 2, True)]


def test_update_through_the_chip_consumes_and_clears_the_slot():
    """Parameters, state and acc0 written over the transport; one tick; state read back."""
    params = spec.HwParams(width=1, height=1, neurons_per_core=4, axons_per_core=4,
                           synapses_per_core=8, routes_per_core=4)
    chip = Chip(params)
    w = chip.write
    # neuron 2: du 2047, dv 1, bias -3 << 2, u = -5, v = -3, acc0 = 7 (fill is 0 before tick 1).
    w(spec.tile_addr(0, 0, "param", 4), spec.PARAM_WORDS[0].pack(du=2047, dv=1, bias_exp=2))
    w(spec.tile_addr(0, 0, "param", 5), spec.PARAM_WORDS[1].pack(vth=100, bias_mant=-3))
    w(spec.tile_addr(0, 0, "state", 4), spec.STATE_WORDS[0].pack(u=-5))
    w(spec.tile_addr(0, 0, "state", 5), spec.STATE_WORDS[1].pack(v=-3))
    w(spec.tile_addr(0, 0, "acc0", 2), spec.acc_word(params).pack(acc=7))
    w(spec.tile_addr(0, 0, "acc1", 2), spec.acc_word(params).pack(acc=1000))
    w(spec.tile_addr(0, 0, "active", 0), spec.ACTIVE_WORD.pack(count=3))   # neurons 0, 1, 2
    run_chip(chip, [[]])
    # u = dec(-5, 2048) + 7 * 64 = -2 + 448 = 446; v = dec(-3, 4095) + 446 - 12 = -2 + 434 = 432
    # (vth 100 << 6 = 6400: no spike).
    state0 = spec.STATE_WORDS[0].unpack(chip.read(spec.tile_addr(0, 0, "state", 4)))
    state1 = spec.STATE_WORDS[1].unpack(chip.read(spec.tile_addr(0, 0, "state", 5)))
    assert (state0["u"], state1["v"], state1["r"]) == (446, 432, 0)
    assert chip.read(spec.tile_addr(0, 0, "acc0", 2)) == 0  # consumed slot cleared
    assert spec.acc_word(params).unpack(chip.read(spec.tile_addr(0, 0, "acc1", 2)))["acc"] == 1000
    status = spec.CHIP_STATUS_WORD.unpack(chip.read(spec.chip_addr("status")))
    assert status == {"busy": 0, "parity": 1}


@pytest.mark.parametrize("acc, expected_a", [(1 << 20, 32767), (-(1 << 20), -32768)])
def test_acc_slot_holds_sums_beyond_sat16(acc, expected_a):
    params = spec.HwParams(width=1, height=1, neurons_per_core=1, axons_per_core=1,
                           synapses_per_core=64, routes_per_core=1)  # acc_width 22
    chip = Chip(params)
    chip.write(spec.tile_addr(0, 0, "param", 0), spec.PARAM_WORDS[0].pack(du=4095))
    chip.write(spec.tile_addr(0, 0, "param", 1), spec.PARAM_WORDS[1].pack(vth=131071))
    chip.write(spec.tile_addr(0, 0, "acc0", 0), spec.acc_word(params).pack(acc=acc))
    chip.write(spec.tile_addr(0, 0, "active", 0), spec.ACTIVE_WORD.pack(count=1))
    assert spec.acc_word(params).unpack(chip.read(spec.tile_addr(0, 0, "acc0", 0)))["acc"] == acc
    run_chip(chip, [[]])
    u = spec.STATE_WORDS[0].unpack(chip.read(spec.tile_addr(0, 0, "state", 0)))["u"]
    assert u == expected_a * 64
