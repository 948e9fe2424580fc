"""The critical paths of a placed, unrouted design, from the SDF nextpnr writes for it.

nextpnr prints an Fmax estimate after placement but names no path until routing has finished,
and the ECP5 4 x 4 does not finish routing on this machine (docs/fpga.md). Its `--sdf` file of a
placed design holds what the estimate is made of: each cell's delays (IOPATH: clock-to-output
and input-to-output) and setup times (SETUPHOLD), and every connection's predicted routing
delay (INTERCONNECT, from the placed distance). This module is a longest-path search over that
graph, from register outputs (a clock-to-output arc) to register inputs (a setup check): the
same register-to-register paths nextpnr's report lists after routing, with placement's
predicted wire delays instead of routed ones.

`worst_paths(text, count)` returns paths in the form of nextpnr's JSON report (steps with
`type` clk-to-q / routing / logic / setup, `from` and `to` cell and port, `delay` in ns), so
`flow.critical_path` summarises either; one path per endpoint, the longest first.
"""
from __future__ import annotations

import heapq
import re
from collections import defaultdict

_NAME = r"((?:\\.|[^\s()\\])+)"
_TRIPLE = r"\(([-\d.eE+]*):([-\d.eE+]*):([-\d.eE+]*)\)"
_INSTANCE = re.compile(r"\(INSTANCE\s*" + _NAME + r"?\s*\)")
_INTERCONNECT = re.compile(r"\(INTERCONNECT\s+" + _NAME + r"\s+" + _NAME + r"\s+" + _TRIPLE + r"\s+" + _TRIPLE)
_IOPATH = re.compile(r"\(IOPATH\s+" + _NAME + r"\s+" + _NAME + r"\s+" + _TRIPLE + r"\s+" + _TRIPLE)
_SETUPHOLD = re.compile(r"\(SETUPHOLD\s+\((?:posedge|negedge)\s+" + _NAME + r"\)\s+\((?:posedge|negedge)\s+"
                        + _NAME + r"\)\s+" + _TRIPLE)
_UNESCAPE = re.compile(r"\\(.)")
_TIMESCALE = re.compile(r"\(TIMESCALE\s+1\s*(ps|ns)\s*\)")


def _name(token: str) -> str:
    return _UNESCAPE.sub(r"\1", token)


def _cell_port(token: str) -> tuple[str, str]:
    """`cell/port` of an INTERCONNECT: the port is after the last unescaped '/' (a port name
    never holds one; a cell name may, from a yosys source location)."""
    i = len(token) - 1
    while i >= 0:
        if token[i] == "/" and (i == 0 or token[i - 1] != "\\"):
            return _name(token[:i]), _name(token[i + 1:])
        i -= 1
    raise ValueError(f"no cell/port divider in {token!r}")


def _max(*triples) -> float:
    """The largest max of (min:typ:max) triples; an empty field counts as 0."""
    return max(float(t[2] or 0) for t in triples)


class PlacedTiming:
    """The timing graph of one SDF: nodes are (cell, port), edges carry a delay and a kind."""

    def __init__(self, text: str):
        scale = _TIMESCALE.search(text)
        self.ns = 1e-3 if (scale is None or scale.group(1) == "ps") else 1.0
        self.ids: dict[tuple[str, str], int] = {}
        self.names: list[tuple[str, str]] = []
        self.edges: dict[int, list[tuple[int, float, str]]] = defaultdict(list)
        self.setup: dict[int, float] = {}
        self.clock_ports: set[int] = set()
        wires = []
        cell = None
        iopaths = []
        for line in text.splitlines():
            if "(INTERCONNECT" in line:
                m = _INTERCONNECT.search(line)
                wires.append((_cell_port(m.group(1)), _cell_port(m.group(2)), _max(m.groups()[2:5], m.groups()[5:8])))
            elif "(INSTANCE" in line:
                m = _INSTANCE.search(line)
                cell = _name(m.group(1)) if m and m.group(1) else None
            elif "(IOPATH" in line and cell is not None:
                m = _IOPATH.search(line)
                iopaths.append((cell, _name(m.group(1)), _name(m.group(2)), _max(m.groups()[2:5], m.groups()[5:8])))
            elif "(SETUPHOLD" in line and cell is not None:
                m = _SETUPHOLD.search(line)
                port, clock = self._id(cell, _name(m.group(1))), self._id(cell, _name(m.group(2)))
                self.setup[port] = max(self.setup.get(port, 0.0), float(m.group(5) or 0) * self.ns)
                self.clock_ports.add(clock)
        for cell, a, b, delay in iopaths:
            src = self._id(cell, a)
            kind = "clk-to-q" if src in self.clock_ports else "logic"
            self.edges[src].append((self._id(cell, b), delay * self.ns, kind))
        for a, b, delay in wires:
            dst = self._id(*b)
            if dst in self.clock_ports:
                continue            # the clock's own net: a path starts at the register, not before
            self.edges[self._id(*a)].append((dst, delay * self.ns, "routing"))

    def _id(self, cell: str, port: str) -> int:
        key = (cell, port)
        if key not in self.ids:
            self.ids[key] = len(self.names)
            self.names.append(key)
        return self.ids[key]

    def arrivals(self) -> tuple[list[float], list[tuple[int, float, str] | None]]:
        """Latest arrival at every node of a path launched by a clock (None: no such path), and
        the edge it came by, in topological order (Kahn's; a combinational loop's nodes stay
        unreached)."""
        n = len(self.names)
        indeg = [0] * n
        for src, out in self.edges.items():
            for dst, _, _ in out:
                indeg[dst] += 1
        arrival: list[float | None] = [None] * n
        came: list[tuple[int, float, str] | None] = [None] * n
        for c in self.clock_ports:
            arrival[c] = 0.0
        ready = [i for i in range(n) if indeg[i] == 0]
        while ready:
            u = ready.pop()
            for v, delay, kind in self.edges.get(u, ()):
                if arrival[u] is not None and (arrival[v] is None or arrival[u] + delay > arrival[v]):
                    arrival[v] = arrival[u] + delay
                    came[v] = (u, delay, kind)
                indeg[v] -= 1
                if indeg[v] == 0:
                    ready.append(v)
        return arrival, came

    def worst_paths(self, count: int = 10) -> list[dict]:
        arrival, came = self.arrivals()
        ends = [(arrival[e] + s, e) for e, s in self.setup.items() if arrival[e] is not None]
        out = []
        for total, end in heapq.nlargest(count, ends):
            steps = [{"type": "setup", "from": self._port(end), "to": self._port(end),
                      "delay": round(self.setup[end], 4)}]
            node = end
            while came[node] is not None:
                src, delay, kind = came[node]
                steps.append({"type": kind, "from": self._port(src), "to": self._port(node), "delay": round(delay, 4)})
                node = src
            steps.reverse()
            out.append({"ns": round(total, 3), "path": steps})
        return out

    def _port(self, node: int) -> dict:
        cell, port = self.names[node]
        return {"cell": cell, "port": port}


def worst_paths(text: str, count: int = 10) -> list[dict]:
    """The `count` longest register-to-register paths of a placed design's SDF, one per endpoint,
    longest first: {"ns": total, "path": [nextpnr-report steps]}."""
    return PlacedTiming(text).worst_paths(count)
