"""Make the snnTorch-exported NIR files of tests/data/nir (run by hand, never by the test suite,
which must not need torch):

    python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0
    /tmp/torchenv/bin/pip install snntorch==1.0.0 nirtorch==2.6 nir==1.0.8 scikit-learn
    /tmp/torchenv/bin/python tests/data/nir/make_snntorch.py

For each network it writes NAME.nir (snntorch.export_nir.export_to_nir) and NAME.npz: the input
spikes the script fed it (`input`, steps x inputs, 0/1) and snnTorch's own spikes of every
spiking layer under the NIR node's name. `manifest.json` says, per file, the options under which
NeuroMesh's float reference reproduces snnTorch (docs/nir.md, "Frameworks").

`digits.nir` is a 64-32-10 network of `Leaky` neurons trained with surrogate gradients on
scikit-learn's 8x8 digits (train split of the same stratified split as
neuromesh.tools.workloads.digits: test_size 0.25, random_state 0), rate-coded: pixel p spikes
in each of T steps with probability p / 16. `digits.npz` holds the test split's input spikes
(bit-packed), labels, and snnTorch's predictions (most output spikes, ties to the lower class).
"""
from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import snntorch as snn
import snntorch.functional as SF
from snntorch import utils as snn_utils
import torch
from snntorch.export_nir import export_to_nir

HERE = Path(__file__).resolve().parent
STEPS = 60
RATE = 0.15


def full(shape, value):
    return torch.full(shape if isinstance(shape, tuple) else (shape,), float(value))


def poisson(rng, steps, shape, rate=RATE):
    return (rng.random((steps, *shape)) < rate).astype(np.float32)


def run(net, x: np.ndarray, spiking_names: dict) -> dict:
    """Step `net` (a Sequential of init_hidden modules) over x (steps, *input shape); record the
    spikes of every spiking module under its NIR node name."""
    snn_utils.reset(net)
    rec = {name: [] for name in spiking_names.values()}
    with torch.no_grad():
        for t in range(x.shape[0]):
            h = torch.from_numpy(x[t][None])
            for k, module in enumerate(net):
                h = module(h)
                if isinstance(h, tuple):
                    h = h[0]
                if k in spiking_names:
                    rec[spiking_names[k]].append(h[0].reshape(-1).numpy().astype(bool))
    return {name: np.stack(v) for name, v in rec.items()}


def export(name: str, net, sample_shape, spiking_names: dict, x: np.ndarray, options: dict, manifest: dict):
    graph = export_to_nir(net, torch.zeros(1, *sample_shape), ignore_dims=[0])
    nodes = set(graph.nodes)
    for sub in graph.nodes.values():
        if isinstance(sub, nir.NIRGraph):
            nodes |= {f"{k}.{n}" for k in graph.nodes for n in sub.nodes}
    missing = set(spiking_names.values()) - nodes
    assert not missing, (name, missing, sorted(nodes))
    nir.write(str(HERE / f"{name}.nir"), graph)
    spikes = run(net, x, spiking_names)
    np.savez_compressed(HERE / f"{name}.npz", input=x.reshape(x.shape[0], -1).astype(np.uint8),
                        **{k: v.astype(np.uint8) for k, v in spikes.items()})
    manifest[name] = {"options": options, "steps": int(x.shape[0]),
                      "layers": {k: int(v.sum()) for k, v in spikes.items()}}
    print(name, manifest[name])


def scale_(layer, factor):
    """Stronger weights than PyTorch's initialisation, so that the random stimulus makes the
    layers fire; the biases keep their initial size (|b| < 1 / sqrt(fan-in), below threshold)."""
    with torch.no_grad():
        layer.weight.mul_(factor)


def main():
    manifest = {}
    rng = np.random.default_rng(0)

    # Leaky, reset to zero: NIR's own semantics (v_reset = 0).
    torch.manual_seed(1)
    fc1, fc2 = torch.nn.Linear(16, 12), torch.nn.Linear(12, 6)
    scale_(fc1, 4.0)
    scale_(fc2, 4.0)
    net = torch.nn.Sequential(fc1, snn.Leaky(beta=full(12, 0.9), threshold=full(12, 1.0), init_hidden=True,
                                             reset_mechanism="zero"),
                              fc2, snn.Leaky(beta=full(6, 0.8), threshold=full(6, 1.0), init_hidden=True,
                                             reset_mechanism="zero", output=True))
    export("leaky", net, (16,), {1: "1", 3: "3"}, poisson(rng, STEPS, (16,)), {}, manifest)

    # Synaptic with reset to zero: snnTorch holds the membrane at 0 for one step after a spike.
    # No biases here (synaptic_bias below has them: the chip adds a bias to v, not to the synaptic
    # current, so a CubaLIF bias misses its first tau_syn / dt steps of transient).
    torch.manual_seed(2)
    fc1, fc2 = torch.nn.Linear(16, 12, bias=False), torch.nn.Linear(12, 6, bias=False)
    scale_(fc1, 2.0)
    scale_(fc2, 2.0)
    net = torch.nn.Sequential(fc1, snn.Synaptic(alpha=full(12, 0.8), beta=full(12, 0.9), threshold=full(12, 1.0),
                                                init_hidden=True, reset_mechanism="zero"),
                              fc2, snn.Synaptic(alpha=full(6, 0.7), beta=full(6, 0.85), threshold=full(6, 1.0),
                                                init_hidden=True, reset_mechanism="zero", output=True))
    export("synaptic", net, (16,), {1: "1", 3: "3"}, poisson(rng, STEPS, (16,)), {"refractory": 1}, manifest)

    # RLeaky (all-to-all recurrent Linear), reset to zero: it holds one step as Synaptic does,
    # while the Leaky after it does not (hence a refractory period for that layer only).
    torch.manual_seed(3)
    fc1, fc2 = torch.nn.Linear(16, 12), torch.nn.Linear(12, 6)
    scale_(fc1, 3.0)
    scale_(fc2, 4.0)
    rl = snn.RLeaky(beta=full(12, 0.9), threshold=full(12, 1.0), linear_features=12, init_hidden=True,
                    reset_mechanism="zero")
    scale_(rl.recurrent, 2.0)
    net = torch.nn.Sequential(fc1, rl, fc2, snn.Leaky(beta=full(6, 0.85), threshold=full(6, 1.0), init_hidden=True,
                                                      reset_mechanism="zero", output=True))
    export("rleaky", net, (16,), {1: "1.lif", 3: "3"}, poisson(rng, STEPS, (16,)), {"refractory": {"1.lif": 1}},
           manifest)

    # Convolution, average pooling, flatten, linear; snnTorch's default reset (subtraction).
    torch.manual_seed(4)
    conv, fc = torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Linear(64, 10)
    scale_(conv, 3.0)
    scale_(fc, 3.0)
    net = torch.nn.Sequential(conv, snn.Leaky(beta=full((4, 8, 8), 0.9), threshold=full((4, 8, 8), 1.0),
                                              init_hidden=True),
                              torch.nn.AvgPool2d(2), torch.nn.Flatten(), fc,
                              snn.Leaky(beta=full(10, 0.9), threshold=full(10, 1.0), init_hidden=True, output=True))
    export("conv", net, (1, 8, 8), {1: "1", 5: "5"}, poisson(rng, STEPS, (1, 8, 8)), {"reset": "subtract"}, manifest)

    # Synaptic again, with PyTorch's default biases.
    torch.manual_seed(2)
    fc1, fc2 = torch.nn.Linear(16, 12), torch.nn.Linear(12, 6)
    scale_(fc1, 2.0)
    scale_(fc2, 2.0)
    net = torch.nn.Sequential(fc1, snn.Synaptic(alpha=full(12, 0.8), beta=full(12, 0.9), threshold=full(12, 1.0),
                                                init_hidden=True, reset_mechanism="zero"),
                              fc2, snn.Synaptic(alpha=full(6, 0.7), beta=full(6, 0.85), threshold=full(6, 1.0),
                                                init_hidden=True, reset_mechanism="zero", output=True))
    export("synaptic_bias", net, (16,), {1: "1", 3: "3"}, poisson(rng, STEPS, (16,)), {"refractory": 1}, manifest)

    digits(manifest)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


# ----------------------------------------------------------------------------------------------
# A trained network


DIGIT_STEPS = 20


def encode(pixels: np.ndarray, rng) -> np.ndarray:
    """(images, steps, 64) spikes: pixel p fires with probability p / 16 each step."""
    return (rng.random((len(pixels), DIGIT_STEPS, pixels.shape[1])) * 16 < pixels[:, None, :]).astype(np.float32)


def digits(manifest):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    idx = np.arange(len(d.data))
    i_tr, i_te = train_test_split(idx, test_size=0.25, stratify=d.target, random_state=0)
    x_tr, y_tr = d.data[i_tr], d.target[i_tr]
    x_te, y_te = d.data[i_te], d.target[i_te]
    torch.manual_seed(5)
    fc1, fc2 = torch.nn.Linear(64, 32), torch.nn.Linear(32, 10)
    lif1 = snn.Leaky(beta=full(32, 0.9), threshold=full(32, 1.0), init_hidden=True)
    lif2 = snn.Leaky(beta=full(10, 0.9), threshold=full(10, 1.0), init_hidden=True, output=True)
    net = torch.nn.Sequential(fc1, lif1, fc2, lif2)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    loss_fn = SF.ce_rate_loss()
    rng = np.random.default_rng(6)

    def forward(x):   # x (batch, steps, 64) -> (steps, batch, 10) output spikes
        snn_utils.reset(net)
        out = []
        for t in range(x.shape[1]):
            spk, _mem = net(x[:, t])
            out.append(spk)
        return torch.stack(out)

    for epoch in range(40):
        order = rng.permutation(len(x_tr))
        for b in range(0, len(order), 64):
            sel = order[b:b + 64]
            x = torch.from_numpy(encode(x_tr[sel], rng))
            loss = loss_fn(forward(x), torch.from_numpy(y_tr[sel]).long())
            opt.zero_grad()
            loss.backward()
            opt.step()
    test_in = encode(x_te, np.random.default_rng(7))
    with torch.no_grad():
        counts = forward(torch.from_numpy(test_in)).sum(0).numpy()
    pred = counts.argmax(axis=1)   # ties: the lower class
    acc = float(np.mean(pred == y_te))
    graph = export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0])
    nir.write(str(HERE / "digits.nir"), graph)
    np.savez_compressed(HERE / "digits.npz", input=np.packbits(test_in.astype(bool), axis=-1),
                        labels=y_te.astype(np.uint8), snntorch_pred=pred.astype(np.uint8),
                        test_index=i_te.astype(np.int32))
    manifest["digits"] = {"options": {"reset": "subtract"}, "steps": DIGIT_STEPS, "images": int(len(y_te)),
                          "snntorch_accuracy": acc, "epochs": 40}
    print("digits", manifest["digits"])


if __name__ == "__main__":
    main()
