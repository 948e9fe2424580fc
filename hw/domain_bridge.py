"""What crosses between domain 0 (the host's, `sync`) and one other clock domain k, besides the
flits: the tick barrier, busy, configuration access and domain k's busy-cycle counter
(docs/architecture.md sections 8.3-8.7; the golden model computes the same cycles with
`neuromesh.clocks`).

Toggle pairs, each source bit a register and each crossing a two-flip-flop synchronizer:

    domain 0                         domain k
    arm  ------------------------->  arm_s  != armed  : flip (cores flip fill); armed <= arm_s
    armed_s <----------------------  armed
    go   ------------------------->  go_s   != gone   : start (cores update);   gone <= go_s
    started_s, busy_s <------------  started <= gone, busy_q <= busy_k  (loaded together)
    creq (+ request registers) --->  creq_s != cseen  : one access on a tile bus; cseen <= creq_s
    cack_s (+ crdata) <------------  cack, crdata (loaded READ_LATENCY + 1 cycles after the access)

`arm` and `go` belong to the chip top (one pair for all domains); this bridge synchronizes them
into domain k and its acknowledges back.
"""
from amaranth.hdl import Array, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from neuromesh import spec
from neuromesh.hw.cfg_bus import READ_LATENCY, REGION_BITS, CfgBusSignature


class DomainBridge(wiring.Component):
    """Domain 0 = `sync`; domain k = `domain`. `tiles[i]` is the configuration bus of the i-th
    tile of domain k (tile index order). Configuration request from domain 0: `cfg_start`
    pulses in the accept cycle with `cfg_region`, `cfg_offset`, `cfg_wdata`, `cfg_we`,
    `cfg_tile` (index among this domain's tiles) and `cfg_counter` (a read of the domain's busy
    cycle counter instead of a tile); `cfg_done` pulses in domain 0 when it is finished, with
    the read word on `cfg_rdata` (stable until the next request)."""

    def __init__(self, domain: str, n_tiles: int):
        if not isinstance(n_tiles, int) or n_tiles < 1:
            raise ValueError(f"a domain bridge serves at least one tile, not {n_tiles!r}")
        self.domain = domain
        self.n_tiles = n_tiles
        super().__init__({
            # domain 0 side
            "arm": In(1), "go": In(1),
            "armed_s": Out(1), "started_s": Out(1), "busy_s": Out(1),
            "cfg_start": In(1), "cfg_region": In(REGION_BITS), "cfg_offset": In(spec.ADDR_OFFSET_BITS),
            "cfg_wdata": In(spec.CFG_WORD_BITS), "cfg_we": In(1), "cfg_tile": In(range(max(2, n_tiles))),
            "cfg_counter": In(1),
            "cfg_done": Out(1), "cfg_rdata": Out(spec.CFG_WORD_BITS),
            # domain k side
            "flip": Out(1), "start": Out(1), "busy_k": In(1),
            "tiles": Out(CfgBusSignature()).array(n_tiles),
        })

    def elaborate(self, platform):
        m = Module()
        k = m.d[self.domain]
        dk = self.domain

        def sync(src, dst, domain):
            # Stages reset with their destination domain: after a reset no toggle pair looks
            # as if a request were in flight (architecture 8.6).
            m.submodules += FFSynchronizer(src, dst, o_domain=domain, stages=2, reset_less=False)

        # ---- tick barrier (section 8.3) -----------------------------------------------------
        arm_s, go_s = Signal(), Signal()
        armed, gone, started, busy_q = Signal(), Signal(), Signal(), Signal()
        sync(self.arm, arm_s, dk)
        sync(self.go, go_s, dk)
        sync(armed, self.armed_s, "sync")
        sync(started, self.started_s, "sync")
        sync(busy_q, self.busy_s, "sync")
        m.d.comb += [self.flip.eq(arm_s != armed), self.start.eq(go_s != gone)]
        # `started` and `busy_q` load together, so domain 0 never sees a domain's start without
        # the busy its update phase raised (section 8.4).
        k += [armed.eq(arm_s), gone.eq(go_s), started.eq(gone), busy_q.eq(self.busy_k)]

        # ---- domain k's busy-cycle counter (section 8.7) -----------------------------------
        busy_cycles = Signal(spec.COUNTER_BITS)
        with m.If(self.busy_k):
            k += busy_cycles.eq(busy_cycles + 1)

        # ---- configuration (section 8.5) ---------------------------------------------------
        creq = Signal()                                    # domain 0
        region = Signal(REGION_BITS)
        offset = Signal(spec.ADDR_OFFSET_BITS)
        wdata = Signal(spec.CFG_WORD_BITS)
        we, counter = Signal(), Signal()
        tile = Signal.like(self.cfg_tile)
        with m.If(self.cfg_start):
            m.d.sync += [creq.eq(~creq), region.eq(self.cfg_region), offset.eq(self.cfg_offset),
                         wdata.eq(self.cfg_wdata), we.eq(self.cfg_we), tile.eq(self.cfg_tile),
                         counter.eq(self.cfg_counter)]
        creq_s, cseen, cack = Signal(), Signal(), Signal()  # domain k
        access, answer_counter = Signal(), Signal()
        crdata = Signal(spec.CFG_WORD_BITS)
        sync(creq, creq_s, dk)
        m.d.comb += access.eq(creq_s != cseen)
        k += [cseen.eq(creq_s), answer_counter.eq(counter)]
        answer = access                  # x + READ_LATENCY: the tile's answer (cfg_bus.py)
        for j in range(READ_LATENCY):
            later = Signal(name=f"answer_{j + 1}")
            k += later.eq(answer)
            answer = later
        for i, bus in enumerate(self.tiles):
            here = access & ~counter & (tile == i)
            m.d.comb += [bus.region.eq(region), bus.offset.eq(offset), bus.wdata.eq(wdata),
                         bus.we.eq(here & we), bus.re.eq(here & ~we)]
        rdata = Array(bus.rdata for bus in self.tiles)
        with m.If(answer):    # x+3: the tile's read word (or the counter); cack at x+4
            k += [crdata.eq(Mux(answer_counter, busy_cycles, rdata[tile])), cack.eq(~cack)]
        cack_s, cdone = Signal(), Signal()                 # domain 0
        sync(cack, cack_s, "sync")
        m.d.sync += cdone.eq(cack_s)
        m.d.comb += [self.cfg_done.eq(cack_s != cdone), self.cfg_rdata.eq(crdata)]
        return m
