"""FPGA synthesis and reports: `chip` (the whole chip, `make synth`), `core` (the neuron core alone)."""
