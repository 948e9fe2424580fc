"""`python -P -m neuromesh.tools.mutants.probe MODULE` in a mutant's child environment: import the
mutated module and, for the RTL, elaborate a design that contains it (a 2x1 chip with two clock
domains, or the UART board chip for the board's files), in a few seconds.

A mutant that does not even elaborate (a name that does not exist, a width Amaranth refuses)
would fail every test for a reason that has nothing to do with the bug it plants; runner.py runs
this first and reports such a mutant as an error, never as killed.
"""
from __future__ import annotations

import importlib
import sys

BOARD_FILES = ("uart", "host_bridge", "uart_chip")


def elaborate(module: str) -> str:
    """Import `module` and, if it is an RTL module, convert a design holding it; what was done."""
    importlib.import_module(module)
    if not module.startswith("neuromesh.hw."):
        return f"imported {module}"
    from neuromesh import spec
    params = spec.HwParams(width=2, height=1, neurons_per_core=16, axons_per_core=16, synapses_per_core=64,
                           routes_per_core=32, fifo_depth=2)
    if module.rsplit(".", 1)[1] in BOARD_FILES:
        from neuromesh.hw.uart_chip import uart_chip_verilog
        text = uart_chip_verilog(params, clk_hz=1_000_000, baud=250_000)
    else:
        from neuromesh.hw.mesh import chip_verilog
        text = chip_verilog(params, partition=(0, 1))
    return f"elaborated {module} ({len(text.splitlines())} lines of Verilog)"


if __name__ == "__main__":
    print(elaborate(sys.argv[1]))
