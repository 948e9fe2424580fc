"""The binary image format (firmware/image.py, `IMAGE.npz`) beside the text one: the same writes,
the same checks and one-line refusals; the compiler's arrays (`image.Writes`) behave as the list
of pairs they replace; the network file's `Synapses` arrays likewise."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from neuromesh import spec
from neuromesh.firmware.compiler import compile_network
from neuromesh.firmware.image import ImageError, Writes, read_image, write_image
from neuromesh.firmware.netfile import Synapses, load_network
from neuromesh.tools.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_binary_and_text_images_hold_the_same_writes(tmp_path, capsys):
    net = EXAMPLES / "ring" / "network.json"
    assert main(["compile", str(net), "-o", str(tmp_path / "a.hex")]) == 0
    assert main(["compile", str(net), "-o", str(tmp_path / "a.npz")]) == 0
    text, binary = read_image(tmp_path / "a.hex"), read_image(tmp_path / "a.npz")
    assert binary == text and len(text) > 100
    # the text file, parsed by hand: the same pairs in the same order
    lines = [l.split() for l in (tmp_path / "a.hex").read_text().splitlines() if l and not l.startswith("#")]
    assert [(int(a, 16), int(d, 16)) for a, d in lines] == list(binary)
    # runs of consecutive addresses: a few per tile, not one per write
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert str(z["format"]) == "neuromesh-image-npz/1"
        assert len(z["runs"]) < len(text) / 4
        assert json.loads(str(z["hardware"]))["width"] == 2
    # the maps beside both are the same
    assert json.loads((tmp_path / "a.hex.map.json").read_text()) == json.loads((tmp_path / "a.npz.map.json").read_text())


def test_any_writes_round_trip(tmp_path):
    p = spec.HwParams(width=2, height=1, neurons_per_core=4)
    writes = [(spec.tile_addr(1, 0, "param", 3), 0xDEADBEEF & spec.PARAM_WORDS[1].mask),
              (spec.tile_addr(0, 0, "active", 0), 2), (spec.tile_addr(0, 0, "active", 0), 1),   # twice
              (spec.tile_addr(0, 0, "state", 0), 5), (spec.tile_addr(0, 0, "state", 1), 6)]
    write_image(tmp_path / "x.npz", writes, ["hand-made"], p)
    write_image(tmp_path / "x.hex", writes, ["hand-made"], p)
    assert read_image(tmp_path / "x.npz") == writes == read_image(tmp_path / "x.hex")
    assert read_image(tmp_path / "x.npz", p) == writes


def _damaged(tmp_path, name, **arrays):
    p = spec.HwParams(width=1, height=1, neurons_per_core=4)
    base = {"format": np.array("neuromesh-image-npz/1"), "hardware": np.array(json.dumps(p.to_dict())),
            "comments": np.array("[]"), "runs": np.array([[spec.tile_addr(0, 0, "active", 0), 1]], dtype=np.uint32),
            "data": np.array([1], dtype=np.uint32), "writes": np.array(1)}
    base.update(arrays)
    base = {k: v for k, v in base.items() if v is not None}
    path = tmp_path / name
    with open(path, "wb") as f:
        np.savez(f, **base)
    return path


@pytest.mark.parametrize("name,arrays,needle", [
    ("trunc.npz", {"writes": np.array(2)}, "says 2 writes, its runs hold 1 and its data 1: the image is truncated"),
    ("fmt.npz", {"format": np.array("other")}, "format 'other' is not 'neuromesh-image-npz/1'"),
    ("missing.npz", {"runs": None}, "missing runs"),
    ("ro.npz", {"runs": np.array([[spec.tile_addr(0, 0, "core_cnt", 0), 1]], dtype=np.uint32)},
     "write 0: address 0x00020000 is in read-only core_cnt"),
    ("range.npz", {"runs": np.array([[spec.tile_addr(0, 0, "synapse", 0), 1]], dtype=np.uint32),
                   "data": np.array([7], dtype=np.uint32)}, "synapse target 7 is not a neuron of a 4-neuron core"),
    ("outside.npz", {"runs": np.array([[spec.tile_addr(1, 0, "param", 0), 1]], dtype=np.uint32)},
     "tile (1, 0) is outside the 1x1 mesh"),
])
def test_binary_refusals_name_the_file_and_the_reason(tmp_path, name, arrays, needle):
    path = _damaged(tmp_path, name, **arrays)
    with pytest.raises(ImageError) as e:
        read_image(path)
    assert str(e.value).startswith(str(path)) and needle in str(e.value) and "\n" not in str(e.value)


def test_a_cut_archive_is_refused(tmp_path):
    good = _damaged(tmp_path, "good.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(ImageError, match="cut.npz: not a readable"):
        read_image(cut)
    assert zipfile.is_zipfile(good)


def test_writes_and_synapses_read_as_the_lists_they_replace():
    w = Writes([1, 2, 3], [10, 20, 30])
    assert w == [(1, 10), (2, 20), (3, 30)] and list(w) == [(1, 10), (2, 20), (3, 30)]
    assert dict(w) == {1: 10, 2: 20, 3: 30} and w[1] == (2, 20) and w[1:] == [(2, 20), (3, 30)]
    assert isinstance(list(w)[0][0], int) and len(w) == 3
    assert w != [(1, 10)] and (w + [(4, 40)])[-1] == (4, 40)
    with pytest.raises(ImageError, match=r"write 1: \(5, 4294967296\) is not a pair of 32-bit words"):
        Writes.of([(1, 2), (5, 1 << 32)])
    s = Synapses([0, 1], [1, 0], [-3, 4])
    assert s == [(0, 1, -3), (1, 0, 4)] and len(s) == 2 and s.rows().tolist() == [[0, 1, -3], [1, 0, 4]]
    assert s != [(0, 1, -3)]


def test_compiled_writes_equal_the_image_read_back(tmp_path):
    c = compile_network(load_network(EXAMPLES / "tiny" / "network.json"))
    write_image(tmp_path / "t.npz", c.writes, [], c.params)
    assert read_image(tmp_path / "t.npz") == c.writes
