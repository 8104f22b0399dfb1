"""Data-parallel training (issue #13, criterion 3): two gloo processes train the N-MNIST
classifier to the same weights and accuracy as one process on the same data order."""
import json

import pytest
import torch

from circuits.nmnist.classifier import train_nmnist
from neurosim import parallel
from neurosim.integrity import load_torch


def test_two_processes_train_as_one(shared_data, tmp_path):
    root = shared_data / "nmnist_small"
    # batch 25 splits 13 + 12: the loss weights of parallel.shard keep the gradient the whole batch's mean
    kw = dict(epochs=3, limit=200, channels=(4, 8), progress=False, batch_size=25, lr=1e-2)
    train_nmnist(root, tmp_path / "one", **kw)
    parallel.spawn(train_nmnist, 2, root, tmp_path / "two", **kw)
    one = json.loads((tmp_path / "one" / "metrics.json").read_text())
    two = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert len(one) == len(two) == 3
    assert one[-1]["test_accuracy"] > 0.15  # it learns (chance 0.1)
    for a, b in zip(one, two):
        assert abs(a["test_accuracy"] - b["test_accuracy"]) <= 0.01
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        assert a["train_accuracy"] == pytest.approx(b["train_accuracy"], abs=0.011)
    w1 = load_torch(tmp_path / "one" / "model_state.pt")
    w2 = load_torch(tmp_path / "two" / "model_state.pt")
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-4, atol=1e-5)


def test_shard_weights_make_the_mean_over_the_whole_batch():
    x, y = torch.arange(2 * 5 * 3.0).reshape(2, 5, 3), torch.arange(5)
    assert parallel.shard(x, y) == (x, y, 1.0)  # no process group: the whole batch


def test_ddp_command_reports_an_occupied_folder(shared_data, tmp_path, capsys):
    from neurosim.cli import main

    (tmp_path / "metrics.json").write_text("[]")
    rc = main(["train", "nmnist", "--ddp", "2", "--out", str(tmp_path), "--epochs", "1", "--limit", "20", "--no-progress"])
    assert rc == 2 and "already holds a training run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "hdsnn", "--ddp", "2"])
