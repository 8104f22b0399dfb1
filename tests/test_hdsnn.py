"""The HD-SNN heterogeneous-delay layer (issue #7): the delayed convolution against a direct
loop over the paper's formula, pruning, the motion-movie generator, and the exported core
Network run event-driven in the Numba simulator against the torch layer."""
import copy
import numpy as np
import pytest
import torch

from circuits.hdsnn.movies import TEST_IMAGES, TRAIN_IMAGES, MotionClasses, make_motion_data, whiten
from circuits.hdsnn.layer import HDSNN, decide, finetune, motion_loss, prune, synaptic_operations
from circuits.hdsnn.core import core_evidence
from neurosim.integrity import load_torch


def _loop_reference(kernel, a, pad=0):
    """C[b, c, t, y, x] = sum_{p, d, i, j} K[c, p, d - 1, i, j] A[b, p, t - d, y + i - pad, x + j - pad]
    (zero outside the raster), written as plain loops over the formula."""
    n_c, n_p, n_d, ks, _ = kernel.shape
    n_b, _, n_t, h, w = a.shape
    ho, wo = h - ks + 1 + 2 * pad, w - ks + 1 + 2 * pad
    out = np.zeros((n_b, n_c, n_t, ho, wo))
    for b in range(n_b):
        for c in range(n_c):
            for t in range(n_t):
                for y in range(ho):
                    for x in range(wo):
                        acc = 0.0
                        for p in range(n_p):
                            for d in range(1, n_d + 1):
                                if t - d < 0:
                                    continue
                                for i in range(ks):
                                    for j in range(ks):
                                        yy, xx = y + i - pad, x + j - pad
                                        if 0 <= yy < h and 0 <= xx < w:
                                            acc += kernel[c, p, d - 1, i, j] * a[b, p, t - d, yy, xx]
                        out[b, c, t, y, x] = acc
    return out


def _small_model(polarity_invariant, seed=0, subunits=1):
    torch.manual_seed(seed)
    m = HDSNN(n_classes=3, n_delays=4, kernel_size=5, max_speed=1.0, polarity_invariant=polarity_invariant, init_std=1.0,
              subunits=subunits).double()
    with torch.no_grad():
        m.bias.copy_(torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64))
    return m.eval()


@pytest.mark.parametrize("polarity_invariant,subunits", [(False, 1), (True, 1), (True, 2), (False, 3)])
@pytest.mark.parametrize("pad", [0, 4])
def test_delayed_convolution_matches_the_loop_formula(polarity_invariant, subunits, pad):
    m = _small_model(polarity_invariant, subunits=subunits)
    rng = np.random.default_rng(1)
    a = (rng.random((2, 2, 9, 7, 8)) < 0.3).astype(np.float64)
    k = m.kernel().detach().numpy()
    assert k.shape == (3 * subunits, 2, 4, 5, 5)
    # the complex cell: maximum over subunits u (kernel channels u C + c) and polarity swaps
    kernels = [k[3 * u : 3 * u + 3] for u in range(subunits)]
    if polarity_invariant:
        kernels += [kern[:, ::-1] for kern in kernels]
    ref = np.max([_loop_reference(kern, a, pad) for kern in kernels], axis=0)
    got = m.evidence(torch.from_numpy(a), padding=pad).detach().numpy()
    np.testing.assert_allclose(got, ref, atol=1e-12)
    if pad == 0:
        logits = m(torch.from_numpy(a)).detach().numpy()
        np.testing.assert_allclose(logits, ref + np.array([0.1, -0.2, 0.3])[None, :, None, None, None], atol=1e-12)


def test_kernel_is_zero_sum_and_masked():
    m = HDSNN(n_classes=2, n_delays=6, kernel_size=9, max_speed=0.5)
    k = m.kernel().detach()
    assert torch.allclose(k.sum((-2, -1)), torch.zeros(2, 2, 6), atol=1e-6)
    # radius 1.5 + 0.5 d: a 13-pixel disk at delay 1 (distance <= 2), at delay 6 the radius min(4.5, 4) = 4 gives 49 pixels
    assert (k[:, :, 0] != 0).any((0, 1)).sum() == 13 and (k[:, :, 5] != 0).any((0, 1)).sum() == 49
    # pruned, the surviving synapses of each slice are re-centred: still zero-sum, still the same synapses,
    # each the pruned entry of K minus the mean of its slice's survivors
    pruned = prune(m, 0.1)
    kp, keep = pruned.kernel().detach(), pruned.mask.bool()
    assert torch.allclose(kp.sum((-2, -1)), torch.zeros(2, 2, 6), atol=1e-6)
    assert not kp[~keep].any()
    n = keep.sum((-2, -1), keepdim=True)
    kept = torch.where(keep, k, torch.zeros_like(k))
    want = torch.where(keep, k - kept.sum((-2, -1), keepdim=True) / n.clamp(min=1), torch.zeros_like(k))
    assert torch.allclose(kp, want, atol=1e-6) and (n == 1).sum() < n.numel()


def test_training_stride_samples_the_full_output():
    m = _small_model(True).train()
    m.train_stride = 2
    a = torch.from_numpy((np.random.default_rng(2).random((1, 2, 6, 9, 9)) < 0.3).astype(np.float64))
    full = m.eval()(a)
    torch.manual_seed(3)
    sub = m.train()(a)
    # one of the four offsets of the stride-2 grid
    assert any(torch.allclose(sub, full[..., oy::2, ox::2]) for oy in range(2) for ox in range(2))


def test_prune_keeps_the_largest_weights():
    m = _small_model(False)
    k = m.kernel().detach().abs().flatten()
    for fraction in (0.05, 0.3, 1.0):
        pruned = prune(m, fraction)
        keep = pruned.mask.bool().flatten()
        n = min(int(round(fraction * k.numel())), int((k != 0).sum()))  # the delay mask's zeros stay zeros
        assert int(keep.sum()) == n and k[keep].min() >= torch.topk(k, n).values.min()  # the n largest |K|
        assert int((pruned.kernel() != 0).sum()) <= n  # re-centred: a slice with one survivor is zero
    with pytest.raises(ValueError, match="fraction"):
        prune(m, 0)


def test_prune_per_class_gives_every_class_the_same_number_of_synapses():
    m = _small_model(False, seed=2, subunits=2)
    with torch.no_grad():
        m.weight[[0, 3]] *= 10  # class 0 (both subunits) dominates the whole-layer ranking
    k = m.kernel().detach()
    per_class = k.reshape(2, 3, -1).transpose(0, 1).reshape(3, -1)  # (class, its S x P x D x ks x ks entries)
    fraction = 0.1
    n = int(round(fraction * per_class.shape[1]))
    whole = prune(m, fraction).mask.reshape(2, 3, -1).transpose(0, 1).reshape(3, -1).sum(1)
    assert whole[0] > 2 * whole[1:].max()  # the paper's ranking: class 0 takes most of the budget
    keep = prune(m, fraction, per_class=True).mask.reshape(2, 3, -1).transpose(0, 1).reshape(3, -1).bool()
    assert keep.sum(1).tolist() == [n, n, n]
    for c in range(3):  # each class keeps its own n largest |K|
        assert per_class[c].abs()[keep[c]].min() >= torch.topk(per_class[c].abs(), n).values.min()
    assert torch.equal(prune(m, 1.0, per_class=True).mask, prune(m, 1.0).mask)  # nothing to choose when all stay
    with pytest.raises(ValueError, match="fraction"):
        prune(m, 1.5, per_class=True)


def test_finetune_retrains_only_the_surviving_weights():
    """Retraining a pruned layer lowers the training loss and never revives a pruned
    synapse (the active set after retraining lies within the pruned one)."""
    data = make_motion_data(TRAIN_IMAGES[:2], 4, n_steps=24, size=16, seed=3)
    torch.manual_seed(0)
    m = HDSNN(n_classes=36, n_delays=4, kernel_size=5, train_stride=1, init_std=0.05)
    x, y = torch.from_numpy(data.events.astype(np.float32)), torch.from_numpy(data.targets(4))
    pruned = prune(m, 0.2)
    active = pruned.kernel().detach() != 0
    with torch.no_grad():
        before = float(motion_loss(pruned.eval()(x), y))
    torch.manual_seed(1)
    assert finetune(pruned, [(x, y)] * 5, epochs=2, lr=1e-2) is pruned and not pruned.training
    after_active = pruned.kernel().detach() != 0
    assert not (after_active & ~active).any() and after_active.sum() > 0.9 * active.sum()
    with torch.no_grad():
        assert float(motion_loss(pruned(x), y)) < before - 1e-3
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        finetune(pruned, [(x, y)], epochs=0)
    with pytest.raises(ValueError, match="lr > 0"):
        finetune(pruned, [(x, y)], lr=float("nan"))
    with pytest.raises(ValueError, match="l1 >= 0"):
        finetune(pruned, [(x, y)], l1=-1e-3)


def test_finetune_l1_concentrates_the_weight_mass():
    """With an L1 penalty, retraining from the same start ends with a smaller sum |K| and
    more of the squared weight in the largest 10% of |K| than without it (the reason to
    use it before pruning)."""
    data = make_motion_data(TRAIN_IMAGES[:2], 4, n_steps=24, size=16, seed=3)
    x, y = torch.from_numpy(data.events.astype(np.float32)), torch.from_numpy(data.targets(4))
    torch.manual_seed(0)
    start = HDSNN(n_classes=36, n_delays=4, kernel_size=5, train_stride=1, init_std=0.05)

    def retrained(l1):
        m = copy.deepcopy(start)
        torch.manual_seed(1)
        k = finetune(m, [(x, y)] * 10, epochs=2, lr=3e-3, l1=l1).kernel().detach().abs().flatten()
        top = k.sort(descending=True).values[: k.numel() // 10]
        return float(k.sum()), float((top**2).sum() / (k**2).sum())

    (mass0, top0), (mass1, top1) = retrained(0.0), retrained(1e-3)
    assert mass1 < 0.8 * mass0 and top1 > top0 + 0.02


def test_loss_ignores_steps_without_history():
    logits = torch.zeros(1, 3, 4, 2, 2, requires_grad=True)
    y = torch.tensor([[-1, 0, 2, -1]])
    motion_loss(logits, y).backward()
    assert torch.all(logits.grad[:, :, [0, 3]] == 0) and torch.all(logits.grad[:, :, [1, 2]] != 0)


@pytest.mark.parametrize("polarity_invariant,subunits", [(False, 1), (True, 1), (True, 2)])
def test_core_network_runs_the_pruned_layer_event_driven(polarity_invariant, subunits):
    m = prune(_small_model(polarity_invariant, seed=4, subunits=subunits), 0.3)
    rng = np.random.default_rng(5)
    raster = (rng.random((2, 20, 6, 7)) < 0.2).astype(np.uint8)
    evidence, res = core_evidence(m, raster)
    x = torch.from_numpy(raster[None].astype(np.float64))
    ref = m.evidence(x, padding=m.kernel_size - 1)[0].detach().numpy()
    np.testing.assert_allclose(evidence, ref, atol=1e-9)
    bias = m.bias.detach().numpy()[:, None, None, None]
    assert np.array_equal((evidence + bias).argmax(0), (ref + bias).argmax(0))
    # every input event meets each active weight once (twice the polarity's when invariant)
    assert res.synaptic_events == synaptic_operations(m, x)
    if polarity_invariant:
        assert res.synaptic_events == int((m.kernel() != 0).sum()) * int(raster.sum())


def test_motion_movies_move_as_labelled():
    from scipy.ndimage import spline_filter

    from circuits.hdsnn.movies import motion_movie, photograph

    data = make_motion_data(TRAIN_IMAGES[:2], 4, n_steps=40, size=24, seed=3)
    again = make_motion_data(TRAIN_IMAGES[:2], 4, n_steps=40, size=24, seed=3)
    assert np.array_equal(data.events, again.events) and np.array_equal(data.labels, again.labels)
    cl = MotionClasses()
    image = photograph("camera")
    coef = spline_filter(image, order=3)
    # classes: right at 1 px/step (0 deg), then up at 2 px/step (90 deg): integer shifts keep the
    # window's sub-pixel offset, so each frame is exactly the previous one moved by v
    right, up = 0 * 3 + 1, 3 * 3 + 2
    labels = np.array([right] * 5 + [up] * 5)
    frames = motion_movie(image, labels, cl, 20, np.random.default_rng(0), spline_coefficients=coef)
    for k in range(5):
        np.testing.assert_allclose(frames[k + 1][:, 1:], frames[k][:, :-1], atol=1e-9)  # content moves right
    for k in range(5, 10):
        np.testing.assert_allclose(frames[k + 1][:-2, :], frames[k][2:, :], atol=1e-9)  # content moves up 2 px
    # at speed 0 the window stands still
    still = motion_movie(image, np.array([right] * 3), MotionClasses(speeds=(0.0, 0.0, 0.0)), 20, np.random.default_rng(0),
                         spline_coefficients=coef)
    assert np.allclose(still, still[0])


def test_held_out_photographs_are_disjoint_and_whitened():
    assert not set(TRAIN_IMAGES) & set(TEST_IMAGES)
    rng = np.random.default_rng(0)
    f = np.sqrt(np.fft.fftfreq(128)[:, None] ** 2 + np.fft.fftfreq(128)[None, :] ** 2)
    img = np.real(np.fft.ifft2(np.exp(2j * np.pi * rng.random((128, 128))) / np.maximum(f, 1 / 128)))  # 1/f amplitude
    w = whiten(img)
    power = np.abs(np.fft.fft2(w)) ** 2
    low, mid = power[(f > 0.02) & (f < 0.05)].mean(), power[(f > 0.15) & (f < 0.3)].mean()
    before = np.abs(np.fft.fft2(img)) ** 2
    assert before[(f > 0.15) & (f < 0.3)].mean() / before[(f > 0.02) & (f < 0.05)].mean() < 0.05  # 1/f: steep
    assert abs(w.mean()) < 1e-9 and abs(w.std() - 1) < 1e-9 and 0.5 < mid / low < 2  # whitened: flat


def test_decide_averages_over_positions():
    logits = torch.zeros(2, 3, 4, 2, 2)
    logits[0, 1, 2] = 5.0
    logits[1, 2, :, 0, 0] = 8.0
    scores = decide(logits)
    assert scores.shape == (8, 3) and scores[2].argmax() == 1 and all(scores[4 + t].argmax() == 2 for t in range(4))


def test_decide_movie_averages_over_positions_and_steps_with_a_target():
    from circuits.hdsnn.layer import decide_movie

    logits = torch.zeros(2, 3, 5, 2, 2)
    logits[0, 2, :2] = 9.0  # steps 0-1 have no target (incomplete window): ignored
    logits[0, 1, 2:, 0, 0] = 1.0  # one position of four at every counted step
    logits[1, 0, 4] = 3.0
    y = torch.tensor([[-1, -1, 4, 4, 4], [-1, 0, 0, 0, 0]])
    scores = decide_movie(logits, y)
    assert scores.shape == (2, 3) and scores[0].argmax() == 1 and scores[1].argmax() == 0
    np.testing.assert_allclose(scores[0].numpy(), [0.0, 0.25, 0.0])  # mean over positions, then over steps 2-4
    np.testing.assert_allclose(scores[1].numpy(), [0.75, 0.0, 0.0])  # 3 at one of four counted steps
    # the bias taken out: a prior that outweighs the evidence when averaged in no longer decides
    bias = torch.tensor([0.0, 0.0, 1.0])
    assert decide_movie(logits + bias[:, None, None, None], y)[0].argmax() == 2
    np.testing.assert_allclose(decide_movie(logits + bias[:, None, None, None], y, bias).numpy(), scores.numpy())


def test_one_motion_movies_are_balanced_and_still():
    data = make_motion_data(TEST_IMAGES, 39, n_steps=6, size=12, seed=4, one_motion=True)
    assert (data.labels == data.labels[:, :1]).all()  # one motion per movie
    counts = np.bincount(data.labels[:, 0], minlength=36)
    assert counts.min() == 1 and counts.max() == 2 and counts.sum() == 39  # every class, the remainder twice
    # the class order is shuffled, so a class is not tied to the photograph of its movie index
    assert not np.array_equal(data.labels[:, 0], np.arange(39) % 36)


def test_classes():
    cl = MotionClasses()  # speeds 0.5, 1, 2 px/step
    assert cl.n_classes == 36 and np.allclose(cl.velocity(2), [2.0, 0.0])
    assert np.allclose(cl.velocity(3 * 3 + 0), [0.0, -0.5])  # 90 deg is up: y grows downwards


def test_train_and_eval_commands(tmp_path, capsys):
    import json

    from neurosim.cli import main

    run = tmp_path / "run"
    assert main(["train", "hdsnn", "--movies", "6", "--test-movies", "2", "--epochs", "1", "--out", str(run), "--no-progress"]) == 0
    for name in ("settings.json", "metrics.json", "checkpoint.pt", "model_state.pt", "kernels.png", "accuracy.png"):
        assert (run / name).is_file(), name
    assert main(["eval", "hdsnn", "--run", str(run), "--prune", "1,0.1,0.01", "--core-movies", "1", "--core-size", "6",
                 "--one-motion-movies", "2", "--one-motion-steps", "26", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| active weights |" in out and "12 directions, per movie" in out and "same decision at 100.00%" in out
    assert "one decision for each of 2 held-out movies of one motion (26 steps" in out
    core = json.loads((run / "core.json").read_text())
    assert core["synaptic_events_measured"] == core["synaptic_events_expected"] == core["active_weights"] * core["input_events"]
    rows = json.loads((run / "pruning.json").read_text())["rows"]
    assert [round(r["fraction"], 3) for r in rows] == [1.0, 0.1, 0.01]
    assert (run / "pruning.png").read_bytes()[:4] == b"\x89PNG" and (run / "recovery.png").read_bytes()[:4] == b"\x89PNG"
    assert len(rows[0]["direction_accuracy_by_age"]) == 21 + 1  # ages 1 ... D, then > D
    assert all(r["movie_accuracy"] in (0.0, 0.5, 1.0) for r in rows)  # one decision per movie, two movies
    assert all(r["movie_direction_accuracy_no_bias"] in (0.0, 0.5, 1.0) for r in rows)
    assert "evidence alone" in out
    # --per-class: its own files beside the whole-layer ones, whose curve its plot repeats
    whole_layer = (run / "pruning.json").read_bytes()
    assert main(["eval", "hdsnn", "--run", str(run), "--prune", "1,0.1", "--core-movies", "1", "--core-size", "6",
                 "--one-motion-movies", "2", "--one-motion-steps", "26", "--per-class", "--no-progress"]) == 0
    assert "every class to the same number of synapses" in capsys.readouterr().out
    assert (run / "pruning.json").read_bytes() == whole_layer
    per_class = json.loads((run / "pruning_per_class.json").read_text())
    assert per_class["per_class"] is True and [r["fraction"] for r in per_class["rows"]] == [1.0, 0.1]
    assert per_class["rows"][0] == rows[0]  # fraction 1 keeps every synapse either way
    for name in ("pruning_per_class.png", "recovery_per_class.png", "core_per_class.json"):
        assert (run / name).is_file(), name
    with pytest.raises(SystemExit, match="2"):
        main(["eval", "hdsnn", "--run", str(run), "--one-motion-movies", "0", "--no-progress"])
    capsys.readouterr()
    with pytest.raises(SystemExit, match="2"):
        main(["eval", "hdsnn", "--run", str(run), "--finetune-epochs", "-1", "--no-progress"])
    assert "--finetune-epochs: '-1': must be an integer >= 0" in capsys.readouterr().err
    # an existing run is refused; a bad eval folder is one line
    assert main(["train", "hdsnn", "--movies", "6", "--epochs", "1", "--out", str(run), "--no-progress"]) == 2
    assert main(["eval", "hdsnn", "--run", str(tmp_path / "none"), "--no-progress"]) == 2
    assert "holds no trained HD-SNN" in capsys.readouterr().err


def test_train_with_l1_penalty(tmp_path, capsys, monkeypatch):
    """Training with an L1 penalty: same data and seed, the penalised layer ends with a
    smaller sum |K| and records l1 in its settings; ``neurosim train hdsnn --l1`` passes it
    on; a bad l1 is refused."""
    import json

    import circuits.hdsnn.task as task
    from neurosim.cli import main

    small = dict(n_train=4, n_test=1, epochs=3, batch_size=1, size=24, test_size=24, progress=False)
    task.train_hdsnn(tmp_path / "plain", **small)
    task.train_hdsnn(tmp_path / "l1", l1=1e-3, **small)
    assert json.loads((tmp_path / "l1" / "settings.json").read_text())["l1"] == 1e-3
    mass = {name: float(task.load_run(tmp_path / name)[0].kernel().detach().abs().sum()) for name in ("plain", "l1")}
    assert mass["l1"] < 0.8 * mass["plain"]
    with pytest.raises(ValueError, match="l1 = -1"):
        task.train_hdsnn(tmp_path / "bad", l1=-1.0, **small)
    given = {}
    monkeypatch.setattr(task, "train_hdsnn", lambda *a, **kw: given.update(kw) or [{"test_accuracy": 0.5}])
    assert main(["train", "hdsnn", "--l1", "2e-6", "--out", str(tmp_path / "cli"), "--no-progress"]) == 0
    assert given["l1"] == 2e-6
    with pytest.raises(SystemExit, match="2"):
        main(["train", "nmnist", "--l1", "1e-3", "--out", str(tmp_path / "n")])
    assert "--l1 is for hdsnn" in capsys.readouterr().err


def test_settled_steps():
    from circuits.hdsnn.movies import MotionData

    labels = np.array([[0, 0, 0, 0, 1, 1, 1, 1, 1, 1]])
    data = MotionData(np.zeros((1, 2, 10, 4, 4), np.uint8), labels, ("x",), MotionClasses())
    # D = 3: output t sees steps t-3..t-1; settled when those share a label
    assert data.settled(3)[0].tolist() == [False, False, False, True, True, False, False, True, True, True]
    # the target of output t is the motion of step t - 1; its age counts that step
    assert data.motion_age(3)[0].tolist() == [-1, -1, -1, 3, 4, 1, 2, 3, 4, 5]
    assert data.targets(3)[0].tolist() == [-1, -1, -1, 0, 0, 1, 1, 1, 1, 1]


def test_bad_input_gets_clear_errors(tmp_path):
    from circuits.hdsnn.movies import photograph
    from circuits.hdsnn.task import train_hdsnn

    with pytest.raises(ValueError, match="unknown photograph 'lena'"):
        photograph("lena")
    with pytest.raises(ValueError, match="unknown photograph"):
        make_motion_data(("camera", "lena"), 2)
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        HDSNN(kernel_size=4)
    with pytest.raises(ValueError, match="subunits >= 1"):
        HDSNN(subunits=0)
    with pytest.raises(ValueError, match=r"input must be \(B, 2, T, H, W\)"):
        _small_model(False)(torch.zeros(2, 9, 7, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="unknown HD-SNN settings \\['n_movies'\\]"):
        train_hdsnn(tmp_path / "run", n_movies=3)
    assert not (tmp_path / "run").exists()  # refused before any folder or data


def test_iterative_pruning_with_retraining(tmp_path, capsys):
    """``neurosim eval hdsnn --finetune-epochs``: a second sweep whose layers are pruned
    from the previous one and retrained, saved, and reused by a rerun (small settings)."""
    import json

    from circuits.hdsnn.task import train_hdsnn
    from neurosim.cli import main

    run = tmp_path / "tiny"
    train_hdsnn(run, progress=False, n_train=4, n_test=1, n_steps=30, size=20, test_size=24, n_delays=5, kernel_size=7,
                subunits=1, epochs=1)
    cmd = ["eval", "hdsnn", "--run", str(run), "--prune", "1,0.1,0.01", "--finetune-epochs", "1", "--core-fraction", "0.1",
           "--core-movies", "1", "--core-size", "6", "--one-motion-movies", "3", "--one-motion-steps", "12", "--no-progress"]
    assert main(cmd) == 0
    out = capsys.readouterr().out
    assert "pruned iteratively, retrained 1 epoch(s)" in out and "weights and retrained" in out
    summary = json.loads((run / "pruning.json").read_text())
    assert [r["fraction"] for r in summary["rows_finetuned"]] == [1.0, 0.1, 0.01]
    assert summary["rows_finetuned"][0] == summary["rows"][0]  # the dense layer is not retrained
    assert summary["rows_finetuned"][2]["active_weights"] <= summary["rows"][2]["active_weights"]
    assert "finetuned_half_direction_accuracy_fraction" in summary and "finetuned_half_movie_accuracy_fraction" in summary
    assert summary["one_motion"] == {"n_movies": 3, "n_steps": 12}
    saved = {p.name: p.stat().st_mtime_ns for p in (run / "finetuned").iterdir()}
    assert sorted(saved) == ["0.01.pt", "0.1.pt"]
    core = json.loads((run / "core.json").read_text())
    assert core["finetuned"] is True and core["decision_agreement"] == 1.0
    assert main(cmd) == 0
    assert {p.name: p.stat().st_mtime_ns for p in (run / "finetuned").iterdir()} == saved  # reused, not retrained
    assert json.loads((run / "pruning.json").read_text())["rows_finetuned"] == summary["rows_finetuned"]
    assert main(cmd[:6] + ["--finetune-lr", "3e-3"] + cmd[6:]) == 0  # other settings: retrained
    assert all(p.stat().st_mtime_ns != saved[p.name] for p in (run / "finetuned").iterdir())
    (run / "finetuned" / "0.1.pt").write_bytes(b"not a torch file")  # a damaged cache is retrained, not fatal
    assert main(cmd[:6] + ["--finetune-lr", "3e-3"] + cmd[6:]) == 0
    assert load_torch(run / "finetuned" / "0.1.pt")["made_by"]["lr"] == 3e-3
    assert main(cmd + ["--per-class"]) == 0  # its own retrained layers, beside the whole-layer ones
    assert sorted(p.name for p in (run / "finetuned_per_class").iterdir()) == ["0.01.pt", "0.1.pt"]
    per_class = json.loads((run / "pruning_per_class.json").read_text())
    assert per_class["per_class"] and [r["fraction"] for r in per_class["rows_finetuned"]] == [1.0, 0.1, 0.01]
    assert json.loads((run / "pruning.json").read_text())["per_class"] is False
    from circuits.hdsnn.evaluate import evaluate_hdsnn

    with pytest.raises(ValueError, match="n_steps > the layer's 5 delays"):
        evaluate_hdsnn(run, one_motion={"n_movies": 2, "n_steps": 5}, progress=False)
