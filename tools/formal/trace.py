"""A counterexample VCD from smtbmc as text: per cycle, the flits offered and taken at the
router's ports, decoded with `spec.unpack_flit` (docs/formal.md, "Reading a failure").
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
                step = last_step = value
            elif token in ids:
                values.setdefault(ids[token], {})[step] = value
            pending = None
        elif token[0] in "01xz" and token[1:] in ids:
            values.setdefault(ids[token[1:]], {})[step] = int(token[0]) if token[0] in "01" else 0
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
    missing = [name for name in wanted if name not in series]
    if missing:
        lines.append(f"(not in this trace, shown as 0: {', '.join(missing)})")
        for name in missing:
            series[name] = [0] * steps
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
