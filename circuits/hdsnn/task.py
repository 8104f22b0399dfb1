"""The HD-SNN motion task (``neurosim train hdsnn``): generate motion movies
(``circuits.hdsnn.movies``), train the heterogeneous-delay layer (``circuits.hdsnn.layer``)
and load a trained run; ``circuits.hdsnn.evaluate`` sweeps pruning and runs the pruned layer
in the core simulator.

A run folder holds ``settings.json`` (everything needed to regenerate the data and the
model), ``checkpoint.pt`` / ``model_state.pt`` (tensors only, read with
``weights_only=True``), ``metrics.json``, ``kernels.png``, and after evaluation
``pruning.json``, ``pruning.png``, ``recovery.png`` and ``core.json``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from neurosim import parallel
from neurosim.integrity import (CorruptFileError, brief, check_finite_tensors, load_torch, read_checked_json, save_torch,
                                write_checked_json)
from neurosim.runlock import folder_lock
from neurosim.training import TrainConfig, fit, prepare_run_dir

from .layer import HDSNN, decide, training_loss
from .movies import TEST_IMAGES, TRAIN_IMAGES, MotionClasses, make_motion_data
from .plots import plot_kernels

__all__ = ["DEFAULTS", "ONE_MOTION_TEST", "MovieBatches", "movies_of", "new_layer", "train_hdsnn", "load_run"]


DEFAULTS = dict(n_train=400, n_test=30, n_steps=96, size=40, test_size=64, n_delays=21, kernel_size=17, subunits=2,
                epochs=12, batch_size=8, lr=2e-3, train_stride=4, contrast_threshold=0.2, mean_segment=24.0, seed=0, l1=0.0)
"""Settings of ``neurosim train hdsnn``: the paper's kernel (21 delays, 17 x 17 pixels,
36 classes) and segment statistics (mean 24 ms); smaller movies than its 128 x 128 x 128
(40 x 40 for training, 64 x 64 held out, 96 ms) so that training fits 2 CPU cores. Two
subunits per class (the paper has one): at the same training budget they raised the
held-out accuracy on steps in one motion from 68% to 75% (200 movies, 5 epochs). ``l1``:
the coefficient of an L1 penalty, ``l1`` x sum ``|K|`` over the effective kernel, added to
the loss (Han et al. 2015, section 3.1: it leaves more weights near zero, for pruning
without retraining; not in the paper, off by default)."""


ONE_MOTION_TEST = dict(n_movies=72, n_steps=64)
"""The paper's test set (its reference code, ``test_model``): held-out movies with one
motion each (``block_length=np.inf`` there), one decision per movie from the evidence
averaged over positions and over the steps after the first D. Ours: 72 movies (each class
twice) of 64 steps at ``test_size``, from the held-out photographs (seed + 2); the
reference uses 100 movies of 100 steps at 64 x 64. Training is unchanged (saccadic
movies, as in the paper)."""


class MovieBatches:
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


def movies_of(settings: dict, split: str, progress: bool = False, one_motion: dict = ONE_MOTION_TEST):
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


def new_layer(settings: dict) -> HDSNN:
    """An untrained HD-SNN layer with the ``settings`` of a run."""
    return HDSNN(MotionClasses().n_classes, settings["n_delays"], settings["kernel_size"], train_stride=settings["train_stride"],
                 subunits=settings.get("subunits", 1))  # runs written before subunits existed had one


def train_hdsnn(out_dir="runs/hdsnn", resume=False, overwrite=False, progress=True, stop_after=None, **overrides) -> list:
    """Generate the movies (training photographs for training, held-out ones for the test
    set), train the layer with ``neurosim.training.fit`` (Adam, cosine decay, BCE at every
    position, plus the L1 penalty when ``l1`` > 0, which the reported training loss
    includes; the accuracy is the per-step decision of ``circuits.hdsnn.layer.decide``), write
    ``model_state.pt`` and ``kernels.png``. ``overrides`` change ``DEFAULTS``. Returns the
    metric history. The folder is checked before any data is generated
    (``neurosim.training.prepare_run_dir``: ``FileExistsError`` for an existing run without
    ``resume``/``overwrite``, ``ValueError`` for a resume with other settings,
    ``FileNotFoundError`` for a resume without a checkpoint). Raises ``ValueError`` for
    unknown settings and a negative (or NaN) ``l1``. Runs data-parallel inside a
    ``torch.distributed`` process group (``neurosim.parallel.spawn(train_hdsnn, n, ...)``):
    each process generates the same movies and trains on its share of every batch; rank 0
    alone writes and returns the history."""
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
                      run_config={"task": "hdsnn", **defining}, batch_axis=0)
    main = parallel.is_main()  # data-parallel (neurosim.parallel): rank 0 alone writes
    with folder_lock(out_dir):
        out = prepare_run_dir(cfg)  # rank 0 checks it; the other ranks get its path
        if main:
            write_checked_json(out / "settings.json", settings)
        train, test = movies_of(settings, "train", progress and main), movies_of(settings, "test", progress and main)
        torch.manual_seed(settings["seed"])
        model = new_layer(settings)
        d = settings["n_delays"]
        history = fit(model, training_loss(model, settings["l1"]),
                      lambda g: MovieBatches(train, train.targets(d), settings["batch_size"], g),
                      MovieBatches(test, test.targets(d), 5), cfg, MotionClasses().n_classes)
        if main:
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
    model = new_layer(settings)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise CorruptFileError(f"trained weights {run / 'model_state.pt'} do not fit the layer of {run / 'settings.json'}: "
                               f"{brief(exc)}") from None
    return model.eval(), settings
