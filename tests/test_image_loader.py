"""Image file round trip and checks, loader write/verify (firmware/image.py, firmware/loader.py)."""
import pytest

from neuromesh import spec
from neuromesh.firmware import image, loader
from neuromesh.firmware.compiler import compile_network
from neuromesh.firmware.netfile import load_network

EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples"


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
