"""The NIR paper's N-MNIST CNN (Pedersen et al. 2024, Nat. Commun. 15:8122; ``cnn_sinabs.nir``,
exported from Sinabs: Conv2d/IF/SumPool2d/Affine) run in neurosim's torch layers: the events
binned as the paper's platforms bin them (``norse_apply.ipynb``: event counts in 1 ms frames,
``tonic.transforms.ToFrame(time_window=1e3)``), each sample from rest, the class with most
output spikes over the sample's own length decides."""
from __future__ import annotations

import numpy as np
import torch

from neurosim.events import NMNIST_SENSOR, NMNISTSmall

__all__ = ["FRAME_US", "nmnist_frames", "classify_frames"]

FRAME_US = 1e3
"""Frame length of the paper's binning, in microseconds (1 ms)."""


def nmnist_frames(root, indices=None) -> tuple[list, np.ndarray]:
    """The N-MNIST samples under ``root`` (``neurosim.events.NMNISTSmall``) as event-count
    frames: (list of float32 arrays (T_i, 2, 34, 34), labels (N,)); each sample keeps its own
    length T_i (one frame per ``FRAME_US``)."""
    import tonic

    data = NMNISTSmall(root, indices, transform=tonic.transforms.ToFrame(sensor_size=NMNIST_SENSOR, time_window=FRAME_US))
    items = [data[i] for i in range(len(data))]
    return [x.astype(np.float32) for x, _ in items], np.array([y for _, y in items], np.int64)


def classify_frames(model, frames: list, batch: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` (a ``neurosim.nn.Sequential`` mapping (T, B, 2, 34, 34) to output spikes
    (T, B, 10)) on every sample of ``frames`` from rest. Samples are batched, zero-padded to
    the batch's longest, and each one's output spikes are counted over its own length only
    (the model is causal: padding after a sample's end cannot change its earlier steps).
    Returns (predictions (N,), output spike counts (N, 10))."""
    preds, counts = [], []
    with torch.no_grad():
        for b in range(0, len(frames), batch):
            chunk = frames[b : b + batch]
            lens = np.array([x.shape[0] for x in chunk])
            x = np.zeros((lens.max(), len(chunk), *chunk[0].shape[1:]), np.float32)
            for k, xi in enumerate(chunk):
                x[: xi.shape[0], k] = xi
            out = model(torch.from_numpy(x)).numpy()
            mine = np.arange(lens.max())[:, None] < lens[None, :]
            c = (out * mine[:, :, None]).sum(0)
            counts.append(c)
            preds.append(c.argmax(1))
    return np.concatenate(preds), np.concatenate(counts)
