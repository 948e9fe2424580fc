"""RTL co-simulation: the chip's Verilog under Verilator, driven from Python by cocotb.

- `simulator`: Verilator builds (cached by Verilog text) and cocotb test runs;
- `drivers`: cocotb drivers and monitors for the chip's ports (one per port, reused by every bench);
- `host`: the cocotb test module that runs the standard host (docs/architecture.md section 7);
- `engine`: `run(...)`, the RTL engine behind `neuromesh run --engine rtl` and the regression;
- `uart`: a Python 8N1 line on a design's UART pins and a board-link transport over it (the
  board bridge's tests run the board engine's host code through it).
"""
