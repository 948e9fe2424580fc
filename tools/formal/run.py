"""`python -m neuromesh.tools.formal [--quick] [--out build/formal]` (`make formal`): build the
harness of each job (a router, or an asynchronous link over two clocks), run sby, and write
`report.md` and `report.json` in the output folder.

Exit status: 0 when every job ended as expected (proved; known failures failed; every cover
reached), 1 when one did not, 2 for bad options or missing tools (one line, no traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from neuromesh.spec import NeuroMeshError

from . import jobs as jobs_mod
from .harness import RouterHarness
from .jobs import ALL_CONFIGS, QUICK_CONFIGS, Job
from .link_harness import LinkHarness
from .link_properties import LINK_PROPERTIES
from .mutants import MUTANTS, MutantError, mutant_class, mutant_link, mutant_router
from .probes import ProbeError
from .properties import PROPERTIES
from .report import Result, write_report
from .sby import find_tools, run as run_sby
from .trace import render, render_link


def harness_of(job: Job) -> RouterHarness | LinkHarness:
    c = job.config
    if c.kind == "link":
        gaps = (c.gap_a, c.gap_b)
        if job.prop == "cover":      # every property's covers, clocks toggling, ready free
            return LinkHarness(list(LINK_PROPERTIES), gaps, covers_only=True)
        return LinkHarness([job.prop], gaps, lemmas=job.mode == "prove",
                           link_class=mutant_link(job.mutant) if job.mutant else None)
    stream_inputs = not job.free_inputs
    if job.prop == "cover":
        # Every property's covers at once, in the plain environment (so none whose builder
        # narrows it, like fairness_cycles' ready assumption).
        props = [name for name, p in PROPERTIES.items() if not p.assumption]
        return RouterHarness(c.params, c.x, c.y, props, covers_only=True, stream_inputs=stream_inputs)
    return RouterHarness(c.params, c.x, c.y, [job.prop], lemmas=job.mode == "prove", stream_inputs=stream_inputs,
                         router_class=mutant_router(job.mutant) if job.mutant else None)


def _short(src: str) -> str:
    """A `path:line` source location, relative to the repository when it lies inside it."""
    root = Path(__file__).resolve().parents[2]
    path, _, line = src.rpartition(":")
    try:
        return f"{Path(path).resolve().relative_to(root)}:{line}"
    except ValueError:
        return src


_ELABORATION = threading.Lock()     # Amaranth elaboration, one at a time (--jobs runs threads)


def run_job(job: Job, out: Path, timeout: float = 900) -> Result:
    """Run one job in `out/<config>/<property>/` and judge it against what the table expects."""
    workdir = out / job.name
    with _ELABORATION:
        rtlil = harness_of(job).rtlil()
    outcome = run_sby(workdir, rtlil, job.mode, job.depth, multiclock=job.config.multiclock, timeout=timeout)
    for vcd in outcome.traces:
        path = Path(vcd)
        if path.exists():
            phase = "induction" if path.stem.endswith("_induct") else "basecase"
            failed = [f"failed: {name} ({_short(src)}){f' at step {step}' if step is not None else ''}"
                      for name, src, step, in_phase in outcome.failures if in_phase == phase]
            text = (render_link if job.config.kind == "link" else render)(path, from_reset=phase == "basecase")
            path.with_suffix(".txt").write_text(text + "".join(line + "\n" for line in failed))
    return Result(job, outcome)


PROG = "python -m neuromesh.tools.formal"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """Bad options: one line and exit status 2 (argparse alone adds a usage line)."""
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def _parse(argv):
    ap = _Parser(prog=PROG,
                 description="Formal proofs of the mesh router and the asynchronous link (docs/formal.md).")
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_CONFIGS)}, no covers")
    ap.add_argument("--out", default="build/formal", help="output folder (default build/formal)")
    ap.add_argument("--config", action="append", default=[], metavar="NAME",
                    help=f"configurations to run (default all: {', '.join(ALL_CONFIGS)})")
    ap.add_argument("--property", action="append", default=[], metavar="NAME",
                    help=f"properties to run (default all; router: {', '.join(PROPERTIES)}; "
                         f"link: {', '.join(LINK_PROPERTIES)})")
    ap.add_argument("--mutant", metavar="NAME",
                    help=f"run against a broken router or link instead ({', '.join(MUTANTS)}); its "
                         "property should fail")
    ap.add_argument("--no-cover", action="store_true", help="skip the cover (reachability) jobs")
    ap.add_argument("--free-inputs", action="store_true",
                    help="drop the router's upstream stream-rule assumption (inputs may withdraw or change a flit)")
    ap.add_argument("--jobs", type=int, default=1, help="sby runs at a time (each uses up to 2 processes)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per job before it counts as TIMEOUT")
    ap.add_argument("--list", action="store_true", help="list the jobs and exit")
    args = ap.parse_args(argv)
    for name in args.config:
        if name not in ALL_CONFIGS:
            ap.error(f"--config {name}: unknown (known: {', '.join(ALL_CONFIGS)})")
    for name in args.property:
        if name not in PROPERTIES and name not in LINK_PROPERTIES:
            ap.error(f"--property {name}: unknown (known: {', '.join(dict.fromkeys([*PROPERTIES, *LINK_PROPERTIES]))})")
    if args.mutant and args.mutant not in MUTANTS:
        ap.error(f"--mutant {args.mutant}: unknown (known: {', '.join(MUTANTS)})")
    if args.mutant:
        kind = MUTANTS[args.mutant].kind
        for name in args.config:
            if ALL_CONFIGS[name].kind != kind:
                ap.error(f"--mutant {args.mutant} is a {kind} mutant; --config {name} is not a {kind} configuration")
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1, not {args.jobs}")
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    configs = args.config or (list(QUICK_CONFIGS) if args.quick else None)
    plan = jobs_mod.plan(configs, args.property or None, covers=not (args.quick or args.no_cover or args.property),
                         mutant=args.mutant, free_inputs=args.free_inputs)
    if not plan:
        print(f"{PROG}: no job: none of the chosen configurations has the chosen properties", file=sys.stderr)
        return 2
    if args.list:
        for job in plan:
            note = {"fail": "  (expected to fail)", "any": "  (informational)"}.get(job.expect, "")
            clocks = " multiclock" if job.config.multiclock else ""
            print(f"{job.name:50} {job.mode} depth {job.depth}{clocks}{note}")
        return 0
    try:
        find_tools()
        if args.mutant:
            mutant_class(args.mutant)        # refuse now if its edit no longer applies
    except (NeuroMeshError, MutantError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        print(f"{PROG}: --out {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"{len(plan)} jobs, results in {out}/report.md")
    started = time.monotonic()

    def one(numbered):
        k, job = numbered
        result = run_job(job, out, args.timeout)
        print(f"[{k:3}/{len(plan)}] {job.name:50} {result.verdict:26} {result.outcome.seconds:6.1f} s", flush=True)
        return result

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(one, enumerate(plan, 1)))
    except (ProbeError, MutantError) as e:      # the router no longer looks as the harness expects
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    wall = time.monotonic() - started
    command = f"{PROG} " + " ".join(argv if argv is not None else sys.argv[1:])
    write_report(out, results, wall, command.strip())
    (out / "report.json").write_text(json.dumps([r.as_dict() for r in results], indent=1))
    bad = [r for r in results if not r.as_expected]
    print(f"{len(results) - len(bad)}/{len(results)} as expected in {wall:.0f} s; report: {out / 'report.md'}")
    for r in bad:
        print(f"  NOT AS EXPECTED: {r.job.name}: {r.verdict}")
    return 1 if bad else 0
