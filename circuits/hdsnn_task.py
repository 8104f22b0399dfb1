"""The HD-SNN motion task end to end (``neurosim train hdsnn`` / ``neurosim eval hdsnn``):
generate motion movies, train the heterogeneous-delay layer (``circuits.delays``), sweep
pruning, run the pruned layer event-driven in the core simulator, and draw the figures.

A run folder holds ``settings.json`` (everything needed to regenerate the data and the
model), ``checkpoint.pt`` / ``model_state.pt`` (tensors only, read with
``weights_only=True``), ``metrics.json``, ``kernels.png``, and after evaluation
``pruning.json``, ``pruning.png``, ``recovery.png`` and ``core.json``.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from neurosim.atomic import atomic_write_json
from neurosim.integrity import (CorruptFileError, brief, check_finite_tensors, load_torch, read_checked_json, save_torch,
                                write_checked_json)
from neurosim.runlock import folder_lock
from neurosim.plotting import pyplot, save_figure
from neurosim.training import TrainConfig, fit, prepare_run_dir

from .delays import (FINETUNE_LR, HDSNN, TEST_IMAGES, TRAIN_IMAGES, MotionClasses, core_evidence, decide, decide_movie,
                     finetune, make_motion_data, prune, synaptic_operations, training_loss)

__all__ = ["DEFAULTS", "train_hdsnn", "evaluate_hdsnn", "load_run", "plot_kernels", "plot_pruning", "plot_recovery"]

DEFAULTS = dict(n_train=400, n_test=30, n_steps=96, size=40, test_size=64, n_delays=21, kernel_size=17, subunits=2,
                epochs=12, batch_size=8, lr=2e-3, train_stride=4, contrast_threshold=0.2, mean_segment=24.0, seed=0, l1=0.0)
"""Settings of ``neurosim train hdsnn``: the paper's kernel (21 delays, 17 x 17 pixels,
36 classes) and segment statistics (mean 24 ms); smaller movies than its 128 x 128 x 128
(40 x 40 for training, 64 x 64 held out, 96 ms) so that training fits 2 CPU cores. Two
subunits per class (the paper has one): at the same training budget they raised the
held-out accuracy on steps in one motion from 68% to 75% (200 movies, 5 epochs). ``l1``:
the coefficient of an L1 penalty, ``l1`` x sum |K| over the effective kernel, added to
the loss (Han et al. 2015, section 3.1: it leaves more weights near zero, for pruning
without retraining; not in the paper, off by default)."""


ONE_MOTION_TEST = dict(n_movies=72, n_steps=64)
"""The paper's test set (its reference code, ``test_model``): held-out movies with one
motion each (``block_length=np.inf`` there), one decision per movie from the evidence
averaged over positions and over the steps after the first D. Ours: 72 movies (each class
twice) of 64 steps at ``test_size``, from the held-out photographs (seed + 2); the
reference uses 100 movies of 100 steps at 64 x 64. Training is unchanged (saccadic
movies, as in the paper)."""


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


def _data(settings: dict, split: str, progress: bool = False, one_motion: dict = ONE_MOTION_TEST):
    """The movies of a split: "train", "test" (saccadic, like training) or "one_motion"
    (the paper's test movies, ``one_motion`` sets their number and length)."""
    if split == "one_motion":
        return make_motion_data(TEST_IMAGES, one_motion["n_movies"], n_steps=one_motion["n_steps"],
                                size=settings["test_size"], seed=settings["seed"] + 2,
                                contrast_threshold=settings["contrast_threshold"], one_motion=True, progress=progress)
    test = split == "test"
    return make_motion_data(TEST_IMAGES if test else TRAIN_IMAGES, settings["n_test" if test else "n_train"],
                            n_steps=settings["n_steps"], size=settings["test_size" if test else "size"],
                            seed=settings["seed"] + (1 if test else 0), contrast_threshold=settings["contrast_threshold"],
                            mean_segment=settings["mean_segment"], progress=progress)


def _model(settings: dict) -> HDSNN:
    return HDSNN(MotionClasses().n_classes, settings["n_delays"], settings["kernel_size"], train_stride=settings["train_stride"],
                 subunits=settings.get("subunits", 1))  # runs written before subunits existed had one


def train_hdsnn(out_dir="runs/hdsnn", resume=False, overwrite=False, progress=True, stop_after=None, **overrides) -> list:
    """Generate the movies (training photographs for training, held-out ones for the test
    set), train the layer with ``neurosim.training.fit`` (Adam, cosine decay, BCE at every
    position, plus the L1 penalty when ``l1`` > 0, which the reported training loss
    includes; the accuracy is the per-step decision of ``circuits.delays.decide``), write
    ``model_state.pt`` and ``kernels.png``. ``overrides`` change ``DEFAULTS``. Returns the
    metric history. The folder is checked before any data is generated
    (``neurosim.training.prepare_run_dir``: ``FileExistsError`` for an existing run without
    ``resume``/``overwrite``, ``ValueError`` for a resume with other settings,
    ``FileNotFoundError`` for a resume without a checkpoint). Raises ``ValueError`` for
    unknown settings and a negative (or NaN) ``l1``."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown HD-SNN settings {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    settings = {**DEFAULTS, **overrides}
    if not settings["l1"] >= 0:
        raise ValueError(f"l1 = {settings['l1']!r} must be >= 0")
    # l1 = 0 stays out of the run's defining settings, so runs from before it existed resume
    defining = {k: v for k, v in settings.items() if k not in ("epochs", "lr", "seed") and not (k == "l1" and v == 0)}
    cfg = TrainConfig(epochs=settings["epochs"], lr=settings["lr"], seed=settings["seed"], out_dir=str(out_dir), resume=resume,
                      overwrite=overwrite, progress=progress, stop_after=stop_after, decide=decide,
                      class_names=[str(k) for k in range(MotionClasses().n_classes)],
                      run_config={"task": "hdsnn", **defining})
    with folder_lock(out_dir):
        out = prepare_run_dir(cfg)
        write_checked_json(out / "settings.json", settings)
        train, test = _data(settings, "train", progress), _data(settings, "test", progress)
        torch.manual_seed(settings["seed"])
        model = _model(settings)
        d = settings["n_delays"]
        history = fit(model, training_loss(model, settings["l1"]),
                      lambda g: _Batches(train, train.targets(d), settings["batch_size"], g),
                      _Batches(test, test.targets(d), 5), cfg, MotionClasses().n_classes)
        save_torch(out / "model_state.pt", model.state_dict())
        plot_kernels(model, out / "kernels.png")
    return history


def load_run(run_dir) -> tuple[HDSNN, dict]:
    """The trained layer and settings of a run folder (``FileNotFoundError`` when the run
    has no ``model_state.pt``)."""
    run = Path(run_dir)
    if not (run / "model_state.pt").is_file() or not (run / "settings.json").is_file():
        raise FileNotFoundError(f"{run} holds no trained HD-SNN (model_state.pt and settings.json); run neurosim train hdsnn first")
    settings = read_checked_json(run / "settings.json", "HD-SNN settings")
    state = load_torch(run / "model_state.pt", "trained weights")
    check_finite_tensors(state, f"trained weights {run / 'model_state.pt'}")
    model = _model(settings)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CorruptFileError(f"trained weights {run / 'model_state.pt'} do not fit the layer of {run / 'settings.json'}: "
                               f"{brief(exc)}") from None
    return model.eval(), settings


def _logits(model: HDSNN, events: np.ndarray, batch: int):
    """The layer's logits on event rasters (N, 2, T, S, S), ``batch`` movies at a time."""
    for b in range(0, len(events), batch):
        yield b, model(torch.from_numpy(events[b : b + batch].astype(np.float32)))


@torch.no_grad()
def _accuracy(model: HDSNN, data, n_delays: int, batch=5) -> dict:
    """Accuracy of the per-step decisions: 36 classes and 12 directions over every step
    with a target, the same on settled steps (``MotionData.settled``), and the
    12-direction accuracy against the motion's age (``MotionData.motion_age``: index a - 1
    for age a = 1 ... D, the last entry for ages above D)."""
    pred = [decide(logits).argmax(1).numpy() for _, logits in _logits(model, data.events, batch)]
    pred, true = np.concatenate(pred), data.targets(n_delays).reshape(-1)
    age = data.motion_age(n_delays).reshape(-1)
    keep, stable = true >= 0, age >= n_delays
    same_class = pred == true
    same_dir = data.classes.direction(pred) == data.classes.direction(np.maximum(true, 0))
    bins = np.minimum(age, n_delays + 1)
    return {"accuracy": float(same_class[keep].mean()), "direction_accuracy": float(same_dir[keep].mean()),
            "accuracy_settled": float(same_class[stable].mean()), "direction_accuracy_settled": float(same_dir[stable].mean()),
            "direction_accuracy_by_age": [float(same_dir[bins == a].mean()) if (bins == a).any() else None
                                          for a in range(1, n_delays + 2)]}


@torch.no_grad()
def _movie_accuracy(model: HDSNN, data, n_delays: int, batch=6) -> dict:
    """The paper's accuracy on movies of one motion (``decide_movie``): the fraction of
    movies whose decision is their motion (36 classes) and its direction (12); the
    ``*_no_bias`` keys decide on the evidence alone (``decide_movie(..., bias)``)."""
    targets = data.targets(n_delays)
    scores = {"": [], "_no_bias": []}
    for b, logits in _logits(model, data.events, batch):
        y = torch.from_numpy(targets[b : b + len(logits)])
        scores[""].append(decide_movie(logits, y))
        scores["_no_bias"].append(decide_movie(logits, y, model.bias))
    true = data.labels[:, -1]
    out = {}
    for suffix, s in scores.items():
        pred = torch.cat(s).argmax(1).numpy()
        out[f"movie_accuracy{suffix}"] = float((pred == true).mean())
        out[f"movie_direction_accuracy{suffix}"] = float((data.classes.direction(pred) == data.classes.direction(true)).mean())
    return out


def evaluate_hdsnn(run_dir="runs/hdsnn", fractions=(1.0, 0.3, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005, 0.002, 0.001),
                   core_movies: int = 2, core_size: int = 20, core_fraction: float = 0.05, finetune_epochs: int = 0,
                   finetune_lr: float = FINETUNE_LR, one_motion: dict = ONE_MOTION_TEST, per_class: bool = False,
                   progress: bool = True) -> dict:
    """Prune the trained layer to each active-weight ``fraction`` (of the dense kernel) and
    measure held-out accuracy (36 classes and 12 directions) and synaptic operations per
    second of input; find where accuracy falls to half its peak. Accuracy is measured two
    ways: as the paper does, one decision per held-out movie of one motion (``one_motion``:
    their number and length, see ``ONE_MOTION_TEST``; ``movie_*`` keys), and at every step
    of the saccadic held-out movies (all steps, settled steps, and by the motion's age). With ``finetune_epochs``
    > 0, also prune iteratively: from the dense layer down the fractions, each time prune
    the previous layer and retrain its surviving weights for that many epochs on the
    training movies (``circuits.delays.finetune``); each retrained layer is saved in
    ``finetuned/`` and reused by a later run with the same settings (an interrupted sweep
    resumes). Then export the layer pruned to ``core_fraction`` (the retrained one when
    there is one) to a core ``Network`` and run ``core_movies`` held-out movies (cropped to
    ``core_size`` pixels) in the Numba simulator, comparing its decisions at every
    (position, step) with the torch layer's and its counted synaptic events with (active
    weights) x (input events). ``per_class``: prune every class to the same number of
    synapses (``prune(..., per_class=True)``) instead of the whole layer at once (the
    paper's), everywhere in the sweep. Writes pruning.json, pruning.png, recovery.png
    (accuracy against the time since the motion changed) and core.json to the run folder
    (``per_class``: pruning_per_class.json etc., and finetuned_per_class/; its plot also
    shows the whole-layer curve of pruning.json when there is one); returns the summary
    (``files``: the names written; ``rows``: one-shot pruning; ``rows_finetuned``:
    iterative pruning with retraining). Raises ``FileNotFoundError`` when ``run_dir`` holds no trained layer and
    ``ValueError`` for fractions outside (0, 1], a negative ``finetune_epochs`` or
    ``one_motion`` movies no longer than the layer's delays."""
    if finetune_epochs < 0:
        raise ValueError(f"finetune_epochs = {finetune_epochs!r} must be >= 0")
    from tqdm.auto import tqdm

    model, settings = load_run(run_dir)  # FileNotFoundError before the folder is locked (and so created)
    with folder_lock(run_dir):  # one writer: a training or another evaluation may not write there meanwhile
        if not (one_motion["n_movies"] >= 1 and one_motion["n_steps"] > settings["n_delays"]):
            raise ValueError(f"one_motion = {one_motion!r}: needs n_movies >= 1 and n_steps > the layer's "
                             f"{settings['n_delays']} delays (the first D steps have no complete window)")
        run = Path(run_dir)
        fractions = sorted(fractions, reverse=True)
        test, still = _data(settings, "test", progress), _data(settings, "one_motion", progress, one_motion)
        d = settings["n_delays"]
        targets, settled = test.targets(d), test.settled(d)
        seconds = test.events.shape[0] * test.events.shape[2] * 1e-3
        events = torch.from_numpy(test.events)

        def row(pruned, f):
            kernel = pruned.kernel()
            active = int((kernel != 0).sum())
            return {"fraction": f, "active_weights": active, "active_fraction": active / kernel.numel(),
                    **_movie_accuracy(pruned, still, d), **_accuracy(pruned, test, d),
                    "synaptic_ops_per_s": synaptic_operations(pruned, events) / seconds}

        suffix = "_per_class" if per_class else ""
        rows = [row(prune(model, f, per_class), f) for f in tqdm(fractions, desc="pruning sweep", disable=not progress, leave=False)]
        summary = {"rows": rows, "chance": 1 / test.classes.n_classes, "chance_direction": 1 / test.classes.n_directions,
                   "input_events_per_s": float(test.events.sum() / seconds),
                   "settled_fraction": float(settled[targets >= 0].mean()), "n_delays": d, "one_motion": dict(one_motion),
                   "per_class": per_class,
                   "files": [f"pruning{suffix}.json", f"pruning{suffix}.png", f"recovery{suffix}.png", f"core{suffix}.json"]}
        core_layer, core_finetuned = prune(model, core_fraction, per_class), False
        if finetune_epochs:
            layers = _finetuned_layers(model, settings, run / f"finetuned{suffix}", fractions, finetune_epochs, finetune_lr,
                                       progress, per_class)
            summary["rows_finetuned"] = [row(layer, f) for f, layer in layers.items()]
            summary["finetune"] = {"epochs": finetune_epochs, "lr": finetune_lr}
            core_finetuned = core_fraction in layers and core_fraction < 1
            core_layer = layers.get(core_fraction, core_layer)
        for prefix, key_rows in (("", "rows"), ("finetuned_", "rows_finetuned")):
            for key in ("movie_accuracy", "movie_direction_accuracy", "movie_accuracy_no_bias", "movie_direction_accuracy_no_bias",
                        "accuracy", "direction_accuracy", "accuracy_settled", "direction_accuracy_settled"):
                if key_rows in summary:
                    chance = summary["chance_direction" if "direction" in key else "chance"]
                    summary[f"{prefix}half_{key}_fraction"] = _half_point(summary[key_rows], key, chance)
        atomic_write_json(run / f"pruning{suffix}.json", summary)
        whole_layer = _load_json(run / "pruning.json") if per_class else None
        plot_pruning(summary, run / f"pruning{suffix}.png", whole_layer)
        plot_recovery(summary, d, run / f"recovery{suffix}.png")
        summary["core"] = core_comparison(core_layer, test, core_movies, core_size)
        summary["core"]["finetuned"] = core_finetuned
        atomic_write_json(run / f"core{suffix}.json", summary["core"])
        return summary


def _finetuned_layers(model: HDSNN, settings: dict, folder: Path, fractions, epochs: int, lr: float, progress: bool,
                      per_class: bool = False) -> dict:
    """Iterative pruning with retraining: {fraction: layer} for ``fractions`` (descending;
    1 is the trained layer itself). Each layer is the previous one pruned to its fraction
    (``per_class``: every class to the same number of synapses) and retrained
    (``finetune``) on the training movies, seeded by the run's seed and the step; saved to
    ``folder/<fraction>.pt`` (a subfolder of the run: finetuned/ or finetuned_per_class/;
    tensors and plain values, read with ``weights_only=True``) with what made it (the trained layer's file hash, the
    fractions so far, epochs, learning rate, seed), and loaded instead of retrained when
    that matches (an unreadable file is retrained and replaced)."""
    from tqdm.auto import tqdm

    folder.mkdir(exist_ok=True)
    trained = hashlib.sha256((folder.parent / "model_state.pt").read_bytes()).hexdigest()  # a retrained run invalidates them
    train = None
    layers, current, chain = {}, model, []
    for step, f in enumerate(tqdm(fractions, desc="iterative pruning + retraining", disable=not progress, leave=False)):
        chain.append(f)
        if f >= 1:
            layers[f] = current
            continue
        made_by = {"model": trained, "chain": list(chain), "epochs": epochs, "lr": lr, "seed": settings["seed"],
                   "kernel": "zero-sum over surviving synapses"}  # layers retrained before that kernel are stale
        path = folder / f"{f:g}.pt"
        saved = _load_saved(path)
        if saved.get("made_by") == made_by:
            current = _model(settings)
            current.load_state_dict(saved["state"])
            current.eval()
        else:
            if train is None:
                train = _data(settings, "train", progress)
            current = prune(current, f, per_class)
            torch.manual_seed(settings["seed"] + 1000 + step)  # the training stride's random offsets
            gen = torch.Generator().manual_seed(settings["seed"] + step)
            finetune(current, _Batches(train, train.targets(settings["n_delays"]), settings["batch_size"], gen), epochs, lr,
                     progress)
            state = {"state": current.state_dict(), "made_by": made_by}
            save_torch(path, state)
        layers[f] = current
    return layers


def _load_saved(path: Path) -> dict:
    """A saved retrained layer, or {} when there is none or the file is unreadable (then
    the layer is retrained and the file replaced: it only caches what the sweep computes)."""
    try:
        saved = load_torch(path, "retrained layer") if path.is_file() else {}
        check_finite_tensors(saved, str(path))
    except CorruptFileError:
        return {}
    return saved if isinstance(saved, dict) else {}


def _load_json(path: Path):
    """The summary saved at ``path``, or None when there is none or it is unreadable (it
    only adds a comparison curve to a plot)."""
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


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


def plot_pruning(summary: dict, path, whole_layer: dict | None = None) -> None:
    """Accuracy against the fraction of active weights, one-shot pruning (the paper's, or
    every class to the same number of synapses when ``summary["per_class"]``) and, when the
    summary has them, iterative pruning with retraining. Left (when the rows have it): the
    paper's measure, one decision per held-out movie of one motion; right: a decision at
    every step of the saccadic held-out movies (every step and settled steps).
    ``whole_layer``: a whole-layer summary drawn in grey for comparison. Dash-dot lines:
    where accuracy falls halfway from its peak to chance."""
    plt = pyplot()
    per_class = summary.get("per_class", False)
    how = "each class pruned to the same number of synapses" if per_class else "whole layer pruned at once"
    rows = sorted(summary["rows"], key=lambda r: r["active_fraction"])
    tuned = sorted(summary.get("rows_finetuned") or [], key=lambda r: r["active_fraction"])
    f, ft = [r["active_fraction"] for r in rows], [r["active_fraction"] for r in tuned]
    panels = [("movie", "movie_"), ("step", "")] if "movie_accuracy" in rows[0] else [("step", "")]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.4), squeeze=False)
    for ax, (kind, prefix) in zip(axes[0], panels):
        suffix = "" if kind == "movie" else ", every step"
        ax.semilogx(f, [r[f"{prefix}direction_accuracy"] for r in rows], "o-", color="C0", label="12 directions" + suffix)
        ax.semilogx(f, [r[f"{prefix}accuracy"] for r in rows], "s-", color="C1", label="36 classes (direction x speed)" + suffix)
        if kind == "movie" and "movie_direction_accuracy_no_bias" in rows[0]:
            ax.semilogx(f, [r["movie_direction_accuracy_no_bias"] for r in rows], "o--", color="C0", mfc="none",
                        label="12 directions, evidence alone (beta left out)")
            ax.semilogx(f, [r["movie_accuracy_no_bias"] for r in rows], "s--", color="C1", mfc="none",
                        label="36 classes, evidence alone (beta left out)")
        if kind == "step" and "accuracy_settled" in rows[0]:
            ax.semilogx(f, [r["direction_accuracy_settled"] for r in rows], "o--", color="C0", mfc="none",
                        label="12 directions, settled steps")
            ax.semilogx(f, [r["accuracy_settled"] for r in rows], "s--", color="C1", mfc="none", label="36 classes, settled steps")
        if tuned:
            ax.semilogx(ft, [r[f"{prefix}direction_accuracy"] for r in tuned], "^-", color="C2",
                        label="12 directions" + suffix + ", pruned iteratively + retrained")
            if kind == "step":
                ax.semilogx(ft, [r["direction_accuracy_settled"] for r in tuned], "^--", color="C2", mfc="none",
                            label="12 directions, settled steps, pruned iteratively + retrained")
        other = sorted((whole_layer or {}).get("rows") or [], key=lambda r: r["active_fraction"])
        if other and f"{prefix}direction_accuracy" in other[0]:
            ax.semilogx([r["active_fraction"] for r in other], [r[f"{prefix}direction_accuracy"] for r in other], "o-",
                        color="0.6", label="12 directions" + suffix + ", whole layer pruned at once (the paper's)")
        ax.axhline(summary["chance_direction"], color="C0", ls=":", lw=1)
        ax.axhline(summary["chance"], color="C1", ls=":", lw=1, label="chance")
        for key, color in ((f"half_{prefix}direction_accuracy_fraction", "C0"), (f"half_{prefix}accuracy_fraction", "C1"),
                           (f"finetuned_half_{prefix}direction_accuracy_fraction", "C2")):
            if summary.get(key):
                ax.axvline(summary[key], color=color, ls="-.", lw=1)
        ax.set_xlabel("fraction of active weights (of the dense S x 36 x 2 x D x ks x ks kernel)")
        ax.set_ylabel("held-out accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
        ax.set_title("one decision per movie of one motion (the paper's test)" if kind == "movie"
                     else "a decision at every step of saccadic movies", fontsize=9)
    fig.suptitle(f"HD-SNN pruning ({how}): accuracy vs active weights (dash-dot: half of peak above chance)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_recovery(summary: dict, n_delays: int, path) -> None:
    """12-direction accuracy against the age of the motion (steps since it changed) for
    the dense layer and a pruned one: after a change the delay window still holds the old
    motion, and accuracy climbs back as the window fills with the new one."""
    plt = pyplot()
    rows = sorted(summary["rows"], key=lambda r: -r["active_fraction"])
    pruned = min(rows, key=lambda r: abs(math.log(r["active_fraction"] / 0.1)))
    fig, ax = plt.subplots(figsize=(7, 4))
    ages = np.arange(1, n_delays + 2)
    for r, style in ((rows[0], "o-"), (pruned, "s--")):
        acc = [np.nan if a is None else a for a in r["direction_accuracy_by_age"]]
        ax.plot(ages, acc, style, label=f"{r['active_fraction']:.2g} of the weights active")
    ax.axhline(summary["chance_direction"], color="k", ls=":", lw=1, label="chance")
    ticks = list(ages[:-1:2]) + [ages[-1]]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(a) for a in ticks[:-1]] + [f">{n_delays}"])
    ax.set_xlabel(f"age of the motion (steps since it changed; >{n_delays}: the whole delay window sees it)")
    ax.set_ylabel("held-out 12-direction accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("HD-SNN: how fast a change of motion is detected", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
