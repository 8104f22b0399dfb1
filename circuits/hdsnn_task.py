"""The HD-SNN motion task end to end (``neurosim train hdsnn`` / ``neurosim eval hdsnn``):
generate motion movies, train the heterogeneous-delay layer (``circuits.delays``), sweep
pruning, run the pruned layer event-driven in the core simulator, and draw the figures.

A run folder holds ``settings.json`` (everything needed to regenerate the data and the
model), ``checkpoint.pt`` / ``model_state.pt`` (tensors only, read with
``weights_only=True``), ``metrics.json``, ``kernels.png``, and after evaluation
``pruning.json``, ``pruning.png`` and ``core.json``.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from neurosim.atomic import atomic_write, atomic_write_json
from neurosim.plotting import pyplot, save_figure
from neurosim.training import TrainConfig, fit, prepare_run_dir

from .delays import (HDSNN, TEST_IMAGES, TRAIN_IMAGES, MotionClasses, core_evidence, decide, make_motion_data, motion_loss,
                     prune, synaptic_operations)

__all__ = ["DEFAULTS", "train_hdsnn", "evaluate_hdsnn", "load_run", "plot_kernels", "plot_pruning"]

DEFAULTS = dict(n_train=400, n_test=30, n_steps=96, size=40, test_size=64, n_delays=21, kernel_size=17, epochs=12,
                batch_size=8, lr=2e-3, train_stride=4, contrast_threshold=0.2, mean_segment=24.0, seed=0)
"""Settings of ``neurosim train hdsnn``: the paper's kernel (21 delays, 17 x 17 pixels,
36 classes) and segment statistics (mean 24 ms); smaller movies than its 128 x 128 x 128
(40 x 40 for training, 64 x 64 held out, 96 ms) so that training fits 2 CPU cores."""


class _Batches:
    """Batches (x float32 (B, 2, T, S, S), y (B, T)) of a ``MotionData``, shuffled by
    ``generator`` when given."""

    def __init__(self, data, targets, batch_size, generator=None):
        self.x, self.y, self.batch_size, self.gen = data.events, targets, batch_size, generator

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        n = len(self.x)
        order = torch.randperm(n, generator=self.gen).numpy() if self.gen is not None else np.arange(n)
        for b in range(0, n, self.batch_size):
            idx = np.sort(order[b : b + self.batch_size])
            yield torch.from_numpy(self.x[idx].astype(np.float32)), torch.from_numpy(self.y[idx])


def _data(settings: dict, split: str, progress: bool = False):
    test = split == "test"
    return make_motion_data(TEST_IMAGES if test else TRAIN_IMAGES, settings["n_test" if test else "n_train"],
                            n_steps=settings["n_steps"], size=settings["test_size" if test else "size"],
                            seed=settings["seed"] + (1 if test else 0), contrast_threshold=settings["contrast_threshold"],
                            mean_segment=settings["mean_segment"], progress=progress)


def _model(settings: dict) -> HDSNN:
    return HDSNN(MotionClasses().n_classes, settings["n_delays"], settings["kernel_size"], train_stride=settings["train_stride"])


def train_hdsnn(out_dir="runs/hdsnn", resume=False, overwrite=False, progress=True, stop_after=None, **overrides) -> list:
    """Generate the movies (training photographs for training, held-out ones for the test
    set), train the layer with ``neurosim.training.fit`` (Adam, cosine decay, BCE at every
    position; the accuracy is the per-step decision of ``circuits.delays.decide``), write
    ``model_state.pt`` and ``kernels.png``. ``overrides`` change ``DEFAULTS``. Returns the
    metric history. The folder is checked before any data is generated
    (``neurosim.training.prepare_run_dir``: ``FileExistsError`` for an existing run without
    ``resume``/``overwrite``, ``ValueError`` for a resume with other settings,
    ``FileNotFoundError`` for a resume without a checkpoint). Raises ``ValueError`` for
    unknown settings."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown HD-SNN settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    settings = {**DEFAULTS, **overrides}
    cfg = TrainConfig(epochs=settings["epochs"], lr=settings["lr"], seed=settings["seed"], out_dir=str(out_dir), resume=resume,
                      overwrite=overwrite, progress=progress, stop_after=stop_after, decide=decide,
                      class_names=[str(k) for k in range(MotionClasses().n_classes)],
                      run_config={"task": "hdsnn", **{k: v for k, v in settings.items() if k not in ("epochs", "lr", "seed")}})
    out = prepare_run_dir(cfg)
    atomic_write_json(out / "settings.json", settings)
    train, test = _data(settings, "train", progress), _data(settings, "test", progress)
    torch.manual_seed(settings["seed"])
    model = _model(settings)
    d = settings["n_delays"]
    history = fit(model, motion_loss, lambda g: _Batches(train, train.targets(d), settings["batch_size"], g),
                  _Batches(test, test.targets(d), 5), cfg, MotionClasses().n_classes)
    atomic_write(out / "model_state.pt", lambda p: torch.save(model.state_dict(), p))
    plot_kernels(model, out / "kernels.png")
    return history


def load_run(run_dir) -> tuple[HDSNN, dict]:
    """The trained layer and settings of a run folder (``FileNotFoundError`` when the run
    has no ``model_state.pt``)."""
    run = Path(run_dir)
    if not (run / "model_state.pt").is_file() or not (run / "settings.json").is_file():
        raise FileNotFoundError(f"{run} holds no trained HD-SNN (model_state.pt and settings.json); run neurosim train hdsnn first")
    settings = json.loads((run / "settings.json").read_text())
    model = _model(settings)
    model.load_state_dict(torch.load(run / "model_state.pt", map_location="cpu", weights_only=True))
    return model.eval(), settings


@torch.no_grad()
def _accuracy(model: HDSNN, data, targets, settled, batch=5) -> tuple[float, float, float]:
    """(36-class, 12-direction, 12-direction on settled steps) accuracy of the per-step
    decisions (``MotionData.settled``)."""
    pred, true = [], []
    for b in range(0, len(data.events), batch):
        scores = decide(model(torch.from_numpy(data.events[b : b + batch].astype(np.float32))))
        pred.append(scores.argmax(1).numpy())
    pred, true = np.concatenate(pred), targets.reshape(-1)
    keep = true >= 0
    same_dir = data.classes.direction(pred) == data.classes.direction(np.maximum(true, 0))
    stable = keep & settled.reshape(-1)
    return float((pred == true)[keep].mean()), float(same_dir[keep].mean()), float(same_dir[stable].mean())


def evaluate_hdsnn(run_dir="runs/hdsnn", fractions=(1.0, 0.3, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.002, 0.001),
                   core_movies: int = 2, core_size: int = 20, core_fraction: float = 0.05, progress: bool = True) -> dict:
    """Prune the trained layer to each active-weight ``fraction`` (of the dense kernel) and
    measure held-out accuracy (36 classes and 12 directions) and synaptic operations per
    second of input; find where accuracy falls to half its peak; then export the layer
    pruned to ``core_fraction`` to a core ``Network`` and run ``core_movies`` held-out
    movies (cropped to ``core_size`` pixels) in the Numba simulator, comparing its
    decisions at every (position, step) with the torch layer's and its counted synaptic
    events with (active weights) x (input events). Writes pruning.json, pruning.png and
    core.json to the run folder; returns the summary. Raises ``FileNotFoundError`` when
    ``run_dir`` holds no trained layer and ``ValueError`` for fractions outside (0, 1]."""
    from tqdm.auto import tqdm

    model, settings = load_run(run_dir)
    run = Path(run_dir)
    test = _data(settings, "test", progress)
    targets, settled = test.targets(settings["n_delays"]), test.settled(settings["n_delays"])
    seconds = test.events.shape[0] * test.events.shape[2] * 1e-3
    rows = []
    for f in tqdm(sorted(fractions, reverse=True), desc="pruning sweep", disable=not progress, leave=False):
        pruned = prune(model, f)
        acc, acc_dir, acc_settled = _accuracy(pruned, test, targets, settled)
        active = int((pruned.kernel() != 0).sum())
        syn = synaptic_operations(pruned, torch.from_numpy(test.events))
        rows.append({"fraction": f, "active_weights": active, "active_fraction": active / pruned.kernel().numel(),
                     "accuracy": acc, "direction_accuracy": acc_dir, "direction_accuracy_settled": acc_settled,
                     "synaptic_ops_per_s": syn / seconds})
    summary = {"rows": rows, "chance": 1 / test.classes.n_classes, "chance_direction": 1 / test.classes.n_directions,
               "input_events_per_s": float(test.events.sum() / seconds),
               "settled_fraction": float(settled[targets >= 0].mean())}
    for key in ("accuracy", "direction_accuracy"):
        summary[f"half_{key}_fraction"] = _half_point(rows, key, summary["chance" if key == "accuracy" else "chance_direction"])
    atomic_write_json(run / "pruning.json", summary)
    plot_pruning(summary, run / "pruning.png")
    summary["core"] = core_comparison(prune(model, core_fraction), test, core_movies, core_size)
    atomic_write_json(run / "core.json", summary["core"])
    return summary


def _half_point(rows, key, chance):
    """Active-weight fraction where accuracy falls halfway from its peak to chance
    (log-linear interpolation between the swept points); None if it never does."""
    pts = sorted((r["active_fraction"], r[key]) for r in rows)
    peak = max(a for _, a in pts)
    half = chance + (peak - chance) / 2
    for (f0, a0), (f1, a1) in zip(pts, pts[1:]):
        if a0 < half <= a1:
            w = (half - a0) / (a1 - a0)
            return float(math.exp(math.log(f0) + w * (math.log(f1) - math.log(f0))))
    return None


def core_comparison(model: HDSNN, data, n_movies: int, size: int) -> dict:
    """Run ``n_movies`` movies (top-left ``size`` x ``size`` crop) through the exported
    network; compare decisions (argmax over classes of evidence + bias at every position of
    the 'full' grid and step) with the torch layer, and synaptic events with the count
    expected from the active weights."""
    import copy

    agree = total = 0
    measured = expected = 0
    wall = 0.0
    reference = copy.deepcopy(model).double()  # the torch layer in the simulator's precision
    bias = model.bias.detach().double().numpy()[:, None, None, None]
    for m in range(n_movies):
        raster = data.events[m, :, :, :size, :size]
        t0 = time.perf_counter()
        evidence, res = core_evidence(model, raster)
        wall += time.perf_counter() - t0
        x = torch.from_numpy(raster[None].astype(np.float64))
        ref = reference.evidence(x, padding=model.kernel_size - 1)[0].detach().numpy()
        agree += int(((evidence + bias).argmax(0) == (ref + bias).argmax(0)).sum())
        total += ref[0].size
        measured += res.synaptic_events
        expected += synaptic_operations(model, x)
    active = int((model.kernel() != 0).sum())
    return {"movies": n_movies, "crop": size, "active_weights": active, "decision_agreement": agree / max(total, 1),
            "positions_times": total, "synaptic_events_measured": measured, "synaptic_events_expected": expected,
            "input_events": int(data.events[:n_movies, :, :, :size, :size].sum()), "seconds": wall}


def plot_kernels(model: HDSNN, path, speed: int = -1, n_show: int = 6) -> None:
    """Learned weights (ON polarity) of the 12 directions at one speed: rows are
    directions, columns delays (1, ..., D, evenly picked); red excitatory, blue inhibitory."""
    plt = pyplot()
    k = model.kernel().detach().numpy()
    cl = MotionClasses()
    n_s = len(cl.speeds)
    delays = np.unique(np.linspace(0, model.n_delays - 1, n_show).round().astype(int))
    fig, axes = plt.subplots(cl.n_directions, delays.size, figsize=(1.4 * delays.size, 1.3 * cl.n_directions))
    lim = np.abs(k).max() or 1.0
    for row in range(cl.n_directions):
        c = row * n_s + (speed % n_s)
        for col, d in enumerate(delays):
            ax = axes[row, col]
            ax.imshow(k[c, 1, d], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"delay {d + 1}", fontsize=8)
            if col == 0:
                ax.set_ylabel(f"{360 * row // cl.n_directions} deg", fontsize=8)
    fig.suptitle(f"HD-SNN kernels, ON polarity, speed {cl.speeds[speed]:g} px/ms", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_pruning(summary: dict, path) -> None:
    """Accuracy (36 classes and 12 directions) against the fraction of active weights."""
    plt = pyplot()
    rows = sorted(summary["rows"], key=lambda r: r["active_fraction"])
    f = [r["active_fraction"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.semilogx(f, [r["direction_accuracy"] for r in rows], "o-", label="12 directions")
    ax.semilogx(f, [r["accuracy"] for r in rows], "s-", label="36 classes (direction x speed)")
    ax.axhline(summary["chance_direction"], color="C0", ls=":", lw=1)
    ax.axhline(summary["chance"], color="C1", ls=":", lw=1, label="chance")
    for key, color in (("half_direction_accuracy_fraction", "C0"), ("half_accuracy_fraction", "C1")):
        if summary.get(key):
            ax.axvline(summary[key], color=color, ls="--", lw=1)
    ax.set_xlabel("fraction of active weights (of the dense 36 x 2 x D x ks x ks kernel)")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title("HD-SNN pruning: accuracy vs active weights (dashed: half of peak above chance)", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
