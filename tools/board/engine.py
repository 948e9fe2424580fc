"""The board engine: the chip on an FPGA board, through the UART host bridge (docs/board.md).

`run(...)` has the engine interface of the golden model and the RTL engine and returns the same
`EngineRun`, so `neuromesh run --engine board --port /dev/ttyUSB0` reports through the same
result builder. Steps, all over one `BoardLink`:

1. INFO: the bridge's magic, clock, window and the chip's elaboration parameters, which must be
   the network's (an image only means something on the chip it was compiled for);
2. RESET (the chip's registers and counters), the image written and read back through the
   project's one load-and-verify path (`neuromesh.firmware.loader.plan`), ZERO (cycle 0);
3. the stimulus, as the standard host orders it (docs/architecture.md section 7): for each tick
   t its input flits (SPIKE), then TICK. The bridge executes commands in order, so tick t starts
   only after its flits were accepted and tick t+1's flits reach the chip only after tick t
   completed; the link streams all of it within its window;
4. every counter, read with `neuromesh.result.read_counters`.

What is cycle-exact and what is not: spikes and the timing-independent counters (SOPs,
updates, spikes fired, flits sent, forwards per port, errors, ticks) are what the golden model
predicts. Cycle stamps (handshakes, completions, each spike_out flit's cycle) come from the
bridge's counter of board clock cycles: they include the time commands spend on the UART and
the cycles the chip stalls while spike_out waits for the UART, so `cycles`, `tick_cycles`,
`busy_cycles`, latencies and static energy are measurements of this board at this baud rate,
not the golden model's numbers. The result says so under `board`.
"""
from __future__ import annotations

import time

from neuromesh import spec
from neuromesh.host import HostBehaviour
from neuromesh.result import EngineRun, Transport as CfgTransport, read_counters

from . import protocol as proto
from .link import DEFAULT_TIMEOUT_S, BoardLink
from .transport import BoardError, SerialTransport, Transport

# Result fields measured on the board clock, including UART pacing (module docstring).
NOT_CYCLE_EXACT = ("cycles", "tick_cycles", "busy_cycles", "latency_cycles", "handshakes", "completions",
                   "output_flits[].cycle", "output_flits[].latency", "energy_pj.static",
                   "counters.chip.busy_cycles")


class _Recorder(CfgTransport):
    """Records the addresses `read_counters` asks for (answers 0)."""

    def __init__(self):
        self.addrs = []

    def read(self, addr):
        self.addrs.append(addr)
        return 0


class _Prefetched(CfgTransport):
    def __init__(self, words):
        self.words = words

    def read(self, addr):
        return self.words[addr]


def check_host(host: HostBehaviour) -> None:
    """The board runs the host as fast as the line allows: it cannot replay a seeded host."""
    if host.out_ready_prob < 1.0:
        raise BoardError("--out-ready: the board engine cannot replay spike_out back-pressure "
                         "(the UART paces spike_out)")
    if host.max_gap:
        raise BoardError("--max-gap: the board engine cannot replay input gaps (the UART paces spike_in)")


def board_params(info: dict) -> dict:
    return {name: info[name] for name in proto.PARAM_INFO}


def check_params(params: spec.HwParams, info: dict, where: str) -> None:
    board = board_params(info)
    ours = {name: getattr(params, name) for name in proto.PARAM_INFO}
    if board != ours:
        diff = ", ".join(f"{k} {ours[k]} (network) vs {board[k]} (board)" for k in board if board[k] != ours[k])
        raise BoardError(f"{where}: the network's hardware is not the board's chip ({diff}); set the network's "
                         f"\"hardware\" block to the board's or build a bitstream for it (make bitstream HW=...)")


def stimulus_commands(tick_inputs):
    """The standard host's order: tick t's input flits, then its TICK."""
    for flits in tick_inputs:
        for flit in flits:
            yield proto.Command.SPIKE, proto.spike(flit)
        yield proto.Command.TICK, proto.tick()


def run_on(transport: Transport, params: spec.HwParams, writes, tick_inputs, host: HostBehaviour | None = None,
           *, progress=None, timeout: float = DEFAULT_TIMEOUT_S) -> EngineRun:
    """The whole run over an open transport (the serial port, or a simulated line)."""
    from neuromesh.firmware.loader import plan
    host = host or HostBehaviour()
    check_host(host)
    load = plan(writes, params)            # refuse a bad image before touching the board
    t0 = time.perf_counter()
    link = BoardLink(transport, timeout=timeout)
    info = link.hello()
    check_params(params, info, transport.name)
    link.reset()
    link.writes(load.writes)
    for addr, got in zip(load.expected, link.reads(list(load.expected))):
        load.check(addr, got)
    t1 = time.perf_counter()

    link.zero()
    handshakes, completions = [], []
    host_flits = 0

    def on_response(cmd, value):
        nonlocal host_flits
        if cmd is proto.Command.SPIKE:
            host_flits += 1
        elif cmd is proto.Command.TICK:
            h, q = value
            handshakes.append(h)
            completions.append(q)
            if progress:
                progress(len(completions))

    link.transact(stimulus_commands(tick_inputs), on_response)
    out_flits = list(link.out_flits)
    t2 = time.perf_counter()

    rec = _Recorder()
    read_counters(rec, params)
    words = dict(zip(rec.addrs, link.reads(rec.addrs)))
    counters = read_counters(_Prefetched(words), params)
    return EngineRun(out_flits=out_flits, handshakes=handshakes, completions=completions,
                     counters=counters, host_flits=host_flits,
                     extras={"board": {
                         "line": transport.name, "clk_hz": info["clk_hz"], "divisor": info["divisor"],
                         "baud": round(info["clk_hz"] / info["divisor"]), "rx_depth": info["rx_depth"],
                         "cycle_exact": False, "not_cycle_exact": list(NOT_CYCLE_EXACT),
                         "load_writes": len(load.writes), "load_wall_s": t1 - t0, "run_wall_s": t2 - t1}})


def run(params: spec.HwParams, writes, tick_inputs, host: HostBehaviour, *, progress=None, port=None,
        baud: int = proto.DEFAULT_BAUD, timeout: float = DEFAULT_TIMEOUT_S, clocks=None, **_opts) -> EngineRun:
    """The engine interface (see neuromesh/engines.py): one run on the board at `port`."""
    check_host(host)
    if clocks is not None and clocks.n_domains > 1:
        raise BoardError(f"the board's bitstream is a one-clock chip; this run has {clocks.n_domains} clock "
                         "domains (simulate them with --engine golden or rtl)")
    if not port:
        raise BoardError("--port: the board engine needs the board's serial port (e.g. --port /dev/ttyUSB0)")
    with SerialTransport(port, baud) as transport:
        return run_on(transport, params, writes, tick_inputs, host, progress=progress, timeout=timeout)
