"""The energy of a run, from its counters: by event type, by core, by link and per tick, for the
chosen profile with its low/high range, and the total under every built-in profile.
`neuromesh.result.build_result` puts `energy_section(...)` in the result as `"energy"`.

Counting (SPEC section 8, docs/energy.md):

- `sop`, `update_idle`, `update_active`, `spike`: the cores' `sops`, `updates - spikes`,
  `spikes`, `flits_sent` counters (a core updates only the neurons it holds, so an empty slot
  is never an update);
- `hop_ew`, `hop_ns`: the routers' forward counters on router-to-router links (a flit leaving
  (0, 0) west to the host is not a hop);
- `async_on_chip`, `async_off_chip`: hops over asynchronous links (tiles of different clock
  domains), priced by the network's `hardware.links`; from the per-link counters (`links`:
  receiving tile, input port, `crossed`) that `read_counters` reads, otherwise (a counter
  snapshot without them) from the forward counters of the links whose two tiles lie in
  different domains (the same number, by SPEC section 7's definition);
- `static`: tile-edges, every tile of the mesh (used or not) times the rising edges of its
  domain's clock from time 0 to the end of the run (`energy.tile_edges`).
"""
from __future__ import annotations

from . import spec
from .clocks import Edges
from .energy import (BUILTIN, EVENTS, energy_bounds, energy_from_counts, has_ranges, load_profile,
                     sources_of, tile_edges)
from .workload import workload_figures

CORE_EVENTS = ("sop", "update_idle", "update_active", "spike", "static")
LINK_EVENTS = ("hop_ew", "hop_ns", "async_on_chip", "async_off_chip")


def _clocks(clocks) -> spec.Clocks:
    return clocks if clocks is not None else spec.Clocks()


def mesh_links(counters: dict, params: spec.HwParams, clocks=None) -> list:
    """Every directed router-to-router link with its flits (the sending router's `fwd_<port>`),
    whether it is asynchronous (its tiles in different domains) and its energy event."""
    clocks = _clocks(clocks)
    domain = clocks.partition(params)
    out = []
    for i, (x, y) in enumerate(params.tiles()):
        r = counters["routers"][i]
        for port, (dx, dy) in spec.PORT_DELTA.items():
            nx, ny = x + dx, y + dy
            if not (0 <= nx < params.width and 0 <= ny < params.height):
                continue
            j = ny * params.width + nx
            crosses = domain[i] != domain[j]
            out.append({"from": [x, y], "to": [nx, ny], "port": spec.PORTS[port],
                        "flits": r[f"fwd_{spec.PORTS[port]}"],
                        "hop": "hop_ew" if dx else "hop_ns",
                        "async": crosses, "kind": clocks.links if crosses else None})
    return out


def _async_kind(kind: str) -> str:
    return "async_off_chip" if kind == "off_chip" else "async_on_chip"


def event_counts(counters: dict, params: spec.HwParams, cycles: int | None = None, *, clocks=None,
                 edges: list | None = None) -> dict:
    """Counts per energy event type (`energy.EVENTS`) from a counter snapshot.  `cycles`: the
    run's domain-0 cycles (None: no static energy, e.g. the functional engine); `edges`: the
    tile-edges of each tile, when the engine computed them (default: from `clocks`, `cycles`)."""
    clocks = _clocks(clocks)
    cores, routers = counters["cores"], counters["routers"]
    ew = sum(r["fwd_east"] + r["fwd_west"] for r in routers) - routers[0]["fwd_west"]
    ns = sum(r["fwd_north"] + r["fwd_south"] for r in routers)
    spikes = sum(c["spikes"] for c in cores)
    counts = dict.fromkeys(EVENTS, 0)
    counts.update({
        "sop": sum(c["sops"] for c in cores),
        "update_idle": sum(c["updates"] for c in cores) - spikes,
        "update_active": spikes,
        "spike": sum(c["flits_sent"] for c in cores),
        "hop_ew": ew,
        "hop_ns": ns,
    })
    if "links" in counters:   # the per-asynchronous-link counters every engine reads (SPEC 8)
        for link in counters["links"]:
            counts[_async_kind(link.get("kind", clocks.links))] += link["crossed"]
    else:
        for link in mesh_links(counters, params, clocks):
            if link["async"]:
                counts[_async_kind(link["kind"])] += link["flits"]
    if edges is None and cycles is not None:
        edges = tile_edges(params, clocks, Edges(clocks).t(0, cycles))
    counts["static"] = sum(edges) if edges is not None else 0
    return counts


def _priced(profile: dict, counts: dict) -> dict:
    return energy_from_counts(profile, counts)


def by_core(profile: dict, counters: dict, params: spec.HwParams, edges: list | None, clocks=None) -> list:
    domain = _clocks(clocks).partition(params)
    out = []
    for i, (x, y) in enumerate(params.tiles()):
        c = counters["cores"][i]
        counts = {"sop": c["sops"], "update_idle": c["updates"] - c["spikes"], "update_active": c["spikes"],
                  "spike": c["flits_sent"], "static": edges[i] if edges is not None else 0}
        pj = {k: v for k, v in _priced(profile, counts).items() if k in CORE_EVENTS}
        pj["total"] = sum(pj.values())
        out.append({"tile": [x, y], "domain": domain[i], "counts": counts, "pj": pj})
    return out


def by_link(profile: dict, counters: dict, params: spec.HwParams, clocks=None) -> list:
    # crossings counted per asynchronous link (receiving tile, input port), when the engine has them
    crossed = {(tuple(l["tile"]), l["port"]): l["crossed"] for l in counters.get("links", [])}
    out = []
    for link in mesh_links(counters, params, clocks):
        counts = {link["hop"]: link["flits"]}
        if link["async"]:
            dx, dy = link["to"][0] - link["from"][0], link["to"][1] - link["from"][1]
            port_in = spec.PORTS[next(p for p, d in spec.PORT_DELTA.items() if d == (-dx, -dy))]
            counts[_async_kind(link["kind"])] = crossed.get((tuple(link["to"]), port_in), link["flits"])
        pj = _priced(profile, counts)
        out.append({"from": link["from"], "to": link["to"], "port": link["port"], "flits": link["flits"],
                    "async": link["async"], "kind": link["kind"], "pj": pj["total"]})
    return out


def tick_counts(totals: list, completions: list, params: spec.HwParams, clocks=None) -> list:
    """Event counts of each tick phase [q_{t-1}, q_t) from chip-wide counter totals taken at
    each tick completion (the golden engine's `tick_totals`: `{"cores": {counter: sum},
    "routers": {counter: sum}, "host_exit": flits out of (0, 0) west, "async_crossings": n?}`)."""
    clocks = _clocks(clocks)
    t0 = Edges(clocks).t
    prev = {"cores": dict.fromkeys(spec.CORE_COUNTERS, 0), "routers": dict.fromkeys(spec.ROUTER_COUNTERS, 0),
            "host_exit": 0, "async_crossings": 0}
    start = 0
    out = []
    for snap, q in zip(totals, completions):
        c = {k: snap["cores"][k] - prev["cores"][k] for k in spec.CORE_COUNTERS}
        r = {k: snap["routers"][k] - prev["routers"][k] for k in spec.ROUTER_COUNTERS}
        counts = dict.fromkeys(EVENTS, 0)
        counts.update({
            "sop": c["sops"], "update_idle": c["updates"] - c["spikes"], "update_active": c["spikes"],
            "spike": c["flits_sent"],
            "hop_ew": r["fwd_east"] + r["fwd_west"] - (snap["host_exit"] - prev["host_exit"]),
            "hop_ns": r["fwd_north"] + r["fwd_south"],
            "static": sum(tile_edges(params, clocks, t0(0, q), t0(0, start))),
        })
        if "async_crossings" in snap:
            counts[_async_kind(clocks.links)] = snap["async_crossings"] - prev.get("async_crossings", 0)
        out.append(counts)
        prev, start = snap, q
    return out


def energy_section(counters: dict, params: spec.HwParams, *, profile: str, cycles: int | None,
                   clocks=None, edges: list | None = None, tick_totals: list | None = None,
                   completions: list | None = None, static_figures: dict | None = None,
                   ticks: int = 0) -> tuple[dict, dict]:
    """(`energy`, `workload`): the result's energy section and its NeuroBench figures."""
    clocks = _clocks(clocks)
    if edges is None and cycles is not None:
        edges = tile_edges(params, clocks, Edges(clocks).t(0, cycles))
    counts = event_counts(counters, params, cycles, clocks=clocks, edges=edges)
    prof = load_profile(profile)
    bounds = energy_bounds(prof, counts)
    section = {
        "profile": prof["name"],
        "description": prof.get("description", ""),
        "counts": counts,
        "pj": energy_from_counts(prof, counts),
        "low": bounds["low"],
        "high": bounds["high"],
        "has_range": has_ranges(prof),
        "sources": sources_of(prof),
        "by_core": by_core(prof, counters, params, edges, clocks),
        "by_link": by_link(prof, counters, params, clocks),
        "profiles": {},
    }
    if cycles is None:
        section["notes"] = ["no clock: no static energy (SPEC section 7, functional engine)"]
    for name in dict.fromkeys([profile, *BUILTIN]):
        p = load_profile(name)
        b = energy_bounds(p, counts)
        section["profiles"][p["name"]] = {"pj": energy_from_counts(p, counts),
                                          "low": b["low"]["total"], "high": b["high"]["total"]}
    if tick_totals is not None:
        section["per_tick"] = [dict(tick=t, counts=c, pj=energy_from_counts(prof, c))
                               for t, c in enumerate(tick_counts(tick_totals, completions or [], params, clocks), 1)]
        if clocks.n_domains > 1 and not all("async_crossings" in s for s in tick_totals):
            section.setdefault("notes", []).append(
                "per tick: asynchronous crossings not reported by this engine per tick (counted in the totals)")
    else:
        section.setdefault("notes", []).append(
            "no energy per tick: this engine reads its counters once, at the end of the run")
    return section, workload_figures(counts, static_figures, ticks)
