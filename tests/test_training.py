"""Training loop: seeded, resumable from atomic checkpoints, metrics and figures written;
bad checkpoints are refused. Small settings (a few N-MNIST samples, three epochs)."""
import json

import pytest
import torch

from circuits.nmnist.classifier import train_nmnist
from neurosim.training import TrainConfig, fit, load_checkpoint

SMALL = dict(batch_size=10, time_bins=8, limit=60, progress=False, channels=(8, 8))


def test_resume_continues_exactly(tmp_path, shared_data):
    root = shared_data / "nmnist_small"
    full = train_nmnist(root, tmp_path / "full", epochs=3, **SMALL)
    part = tmp_path / "part"
    first = train_nmnist(root, part, epochs=3, stop_after=2, **SMALL)  # interrupted after two epochs
    assert [h["epoch"] for h in first] == [1, 2]
    assert [h["epoch"] for h in json.loads((part / "metrics.json").read_text())] == [1, 2]
    resumed = train_nmnist(root, part, epochs=3, resume=True, **SMALL)
    assert [h["epoch"] for h in resumed] == [1, 2, 3]
    # data order, RNG and learning-rate schedule continue: the third epoch equals the one of
    # the uninterrupted run
    assert resumed[1]["train_loss"] == full[1]["train_loss"]
    assert resumed[2]["train_loss"] == pytest.approx(full[2]["train_loss"], rel=1e-6)
    assert resumed[2]["test_accuracy"] == full[2]["test_accuracy"]
    for name in ("confusion.png", "accuracy.png", "checkpoint.pt", "model_state.pt"):
        assert (part / name).is_file()


def test_same_seed_same_training(tmp_path, shared_data):
    root = shared_data / "nmnist_small"
    a = train_nmnist(root, tmp_path / "a", epochs=1, **SMALL)
    b = train_nmnist(root, tmp_path / "b", epochs=1, **SMALL)
    assert a[0]["train_loss"] == b[0]["train_loss"]


def test_bad_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint")
    m = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="is damaged or not a PyTorch file"):
        load_checkpoint(bad, m, torch.optim.Adam(m.parameters()), torch.Generator())
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        fit(m, None, None, None, TrainConfig(out_dir=str(tmp_path / "none"), resume=True), 2)
