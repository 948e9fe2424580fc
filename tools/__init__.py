"""Everything around the chip that is not the chip, one room each (docs/architecture.md section 1):

- `cli/`: the `neuromesh` command (argument parsing, one module per subcommand);
- `cosim/`: the RTL co-simulation engine (Verilator build cache, the cocotb standard host, the
  port drivers and monitors every bench reuses);
- `workloads/`: end-to-end workloads (`digits`);
- `synth/`: FPGA synthesis and its reports;
- `board/`: the chip on an FPGA board: the UART bridge's protocol, its host link and the
  `board` engine, bitstreams for the ULX3S and the iCEBreaker (docs/board.md);
- `formal/`: formal proofs of the router (`make formal`);
- `mutants/`: mutation testing of the regression: how much of the RTL and of the golden model
  it guards (`make mutants`, docs/mutants.md);
- `plots/`: the figures drawn from a result.
"""
