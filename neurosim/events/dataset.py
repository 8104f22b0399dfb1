"""The N-MNIST subset in ``../shared/data/nmnist_small`` as a torch Dataset."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .io import NMNIST_SENSOR, EventFileError, read_events

__all__ = ["NMNISTSmall", "NMNIST_SENSOR"]


class NMNISTSmall:
    """N-MNIST samples (Orchard et al. 2015) from ``root/train/<id>.bs2`` with labels from
    ``root/train1K.txt`` (``#sample #class``).

    ``indices`` selects samples (positions in the label list); ``transform`` is applied to
    the events (e.g. ``tonic.transforms.ToFrame(sensor_size=NMNIST_SENSOR, n_time_bins=T)``)
    and ``target_transform`` to the label. Items are ``(transform(events), label)``; without
    a transform the events are ``neurosim.events.EVENT_DTYPE`` arrays. Usable with
    ``torch.utils.data.DataLoader``.

    Raises ``FileNotFoundError`` for a missing root or label file and
    ``neurosim.events.EventFileError`` for malformed label lines or event files.
    """

    def __init__(self, root, indices=None, transform=None, target_transform=None):
        self.root = Path(root)
        label_file = self.root / "train1K.txt"
        if not label_file.is_file():
            raise FileNotFoundError(f"N-MNIST label file {label_file} not found (expected root/train1K.txt and root/train/)")
        rows = []
        for k, line in enumerate(label_file.read_text().splitlines()):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2 or not all(p.isdigit() for p in parts) or not 0 <= int(parts[1]) <= 9:
                raise EventFileError(f"{label_file}:{k + 1}: expected '<sample id> <class 0-9>', got {line!r}")
            rows.append((int(parts[0]), int(parts[1])))
        self.ids = np.array([r[0] for r in rows])
        self.labels = np.array([r[1] for r in rows])
        self.indices = np.arange(len(rows)) if indices is None else np.asarray(indices)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= len(rows)):
            raise IndexError(f"indices out of range 0..{len(rows) - 1}")
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return int(self.indices.size)

    def path(self, i: int) -> str:
        """File of item ``i``."""
        return os.fspath(self.root / "train" / f"{self.ids[self.indices[i]]}.bs2")

    def __getitem__(self, i: int):
        events = read_events(self.path(i))
        label = int(self.labels[self.indices[i]])
        if self.transform is not None:
            events = self.transform(events)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return events, label

    def split(self, test_fraction=0.2, seed=0):
        """Stratified split into (train, test) datasets: ``test_fraction`` of every class.
        Raises ``ValueError`` unless 0 < ``test_fraction`` < 1."""
        if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float, np.floating)) \
                or not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction = {test_fraction!r} is invalid: must be a number with 0 < test_fraction < 1")
        rng = np.random.default_rng(seed)
        classes = np.unique(self.labels[self.indices])
        members = {c: self.indices[self.labels[self.indices] == c] for c in classes}
        # per-class test counts summing to round(test_fraction * n) (largest remainders)
        exact = np.array([test_fraction * members[c].size for c in classes])
        n_test = np.floor(exact).astype(int)
        extra = int(round(test_fraction * len(self))) - n_test.sum()
        n_test[np.argsort(-(exact - n_test), kind="stable")[:extra]] += 1
        train, test = [], []
        for c, k in zip(classes, n_test):
            m = members[c][rng.permutation(members[c].size)]
            test.extend(m[:k])
            train.extend(m[k:])
        mk = lambda idx: NMNISTSmall(self.root, np.sort(np.array(idx)), self.transform, self.target_transform)  # noqa: E731
        return mk(train), mk(test)
