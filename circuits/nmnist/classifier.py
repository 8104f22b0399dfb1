"""A convolutional spiking classifier for N-MNIST (Orchard et al. 2015) trained with
surrogate gradients on the 1000-sample subset in ``../shared/data/nmnist_small``.

Events are binned into ``time_bins`` frames (tonic ``ToFrame``) over the ~300 ms saccade
sequence; the layers' time step is the bin width. Network: Conv(2->16, 5x5) - CuBa-LIF -
avg-pool 2 - Conv(16->32, 5x5) - CuBa-LIF - avg-pool 2 - Linear(2048->10) - leaky
integrator; the class score is the readout membrane's maximum over time (cross-entropy).
Training augments with random shifts of up to ``max_shift`` pixels.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch

import neurosim.nn as snn
from neurosim import CubaLIF as CubaLIFModel
from neurosim import parallel
from neurosim.events import NMNIST_SENSOR, NMNISTSmall
from neurosim.integrity import save_torch
from neurosim.runlock import folder_lock
from neurosim.training import TrainConfig, fit, prepare_run_dir

__all__ = ["NMNISTNet", "load_frames", "train_nmnist"]

SAMPLE_DURATION = 0.31  # s: N-MNIST recordings last ~300 ms


class NMNISTNet(torch.nn.Module):
    """Input (T, B, 2, 34, 34) event frames -> logits (B, 10)."""

    def __init__(self, dt: float, channels=(16, 32), tau_mem=20e-3, tau_syn=10e-3, init_gain=(10.0, 20.0, 5.0)):
        super().__init__()
        neuron = CubaLIFModel(tau_mem=tau_mem, tau_syn_e=tau_syn, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
        c1, c2 = channels
        self.features = torch.nn.Sequential(
            snn.Lift(torch.nn.Conv2d(2, c1, 5, padding=2)), snn.CubaLIF(neuron, dt=dt, slope=5.0),
            snn.Lift(torch.nn.AvgPool2d(2)),
            snn.Lift(torch.nn.Conv2d(c1, c2, 5, padding=2)), snn.CubaLIF(neuron, dt=dt, slope=5.0),
            snn.Lift(torch.nn.AvgPool2d(2)),
        )
        self.fc = snn.Lift(torch.nn.Linear(c2 * 8 * 8, 10))
        self.readout = snn.LI(neuron, dt=dt)
        # PyTorch's default initialisation leaves every LIF silent here (membrane gain ~0.25
        # per step, inputs of a few events per bin): scale it so that some neurons fire
        with torch.no_grad():
            for layer, gain in ((self.features[0], init_gain[0]), (self.features[3], init_gain[1]), (self.fc, init_gain[2])):
                layer.module.weight.mul_(gain)

    def layers(self) -> list:
        """The layers in order, as ``neurosim.nn.to_network`` exports them (the flatten
        before ``fc`` included)."""
        return [*self.features, snn.Lift(torch.nn.Flatten()), self.fc, self.readout]

    def readout_membrane(self, x):
        """``x`` (T, B, 2, 34, 34) event counts -> readout membrane (T, B, 10), normalised."""
        h = x
        for layer in self.features:
            h = layer(h)[0] if isinstance(layer, snn.CubaLIF) else layer(h)
        u, _ = self.readout(self.fc(h.flatten(2)))
        return u

    def forward(self, x):
        """``x`` (T, B, 2, 34, 34) event counts -> logits (B, 10): the readout membrane's
        maximum over time."""
        return self.readout_membrane(x).max(0).values


def load_frames(root, time_bins: int):
    """All 1000 samples as int16 frames (N, T, 2, 34, 34) and labels (N,), with the dataset."""
    import tonic.transforms as T

    ds = NMNISTSmall(root, transform=T.ToFrame(sensor_size=NMNIST_SENSOR, time_window=SAMPLE_DURATION * 1e6 / time_bins,
                                                start_time=0, end_time=SAMPLE_DURATION * 1e6))
    frames = np.zeros((len(ds), time_bins, 2, 34, 34), np.int16)
    for i in range(len(ds)):
        f, _ = ds[i]
        k = min(time_bins, f.shape[0])
        frames[i, :k] = np.minimum(f[:k], 32767)
    return frames, ds.labels.copy(), ds


class _Loader:
    """Batches of float frames (T, B, 2, 34, 34); random shifts when ``augment``."""

    def __init__(self, frames, labels, indices, batch_size, generator=None, max_shift=0):
        self.frames, self.labels, self.indices = frames, labels, np.asarray(indices)
        self.batch_size, self.gen, self.max_shift = batch_size, generator, max_shift

    def __len__(self):
        return -(-self.indices.size // self.batch_size)

    def __iter__(self):
        order = self.indices
        if self.gen is not None:
            order = order[torch.randperm(order.size, generator=self.gen).numpy()]
        for b in range(0, order.size, self.batch_size):
            idx = order[b : b + self.batch_size]
            x = torch.from_numpy(self.frames[idx].astype(np.float32))  # (B, T, 2, 34, 34)
            if self.max_shift:
                shifts = torch.randint(-self.max_shift, self.max_shift + 1, (idx.size, 2), generator=self.gen)
                x = torch.stack([torch.roll(x[i], (int(s[0]), int(s[1])), dims=(-2, -1)) for i, s in enumerate(shifts)])
            yield x.transpose(0, 1).contiguous(), torch.from_numpy(self.labels[idx]).long()


def train_nmnist(root, out_dir="runs/nmnist", epochs=30, batch_size=25, lr=2e-3, time_bins=20, seed=0, resume=False,
                 progress=True, test_fraction=0.2, max_shift=2, channels=(16, 32), limit=None, stop_after=None, overwrite=False):
    """Train on a stratified (1 - test_fraction) of the subset and report accuracy on the
    held-out rest after every epoch (see ``neurosim.training.fit`` for the outputs).
    ``limit`` uses only that many samples (for quick checks). Runs data-parallel inside a
    ``torch.distributed`` process group (``neurosim.parallel.spawn(train_nmnist, n, ...)``
    or torchrun; see ``neurosim.training.fit``); only rank 0 writes and returns the history.
    The output folder is checked
    before the data is loaded (``neurosim.training.prepare_run_dir``: an existing run needs
    ``resume`` or ``overwrite``; a resume must keep the checkpoint's settings). Writes the
    final weights to ``model_state.pt`` atomically, with their SHA-256
    (``neurosim.integrity``). Holds the folder's lock throughout
    (``neurosim.runlock.OutputLockedError`` when another process writes there). Returns
    the history.

    Raises ``ValueError`` for settings out of range (epochs, batch_size, time_bins >= 1;
    limit >= 1; 0 < test_fraction < 1; lr > 0)."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("time_bins", time_bins), ("limit", limit or 1),
                        ("stop_after", stop_after or 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= 1")
    if not (isinstance(lr, (int, float)) and np.isfinite(lr) and lr > 0):
        raise ValueError(f"lr = {lr!r} is invalid: must be a finite number > 0")
    run_config = {"task": "nmnist", "batch_size": batch_size, "time_bins": time_bins, "limit": limit, "test_fraction": test_fraction,
                  "max_shift": max_shift, "channels": list(channels)}
    cfg = TrainConfig(epochs=epochs, lr=lr, seed=seed, out_dir=str(out_dir), resume=resume, overwrite=overwrite, progress=progress,
                      stop_after=stop_after, class_names=[str(k) for k in range(10)], run_config=run_config)
    main = parallel.is_main()
    # rank 0 holds the folder's lock and checks it (fit makes the other ranks wait)
    with (folder_lock(out_dir) if main else contextlib.nullcontext()):
        if main:
            prepare_run_dir(cfg)
        frames, labels, ds = load_frames(root, time_bins)
        train_ds, test_ds = ds.split(test_fraction, seed=seed)
        train_idx, test_idx = train_ds.indices, test_ds.indices
        if limit is not None:
            train_idx, test_idx = train_idx[:limit], test_idx[: max(10, limit // 4)]
        torch.manual_seed(seed)
        model = NMNISTNet(SAMPLE_DURATION / time_bins, channels)
        make_train = lambda g: _Loader(frames, labels, train_idx, batch_size, g, max_shift)  # noqa: E731
        test_loader = _Loader(frames, labels, test_idx, 100)
        history = fit(model, torch.nn.functional.cross_entropy, make_train, test_loader, cfg, 10)
        if main:
            save_torch(Path(out_dir) / "model_state.pt", model.state_dict())
    return history
