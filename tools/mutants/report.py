"""`report.md` (for a person) and `report.json` (for a program), written together and whole
(`neuromesh.outputs.Outputs`): the score, per component and per category, the survivors with
why each is equivalent (or that no one has said yet), the mutants that no longer apply, and one
row per mutant."""
from __future__ import annotations

import json
from pathlib import Path

from neuromesh.outputs import Outputs

from .catalogue import CATEGORIES
from .runner import ERROR, KILLED, NOT_APPLIED, STATUSES, SURVIVED, TIMEOUT

TARGETS = {"hw": "RTL (hw/)", "sim": "golden model (sim/)"}


def counts(records) -> dict:
    c = dict.fromkeys(STATUSES, 0)
    for r in records:
        c[r["status"]] += 1
    judged = c[KILLED] + c[TIMEOUT] + c[SURVIVED]
    c["judged"] = judged
    c["score_pct"] = round(100.0 * (c[KILLED] + c[TIMEOUT]) / judged, 1) if judged else None
    explained = sum(1 for r in records if r["status"] == SURVIVED and r.get("explanation"))
    c["explained_survivors"] = explained
    rest = judged - explained
    c["score_without_equivalents_pct"] = round(100.0 * (c[KILLED] + c[TIMEOUT]) / rest, 1) if rest else None
    return c


def _group(records, key) -> dict:
    out = {}
    for r in records:
        out.setdefault(key(r), []).append(r)
    return out


def summary(records) -> dict:
    return {target: {"all": counts(rs), "by_component": {k: counts(v) for k, v in _group(rs, lambda r: r["component"]).items()},
                     "by_category": {k: counts(v) for k, v in _group(rs, lambda r: r["category"]).items()}}
            for target, rs in _group(records, lambda r: r["target"]).items()}


def _pct(c) -> str:
    return "-" if c["score_pct"] is None else f"{c['score_pct']:.1f}%"


def _score_line(c) -> str:
    line = (f"**{c[KILLED] + c[TIMEOUT]} of {c['judged']} killed ({_pct(c)})**"
            f" ({c[KILLED]} by a failing test, {c[TIMEOUT]} by the time limit), {c[SURVIVED]} survived")
    if c["explained_survivors"]:
        line += f" ({c['explained_survivors']} explained as equivalent: {c['score_without_equivalents_pct']:.1f}% of the others killed)"
    if c[NOT_APPLIED] or c[ERROR]:
        line += f"; {c[NOT_APPLIED]} no longer apply, {c[ERROR]} errors"
    return line


def _table(rows, header) -> list:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(x).replace("|", "\\|") for x in row) + " |" for row in rows]
    return out


def _count_rows(groups: dict) -> list:
    return [[name, c["judged"] + c[NOT_APPLIED] + c[ERROR], c[KILLED], c[TIMEOUT], c[SURVIVED], c[NOT_APPLIED],
             c[ERROR], _pct(c)] for name, c in groups.items()]


def _code(text: str) -> str:
    one = " ⏎ ".join(line.strip() for line in text.strip().splitlines())
    return f"`{one}`" if "`" not in one else f"``{one}``"


def markdown(report: dict) -> str:
    records = report["mutants"]
    lines = ["# Mutation testing of the regression", "",
             f"Command: `{report['command']}`  ", f"Source: {report['source']}  ",
             f"Started {report['started']}, wall time {report['wall_s'] / 60:.1f} min"
             f"{', ' + str(report['jobs']) + ' mutants at a time' if report.get('jobs', 1) > 1 else ''}"
             f"{' (INTERRUPTED: ' + report['interrupted'] + ')' if report.get('interrupted') else ''}.", ""]
    not_run = report.get("not_run") or []
    if not_run:
        lines += [f"**{len(not_run)} of {report.get('selected', len(records) + len(not_run))} selected mutants did "
                  f"not run**: the scores below are over the {len(records)} that did "
                  "(`--resume` with the same `--out` runs the rest).", ""]
    base = report.get("baseline")
    if base:
        lines += [f"Baseline (the unmutated source): {base['status']}, {base['detail']}, {base['seconds']:.0f} s.", ""]
    if report.get("timeout_s"):
        lines += [f"Each mutant is bounded by {report['timeout_s']:g} s of wall time (beyond the benches' own cycle "
                  "bounds); a mutant stopped there counts as killed by the timeout: read its log.", ""]
    lines += ["Statuses: **killed** (a test failed; the first one is named), **timeout** (killed by the "
              "wall-clock limit), **survived** (every test passed), **no-longer-applies** (the snippet is no "
              "longer exactly once in the file: update the mutant), **error** (the run itself failed).", ""]
    groups = report["summary"]
    for target, title in TARGETS.items():
        if target not in groups:
            continue
        g = groups[target]
        lines += [f"## {title}", "", "Score: " + _score_line(g["all"]), ""]
        lines += _table(_count_rows(dict(sorted(g["by_component"].items()))),
                        ["component", "mutants", "killed", "timeout", "survived", "n/a", "error", "score"]) + [""]
        lines += _table(_count_rows(dict(sorted(g["by_category"].items()))),
                        ["category", "mutants", "killed", "timeout", "survived", "n/a", "error", "score"]) + [""]
    survivors = [r for r in records if r["status"] == SURVIVED]
    lines += ["## Survivors", ""]
    if not survivors:
        lines += ["None.", ""]
    for r in survivors:
        why = r.get("explanation") or "**NOT EXPLAINED**: kill it with a test, or say why it is equivalent in tools/mutants/equivalent.toml"
        lines += [f"- `{r['id']}` ({r['file']}:{r['line']}, {r['category']}): {r['what']}. {why}"]
    stale = [r for r in records if r["status"] in (KILLED, TIMEOUT) and r.get("explanation")]
    if stale:
        lines += ["", "Explained as equivalent but killed (the explanation is stale): "
                  + ", ".join(f"`{r['id']}`" for r in stale)]
    lines += [""]
    other = [r for r in records if r["status"] in (NOT_APPLIED, ERROR)]
    if other or not_run:
        lines += ["## Not run", ""] + [f"- `{r['id']}` ({r['status']}): {r['detail']}" for r in other]
        if not_run:
            lines += ["- not reached: " + ", ".join(f"`{i}`" for i in not_run)]
        lines += [""]
    lines += ["## Every mutant", ""]
    rows = [[f"`{r['id']}`", f"{r['file']}:{r['line'] or '?'}", r["category"], r["what"],
             f"{_code(r['old'])} → {_code(r['new'])}", r["status"],
             f"`{r['killer']}`" if r.get("killer") else "", f"{r['seconds']:.0f} s"] for r in records]
    lines += _table(rows, ["id", "where", "category", "what it changes", "edit", "status", "killed by", "time"])
    lines += ["", "Categories: " + "; ".join(f"**{k}**: {v}" for k, v in CATEGORIES.items()) + "."]
    return "\n".join(lines) + "\n"


def write(out: Path, report: dict) -> None:
    """report.json and report.md in `out`, both or neither."""
    report = dict(report, summary=summary(report["mutants"]))
    text_json = json.dumps(report, indent=1)
    text_md = markdown(report)
    with Outputs() as o:
        o.write_text(Path(out) / "report.json", text_json + "\n")
        o.write_text(Path(out) / "report.md", text_md)
