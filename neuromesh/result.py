"""What both engines share around a run: the host's input flits per tick, the counter snapshot
read over `cfg_req`, and the result JSON (SPEC section 7) built from what an engine observed.

An engine (golden model or RTL) only has to return an `EngineRun`; everything a user sees is
computed here, once, so the two engines cannot drift apart in how they report.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import spec
from .energy import BUILTIN, energy_from_counts, load_profile

RESULT_FORMAT = "neuromesh-result/1"


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


def tick_inputs(stimulus: dict, inputs_map: dict, ticks: int) -> list:
    """Input flits per tick (index 0 = tick 1), in stimulus order: for each `[tick, index]` of
    each population (populations in the stimulus file's order), that neuron's map flits."""
    per_tick = [[] for _ in range(ticks)]
    for pop, events in stimulus.items():
        flits_of = inputs_map[pop]
        for tick, index in events:
            per_tick[tick - 1].extend(flits_of[index])
    return per_tick


def read_counters(transport: Transport, params: spec.HwParams) -> dict:
    """Every SPEC section 8 counter, read over the configuration port."""
    chip = {name: transport.read(spec.chip_addr(name)) for name in ("ticks", "busy_cycles")}
    cores, routers = [], []
    for x, y in params.tiles():
        cores.append({name: transport.read(spec.tile_addr(x, y, "core_cnt", i))
                      for i, name in enumerate(spec.CORE_COUNTERS)})
        routers.append({name: transport.read(spec.tile_addr(x, y, "router_cnt", i))
                        for i, name in enumerate(spec.ROUTER_COUNTERS)})
    return {"chip": chip, "cores": cores, "routers": routers}


def event_counts(counters: dict, params: spec.HwParams, cycles: int) -> dict:
    """Counts per energy event type (energy.EVENTS) from a counter snapshot.
    Hops are router-to-router link crossings: a flit leaving (0, 0) west to the host is not a hop."""
    cores, routers = counters["cores"], counters["routers"]
    ew = sum(r["fwd_east"] + r["fwd_west"] for r in routers) - routers[0]["fwd_west"]
    ns = sum(r["fwd_north"] + r["fwd_south"] for r in routers)
    spikes = sum(c["spikes"] for c in cores)
    return {
        "sop": sum(c["sops"] for c in cores),
        "update_idle": sum(c["updates"] for c in cores) - spikes,
        "update_active": spikes,
        "spike": sum(c["flits_sent"] for c in cores),
        "hop_ew": ew,
        "hop_ns": ns,
        "static": params.n_tiles * cycles,
    }


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


def build_result(run: EngineRun, *, engine: str, params: spec.HwParams, chip_map: dict,
                 populations: list, stimulus: dict, ticks: int, profile: str = "loihi",
                 sources: dict | None = None) -> dict:
    """The result JSON of SPEC section 7 (plus the detail a verification engineer wants)."""
    outputs = chip_map["outputs"]
    placement = chip_map.get("placement", {})
    recorded = [p["name"] for p in populations if p.get("record")]
    kinds = {p["name"]: p.get("kind") for p in populations}
    spikes = {name: [] for name in recorded}
    flits_out = []
    for cycle, flit in run.out_flits:
        t = tick_of(cycle, run.completions)
        pop, index = outputs.get(str(flit), (None, None))
        entry = {"cycle": cycle, "flit": flit, "tick": t}
        if pop is not None:
            entry.update(population=pop, index=index)
            if pop in spikes:
                spikes[pop].append([t, index])
            where = placement.get(pop)
            if where:
                slot = where[index][2]
                # docs/architecture.md 4.3: neuron `slot` fires in cycle h_t + 2 + slot.
                entry["latency"] = cycle - (run.handshakes[t - 1] + 2 + slot)
        flits_out.append(entry)
    for pop in recorded:  # input populations are recorded from the stimulus itself
        if kinds[pop] == "input":
            spikes[pop] = [list(e) for e in stimulus.get(pop, [])]
    for pop in spikes:
        spikes[pop] = sorted(spikes[pop])

    cycles = run.completions[-1] if run.completions else 0
    counts = event_counts(run.counters, params, cycles)
    energy = {name: energy_from_counts(load_profile(name), counts)
              for name in dict.fromkeys([profile, *BUILTIN])}
    tick_cycles = [q - h for h, q in zip(run.handshakes, run.completions)]
    latencies = [f["latency"] for f in flits_out if "latency" in f]
    stats = {
        "ticks": ticks,
        "cycles": cycles,
        "tick_cycles": tick_cycles,
        "busy_cycles": run.counters["chip"]["busy_cycles"],
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
        "latency_cycles": ({"min": min(latencies), "mean": sum(latencies) / len(latencies), "max": max(latencies)}
                           if latencies else None),
        "energy_profile": profile,
        "energy_pj": energy[profile],
        "energy_pj_by_profile": energy,
    }
    return {
        "format": RESULT_FORMAT,
        "engine": engine,
        **({"sources": sources} if sources else {}),
        "hardware": params.to_dict(),
        "spikes": spikes,
        "stats": stats,
        "output_flits": flits_out,
        "handshakes": run.handshakes,
        "completions": run.completions,
        "counters": run.counters,
        **run.extras,
    }


def summary(result: dict) -> str:
    """A short human summary of a result (what `neuromesh run` prints)."""
    s = result["stats"]
    n_spikes = sum(len(v) for v in result["spikes"].values())
    lines = [
        f"engine {result['engine']}: {s['ticks']} ticks, {s['cycles']} cycles "
        f"(per tick min {min(s['tick_cycles'], default=0)}, max {max(s['tick_cycles'], default=0)})",
        f"spikes recorded {n_spikes} ({', '.join(f'{k}: {len(v)}' for k, v in result['spikes'].items()) or 'none recorded'}), "
        f"fired {s['spikes_fired']}",
        f"SOPs {s['sops']}, neuron updates {s['updates']}, flits {s['flits']} "
        f"(cores {s['flits_core']}, host {s['flits_host']}, to host {s['flits_out']}), "
        f"hops {s['hops']} (E-W {s['hops_ew']}, N-S {s['hops_ns']}), errors {s['errors']}",
    ]
    if s["latency_cycles"]:
        lat = s["latency_cycles"]
        lines.append(f"latency firing -> spike_out: min {lat['min']}, mean {lat['mean']:.1f}, max {lat['max']} cycles")
    if result.get("board"):
        lines.append(f"board {result['board']['line']}: cycles are board clock cycles including UART pacing "
                     f"(not cycle-exact: {', '.join(result['board']['not_cycle_exact'][:4])}, ...)")
    e = s["energy_pj"]
    parts = ", ".join(f"{k} {v:.1f}" for k, v in e.items() if k != "total" and v)
    lines.append(f"energy ({s['energy_profile']}): {e['total']:.1f} pJ total [{parts or 'no events'}]")
    return "\n".join(lines)
