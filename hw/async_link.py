"""The four-phase, bundled-data address-event link between neighbouring tiles of different clock
domains (SPEC section 5a; docs/architecture.md section 8.2; golden twin: sim/async_link.py).

    domain a (sender)                              domain b (receiver)
    router output --i--> [data, req] ----req----> FF FF --req_s--> valid = req_s & ~ack --o--> FIFO
                              ^                                        |
                              +---- ack_s <-- FF FF <------ack--------- [ack]

Sender: `i.ready = ~req & ~ack_s`; a transfer loads `data` and sets `req`; `req & ack_s` clears
`req`; `busy = req | ack_s` (the link is busy in the sender's domain from the moment the flit
leaves the router until the sender sees `ack` low again, SPEC 2).
Receiver: `o.valid = req_s & ~ack`, `o.payload = data` (stable: it changes only while `req` is
low, and `req_s` rose two receiver edges after `req`); the transfer into the FIFO sets `ack`;
`~req_s & ack` clears it.

Every signal that crosses is a flip-flop of its source domain, then two synchronizer stages in
the destination (`amaranth.lib.cdc.FFSynchronizer`), so no combinational path crosses and each
`ready`/`valid` is a function of registered state only (architecture section 2).
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from neuromesh import spec


class AsyncLink(wiring.Component):
    """`i` (a stream in domain `src`) to `o` (a stream in domain `dst`); `busy` is in `src`.
    A flit crosses in the `dst` cycle of the transfer on `o` (the receiving tile counts it)."""

    def __init__(self, src: str, dst: str):
        for name, value in (("src", src), ("dst", dst)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"AsyncLink {name} must be a clock domain name, not {value!r}")
        if src == dst:
            raise ValueError(f"AsyncLink joins two different domains, not {src!r} to itself")
        self.src, self.dst = src, dst
        flit = stream.Signature(spec.flit_layout())
        super().__init__({
            "i": In(flit),
            "o": Out(flit),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        src, dst = m.d[self.src], m.d[self.dst]
        data = Signal(spec.FLIT_WIDTH)   # src: the flit, bundled with req
        req = Signal()                   # src
        ack = Signal()                   # dst
        req_s = Signal()                 # req seen in dst
        ack_s = Signal()                 # ack seen in src
        # Synchronizer stages reset with their destination domain, so a reset chip holds no
        # stale handshake (architecture 8.6).
        m.submodules.req_sync = FFSynchronizer(req, req_s, o_domain=self.dst, stages=2, reset_less=False)
        m.submodules.ack_sync = FFSynchronizer(ack, ack_s, o_domain=self.src, stages=2, reset_less=False)

        # ---- sender (domain src) -----------------------------------------------------------
        m.d.comb += [self.i.ready.eq(~req & ~ack_s), self.busy.eq(req | ack_s)]
        with m.If(self.i.valid & self.i.ready):
            src += [data.eq(self.i.payload), req.eq(1)]
        with m.If(req & ack_s):
            src += req.eq(0)

        # ---- receiver (domain dst) ---------------------------------------------------------
        transfer = Signal()
        m.d.comb += [self.o.valid.eq(req_s & ~ack), self.o.payload.eq(data),
                     transfer.eq(self.o.valid & self.o.ready)]
        with m.If(transfer):
            dst += ack.eq(1)
        with m.If(~req_s & ack):
            dst += ack.eq(0)
        return m
