"""The fast regression a mutant must fail, and the order its tests run in.

The regression is the RTL part of the default suite (`make test`): every test marked `rtl`, and
the tests that run the RTL in Amaranth's simulator (`SIMULATOR_TESTS`), less the tests of the
test machinery itself (`EXCLUDED`). The same tests judge RTL mutants (against the unchanged
golden model) and golden-model mutants (against the unchanged RTL).

Order: the tests that exercise the mutated file come first (`FIRST`, per component), cheapest
first; then everything else by `COST_ORDER`. The child stops at the first failure (`-x`), so a
mutant of the router costs the router bench, not the whole regression.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from neuromesh.spec import NeuroMeshError

# Tests outside the `rtl` marker that run the RTL (Amaranth's simulator; no Verilator build).
SIMULATOR_TESTS = (
    "tests/test_lif_differential.py::test_rtl_datapath",
    "tests/test_uart.py::test_tx_",
    "tests/test_uart.py::test_rx_",
    "tests/test_hw_core.py::test_init_is_baked_into_the_memories",
    "tests/test_hw_core.py::test_tiny_core",
)
# `rtl` tests of the machinery, not of the chip: why each is left out.
EXCLUDED = {
    "tests/test_bounded_benches.py": "checks the benches' time bounds on a stuck design of its own",
    "tests/test_regression.py::test_mismatch_keeps_evidence_and_waves":
        "checks the evidence kept on a mismatch (a traced rebuild), on a mismatch it makes itself",
    "tests/test_regression.py::test_first_difference_names_what_differs":
        "checks the mismatch report on made-up observations",
    "tests/test_regression.py::test_cases_cover_every_mesh_host_and_clock_scenario":
        "checks the list of cases, not their results",
}
# Cheapest first: Amaranth-simulator tests, the unit benches (small Verilator builds), the
# chip-level benches, then the engine regression (a chip build per mesh and clock layout).
COST_ORDER = (
    "tests/test_lif_differential.py", "tests/test_uart.py", "tests/test_hw_core.py::test_init",
    "tests/test_hw_core.py::test_tiny", "tests/test_hw_router.py", "tests/test_async_link.py",
    "tests/test_hw_core.py", "tests/test_hw_mesh.py", "tests/test_board.py", "tests/test_rtl_engine.py",
    "tests/test_regression.py", "tests/test_robustness.py",
)
# Tests with clock domains: the only ones that reach the async links, the bridges and the barrier.
DOMAINS = ("tests/test_async_link.py", "cross_domains", "-split-", "-pertile-")
# Per component (the mutated file's stem; `sim.<stem>` for the golden model): what runs first.
FIRST = {
    "lif_datapath": ("tests/test_lif_differential.py::test_rtl", "tests/test_hw_core.py::test_tiny",
                     "tests/test_hw_core.py::test_arithmetic"),
    "neuron_core": ("tests/test_hw_core.py::test_init", "tests/test_hw_core.py::test_tiny", "tests/test_hw_core.py"),
    "router": ("tests/test_hw_router.py", "tests/test_hw_mesh.py"),
    "fifo": ("tests/test_hw_router.py", "tests/test_hw_mesh.py"),
    "tile": ("tests/test_hw_mesh.py",) + DOMAINS,
    "mesh": ("tests/test_hw_mesh.py",) + DOMAINS,
    "cfg_decoder": ("tests/test_hw_mesh.py",) + DOMAINS,
    "async_link": DOMAINS,
    "domain_bridge": DOMAINS[1:] + DOMAINS[:1],
    "uart": ("tests/test_uart.py", "tests/test_board.py"),
    "host_bridge": ("tests/test_board.py",),
    "uart_chip": ("tests/test_board.py",),
    "sim.async_link": DOMAINS[1:] + ("tests/test_regression.py",),
    "sim.domain": ("tests/test_regression.py",),
    "sim.mesh": DOMAINS[1:] + ("tests/test_regression.py",),
}
SIM_FIRST = ("tests/test_regression.py",)


class RegressionError(NeuroMeshError):
    pass


def _collect(root: Path, marker: str, paths) -> list:
    cmd = [sys.executable, "-P", "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
           "-m", marker, *paths]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    ids = [line.strip() for line in done.stdout.splitlines() if "::" in line and not line.startswith(" ")]
    if done.returncode not in (0, 5) or not ids:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        raise RegressionError(f"collecting the regression in {root}/tests failed: {tail[0]}")
    return ids


def _excluded(node: str) -> bool:
    return any(node == e or node.startswith(e + "::") or (e.endswith(".py") and node.startswith(e))
               for e in EXCLUDED)


def collect(root: Path) -> list:
    """The regression's node ids, in COST_ORDER (collected from the source as it is now)."""
    rtl = _collect(root, "rtl and not long", ["tests"])
    files = sorted({p.split("::")[0] for p in SIMULATOR_TESTS})
    amaranth = [n for n in _collect(root, "not long and not rtl", files)
                if any(n.startswith(p) for p in SIMULATOR_TESTS)]
    nodes = [n for n in dict.fromkeys(amaranth + rtl) if not _excluded(n)]
    return order(nodes, ())


def _rank(node: str, patterns) -> int:
    for i, pattern in enumerate(patterns):
        if node.startswith(pattern) or (not pattern.startswith("tests/") and pattern in node):
            return i
    return len(patterns)


def order(nodes, first) -> list:
    """`nodes` with those matching `first` (in its order) ahead, the rest by COST_ORDER; the
    collected order is kept among equals (pytest's file order, parametrisations in order)."""
    index = {n: i for i, n in enumerate(nodes)}
    return sorted(nodes, key=lambda n: (_rank(n, first), _rank(n, COST_ORDER), index[n]))


def first_patterns(mutant) -> tuple:
    if mutant.target == "sim":
        return FIRST.get(f"sim.{mutant.component}", SIM_FIRST)
    return FIRST.get(mutant.component, ())


def plan(mutant, nodes) -> list:
    """The regression for `mutant`: every node, those that exercise its file first."""
    return order(nodes, first_patterns(mutant))
