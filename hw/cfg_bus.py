"""The chip-internal configuration bus: how the `cfg_req` decoder (hw/mesh.py) reaches the
memories and counters of a tile's core and router.

The decoder drives `region`, `offset`, `wdata`, `we` and `re` for exactly one cycle per access
(a write takes effect at the end of that cycle); the target answers a read (`re` high in cycle
r) on `rdata` in cycle r + READ_LATENCY, and drives 0 in every other cycle and for a read that
named nothing of its own (so a tile ORs its parts' answers). Three cycles: the memory read, its
word into a register, the selected word into `rdata`, so no logic follows a block RAM's output
or precedes the decoder's long wires in the same cycle (docs/fpga.md). Targets only see accesses
while the chip is quiescent (docs/architecture.md section 5).
"""
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from neuromesh.spec import ADDR_OFFSET_BITS, CFG_WORD_BITS, REGIONS

REGION_BITS = max(1, (len(REGIONS) - 1).bit_length())
READ_LATENCY = 3


class CfgBusSignature(wiring.Signature):
    """From the decoder's side (`Out` = driven by the decoder)."""

    def __init__(self):
        super().__init__({
            "region": Out(REGION_BITS),
            "offset": Out(ADDR_OFFSET_BITS),
            "wdata": Out(CFG_WORD_BITS),
            "we": Out(1),
            "re": Out(1),
            "rdata": In(CFG_WORD_BITS),
        })
