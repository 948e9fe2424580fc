"""Mutation testing of the regression (`make mutants`; docs/mutants.md says how to read it).

- `hw.toml`, `sim.toml`: the mutants of the RTL and of the golden model (a snippet that must
  occur once in its file, its replacement, a category, what the bug is);
- `edit.py`: apply an edit exactly once (shared with `tools/formal/mutants.py`);
- `catalogue.py`: read and check the lists, and where each edit applies to the source now;
- `regression.py`: the fast regression, ordered per component so the cheapest test that
  exercises the mutated file runs first;
- `shadow.py`: a copy of the package with one file mutated, put first on the child's path;
  `guard.py`: the pytest plugin that proves, in the child, that the mutated file is imported;
- `probe.py`: the mutated module imported and elaborated first (a mutant that does not
  elaborate is an error, not a kill);
- `runner.py`: one mutant in a child process with a wall-clock bound and its own model cache;
- `report.py`, `run.py`: report.md and report.json, the command line.
"""
