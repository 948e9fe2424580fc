"""cocotb bench of `hw/async_link.py` alone (tests/test_async_link.py builds it): a sender in
domain `sync` (`clk`) and a receiver in domain `d1` (`clk_1`). For each scenario of the job
file (`NM_LINK`): clocks with their periods and phases, flits offered with gaps, receiver room
(the FIFO's `ready`) from a seeded pattern; it records the sender cycle of every transfer on
`i`, the receiver cycle of every transfer on `o`, and the sender's busy cycles."""
import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import FallingEdge, ReadOnly, Timer

from neuromesh import spec
from neuromesh.host import _mix
from neuromesh.tools.cosim.bounded import bounded_test
from neuromesh.tools.cosim.drivers import DomainClocks


def room(seed: int, p: float, m: int) -> bool:
    return _mix(seed, 7, m) < int(p * (1 << 64))


async def sender(dut, flits, gaps, log, stop):
    c, i = 0, 0
    offer_from = gaps[0] if gaps else 0
    while not stop[0]:
        await FallingEdge(dut.clk)
        offer = i < len(flits) and c >= offer_from
        dut.i__valid.value = int(offer)
        if offer:
            dut.i__payload.value = flits[i]
        await ReadOnly()
        log["busy"] += int(dut.busy.value)
        if offer and int(dut.i__ready.value):
            log["sent"].append((flits[i], c))
            i += 1
            offer_from = c + 1 + (gaps[i] if i < len(gaps) else 0)
        c += 1


async def receiver(dut, seed, p, log, stop):
    m = 0
    while not stop[0]:
        await FallingEdge(dut.clk_1)
        r = room(seed, p, m)
        dut.o__ready.value = int(r)
        await ReadOnly()
        if r and int(dut.o__valid.value):
            log["got"].append((int(dut.o__payload.value), m))
        m += 1


# The scenarios' horizons add up to about 1.6 ms of simulated time: a 10 ns-cycle budget of 2M
# cycles (20 ms) is ample for a correct link and stops a stuck one.
@bounded_test(cycles=2_000_000)
async def scenarios(dut):
    job = json.loads(Path(os.environ["NM_LINK"]).read_text())
    clocks_driver = DomainClocks(dut, 2)
    results = []
    for sc in job["scenarios"]:
        clocks = spec.Clocks(sc["periods"][0], (spec.ClockDomain((1, 0, 1, 0), sc["periods"][1], sc["phase"]),))
        clocks_driver.start(clocks)
        dut.i__valid.value = 0
        dut.o__ready.value = 0
        dut.rst.value = 1
        await Timer(8 * max(sc["periods"]), unit="ps")
        dut.rst.value = 0
        await Timer(8 * max(sc["periods"]), unit="ps")
        await clocks_driver.align(clocks)
        log, stop = {"sent": [], "got": [], "busy": 0}, [False]
        tasks = [cocotb.start_soon(sender(dut, sc["flits"], sc["gaps"], log, stop)),
                 cocotb.start_soon(receiver(dut, sc["seed"], sc["room"], log, stop))]
        await Timer(sc["horizon_ps"], unit="ps")
        stop[0] = True
        for t in tasks:
            t.cancel()
        await Timer(1, unit="ps")
        results.append(log)
    Path(job["results"]).write_text(json.dumps(results))
