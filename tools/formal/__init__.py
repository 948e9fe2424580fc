"""Formal proofs of the mesh router (`make formal`; docs/formal.md says what is proved and how).

- `harness.py`: the free environment around one `hw.router.Router`, emitted as RTLIL;
- `properties.py`: the properties (checks on the ports, lemmas for induction, covers);
- `reference.py`: SPEC routing rules as Amaranth expressions, to judge the router by;
- `probes.py`: white-box access to the elaborated router, for the lemmas;
- `jobs.py`: configurations x properties, with mode and depth; the known failures;
- `sby.py`: tools, the .sby file, running sby and reading its verdict;
- `mutants.py`: broken routers that the properties must catch;
- `trace.py`, `report.py`, `run.py`: counterexamples as text, report.md, the command line.
"""
