"""What both engines share around a run: the host's input flits per tick, the counter snapshot
read over `cfg_req`, and the result JSON (SPEC section 7) built from what an engine observed.

An engine (golden model or RTL) only has to return an `EngineRun`; everything a user sees is
computed here, once, so the two engines cannot drift apart in how they report.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import spec
from .clocks import Edges, tick_schedule
from .energy_report import energy_section, event_counts  # noqa: F401 - event_counts: part of this module's API
from .gcpause import gc_paused
from .text import printable

RESULT_FORMAT = "neuromesh-result/2"


class Transport:
    """A configuration port: the golden model and the RTL testbench both implement it."""

    def write(self, addr: int, data: int) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, addr: int) -> int:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class EngineRun:
    """What an engine observed during a run (cycles as in docs/architecture.md section 2)."""
    out_flits: list            # [(cycle, flit)] in the order they left spike_out
    handshakes: list           # h_t for t = 1..T
    completions: list          # q_t for t = 1..T
    counters: dict             # read_counters(...) after the run
    host_flits: int            # flits accepted on spike_in
    extras: dict = field(default_factory=dict)  # engine-specific measurements (links, FIFOs...)
    # False for the functional engine (SPEC 9: no cycles): `out_flits` are then (tick, flit),
    # `handshakes`/`completions` are empty and the chip counter `busy_cycles` is None.
    timed: bool = True


def tick_inputs(stimulus: dict, inputs_map: dict, ticks: int) -> list:
    """Input flits per tick (index 0 = tick 1), in stimulus order: for each `[tick, index]` of
    each population (populations in the stimulus file's order), that neuron's map flits."""
    per_tick = [[] for _ in range(ticks)]
    for pop, events in stimulus.items():
        flits_of = inputs_map[pop]
        for tick, index in events:
            per_tick[tick - 1].extend(flits_of[index])
    return per_tick


def async_links(params: spec.HwParams, clocks: spec.Clocks) -> list:
    """Every asynchronous link as (x, y, input port) of its receiving tile, in tile index then
    port order (architecture 8.2 and 8.7)."""
    part = dict(zip(params.tiles(), clocks.partition(params)))
    out = []
    for x, y in params.tiles():
        for port in spec.LINK_PORTS:
            dx, dy = spec.PORT_DELTA[port]
            other = part.get((x + dx, y + dy))
            if other is not None and other != part[(x, y)]:
                out.append((x, y, port))
    return out


def read_counters(transport: Transport, params: spec.HwParams, clocks: spec.Clocks | None = None) -> dict:
    """Every SPEC section 8 counter, read over the configuration port: chip-wide, per clock
    domain (busy cycles of its own clock), per core, per router, per asynchronous link."""
    clocks = clocks or spec.Clocks()
    chip = {name: transport.read(spec.chip_addr(name)) for name in ("ticks", "busy_cycles")}
    domains = [transport.read(spec.domain_busy_addr(k)) for k in range(clocks.n_domains)]
    cores, routers = [], []
    for x, y in params.tiles():
        cores.append({name: transport.read(spec.tile_addr(x, y, "core_cnt", i))
                      for i, name in enumerate(spec.CORE_COUNTERS)})
        routers.append({name: transport.read(spec.tile_addr(x, y, "router_cnt", i))
                        for i, name in enumerate(spec.ROUTER_COUNTERS)})
    links = [{"tile": [x, y], "port": spec.PORTS[port],
              "crossed": transport.read(spec.tile_addr(x, y, "link_cnt", spec.LINK_PORTS.index(port)))}
             for x, y, port in async_links(params, clocks)]
    return {"chip": chip, "domains": domains, "cores": cores, "routers": routers, "links": links}


def tick_of(cycle: int, completions: list) -> int:
    """The tick (1-based) whose phase [q_{t-1}, q_t) holds `cycle` (q_0 = 0): docs/architecture.md
    section 7. A neuron's flits always fall in [h_t, q_t); a host-bound flit that the host itself
    sends on `spike_in` may come back out before the handshake, in the same phase."""
    start = 0
    for t, q in enumerate(completions, start=1):
        if start <= cycle < q:
            return t
        start = q
    raise ValueError(f"cycle {cycle} is after the last tick completed (cycle {start})")


def firing_time(edges: Edges, domain: int, h: int, slot: int) -> int:
    """The time (ps) a neuron in `slot` of a domain-`domain` core fires in the tick handshaked
    in domain-0 cycle h: in its domain's cycle start + 1 + UPDATE_LATENCY + slot (architecture
    4.3 and 8.3)."""
    start = tick_schedule(edges, h).start[domain]
    return edges.t(domain, start + 1 + spec.UPDATE_LATENCY + slot)


def build_result(run: EngineRun, *, engine: str, params: spec.HwParams, chip_map: dict,
                 populations: list, stimulus: dict, ticks: int, profile: str = "loihi",
                 sources: dict | None = None, clocks: spec.Clocks | None = None,
                 network_figures: dict | None = None) -> dict:
    """The result JSON of SPEC section 7 (plus the detail a verification engineer wants).
    Cycles are domain-0 cycles; every time is in ps from time 0 (architecture 8.8).
    `network_figures`: `neuromesh.workload.static_figures` of the network and image (NeuroBench)."""
    clocks = clocks or spec.Clocks()
    if not run.timed:
        with gc_paused():   # ~10^5 dicts and lists with no cycles (neuromesh.gcpause)
            return _untimed_result(run, engine=engine, params=params, chip_map=chip_map, populations=populations,
                                   stimulus=stimulus, ticks=ticks, profile=profile, sources=sources, clocks=clocks,
                                   network_figures=network_figures)
    edges = Edges(clocks)
    partition = clocks.partition(params)
    period0 = clocks.period_ps
    outputs = chip_map["outputs"]
    placement = chip_map.get("placement", {})
    recorded = [p["name"] for p in populations if p.get("record")]
    kinds = {p["name"]: p.get("kind") for p in populations}
    spikes = {name: [] for name in recorded}
    flits_out = []
    for cycle, flit in run.out_flits:
        t = tick_of(cycle, run.completions)
        pop, index = outputs.get(str(flit), (None, None))
        entry = {"cycle": cycle, "time_ps": edges.t(0, cycle), "flit": flit, "tick": t}
        if pop is not None:
            entry.update(population=pop, index=index)
            if pop in spikes:
                spikes[pop].append([t, index])
            where = placement.get(pop)
            if where:
                x, y, slot = where[index]
                # The neuron fires in its own domain's cycle (architecture 4.3, 8.3); latency
                # counts domain-0 cycles from the one the firing falls in, and picoseconds.
                fired = firing_time(edges, partition[y * params.width + x], run.handshakes[t - 1], slot)
                entry["latency"] = cycle - fired // period0
                entry["latency_ps"] = entry["time_ps"] - fired
                hops = x + y
                entry["hops"] = hops
                entry["crossings"] = _crossings_on_path(params, partition, x, y)
        flits_out.append(entry)
    for pop in recorded:  # input populations are recorded from the stimulus itself
        if kinds[pop] == "input":
            spikes[pop] = [list(e) for e in stimulus.get(pop, [])]
    for pop in spikes:
        spikes[pop] = sorted(spikes[pop])

    cycles = run.completions[-1] if run.completions else 0
    extras = dict(run.extras)
    # Energy (neuromesh/energy_report.py): by event, core, link and (golden) tick. An engine may
    # give each tile's clock edges itself (extras "tile_edges"); otherwise they follow from
    # `clocks` and the run's domain-0 cycles.
    energy, workload = energy_section(run.counters, params, profile=profile, cycles=cycles, clocks=clocks,
                                      edges=extras.pop("tile_edges", None),
                                      tick_totals=extras.pop("tick_totals", None), completions=run.completions,
                                      static_figures=network_figures, ticks=ticks)
    counts = energy["counts"]
    tick_cycles = [q - h for h, q in zip(run.handshakes, run.completions)]
    latencies = [f["latency"] for f in flits_out if "latency" in f]
    latencies_ps = [f["latency_ps"] for f in flits_out if "latency_ps" in f]
    links = _async_link_report(run.counters.get("links", []), params, partition, clocks)
    stats = {
        "ticks": ticks,
        "cycles": cycles,
        "time_ps": edges.t(0, cycles),
        "tick_cycles": tick_cycles,
        "busy_cycles": run.counters["chip"]["busy_cycles"],
        "domain_busy_cycles": run.counters.get("domains", [run.counters["chip"]["busy_cycles"]]),
        **_event_stats(run, counts, links, clocks),
        "latency_cycles": ({"min": min(latencies), "mean": sum(latencies) / len(latencies), "max": max(latencies)}
                           if latencies else None),
        "latency_ps": ({"min": min(latencies_ps), "mean": sum(latencies_ps) / len(latencies_ps),
                        "max": max(latencies_ps)} if latencies_ps else None),
        **_energy_stats(energy),
    }
    return {
        "format": RESULT_FORMAT,
        "engine": engine,
        **({"sources": sources} if sources else {}),
        "hardware": params.to_dict(),
        "clocks": {**clocks.to_dict(), "partition": list(partition)},
        "spikes": spikes,
        "stats": stats,
        "output_flits": flits_out,
        "handshakes": run.handshakes,
        "completions": run.completions,
        "handshake_times_ps": [edges.t(0, h) for h in run.handshakes],
        "completion_times_ps": [edges.t(0, q) for q in run.completions],
        "async_links": links,
        "counters": run.counters,
        "energy": energy,
        "workload": workload,
        **extras,
    }


def _energy_stats(energy: dict) -> dict:
    """The energy fields of `stats` (SPEC section 7 `energy_pj`, and the rest beside it)."""
    return {
        "energy_profile": energy["profile"],
        "energy_pj": energy["pj"],
        "energy_pj_range": {"low": energy["low"]["total"], "high": energy["high"]["total"]},
        "energy_pj_by_profile": {name: p["pj"] for name, p in energy["profiles"].items()},
    }


def _event_stats(run: EngineRun, counts: dict, links: list, clocks: spec.Clocks) -> dict:
    """The stats every engine's result has, timed or not: events counted by the chip."""
    return {
        "domains": clocks.n_domains,
        "async_crossings": sum(link["crossed"] for link in links),
        "sops": counts["sop"],
        "updates": counts["update_idle"] + counts["update_active"],
        "spikes_fired": counts["update_active"],
        "flits": counts["spike"] + run.host_flits,
        "flits_core": counts["spike"],
        "flits_host": run.host_flits,
        "flits_out": len(run.out_flits),
        "hops": counts["hop_ew"] + counts["hop_ns"],
        "hops_ew": counts["hop_ew"],
        "hops_ns": counts["hop_ns"],
        "errors": sum(c["errors"] for c in run.counters["cores"]) + sum(r["errors"] for r in run.counters["routers"]),
    }


def _crossings_on_path(params: spec.HwParams, partition, x: int, y: int) -> int:
    """Asynchronous links a host-bound flit from tile (x, y) crosses on its XY path to (0, 0)
    (west along the row, then south along column 0)."""
    path = [(i, y) for i in range(x, -1, -1)] + [(0, j) for j in range(y - 1, -1, -1)]
    doms = [partition[j * params.width + i] for i, j in path]
    return sum(a != b for a, b in zip(doms, doms[1:]))


def _async_link_report(counted: list, params: spec.HwParams, partition, clocks: spec.Clocks) -> list:
    """Each asynchronous link: receiving tile and input port, sending tile, both domains, the
    kind (on_chip / off_chip) and its crossings."""
    out = []
    for link in counted:
        x, y = link["tile"]
        dx, dy = spec.PORT_DELTA[spec.PORTS.index(link["port"])]
        sx, sy = x + dx, y + dy
        out.append({"to": [x, y], "port": link["port"], "from": [sx, sy],
                    "domains": [partition[sy * params.width + sx], partition[y * params.width + x]],
                    "kind": clocks.links, "crossed": link["crossed"]})
    return out


UNTIMED = ("none: the functional engine is tick-exact and has no cycles (SPEC section 9), so this "
           "result has no cycle or time fields and no static energy")


def _untimed_result(run: EngineRun, *, engine, params, chip_map, populations, stimulus, ticks, profile,
                    sources, clocks: spec.Clocks, network_figures: dict | None = None) -> dict:
    """The result of an engine without cycles: `build_result`'s, minus every cycle and time
    field and static energy (`stats.timing` says so); output flits carry their tick only."""
    import numpy as np
    outputs = chip_map["outputs"]
    recorded = [p["name"] for p in populations if p.get("record")]
    kinds = {p["name"]: p.get("kind") for p in populations}
    spikes = {name: [] for name in recorded}
    # one map look-up per distinct flit, not per flit (a large run sends millions); the
    # functional engine hands its flits over as arrays (`ticks`, `flits`)
    if hasattr(run.out_flits, "flits"):
        ticks_arr, flits_arr = run.out_flits.ticks, run.out_flits.flits
    else:
        pairs = np.array(run.out_flits, dtype=np.int64).reshape(-1, 2)
        ticks_arr, flits_arr = pairs[:, 0], pairs[:, 1]
    uniq, inv = _distinct_inverse(flits_arr)
    names = sorted(spikes)
    info = [outputs.get(str(f)) for f in uniq.tolist()]
    mapped = np.array([i is not None for i in info] + [False], dtype=bool)[inv]
    pop_of = np.array([names.index(i[0]) if i and i[0] in spikes else -1 for i in info] + [-1], dtype=np.int64)[inv]
    index_of = np.array([i[1] if i else -1 for i in info] + [-1], dtype=np.int64)[inv]
    pop_name = np.array([i[0] if i else None for i in info] + [None], dtype=object)[inv]
    index_obj = np.array([i[1] if i else None for i in info] + [None], dtype=object)[inv]
    flit_list, tick_list = flits_arr.tolist(), ticks_arr.tolist()
    flits_out = [{"flit": f, "tick": t, "population": p, "index": i}
                 for f, t, p, i in zip(flit_list, tick_list, pop_name.tolist(), index_obj.tolist())]
    for k in np.flatnonzero(~mapped).tolist():   # flits the map does not name: flit and tick only
        flits_out[k] = {"flit": flit_list[k], "tick": tick_list[k]}
    for k, pop in enumerate(names):
        sel = pop_of == k
        order = np.lexsort((index_of[sel], ticks_arr[sel]))
        spikes[pop] = np.stack([ticks_arr[sel][order], index_of[sel][order]], axis=1).tolist()
    for pop in recorded:
        if kinds[pop] == "input":
            spikes[pop] = sorted(list(e) for e in stimulus.get(pop, []))
    extras = dict(run.extras)
    energy, workload = energy_section(run.counters, params, profile=profile, cycles=None, clocks=clocks,
                                      tick_totals=extras.pop("tick_totals", None), static_figures=network_figures,
                                      ticks=ticks)   # no cycles: no static energy
    counts = energy["counts"]
    links = _async_link_report(run.counters.get("links", []), params, clocks.partition(params), clocks)
    stats = {
        "ticks": ticks,
        "timing": UNTIMED,
        **_event_stats(run, counts, links, clocks),
        **_energy_stats(energy),
    }
    counters = {**run.counters, "chip": {k: v for k, v in run.counters["chip"].items() if k != "busy_cycles"}}
    return {
        "format": RESULT_FORMAT,
        "engine": engine,
        **({"sources": sources} if sources else {}),
        "hardware": params.to_dict(),
        "clocks": {**clocks.to_dict(), "partition": list(clocks.partition(params))},
        "spikes": spikes,
        "stats": stats,
        "output_flits": flits_out,
        "async_links": links,
        "counters": counters,
        "energy": energy,
        "workload": workload,
        **extras,
    }


def _distinct_inverse(values):
    """`np.unique(values, return_inverse=True)` by one stable sort (NumPy's hash-based unique is
    several times slower on a large run's output flits)."""
    import numpy as np
    order = np.argsort(values, kind="stable")
    v = values[order]
    first = np.concatenate(([True], v[1:] != v[:-1])) if len(v) else np.zeros(0, dtype=bool)
    inv = np.empty(len(v), dtype=np.int64)
    inv[order] = np.cumsum(first) - 1
    return v[first], inv


def summary(result: dict) -> str:
    """A short human summary of a result (what `neuromesh run` prints). Names from the user's
    files are escaped (`printable`): a population called "\\ud800" or "a\\nb" prints as that."""
    s = result["stats"]
    n_spikes = sum(len(v) for v in result["spikes"].values())
    timing = (f"{s['cycles']} cycles (per tick min {min(s['tick_cycles'], default=0)}, "
              f"max {max(s['tick_cycles'], default=0)})" if "cycles" in s else "no cycles (tick-exact engine)")
    lines = [
        f"engine {result['engine']}: {s['ticks']} ticks, {timing}",
        f"spikes recorded {n_spikes} ({', '.join(f'{printable(k)}: {len(v)}' for k, v in result['spikes'].items()) or 'none recorded'}), "
        f"fired {s['spikes_fired']}",
        f"SOPs {s['sops']}, neuron updates {s['updates']}, flits {s['flits']} "
        f"(cores {s['flits_core']}, host {s['flits_host']}, to host {s['flits_out']}), "
        f"hops {s['hops']} (E-W {s['hops_ew']}, N-S {s['hops_ns']}), errors {s['errors']}",
    ]
    if s.get("domains", 1) > 1 and "time_ps" in s:
        lines.append(f"clock domains {s['domains']}: busy cycles {s['domain_busy_cycles']}; asynchronous "
                     f"crossings {s['async_crossings']}; run time {s['time_ps'] / 1e6:.3f} us")
    elif s.get("async_crossings"):
        lines.append(f"asynchronous link crossings {s['async_crossings']}")
    if s.get("latency_cycles"):
        lat = s["latency_cycles"]
        lines.append(f"latency firing -> spike_out: min {lat['min']}, mean {lat['mean']:.1f}, max {lat['max']} cycles")
        if s.get("latency_ps"):
            lp = s["latency_ps"]
            lines.append(f"latency firing -> spike_out: min {lp['min'] / 1000:.1f}, mean {lp['mean'] / 1000:.1f}, "
                         f"max {lp['max'] / 1000:.1f} ns")
    if result.get("board"):
        lines.append(f"board {result['board']['line']}: cycles are board clock cycles including UART pacing "
                     f"(not cycle-exact: {', '.join(result['board']['not_cycle_exact'][:4])}, ...)")
    e = s["energy_pj"]
    parts = ", ".join(f"{k} {v:.1f}" for k, v in e.items() if k != "total" and v)
    rng = s.get("energy_pj_range")
    span = (f" (range {rng['low']:.1f} to {rng['high']:.1f})"
            if rng and (rng["low"], rng["high"]) != (e["total"], e["total"]) else "")
    lines.append(f"energy ({printable(s['energy_profile'])}): {e['total']:.1f} pJ total{span} [{parts or 'no events'}]"
                 + ("" if "cycles" in s else ", no static energy (no cycles)"))
    return "\n".join(lines)
