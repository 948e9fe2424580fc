"""The handwritten-digits workload (docs/digits.md): `python -m neuromesh.tools.workloads.digits`.

- `model`: data, training, int8 quantisation, conversion to a spiking network, input codes;
- `net`: network and stimulus files, engine runs;
- `stream`: the streaming study (a digit held for F frames, delta-coded input, break-even);
- `report`: the report and its plots;
- `pipeline`: the whole pipeline and its command line.
"""
