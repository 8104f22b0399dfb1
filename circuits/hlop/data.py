"""Permuted MNIST (Goodfellow et al. 2013; the continual-learning benchmark of Kirkpatrick
et al. 2017 and Xiao et al. 2024) built from the MNIST test set in ``../shared/data/mnist``.

The 10,000 test images are split once, with a seeded shuffle, into ``n_train`` training and
the rest held-out images (default 8,000 / 2,000). Task k applies a fixed pixel permutation
drawn from a generator seeded with (``seed``, k) to every image; the labels are unchanged.
Pixels are scaled to [0, 1].
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from circuits import SHARED_DATA

__all__ = ["DEFAULT_ROOT", "read_idx", "load_mnist", "permuted_tasks"]

#: The MNIST folder (``t10k-*-ubyte.gz``) in ``../shared/data``.
DEFAULT_ROOT = SHARED_DATA / "mnist"
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an idx file (LeCun's MNIST format; gzip-compressed when the name ends in .gz).
    Returns the array with the shape the header gives. Raises ``ValueError`` naming the file
    for a corrupt or truncated file, ``FileNotFoundError`` when it is missing."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file {path} not found")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: not a readable gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an idx file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if ndim < 1 or len(raw) < head:
        raise ValueError(f"{path}: idx header truncated or with {ndim} dimensions")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    want = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - head != want:
        raise ValueError(f"{path}: idx header announces shape {shape} ({want} bytes of data) but the file holds "
                         f"{len(raw) - head} bytes (truncated or corrupt)")
    return np.frombuffer(raw, dtype, offset=head).reshape(shape)


def load_mnist(root=DEFAULT_ROOT):
    """The MNIST test set: images (10000, 784) float32 in [0, 1] and labels (10000,) int64.
    Raises ``ValueError`` when images and labels disagree in number or labels are not 0-9."""
    root = Path(root)
    images = read_idx(root / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(root / "t10k-labels-idx1-ubyte.gz")
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{root}: images {images.shape} and labels {labels.shape} do not match (want (N, 28, 28) and (N,))")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"{root}: labels outside 0-9")
    return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)


def permuted_tasks(n_tasks: int = 10, n_train: int = 8000, seed: int = 0, root=DEFAULT_ROOT) -> list[dict]:
    """``n_tasks`` permuted-MNIST tasks, each a dict with ``x_train`` (n_train, 784),
    ``y_train`` (n_train,), ``x_test`` (10000 - n_train, 784), ``y_test`` and its
    ``permutation`` (784,). Raises ``ValueError`` for ``n_train`` outside [1, 9999]."""
    x, y = load_mnist(root)
    if not 1 <= n_train < len(x):
        raise ValueError(f"n_train = {n_train} must leave held-out images: choose 1 <= n_train < {len(x)}")
    if n_tasks < 1:
        raise ValueError(f"n_tasks = {n_tasks} must be >= 1")
    order = np.random.default_rng(seed).permutation(len(x))
    tr, te = order[:n_train], order[n_train:]
    tasks = []
    for k in range(n_tasks):
        perm = np.random.default_rng([seed, k]).permutation(x.shape[1])
        xp = x[:, perm]
        tasks.append({"x_train": xp[tr], "y_train": y[tr], "x_test": xp[te], "y_test": y[te], "permutation": perm})
    return tasks
