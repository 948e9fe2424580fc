"""The single source of truth: flit fields, routing, parameter checks, word layouts, address map.
Expected values are worked out by hand from SPEC.md and docs/architecture.md."""
import pytest

from neuromesh import spec


def test_flit_fields_match_spec_table():
    # SPEC version 2 section 5: axon 11:0, x 17:12, y 23:18, host 24, reserved 31:25.
    assert spec.pack_flit(0xABC, 0x25, 0x39, 1) == 0xABC | (0x25 << 12) | (0x39 << 18) | (1 << 24)
    assert spec.pack_flit(0, 63, 63) == 0x00FFF000
    assert spec.unpack_flit(0xFE000000)["reserved"] == 0x7F
    assert spec.RESERVED_MASK == 0xFE000000
    assert spec.MAX_MESH_SIDE == 64
    assert sum(w for _, _, w in spec.FLIT_FIELDS) == spec.FLIT_WIDTH == 32


def test_flit_layout_is_32_bits_in_spec_order():
    layout = spec.flit_layout()
    assert layout.size == 32
    # SPEC section 5's table, written out: the layout must not merely agree with spec.FLIT_FIELDS.
    table = [("axon", 0, 12), ("x", 12, 6), ("y", 18, 6), ("host", 24, 1), ("reserved", 25, 7)]
    assert [(name, layout[name].offset, layout[name].width) for name, _, _ in table] == table
    assert list(spec.FLIT_FIELDS) == table


@pytest.mark.parametrize("field,value", [("axon", 4096), ("x", 64), ("y", -1), ("host", 2)])
def test_pack_flit_refuses_out_of_range(field, value):
    kwargs = {"axon": 0, "x": 0, "y": 0, "host": 0, field: value}
    with pytest.raises(ValueError, match=field):
        spec.pack_flit(**kwargs)


@pytest.mark.parametrize("rx,ry,tx,ty,port", [
    (0, 0, 1, 0, spec.EAST), (2, 1, 0, 3, spec.WEST), (1, 1, 1, 3, spec.NORTH),
    (1, 3, 1, 0, spec.SOUTH), (2, 2, 2, 2, spec.LOCAL), (0, 2, 3, 0, spec.EAST),
])
def test_xy_route_goes_x_first(rx, ry, tx, ty, port):
    assert spec.route_port(rx, ry, spec.pack_flit(7, tx, ty)) == port


def test_host_bound_flit_heads_for_origin_and_leaves_west():
    f = spec.host_flit(5, 3, 2)  # x/y carry the SOURCE tile, not the target
    assert spec.route_port(3, 2, f) == spec.WEST
    assert spec.route_port(0, 2, f) == spec.SOUTH
    assert spec.route_port(0, 0, f) == spec.WEST


def test_refusal_rules():
    for bit in range(25, 32):
        assert spec.flit_refused(1 << bit, 2, 2)                 # any reserved bit
    assert not spec.flit_refused(1 << 24, 2, 2)                  # bit 24 is host
    assert spec.flit_refused(spec.pack_flit(0, 2, 0), 2, 2)      # x outside a 2-wide mesh
    assert spec.flit_refused(spec.pack_flit(0, 0, 63), 64, 63)   # y outside a 63-high mesh
    assert not spec.flit_refused(spec.pack_flit(0, 63, 63), 64, 64)
    assert not spec.flit_refused(spec.pack_flit(0, 1, 1), 2, 2)
    assert not spec.flit_refused(spec.host_flit(0, 63, 63), 2, 2)  # host-bound: x/y are a source


def test_hw_params_defaults_and_refusals():
    p = spec.HwParams()
    assert (p.width, p.height, p.neurons_per_core, p.axons_per_core, p.synapses_per_core,
            p.routes_per_core, p.fifo_depth) == (2, 2, 256, 256, 4096, 512, 4)
    # 4096 synapses of -128 << 7: -2^26 needs 27 bits signed; +127*128*4096 < 2^26.
    assert p.acc_width == 28 and -(1 << 26) >= -(1 << (p.acc_width - 1))
    assert spec.HwParams(width=64, height=64).n_tiles == 4096
    with pytest.raises(spec.ConfigError, match="width"):
        spec.HwParams(width=65)
    with pytest.raises(spec.ConfigError, match="fifo_depth"):
        spec.HwParams(fifo_depth=0)
    with pytest.raises(spec.ConfigError, match="integer"):
        spec.HwParams(height=True)
    with pytest.raises(spec.ConfigError, match="hardware.bogus"):
        spec.HwParams.from_dict({"bogus": 1})


def test_word_layout_round_trip_and_sign():
    w = spec.PARAM_WORDS[1]
    word = w.pack(vth=(1 << 17) - 1, bias_mant=-4096)
    assert word == ((1 << 17) - 1) | ((-4096 & 0x1FFF) << 17)
    assert w.unpack(word) == {"vth": (1 << 17) - 1, "bias_mant": -4096}
    with pytest.raises(ValueError, match="bias_mant"):
        w.pack(bias_mant=4096)
    assert spec.STATE_WORDS[1].mask == 0x0FFFFFFF
    assert spec.AXON_WORD.unpack(0xFFFFFFFF) == {"ptr": 0x3FFF, "len": 0x7FFF, "wexp": 7}


def test_address_map_decodes_every_region_and_refuses_outside():
    # docs/architecture.md section 6: tile [29:24] y, [23:18] x, [17:14] region, [13:0] offset.
    p = spec.HwParams(width=3, height=2, neurons_per_core=8)
    d = spec.decode_addr(p, spec.tile_addr(2, 1, "synapse", 5))
    assert (d.x, d.y, d.region, d.offset, d.writable) == (2, 1, "synapse", 5, True)
    assert spec.tile_addr(2, 1, "synapse", 5) == (1 << 24) | (2 << 18) | (5 << 14) | 5
    assert spec.tile_addr(63, 63, "active", 0) == (63 << 24) | (63 << 18) | (10 << 14)
    big = spec.HwParams(width=64, height=64, synapses_per_core=16384)
    d = spec.decode_addr(big, spec.tile_addr(63, 62, "synapse", 16383))
    assert (d.x, d.y, d.region, d.offset) == (63, 62, "synapse", 16383)
    assert spec.decode_addr(p, spec.chip_addr("busy_cycles")).region == "busy_cycles"
    assert spec.decode_addr(p, (1 << 31) | 5).region == "domains"
    d = spec.decode_addr(p, (1 << 31) | (64 + 7))       # architecture 8.7: domain 7's busy cycles
    assert (d.region, d.offset, d.writable) == ("domain_busy", 7, False)
    assert spec.domain_busy_addr(7) == (1 << 31) | 71
    d = spec.decode_addr(p, spec.tile_addr(1, 1, "link_cnt", 3))  # region 11, read-only
    assert (d.region, d.offset, d.writable) == ("link_cnt", 3, False)
    assert spec.decode_addr(p, spec.tile_addr(1, 1, "active", 0)).writable
    assert not spec.decode_addr(p, spec.tile_addr(0, 0, "core_cnt", 4)).writable
    for bad in (spec.tile_addr(3, 0, "param", 0),            # x outside the mesh
                spec.tile_addr(0, 0, "param", 16),           # 2 words x 8 neurons
                spec.tile_addr(0, 0, "active", 1),           # one word
                (12 << 14),                                  # region 12 does not exist
                (1 << 30), (1 << 31) | 6, (1 << 31) | 63, (1 << 31) | (64 + 4096), (1 << 31) | (1 << 14),
                1 << 32):
        with pytest.raises(spec.AddressError):
            spec.decode_addr(p, bad)


def test_active_count_above_the_core_is_refused_by_the_loader_check():
    p = spec.HwParams(neurons_per_core=8)
    assert spec.table_word_problem(p, "active", 8) is None
    assert "more than the core's 8 neurons" in spec.table_word_problem(p, "active", 9)


def test_rtl_size_limit_is_one_line():
    spec.check_rtl_size(spec.HwParams(width=16, height=16))
    with pytest.raises(spec.ConfigError) as e:
        spec.check_rtl_size(spec.HwParams(width=17, height=16))
    assert "stops at 256 tiles" in str(e.value) and "\n" not in str(e.value)


def test_cfg_req_layout_matches_spec_section_6():
    layout = spec.cfg_req_layout()
    assert layout.size == spec.CFG_REQ_WIDTH == 65
    assert spec.pack_cfg_req(0x1234, 0xDEADBEEF, True) == 0x1234 | (0xDEADBEEF << 32) | (1 << 64)
