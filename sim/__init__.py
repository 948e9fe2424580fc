"""The golden model: a cycle-accurate Python twin of the RTL (docs/golden-model.md).

`engine.run(params, writes, tick_inputs, host)` is the entry point; `mesh.Chip` is the chip
(also a configuration transport), `mesh.TrafficMesh` the router mesh alone for benchmarks.
"""
