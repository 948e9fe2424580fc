"""A bench that hangs without advancing simulated time (a Python loop with no `await`): what a
simulated-time bound cannot catch, so that tests/test_bounded_benches.py can show the wall-time
limit of `simulator.run_tests` does. Driven by that test only."""
from neuromesh.tools.cosim.bounded import bounded_test


@bounded_test(cycles=1_000)
async def spins_without_simulated_time(dut):
    while True:  # no await: simulated time stops, and with it every simulated-time bound
        pass
