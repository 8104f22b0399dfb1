"""HLOP (circuits/hlop.py): exact gradient projection for linear and convolutional layers,
the lateral neurons, the continual-learning runs on tiny settings (metrics, resume,
errors), the permuted-MNIST data (circuits/pmnist.py) and the CLI."""
import gzip
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from circuits.hlop.train import ContinualConfig, acc_bwt, train_continual
from circuits.hlop.layers import HLOPLayer, ProjectedConv2d, ProjectedLinear, SpikingMLP, subspace_sizes
from circuits.hlop.data import load_mnist, permuted_tasks, read_idx
from neurosim.cli import main
from neurosim.plasticity import HebbianSubspace, orthonormal_basis

TINY = dict(n_tasks=2, n_train=1000, epochs=2, hidden=64, steps=3, batch_size=25, fisher_samples=20)


def _protected(n_in=20, k=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    H = torch.randn(k, n_in, generator=g, dtype=torch.float64)
    return orthonormal_basis(H), g


def test_projected_linear_step_leaves_outputs_in_the_protected_subspace_unchanged():
    Q, g = _protected()
    layer = ProjectedLinear(20, 7).double()
    protected = torch.randn(50, 6, generator=g, dtype=torch.float64) @ Q  # old tasks' inputs
    before = layer(protected).detach().clone()
    w0 = layer.weight.detach().clone()
    opt = torch.optim.SGD(layer.parameters(), lr=0.01, momentum=0.9)
    for _ in range(5):  # new task: inputs anywhere
        x = torch.randn(16, 20, generator=g, dtype=torch.float64)
        loss = (layer(x, Q) - torch.randn(16, 7, generator=g, dtype=torch.float64)).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = layer(protected).detach()
    assert (after - before).abs().max() < 1e-13 * before.abs().max()
    assert (layer.weight.detach() - w0).abs().max() > 0.05  # and the layer did learn


def test_projected_linear_gradient_is_the_projected_outer_product():
    Q, g = _protected()
    layer = ProjectedLinear(20, 5).double()
    x = torch.randn(3, 4, 20, generator=g, dtype=torch.float64, requires_grad=True)  # (T, B, N) also works
    out = layer(x, Q)
    torch.testing.assert_close(out, F.linear(x, layer.weight))  # the forward pass is unchanged
    w_out = torch.randn_like(out)
    (out * w_out).sum().backward()
    x_orth = x.detach() - x.detach() @ Q.T @ Q
    want = w_out.reshape(-1, 5).T @ x_orth.reshape(-1, 20)
    torch.testing.assert_close(layer.weight.grad, want)
    torch.testing.assert_close(x.grad, w_out @ layer.weight.detach())  # input gradient not projected


def test_projected_conv_gradient_uses_projected_patches_and_protects_them():
    g = torch.Generator().manual_seed(1)
    conv = ProjectedConv2d(2, 3, 3, padding=1).double()
    Q = orthonormal_basis(torch.randn(5, 18, generator=g, dtype=torch.float64))
    x = torch.randn(2, 2, 6, 6, generator=g, dtype=torch.float64, requires_grad=True)
    out = conv(x, Q)
    torch.testing.assert_close(out, F.conv2d(x, conv.weight, padding=1))
    w_out = torch.randn_like(out)
    (out * w_out).sum().backward()
    patches = F.unfold(x.detach(), 3, padding=1)  # (B, 18, L)
    orth = patches - Q.T @ (Q @ patches)
    want = torch.einsum("bol,bpl->op", w_out.flatten(2), orth).reshape(conv.weight.shape)
    torch.testing.assert_close(conv.weight.grad, want)
    ref = x.detach().clone().requires_grad_(True)
    (F.conv2d(ref, conv.weight.detach(), padding=1) * w_out).sum().backward()
    torch.testing.assert_close(x.grad, ref.grad)
    # an SGD step leaves the response to any patch in the protected subspace unchanged
    patch = torch.randn(4, 5, generator=g, dtype=torch.float64) @ Q
    before = patch @ conv.weight.detach().reshape(3, -1).T
    with torch.no_grad():
        conv.weight -= 0.3 * conv.weight.grad
    after = patch @ conv.weight.detach().reshape(3, -1).T
    assert (after - before).abs().max() < 1e-12
    # without a basis the layer is a plain convolution (its usual gradient)
    conv.weight.grad = None
    conv(x.detach()).sum().backward()
    assert conv.weight.grad is not None


def test_network_step_with_projection_keeps_old_task_layer_inputs_outputs():
    torch.manual_seed(0)
    model = SpikingMLP((12, 16, 16, 4), steps=3)
    g = torch.Generator().manual_seed(2)
    bases = [orthonormal_basis(torch.randn(k, n, generator=g)) for k, n in ((5, 12), (6, 16), (6, 16))]
    old = [torch.randn(10, b.shape[0], generator=g) @ b for b in bases]
    layers = model.layers()
    before = [layer(o).detach().clone() for layer, o in zip(layers, old)]
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(3):
        x = torch.rand(8, 12, generator=g) * 3
        loss = F.cross_entropy(model(x, bases), torch.randint(0, 4, (8,), generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for layer, o, b in zip(layers, old, before):
        assert (layer(o).detach() - b).abs().max() < 1e-5 * max(b.abs().max(), 1.0)
    assert model.inputs is None  # nothing recorded unless asked


def test_lateral_layer_grows_freezes_and_round_trips():
    layer = HLOPLayer(10, HebbianSubspace(lr=0.05))
    layer.add_neurons(3, torch.Generator().manual_seed(0))
    torch.testing.assert_close(layer.weight @ layer.weight.T, torch.eye(3), atol=1e-6, rtol=0)
    layer.learn(torch.randn(8, 10))
    layer.merge()
    frozen = layer.weight.clone()
    layer.add_neurons(2, torch.Generator().manual_seed(1))
    layer.learn(torch.randn(8, 10))
    assert torch.equal(layer.weight[:3], frozen) and layer.weight.shape == (5, 10)
    assert layer.basis().shape == (3, 10)
    with pytest.raises(ValueError, match=r"10 inputs got activity of shape \(8, 9\)"):
        layer.learn(torch.randn(8, 9))
    layer.add_neurons(100)  # capped at the input dimension
    assert layer.weight.shape == (10, 10)
    other = HLOPLayer(10, HebbianSubspace())
    other.load_state_dict(layer.state_dict())
    assert torch.equal(other.weight, layer.weight) and other.n_frozen == 3


def test_subspace_sizes_follow_the_reference_schedule():
    assert subspace_sizes(0) == (80, 200, 100)
    assert [subspace_sizes(k)[0] for k in range(1, 10)] == [70, 70, 50, 50, 50, 30, 30, 30, 10]


def test_acc_bwt_on_a_known_matrix():
    R = np.array([[0.9, np.nan, np.nan], [0.8, 0.95, np.nan], [0.7, 0.9, 0.85]])
    acc, bwt = acc_bwt(R)
    assert acc == pytest.approx((0.7 + 0.9 + 0.85) / 3)
    assert bwt == pytest.approx(((0.7 - 0.9) + (0.9 - 0.95)) / 2)


def test_permuted_tasks_split_and_permutations():
    tasks = permuted_tasks(3, n_train=8000, seed=0)
    x, y = load_mnist()
    assert x.shape == (10000, 784) and set(np.unique(y)) == set(range(10))
    assert tasks[0]["x_train"].shape == (8000, 784) and tasks[2]["x_test"].shape == (2000, 784)
    for t in tasks:  # the same images and labels, permuted pixels
        np.testing.assert_array_equal(t["y_train"], tasks[0]["y_train"])
        assert sorted(t["permutation"].tolist()) == list(range(784))
        order = np.argsort(t["permutation"])
        np.testing.assert_array_equal(t["x_train"][:, order], tasks[0]["x_train"][:, np.argsort(tasks[0]["permutation"])])
    assert (tasks[0]["permutation"] != tasks[1]["permutation"]).mean() > 0.9
    np.testing.assert_array_equal(permuted_tasks(2, 8000, 0)[1]["permutation"], tasks[1]["permutation"])  # seeded
    with pytest.raises(ValueError, match="n_train"):
        permuted_tasks(2, n_train=10000)


def test_corrupt_and_truncated_idx_files_are_reported(tmp_path):
    good = gzip.decompress((load_mnist.__globals__["DEFAULT_ROOT"] / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (tmp_path / "short.gz").write_bytes(gzip.compress(good[:-10]))
    with pytest.raises(ValueError, match="truncated or corrupt"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "magic.gz").write_bytes(gzip.compress(b"\x12\x34" + good[2:]))
    with pytest.raises(ValueError, match="not an idx file"):
        read_idx(tmp_path / "magic.gz")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(ValueError, match="not a readable gzip"):
        read_idx(tmp_path / "broken.gz")
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing.gz")


@pytest.mark.parametrize("method", ["baseline", "ewc", "hlop", "multitask"])
def test_continual_runs_write_their_results(method, tmp_path):
    r = train_continual(method, tmp_path / method, ContinualConfig(**TINY), progress=False)
    assert r["complete"]
    R = np.array(r["accuracy_matrix"], dtype=float)
    assert R.shape == ((1, 2) if method == "multitask" else (2, 2))
    assert np.nanmin(R) > 0.3  # learned something (chance 0.1)
    if method != "multitask":
        assert np.isnan(R[0, 1])
        assert r["ACC"] == pytest.approx(R[1].mean()) and r["BWT"] == pytest.approx(R[1, 0] - R[0, 0])
    saved = json.loads((tmp_path / method / "results.json").read_text())
    assert saved["ACC"] == pytest.approx(r["ACC"])
    assert (tmp_path / method / "accuracy_matrix.png").stat().st_size > 1000
    if method == "hlop":
        assert r["lateral_neurons"] == [80 + 55, 64, 64]  # first task's + one step's neurons, capped at the layer's inputs


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    cfg = ContinualConfig(**TINY)
    full = train_continual("hlop", tmp_path / "full", cfg, progress=False)
    part = train_continual("hlop", tmp_path / "part", cfg, progress=False, stop_after=1)
    assert not part["complete"] and not (tmp_path / "part" / "results.json").exists()
    resumed = train_continual("hlop", tmp_path / "part", cfg, progress=False, resume=True)
    assert resumed["accuracy_matrix"] == full["accuracy_matrix"]
    with pytest.raises(ValueError, match="differ"):
        train_continual("hlop", tmp_path / "part", ContinualConfig(**{**TINY, "lr": 0.01}), progress=False, resume=True)
    with pytest.raises(FileExistsError):
        train_continual("hlop", tmp_path / "part", cfg, progress=False)


def test_bad_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown continual-learning method 'sgd'"):
        train_continual("sgd", tmp_path, ContinualConfig(**TINY))
    with pytest.raises(ValueError, match="epochs"):
        ContinualConfig(epochs=0)
    with pytest.raises(ValueError, match="momentum"):
        ContinualConfig(momentum=1.0)
    with pytest.raises(ValueError, match="lr"):
        ContinualConfig(lr=float("nan"))


def test_cli_trains_hlop_and_prints_the_table(tmp_path, capsys):
    rc = main(["train", "hlop", "--method", "baseline", "--tasks", "2", "--train-size", "200", "--epochs", "1",
               "--out", str(tmp_path / "run"), "--no-progress", "--threads", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and "| baseline |" in out
    assert (tmp_path / "run" / "baseline" / "accuracy_matrix.png").is_file()
    with pytest.raises(SystemExit):
        main(["train", "nmnist", "--tasks", "2"])
    assert "--tasks is for hlop" in capsys.readouterr().err
