import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"../shared/data not found at {SHARED_DATA}: the tests need the shared data beside the repository")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cook():
    """The Cook et al. 2019 hermaphrodite connectome (read-only use)."""
    import connectomes

    return connectomes.load("cook2019_herm")


@pytest.fixture(scope="session")
def atlas():
    """The Randi et al. 2023 wild-type signal-propagation atlas (read-only use)."""
    import connectomes

    return connectomes.functional_atlas("wt")


@pytest.fixture(scope="session")
def small_model(tmp_path_factory, shared_data):
    """A folder of ``neurosim train nmnist`` output: the N-MNIST classifier with 2 and 4
    channels trained for one epoch on 120 real samples (seconds on 2 cores)."""
    from circuits.nmnist.classifier import train_nmnist

    folder = tmp_path_factory.mktemp("nmnist_small_model")
    train_nmnist(shared_data / "nmnist_small", folder, epochs=1, limit=120, channels=(2, 4), progress=False)
    return folder


def match_fraction(t_a, i_a, t_b, i_b, tol):
    """Fraction of spikes paired one-to-one (same neuron, |dt| <= tol) over the larger count."""
    matched = 0
    for n in np.union1d(i_a, i_b):
        a = np.sort(t_a[i_a == n])
        b = np.sort(t_b[i_b == n])
        p = q = 0
        while p < a.size and q < b.size:
            if abs(a[p] - b[q]) <= tol:
                matched += 1
                p += 1
                q += 1
            elif a[p] < b[q]:
                p += 1
            else:
                q += 1
    total = max(t_a.size, t_b.size)
    return matched / total if total else 1.0
