"""White-box access to an elaborated router, for the harness's inductive lemmas.

The properties themselves are stated on the router's ports. Induction, though, needs
invariants over state the ports do not show: FIFO levels and pointers, what each FIFO slot
holds, the round-robin pointers, the counters. This module reaches them without touching
`hw/router.py`:

- `FormalPlatform` is the `platform` handed to every `elaborate`. It compares equal to
  `"formal"`, so `amaranth.lib.fifo.SyncFIFO` adds its own pointer/level invariants (asserted
  after the first cycle, assumed in it), and it implements the documented
  `get_memory(memory)` override to give every FIFO memory one extra asynchronous read port per
  row, so the harness can read each slot as a signal. Read ports change nothing the design does.
- `find_signals(fragment)` lists every signal the elaborated hierarchy drives, by hierarchical
  name (`rr_east`, `fifo_west.queue.consume`), so the harness can name the internals it needs.

`RouterProbes` gathers those names for one router; if `hw/router.py` or `hw/fifo.py` renames a
signal the harness relies on, elaboration stops with a `ProbeError` naming it.
"""
from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Const, Fragment, MemoryInstance, Signal

from neuromesh.spec import FLIT_WIDTH, N_PORTS, PORTS, ROUTER_COUNTERS


class ProbeError(Exception):
    """The elaborated router no longer has a signal the harness relies on."""


class FormalPlatform(str):
    """`platform` for formal elaboration: equal to "formal", and a memory builder with probes.

    A `str` subclass because that is what `SyncFIFO.elaborate` compares against.
    """

    def __new__(cls):
        self = super().__new__(cls, "formal")
        self.memories = []        # (memory, [probe signal per row]) in elaboration order
        return self

    def get_memory(self, memory):
        # The body of `amaranth.lib.memory.Memory.elaborate`, plus one comb read port per row.
        instance = MemoryInstance(data=memory.data, attrs=memory.attrs, src_loc=memory.src_loc)
        write_ports = {}
        for port in memory.write_ports:
            write_ports[port] = instance.write_port(domain=port.domain, addr=port.addr,
                                                    data=port.data, en=port.en)
        for port in memory.read_ports:
            instance.read_port(domain=port.domain, data=port.data, addr=port.addr, en=port.en,
                               transparent_for=tuple(write_ports[p] for p in port.transparent_for))
        addr_width = len(memory.read_ports[0].addr) if memory.read_ports else 0
        rows = []
        for row in range(memory.depth):
            probe = Signal(memory.shape, name=f"probe_row{row}")
            instance.read_port(domain="comb", data=probe, addr=Const(row, addr_width), en=Const(1),
                               transparent_for=())
            rows.append(probe)
        self.memories.append((memory, rows))
        return instance


def find_signals(fragment: Fragment, prefix: str = "") -> dict[str, Signal]:
    """Every signal driven in `fragment` and its subfragments, by dotted hierarchical name."""
    found: dict[str, Signal] = {}
    for statements in fragment.statements.values():
        for statement in statements:
            # `_lhs_signals` is Amaranth-internal (stable through 0.5.x, which pyproject pins).
            for signal in statement._lhs_signals():
                found[prefix + signal.name] = signal
    for sub, name, _src_loc in fragment.subfragments:
        found.update(find_signals(sub, f"{prefix}{name}."))
    return found


@dataclass
class FifoProbes:
    """One input FIFO: its head (what the router sees), occupancy and storage. A FIFO entry is
    the flit (its low FLIT_WIDTH bits) and the route decision the router stored with it when it
    was written (`hw/router.py`: the output port one-hot, none if refused, then the refused
    bit)."""
    head_valid: Signal
    head: object            # raw flit bits of the head slot
    pop: object             # a flit leaves the FIFO this cycle (read enable and not empty)
    level: Signal
    consume: Signal         # slot index of the head
    slots: list             # [flit bits per slot], the memory's contents
    stored: list            # [(port, refused) stored beside the flit, per slot]


@dataclass
class RouterProbes:
    fifos: list             # [FifoProbes] by input port
    rr: list                # round-robin pointer by output port
    stalled: list           # by output port: last cycle's grant did not transfer
    held: list              # by output port: that grant (one-hot), granted again while stalled
    counters: dict          # name in spec.ROUTER_COUNTERS -> counter register

    @classmethod
    def of(cls, fragment: Fragment, platform: FormalPlatform, depth: int) -> "RouterProbes":
        signals = find_signals(fragment)

        def get(name):
            if name not in signals:
                raise ProbeError(f"the elaborated router has no signal {name!r} (renamed in "
                                 "hw/router.py or hw/fifo.py? update tools/formal/probes.py)")
            return signals[name]

        by_write_addr = {id(memory.write_ports[0].addr): rows for memory, rows in platform.memories}
        fifos = []
        for port in PORTS:
            q = f"fifo_{port}"
            write_addr = get(f"{q}.queue.w_port__addr")
            if id(write_addr) not in by_write_addr:
                raise ProbeError(f"no memory found behind {q} (hw/fifo.py no longer a SyncFIFO?)")
            slots = by_write_addr[id(write_addr)]
            if len(slots) != depth:
                raise ProbeError(f"{q} has {len(slots)} slots, expected fifo_depth {depth}")
            head_valid = get(f"{q}.r__valid")
            port_bits = N_PORTS                             # one-hot
            fifos.append(FifoProbes(
                head_valid=head_valid, head=get(f"{q}.r__payload")[:FLIT_WIDTH],
                pop=get(f"{q}.r_en") & head_valid, level=get(f"{q}.level"),
                consume=get(f"{q}.queue.consume"),          # 0 bits wide at depth 1
                slots=[row[:FLIT_WIDTH] for row in slots],
                stored=[(row[FLIT_WIDTH:FLIT_WIDTH + port_bits], row[FLIT_WIDTH + port_bits]) for row in slots]))
        rr = [get(f"rr_{port}") for port in PORTS]
        stalled = [get(f"stalled_{port}") for port in PORTS]
        held = [get(f"held_{port}") for port in PORTS]
        counters = {name: get(f"cnt_{name}") for name in ROUTER_COUNTERS}
        return cls(fifos=fifos, rr=rr, stalled=stalled, held=held, counters=counters)


@dataclass
class LinkProbes:
    """The handshake registers of one `hw.async_link.AsyncLink` (docs/architecture.md 8.2):
    `req` and `data` in the sender's domain, `ack` in the receiver's, and each synchronizer's
    two stages (`req_s`, `ack_s` are the second stages' outputs)."""
    data: Signal
    req: Signal
    req_stage0: Signal      # first synchronizer stage of req, in the receiver's domain
    req_s: Signal
    ack: Signal
    ack_stage0: Signal      # first synchronizer stage of ack, in the sender's domain
    ack_s: Signal

    @classmethod
    def of(cls, fragment: Fragment, exact: bool = True) -> "LinkProbes":
        """`exact` False (a mutant link, checked by bounded runs that use no lemmas) accepts a
        synchronizer replaced by a plain register or a wire: its stages are then `req_s`
        (`ack_s`) itself, wherever it is driven."""
        signals = find_signals(fragment)

        def get(name, *fallbacks):
            for candidate in (name,) + (() if exact else fallbacks):
                if candidate in signals:
                    return signals[candidate]
            raise ProbeError(f"the elaborated link has no signal {name!r} (renamed in "
                             "hw/async_link.py? update tools/formal/probes.py)")

        return cls(data=get("data"), req=get("req"), ack=get("ack"),
                   req_stage0=get("req_sync.stage0", "req_sync.req_s", "req_s"),
                   req_s=get("req_sync.req_s", "req_s"),
                   ack_stage0=get("ack_sync.stage0", "ack_sync.ack_s", "ack_s"),
                   ack_s=get("ack_sync.ack_s", "ack_s"))

    def handshake(self) -> list:
        """The six handshake bits in the order the handshake moves through them (a Johnson
        counter: each copies the one before it, `req` the inverse of `ack_s`)."""
        return [self.req, self.req_stage0, self.req_s, self.ack, self.ack_stage0, self.ack_s]
