"""The single source of truth for NeuroMesh: chip parameters, flit fields, neuron arithmetic
constants, the configuration address map and its word layouts, the counters.

`hw/` (the RTL), `sim/` (the golden model), `firmware/` (compiler and loader) and the tests all
import from here; none of them restates a width, a field position or a constant.
SPEC.md (the contract, version 1) fixes the flit, the neuron equations and the host ports;
docs/architecture.md records the choices this module makes where SPEC.md leaves them open.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SPEC_VERSION = 1

# ----------------------------------------------------------------------------------------------
# Errors shared by every layer.  A `ConfigError` is what a user gets for a configuration that
# cannot be built: it names the field, the bad value and the reason.


class NeuroMeshError(Exception):
    """Base of every error meant for a user (the CLI prints it in one line, exit status 2)."""


class ConfigError(NeuroMeshError, ValueError):
    def __init__(self, field: str, value, reason: str):
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"{field}: {reason} (got {value!r})")


# ----------------------------------------------------------------------------------------------
# Flit (SPEC section 5): 32 bits.

FLIT_WIDTH = 32
FLIT_FIELDS = (  # name, lsb, width
    ("axon", 0, 12),
    ("x", 12, 4),
    ("y", 16, 4),
    ("host", 20, 1),
    ("reserved", 21, 11),
)
AXON_FIELD_BITS = 12
COORD_BITS = 4
MAX_MESH_SIDE = 1 << COORD_BITS  # 16
HOST_CHANNELS = 1 << AXON_FIELD_BITS
_F = {name: (lsb, width) for name, lsb, width in FLIT_FIELDS}
RESERVED_MASK = ((1 << _F["reserved"][1]) - 1) << _F["reserved"][0]


def flit_layout():
    """The flit as an Amaranth `StructLayout` (imported lazily: the golden model needs no Amaranth)."""
    from amaranth.lib import data
    return data.StructLayout({name: width for name, _lsb, width in FLIT_FIELDS})


def pack_flit(axon: int, x: int, y: int, host: int = 0) -> int:
    for name, value in (("axon", axon), ("x", x), ("y", y), ("host", host)):
        lsb, width = _F[name]
        if not 0 <= value < (1 << width):
            raise ValueError(f"flit field {name} must be in [0, {1 << width}), not {value!r}")
    return (axon << _F["axon"][0]) | (x << _F["x"][0]) | (y << _F["y"][0]) | (host << _F["host"][0])


def unpack_flit(word: int) -> dict:
    return {name: (word >> lsb) & ((1 << width) - 1) for name, lsb, width in FLIT_FIELDS}


def flit_axon(word: int) -> int:
    """The `axon` field of a flit (the hot path of the golden model's cores)."""
    lsb, width = _F["axon"]
    return (word >> lsb) & ((1 << width) - 1)


def host_flit(channel: int, src_x: int, src_y: int) -> int:
    """A host-bound flit: `axon` carries the output channel, `x`/`y` the source tile."""
    return pack_flit(channel, src_x, src_y, 1)


# Router ports, in the SPEC's order.  The index is also the round-robin order (section 5 of
# docs/architecture.md) and the order of the per-output counters.
PORTS = ("local", "north", "east", "south", "west")
LOCAL, NORTH, EAST, SOUTH, WEST = range(5)
N_PORTS = 5
OPPOSITE = {NORTH: SOUTH, SOUTH: NORTH, EAST: WEST, WEST: EAST}
# Tile offset of the neighbour behind each output port.
PORT_DELTA = {NORTH: (0, 1), EAST: (1, 0), SOUTH: (0, -1), WEST: (-1, 0)}
# Round-robin pointer after reset: "last granted = west", so local has the first priority.
RR_RESET = WEST


def flit_refused(word: int, width: int, height: int) -> bool:
    """True for a flit that a router refuses (drops at its input and counts as an error):
    reserved bits set, or a tile-bound flit whose target lies outside the mesh."""
    if word & RESERVED_MASK:
        return True
    f = unpack_flit(word)
    return not f["host"] and (f["x"] >= width or f["y"] >= height)


def route_port(rx: int, ry: int, word: int) -> int:
    """Dimension-order (X, then Y) output port at router (rx, ry). Host-bound flits are routed
    as if to tile (0, 0) and leave there by the west port. Assumes `not flit_refused(word)`."""
    f = unpack_flit(word)
    tx, ty = (0, 0) if f["host"] else (f["x"], f["y"])
    if tx > rx:
        return EAST
    if tx < rx:
        return WEST
    if ty > ry:
        return NORTH
    if ty < ry:
        return SOUTH
    return WEST if f["host"] else LOCAL


# ----------------------------------------------------------------------------------------------
# Neuron arithmetic (SPEC section 3).

DU_BITS = 12
DV_BITS = 12
VTH_BITS = 17
BIAS_MANT_BITS = 13  # signed
BIAS_EXP_BITS = 3
REFRACTORY_BITS = 4
RESET_BITS = 1
STATE_BITS = 24       # u and v, signed
DECAY_SHIFT = 12      # dec(x, k) = sign(x*k) * (|x*k| >> 12)
DECAY_ONE = 1 << DECAY_SHIFT  # 4096
ACC_SAT_BITS = 16     # sat16
INPUT_SHIFT = 6       # a << 6
VTH_SHIFT = 6         # vth << 6
V_LIMIT = (1 << (STATE_BITS - 1)) - 1  # clipv: [-(2^23-1), 2^23-1]
WEIGHT_BITS = 8       # signed
WEXP_BITS = 3

# The section-3 parameters of a neuron: name -> (bits, signed).  Order is the network file's.
NEURON_PARAMS = {
    "du": (DU_BITS, False),
    "dv": (DV_BITS, False),
    "vth": (VTH_BITS, False),
    "bias_mant": (BIAS_MANT_BITS, True),
    "bias_exp": (BIAS_EXP_BITS, False),
    "refractory": (REFRACTORY_BITS, False),
    "reset": (RESET_BITS, False),
}


def field_range(bits: int, signed: bool) -> tuple[int, int]:
    """Inclusive range of a `bits`-wide field."""
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


# ----------------------------------------------------------------------------------------------
# Elaboration parameters (SPEC section 1).  Limits beyond the SPEC's come from the word layouts
# of the address map below (a pointer or a length must fit its field).

LIMITS = {  # field -> (min, max, default)
    "width": (1, MAX_MESH_SIDE, 2),
    "height": (1, MAX_MESH_SIDE, 2),
    "neurons_per_core": (1, 4096, 256),
    "axons_per_core": (1, 4096, 256),
    "synapses_per_core": (1, 16384, 4096),
    "routes_per_core": (1, 4096, 512),
    "fifo_depth": (1, 64, 4),
}


def _bits_for(n: int) -> int:
    """Bits to index `n` things (at least 1)."""
    return max(1, (n - 1).bit_length())


@dataclass(frozen=True)
class HwParams:
    width: int = LIMITS["width"][2]
    height: int = LIMITS["height"][2]
    neurons_per_core: int = LIMITS["neurons_per_core"][2]
    axons_per_core: int = LIMITS["axons_per_core"][2]
    synapses_per_core: int = LIMITS["synapses_per_core"][2]
    routes_per_core: int = LIMITS["routes_per_core"][2]
    fifo_depth: int = LIMITS["fifo_depth"][2]

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            lo, hi, _ = LIMITS[f.name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f.name, value, "must be an integer")
            if not lo <= value <= hi:
                raise ConfigError(f.name, value, f"must be between {lo} and {hi}")

    @classmethod
    def from_dict(cls, d: dict, where: str = "hardware") -> "HwParams":
        names = {f.name for f in dataclasses.fields(cls)}
        for k in d:
            if k not in names:
                raise ConfigError(f"{where}.{k}", d[k], f"unknown parameter (known: {', '.join(sorted(names))})")
        try:
            return cls(**d)
        except ConfigError as e:
            raise ConfigError(f"{where}.{e.field}", e.value, e.reason) from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """A short stable name for caches and build folders."""
        return (f"w{self.width}h{self.height}n{self.neurons_per_core}a{self.axons_per_core}"
                f"s{self.synapses_per_core}r{self.routes_per_core}f{self.fifo_depth}")

    # Derived widths ------------------------------------------------------------------------
    @property
    def n_tiles(self) -> int:
        return self.width * self.height

    @property
    def neuron_bits(self) -> int:
        return _bits_for(self.neurons_per_core)

    @property
    def axon_bits(self) -> int:
        return _bits_for(self.axons_per_core)

    @property
    def synapse_bits(self) -> int:
        return _bits_for(self.synapses_per_core)

    @property
    def route_bits(self) -> int:
        return _bits_for(self.routes_per_core)

    @property
    def acc_width(self) -> int:
        """Signed accumulator wide enough for a full synapse memory of maximal weights:
        |weight << wexp| <= 2^7 * 2^7 = 2^14, times synapses_per_core."""
        max_mag = (1 << (WEIGHT_BITS - 1)) * (1 << ((1 << WEXP_BITS) - 1)) * self.synapses_per_core
        return max_mag.bit_length() + 1

    def tiles(self):
        """Tiles in index order: tile index = y * width + x."""
        for y in range(self.height):
            for x in range(self.width):
                yield x, y


# ----------------------------------------------------------------------------------------------
# Configuration words.  Every table entry, state word and counter that cfg_req reaches is one
# 32-bit word made of named bit fields at fixed positions.  Bits outside the fields are
# written as ignored and read as 0.


@dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int
    signed: bool = False

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


@dataclass(frozen=True)
class Word:
    name: str
    fields: tuple

    def __post_init__(self):
        used = 0
        for f in self.fields:
            if f.lsb + f.width > 32 or used & f.mask:
                raise ValueError(f"word {self.name}: field {f.name} overlaps another or passes bit 31")
            used |= f.mask

    @property
    def mask(self) -> int:
        m = 0
        for f in self.fields:
            m |= f.mask
        return m

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def pack(self, **values) -> int:
        word = 0
        for f in self.fields:
            v = values.pop(f.name, 0)
            lo, hi = field_range(f.width, f.signed)
            if not lo <= v <= hi:
                raise ValueError(f"{self.name}.{f.name} must be in [{lo}, {hi}], not {v!r}")
            word |= (v & ((1 << f.width) - 1)) << f.lsb
        if values:
            raise KeyError(f"{self.name} has no field(s) {sorted(values)}")
        return word

    def unpack(self, word: int) -> dict:
        out = {}
        for f in self.fields:
            v = (word >> f.lsb) & ((1 << f.width) - 1)
            if f.signed and v >> (f.width - 1):
                v -= 1 << f.width
            out[f.name] = v
        return out


PARAM_WORDS = (
    Word("param0", (Field("du", 0, DU_BITS), Field("dv", 12, DV_BITS), Field("bias_exp", 24, BIAS_EXP_BITS),
                    Field("refractory", 27, REFRACTORY_BITS), Field("reset", 31, RESET_BITS))),
    Word("param1", (Field("vth", 0, VTH_BITS), Field("bias_mant", 17, BIAS_MANT_BITS, True))),
)
STATE_WORDS = (
    Word("state0", (Field("u", 0, STATE_BITS, True),)),
    Word("state1", (Field("v", 0, STATE_BITS, True), Field("r", 24, REFRACTORY_BITS))),
)
# Configuration words per neuron in the `param` and `state` regions (neuron n at n*2, n*2+1).
NEURON_WORDS = 2
if not len(PARAM_WORDS) == len(STATE_WORDS) == NEURON_WORDS:
    raise ValueError("spec: PARAM_WORDS, STATE_WORDS and NEURON_WORDS disagree")
AXON_WORD = Word("axon", (Field("ptr", 0, 14), Field("len", 14, 15), Field("wexp", 29, WEXP_BITS)))
SYNAPSE_WORD = Word("synapse", (Field("target", 0, 12), Field("weight", 12, WEIGHT_BITS, True)))
RLIST_WORD = Word("rlist", (Field("ptr", 0, 12), Field("len", 12, 13)))
ROUTE_WORD = Word("route", (Field("flit", 0, 21),))  # the flit without its reserved bits


def acc_word(params: HwParams) -> Word:
    return Word("acc", (Field("acc", 0, params.acc_width, True),))


# ----------------------------------------------------------------------------------------------
# Address map (word addresses; docs/architecture.md section 6).
#
#   bit 31 = 0: a tile.  [27:24] y, [23:20] x, [19:16] region, [15:0] word offset.
#   bit 31 = 1: chip-wide registers, [15:0] offset.

ADDR_GLOBAL_BIT = 31
ADDR_Y_LSB, ADDR_X_LSB, ADDR_REGION_LSB = 24, 20, 16
ADDR_OFFSET_BITS = 16

REGIONS = ("param", "state", "acc0", "acc1", "axon", "synapse", "rlist", "route", "core_cnt", "router_cnt")
REGION = {name: i for i, name in enumerate(REGIONS)}

CORE_COUNTERS = ("sops", "updates", "spikes", "flits_sent", "errors")
ROUTER_COUNTERS = ("fwd_local", "fwd_north", "fwd_east", "fwd_south", "fwd_west", "errors")
CHIP_REGISTERS = ("id", "params", "ticks", "busy_cycles", "status")
CHIP_ID = 0x4E4D0000 | SPEC_VERSION  # "NM" + contract version
CHIP_PARAMS_WORD = Word("params", (Field("width_m1", 0, 4), Field("height_m1", 4, 4)))
CHIP_STATUS_WORD = Word("status", (Field("busy", 0, 1), Field("parity", 1, 1)))
COUNTER_BITS = 32
WRITABLE_REGIONS = ("param", "state", "acc0", "acc1", "axon", "synapse", "rlist", "route")


def region_size(params: HwParams, region: str) -> int:
    """Number of words in a tile region."""
    n = params.neurons_per_core
    return {
        "param": NEURON_WORDS * n, "state": NEURON_WORDS * n, "acc0": n, "acc1": n,
        "axon": params.axons_per_core, "synapse": params.synapses_per_core, "rlist": n,
        "route": params.routes_per_core, "core_cnt": len(CORE_COUNTERS), "router_cnt": len(ROUTER_COUNTERS),
    }[region]


def region_word(params: HwParams, region: str, offset: int) -> Word:
    """The layout of the word at `offset` in `region` (counters: a plain 32-bit value)."""
    if region == "param":
        return PARAM_WORDS[offset % NEURON_WORDS]
    if region == "state":
        return STATE_WORDS[offset % NEURON_WORDS]
    if region in ("acc0", "acc1"):
        return acc_word(params)
    if region in ("core_cnt", "router_cnt"):
        return COUNTER_WORD
    return {"axon": AXON_WORD, "synapse": SYNAPSE_WORD, "rlist": RLIST_WORD, "route": ROUTE_WORD}[region]


COUNTER_WORD = Word("counter", (Field("count", 0, COUNTER_BITS),))


def tile_addr(x: int, y: int, region: str, offset: int) -> int:
    return (y << ADDR_Y_LSB) | (x << ADDR_X_LSB) | (REGION[region] << ADDR_REGION_LSB) | offset


def chip_addr(register: str) -> int:
    return (1 << ADDR_GLOBAL_BIT) | CHIP_REGISTERS.index(register)


def table_word_problem(params: HwParams, region: str, data: int) -> str | None:
    """Why a table word would index beyond this core's tables, or None if it is in range.

    Such words are outside the contract: the RTL keeps only the low address bits of a pointer
    or neuron index while a model might wrap or fail, so a loader refuses them rather than let
    the two halves disagree on an image the compiler would never write."""
    if region == "synapse":
        target = SYNAPSE_WORD.unpack(data)["target"]
        if target >= params.neurons_per_core:
            return f"synapse target {target} is not a neuron of a {params.neurons_per_core}-neuron core"
    elif region in ("axon", "rlist"):
        word, table, size = ((AXON_WORD, "synapse memory", params.synapses_per_core) if region == "axon"
                             else (RLIST_WORD, "route table", params.routes_per_core))
        f = word.unpack(data)
        if f["len"] and f["ptr"] + f["len"] > size:
            return (f"{region} list {f['ptr']}..{f['ptr'] + f['len'] - 1} runs past the end of the "
                    f"{table} ({size} entries)")
    return None


class AddressError(NeuroMeshError, ValueError):
    pass


@dataclass(frozen=True)
class Decoded:
    """A decoded configuration address: `x`/`y`/`region` are None for a chip register."""
    addr: int
    x: int | None
    y: int | None
    region: str
    offset: int

    @property
    def writable(self) -> bool:
        return self.region in WRITABLE_REGIONS


def decode_addr(params: HwParams, addr: int) -> Decoded:
    """Decode a configuration address; raise AddressError for one outside the map."""
    if not 0 <= addr < (1 << 32):
        raise AddressError(f"address {addr:#x} is not a 32-bit word address")
    offset = addr & ((1 << ADDR_OFFSET_BITS) - 1)
    if addr >> ADDR_GLOBAL_BIT:
        if addr & ~((1 << ADDR_GLOBAL_BIT) | ((1 << ADDR_OFFSET_BITS) - 1)) or offset >= len(CHIP_REGISTERS):
            raise AddressError(f"address {addr:#010x}: no chip register there")
        return Decoded(addr, None, None, CHIP_REGISTERS[offset], 0)
    if addr >> 28:
        raise AddressError(f"address {addr:#010x}: bits 30:28 must be 0")
    y = (addr >> ADDR_Y_LSB) & 0xF
    x = (addr >> ADDR_X_LSB) & 0xF
    region = (addr >> ADDR_REGION_LSB) & 0xF
    if x >= params.width or y >= params.height:
        raise AddressError(f"address {addr:#010x}: tile ({x}, {y}) is outside the {params.width}x{params.height} mesh")
    if region >= len(REGIONS):
        raise AddressError(f"address {addr:#010x}: region {region} does not exist")
    name = REGIONS[region]
    if offset >= region_size(params, name):
        raise AddressError(f"address {addr:#010x}: offset {offset} is beyond region {name} "
                           f"({region_size(params, name)} words)")
    return Decoded(addr, x, y, name, offset)


# cfg_req payload (SPEC section 6): addr [31:0], data [63:32], write [64].
CFG_REQ_FIELDS = (("addr", 0, 32), ("data", 32, 32), ("write", 64, 1))
CFG_WORD_BITS = 32    # every configuration word, table entry and counter read on cfg_resp
CFG_REQ_WIDTH = 65
CFG_RESP_WIDTH = CFG_WORD_BITS


def cfg_req_layout():
    from amaranth.lib import data
    return data.StructLayout({name: width for name, _lsb, width in CFG_REQ_FIELDS})


def pack_cfg_req(addr: int, data: int = 0, write: bool = False) -> int:
    return addr | (data << 32) | (int(write) << 64)
