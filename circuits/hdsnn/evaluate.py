"""The HD-SNN layer's evaluation (``neurosim eval hdsnn``): held-out accuracy per movie (the
paper's test) and per step against the fraction of active weights, pruned once or
iteratively with retraining (Han et al. 2015), the half-point where accuracy falls halfway
to chance, and the pruned layer run in the core simulator (``circuits.hdsnn.core``). Writes
``pruning.json``, ``pruning.png``, ``recovery.png`` and ``core.json`` to the run folder.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import torch

from neurosim.atomic import atomic_write_json
from neurosim.integrity import CorruptFileError, check_finite_tensors, load_torch, save_torch
from neurosim.runlock import folder_lock

from .core import core_comparison
from .layer import FINETUNE_LR, HDSNN, decide, decide_movie, finetune, prune, synaptic_operations
from .plots import plot_pruning, plot_recovery
from .task import ONE_MOTION_TEST, MovieBatches, load_run, movies_of, new_layer

__all__ = ["evaluate_hdsnn"]


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
    training movies (``circuits.hdsnn.layer.finetune``); each retrained layer is saved in
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
        test, still = movies_of(settings, "test", progress), movies_of(settings, "one_motion", progress, one_motion)
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
            current = new_layer(settings)
            current.load_state_dict(saved["state"])
            current.eval()
        else:
            if train is None:
                train = movies_of(settings, "train", progress)
            current = prune(current, f, per_class)
            torch.manual_seed(settings["seed"] + 1000 + step)  # the training stride's random offsets
            gen = torch.Generator().manual_seed(settings["seed"] + step)
            finetune(current, MovieBatches(train, train.targets(settings["n_delays"]), settings["batch_size"], gen), epochs, lr,
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
