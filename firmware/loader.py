"""Load an image through a configuration transport (`neuromesh.result.Transport`: `write(addr,
data)`, `read(addr) -> int`), which the golden model and the RTL testbench both implement.

Every address is decoded before the first write, so a bad image changes nothing. With `verify`,
every written address is read back and compared with the word last written there, masked by its
layout (bits outside a word's fields are ignored on write and read as 0, docs/architecture.md 6).
"""
from __future__ import annotations

from neuromesh import spec


class LoadError(spec.NeuroMeshError, ValueError):
    pass


def load(transport, writes, params: spec.HwParams, verify: bool = True) -> int:
    """Write `writes` [(addr, data)] in order; return the number of writes."""
    writes = list(writes)
    masks = {}
    for k, (addr, data) in enumerate(writes):
        try:
            d = spec.decode_addr(params, addr)
        except spec.AddressError as e:
            raise LoadError(f"write {k}: {e}") from None
        if not d.writable:
            raise LoadError(f"write {k}: address {addr:#010x} is in read-only {d.region}")
        if not 0 <= data < 1 << spec.CFG_WORD_BITS:
            raise LoadError(f"write {k}: data {data!r} at {addr:#010x} is not a 32-bit word")
        problem = spec.table_word_problem(params, d.region, data)
        if problem:
            raise LoadError(f"write {k}: address {addr:#010x} ({d.region}[{d.offset}]): {problem}")
        masks[addr] = spec.region_word(params, d.region, d.offset).mask
    last = {}
    for addr, data in writes:
        transport.write(addr, data)
        last[addr] = data
    if verify:
        for addr, data in last.items():
            expected = data & masks[addr]
            got = transport.read(addr)
            if got != expected:
                d = spec.decode_addr(params, addr)
                where = f"tile ({d.x}, {d.y}) {d.region}[{d.offset}]"
                raise LoadError(f"verify: address {addr:#010x} ({where}): expected {expected:#010x}, read {got:#010x}")
    return len(writes)
