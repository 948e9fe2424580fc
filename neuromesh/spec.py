"""The single source of truth for NeuroMesh: chip parameters, flit fields, neuron arithmetic
constants, the configuration address map and its word layouts, the counters.

`hw/` (the RTL), `sim/` (the golden model), `firmware/` (compiler and loader) and the tests all
import from here; none of them restates a width, a field position or a constant.
SPEC.md (the contract, version 2) fixes the flit, the neuron equations and the host ports;
docs/architecture.md records the choices this module makes where SPEC.md leaves them open.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SPEC_VERSION = 2

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
    ("x", 12, 6),
    ("y", 18, 6),
    ("host", 24, 1),
    ("reserved", 25, 7),
)
AXON_FIELD_BITS = 12
COORD_BITS = 6
MAX_MESH_SIDE = 1 << COORD_BITS  # 64
HOST_CHANNELS = 1 << AXON_FIELD_BITS
_F = {name: (lsb, width) for name, lsb, width in FLIT_FIELDS}
RESERVED_MASK = ((1 << _F["reserved"][1]) - 1) << _F["reserved"][0]


def flit_layout():
    """The flit as an Amaranth `StructLayout` (imported lazily: the golden model needs no Amaranth)."""
    from amaranth.lib import data
    return data.StructLayout({name: width for name, _lsb, width in FLIT_FIELDS})


FLIT_PAYLOAD_BITS = _F["reserved"][0]  # the flit without its reserved bits (a route entry)


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
# The hop register between two neighbouring routers of one clock domain (docs/architecture.md
# section 3): a FIFO of this depth on every such link, so no path runs from a router's FIFO
# through its grant and across the wire into the neighbour's FIFO in one cycle. Two entries
# keep one flit per cycle with a `ready` that is a function of registered state.
HOP_DEPTH = 2


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

# The updater's pipeline (docs/architecture.md section 4.3): the reads of neuron m are issued in
# cycle h+1+m of an update phase started in h; its new state is written and its spike queued
# UPDATE_LATENCY cycles later, in h+1+UPDATE_LATENCY+m. hw/neuron_core.py + hw/lif_datapath.py
# build the stages (and check this number), sim/ and neuromesh/result.py count with it.
UPDATE_LATENCY = 6

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
# of the address map below (a pointer or a length must fit its field).  The golden and functional
# engines take every mesh up to 64 x 64; Verilog generation and the RTL engine stop at
# RTL_MAX_TILES tiles (a 16 x 16 chip's Verilog is already ~100 MB and takes minutes to
# convert; a 64 x 64 one would be ~1 GB), see `check_rtl_size`.

LIMITS = {  # field -> (min, max, default)
    "width": (1, MAX_MESH_SIDE, 2),
    "height": (1, MAX_MESH_SIDE, 2),
    "neurons_per_core": (1, 4096, 256),
    "axons_per_core": (1, 4096, 256),
    "synapses_per_core": (1, 16384, 4096),
    "routes_per_core": (1, 4096, 512),
    "fifo_depth": (1, 64, 4),
}


RTL_MAX_TILES = 256


def check_rtl_size(params: "HwParams", what: str = "the RTL") -> None:
    """Refuse a mesh too large for Verilog generation and the RTL engine, in one line."""
    if params.n_tiles > RTL_MAX_TILES:
        raise ConfigError("width x height", f"{params.width}x{params.height}",
                          f"{what} stops at {RTL_MAX_TILES} tiles (e.g. 16 x 16); the golden and "
                          f"functional engines take meshes up to {MAX_MESH_SIDE} x {MAX_MESH_SIDE}")


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
# Clock domains (SPEC sections 1, 5a, 7).  The partition of tiles into domains is an elaboration
# parameter (it changes the Verilog: one `clk_k` input per domain k >= 1, asynchronous links
# between tiles of different domains); periods and phases are not (they change only when edges
# fall).  Domain 0 holds tile (0, 0), the host ports and the chip registers.

DEFAULT_PERIOD_PS = 10_000
LINK_KINDS = ("on_chip", "off_chip")


@dataclass(frozen=True)
class ClockDomain:
    """Domain k >= 1: an inclusive rectangle of tiles (x0, y0, x1, y1), its period and phase in
    integer picoseconds (rising edges at phase_ps + n * period_ps)."""
    tiles: tuple
    period_ps: int
    phase_ps: int = 0

    def holds(self, x: int, y: int) -> bool:
        x0, y0, x1, y1 = self.tiles
        return x0 <= x <= x1 and y0 <= y <= y1

    def to_dict(self) -> dict:
        return {"tiles": list(self.tiles), "period_ps": self.period_ps, "phase_ps": self.phase_ps}


def _at(where: str, name: str) -> str:
    """A field's path: `hardware.period_ps`, or `period_ps` at the top of a file."""
    return f"{where}.{name}" if where else name


def _int_field(where: str, value, lo=None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(where, value, "must be an integer")
    if lo is not None and value < lo:
        raise ConfigError(where, value, f"must be at least {lo}")
    return value


@dataclass(frozen=True)
class Clocks:
    """Every clock of a chip: domain 0's period, domains 1..D-1, and what links between domains
    are (on one GALS chip, or chip-to-chip on a board: this changes energy, not timing)."""
    period_ps: int = DEFAULT_PERIOD_PS
    domains: tuple = ()
    links: str = "on_chip"

    @property
    def n_domains(self) -> int:
        return 1 + len(self.domains)

    def period(self, k: int) -> int:
        return self.period_ps if k == 0 else self.domains[k - 1].period_ps

    def phase(self, k: int) -> int:
        return 0 if k == 0 else self.domains[k - 1].phase_ps

    def domain_of(self, x: int, y: int) -> int:
        for k, d in enumerate(self.domains, start=1):
            if d.holds(x, y):
                return k
        return 0

    def partition(self, params: HwParams) -> tuple:
        """The elaboration parameter: the domain of every tile, in tile index order."""
        return tuple(self.domain_of(x, y) for x, y in params.tiles())

    def check(self, params: HwParams, where: str = "hardware") -> "Clocks":
        """Refuse what SPEC section 7 refuses, naming the field: periods <= 0, phases outside
        [0, P), rectangles outside the mesh, inverted, holding (0, 0) or overlapping."""
        _int_field(_at(where, "period_ps"), self.period_ps, 1)
        if self.links not in LINK_KINDS:
            raise ConfigError(_at(where, "links"), self.links, f"must be one of {', '.join(LINK_KINDS)}")
        for k, d in enumerate(self.domains):
            w = _at(where, f"domains[{k}]")
            t = d.tiles
            if not isinstance(t, tuple) or len(t) != 4:
                raise ConfigError(f"{w}.tiles", t, "must be [x0, y0, x1, y1]")
            for name, v in zip(("x0", "y0", "x1", "y1"), t):
                _int_field(f"{w}.tiles.{name}", v, 0)
            x0, y0, x1, y1 = t
            if x0 > x1 or y0 > y1:
                raise ConfigError(f"{w}.tiles", list(t), "needs x0 <= x1 and y0 <= y1")
            if x1 >= params.width or y1 >= params.height:
                raise ConfigError(f"{w}.tiles", list(t), f"lies outside the {params.width}x{params.height} mesh")
            if d.holds(0, 0):
                raise ConfigError(f"{w}.tiles", list(t), "holds tile (0, 0), which is in domain 0 (the host's)")
            _int_field(f"{w}.period_ps", d.period_ps, 1)
            _int_field(f"{w}.phase_ps", d.phase_ps, 0)
            if d.phase_ps >= d.period_ps:
                raise ConfigError(f"{w}.phase_ps", d.phase_ps, f"must be below the period ({d.period_ps} ps)")
            for j in range(k):
                o = self.domains[j].tiles
                if x0 <= o[2] and o[0] <= x1 and y0 <= o[3] and o[1] <= y1:
                    raise ConfigError(f"{w}.tiles", list(t), f"overlaps {_at(where, f'domains[{j}]')} {list(o)}")
        return self

    @classmethod
    def from_dict(cls, d: dict, params: HwParams, where: str = "hardware") -> "Clocks":
        """From a network's `hardware` block (or a `--domains` file): `period_ps`, `domains`,
        `links`; other keys are ignored here."""
        domains = d.get("domains", [])
        if not isinstance(domains, list):
            raise ConfigError(_at(where, "domains"), domains, "must be a list of {tiles, period_ps, phase_ps}")
        out = []
        for k, e in enumerate(domains):
            w = _at(where, f"domains[{k}]")
            if not isinstance(e, dict):
                raise ConfigError(w, e, "must be an object {\"tiles\": [x0, y0, x1, y1], \"period_ps\": P, \"phase_ps\": Q}")
            unknown = set(e) - {"tiles", "period_ps", "phase_ps"}
            if unknown:
                k0 = sorted(unknown)[0]
                raise ConfigError(f"{w}.{k0}", e[k0], "unknown key (allowed: period_ps, phase_ps, tiles)")
            if "tiles" not in e or "period_ps" not in e:
                missing = "tiles" if "tiles" not in e else "period_ps"
                raise ConfigError(f"{w}.{missing}", None, "missing")
            tiles = e["tiles"]
            if not isinstance(tiles, list) or len(tiles) != 4:
                raise ConfigError(f"{w}.tiles", tiles, "must be [x0, y0, x1, y1]")
            out.append(ClockDomain(tuple(tiles), e["period_ps"], e.get("phase_ps", 0)))
        return cls(d.get("period_ps", DEFAULT_PERIOD_PS), tuple(out), d.get("links", "on_chip")).check(params, where)

    @classmethod
    def per_tile(cls, params: HwParams, period_ps: int, links: str = "on_chip") -> "Clocks":
        """`--clock-per-tile P`: every tile its own domain of period P (tile (0, 0) is domain 0),
        phases spread evenly over the period in tile index order."""
        _int_field("--clock-per-tile", period_ps, 1)
        tiles = list(params.tiles())
        domains = tuple(ClockDomain((x, y, x, y), period_ps, (k * period_ps) // len(tiles))
                        for k, (x, y) in enumerate(tiles) if (x, y) != (0, 0))
        return cls(period_ps, domains, links).check(params)

    def to_dict(self) -> dict:
        return {"period_ps": self.period_ps, "domains": [d.to_dict() for d in self.domains], "links": self.links}


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
ROUTE_WORD = Word("route", (Field("flit", 0, FLIT_PAYLOAD_BITS),))  # the flit without its reserved bits
# SPEC 3: a core updates its neurons 0 .. count-1 (0 to neurons_per_core, so one bit more than a slot).
ACTIVE_WORD = Word("active", (Field("count", 0, LIMITS["neurons_per_core"][1].bit_length()),))


def acc_word(params: HwParams) -> Word:
    return Word("acc", (Field("acc", 0, params.acc_width, True),))


# ----------------------------------------------------------------------------------------------
# Address map (word addresses; docs/architecture.md section 6).
#
#   bit 31 = 0: a tile.  [29:24] y, [23:18] x, [17:14] region, [13:0] word offset; bit 30 is 0.
#   bit 31 = 1: chip-wide registers, [13:0] offset; bits 30:14 are 0.

ADDR_GLOBAL_BIT = 31
ADDR_OFFSET_BITS = 14                       # the largest region: 16384 synapse entries
ADDR_REGION_BITS = 4
ADDR_REGION_LSB = ADDR_OFFSET_BITS          # 14
ADDR_X_LSB = ADDR_REGION_LSB + ADDR_REGION_BITS  # 18
ADDR_Y_LSB = ADDR_X_LSB + COORD_BITS        # 24
ADDR_TILE_TOP = ADDR_Y_LSB + COORD_BITS     # 30: bits [30, 31) of a tile address are 0

REGIONS = ("param", "state", "acc0", "acc1", "axon", "synapse", "rlist", "route", "core_cnt", "router_cnt",
           "active", "link_cnt")
REGION = {name: i for i, name in enumerate(REGIONS)}
if len(REGIONS) > 1 << ADDR_REGION_BITS or max(
        NEURON_WORDS * LIMITS["neurons_per_core"][1], LIMITS["axons_per_core"][1],
        LIMITS["synapses_per_core"][1], LIMITS["routes_per_core"][1]) > 1 << ADDR_OFFSET_BITS:
    raise ValueError("spec: the address map's region or offset field is too narrow for the limits")

CORE_COUNTERS = ("sops", "updates", "spikes", "flits_sent", "errors")
ROUTER_COUNTERS = ("fwd_local", "fwd_north", "fwd_east", "fwd_south", "fwd_west", "errors")
# Flits received over an asynchronous link at each input port of a tile (architecture 8.7).
LINK_PORTS = (NORTH, EAST, SOUTH, WEST)
LINK_COUNTERS = tuple(f"cross_{PORTS[p]}" for p in LINK_PORTS)
CHIP_REGISTERS = ("id", "params", "ticks", "busy_cycles", "status", "domains")
# Chip registers DOMAIN_BUSY_BASE + k: cycles of domain k's clock with its local busy high.
DOMAIN_BUSY_BASE = 64
MAX_DOMAINS = MAX_MESH_SIDE * MAX_MESH_SIDE
CHIP_ID = 0x4E4D0000 | SPEC_VERSION  # "NM" + contract version
CHIP_PARAMS_WORD = Word("params", (Field("width_m1", 0, COORD_BITS), Field("height_m1", COORD_BITS, COORD_BITS)))
CHIP_STATUS_WORD = Word("status", (Field("busy", 0, 1), Field("parity", 1, 1)))
COUNTER_BITS = 32
WRITABLE_REGIONS = ("param", "state", "acc0", "acc1", "axon", "synapse", "rlist", "route", "active")


def region_size(params: HwParams, region: str) -> int:
    """Number of words in a tile region."""
    n = params.neurons_per_core
    return {
        "param": NEURON_WORDS * n, "state": NEURON_WORDS * n, "acc0": n, "acc1": n,
        "axon": params.axons_per_core, "synapse": params.synapses_per_core, "rlist": n,
        "route": params.routes_per_core, "core_cnt": len(CORE_COUNTERS), "router_cnt": len(ROUTER_COUNTERS),
        "active": 1, "link_cnt": len(LINK_COUNTERS),
    }[region]


def region_word(params: HwParams, region: str, offset: int) -> Word:
    """The layout of the word at `offset` in `region` (counters: a plain 32-bit value)."""
    if region == "param":
        return PARAM_WORDS[offset % NEURON_WORDS]
    if region == "state":
        return STATE_WORDS[offset % NEURON_WORDS]
    if region in ("acc0", "acc1"):
        return acc_word(params)
    if region in ("core_cnt", "router_cnt", "link_cnt"):
        return COUNTER_WORD
    return {"axon": AXON_WORD, "synapse": SYNAPSE_WORD, "rlist": RLIST_WORD, "route": ROUTE_WORD,
            "active": ACTIVE_WORD}[region]


COUNTER_WORD = Word("counter", (Field("count", 0, COUNTER_BITS),))


def tile_addr(x: int, y: int, region: str, offset: int) -> int:
    return (y << ADDR_Y_LSB) | (x << ADDR_X_LSB) | (REGION[region] << ADDR_REGION_LSB) | offset


def chip_addr(register: str) -> int:
    return (1 << ADDR_GLOBAL_BIT) | CHIP_REGISTERS.index(register)


def domain_busy_addr(k: int) -> int:
    """The chip register counting domain k's busy cycles (architecture 8.7)."""
    return (1 << ADDR_GLOBAL_BIT) | (DOMAIN_BUSY_BASE + k)


def table_word_problem(params: HwParams, region: str, data: int) -> str | None:
    """Why a table word would index beyond this core's tables, or None if it is in range.

    Such words are outside the contract: the RTL keeps only the low address bits of a pointer
    or neuron index while a model might wrap or fail, so a loader refuses them rather than let
    the two halves disagree on an image the compiler would never write."""
    if region == "active":
        count = ACTIVE_WORD.unpack(data)["count"]
        if count > params.neurons_per_core:
            return f"active-neuron count {count} is more than the core's {params.neurons_per_core} neurons"
    elif region == "synapse":
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
        if not addr & ~((1 << ADDR_GLOBAL_BIT) | ((1 << ADDR_OFFSET_BITS) - 1)):
            if offset < len(CHIP_REGISTERS):
                return Decoded(addr, None, None, CHIP_REGISTERS[offset], 0)
            if DOMAIN_BUSY_BASE <= offset < DOMAIN_BUSY_BASE + MAX_DOMAINS:
                return Decoded(addr, None, None, "domain_busy", offset - DOMAIN_BUSY_BASE)
        raise AddressError(f"address {addr:#010x}: no chip register there")
    if addr >> ADDR_TILE_TOP:
        raise AddressError(f"address {addr:#010x}: bit {ADDR_TILE_TOP} of a tile address must be 0")
    coord = (1 << COORD_BITS) - 1
    y = (addr >> ADDR_Y_LSB) & coord
    x = (addr >> ADDR_X_LSB) & coord
    region = (addr >> ADDR_REGION_LSB) & ((1 << ADDR_REGION_BITS) - 1)
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
