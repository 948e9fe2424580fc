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
and `net.py`.  The functional model below runs every stream over the whole test split; a segment
runs on the golden model, whose spikes and counters must equal it.
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
    hidden_spikes: np.ndarray  # (streams, frames, hidden) per neuron (fan-outs differ)
    output_spikes: np.ndarray  # (streams, frames)
    input_fanout: np.ndarray   # (streams, frames) synaptic operations of the input spikes
    up: list                   # per frame (streams, ticks, 64) booleans, kept for the golden segment
    down: list
    output_raster: list        # per frame (streams, ticks, 10)


def simulate(ssnn: StreamSnn, pixels: np.ndarray, labels: np.ndarray, frames_per_digit: int,
             ticks: int = TICKS_PER_FRAME, keep_spikes: bool = False) -> StreamRun:
    """Run streams side by side: `pixels` (streams, digits, 64), each digit held for
    `frames_per_digit` frames of `ticks` ticks.  SPEC section 3 in NumPy (`model.lif_step`),
    section 2's delivery (a hidden spike of tick t acts on the output layer in tick t + 1, also
    across frame boundaries)."""
    s_n, d_n, _ = pixels.shape
    H, O = ssnn.hidden, ssnn.output
    w1 = H.weights << H.weight_exp
    w2 = O.weights << O.weight_exp
    fan_in = np.count_nonzero(H.weights, axis=1)
    st_h = {k: np.zeros((s_n, H.size), np.int64) for k in "uvr"}
    st_o = {k: np.zeros((s_n, O.size), np.int64) for k in "uvr"}
    prev_h = np.zeros((s_n, H.size), np.int64)
    q_old = np.zeros((s_n, pixels.shape[2]), np.int64)
    frames = d_n * frames_per_digit
    out = StreamRun(np.zeros((s_n, frames), np.int64), np.repeat(labels, frames_per_digit, axis=1),
                    np.zeros((s_n, frames), bool), np.zeros((s_n, frames), np.int64),
                    np.zeros((s_n, frames, H.size), np.int64), np.zeros((s_n, frames), np.int64),
                    np.zeros((s_n, frames), np.int64), [], [], [])
    big = 1 << 40
    for d in range(d_n):
        q_new = levels(pixels[:, d])
        up, down = delta_spikes(q_old, q_new, ticks)
        out_since = np.zeros((s_n, O.size), np.int64)      # output spikes since the change
        first = np.full((s_n, O.size), big)
        tick_since = 0
        for f in range(frames_per_digit):
            i = d * frames_per_digit + f
            if f == 0:
                u_t, d_t = up, down
                out.changed[:, i] = (q_new != q_old).any(axis=1)
            else:
                u_t = d_t = np.zeros_like(up)
            out.input_spikes[:, i] = u_t.sum(axis=(1, 2)) + d_t.sum(axis=(1, 2))
            out.input_fanout[:, i] = (u_t.sum(axis=1) + d_t.sum(axis=1)) @ fan_in
            raster = np.zeros((s_n, ticks, O.size), bool)
            for k in range(ticks):
                x = u_t[:, k].astype(np.int64) - d_t[:, k].astype(np.int64)
                h = dm.lif_step(H, st_h, x @ w1)
                o = dm.lif_step(O, st_o, prev_h @ w2)
                prev_h = h.astype(np.int64)
                out.hidden_spikes[:, i] += h
                raster[:, k] = o
                out_since += o
                first = np.where(o & (first == big), tick_since, first)
                tick_since += 1
            out.output_spikes[:, i] = raster.sum(axis=(1, 2))
            key = (out_since * big + (big - first)) * O.size + (O.size - 1 - np.arange(O.size))
            out.predictions[:, i] = key.argmax(axis=1)
            if keep_spikes:
                out.up.append(u_t)
                out.down.append(d_t)
                out.output_raster.append(raster)
        q_old = q_new
    return out


def frame_counts(ssnn: StreamSnn, run: StreamRun, ticks: int = TICKS_PER_FRAME) -> dict:
    """Mean event counts per frame (energy.EVENTS keys, no static), predicted from the
    functional model's spikes and the 2x1 placement (input on the host side of (0, 0), hidden on
    (1, 0), output on (0, 0)): the same rules as `net.predicted_counts`."""
    fan_hid = np.count_nonzero(ssnn.output.weights, axis=1)
    hidden = run.hidden_spikes.sum(axis=2)
    hid_flits = run.hidden_spikes @ (fan_hid > 0)
    n_in = run.input_spikes
    sops = run.input_fanout + run.hidden_spikes @ fan_hid
    spikes = hidden + run.output_spikes
    updates = (ssnn.hidden.size + ssnn.output.size) * ticks
    per = {"sop": sops, "update_idle": updates - spikes, "update_active": spikes,
           "spike": hid_flits + run.output_spikes, "hop_ew": n_in + hid_flits, "hop_ns": 0 * n_in,
           "host_flits": n_in}
    return {k: float(np.mean(v)) for k, v in per.items()}


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
        run = simulate(stream_snn(snn, dvh, dvo), px, lab, frames_per_digit)
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
            lif("hidden", H, lay["hidden"], False),
            lif("out", O, lay["output"], True),
        ],
        "projections": [
            {"pre": UP, "post": "hidden", "weight_exp": H.weight_exp, "synapses": synapses(H.weights)},
            {"pre": DOWN, "post": "hidden", "weight_exp": H.weight_exp, "synapses": synapses(H.weights, -1)},
            {"pre": "hidden", "post": "out", "weight_exp": O.weight_exp, "synapses": synapses(O.weights)},
        ],
    }


def stimulus_json(run: StreamRun, stream: int = 0) -> dict:
    """The input spikes of one stream of a run simulated with `keep_spikes`, frame after frame."""
    events = {UP: [], DOWN: []}
    t0 = 0
    for up, down in zip(run.up, run.down):
        for name, arr in ((UP, up), (DOWN, down)):
            t_idx, i_idx = np.nonzero(arr[stream])
            events[name].extend([int(t0 + t) + 1, int(i)] for t, i in zip(t_idx, i_idx))
        t0 += up.shape[1]
    for name in events:
        events[name].sort()
    return {"ticks": t0, "spikes": events}


def output_raster(run: StreamRun, stream: int = 0) -> np.ndarray:
    return np.concatenate([r[stream] for r in run.output_raster], axis=0)


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

    # The golden segment: one stream, three digits, two frames each; spikes and counters must
    # equal the functional model's.
    cycles_per_tick = None
    if golden:
        seg = simulate(ssnn, px[:1, :3], lab[:1, :3], 2, keep_spikes=True)
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as tmp:
            prep = dn.prepare(dn.write_json(Path(tmp) / "stream.json", network_json(ssnn)))
            stim = stimulus_json(seg)
            res = dn.run_image(prep, stim, stim_path="<digits stream segment>")
        got = np.zeros((stim["ticks"], ssnn.output.size), bool)
        for t, i in res["spikes"]["out"]:
            got[t - 1, i] = True
        want = frame_counts(ssnn, seg)
        frames = seg.predictions.size
        s = res["stats"]
        checks = {"output spikes": np.array_equal(got, output_raster(seg)),
                  "sops": s["sops"] == round(want["sop"] * frames),
                  "updates": s["updates"] == round((want["update_idle"] + want["update_active"]) * frames),
                  "flits": s["flits_core"] == round(want["spike"] * frames),
                  "hops": s["hops_ew"] == round(want["hop_ew"] * frames)}
        out["golden_segment"] = {"ticks": stim["ticks"], "frames": frames, "cycles": s["cycles"],
                                 "agrees": all(checks.values()),
                                 "disagreements": [k for k, ok in checks.items() if not ok]}
        cycles_per_tick = s["cycles"] / stim["ticks"]
        out["cycles_per_tick"] = cycles_per_tick
        log(f"digits stream: golden segment of {stim['ticks']} ticks: "
            f"{'agrees' if out['golden_segment']['agrees'] else 'DISAGREES'} with the functional model")

    profiles = {name: load_profile(name) for name in BUILTIN}
    for f in f_values:
        run = simulate(ssnn, px, lab, f)
        counts = frame_counts(ssnn, run)
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
