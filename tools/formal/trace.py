"""A counterexample VCD from smtbmc as text: per cycle, the flits offered and taken at the
router's ports, decoded with `spec.unpack_flit` (docs/formal.md, "Reading a failure"); for the
asynchronous link, per solver step, the clock rises, handshake wires and flits (`render_link`).
"""
from __future__ import annotations

import re
from pathlib import Path

from neuromesh import spec
from neuromesh.spec import PORTS


def read_vcd(path: Path) -> tuple[dict[str, list[int]], int]:
    """Top-scope signals of an smtbmc VCD: name -> value at each solver step. smtbmc writes
    two timestamps per step (the clock's two halves) and the step number in `smt_step`."""
    ids, depth, step_id = {}, 0, None
    values: dict[str, dict[int, int]] = {}
    step = 0
    text = Path(path).read_text()
    header, _, body = text.partition("$enddefinitions")
    for line in header.splitlines():
        words = line.split()
        if words[:2] == ["$scope", "module"]:
            depth += 1
        elif words[:1] == ["$upscope"]:
            depth -= 1
        elif words[:1] == ["$var"] and depth == 1:
            ids[words[3]] = words[4]
        elif words[:1] == ["$var"] and words[4:5] == ["smt_step"]:
            step_id = words[3]
    pending, last_step = None, 0
    for token in body.split():
        if token.startswith("#"):
            continue
        elif token.startswith("b"):
            pending = token[1:]                       # a vector value; its id is the next token
        elif pending is not None:
            value = int(re.sub("[xz]", "0", pending), 2)
            if token == step_id:
                step = value
            elif token in ids:
                values.setdefault(ids[token], {})[step] = value
                last_step = max(last_step, step)
            pending = None
        elif token[0] in "01xz" and token[1:] in ids:
            values.setdefault(ids[token[1:]], {})[step] = int(token[0]) if token[0] in "01" else 0
            last_step = max(last_step, step)
    # A multiclock trace ends with a step number and no values: not a step of the run.
    steps = last_step + 1
    series = {}
    for name, changes in values.items():
        row, last = [], 0
        for s in range(steps):
            last = changes.get(s, last)
            row.append(last)
        series[name] = row
    return series, steps


def describe_flit(word: int) -> str:
    f = spec.unpack_flit(word)
    text = (f"host ch {f['axon']} from ({f['x']}, {f['y']})" if f["host"]
            else f"to ({f['x']}, {f['y']}) axon {f['axon']}")
    if f["reserved"]:
        text += f" reserved={f['reserved']:#x}"
    return f"{word:#010x} [{text}]"


def _fill_missing(series: dict, wanted: list, steps: int, lines: list) -> None:
    """Signals a trace lacks (yosys dropped them) are shown as 0, and the text says which."""
    missing = [name for name in wanted if name not in series]
    if missing:
        lines.append(f"(not in this trace, shown as 0: {', '.join(missing)})")
        for name in missing:
            series[name] = [0] * steps


def render(path: Path, from_reset: bool = True) -> str:
    """The trace as text. An induction trace (`from_reset` False) starts in an arbitrary state
    that satisfied every check for a while: not necessarily reachable, so not necessarily a bug."""
    series, steps = read_vcd(path)

    def at(name, s):
        return series[name][s]

    start = "step 0 is the reset cycle" if from_reset else "induction: step 0 is an arbitrary state"
    lines = [f"counterexample {path} ({steps} steps; {start})"]
    wanted = [f"port_{kind}_{p}_{member}" for kind in ("in", "out") for p in PORTS
              for member in ("valid", "ready", "payload")]
    _fill_missing(series, wanted, steps, lines)
    for s in range(steps):
        events = []
        for p in PORTS:        # the harness's kept copies of the ports (harness._observe_ports)
            if at(f"port_in_{p}_valid", s):
                taken = "taken" if at(f"port_in_{p}_ready", s) else "not taken (FIFO full)"
                events.append(f"  in  {p:5}: {describe_flit(at(f'port_in_{p}_payload', s))} {taken}")
        for p in PORTS:
            if at(f"port_out_{p}_valid", s):
                sent = "sent" if at(f"port_out_{p}_ready", s) else "waiting (ready low)"
                events.append(f"  out {p:5}: {describe_flit(at(f'port_out_{p}_payload', s))} {sent}")
        lines.append(f"step {s}:" + ("" if events else " idle"))
        lines.extend(events)
    return "\n".join(lines) + "\n"


LINK_WIRES = ("req", "req_s", "ack", "ack_s")


def render_link(path: Path, from_reset: bool = True) -> str:
    """A link counterexample as text: per solver step, which clocks rose, the handshake wires
    (a change marked with *), and the flits offered on `i` (sender side) and `o` (receiver
    side), from the harness's kept copies (link_harness._observe)."""
    series, steps = read_vcd(path)
    start = "step 0 is the reset step" if from_reset else "induction: step 0 is an arbitrary state"
    lines = [f"counterexample {path} ({steps} steps; {start}; a = sender clock, b = receiver clock)"]
    wanted = ["edge_a", "edge_b", "port_i_valid", "port_i_ready", "port_i_payload", "port_o_valid",
              "port_o_ready", "port_o_payload", "port_busy"] + [f"wire_{w}" for w in LINK_WIRES]
    _fill_missing(series, wanted, steps, lines)
    for s in range(steps):
        def at(name):
            return series[name][s]

        rose = [d for d in "ab" if at(f"edge_{d}")]
        wires = " ".join(f"{w}={at(f'wire_{w}')}" + ("*" if s and at(f"wire_{w}") != series[f"wire_{w}"][s - 1] else " ")
                         for w in LINK_WIRES)
        lines.append(f"step {s:3}: {('rise ' + '+'.join(rose)) if rose else '':9} {wires} busy={at('port_busy')}")
        if at("port_i_valid"):
            state = "taken at the next a rise" if at("port_i_ready") else "waiting (link busy)"
            lines.append(f"    i: {describe_flit(at('port_i_payload'))} {state}")
        if at("port_o_valid"):
            state = "written at the next b rise" if at("port_o_ready") else "waiting (ready low)"
            lines.append(f"    o: {describe_flit(at('port_o_payload'))} {state}")
    return "\n".join(lines) + "\n"
