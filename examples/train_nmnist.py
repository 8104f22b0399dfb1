"""Train a small spiking classifier on N-MNIST events with surrogate gradients (BPTT).

Events of the 1000-sample N-MNIST subset (``../shared/data/nmnist_small``) are binned into
frames with tonic; the network is pool(2) - Linear(578->128) - CuBa-LIF - Linear(128->10) -
leaky-integrator readout, the class score the readout's peak membrane. Saves the weights
for ``deploy_loihi.py``.

    python examples/train_nmnist.py [--epochs 10] [--quick]
"""
import argparse
from pathlib import Path

import numpy as np
import tonic.transforms as T
import torch

import neurosim as ns
import neurosim.nn as snn
from neurosim.events import NMNIST_SENSOR, NMNISTSmall

BINS, DT = 10, 0.3 / 10                  # 10 frames over the ~300 ms recording; the layers' dt is a frame
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nmnist_small"


def build_model() -> torch.nn.Sequential:
    """Input (T, B, 2, 34, 34) -> readout membrane (T, B, 10)."""
    neuron = ns.CubaLIF(tau_mem=20e-3, tau_syn_e=10e-3, tau_syn_i=10e-3, t_ref=0.0, v_reset=ns.CubaLIF().v_rest)
    model = torch.nn.Sequential(
        snn.Lift(torch.nn.AvgPool2d(2)), snn.Lift(torch.nn.Flatten()), snn.Lift(torch.nn.Linear(2 * 17 * 17, 128)),
        snn.CubaLIF(neuron, dt=DT), snn.Lift(torch.nn.Linear(128, 10)), snn.LI(neuron, dt=DT))
    with torch.no_grad():                # scaled up so that the hidden layer fires from the start
        model[2].module.weight.mul_(30.0)
    return model


def scores(model, x):
    """Class scores (B, 10): the readout membrane's peak over time."""
    h = x
    for layer in model:
        h = layer(h)[0] if isinstance(layer, (snn.CubaLIF, snn.LI)) else layer(h)
    return h.max(0).values


def dataset(root=DATA):
    """The subset as (T, 2, 34, 34) frames and a stratified split: 800 training, 200 held-out."""
    ds = NMNISTSmall(root, transform=T.ToFrame(sensor_size=NMNIST_SENSOR, n_time_bins=BINS))
    return ds.split(0.2, seed=0)


def tensors(subset, n):
    """(T, N, 2, 34, 34) frames, 0/1 per pixel and bin (as the chip sees them), and labels (N,)."""
    xs, ys = zip(*(subset[i] for i in range(n)))
    return torch.from_numpy(np.minimum(np.stack(xs), 1).astype(np.float32)).transpose(0, 1), torch.tensor(ys)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", default="runs/examples/nmnist")
    ap.add_argument("--quick", action="store_true", help="200 samples, 1 epoch")
    a = ap.parse_args()
    torch.manual_seed(0)
    train, test = dataset(a.data)
    n_train, n_test = (160, 40) if a.quick else (len(train), len(test))
    x_train, y_train = tensors(train, n_train)
    x_test, y_test = tensors(test, n_test)

    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    for epoch in range(1 if a.quick else a.epochs):
        for b in torch.randperm(n_train).split(25):
            loss = torch.nn.functional.cross_entropy(scores(model, x_train[:, b]), y_train[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (scores(model, x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}, held-out accuracy {acc:.3f}")

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, out / "model.pt")
    print(f"wrote {out / 'model.pt'}")
