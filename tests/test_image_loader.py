"""Image file round trip and checks, loader write/verify (firmware/image.py, firmware/loader.py)."""
import json
import re
from pathlib import Path

import pytest

from neuromesh import spec
from neuromesh.firmware import image, loader
from neuromesh.firmware.compiler import compile_network
from neuromesh.firmware.netfile import load_network

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class DictTransport:
    """A fake configuration port: a dict of words, each masked by its layout on write
    (docs/architecture.md section 6: bits outside the fields are ignored, read as 0)."""

    def __init__(self, params):
        self.params, self.mem, self.log = params, {}, []

    def write(self, addr, data):
        d = spec.decode_addr(self.params, addr)
        self.mem[addr] = data & spec.region_word(self.params, d.region, d.offset).mask
        self.log.append(addr)

    def read(self, addr):
        return self.mem.get(addr, 0)


def test_round_trip_of_tiny(tmp_path):
    net = load_network(EXAMPLES / "tiny" / "network.json")
    compiled = compile_network(net)
    path = tmp_path / "image.hex"
    image.write_image(path, compiled.writes, params=compiled.params)
    assert image.read_image(path) == compiled.writes
    assert image.image_params(path) == compiled.params
    t = DictTransport(compiled.params)
    assert loader.load(t, compiled.writes, compiled.params) == len(compiled.writes)


# ---------------------------------------------------------------------------------------------
# Image checks: `FILE: line N: reason`, and nothing returned unless the whole file is valid

P = spec.HwParams(width=2, height=2, neurons_per_core=8, axons_per_core=8, synapses_per_core=32, routes_per_core=16)


def image_text(lines, n=None, header=True):
    head = ["# neuromesh-image/1", "# hardware: " + json.dumps(P.to_dict())] if header else []
    body = [ln for ln in lines]
    count = sum(1 for ln in body if ln.strip() and not ln.startswith("#")) if n is None else n
    return "\n".join(head + body + [f"# end: {count} writes"]) + "\n"


def refused(tmp_path, text, *needles, params=None):
    path = tmp_path / "image.hex"
    path.write_text(text)
    with pytest.raises(image.ImageError) as e:
        image.read_image(path, params)
    msg = str(e.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)


GOOD = f"{spec.tile_addr(1, 1, 'synapse', 3):08x} {0x5003:08x}"


def test_accepts_comments_blank_lines_and_case(tmp_path):
    path = tmp_path / "image.hex"
    path.write_text(image_text(["", "# a comment", GOOD.upper(), "  ", "00000000 0000abcd"]))
    assert image.read_image(path) == [(spec.tile_addr(1, 1, "synapse", 3), 0x5003), (0, 0xABCD)]


def test_malformed_lines(tmp_path):
    refused(tmp_path, image_text([GOOD, "0000000 00000000"]), "line 4: expected 'AAAAAAAA DDDDDDDD'")
    refused(tmp_path, image_text([GOOD, "00000000 0000000g"]), "line 4: expected")
    refused(tmp_path, image_text(["00000000"]), "line 3: expected")
    refused(tmp_path, image_text(["0x000000 00000000"]), "line 3: expected")
    refused(tmp_path, image_text(["00000000 00000000 00000000"]), "line 3: expected")


def test_addresses_outside_the_map_or_read_only(tmp_path):
    refused(tmp_path, image_text([GOOD, f"{spec.tile_addr(2, 0, 'param', 0):08x} 00000000"]),
            "line 4:", "tile (2, 0) is outside the 2x2 mesh")
    refused(tmp_path, image_text([f"{spec.tile_addr(0, 0, 'synapse', 32):08x} 00000000"]),
            "line 3:", "offset 32 is beyond region synapse")
    refused(tmp_path, image_text([f"{spec.tile_addr(0, 0, 'param', 0) | (12 << 14):08x} 00000000"]),
            "line 3:", "region 12 does not exist")
    refused(tmp_path, image_text([f"{spec.tile_addr(1, 0, 'core_cnt', 0):08x} 00000000"]),
            "line 3:", "read-only core_cnt")
    refused(tmp_path, image_text([f"{spec.chip_addr('ticks'):08x} 00000000"]), "line 3:", "read-only ticks")
    # hardware given explicitly must agree with the header
    refused(tmp_path, image_text([GOOD]), "the image was compiled for width 2, height 2, neurons_per_core 8, "
            "axons_per_core 8, synapses_per_core 32, routes_per_core 16, not width 1, height 1, neurons_per_core 256",
            params=spec.HwParams(width=1, height=1))
    refused(tmp_path, image_text([GOOD], header=False), "line 1:", "tile (1, 1) is outside the 1x1 mesh",
            params=spec.HwParams(width=1, height=1))


def test_truncated_or_inconsistent_trailer(tmp_path):
    full = image_text([GOOD, "00000000 00000001"])
    refused(tmp_path, full.rsplit("# end", 1)[0], "no '# end: N writes' trailer", "truncated")
    refused(tmp_path, "\n".join(full.splitlines()[:-2]) + "\n", "truncated")  # cut mid-file, trailer gone
    refused(tmp_path, image_text([GOOD, "00000000 00000001"], n=3), "line 5: trailer says 3 writes, the file has 2")
    refused(tmp_path, full + "00000000 00000002\n", "line 6: text after the '# end' trailer")


def test_header_needed_without_params(tmp_path):
    path = tmp_path / "image.hex"
    path.write_text(image_text([GOOD], header=False))
    with pytest.raises(image.ImageError, match="no '# hardware"):
        image.read_image(path)
    assert image.read_image(path, P) == [(spec.tile_addr(1, 1, "synapse", 3), 0x5003)]
    path.write_text("# hardware: {\"width\": 99}\n" + image_text([GOOD], header=False))
    with pytest.raises(image.ImageError, match="line 1: bad hardware header"):
        image.read_image(path)
    with pytest.raises(image.ImageError, match="no such file"):
        image.read_image(tmp_path / "missing.hex", P)


def test_write_image_refuses_non_words(tmp_path):
    with pytest.raises(image.ImageError):
        image.write_image(tmp_path / "x.hex", [(1 << 32, 0)])
    assert not (tmp_path / "x.hex").exists()


# ---------------------------------------------------------------------------------------------
# Loader


class CorruptTransport(DictTransport):
    """Stores one address with a flipped bit: verify must catch it."""

    def __init__(self, params, bad_addr, flip):
        super().__init__(params)
        self.bad_addr, self.flip = bad_addr, flip

    def write(self, addr, data):
        super().write(addr, data)
        if addr == self.bad_addr:
            self.mem[addr] ^= self.flip


def tiny():
    return compile_network(load_network(EXAMPLES / "tiny" / "network.json"))


def test_loader_verify_catches_a_corrupted_word():
    c = tiny()
    addr, data = c.writes[-3]
    t = CorruptTransport(c.params, addr, 1 << 3)
    with pytest.raises(loader.LoadError) as e:
        loader.load(t, c.writes, c.params)
    msg = str(e.value)
    assert f"{addr:#010x}" in msg and f"expected {data:#010x}" in msg and f"read {data ^ 8:#010x}" in msg
    # without verify the load goes through
    t = CorruptTransport(c.params, addr, 1 << 3)
    loader.load(t, c.writes, c.params, verify=False)
    assert t.log == [a for a, _ in c.writes]


def test_loader_masks_by_layout_and_last_write_wins():
    addr = spec.tile_addr(0, 1, "synapse", 2)
    rl = spec.tile_addr(1, 1, "rlist", 0)
    syn = spec.SYNAPSE_WORD.pack(target=3, weight=-1)       # junk only outside the fields
    writes = [(addr, 0xFFF00000 | syn), (rl, 0xFE000000 | spec.RLIST_WORD.pack(ptr=1, len=2)), (rl, 0x00001003)]
    t = DictTransport(P)
    assert loader.load(t, writes, P) == 3  # bits outside target/weight read back as 0: no false alarm
    assert t.mem[addr] == syn == 0xFF003 and t.mem[rl] == 0x1003


def test_loader_refuses_bad_addresses_before_writing_anything():
    good = (spec.tile_addr(0, 0, "param", 0), 1)
    for bad, needle in [((spec.tile_addr(0, 2, "param", 0), 0), "write 1: address 0x02000000: tile (0, 2) is outside"),
                        ((spec.tile_addr(0, 0, "router_cnt", 1), 0), "write 1: address 0x00024001 is in read-only router_cnt"),
                        ((spec.tile_addr(0, 0, "active", 0), 99), "more than the core's"),
                        ((spec.chip_addr("id"), 0), "read-only id"),
                        ((spec.tile_addr(0, 0, "param", 0), 1 << 32), "is not a 32-bit word")]:
        t = DictTransport(P)
        with pytest.raises(loader.LoadError, match=re.escape(needle)):
            loader.load(t, [good, bad, good], P)
        assert t.log == []


def test_image_file_through_loader(tmp_path):
    c = tiny()
    path = tmp_path / "image.hex"
    image.write_image(path, c.writes, comments=["hello"], params=c.params)
    assert path.read_text().splitlines()[2] == "# hello"
    t = DictTransport(c.params)
    loader.load(t, image.read_image(path), c.params)
    assert t.mem == {a: d & spec.region_word(c.params, spec.decode_addr(c.params, a).region,
                                             spec.decode_addr(c.params, a).offset).mask for a, d in c.writes}


@pytest.mark.parametrize("example", ["tiny", "fanout"])
def test_loads_and_verifies_on_the_golden_model(example):
    """The golden model's configuration port keeps what the loader expects (layout masks agree)."""
    from neuromesh.sim import mesh
    c = compile_network(load_network(EXAMPLES / example / "network.json"))
    chip = mesh.Chip(c.params)
    # dirty the chip first: the image must overwrite every table and state word it relies on
    for addr, data in c.writes:
        chip.write(addr, 0xFFFFFFFF)
    assert loader.load(chip, c.writes, c.params, verify=True) == len(c.writes)


# ---- words that would index beyond a core's tables are refused (RTL and model would disagree)

def _small():
    return spec.HwParams(width=1, height=1, neurons_per_core=10, axons_per_core=4,
                         synapses_per_core=20, routes_per_core=6)


@pytest.mark.parametrize("region,word,reason", [
    ("synapse", spec.SYNAPSE_WORD.pack(target=10, weight=1), "not a neuron"),
    ("axon", spec.AXON_WORD.pack(ptr=15, len=6, wexp=0), "synapse memory"),
    ("rlist", spec.RLIST_WORD.pack(ptr=5, len=2), "route table"),
])
def test_loader_and_image_refuse_out_of_range_table_words(tmp_path, region, word, reason):
    p = _small()
    addr = spec.tile_addr(0, 0, region, 0)
    with pytest.raises(spec.NeuroMeshError, match=reason):
        loader.load(_Refuse(), [(addr, word)], p)
    img = tmp_path / "bad.hex"
    img.write_text(f"{addr:08X} {word:08X}\n# end: 1 writes\n")
    with pytest.raises(spec.NeuroMeshError, match=rf"line 1: .*{reason}"):
        image.read_image(img, p)


def test_in_range_table_words_at_the_very_end_are_accepted():
    p = _small()
    assert spec.table_word_problem(p, "axon", spec.AXON_WORD.pack(ptr=14, len=6)) is None
    assert spec.table_word_problem(p, "rlist", spec.RLIST_WORD.pack(ptr=4, len=2)) is None
    assert spec.table_word_problem(p, "synapse", spec.SYNAPSE_WORD.pack(target=9, weight=-1)) is None
    assert spec.table_word_problem(p, "axon", spec.AXON_WORD.pack(ptr=200, len=0)) is None


class _Refuse:
    def write(self, addr, data):
        raise AssertionError("nothing may be written for a refused image")

    def read(self, addr):
        raise AssertionError("nothing may be read for a refused image")
