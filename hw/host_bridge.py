"""The board host bridge: frames from a byte stream (a UART) to the chip's SPEC section 6 host
ports and back (docs/board.md; the wire format is `neuromesh.tools.board.protocol`, from which
this gateware takes every code, length and constant).

    rx bytes -> receive FIFO -> decoder/executor -> cfg_req, spike_in, tick, chip_rst
                                       |           <- cfg_resp, busy
                                       v (one response per command)
    spike_out ---------------------> arbiter -> frame encoder -> transmit FIFO -> tx bytes
    line errors ------------------->

- The decoder reads one frame at a time from the receive FIFO (it always reads LEN payload
  bytes and the CRC first, so a bad frame is skipped whole), then executes it, then queues its
  one response; only then does it read the next frame. So commands take effect in order: a
  TICK starts only after every SPIKE before it was accepted on `spike_in`, and a SPIKE after a
  TICK reaches the chip only after that tick completed.
- Flow control towards the bridge: the receive FIFO (`rx_depth` bytes) absorbs what arrives
  while a command waits on the chip; the host keeps at most `rx_depth` bytes of unanswered
  commands on the line (it reads `rx_depth` with INFO), so the FIFO never overflows. If it
  does, the byte is lost and an OVERRUN error is reported.
- Flow control towards the host: `spike_out.ready` is high only while the encoder's holding
  register is free, so a flit is never dropped: while the UART is busy the chip stalls
  (SPEC section 2), which stretches busy cycles and tick lengths but changes no spike.
- Ordering: spike_out flits, unsolicited errors and responses enter the encoder one frame at a
  time, spike_out first. A tick's DONE is queued when `busy` is low, and `busy` is high while
  any flit is still inside the mesh, so every flit of a tick is framed before its DONE.
- Cycle stamps come from a free-running counter (`protocol.CYCLE_BITS` bits, zeroed by ZERO):
  the handshake cycle h of a TICK, its completion q (the first cycle after h with `busy` low,
  docs/architecture.md section 7) and the cycle each spike_out flit left.
"""
from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.mesh import TickSignature
from neuromesh.tools.board import protocol as proto

BYTE = 8
DATA_BITS = proto.MAX_PAYLOAD * BYTE        # the payload register of both directions
MIN_DEPTH = proto.MIN_RX_DEPTH              # at least one frame of the longest kind
_FLAG = {err: 1 << bit for err, bit in proto.FLAG_BIT.items()}


def _crc8_masks() -> list:
    """CRC-8 of one byte, as eight XOR masks: the CRC (init 0) is linear over GF(2), so output
    bit j is the XOR of the bits of (crc ^ byte) named by mask j. Worked out here from
    `protocol.crc8`, the host's definition, so the two cannot differ."""
    columns = [proto.crc8(bytes([1 << i])) for i in range(BYTE)]
    return [sum(1 << i for i in range(BYTE) if columns[i] >> j & 1) for j in range(BYTE)]


_CRC_MASKS = _crc8_masks()


def crc8_next(crc, byte):
    """The CRC after `byte` (combinational, one level of XORs)."""
    x = crc ^ byte
    return Cat(*[Cat(*[x[i] for i in range(BYTE) if mask >> i & 1]).xor() for mask in _CRC_MASKS])


class HostBridge(wiring.Component):
    """`rx`/`tx`: bytes from and to the line (`rx.ready` is the receive FIFO's room; the UART
    cannot wait, so a byte it cannot hand over is an overrun it reports on `rx_overrun`).
    `rx_overrun`, `rx_framing`: one-cycle pulses from the UART receiver. The chip side has the
    SPEC section 6 ports, flipped, plus `chip_rst` (the chip's synchronous reset, high for one
    cycle on RESET). `flags`: the sticky error flags (`protocol.FLAG_BIT`), for an LED."""

    def __init__(self, params: spec.HwParams, *, clk_hz: int, divisor: int,
                 rx_depth: int = 512, tx_depth: int = 512):
        if not isinstance(params, spec.HwParams):
            raise spec.ConfigError("params", params, "must be a neuromesh.spec.HwParams")
        for name, value in (("clk_hz", clk_hz), ("divisor", divisor)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 1 << 32:
                raise spec.ConfigError(name, value, "must be a positive 32-bit integer")
        for name, value in (("rx_depth", rx_depth), ("tx_depth", tx_depth)):
            if isinstance(value, bool) or not isinstance(value, int) or not MIN_DEPTH <= value < 1 << 16:
                raise spec.ConfigError(name, value, f"must be an integer from {MIN_DEPTH} to 65535 bytes")
        self.params, self.clk_hz, self.divisor = params, clk_hz, divisor
        self.rx_depth, self.tx_depth = rx_depth, tx_depth
        super().__init__({
            "rx": In(stream.Signature(BYTE)),
            "tx": Out(stream.Signature(BYTE)),
            "rx_overrun": In(1),
            "rx_framing": In(1),
            # The chip's host ports, seen from the host (wiring.connect checks them against Chip).
            "cfg_req": Out(stream.Signature(spec.cfg_req_layout())),
            "cfg_resp": In(stream.Signature(spec.CFG_RESP_WIDTH)),
            "spike_in": Out(stream.Signature(spec.flit_layout())),
            "spike_out": In(stream.Signature(spec.flit_layout())),
            "tick": Out(TickSignature),
            "busy": In(1),
            "chip_rst": Out(1),
            "flags": Out(len(proto.FLAG_BIT)),
        })

    def info_values(self) -> dict:
        """The constant INFO words (the others are status read live)."""
        values = {"magic": proto.MAGIC, "clk_hz": self.clk_hz, "divisor": self.divisor,
                  "rx_depth": self.rx_depth, "tx_depth": self.tx_depth}
        values.update({name: getattr(self.params, name) for name in proto.PARAM_INFO})
        return values

    def elaborate(self, platform):
        m = Module()
        C, R = proto.Command, proto.Response

        m.submodules.rx_fifo = rx_fifo = SyncFIFOBuffered(width=BYTE, depth=self.rx_depth)
        m.submodules.tx_fifo = tx_fifo = SyncFIFOBuffered(width=BYTE, depth=self.tx_depth)
        m.d.comb += [rx_fifo.w_data.eq(self.rx.payload), rx_fifo.w_en.eq(self.rx.valid),
                     self.rx.ready.eq(rx_fifo.w_rdy),
                     self.tx.payload.eq(tx_fifo.r_data), self.tx.valid.eq(tx_fifo.r_rdy),
                     tx_fifo.r_en.eq(self.tx.ready)]

        cycle = Signal(proto.CYCLE_BITS)
        m.d.sync += cycle.eq(cycle + 1)      # ZERO below overrides this

        # -- Sticky error flags. An unsolicited ERROR frame is queued only when its flag rises,
        # so a line stuck at the wrong baud rate yields one frame, not a flood; reading INFO
        # `flags` clears them (and re-arms the frames).
        flags = Signal(len(proto.FLAG_BIT))
        pending = Signal(len(proto.FLAG_BIT))
        sync_byte = Signal(BYTE)             # the first byte discarded outside a frame
        raise_flags = Signal(len(proto.FLAG_BIT))
        clear_flags = Signal()
        m.d.comb += self.flags.eq(flags)
        m.d.comb += raise_flags.eq(Mux(self.rx_overrun, _FLAG[proto.Error.OVERRUN], 0)
                                   | Mux(self.rx_framing, _FLAG[proto.Error.FRAMING], 0))
        # (the decoder ORs in the SYNC flag below)

        # -- Response handshake between the executor and the arbiter.
        resp_valid = Signal()
        resp_taken = Signal()
        resp_kind = Signal(BYTE)
        resp_data = Signal(DATA_BITS)

        # -- Decoder and executor: one frame at a time.
        byte = rx_fifo.r_data
        code = Signal(BYTE)
        length = Signal(BYTE)
        count = Signal(BYTE)
        crc = Signal(BYTE)
        payload = Signal(DATA_BITS)
        addr, data, flit, index = payload[:32], payload[32:64], payload[:spec.FLIT_WIDTH], payload[:BYTE]
        h = Signal(proto.CYCLE_BITS)

        known = Signal()
        expected_len = Signal(BYTE)
        with m.Switch(code):
            for cmd in C:
                with m.Case(int(cmd)):
                    m.d.comb += [known.eq(1), expected_len.eq(proto.COMMAND_LEN[cmd])]

        info_word = Signal(32)
        with m.Switch(index):
            for name, value in self.info_values().items():
                with m.Case(proto.INFO_INDEX[name]):
                    m.d.comb += info_word.eq(value)
            with m.Case(proto.INFO_INDEX["flags"]):
                m.d.comb += info_word.eq(flags)
            with m.Case(proto.INFO_INDEX["cycle"]):
                m.d.comb += info_word.eq(cycle)
            with m.Case(proto.INFO_INDEX["busy"]):
                m.d.comb += info_word.eq(self.busy)

        def respond(kind, value):
            m.d.sync += [resp_kind.eq(kind), resp_data.eq(value)]
            m.next = "RESPOND"

        def error(err):
            respond(R.ERROR, Cat(Const(err, BYTE), code))

        with m.FSM():
            with m.State("HUNT"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    with m.If(byte == proto.SYNC):
                        m.next = "CODE"
                    with m.Else():
                        m.d.comb += raise_flags[proto.FLAG_BIT[proto.Error.SYNC]].eq(1)
                        with m.If(~flags[proto.FLAG_BIT[proto.Error.SYNC]]):
                            m.d.sync += sync_byte.eq(byte)
            with m.State("CODE"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    m.d.sync += [code.eq(byte), crc.eq(crc8_next(Const(0, BYTE), byte))]
                    m.next = "LEN"
            with m.State("LEN"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    m.d.sync += [length.eq(byte), count.eq(0), crc.eq(crc8_next(crc, byte))]
                    with m.If(byte == 0):
                        m.next = "CHECK"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    m.d.sync += [count.eq(count + 1), crc.eq(crc8_next(crc, byte))]
                    # Little-endian: byte k of the payload is bits 8k+7..8k; bytes past the
                    # register belong to a frame that will be refused for its length anyway.
                    with m.Switch(count):
                        for k in range(proto.MAX_PAYLOAD):
                            with m.Case(k):
                                m.d.sync += payload.word_select(k, BYTE).eq(byte)
                    with m.If(count + 1 == length):
                        m.next = "CHECK"
            with m.State("CHECK"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    with m.If(byte != crc):
                        error(proto.Error.CHECKSUM)
                    with m.Elif(~known):
                        error(proto.Error.COMMAND)
                    with m.Elif(length != expected_len):
                        error(proto.Error.LENGTH)
                    with m.Else():
                        with m.Switch(code):
                            for cmd in C:
                                with m.Case(int(cmd)):
                                    m.next = cmd.name
            with m.State("INFO"):
                with m.If(index == proto.INFO_INDEX["flags"]):
                    m.d.comb += clear_flags.eq(1)
                respond(R.WORD, info_word)
            with m.State("WRITE"):
                m.d.comb += [self.cfg_req.valid.eq(1), self.cfg_req.payload.addr.eq(addr),
                             self.cfg_req.payload.data.eq(data), self.cfg_req.payload.write.eq(1)]
                with m.If(self.cfg_req.ready):
                    respond(R.ACK, code)
            with m.State("READ"):
                m.d.comb += [self.cfg_req.valid.eq(1), self.cfg_req.payload.addr.eq(addr)]
                with m.If(self.cfg_req.ready):
                    m.next = "READ_WAIT"
            with m.State("READ_WAIT"):
                m.d.comb += self.cfg_resp.ready.eq(1)
                with m.If(self.cfg_resp.valid):
                    respond(R.WORD, self.cfg_resp.payload)
            with m.State("SPIKE"):
                m.d.comb += [self.spike_in.valid.eq(1), self.spike_in.payload.eq(flit)]
                with m.If(self.spike_in.ready):
                    respond(R.ACK, code)
            with m.State("TICK"):
                m.d.comb += self.tick.valid.eq(1)
                with m.If(self.tick.ready):
                    m.d.sync += h.eq(cycle)
                    m.next = "TICK_WAIT"
            with m.State("TICK_WAIT"):
                # From the cycle after the handshake: the first with busy low completes it.
                with m.If(~self.busy):
                    respond(R.DONE, Cat(h, cycle))
            with m.State("RESET"):
                m.d.comb += self.chip_rst.eq(1)
                respond(R.ACK, code)
            with m.State("ZERO"):
                m.d.sync += cycle.eq(0)
                respond(R.ACK, code)
            with m.State("RESPOND"):
                m.d.comb += resp_valid.eq(1)
                with m.If(resp_taken):
                    m.next = "HUNT"

        with m.If(clear_flags):
            m.d.sync += flags.eq(raise_flags)
        with m.Else():
            m.d.sync += flags.eq(flags | raise_flags)

        # -- Arbiter: one frame into the encoder's holding register per free cycle; spike_out
        # first (it must never wait on a response, or a response on a TICK could wait on it),
        # then unsolicited errors, then the executor's response.
        hold_valid = Signal()
        hold_kind = Signal(BYTE)
        hold_data = Signal(DATA_BITS)
        # A flag cleared in this cycle is re-armed: a pulse now queues a frame again.
        new_errors = raise_flags & ~Mux(clear_flags, 0, flags)
        m.d.comb += self.spike_out.ready.eq(~hold_valid)
        m.d.sync += pending.eq(pending | new_errors)
        with m.If(~hold_valid):
            with m.If(self.spike_out.valid):
                m.d.sync += [hold_valid.eq(1), hold_kind.eq(R.OUT),
                             hold_data.eq(Cat(self.spike_out.payload.as_value(), cycle))]
            with m.Elif(pending.any()):
                # Lowest flag bit first; `cmd` is 0 except for SYNC, which names the byte.
                for i, (err, bit) in enumerate(sorted(proto.FLAG_BIT.items(), key=lambda e: e[1])):
                    with (m.If if i == 0 else m.Elif)(pending[bit]):
                        cmd = sync_byte if err is proto.Error.SYNC else Const(0, BYTE)
                        m.d.sync += [hold_valid.eq(1), hold_kind.eq(R.ERROR),
                                     hold_data.eq(Cat(Const(err, BYTE), cmd)),
                                     pending.eq((pending | new_errors) & ~(1 << bit))]
            with m.Elif(resp_valid):
                m.d.comb += resp_taken.eq(1)
                m.d.sync += [hold_valid.eq(1), hold_kind.eq(resp_kind), hold_data.eq(resp_data)]

        # -- Encoder: SYNC, CODE, LEN, PAYLOAD (little-endian), CRC, one byte per cycle into
        # the transmit FIFO.
        hold_len = Signal(BYTE)
        with m.Switch(hold_kind):
            for kind in R:
                with m.Case(int(kind)):
                    m.d.comb += hold_len.eq(proto.RESPONSE_LEN[kind])
        pos = Signal(range(proto.HEADER_BYTES + proto.MAX_PAYLOAD + proto.TRAILER_BYTES))
        out_crc = Signal(BYTE)
        out_byte = Signal(BYTE)
        with m.If(pos == 0):
            m.d.comb += out_byte.eq(proto.SYNC)
        with m.Elif(pos == 1):
            m.d.comb += out_byte.eq(hold_kind)
        with m.Elif(pos == 2):
            m.d.comb += out_byte.eq(hold_len)
        with m.Elif(pos == proto.HEADER_BYTES + hold_len):
            m.d.comb += out_byte.eq(out_crc)
        with m.Else():
            m.d.comb += out_byte.eq(hold_data[:BYTE])
        m.d.comb += [tx_fifo.w_data.eq(out_byte), tx_fifo.w_en.eq(hold_valid)]
        with m.If(hold_valid & tx_fifo.w_rdy):
            m.d.sync += pos.eq(pos + 1)
            with m.If(pos != 0):
                m.d.sync += out_crc.eq(crc8_next(out_crc, out_byte))
            with m.If((pos >= proto.HEADER_BYTES) & (pos != proto.HEADER_BYTES + hold_len)):
                m.d.sync += hold_data.eq(hold_data >> BYTE)
            with m.If(pos == proto.HEADER_BYTES + hold_len):
                m.d.sync += [hold_valid.eq(0), pos.eq(0), out_crc.eq(0)]
        return m
