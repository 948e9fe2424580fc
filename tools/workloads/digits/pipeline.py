"""Handwritten digits end to end: train a small ReLU network, quantise it to int8, convert it to an
integrate-and-fire spiking network on a 2-tile mesh, encode test images as input spikes, run them
on the golden model (and some on the RTL), run the streaming study (`stream.py`), and write
`OUT/report.md` with accuracy, latency and energy under every profile against the dense int8
network at the same technology node.

    python -m neuromesh.tools.workloads.digits --out build/digits [--rtl-images N] [--quick]

`--quick` (a smoke test) sweeps fewer codes, runs 10 images per configuration on the golden and
RTL engines and a short stream (F = 1, 4, 16 over 40 digits); the sweep runs the whole test
split on the functional engine (`neuromesh.sim.functional`) either way. docs/digits.md explains the method and the numbers.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from neuromesh import spec
from neuromesh.energy import BUILTIN, energy_from_counts, load_profile

from . import model as dm
from . import net as dn
from . import stream as ds

SEED = 0
T_REPORTED = (8, 16, 32)          # the spiking accuracies
T_SWEEP = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32)
CODES = ("poisson", "regular")
GAINS = (1.0, 0.5, 0.25, 0.125)   # input spikes per tick at full brightness
T_SWEEP_QUICK, GAINS_QUICK = (4, 8, 16), (1.0, 0.25)   # --quick: a smaller sweep
QUICK_TRAIN = 300                 # --quick: training images scored per code
MAIN = ("poisson", 1.0, 16)       # (code, gain, T): the configuration the report leads with
TOLERANCE = 1.5                   # accuracy points the spiking network may lose


def label(code: str, gain: float, t: int) -> str:
    return f"{code}, gain {gain:g}, T = {t}"


def load_dense_profile() -> dict:
    text = resources.files("neuromesh").joinpath("energy_profiles/dense_int8.json").read_text()
    return json.loads(text)


def dense_by_node(dense: dict, macs: int) -> dict:
    """Energy of one dense inference at 45 nm and at each built-in profile's node
    (`dense_int8.json`'s scaling rule): {"45": {"arithmetic": pJ, "with_weight_fetch": pJ}, ...}."""
    nodes = {dense["node_nm"], *(load_profile(n)["technology"]["node_nm"] for n in BUILTIN)}
    return {str(node): {"arithmetic": macs * dense["mac_pj"] * node / dense["node_nm"],
                        "with_weight_fetch": macs * dense["mac_with_weight_fetch_pj"] * node / dense["node_nm"]}
            for node in sorted(nodes)}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# The functional engine (`--engine functional`, `neuromesh.sim.functional`): every image at once


@dataclass
class Functional:
    runs: list              # EngineRun per image
    output: np.ndarray      # (images, ticks, 10) output spikes
    hidden: np.ndarray | None  # (images, ticks, hidden) when the network records its hidden layer
    counts: dict            # event type -> (images,) array (energy.EVENTS keys, no static; host_flits)


def functional(prep: dn.Prepared, enc: np.ndarray, ticks: int, n_out: int, n_hidden: int) -> Functional:
    """Encoded images (images, T, 64) on the functional engine, each as if on a freshly loaded
    chip (run side by side: `run_many`)."""
    from neuromesh.energy_report import event_counts
    from neuromesh.sim.functional import run_many, spike_rasters
    flits_of = prep.compiled.map["inputs"][dn.INPUT]
    inputs = []
    for img in enc:   # per tick, the flits of its spiking pixels in pixel order (as `tick_inputs` does)
        per_tick = [[f for i in np.flatnonzero(img[t]) for f in flits_of[i]] for t in range(img.shape[0])]
        inputs.append(per_tick + [[] for _ in range(ticks - img.shape[0])])
    runs = run_many(prep.compiled.params, prep.compiled.writes, inputs, clocks=prep.net.clocks)
    rasters = spike_rasters(runs, prep.compiled.map, ticks)
    output = rasters[dn.OUTPUT]
    hidden = rasters.get(dn.HIDDEN)
    per = [dict(event_counts(r.counters, prep.compiled.params, None), host_flits=r.host_flits) for r in runs]
    counts = {k: np.array([c[k] for c in per]) for k in per[0]}
    return Functional(runs, output, hidden, counts)


# ----------------------------------------------------------------------------------------------
# The sweep: every code and T over the whole test split, on the functional engine


def sweep(snns: dict, preps: dict, data: dm.Dataset, t_values=T_SWEEP, train_images: int | None = None) -> list[dict]:
    """Every code, gain and T on the functional engine: accuracy on the training split (used to
    choose, so the choice does not peek at the test split; `train_images`: only the first so
    many, for a smoke test) and on the test split, and the mean event counts and energy per
    test inference (no leakage: the engine has no cycles)."""
    rows = []
    profiles = {name: load_profile(name) for name in BUILTIN}
    n_train = len(data.y_train) if train_images is None else min(train_images, len(data.y_train))
    x_train, y_train = data.x_train[:n_train], data.y_train[:n_train]
    train_ids = np.arange(n_train) + 100000   # seeds distinct from the test images'
    for code in CODES:
        for gain in snns:
            snn, prep = snns[gain], preps[gain]
            n_out, n_hid = snn.output.size, snn.hidden.size
            for t in t_values:
                enc_tr = dm.encode(x_train, t, code, SEED, train_ids, gain)
                tr = functional(prep, enc_tr, t + 1, n_out, n_hid)
                train_acc = float(np.mean(dm.classify(tr.output) == y_train))
                enc = dm.encode(data.x_test, t, code, SEED, data.test_index, gain)
                fn = functional(prep, enc, t + 1, n_out, n_hid)
                pred = dm.classify(fn.output)
                mean = {k: float(np.mean(v)) for k, v in fn.counts.items()}
                energy = {name: energy_from_counts(prof, mean)["total"] for name, prof in profiles.items()}
                out_spikes = fn.output.sum(axis=(1, 2))
                rows.append({"code": code, "gain": gain, "T": t, "ticks": t + 1,
                             "train_accuracy": train_acc, "accuracy": float(np.mean(pred == data.y_test)),
                             "input_spikes": float(enc.sum(axis=(1, 2)).mean()),
                             "hidden_spikes": float(np.mean(fn.counts["update_active"] - out_spikes)),
                             "output_spikes": float(out_spikes.mean()),
                             "sops": mean["sop"], "energy_pj_static0": energy})
    return rows


def sparsest(rows: list[dict], floor: float, key: str = "train_accuracy") -> dict | None:
    """The cheapest configuration (Loihi energy per inference, then fewest SOPs) whose accuracy
    `key` is at least `floor`."""
    ok = [r for r in rows if r[key] >= floor]
    return min(ok, key=lambda r: (r["energy_pj_static0"]["loihi"], r["sops"])) if ok else None


# ----------------------------------------------------------------------------------------------
# Engine runs


@dataclass
class EngineStats:
    code: str
    gain: float
    T: int
    engine: str
    images: list = field(default_factory=list)        # test-split positions run
    correct: int = 0
    mismatches: list = field(default_factory=list)    # text, one per disagreement
    per_image: list = field(default_factory=list)     # dicts of per-inference numbers
    seconds: float = 0.0
    link_load: dict = field(default_factory=dict)     # router -> port -> mean flits
    results: dict = field(default_factory=dict)       # test-split position -> result JSON


def decision_cycle(flits: list, final: int, n_out: int) -> int | None:
    """Cycle of the output flit from which the running decision (count, first spike, index:
    `classify`'s rule) equals the final class and stays so; None without output spikes."""
    counts = [0] * n_out
    first = [None] * n_out
    since = None
    for f in flits:
        if f.get("population") != dn.OUTPUT:
            continue
        k = f["index"]
        counts[k] += 1
        if first[k] is None:
            first[k] = f["cycle"]
        lead = max(range(n_out), key=lambda c: (counts[c], -(first[c] if first[c] is not None else 1 << 60), -c))
        if lead == final:
            since = f["cycle"] if since is None else since
        else:
            since = None
    return since


def run_engine(prep: dn.Prepared, snn: dm.Snn, data: dm.Dataset, code: str, gain: float, t: int, positions,
               engine: str, layout: str, golden_results: dict | None = None) -> EngineStats:
    """Run test images on an engine; check each against the functional engine (output spikes,
    every core's and router's counters) and, for the RTL, against the golden result (spikes,
    every output flit's cycle, every tick's handshake and completion, all counters)."""
    st = EngineStats(code, gain, t, engine, images=list(positions))
    ids = data.test_index[st.images]
    enc = dm.encode(data.x_test[st.images], t, code, SEED, ids, gain)
    fn = functional(prep, enc, t + 1, snn.output.size, snn.hidden.size)
    t0 = time.time()
    loads = {}
    results = {}
    stims = [dn.stimulus_json(enc[k], t + 1) for k in range(len(st.images))]
    all_results = dn.run_images(prep, stims, engine, names=[f"<digits test image {pos}>" for pos in st.images])
    for k, pos in enumerate(st.images):
        res = all_results[k]
        results[pos] = res
        out = dn.output_raster(res, snn.output.size, t + 1)
        got = dm.classify(out[None])[0]
        tag = f"{engine} {label(code, gain, t)} test image {pos}"
        if not np.array_equal(out, fn.output[k]):
            st.mismatches.append(f"{tag}: output spikes differ from the functional engine")
        s = res["stats"]
        for group in ("cores", "routers"):
            d = dn.first_difference(res["counters"][group], fn.runs[k].counters[group], group)
            if d:
                st.mismatches.append(f"{tag}: counters differ from the functional engine at {d}")
        if s["errors"]:
            st.mismatches.append(f"{tag}: {s['errors']} flits refused")
        if golden_results is not None and pos in golden_results:
            g = golden_results[pos]
            for key in ("spikes", "handshakes", "completions", "counters"):
                d = dn.first_difference(res[key], g[key], key)
                if d:
                    st.mismatches.append(f"{tag}: differs from the golden model at {d} (rtl != golden)")
            d = dn.first_difference([(f["cycle"], f["flit"]) for f in res["output_flits"]],
                                    [(f["cycle"], f["flit"]) for f in g["output_flits"]], "output_flits(cycle, flit)")
            if d:
                st.mismatches.append(f"{tag}: differs from the golden model at {d} (rtl != golden)")
        st.correct += int(got == data.y_test[pos])
        outs = [f for f in res["output_flits"] if "population" in f]
        st.per_image.append({
            "pos": int(pos), "label": int(data.y_test[pos]), "predicted": int(got),
            "ticks": s["ticks"], "cycles": s["cycles"], "sops": s["sops"], "flits": s["flits"],
            "hops": s["hops"], "input_spikes": s["flits_host"], "spikes_fired": s["spikes_fired"],
            "first_output_cycle": outs[0]["cycle"] if outs else None,
            "decision_cycle": decision_cycle(outs, int(got), snn.output.size),
            "energy_pj": {name: res["stats"]["energy_pj_by_profile"][name] for name in BUILTIN},
            "energy_range_pj": {name: [res["energy"]["profiles"][name]["low"], res["energy"]["profiles"][name]["high"]]
                                for name in BUILTIN},
            "workload": res["workload"],
        })
        for r_idx, r in enumerate(res["counters"]["routers"]):
            d = loads.setdefault(r_idx, {p: 0 for p in spec.PORTS})
            for p in spec.PORTS:
                d[p] += r[f"fwd_{p}"]
    st.seconds = time.time() - t0
    n = max(1, len(st.images))
    st.link_load = {r: {p: v / n for p, v in d.items()} for r, d in loads.items()}
    st.results = results
    return st


def rtl_available() -> tuple[bool, str]:
    try:
        import neuromesh.tools.cosim.engine  # noqa: F401
    except Exception as e:  # noqa: BLE001 - any import failure means: not available yet
        return False, f"{type(e).__name__}: {e}"
    return True, ""


# ----------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m neuromesh.tools.workloads.digits", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/digits", help="output folder (default build/digits)")
    ap.add_argument("--rtl-images", type=int, default=20, metavar="N",
                    help="test images to run on the RTL engine and compare with the golden model (default 20; 0: none)")
    ap.add_argument("--golden-images", type=int, default=None, metavar="N",
                    help="test images per configuration on the golden model (default: the whole test split)")
    ap.add_argument("--layout", choices=sorted(dn.LAYOUTS), default="2x1", help="mesh and placement (default 2x1)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: a smaller sweep, 10 images per configuration on the engines")
    args = ap.parse_args(argv)
    try:
        return run(Path(args.out), rtl_images=args.rtl_images, golden_images=args.golden_images,
                   layout=args.layout, quick=args.quick)
    except spec.NeuroMeshError as e:
        print(f"neuromesh digits: {e}", file=sys.stderr)
        return 2


def run(out: Path, *, rtl_images: int = 20, golden_images: int | None = None, layout: str = "2x1",
        quick: bool = False) -> int:
    from . import report as rep
    out.mkdir(parents=True, exist_ok=True)
    timing = {}
    t0 = time.time()
    data = dm.load_data(SEED)
    net = dm.train(data, seed=SEED)
    timing["train_s"] = time.time() - t0
    float_acc = float(np.mean(net.predict(data.x_test) == data.y_test))
    q = dm.quantise(net, data)
    int8_acc = float(np.mean(q.predict(data.x_test) == data.y_test))
    int8_train_acc = float(np.mean(q.predict(data.x_train) == data.y_train))
    t1 = time.time()
    gains = GAINS_QUICK if quick else GAINS
    snns = {g: dm.convert(net, data, input_gain=g) for g in gains}
    timing["convert_s"] = (time.time() - t1) / len(gains)
    log(f"digits: float {float_acc:.4f}, int8 {int8_acc:.4f} on {len(data.y_test)} test images "
        f"(train {timing['train_s']:.1f} s, convert {timing['convert_s']:.2f} s)")

    def net_file(gain: float, probe: bool = False) -> Path:
        name = "network" + ("" if gain == 1 else f"_gain{gain:g}") + ("_probe" if probe else "") + ".json"
        return dn.write_json(out / name, dn.network_json(snns[gain], layout, record_hidden=probe))

    preps = {g: dn.prepare(net_file(g)) for g in gains}
    t2 = time.time()
    rows = sweep(snns, preps, data, T_SWEEP_QUICK if quick else T_SWEEP, train_images=QUICK_TRAIN if quick else None)
    timing["sweep_s"] = time.time() - t2
    floor_train = int8_train_acc - TOLERANCE / 100
    floor = int8_acc - TOLERANCE / 100
    best = sparsest(rows, floor_train)
    log(f"digits: functional sweep of {len(rows)} codes in {timing['sweep_s']:.1f} s; cheapest within "
        f"{TOLERANCE} points (chosen on the training split): {best and label(best['code'], best['gain'], best['T'])}")
    dense = load_dense_profile()

    # Engine runs -------------------------------------------------------------------------
    n_test = len(data.y_test)
    configs = [MAIN] + [("poisson", 1.0, t) for t in T_REPORTED if ("poisson", 1.0, t) != MAIN]
    if best and (best["code"], best["gain"], best["T"]) not in configs:
        configs.append((best["code"], best["gain"], best["T"]))
    engine_runs, notes = [], []
    for code, gain, t in configs:
        n = min(golden_images or 10, n_test) if quick else min(golden_images or n_test, n_test)
        st = run_engine(preps[gain], snns[gain], data, code, gain, t, range(n), "golden", layout)
        log(f"digits: golden {label(code, gain, t)}: {n} images in {st.seconds:.1f} s, {st.correct}/{n} correct, "
            f"{len(st.mismatches)} mismatches with the functional engine")
        engine_runs.append(st)

    rtl_runs = []
    if rtl_images > 0:
        ok, why = rtl_available()
        if not ok:
            notes.append(f"RTL engine not available ({why}): no RTL comparison")
        else:
            # The main configuration and the cheapest code, each against its golden run.
            for st_g in [engine_runs[0]] + ([engine_runs[-1]] if len(engine_runs) > len(T_REPORTED) else []):
                n = min(rtl_images, len(st_g.images))
                try:
                    st = run_engine(preps[st_g.gain], snns[st_g.gain], data, st_g.code, st_g.gain, st_g.T, range(n),
                                    "rtl", layout, golden_results=st_g.results)
                except Exception as e:  # noqa: BLE001 - report, do not hide, a failing RTL engine
                    notes.append(f"RTL engine failed on {label(st_g.code, st_g.gain, st_g.T)}: {type(e).__name__}: {e}")
                    continue
                log(f"digits: RTL {label(st.code, st.gain, st.T)}: {n} images in {st.seconds:.1f} s, "
                    f"{len(st.mismatches)} mismatches")
                rtl_runs.append(st)

    # One inference with the hidden layer recorded, for the raster (a probe, not measured).
    code, gain, t = MAIN
    snn = snns[gain]
    probe_prep = dn.prepare(net_file(gain, probe=True))
    enc = dm.encode(data.x_test[:1], t, code, SEED, data.test_index[:1], gain)
    probe = dn.run_image(probe_prep, dn.stimulus_json(enc[0], t + 1))
    probe["input_spikes"] = enc[0]
    fn = functional(probe_prep, enc, t + 1, snn.output.size, snn.hidden.size)
    if not (np.array_equal(dn.hidden_raster(probe, snn.hidden.size, t + 1), fn.hidden[0])
            and np.array_equal(dn.output_raster(probe, snn.output.size, t + 1), fn.output[0])):
        notes.append("probe run: hidden or output spikes differ from the functional engine")

    snn = snns[1.0]
    t3 = time.time()
    stream = ds.study(snn, data, dense, q.macs, int8_acc, quick=quick, log=log)
    timing["stream_s"] = time.time() - t3
    if not stream.get("golden_segment", {}).get("agrees", True):
        notes.append(f"stream golden segment differs from the functional engine: "
                     f"{', '.join(stream['golden_segment']['disagreements'])}")
    summary = {
        "seed": SEED, "layout": layout, "hardware": dn.hardware(snn, layout),
        "test_images": n_test, "train_images": len(data.y_train),
        "float_accuracy": float_acc, "int8_accuracy": int8_acc, "int8_train_accuracy": int8_train_acc,
        "macs": q.macs,
        # NeuroBench ConnectionSparsity of the converted network's two weight matrices (zeros / all)
        "connection_sparsity": 1 - (np.count_nonzero(snn.hidden.weights) + np.count_nonzero(snn.output.weights))
        / (snn.hidden.weights.size + snn.output.weights.size),
        "conversion": {str(g): s.info | {"weight_exp_hidden": s.hidden.weight_exp, "weight_exp_output": s.output.weight_exp}
                       for g, s in snns.items()},
        "dense_energy_pj": {"arithmetic": q.macs * dense["mac_pj"],
                            "with_weight_fetch": q.macs * dense["mac_with_weight_fetch_pj"]},
        "dense_energy_pj_by_node": dense_by_node(dense, q.macs),
        "profiles": {name: {"description": load_profile(name)["description"],
                            "node_nm": load_profile(name)["technology"]["node_nm"]} for name in BUILTIN},
        "stream": stream,
        "sweep": rows, "sparsest": best, "accuracy_floor": floor, "accuracy_floor_train": floor_train,
        "timing_s": timing, "notes": notes,
        "engine_runs": [rep.engine_summary(st) for st in engine_runs],
        "rtl_runs": [rep.engine_summary(st) for st in rtl_runs],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=1, allow_nan=False) + "\n")
    rep.write_report(out, summary, dense, probe, snn, data)
    log(f"digits: report written to {out / 'report.md'}")
    bad = sum(len(st.mismatches) for st in engine_runs + rtl_runs) + \
        sum("differ" in n for n in notes)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
