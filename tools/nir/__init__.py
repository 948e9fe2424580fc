"""NIR (Neuromorphic Intermediate Representation, PyPI `nir` 1.0.x) in and out of NeuroMesh.

- `graph.py`: read a `.nir` file into a checked, flattened graph (node kinds, shapes, which edges
  carry last step's value);
- `ops.py`: the linear nodes (Affine, Linear, Scale, Flatten, Conv2d, pooling) as sparse matrices
  and as direct NumPy operations;
- `lower.py`: the graph as spiking populations joined by float projections;
- `quantise.py`: discretisation (forward Euler at `dt`) and quantisation into a network v2 file;
- `reference.py`: a float NumPy simulator of the NIR graph (forward Euler at `dt`);
- `compare.py`, `report.py`: the quantisation report (reference against chip, per layer);
- `importer.py`: `neuromesh import` end to end; `exporter.py`: `neuromesh export`.

docs/nir.md describes the rules.
"""
