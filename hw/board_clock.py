"""The board's `sync` clock domain, from its oscillator through an ECP5 PLL (EHXPLLL) when the
chip cannot meet the oscillator's frequency (the ULX3S: 25 MHz oscillator, the default 2x2
chip routes at about 24 MHz, so the board top runs it at 20 MHz).

`ecp5_pll(f_in, f_out)` finds the dividers: f_out = f_in * CLKFB_DIV / CLKI_DIV exactly, the
phase detector at f_in / CLKI_DIV >= 3.125 MHz, the VCO at f_out * CLKOP_DIV within 400..800
MHz (LFE5U data sheet, sysCLOCK PLL; the same limits `ecppll` uses); among the exact solutions,
the VCO nearest 600 MHz. The domain is held in reset until the PLL reports lock (a
`ResetSynchronizer`, so reset is released on a clock edge).
"""
from amaranth.hdl import ClockDomain, Elaboratable, Instance, Module, Signal
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from neuromesh import spec

PFD_MIN_HZ = 3_125_000
VCO_MIN_HZ, VCO_MAX_HZ = 400_000_000, 800_000_000


def ecp5_pll(f_in: int, f_out: int) -> dict:
    """EHXPLLL dividers for `f_out` from `f_in` (Hz); refuses a frequency it cannot make exactly."""
    best = None
    for clki in range(1, 129):
        if f_in // clki < PFD_MIN_HZ:
            break
        for clkfb in range(1, 81):
            if f_in * clkfb != f_out * clki:
                continue
            for clkop in range(1, 129):
                vco = f_out * clkop
                if VCO_MIN_HZ <= vco <= VCO_MAX_HZ:
                    score = abs(vco - 600_000_000)
                    if best is None or score < best[0]:
                        best = (score, dict(CLKI_DIV=clki, CLKFB_DIV=clkfb, CLKOP_DIV=clkop, vco_hz=vco))
    if best is None:
        raise spec.ConfigError("clk_hz", f_out, f"an ECP5 PLL cannot make it exactly from {f_in} Hz")
    return best[1]


class BoardClock(Elaboratable):
    """Drives the clock and reset of `domain` (a `ClockDomain` its parent defines, so every
    module of the design sees it) at `clk_hz` from the platform's default clock through a PLL
    (ECP5 only)."""

    def __init__(self, domain: ClockDomain, clk_hz: int):
        self.domain, self.clk_hz = domain, clk_hz

    def elaborate(self, platform):
        m = Module()
        f_in = int(platform.default_clk_frequency)
        if platform.family != "ecp5":
            raise spec.ConfigError("clk_hz", self.clk_hz, f"a PLL is built here for ECP5 boards only, "
                                                          f"not {platform.family}")
        d = ecp5_pll(f_in, self.clk_hz)
        cd = self.domain
        clk_io = platform.request(platform.default_clk, dir="-")
        m.submodules.clk_buf = clk_buf = io.Buffer("i", clk_io)
        locked = Signal()
        mhz = lambda f: f"{f / 1e6:g}"
        m.submodules.pll = Instance(
            "EHXPLLL",
            # nextpnr reads the FREQUENCY_PIN attributes; the rest is what ecppll writes.
            a_FREQUENCY_PIN_CLKI=mhz(f_in), a_FREQUENCY_PIN_CLKOP=mhz(self.clk_hz),
            a_ICP_CURRENT="12", a_LPF_RESISTOR="8", a_MFG_ENABLE_FILTEROPAMP="1", a_MFG_GMCREF_SEL="2",
            p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
            p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_OUTDIVIDER_MUXB="DIVB",
            p_OUTDIVIDER_MUXC="DIVC", p_OUTDIVIDER_MUXD="DIVD",
            p_CLKI_DIV=d["CLKI_DIV"], p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=d["CLKOP_DIV"],
            p_CLKOP_CPHASE=d["CLKOP_DIV"] // 2, p_CLKOP_FPHASE=0, p_FEEDBK_PATH="CLKOP",
            p_CLKFB_DIV=d["CLKFB_DIV"],
            i_RST=0, i_STDBY=0, i_CLKI=clk_buf.i, o_CLKOP=cd.clk, i_CLKFB=cd.clk,
            i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1,
            i_PLLWAKESYNC=0, i_ENCLKOP=0, o_LOCK=locked)
        m.submodules.rst_sync = ResetSynchronizer(~locked, domain=cd.name)
        # No clock constraint here: nextpnr-ecp5 derives the output's (20 MHz) from the PLL's
        # dividers and the oscillator pin's constraint ("Input frequency of PLL 'clock.pll' is
        # constrained to 25.0 MHz"); one on `cd.clk` would name a net that synthesis renames.
        return m
