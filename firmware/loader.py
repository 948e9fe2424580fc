"""Load an image through a configuration transport, the one load-and-verify path of the project.

`plan(writes, params)` checks every write before anything is written (so a bad image changes
nothing) and returns a `LoadPlan`: the writes in order, and for `verify`, every written address
with the word a read must return (the last word written there, masked by its layout: bits
outside a word's fields are ignored on write and read as 0, docs/architecture.md section 6).

Two drivers run a plan: `load(transport, ...)` here, for a synchronous transport
(`neuromesh.result.Transport`: the golden model), and the cocotb host's `load_image`
(`neuromesh.tools.cosim.host`), which awaits each access on `cfg_req` of the RTL. Both call
`LoadPlan.check(addr, got)` on the read-back, so they cannot disagree on what a match is.
"""
from __future__ import annotations

from dataclasses import dataclass

from neuromesh import spec


class LoadError(spec.NeuroMeshError, ValueError):
    pass


@dataclass
class LoadPlan:
    params: spec.HwParams
    writes: list        # [(addr, data)] in image order
    expected: dict      # addr -> the word a read-back must return

    def check(self, addr: int, got: int) -> None:
        """Raise LoadError if a read-back of `addr` differs from what the image wrote there."""
        want = self.expected[addr]
        if got != want:
            d = spec.decode_addr(self.params, addr)
            raise LoadError(f"verify: address {addr:#010x} (tile ({d.x}, {d.y}) {d.region}[{d.offset}]): "
                            f"expected {want:#010x}, read {got:#010x}")

    def scrub_writes(self) -> list:
        """Zero writes to every writable word the image does not write (for hand-made images on
        a chip that ran before: memories survive `rst`)."""
        zeros = []
        for x, y in self.params.tiles():
            for region in spec.WRITABLE_REGIONS:
                for off in range(spec.region_size(self.params, region)):
                    a = spec.tile_addr(x, y, region, off)
                    if a not in self.expected:
                        zeros.append((a, 0))
        return zeros


def plan(writes, params: spec.HwParams) -> LoadPlan:
    """Check every write (address in the map, writable, a 32-bit word, table words in range).
    Whole-array checks (`image.first_bad_write`, the same messages): a large image costs no Python
    work per write beyond the `expected` dict; anything odd takes the per-write path below."""
    from .image import ImageError, Writes, first_bad_write
    try:
        w = Writes.of(writes)
    except ImageError:
        w = None                      # a value that is not a 32-bit word: say which, below
    if w is not None:
        bad = first_bad_write(params, w)
        if bad is not None:
            raise LoadError(f"write {bad[0]}: {bad[1]}")
        return LoadPlan(params, w, dict(zip(w.addr.tolist(), _masked(params, w).tolist())))
    return _plan_each(writes, params)


def _masked(params: spec.HwParams, w) -> "np.ndarray":
    """Every write's data masked by its word layout (bits outside the fields read as 0)."""
    import numpy as np
    region = (w.addr >> spec.ADDR_REGION_LSB) & ((1 << spec.ADDR_REGION_BITS) - 1)
    word_k = (w.addr & ((1 << spec.ADDR_OFFSET_BITS) - 1)) % spec.NEURON_WORDS
    out = w.data.copy()
    for name in spec.WRITABLE_REGIONS:
        sel = region == spec.REGION[name]
        if name in ("param", "state"):   # two words a neuron: even and odd offsets differ
            for k in range(spec.NEURON_WORDS):
                m = sel & (word_k == k)
                out[m] &= np.uint32(spec.region_word(params, name, k).mask)
        else:
            out[sel] &= np.uint32(spec.region_word(params, name, 0).mask)
    return out


def _plan_each(writes, params: spec.HwParams) -> LoadPlan:
    writes = list(writes)
    expected = {}
    for k, (addr, data) in enumerate(writes):
        try:
            d = spec.decode_addr(params, addr)
        except spec.AddressError as e:
            raise LoadError(f"write {k}: {e}") from None
        if not d.writable:
            raise LoadError(f"write {k}: address {addr:#010x} is in read-only {d.region}")
        if isinstance(data, bool) or not isinstance(data, int) or not 0 <= data < 1 << spec.CFG_WORD_BITS:
            raise LoadError(f"write {k}: data {data!r} at {addr:#010x} is not a 32-bit word")
        problem = spec.table_word_problem(params, d.region, data)
        if problem:
            raise LoadError(f"write {k}: address {addr:#010x} ({d.region}[{d.offset}]): {problem}")
        expected[addr] = data & spec.region_word(params, d.region, d.offset).mask
    return LoadPlan(params, writes, expected)


def load(transport, writes, params: spec.HwParams, verify: bool = True) -> int:
    """Write `writes` [(addr, data)] in order (then read every written address back when
    `verify`); return the number of writes."""
    p = plan(writes, params)
    for addr, data in p.writes:
        transport.write(addr, data)
    if verify:
        for addr in p.expected:
            p.check(addr, transport.read(addr))
    return len(p.writes)
