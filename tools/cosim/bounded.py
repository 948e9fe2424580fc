"""Every cocotb test of the project ends: `bounded_test(cycles)` replaces `@cocotb.test()`.

Why: a deadlocked design makes a testbench wait forever while the simulator goes on clocking
(a FIFO whose `ready` never rose at depth 1 kept the router bench's `StreamSource.wait_idle`
running for 20 minutes until it was stopped by hand). A bounded test FAILS once `cycles` clock
cycles of simulated time have passed, with a message naming the test and the bound, and the
simulator moves on to the next test.

Two layers, both in simulated time:
- the test body runs under `cocotb.triggers.with_timeout`; its `SimTimeoutError` becomes an
  AssertionError whose text (in sim.log and the results file) says what happened;
- `cocotb.test(timeout_time=...)`, a tenth later, is cocotb's own backstop should the body
  catch that error itself.

A hang that stops simulated time altogether (a Python loop with no `await` in a bench) is the
wall-time limit's business: `simulator.run_tests(timeout_s=...)`.

The bound is a budget, not a measurement: about ten times what the test needs (docs/robustness.md
lists them), so that a correct design never meets it and a stuck one meets it within seconds.
"""
from __future__ import annotations

import functools

import cocotb
from cocotb.triggers import SimTimeoutError, with_timeout

CLOCK_PERIOD_NS = 10  # every bench's clock (TbClock, tb_core, the RTL engine's host)


def bounded_test(cycles: int, period_ns: int = CLOCK_PERIOD_NS, **test_kwargs):
    """`@cocotb.test(...)` whose test fails after `cycles` clock cycles of `period_ns`."""
    if not isinstance(cycles, int) or cycles < 1:
        raise ValueError(f"bounded_test: cycles must be a positive integer, not {cycles!r}")
    limit_ns = cycles * period_ns

    def decorate(fn):
        @functools.wraps(fn)
        async def bounded(dut, *args, **kwargs):
            try:
                return await with_timeout(fn(dut, *args, **kwargs), limit_ns, "ns")
            except SimTimeoutError:
                raise AssertionError(
                    f"{fn.__name__}: not finished after {cycles:,} clock cycles ({limit_ns:,} ns of "
                    f"simulated time): the design or the bench is stuck (a handshake that never "
                    f"completes?)") from None
        return cocotb.test(timeout_time=limit_ns + limit_ns // 10 + period_ns, timeout_unit="ns",
                           **test_kwargs)(bounded)
    return decorate
