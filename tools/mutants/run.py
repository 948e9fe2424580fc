"""`python -m neuromesh.tools.mutants [--out build/mutants] [--target hw|sim|all] [--only ID ...]
[--sample] [-j N] [--timeout S] [--cache DIR] [--no-baseline] [--resume] [--list]` (`make mutants`).

First the baseline: the regression on the unmutated source must pass (it also builds every
unmutated Verilator model once). Then each mutant in a child process (runner.py), one at a time
or `-j N` side by side; progress on stderr, one line per mutant; a line per mutant in
`progress.jsonl` as it finishes, so `--resume` goes on after an interruption (Ctrl-C, SIGTERM,
or a killed session) without re-running what was judged on the same source; `report.md` and
`report.json` at the end, the score over the mutants that ran and the number that did not.

Exit status: 0 when every selected mutant applied and ran, and every survivor is explained as
equivalent (tools/mutants/equivalent.toml); 1 otherwise (or when the baseline fails); 2 for bad
options (one line, no traceback).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import fnmatch
import hashlib
import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from neuromesh.spec import NeuroMeshError

from . import catalogue, regression, report, runner, shadow
from .runner import KILLED, NOT_APPLIED, SURVIVED, TIMEOUT

PROG = "python -m neuromesh.tools.mutants"
# `make test-long` (tests/test_mutants.py): at most 6 mutants, each killed early by a cheap test,
# one per kind of bench: the depth-1 FIFO whose ready never rises (the 20-minute hang),
# the router bench, the LIF differential, the core bench, the asynchronous link bench and a
# golden-model mutant caught by the engine regression.
SAMPLE = ("fifo.ready_one_early", "router.rr_reversed", "lif.no_input_saturation",
          "core.acc_forward_dropped", "link.valid_ignores_ack", "sim.fabric.grant_not_held")
# The wall-clock bound of one mutant. The benches' cycle bounds end a deadlock long before it; this
# bound only stops what escapes them, so it must not end a slow run that would pass: the baseline
# (the whole regression, building every model) times TIMEOUT_FACTOR, which also covers two
# mutants sharing the cores (-j 2) and a survivor rebuilding its models.
DEFAULT_TIMEOUT_S = 2700
TIMEOUT_FACTOR = 3.0
BASELINE_TIMEOUT_S = 4 * 3600


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """Bad options: one line and exit status 2 (argparse alone adds a usage line)."""
        print(f"{self.prog}: {message}", file=sys.stderr)
        sys.exit(2)


def _parse(argv):
    ap = _Parser(prog=PROG, description="Mutation testing of the regression (docs/mutants.md).")
    ap.add_argument("--out", default="build/mutants", help="report folder (default build/mutants)")
    ap.add_argument("--target", choices=("hw", "sim", "all"), default="all",
                    help="mutate the RTL, the golden model, or both (default)")
    ap.add_argument("--only", action="append", default=[], metavar="ID",
                    help="run only these mutants (ids or shell patterns such as 'router.*'; repeatable)")
    ap.add_argument("--sample", action="store_true", help=f"the fixed sample of make test-long ({len(SAMPLE)} mutants)")
    ap.add_argument("--timeout", type=float,
                    help="wall-clock seconds per mutant before it counts as killed by the timeout (default: "
                         f"{TIMEOUT_FACTOR:g} times the baseline's time, at least {DEFAULT_TIMEOUT_S} s)")
    ap.add_argument("--cache", help="Verilator model cache (default OUT/cache, where models no longer used are "
                    "removed after the baseline); the mutants' own models are always removed")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run on the unmutated source")
    ap.add_argument("--resume", action="store_true",
                    help="reuse OUT/progress.jsonl results of mutants whose source and tests are unchanged")
    ap.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                    help="mutants run side by side (default 1; each is one pytest process)")
    ap.add_argument("--list", action="store_true", help="list the mutants, where each applies, and exit")
    args = ap.parse_args(argv)
    if args.timeout is not None and not args.timeout > 0:
        ap.error(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
    if args.jobs < 1:
        ap.error(f"-j/--jobs must be at least 1, not {args.jobs}")
    if args.sample and args.only:
        ap.error("--sample and --only choose the mutants both: give one")
    return args


def find_root() -> Path:
    """The source checkout: mutants mutate its hw/ and sim/ and run its tests/."""
    here = Path(__file__).resolve().parents[2]
    for cand in (here, Path.cwd()):
        if (cand / "pyproject.toml").is_file() and (cand / "tests").is_dir() and (cand / "hw").is_dir():
            return cand
    raise NeuroMeshError("mutation testing needs the source checkout (pyproject.toml, hw/, sim/, tests/): "
                         "run it from the repository")


def select(mutants, args) -> list:
    if args.target != "all":
        mutants = [m for m in mutants if m.target == args.target]
    if args.sample:
        by_id = {m.id: m for m in mutants}
        return [by_id[i] for i in SAMPLE if i in by_id]
    if not args.only:
        return mutants
    chosen = []
    for pattern in args.only:
        hit = [m for m in mutants if fnmatch.fnmatchcase(m.id, pattern)]
        if not hit:
            raise NeuroMeshError(f"--only {pattern}: no such mutant (`{PROG} --list` lists them)")
        chosen += [m for m in hit if m not in chosen]
    return chosen


def source_state(root: Path) -> str:
    """The commit and whether the work tree differs from it (for the report)."""
    try:
        head = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "hw", "sim", "tests", "tools"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return str(root)
    return f"{root} at {head or 'no commit'}{' (with uncommitted changes)' if dirty else ''}"


def base_digest(root: Path) -> str:
    """One digest of every source the children read (package and tests): a result recorded
    under it holds only for exactly this source. This room is left out: a mutant's own edit is
    in its key, and a new explanation or a new mutant must not void the results of the others."""
    h = hashlib.sha256()
    folders = [*shadow.package_dirs(root).values(), root / "tests"]
    mine = Path(__file__).resolve().parent
    for folder in sorted(set(folders)):
        for path in sorted(folder.rglob("*")):
            if path.resolve().is_relative_to(mine):
                continue
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json", ".toml"):
                h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _key(base: str, mutant) -> str:
    return hashlib.sha256(f"{base}\0{mutant.id}\0{mutant.file}\0{mutant.old}\0{mutant.new}".encode()).hexdigest()


def _previous(progress: Path) -> dict:
    done = {}
    if progress.exists():
        for line in progress.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
                done[rec["key"]] = rec
            except (ValueError, KeyError, TypeError):
                continue   # a line cut short by an interruption
    return done


def _record(app, outcome, explanation) -> dict:
    mu = app.mutant
    return {"id": mu.id, "target": mu.target, "component": mu.component, "file": mu.file, "line": app.line,
            "category": mu.category, "what": mu.what, "old": mu.old, "new": mu.new, **outcome.as_dict(),
            "explanation": explanation}


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = _parse(argv)
    command = f"{PROG} " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        root = find_root()
        everything = catalogue.load()
        equivalent = catalogue.explanations({m.id for m in everything})
        chosen = select(everything, args)
        apps = catalogue.applies(chosen, root)
    except NeuroMeshError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    if args.list:
        for a in apps:
            where = f"{a.mutant.file}:{a.line}" if a.ok else f"NO LONGER APPLIES: {a.problem}"
            print(f"{a.mutant.id:48} {a.mutant.category:16} {where}")
        print(f"{len(apps)} mutants, {sum(a.ok for a in apps)} apply")
        return 0 if all(a.ok for a in apps) else 1
    out = Path(args.out)
    cache = Path(args.cache) if args.cache else out / "cache"
    try:
        out.mkdir(parents=True, exist_ok=True)
        cache.mkdir(parents=True, exist_ok=True)
        nodes = regression.collect(root)
    except OSError as e:
        print(f"{PROG}: --out {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    except NeuroMeshError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    started = time.time()
    t0 = time.monotonic()
    meta = {"command": command.strip(), "source": source_state(root),
            "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            "regression_tests": len(nodes), "timeout_s": None, "jobs": args.jobs,
            "selected": len(apps)}
    progress = out / "progress.jsonl"
    base = base_digest(root)
    previous = _previous(progress) if args.resume else {}
    if not args.resume:
        progress.write_text("")
    done, interrupted = {}, None
    with _interruptible():
        try:
            meta["baseline"] = _baseline(root, nodes, cache, args, base, previous, progress)
            baseline_s = (meta["baseline"] or {}).get("seconds", 0)
            meta["timeout_s"] = args.timeout or max(DEFAULT_TIMEOUT_S, round(TIMEOUT_FACTOR * baseline_s))
            if meta["baseline"] is not None and meta["baseline"]["status"] != SURVIVED:
                report.write(out, dict(meta, mutants=[], wall_s=time.monotonic() - t0,
                                       interrupted="the baseline failed"))
                return 1
            done = _mutants(root, nodes, apps, cache, args, base, previous, progress, equivalent, out,
                            meta["timeout_s"])
        except (_Interrupted, KeyboardInterrupt) as stop:     # KeyboardInterrupt: between two steps
            done = getattr(stop, "done", done)
            interrupted = f"interrupted after {len(done)} of {len(apps)} mutants"
            _say(f"{PROG}: {interrupted}; the report holds those ({PROG} --resume goes on)")
        finally:
            runner.remove_slots(cache)
    records = [done[k] for k in range(len(apps)) if k in done]
    meta["not_run"] = [a.mutant.id for k, a in enumerate(apps) if k not in done]
    rep = dict(meta, mutants=records, wall_s=time.monotonic() - t0, interrupted=interrupted)
    try:
        report.write(out, rep)
    except NeuroMeshError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 2
    for target, g in report.summary(records).items():
        c = g["all"]
        _say(f"{report.TARGETS[target]}: {c[KILLED] + c[TIMEOUT]} of {c['judged']} killed "
             f"({c['score_pct']}%), {c[SURVIVED]} survived, {c[NOT_APPLIED]} no longer apply, {c['error']} errors")
    if meta["not_run"]:
        _say(f"{len(meta['not_run'])} of {len(apps)} selected mutants did not run (the score is over those that did)")
    _say(f"report: {out / 'report.md'} ({(time.monotonic() - t0) / 60:.1f} min)")
    unexplained = [r for r in records if r["status"] == SURVIVED and not r.get("explanation")]
    broken = [r for r in records if r["status"] not in (KILLED, TIMEOUT, SURVIVED)]
    if interrupted:
        return 130
    return 1 if unexplained or broken else 0


class _Interrupted(Exception):
    def __init__(self, done):
        super().__init__("interrupted")
        self.done = done


@contextlib.contextmanager
def _interruptible():
    """SIGTERM and SIGHUP stop the run like Ctrl-C (the report of what ran is still written and
    the children, which run in sessions of their own, are stopped)."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    saved = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _baseline(root, nodes, cache, args, base, previous, progress):
    """The regression on the unmutated source (None with --no-baseline); a passing baseline of
    this very source in progress.jsonl is reused by --resume."""
    if args.no_baseline:
        return None
    if previous.get(f"baseline\0{base}"):
        rec = previous[f"baseline\0{base}"]
        _say(f"baseline: {rec['status']} (from {progress.name})")
        return {k: v for k, v in rec.items() if k != "key"}
    _say(f"baseline: the regression ({len(nodes)} tests) on the unmutated source ...")
    b0 = time.time()
    try:
        outcome = runner.run(root, nodes, cache=cache, timeout_s=args.timeout or BASELINE_TIMEOUT_S)
    except KeyboardInterrupt:
        raise _Interrupted({}) from None
    _say(f"baseline: {outcome.status}, {outcome.detail} ({outcome.seconds:.0f} s)")
    if outcome.status != SURVIVED:
        _say(f"{PROG}: the regression fails on the unmutated source ({outcome.killer}: {outcome.detail}); "
             "mutants cannot be judged. The last lines of its log:")
        _say("\n".join(outcome.log_tail[-15:]))
        return outcome.as_dict()
    if not args.cache:      # only in a cache of its own: --cache may name one shared with other work
        runner.prune_unused(cache, b0)
    with open(progress, "a") as f:
        f.write(json.dumps(dict(outcome.as_dict(), key=f"baseline\0{base}")) + "\n")
    return outcome.as_dict()


def _mutants(root, nodes, apps, cache, args, base, previous, progress, equivalent, out, timeout_s) -> dict:
    """Run every mutant not already judged, `args.jobs` at a time; {index in apps: record}, each
    appended to progress.jsonl as it finishes. Ctrl-C (or SIGTERM) stops the running children
    and raises _Interrupted with what finished."""
    done, todo = {}, []
    logs = out / "logs"
    logs.mkdir(exist_ok=True)

    def finish(k, rec, key):
        done[k] = rec
        with open(progress, "a") as f:
            f.write(json.dumps(dict(rec, key=key)) + "\n")

    for k, app in enumerate(apps):
        mu, key = app.mutant, _key(base, app.mutant)
        head = f"[{k + 1:3}/{len(apps)}] {mu.id:44}"
        if not app.ok:
            _say(f"{head} NO LONGER APPLIES: {app.problem}")
            finish(k, _record(app, runner.Outcome(NOT_APPLIED, None, app.problem), equivalent.get(mu.id)), key)
        elif previous.get(key, {}).get("status") in (KILLED, TIMEOUT, SURVIVED):
            rec = {k2: v for k2, v in previous[key].items() if k2 != "key"}
            rec["explanation"] = equivalent.get(mu.id)
            _say(f"{head} {rec['status']} (from {progress.name})")
            finish(k, rec, key)
        else:
            todo.append((k, app, key, head))

    slots = queue.Queue()
    for n in range(args.jobs):
        slots.put(n)
    live, stopping = set(), threading.Event()

    def work(app, head):
        mu = app.mutant
        mine = []

        def started(proc):
            mine.append(proc)
            live.add(proc)
            if stopping.is_set():       # interrupted while this one was starting
                runner.stop(proc)
        slot = slots.get()
        try:
            if stopping.is_set():
                return None
            here = runner.slot_cache(cache, slot)
            _say(f"{head} {mu.file}:{app.line} ({mu.category}) ...")
            try:
                outcome = runner.run(root, regression.plan(mu, nodes), mutant=mu, cache=here,
                                     timeout_s=timeout_s, on_start=started)
            finally:
                live.difference_update(mine)
                runner.clear_own(here)
            if stopping.is_set():
                return None
            by = f" by {outcome.killer}" if outcome.killer else ""
            _say(f"{head} {outcome.status}{by} ({outcome.seconds:.0f} s)"
                 + (f": {outcome.detail}" if outcome.status not in (KILLED, TIMEOUT) else ""))
            (logs / f"{mu.id}.log").write_text("\n".join(outcome.log_tail) + "\n")
            return outcome
        finally:
            slots.put(slot)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        running = {pool.submit(work, app, head): (k, app, key, head) for k, app, key, head in todo}
        while running:
            finished, _ = concurrent.futures.wait(running, timeout=1.0,
                                                  return_when=concurrent.futures.FIRST_COMPLETED)
            # In selection order, and every one that finished is recorded before an interrupt
            # that came with it is raised: two can finish within one wait (a loaded machine).
            interrupted = False
            for fut in sorted(finished, key=lambda f: running[f][0]):
                k, app, key, head = running.pop(fut)
                try:
                    outcome = fut.result()
                except KeyboardInterrupt:
                    interrupted = True
                    continue
                finish(k, _record(app, outcome, equivalent.get(app.mutant.id)), key)
            if interrupted:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        stopping.set()
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list(live):
            runner.stop(proc)
        pool.shutdown(wait=True)      # the workers remove their copies and their models
        raise _Interrupted(done) from None
    pool.shutdown(wait=True)
    return done
