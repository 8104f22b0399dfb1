"""AM-SU (circuits/astro.py): its equations, its tie to the core's CuBa-LIF coefficients,
gradients through the slow astrocyte state, equal parameter budgets, errors; the tasks
(circuits/astro_tasks.py) on tiny settings, with resume, and their CLI."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import neurosim.nn as snn
from circuits.astro.amsu import AMSU, SequenceModel, count_parameters, hidden_for_budget
from circuits.astro.memory import MemoryTask, memory_batch, train_memory
from circuits.astro.language import bits_per_character, generate, load_text, train_language
from neurosim.cli import main
from neurosim.integrity import load_torch
from neurosim.models import CubaLIF as CubaLIFModel

TEXT = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "tinyshakespeare.txt"


def _input(T=60, B=3, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, B, n, generator=g) < 0.3).float()


def test_without_recurrence_the_layer_is_the_core_cuba_lif_layer():
    torch.manual_seed(0)
    layer = AMSU(5, 7, astrocytes=False)
    with torch.no_grad():
        layer.w_rec.zero_()
    x = _input()
    spikes, _, _ = layer(x)
    ref, _ = snn.CubaLIF(layer.neuron, dt=layer.dt)(layer.w_in(x).detach())
    assert spikes.sum() > 10
    torch.testing.assert_close(spikes, ref, rtol=0, atol=0)


def test_neutral_coupling_leaves_the_neurons_unchanged():
    # alpha = 1: efficacy (1 - Gamma) + alpha Gamma = 1 whatever the astrocytes do
    torch.manual_seed(1)
    astro = AMSU(5, 7, alpha_init=1.0)
    plain = AMSU(5, 7, astrocytes=False)
    plain.load_state_dict({k: v for k, v in astro.state_dict().items() if k in plain.state_dict()})
    x = _input(seed=2)
    a, _, gamma = astro(x)
    b, _, _ = plain(x)
    assert gamma.max() > 0.01
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_astrocyte_state_follows_the_receptor_equation():
    # constant drive g, no spikes: Gamma_t = g (1 - q^t) / (1 - q), q = a (1 - g)  (eq. 2)
    layer = AMSU(1, 4, tau_astro=0.05, gain=0.5, dt=1e-3)
    with torch.no_grad():
        layer.w_in.weight.zero_()
        layer.w_in.bias.fill_(-1.0)  # no spikes
        layer.w_ax.weight.zero_()
        layer.w_ax.bias.copy_(torch.tensor([-3.0, -1.0, 0.0, 2.0]))
    T = 200
    _, _, gamma = layer(torch.zeros(T, 1, 1))
    a = math.exp(-1e-3 / 0.05)
    g = 0.5 * torch.sigmoid(layer.w_ax.bias.detach()).double()
    q = a * (1 - g)
    t = torch.arange(1, T + 1, dtype=torch.float64)[:, None]
    expected = g * (1 - q ** t) / (1 - q)
    torch.testing.assert_close(gamma[:, 0].double(), expected, rtol=1e-5, atol=1e-6)


def test_gradient_reaches_the_cue_through_the_slow_astrocyte_state():
    task = MemoryTask()
    x, y = memory_batch(task, 400, 4, torch.Generator().manual_seed(0))
    x.requires_grad_(True)
    grads = {}
    for kind in ("amsu", "lif"):
        torch.manual_seed(0)
        m = SequenceModel(kind, task.n_inputs, 16, task.n_cues, tau_astro=2.0)
        logits, _ = m(x)
        logits[-task.recall_steps:].sum().backward()
        grads[kind] = float(x.grad[: task.cue_steps].abs().sum())
        x.grad = None
    # the LIF layer forgets in ~tau_mem (20 steps); the astrocytes keep the cue 400 steps on
    assert grads["amsu"] > 1e3 * max(grads["lif"], 1e-30)


def test_parameter_budgets_are_equal():
    budget = count_parameters(SequenceModel("amsu", 13, 64, 4))
    for kind in ("lif", "lstm"):
        h = hidden_for_budget(kind, 13, 4, budget)
        assert count_parameters(SequenceModel(kind, 13, h, 4)) <= budget < count_parameters(SequenceModel(kind, 13, h + 1, 4))
    with pytest.raises(ValueError, match="too small"):
        hidden_for_budget("lstm", 13, 4, 10)


@pytest.mark.parametrize("kwargs, match", [
    (dict(tau_astro=0.0), "tau_astro .* must be > 0"),
    (dict(tau_astro=float("nan")), "tau_astro .* finite"),
    (dict(gain=1.5), "gain .* \\(0, 1\\]"),
    (dict(alpha_init=-1.0), "alpha_init .* must be >= 0"),
    (dict(dt=-1e-3), "dt = .* invalid"),
    (dict(surrogate="nope"), "unknown surrogate"),
    (dict(input_scale=0.0), "input_scale .* must be > 0"),
    (dict(neuron=CubaLIFModel(t_ref=2e-3)), "no refractory period"),
])
def test_invalid_amsu_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AMSU(3, 4, **kwargs)


def test_invalid_inputs():
    layer = AMSU(3, 4)
    with pytest.raises(ValueError, match="must be \\(T, B, 3\\)"):
        layer(torch.zeros(5, 2, 4))
    x = torch.zeros(5, 2, 3)
    x[3, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="first at time step 3"):
        layer(x)
    with pytest.raises(ValueError, match="unknown model"):
        SequenceModel("gru", 3, 4, 2)
    with pytest.raises(ValueError, match="n_hidden = 0"):
        AMSU(3, 0)


def test_memory_batch_layout():
    task = MemoryTask(n_cues=3, cue_steps=4, recall_steps=5, n_distractors=2, distractor_rate=0.5)
    x, y = memory_batch(task, 20, 6, torch.Generator().manual_seed(0))
    assert x.shape == (29, 6, 6)
    for b in range(6):
        assert torch.equal(x[:4, b, :3].argmax(1), torch.full((4,), int(y[b])))
        assert x[:4, b, :3].sum() == 4 and x[4:, b, :3].sum() == 0
    assert x[-5:, :, 3].eq(1).all() and x[:-5, :, 3].eq(0).all()
    assert 0.3 < float(x[:, :, 4:].mean()) < 0.7


def test_train_memory_tiny_and_resume(tmp_path):
    opts = dict(models=("amsu", "lstm"), delays=(5,), n_hidden=6, iterations=4, batch_size=4, n_test=8, progress=False,
                task=MemoryTask(cue_steps=2, recall_steps=2, n_distractors=2))
    stopped = train_memory(tmp_path / "a", stop_after=2, **opts)
    assert stopped["runs"] == [] and "complete" not in stopped
    resumed = train_memory(tmp_path / "a", resume=True, **opts)
    straight = train_memory(tmp_path / "b", **opts)
    assert straight["complete"] and [r["model"] for r in straight["runs"]] == ["amsu", "lstm"]
    assert (tmp_path / "b" / "memory.png").stat().st_size > 0
    for a, b in zip(resumed["runs"], straight["runs"]):
        assert a["test_accuracy"] == b["test_accuracy"] and a["parameters"] == b["parameters"]
    wa = load_torch(tmp_path / "a" / "amsu_D5" / "checkpoint.pt")["model"]
    wb = load_torch(tmp_path / "b" / "amsu_D5" / "checkpoint.pt")["model"]
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=0)
    with pytest.raises(FileExistsError, match="already holds results"):
        train_memory(tmp_path / "b", **opts)
    # a finished run is not reused under other settings
    with pytest.raises(ValueError, match="settings differ .*epochs: checkpoint 4, now 5"):
        train_memory(tmp_path / "b", resume=True, **{**opts, "iterations": 5})
    assert train_memory(tmp_path / "b", resume=True, **opts)["runs"] == straight["runs"]
    with pytest.raises(ValueError, match="models .* invalid"):
        train_memory(tmp_path / "c", models=("gru",))


def test_language_tiny(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text(TEXT.read_text()[:6000])
    r = train_language(text, tmp_path / "lm", models=("lif", "lstm"), n_hidden=8, iterations=3, batch_size=2, seq_len=16,
                       progress=False)
    V = r["vocab"]
    for run in r["runs"]:
        assert 1.0 < run["test_bpc"] < 2 * math.log2(V)
    samples = (tmp_path / "lm" / "samples.txt").read_text()
    assert samples.count("ROMEO:") == 2
    assert json.loads((tmp_path / "lm" / "results.json").read_text())["runs"][1]["model"] == "lstm"


def test_text_helpers(tmp_path):
    train, test, vocab = load_text(TEXT)
    assert abs(test.numel() / (train.numel() + test.numel()) - 0.1) < 1e-3 and len(vocab) == 65
    # an untrained model is near the uniform 1/V: bits per character ~ log2(V)
    torch.manual_seed(0)
    m = SequenceModel("lstm", len(vocab), 8, len(vocab))
    bpc = bits_per_character(m, test, len(vocab), max_chars=2000)
    assert abs(bpc - math.log2(len(vocab))) < 0.3
    out = generate(m, vocab, "ab", 10)
    assert out.startswith("ab") and len(out) == 12
    with pytest.raises(ValueError, match="unknown characters: \\['~'\\]"):
        generate(m, vocab, "a~", 3)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe" * 600)
    with pytest.raises(ValueError, match="not UTF-8"):
        load_text(bad)
    (tmp_path / "short.txt").write_text("abc")
    with pytest.raises(ValueError, match="at least 1000"):
        load_text(tmp_path / "short.txt")


def test_cli_astro_memory(tmp_path, capsys):
    out = tmp_path / "mem"
    rc = main(["train", "astro-memory", "--out", str(out), "--models", "lif", "--delays", "5", "--hidden", "4",
               "--iterations", "2", "--batch-size", "2", "--no-progress"])
    assert rc == 0
    assert "| 5 | " in capsys.readouterr().out
    assert (out / "memory.png").is_file()
    with pytest.raises(SystemExit):
        main(["train", "nmnist", "--delays", "5"])
    assert "--delays is for astro-memory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "astro-lm", "--epochs", "3"])  # astro tasks train by --iterations
    assert "unrecognized arguments: --epochs 3; --epochs is for nmnist and hdsnn and hlop" in capsys.readouterr().err
