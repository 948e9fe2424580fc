"""The chip's configuration decoder: `cfg_req` / `cfg_resp` (SPEC section 6) onto the per-tile
configuration buses, the domain bridges and the chip registers (docs/architecture.md sections 5,
6 and 8.5).

Timing, for a request accepted in cycle c (`cfg_req.valid & cfg_req.ready`):
- c: the address is decoded combinationally from the payload and the access registered. A chip
  register's value during c is latched at the end of c. For a tile of domain k >= 1, or domain
  k's busy counter, the request goes to domain k's bridge (`start` in c).
- c+1: for a tile of domain 0, `we` or `re` is driven on that tile's bus (a write takes effect at
  the end of c+1), from registers of that tile's own. Registering the access keeps the
  chip-wide `busy` (which gates `ready`) and the decoder's long wires off the paths into the
  tiles' memories (docs/fpga.md).
- c+1+READ_LATENCY = c+4: the tile answers on its `rdata` (hw/cfg_bus.py); the OR of every
  tile's `rdata` (all but the answering one drive 0) and the latched chip register (0 for a
  tile or an unmapped address) is latched into the response register.
- c+5 on: `cfg_resp.valid` is high with the word, until it is taken.
- A bridged access is done in the domain-0 cycle y its bridge reports `done` (section 8.5): a
  read answers on `cfg_resp` from y+1, a write frees `cfg_req` from y+1.
`cfg_req.ready = ~busy & ~pending` where `pending` is set by an accepted read or bridged access
and cleared by the `cfg_resp` transfer or the bridge's `done` (registered state only). Domain-0
writes leave no pending state: they can go back to back, one per cycle.

Unmapped addresses (spec.decode_addr refuses them) read as 0 and writes to them, to counters
and to chip registers are ignored. Field positions all come from neuromesh.spec.
"""
import operator
from functools import reduce

from amaranth.hdl import Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_bus import READ_LATENCY, REGION_BITS, CfgBusSignature

REGION_FIELD_BITS = spec.ADDR_REGION_BITS
TILE_FIELD_TOP = spec.ADDR_TILE_TOP          # bits [TILE_FIELD_TOP, 31) of a tile address must be 0


class BridgeRequestSignature(wiring.Signature):
    """From the decoder's side: one configuration access handed to a domain bridge."""

    def __init__(self, n_tiles: int):
        super().__init__({
            "start": Out(1), "region": Out(REGION_BITS), "offset": Out(spec.ADDR_OFFSET_BITS),
            "wdata": Out(spec.CFG_WORD_BITS), "we": Out(1), "tile": Out(range(max(2, n_tiles))),
            "counter": Out(1),
            "done": In(1), "rdata": In(spec.CFG_WORD_BITS),
        })


def check_partition(params: spec.HwParams, partition) -> tuple:
    """The domain of every tile (tile index order): domain 0 holds tile (0, 0) and the domains
    are numbered 0 .. D-1 with none empty."""
    if partition is None:
        return (0,) * params.n_tiles
    partition = tuple(partition)
    if len(partition) != params.n_tiles or any(isinstance(k, bool) or not isinstance(k, int) or k < 0
                                               for k in partition):
        raise spec.ConfigError("partition", partition, f"must give a domain (0, 1, ...) for each of the "
                               f"{params.n_tiles} tiles")
    if partition[0] != 0:
        raise spec.ConfigError("partition", partition, "tile (0, 0) must be in domain 0")
    if set(partition) != set(range(max(partition) + 1)):
        raise spec.ConfigError("partition", partition, "domains must be numbered 0 .. D-1 with none empty")
    return partition


class CfgDecoder(wiring.Component):
    """`tiles[i]` is the bus of the i-th domain-0 tile (tile index order); `bridges[k-1]` is
    domain k's bridge. `ticks`, `busy_cycles`, `domain0_busy_cycles`, `parity` and `busy` are
    the chip-register values kept by the chip top."""

    def __init__(self, params: spec.HwParams, partition=None):
        self.params = params
        self.partition = check_partition(params, partition)
        self.n_domains = max(self.partition) + 1
        self.members = [[i for i, k in enumerate(self.partition) if k == d] for d in range(self.n_domains)]
        super().__init__({
            "cfg_req": In(stream.Signature(spec.cfg_req_layout())),
            "cfg_resp": Out(stream.Signature(spec.CFG_RESP_WIDTH)),
            "tiles": Out(CfgBusSignature()).array(len(self.members[0])),
            "bridges": Out(BridgeRequestSignature(max(len(t) for t in self.members))).array(self.n_domains - 1),
            "busy": In(1),
            "ticks": In(spec.COUNTER_BITS),
            "busy_cycles": In(spec.COUNTER_BITS),
            "domain0_busy_cycles": In(spec.COUNTER_BITS),
            "parity": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.params
        req = self.cfg_req.payload
        addr = req.addr

        pending = Signal()                  # a read or bridged access not yet finished
        accept = Signal()
        m.d.comb += [self.cfg_req.ready.eq(~self.busy & ~pending),
                     accept.eq(self.cfg_req.valid & self.cfg_req.ready)]

        # ---- decode -------------------------------------------------------------------------
        offset = addr[:spec.ADDR_OFFSET_BITS]
        region = addr[spec.ADDR_REGION_LSB:spec.ADDR_REGION_LSB + REGION_FIELD_BITS]
        tx = addr[spec.ADDR_X_LSB:spec.ADDR_X_LSB + spec.COORD_BITS]
        ty = addr[spec.ADDR_Y_LSB:spec.ADDR_Y_LSB + spec.COORD_BITS]
        is_global = addr[spec.ADDR_GLOBAL_BIT]

        global_ok = Signal()
        m.d.comb += global_ok.eq(is_global & (addr[spec.ADDR_OFFSET_BITS:spec.ADDR_GLOBAL_BIT] == 0))
        chip_hit = Signal()
        m.d.comb += chip_hit.eq(global_ok & (offset < len(spec.CHIP_REGISTERS)))
        dom_reg = Signal(range(spec.MAX_DOMAINS + spec.DOMAIN_BUSY_BASE))
        m.d.comb += dom_reg.eq(offset - spec.DOMAIN_BUSY_BASE)
        dom_hit = Signal()          # a domain's busy counter, 0 <= k < D
        m.d.comb += dom_hit.eq(global_ok & (offset >= spec.DOMAIN_BUSY_BASE)
                               & (offset < spec.DOMAIN_BUSY_BASE + self.n_domains))

        region_ok = Signal()       # region exists and the offset lies inside it
        writable = Signal()
        with m.Switch(region):
            for r, name in enumerate(spec.REGIONS):
                with m.Case(r):
                    m.d.comb += [region_ok.eq(offset < spec.region_size(p, name)),
                                 writable.eq(name in spec.WRITABLE_REGIONS)]
        tile_hit = Signal()
        m.d.comb += tile_hit.eq(~is_global & (addr[TILE_FIELD_TOP:spec.ADDR_GLOBAL_BIT] == 0)
                                & (tx < p.width) & (ty < p.height) & region_ok)
        tile_index = Signal(range(max(2, p.n_tiles)))
        m.d.comb += tile_index.eq(ty * p.width + tx)

        # Which domain the access goes to, and the tile's index among that domain's tiles.
        domain = Signal(range(max(2, self.n_domains)))
        local = Signal(range(max(2, p.n_tiles)))
        with m.Switch(tile_index):
            for i, k in enumerate(self.partition):
                with m.Case(i):
                    m.d.comb += [domain.eq(k), local.eq(self.members[k].index(i))]
        bridged = Signal()         # goes through a domain bridge
        m.d.comb += bridged.eq((tile_hit & (domain != 0)) | (dom_hit & (dom_reg != 0)))

        # The access to a domain-0 tile, registered: driven on its bus in c+1. Each tile's bus
        # has its own registers, loaded only by an access to that tile, so placement can keep
        # them beside the tile: the long wires from `cfg_req` end at these flip-flops in cycle
        # c instead of running, with a tile-index compare, into a core's memory write in c+1
        # (the ECP5 critical path before, docs/fpga.md). A bus's region, offset and data hold
        # its last access; its targets look at them only with `we` or `re`.
        local_go = Signal()
        m.d.comb += local_go.eq(accept & tile_hit & (domain == 0) & (~req.write | writable))
        for j, i in enumerate(self.members[0]):
            bus = self.tiles[j]
            xy = f"{i % p.width}_{i // p.width}"
            go = Signal(name=f"go_{xy}")
            we, re = Signal(name=f"we_{xy}"), Signal(name=f"re_{xy}")
            t_region = Signal.like(region, name=f"region_{xy}")
            t_offset = Signal.like(offset, name=f"offset_{xy}")
            t_wdata = Signal(spec.CFG_WORD_BITS, name=f"wdata_{xy}")
            m.d.comb += go.eq(local_go & (local == j))
            m.d.sync += [we.eq(go & req.write), re.eq(go & ~req.write)]
            with m.If(go):
                m.d.sync += [t_region.eq(region), t_offset.eq(offset), t_wdata.eq(req.data)]
            m.d.comb += [bus.region.eq(t_region), bus.offset.eq(t_offset), bus.wdata.eq(t_wdata),
                         bus.we.eq(we), bus.re.eq(re)]
        for k in range(1, self.n_domains):
            br = self.bridges[k - 1]
            to_k = Signal(name=f"to_domain_{k}")
            counter = Signal(name=f"counter_{k}")
            m.d.comb += [
                counter.eq(dom_hit & (dom_reg == k)),
                to_k.eq(accept & ((tile_hit & (domain == k)) | counter)),
                br.start.eq(to_k), br.region.eq(region), br.offset.eq(offset), br.wdata.eq(req.data),
                br.we.eq(req.write & writable & ~counter), br.tile.eq(local), br.counter.eq(counter),
            ]

        # ---- chip registers (values during cycle c) -----------------------------------------
        status = spec.CHIP_STATUS_WORD
        params_word = spec.CHIP_PARAMS_WORD.pack(width_m1=p.width - 1, height_m1=p.height - 1)
        chip_value = Signal(spec.CFG_WORD_BITS)
        with m.Switch(offset):
            for k, name in enumerate(spec.CHIP_REGISTERS):
                with m.Case(k):
                    value = {
                        "id": Const(spec.CHIP_ID, spec.CFG_WORD_BITS),
                        "params": Const(params_word, spec.CFG_WORD_BITS),
                        "ticks": self.ticks,
                        "busy_cycles": self.busy_cycles,
                        "status": (self.busy << status.field("busy").lsb)
                                  | (self.parity << status.field("parity").lsb),
                        "domains": Const(self.n_domains, spec.CFG_WORD_BITS),
                    }[name]
                    m.d.comb += chip_value.eq(value)
            with m.Case(spec.DOMAIN_BUSY_BASE):
                m.d.comb += chip_value.eq(self.domain0_busy_cycles)

        # ---- read pipeline (domain 0) and bridged accesses ---------------------------------
        # A domain-0 read accepted in c: its answer is taken in c+1+READ_LATENCY (a tile's
        # `rdata` then, or the chip register latched in c, or 0), answered from the cycle after.
        depth = 1 + READ_LATENCY
        stage = [Signal(name=f"rd_stage{k}") for k in range(depth)]      # stage[k]: in cycle c+1+k
        stage_value = Signal(spec.CFG_WORD_BITS)                # chip register value, or 0 if unmapped
        local_chip = Signal()
        m.d.comb += local_chip.eq(chip_hit | (dom_hit & (dom_reg == 0)))

        inflight = Signal(range(max(2, self.n_domains)))         # the bridge of a bridged access
        inflight_read = Signal()
        m.d.sync += stage[0].eq(0)
        for k in range(1, depth):
            m.d.sync += stage[k].eq(stage[k - 1])
        with m.If(accept & bridged):
            m.d.sync += [pending.eq(1), inflight.eq(Mux(tile_hit, domain, dom_reg)),
                         inflight_read.eq(~req.write)]
        with m.Elif(accept & ~req.write):
            m.d.sync += [pending.eq(1), stage[0].eq(1),
                         stage_value.eq(local_chip.replicate(spec.CFG_WORD_BITS) & chip_value)]

        resp_valid = Signal()
        resp_data = Signal(spec.CFG_WORD_BITS)
        # A tile answers its own read on `rdata` and drives 0 in every other cycle (hw/cfg_bus.py),
        # and `stage_value` is 0 for a tile's read: so the answer is the OR of all of them, with
        # no select across the chip into `cfg_resp` (docs/fpga.md).
        answer = Signal(spec.CFG_WORD_BITS)
        m.d.comb += answer.eq(reduce(operator.or_, [bus.rdata for bus in self.tiles], stage_value))
        with m.If(stage[depth - 1]):
            m.d.sync += [resp_valid.eq(1), resp_data.eq(answer)]
        for k in range(1, self.n_domains):
            br = self.bridges[k - 1]
            with m.If(pending & (inflight == k) & br.done):
                with m.If(inflight_read):
                    m.d.sync += [resp_valid.eq(1), resp_data.eq(br.rdata)]
                with m.Else():
                    m.d.sync += pending.eq(0)
        m.d.comb += [self.cfg_resp.valid.eq(resp_valid), self.cfg_resp.payload.eq(resp_data)]
        with m.If(self.cfg_resp.valid & self.cfg_resp.ready):
            m.d.sync += [resp_valid.eq(0), pending.eq(0)]
        return m
