"""The mutants: `hw.toml` (the RTL) and `sim.toml` (the golden model), read and checked here.

A mutant is (id, file, category, what, old, new): the one occurrence of `old` in `file` becomes
`new`. `applies(root)` says, for the source as it is now, whether each edit still applies
(exactly one occurrence) and on which line; a mutant whose snippet is gone or repeated is
reported "no longer applies", never run on an unmutated file.
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from neuromesh.spec import NeuroMeshError

from .edit import EditError, apply_once, line_of, occurrences

# The kinds of bug the issue names, and two more that the RTL invites.
CATEGORIES = {
    "operator": "an operator, operand or constant swapped for another",
    "off_by_one": "a constant or a comparison one off",
    "inverted": "a condition inverted",
    "stuck_handshake": "a valid or ready stuck, or a transfer that ignores the other side",
    "pipeline": "a pipeline register dropped or added (a stage, a synchronizer, a transparent read)",
    "rr_order": "the round-robin order swapped or frozen",
    "reset_value": "a register's reset value wrong",
    "saturation": "a saturation or clip missing",
    "wiring": "a signal taken from the wrong source or left out of an expression",
    "dropped_update": "an update that never happens (a counter or flag that does not move)",
}
LISTS = {"hw": "hw.toml", "sim": "sim.toml"}
EQUIVALENT = "equivalent.toml"
FIELDS = ("id", "file", "category", "what", "old", "new")


class CatalogueError(NeuroMeshError):
    pass


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str          # relative to the repository: hw/router.py
    category: str
    what: str
    old: str
    new: str
    target: str        # "hw" or "sim"

    @property
    def component(self) -> str:
        """The file's stem: router, fifo, neuron_core, ... (the report groups by it)."""
        return Path(self.file).stem

    @property
    def module(self) -> str:
        """The module the file is, as the package imports it: neuromesh.hw.router."""
        return "neuromesh." + self.file[:-len(".py")].replace("/", ".")

    def mutated(self, source: str) -> str:
        return apply_once(source, self.old, self.new, f"{self.file} (mutant {self.id})")

    def as_dict(self) -> dict:
        return asdict(self)


def parse(text: str, target: str, where: str) -> list:
    """The mutants of one list file; every entry checked (one line per problem)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise CatalogueError(f"{where}: not valid TOML: {e}") from None
    entries = data.get("mutant")
    if set(data) != {"mutant"} or not isinstance(entries, list):
        raise CatalogueError(f"{where}: expected only [[mutant]] tables")
    out, seen = [], set()
    for n, entry in enumerate(entries, 1):
        label = f"{where}: mutant {n} ({entry.get('id', 'no id')})"
        if set(entry) != set(FIELDS):
            missing, extra = set(FIELDS) - set(entry), set(entry) - set(FIELDS)
            raise CatalogueError(f"{label}: fields must be {', '.join(FIELDS)}"
                                 f"{'; missing ' + ', '.join(sorted(missing)) if missing else ''}"
                                 f"{'; unknown ' + ', '.join(sorted(extra)) if extra else ''}")
        if not all(isinstance(entry[f], str) and entry[f] for f in FIELDS):
            raise CatalogueError(f"{label}: every field must be a non-empty string")
        if entry["id"] in seen:
            raise CatalogueError(f"{label}: id {entry['id']!r} used twice")
        if entry["category"] not in CATEGORIES:
            raise CatalogueError(f"{label}: category {entry['category']!r} unknown "
                                 f"(known: {', '.join(CATEGORIES)})")
        if not (entry["file"].startswith(f"{target}/") and entry["file"].endswith(".py")):
            raise CatalogueError(f"{label}: file {entry['file']!r} must be a .py file under {target}/")
        if entry["old"] == entry["new"]:
            raise CatalogueError(f"{label}: `new` equals `old` (no mutation)")
        seen.add(entry["id"])
        out.append(Mutant(target=target, **entry))
    return out


def load(targets=("hw", "sim")) -> list:
    """Every mutant of the given lists, in list order (hw first)."""
    out = []
    for target in targets:
        name = LISTS[target]
        text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
        out += parse(text, target, f"tools/mutants/{name}")
    ids = [m.id for m in out]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise CatalogueError(f"tools/mutants: ids used in both lists: {', '.join(dup)}")
    return out


def explanations(known_ids) -> dict:
    """{mutant id: why it is equivalent} from equivalent.toml (ids checked against the lists)."""
    where = f"tools/mutants/{EQUIVALENT}"
    try:
        data = tomllib.loads(resources.files(__package__).joinpath(EQUIVALENT).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise CatalogueError(f"{where}: not valid TOML: {e}") from None
    table = data.get("equivalent", {})
    if set(data) - {"equivalent"} or not isinstance(table, dict):
        raise CatalogueError(f"{where}: expected only an [equivalent] table")
    for mid, why in table.items():
        if mid not in known_ids:
            raise CatalogueError(f"{where}: {mid!r} is not a mutant id")
        if not isinstance(why, str) or not why.strip():
            raise CatalogueError(f"{where}: {mid}: the reason must be a non-empty string")
    return dict(table)


@dataclass(frozen=True)
class Applicability:
    mutant: Mutant
    line: int | None     # where `old` starts, if it applies
    problem: str | None  # why it does not apply

    @property
    def ok(self) -> bool:
        return self.problem is None


def applies(mutants, root: Path) -> list:
    """For the sources under `root` as they are now: where each edit applies, or why not."""
    out, texts = [], {}
    for mu in mutants:
        path = Path(root) / mu.file
        if mu.file not in texts:
            texts[mu.file] = path.read_text(encoding="utf-8") if path.exists() else None
        source = texts[mu.file]
        if source is None:
            out.append(Applicability(mu, None, f"{mu.file} does not exist"))
            continue
        try:
            mu.mutated(source)
        except EditError as e:
            out.append(Applicability(mu, None, str(e)))
            continue
        out.append(Applicability(mu, line_of(source, mu.old), None))
    return out


def count_in(source: str, mu: Mutant) -> int:
    return occurrences(source, mu.old)
