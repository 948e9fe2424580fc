"""Formal proofs of the mesh router and the asynchronous link (`make formal`; docs/formal.md
says what is proved and how).

- `harness.py`: the free environment around one `hw.router.Router`, emitted as RTLIL;
- `properties.py`: the router's properties (checks on the ports, lemmas for induction, covers);
- `link_harness.py`, `link_properties.py`: the same for one `hw.async_link.AsyncLink` over two
  free clocks (sby `multiclock on`);
- `reference.py`: SPEC routing rules as Amaranth expressions, to judge the router by;
- `probes.py`: white-box access to the elaborated router and link, for the lemmas;
- `jobs.py`: configurations x properties, with mode and depth; the known failures;
- `sby.py`: tools, the .sby file, running sby and reading its verdict;
- `mutants.py`: broken routers and links that the properties must catch;
- `trace.py`, `report.py`, `run.py`: counterexamples as text, report.md, the command line.
"""
