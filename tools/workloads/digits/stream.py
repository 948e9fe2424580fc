"""Handwritten digits, part 4: the streaming task, where the seeds' argument for spikes is
strongest: a stream of frames that changes rarely.

The stream shows test digits one after another, each held for F frames (F = 1, 4, 16, 64), with
a fixed number of ticks per frame (`TICKS_PER_FRAME`).  Three systems process it:

- dense, every frame: the int8 network recomputes all 2,368 MACs on every frame;
- dense, on change (the fair baseline): it compares each frame with the previous one (64 int8
  compares) and recomputes only frames that changed;
- spiking, delta-fed: the host sends spikes only where the input changed.  Each pixel is held
  at `LEVELS + 1` levels (q = round(4 p / 16)); when q changes by d at a frame boundary, the
  pixel's `up` (d > 0) or `down` (d < 0) input neuron fires |d| times, one spike per tick from
  the frame's first tick.  The hidden neurons hold their input current (`du = 0`: the current
  decays by 1/4096 per tick, the slowest decay SPEC section 3 allows), so a held digit needs no
  input spikes at all; `up` reaches a hidden neuron with the converted weight, `down` with its
  negation, and the hidden `weight_exp` is 2 lower, so that a held level q gives the same current
  as the rate code's mean, w 2^e p / 16.  Hidden and output neurons leak a little (`dv`) so that
  a negative drive cannot push `v` arbitrarily low while a digit is held and then delay the next
  digit; nothing resets the network between digits (a tick-driven chip has no reset but `rst`).
  The host reads the class from the output spikes counted since the input last changed (it sent
  that change, so it knows when it was).

Everything else (weights, thresholds, biases, placement) is the converted network of `model.py`
and `net.py`.  The functional engine (`neuromesh.sim.functional`) runs every stream over the
whole test split; a segment runs on the golden model, whose spikes and counters must equal it.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from neuromesh import spec

from . import model as dm
from . import net as dn

F_VALUES = (1, 4, 16, 64)
F_VALUES_QUICK = (1, 4, 16)
TICKS_PER_FRAME = 16
LEVELS = 4                         # q = round(LEVELS * p / 16), p = 0..16
DU_HIDDEN = 0                      # hold the input current
DV_HIDDEN, DV_OUTPUT = 128, 512    # leaks: time constants of 32 and 8 ticks
STREAMS = 10                       # the test split cut into this many streams run side by side
UP, DOWN = "up", "down"


@dataclass
class StreamSnn:
    hidden: dm.LifLayer
    output: dm.LifLayer
    current_shift: int   # hidden weight_exp lowered by this much (LEVELS = 2 ** current_shift)


LEAK_CANDIDATES = ((0, 512), (128, 512), (256, 256), (128, 128), (512, 512))


def stream_snn(snn: dm.Snn, dv_hidden: int = DV_HIDDEN, dv_output: int = DV_OUTPUT) -> StreamSnn:
    """The converted network with the streaming neuron parameters (module docstring)."""
    shift = int(np.log2(LEVELS))
    if snn.hidden.weight_exp < shift:
        raise spec.NeuroMeshError(f"digits stream: hidden weight_exp {snn.hidden.weight_exp} < {shift}: "
                                  f"cannot scale the held current by 1/{LEVELS}")
    hidden = copy.deepcopy(snn.hidden)
    hidden.weight_exp -= shift
    hidden.du = np.full(hidden.size, DU_HIDDEN, np.int64)
    hidden.dv = np.full(hidden.size, dv_hidden, np.int64)
    output = copy.deepcopy(snn.output)
    output.dv = np.full(output.size, dv_output, np.int64)
    return StreamSnn(hidden, output, shift)


def levels(pixels: np.ndarray) -> np.ndarray:
    """Held pixel levels 0..LEVELS: round(LEVELS p / 16), halves up, in integers."""
    return (2 * LEVELS * np.asarray(pixels, np.int64) + dm.PIXEL_MAX) // (2 * dm.PIXEL_MAX)


def delta_spikes(q_old: np.ndarray, q_new: np.ndarray, ticks: int) -> tuple[np.ndarray, np.ndarray]:
    """(up, down): (..., ticks, pixels) booleans, |d| spikes from the first tick of the frame."""
    d = (q_new - q_old)[..., None, :]
    t = np.arange(ticks)[:, None]
    return d > t, -d > t


@dataclass
class StreamRun:
    predictions: np.ndarray    # (streams, frames) class read after each frame
    labels: np.ndarray         # (streams, frames)
    changed: np.ndarray        # (streams, frames) the frame's input differs from the previous one
    input_spikes: np.ndarray   # (streams, frames)
    output_raster: np.ndarray  # (streams, ticks, 10) output spikes
    counts: list               # per stream: energy event counts of the whole stream (no static)
    stimuli: list              # per stream: the stimulus dict (for a golden run of the same stream)
    runs: list                 # per stream: the functional engine's EngineRun


def stream_stimulus(pixels: np.ndarray, frames_per_digit: int, ticks: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """One stream (digits, 64) as a stimulus: `up`/`down` spikes where a level changed, from the
    first tick of the digit's first frame. Also: which frames changed, input spikes per frame."""
    events = {UP: [], DOWN: []}
    q_old = np.zeros(pixels.shape[1], np.int64)
    frames = len(pixels) * frames_per_digit
    changed = np.zeros(frames, bool)
    n_in = np.zeros(frames, np.int64)
    for d, px in enumerate(pixels):
        q_new = levels(px)
        up, down = delta_spikes(q_old, q_new, ticks)
        t0 = d * frames_per_digit * ticks
        for name, arr in ((UP, up), (DOWN, down)):
            t_idx, i_idx = np.nonzero(arr)
            events[name].extend([int(t0 + t) + 1, int(i)] for t, i in zip(t_idx, i_idx))
        changed[d * frames_per_digit] = bool((q_new != q_old).any())
        n_in[d * frames_per_digit] = int(up.sum() + down.sum())
        q_old = q_new
    for name in events:
        events[name].sort()
    return {"ticks": frames * ticks, "spikes": events}, changed, n_in


def read_classes(raster: np.ndarray, frames_per_digit: int, ticks: int) -> np.ndarray:
    """(streams, frames) classes: after each frame, the class with most output spikes since the
    digit's first tick (the host sent that change); a tie goes to the first to spike since then,
    then to the lower index (`model.classify`'s rule, applied to the window since the change)."""
    s_n, total, k = raster.shape
    seg = frames_per_digit * ticks
    out = np.zeros((s_n, total // ticks), np.int64)
    order = (k - 1 - np.arange(k))[None, :]
    for d in range(total // seg):
        r = raster[:, d * seg:(d + 1) * seg]
        cum = r.cumsum(axis=1)
        first = np.where(r.any(axis=1), r.argmax(axis=1), seg)          # (streams, k)
        for f in range(frames_per_digit):
            end = (f + 1) * ticks
            counts = cum[:, end - 1]
            first_in = np.where(first < end, first, end)
            key = counts * (end + 1) * k + (end - first_in) * k + order
            out[:, d * frames_per_digit + f] = key.argmax(axis=1)
    return out


def simulate(prep, pixels: np.ndarray, labels: np.ndarray, frames_per_digit: int,
             ticks: int = TICKS_PER_FRAME) -> StreamRun:
    """Every stream (`pixels`: (streams, digits, 64)) on the functional engine, side by side
    (`neuromesh.sim.functional.run_many`), on the compiled streaming network `prep`."""
    from neuromesh.energy_report import event_counts
    from neuromesh.result import tick_inputs
    from neuromesh.sim.functional import run_many, spike_rasters
    made = [stream_stimulus(px, frames_per_digit, ticks) for px in pixels]
    stimuli = [m[0] for m in made]
    inputs = [tick_inputs(st["spikes"], prep.compiled.map["inputs"], st["ticks"]) for st in stimuli]
    runs = run_many(prep.compiled.params, prep.compiled.writes, inputs, clocks=prep.net.clocks)
    raster = spike_rasters(runs, prep.compiled.map, stimuli[0]["ticks"])[dn.OUTPUT]
    counts = [dict(event_counts(r.counters, prep.compiled.params, None), host_flits=r.host_flits) for r in runs]
    return StreamRun(read_classes(raster, frames_per_digit, ticks), np.repeat(labels, frames_per_digit, axis=1),
                     np.stack([m[1] for m in made]), np.stack([m[2] for m in made]), raster, counts, stimuli, runs)


def frame_counts(run: StreamRun) -> dict:
    """Mean event counts per frame (energy.EVENTS keys without static, and `host_flits`), from
    the engine's counters of every stream."""
    frames = run.predictions.size
    return {k: sum(c[k] for c in run.counts) / frames for k in run.counts[0]}


def split_streams(pixels: np.ndarray, labels: np.ndarray, streams: int = STREAMS, digits: int | None = None):
    """Cut a split, in its order, into `streams` streams of equal length (a remainder is
    dropped): (streams, digits, 64) pixels and (streams, digits) labels."""
    per = len(labels) // streams if digits is None else digits
    n = streams * per
    return pixels[:n].reshape(streams, per, -1), labels[:n].reshape(streams, per)


def choose_leaks(snn: dm.Snn, data: dm.Dataset, frames_per_digit: int = 4) -> tuple[tuple, list]:
    """The leaks (dv hidden, dv output) with the best accuracy on the *training* split (so the
    choice does not look at the test split), and every candidate's accuracy."""
    px, lab = split_streams(data.x_train, data.y_train)
    rows = []
    for dvh, dvo in LEAK_CANDIDATES:
        run = simulate(prepare(stream_snn(snn, dvh, dvo)), px, lab, frames_per_digit)
        rows.append({"dv_hidden": dvh, "dv_output": dvo, "train_accuracy": float(np.mean(run.predictions == run.labels))})
    best = max(rows, key=lambda r: r["train_accuracy"])
    return (best["dv_hidden"], best["dv_output"]), rows


# ----------------------------------------------------------------------------------------------
# The network and stimulus files (for the golden segment)


def network_json(ssnn: StreamSnn, layout: str = "2x1") -> dict:
    lay = dn.LAYOUTS[layout]
    H, O = ssnn.hidden, ssnn.output
    n_in = H.weights.shape[0]
    hw = dn.hardware(dm.Snn(H, O), layout)
    hw["axons_per_core"] = max(hw["axons_per_core"], 2 * n_in)
    hw["synapses_per_core"] = int(max(2 * np.count_nonzero(H.weights), np.count_nonzero(O.weights)))

    def lif(name, layer, where, record):
        return {"name": name, "kind": "lif", "size": layer.size, "record": record, "placement": list(where),
                **{k: [int(v) for v in getattr(layer, k)] for k in spec.NEURON_PARAMS}}

    def synapses(w, sign=1):
        i, j = np.nonzero(w)
        return [[int(a), int(b), int(sign * w[a, b])] for a, b in zip(i, j)]

    return {
        "format": "neuromesh-network/2",
        "description": ("Handwritten digits, streaming: delta-coded input (up/down spikes where a pixel level "
                        "changed), hidden neurons holding their current. Written by "
                        "neuromesh.tools.workloads.digits (stream.py)."),
        "hardware": hw,
        "populations": [
            {"name": UP, "kind": "input", "size": n_in},
            {"name": DOWN, "kind": "input", "size": n_in},
            lif(dn.HIDDEN, H, lay["hidden"], False),
            lif(dn.OUTPUT, O, lay["output"], True),
        ],
        "projections": [
            {"pre": UP, "post": dn.HIDDEN, "weight_exp": H.weight_exp, "synapses": synapses(H.weights)},
            {"pre": DOWN, "post": dn.HIDDEN, "weight_exp": H.weight_exp, "synapses": synapses(H.weights, -1)},
            {"pre": dn.HIDDEN, "post": dn.OUTPUT, "weight_exp": O.weight_exp, "synapses": synapses(O.weights)},
        ],
    }


def prepare(ssnn: StreamSnn, layout: str = "2x1"):
    """The streaming network compiled once (`net.Prepared`), from a temporary network file."""
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as tmp:
        return dn.prepare(dn.write_json(Path(tmp) / "stream.json", network_json(ssnn, layout)))


# ----------------------------------------------------------------------------------------------
# The study: energy per frame against F for the three systems, with accuracy


def dense_per_frame(dense: dict, macs: int, node_nm: float, fraction_changed: float) -> dict:
    """Dense int8 energy per frame at `node_nm` (`dense_int8.json`'s scaling rule): recomputing
    every frame, and recomputing only changed frames after a 64-pixel change check."""
    k = node_nm / dense["node_nm"]
    out = {}
    for name, per_mac in (("arithmetic", dense["mac_pj"]), ("with_weight_fetch", dense["mac_with_weight_fetch_pj"])):
        every = macs * per_mac * k
        check = 64 * dense["compare_int8_pj"] * k
        out[name] = {"every_frame": every, "on_change": every * fraction_changed + check}
    return out


def study(snn: dm.Snn, data: dm.Dataset, dense: dict, macs: int, int8_accuracy: float, *, quick: bool = False,
          golden: bool = True, log=print) -> dict:
    """Every F on the functional model over the test split (quick: 4 streams of 10 digits), the
    golden model on one short segment, and the energy per frame of the three systems."""
    from neuromesh.energy import BUILTIN, energy_bounds, energy_from_counts, load_profile
    import time
    t0 = time.time()
    if quick:
        leaks, leak_rows = (DV_HIDDEN, DV_OUTPUT), []
    else:
        leaks, leak_rows = choose_leaks(snn, data)
    ssnn = stream_snn(snn, *leaks)
    f_values = F_VALUES_QUICK if quick else F_VALUES
    px, lab = split_streams(data.x_test, data.y_test, 4, 10) if quick else split_streams(data.x_test, data.y_test)
    out = {"ticks_per_frame": TICKS_PER_FRAME, "levels": LEVELS, "dv_hidden": leaks[0], "dv_output": leaks[1],
           "du_hidden": DU_HIDDEN, "leak_choice": leak_rows, "streams": int(px.shape[0]),
           "digits_per_stream": int(px.shape[1]), "int8_accuracy": int8_accuracy, "rows": [], "notes": []}

    # The golden segment: one stream, three digits, two frames each, on the golden model and on
    # the functional engine: output spikes and every core's and router's counters must agree.
    prep = prepare(ssnn)
    cycles_per_tick = None
    if golden:
        seg = simulate(prep, px[:1, :3], lab[:1, :3], 2)
        stim = seg.stimuli[0]
        res = dn.run_image(prep, stim, stim_path="<digits stream segment>")
        got = np.zeros((stim["ticks"], ssnn.output.size), bool)
        for t, i in res["spikes"][dn.OUTPUT]:
            got[t - 1, i] = True
        fc = seg.runs[0].counters
        checks = {"output spikes": np.array_equal(got, seg.output_raster[0]),
                  "core counters": res["counters"]["cores"] == fc["cores"],
                  "router counters": res["counters"]["routers"] == fc["routers"]}
        out["golden_segment"] = {"ticks": stim["ticks"], "frames": int(seg.predictions.size), "cycles": res["stats"]["cycles"],
                                 "agrees": all(checks.values()),
                                 "disagreements": [k for k, ok in checks.items() if not ok]}
        cycles_per_tick = res["stats"]["cycles"] / stim["ticks"]
        out["cycles_per_tick"] = cycles_per_tick
        log(f"digits stream: golden segment of {stim['ticks']} ticks: "
            f"{'agrees' if out['golden_segment']['agrees'] else 'DISAGREES'} with the functional engine")

    profiles = {name: load_profile(name) for name in BUILTIN}
    for f in f_values:
        run = simulate(prep, px, lab, f)
        counts = frame_counts(run)
        if cycles_per_tick is not None:   # leakage: two tiles for the frame's cycles (golden segment's rate)
            counts["static"] = 2 * cycles_per_tick * TICKS_PER_FRAME
        fraction = float(np.mean(run.changed))
        row = {"F": f, "snn_accuracy": float(np.mean(run.predictions == run.labels)),
               "snn_accuracy_held": float(np.mean((run.predictions == run.labels)[:, f - 1::f])),
               "fraction_changed": fraction, "counts": counts, "snn_pj": {}, "dense_pj": {}}
        for name, prof in profiles.items():
            b = energy_bounds(prof, counts)
            row["snn_pj"][name] = {"pj": energy_from_counts(prof, counts)["total"],
                                   "low": b["low"]["total"], "high": b["high"]["total"]}
        for node in sorted({dense["node_nm"], *(p["technology"]["node_nm"] for p in profiles.values())}):
            row["dense_pj"][str(node)] = dense_per_frame(dense, macs, node, fraction)
        out["rows"].append(row)
        log(f"digits stream: F = {f}: spiking accuracy {row['snn_accuracy']:.4f}, "
            f"{counts['sop']:.0f} SOPs and {counts['host_flits']:.1f} input spikes per frame")
    out["break_even"] = break_even(out, profiles)
    out["seconds"] = time.time() - t0
    return out


def break_even(study_out: dict, profiles: dict) -> dict:
    """For each profile, the smallest F measured at which the spiking chip (point value) costs no
    more per frame than each dense baseline (with weight fetch, at the profile's node and at 45
    nm); None: at no F measured."""
    out = {}
    for name, prof in profiles.items():
        node = str(prof["technology"]["node_nm"])
        res = {}
        for label, key in (("every_frame", "every_frame"), ("on_change", "on_change")):
            for where in (node, "45"):
                hit = [r["F"] for r in study_out["rows"]
                       if r["snn_pj"][name]["pj"] <= r["dense_pj"][where]["with_weight_fetch"][key]]
                res[f"{label}_{where}nm"] = min(hit) if hit else None
        out[name] = res
    return out
