"""Data-parallel training (issue #13, criterion 3; issue #36, criterion 4): two gloo
processes train every model family (N-MNIST, HD-SNN, AM-SU's two tasks, HLOP) to the same
weights and results as one process on the same data order, through ``neurosim train TASK
--ddp 2``.

The documented tolerance: one and two processes take the same optimisation steps, equal up
to floating-point rounding (the gradient is summed in a different order); spiking layers can
amplify a rounding difference once it flips a spike, so the tests compare short runs: losses
to 1e-4, accuracies to one sample in 100."""
import json

import numpy as np
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
        main(["train", "hdsnn", "--ddp", "0"])


CASES = ((5, 0), (4, 1), (1, 0))  # (batch size, batch axis): unequal shares, another axis, an empty share


def _gather_in_group():
    out = []
    for n, axis in CASES:
        x = torch.arange(float(n * 6)).reshape(n, 2, 3).movedim(0, axis)
        share, labels, weight = parallel.shard(x, torch.arange(n), axis)
        whole = parallel.gather_batch(share, axis)
        out.append({"equal": bool(torch.equal(whole, x)), "labels": labels.tolist(), "weight": weight})
    return out


def test_gather_batch_undoes_shard():
    """Every rank gets the whole batch back, in order, also when the shares differ in size
    and along another axis (rank 0's view)."""
    for (n, _), r in zip(CASES, parallel.spawn(_gather_in_group, 2), strict=True):
        assert r["equal"] and r["labels"] == list(range(0, n, 2)) and r["weight"] == pytest.approx(len(r["labels"]) * 2 / n)


def test_hdsnn_trains_in_two_processes_as_in_one(tmp_path):
    from circuits.hdsnn.task import load_run, train_hdsnn

    small = dict(n_train=6, n_test=2, n_steps=30, size=20, test_size=20, n_delays=5, kernel_size=7, subunits=1,
                 epochs=2, batch_size=3)
    one = train_hdsnn(tmp_path / "one", progress=False, **small)
    # batch 3: shares of 2 and 1 (the loss weights keep the mean over the whole batch)
    two = parallel.spawn(train_hdsnn, 2, tmp_path / "two", progress=False, **small)
    for a, b in zip(one, two, strict=True):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        assert abs(a["test_accuracy"] - b["test_accuracy"]) <= 0.01
    k1, k2 = (load_run(tmp_path / name)[0].kernel().detach() for name in ("one", "two"))
    torch.testing.assert_close(k2, k1, rtol=1e-4, atol=1e-5)


def test_astro_tasks_train_in_two_processes_as_in_one(shared_data, tmp_path, capsys):
    from circuits.astro.language import train_language
    from circuits.astro.memory import train_memory
    from neurosim.cli import main

    mem = dict(models=("amsu", "lstm"), delays=(20,), iterations=6, n_hidden=8, batch_size=9)
    one = train_memory(tmp_path / "m1", n_test=16, progress=False, **mem)
    assert main(["train", "astro-memory", "--ddp", "2", "--out", str(tmp_path / "m2"), "--models", "amsu", "lstm",
                 "--delays", "20", "--iterations", "6", "--hidden", "8", "--batch-size", "9", "--no-progress"]) == 0
    assert "delayed recall" in capsys.readouterr().out
    two = json.loads((tmp_path / "m2" / "results.json").read_text())
    for name in ("amsu_D20", "lstm_D20"):
        h1, h2 = (json.loads((tmp_path / m / name / "metrics.json").read_text()) for m in ("m1", "m2"))
        assert [h["train_loss"] for h in h2] == pytest.approx([h["train_loss"] for h in h1], abs=1e-5)
    assert [r["hidden"] for r in two["runs"]] == [r["hidden"] for r in one["runs"]]

    text = shared_data / "text" / "tinyshakespeare.txt"
    lm = dict(models=("amsu",), n_hidden=16, iterations=4, batch_size=5, seq_len=16, eval_chars=2000, sample_length=20)
    one = train_language(text, tmp_path / "l1", progress=False, **lm)
    two = parallel.spawn(train_language, 2, text, tmp_path / "l2", progress=False, **lm)
    assert two["runs"][0]["test_bpc"] == pytest.approx(one["runs"][0]["test_bpc"], abs=1e-4)
    assert [h[1] for h in two["runs"][0]["history"]] == pytest.approx([h[1] for h in one["runs"][0]["history"]], abs=1e-4)


def test_hlop_trains_in_two_processes_as_in_one(shared_data, tmp_path, capsys):
    """HLOP's lateral neurons learn from the whole batch (gathered from the shares), EWC's
    Fisher information from the whole data: the same accuracy matrix in two processes."""
    from circuits.hlop.train import ContinualConfig, train_continual
    from neurosim.cli import main

    tiny = dict(n_tasks=2, n_train=600, epochs=1, hidden=32, steps=3, batch_size=10, fisher_samples=20)
    for method in ("hlop", "ewc"):
        one = train_continual(method, tmp_path / f"{method}1", ContinualConfig(**tiny), data_root=shared_data / "mnist",
                              progress=False)
        two = parallel.spawn(train_continual, 2, method, tmp_path / f"{method}2", ContinualConfig(**tiny),
                             data_root=shared_data / "mnist", progress=False)
        assert two["ACC"] == pytest.approx(one["ACC"], abs=0.01)
        r1, r2 = (np.array(r["accuracy_matrix"], float) for r in (one, two))
        assert np.nanmax(np.abs(r1 - r2)) <= 0.01
    assert main(["train", "hlop", "--ddp", "2", "--method", "baseline", "--out", str(tmp_path / "cli"), "--tasks", "2",
                 "--train-size", "500", "--epochs", "1", "--batch-size", "50", "--no-progress"]) == 0
    assert "| baseline |" in capsys.readouterr().out
