"""A mutant's edit: replace a snippet that must occur exactly once in a source text.

Both mutation tools use it: `tools/formal/mutants.py` (a broken router compiled inside one
process) and this room's runner (a broken file in a copy of the package, for a child process).
A snippet that no longer occurs exactly once means the source changed under the mutant: it is
reported as such, never silently skipped, so a mutant can never test the unmutated design.
"""
from __future__ import annotations

from neuromesh.spec import NeuroMeshError


class EditError(NeuroMeshError):
    """The snippet occurs zero or several times: the edit does not apply to this source."""


def occurrences(source: str, old: str) -> int:
    return source.count(old) if old else 0


def apply_once(source: str, old: str, new: str, where: str) -> str:
    """`source` with its one occurrence of `old` replaced by `new`; `where` names the file (and
    the mutant) in the error."""
    count = occurrences(source, old)
    if count != 1:
        first = old.strip().splitlines()[0] if old.strip() else old
        raise EditError(f"{where}: the snippet {first!r}{' ...' if old.count(chr(10)) else ''} occurs "
                        f"{count} times, not once (the source changed: update the mutant)")
    if new == old:
        raise EditError(f"{where}: the replacement equals the snippet (no mutation)")
    return source.replace(old, new)


def line_of(source: str, old: str) -> int:
    """The 1-based line on which `old` starts (its first non-blank line)."""
    lead = len(old) - len(old.lstrip("\n"))
    return source[:source.index(old) + lead].count("\n") + 1
