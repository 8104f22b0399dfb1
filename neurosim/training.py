"""A small training loop for spiking classifiers: seeded, resumable, with progress bars,
per-epoch metrics as JSON, atomic checkpoints and a confusion-matrix figure.

Checkpoints hold only tensors and plain values and are read with
``torch.load(weights_only=True)``: no arbitrary objects are unpickled.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .atomic import atomic_write_json, check_output_path, prepare_output_folder
from .integrity import CorruptFileError, brief, check_finite_tensors, load_torch, save_torch
from .runlock import folder_lock
from .plotting import pyplot, save_figure

__all__ = ["TrainConfig", "RUN_FILES", "prepare_run_dir", "fit", "evaluate", "seed_everything", "save_checkpoint",
           "load_checkpoint", "plot_confusion", "plot_history"]


RUN_FILES = ("checkpoint.pt", "metrics.json", "model_state.pt", "confusion.png", "accuracy.png")
"""What a training run writes to its folder (``fit`` and the task trainers)."""


@dataclass
class TrainConfig:
    """Settings of ``fit``: epochs, Adam learning rate and weight decay, seed, output folder,
    resume from its checkpoint, replace an earlier run in the folder (``overwrite``),
    progress bars, stop early after an epoch, class names, ``run_config``: the settings
    that define the run (the task's data and model settings; they are stored in every
    checkpoint, and a resume with different ones is refused), and ``decide``: how the
    model's output becomes class scores (see ``predictions``; labels -1 are ignored);
    ``batch_axis``: the samples' axis of a batch's inputs (1 for (T, B, ...), 0 for (B, ...);
    the labels' is 0), along which data-parallel training splits it."""

    epochs: int = 20
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    out_dir: str = "runs/train"
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    stop_after: int | None = None  # stop after this epoch (as an interruption would); resume later
    class_names: list = field(default_factory=list)
    run_config: dict = field(default_factory=dict)
    decide: Callable | None = None  # model output -> scores (N, n_classes); see ``predictions``
    batch_axis: int = 1  # the axis of a batch's inputs that data-parallel training splits: (T, B, ...)

    def defining(self) -> dict:
        """The settings a resumed run must share with the checkpoint (JSON-comparable)."""
        return json.loads(json.dumps({"epochs": self.epochs, "lr": self.lr, "weight_decay": self.weight_decay,
                                      "seed": self.seed, **self.run_config}))


def _checkpoint_settings(ckpt: Path) -> dict:
    state = load_torch(ckpt, "checkpoint")  # CorruptFileError (a ValueError) names the file
    if not isinstance(state, dict) or "settings" not in state:
        return None
    try:
        return json.loads(state["settings"])
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(f"checkpoint {ckpt}: unreadable run settings ({exc})") from None


def prepare_run_dir(cfg: TrainConfig) -> Path:
    """Check the output folder before any data is loaded; returns it (created if missing).

    * without ``resume``: a folder that already holds a run (``RUN_FILES``) is refused with
      ``FileExistsError``, unless ``overwrite``, which deletes that run's files;
    * with ``resume``: ``FileNotFoundError`` when there is no checkpoint, ``ValueError``
      naming every setting that differs from the checkpoint's (``TrainConfig.defining``);
    * ``NotADirectoryError`` / ``PermissionError`` (``OSError``) when the folder cannot be
      created or written to (tested by writing a probe file: permission bits do not tell
      for root or ACLs).

    In a data-parallel process group only rank 0 checks (and clears) the folder; the other
    ranks get its path and touch nothing (they wait for rank 0 at the caller's barrier).
    """
    from . import parallel

    if not parallel.is_main():
        return Path(cfg.out_dir)
    out = check_output_path(cfg.out_dir, folder=True)
    ckpt = out / "checkpoint.pt"
    if cfg.resume:
        if not ckpt.is_file():
            begun = [name for name in RUN_FILES if (out / name).exists()]
            if begun:  # stopped before its first checkpoint was complete: there is nothing to continue
                raise FileNotFoundError(f"--resume: {out} holds {', '.join(begun)} but no checkpoint.pt: the run stopped "
                                        "before its first checkpoint was complete, so there is nothing to resume; start it "
                                        "again with --overwrite (overwrite=True)")
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt}")
        saved = _checkpoint_settings(ckpt)
        if saved is None:
            raise ValueError(f"--resume: {ckpt} records no run settings (written by an older neurosim), so it cannot be "
                             "checked against this run; start a new run in another folder")
        want = cfg.defining()
        diff = [f"{k}: checkpoint {saved.get(k)!r}, now {want.get(k)!r}" for k in sorted(set(saved) | set(want))
                if saved.get(k) != want.get(k)]
        if diff:
            raise ValueError(f"--resume: this run's settings differ from those of {ckpt} ({'; '.join(diff)}); resume with "
                             "the checkpoint's settings, or start a new run in another folder")
    else:
        existing = [name for name in RUN_FILES if (out / name).exists()]
        if existing and not cfg.overwrite:
            raise FileExistsError(f"{out} already holds a training run ({', '.join(existing)}); continue it with --resume "
                                  "(resume=True) or replace it with --overwrite (overwrite=True)")
        for name in existing:
            (out / name).unlink()
    out = prepare_output_folder(out)
    for name in RUN_FILES:  # temporary files of atomic writes that a killed run left behind
        stem, suffix = name.rsplit(".", 1)
        for tmp in out.glob(f".{stem}.*.tmp.{suffix}"):
            tmp.unlink(missing_ok=True)
    return out


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; returns a torch generator for the data order."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def save_checkpoint(path, model, optimizer, epoch: int, history: list, generator: torch.Generator, scheduler=None,
                    settings: dict | None = None) -> None:
    """Write model, optimizer, learning-rate scheduler, epoch, metric history, the
    data-order generator state and the run's defining ``settings``, atomically and with
    their SHA-256 (``neurosim.integrity.save_torch``). Weights that are no longer finite
    (the run diverged) are refused with ``FloatingPointError`` and the previous checkpoint
    is kept."""
    state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": int(epoch),
             "scheduler": scheduler.state_dict() if scheduler is not None else {},
             "history": json.dumps(history), "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
             "settings": json.dumps(settings or {})}
    try:
        check_finite_tensors(state["model"], "the model")
    except CorruptFileError as exc:
        raise FloatingPointError(f"training diverged by epoch {epoch}: {exc}; {path} keeps the last finite state") from None
    save_torch(path, state)


def load_checkpoint(path, model, optimizer, generator: torch.Generator, scheduler=None,
                    max_epoch: int | None = None) -> tuple[int, list]:
    """Restore a checkpoint written by ``save_checkpoint``; returns (epochs done, history).
    The file's SHA-256 is checked first, then its contents: an epoch in 0..``max_epoch``, a
    list of metrics, finite weights and optimizer state. Raises ``ValueError`` naming the
    file (``neurosim.integrity.CorruptFileError`` for damaged or implausible contents)."""
    state = load_torch(path, "checkpoint")
    try:
        epoch = state["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or (max_epoch is not None and epoch > max_epoch):
            raise CorruptFileError(f"checkpoint {path}: epoch = {epoch!r} is not in 0..{max_epoch if max_epoch is not None else 'n'}")
        history = json.loads(state["history"])
        if not isinstance(history, list):
            raise CorruptFileError(f"checkpoint {path}: its metric history is a {type(history).__name__}, not a list")
        check_finite_tensors(state["model"], f"checkpoint {path}")
        check_finite_tensors(state["optimizer"], f"checkpoint {path} (optimizer state)")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        if scheduler is not None:
            # restore, never re-step: the optimizer already carries the decayed rate
            scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        return epoch, history
    except CorruptFileError:
        raise
    except (RuntimeError, KeyError, TypeError, ValueError) as exc:
        raise CorruptFileError(f"checkpoint {path} is not a usable checkpoint for this model: {brief(exc)}") from None


def predictions(output, y, decide=None):
    """(predicted, true) class labels of the samples with a label >= 0 (-1 marks samples
    to ignore). ``decide`` maps a model's output to scores (N, n_classes) in the order of
    ``y.reshape(-1)``; default: the output is already (N, n_classes) logits."""
    scores = output if decide is None else decide(output)
    y = y.reshape(-1)
    keep = y >= 0
    return scores.argmax(1)[keep], y[keep]


@torch.no_grad()
def evaluate(model, loader, n_classes: int, decide=None):
    """Accuracy and confusion matrix [true, predicted] of ``model`` (logits (B, n_classes),
    or any output that ``decide`` turns into scores, see ``predictions``)."""
    model.eval()
    conf = np.zeros((n_classes, n_classes), np.int64)
    for x, y in loader:
        pred, true = predictions(model(x), y, decide)
        np.add.at(conf, (true.numpy(), pred.numpy()), 1)
    model.train()
    return float(np.trace(conf) / max(conf.sum(), 1)), conf


def plot_confusion(conf: np.ndarray, path, class_names, title: str) -> None:
    """Confusion matrix (n_classes, n_classes) [true, predicted] as a PNG with counts."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 5.2))
    im = ax.imshow(conf, cmap="Blues")
    for i in range(conf.shape[0]):
        for j in range(conf.shape[1]):
            ax.text(j, i, str(conf[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if conf[i, j] > conf.max() / 2 else "black")
    ax.set_xticks(range(len(class_names)), class_names)
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="samples")
    fig.tight_layout()
    save_figure(fig, path)


def plot_history(history, path, title: str) -> None:
    """Training and held-out accuracy (and training loss) per epoch."""
    plt = pyplot()
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(ep, [h["train_accuracy"] for h in history], "o-", ms=3, label="training accuracy")
    ax.plot(ep, [h["test_accuracy"] for h in history], "s-", ms=3, label="held-out accuracy")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(ep, [h["train_loss"] for h in history], color="0.5", lw=1, label="training loss")
    ax2.set_ylabel("training loss (cross-entropy)")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="center right", fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def fit(model, loss_fn, make_train_loader, test_loader, cfg: TrainConfig, n_classes: int):
    """Train ``model`` for ``cfg.epochs`` (Adam, cosine learning-rate decay), evaluating on
    ``test_loader`` after every epoch. ``make_train_loader(generator)`` builds the shuffled
    training loader from a seeded generator (saved in checkpoints so a resumed run sees the
    same data order). Writes ``metrics.json`` (one entry per epoch), ``checkpoint.pt``
    (every epoch, atomically), ``confusion.png`` and ``accuracy.png`` to ``cfg.out_dir``; with ``cfg.resume``
    continues from ``checkpoint.pt``. The folder is checked first (``prepare_run_dir``:
    an existing run is never overwritten unless asked, a resume must match the
    checkpoint's settings) while holding its lock (``neurosim.runlock.folder_lock``:
    ``OutputLockedError`` when another process writes there). A checkpoint is verified
    before it is resumed (``load_checkpoint``). Returns the metric history.

    Data-parallel (``neurosim.parallel``: inside a ``torch.distributed`` process group):
    every process draws the same batches from the same seeded generator, runs its share
    (``parallel.shard``) through ``DistributedDataParallel``, whose averaged gradients equal
    one process's on the whole batch; training metrics are summed over the processes, and
    rank 0 alone evaluates and writes (the others return an empty history).

    Freed memory is kept for the next batch (``neurosim.nn.keep_freed_memory``: the same
    large tensors every batch, without page faults; the process keeps its peak memory)."""
    from . import parallel
    from .nn.memory import keep_freed_memory

    keep_freed_memory()
    # one writer per run folder (in a process group only rank 0 locks it and writes)
    with folder_lock(cfg.out_dir):
        return _fit(model, loss_fn, make_train_loader, test_loader, cfg, n_classes, parallel.is_main())


def _fit(model, loss_fn, make_train_loader, test_loader, cfg: TrainConfig, n_classes: int, main: bool):
    from . import parallel

    out = prepare_run_dir(cfg)
    parallel.barrier()  # the others wait until rank 0 has checked (or cleared) the folder
    step_model = parallel.wrap(model)  # in a process group: averages the gradients over the processes
    gen = seed_everything(cfg.seed)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(cfg.epochs, 1))
    start, history = 0, []
    ckpt = out / "checkpoint.pt"
    if cfg.resume:
        start, history = load_checkpoint(ckpt, model, opt, gen, sched, max_epoch=cfg.epochs)
        if main:
            print(f"resumed from {ckpt} after epoch {start}")
    from tqdm.auto import tqdm

    last = cfg.epochs if cfg.stop_after is None else min(cfg.epochs, cfg.stop_after)
    for epoch in range(start, last):
        t0 = time.perf_counter()
        loader = make_train_loader(gen)
        total, correct, loss_sum = 0, 0, 0.0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, disable=not (cfg.progress and main))
        for x, y in bar:
            x, y, weight = parallel.shard(x, y, cfg.batch_axis)  # this process's share of the batch (all of it without DDP)
            logits = step_model(x)
            loss = loss_fn(logits, y)
            opt.zero_grad(set_to_none=True)
            (loss * weight).backward()
            opt.step()
            pred, true = predictions(logits.detach(), y, cfg.decide)
            total += true.numel()
            correct += int((pred == true).sum())
            loss_sum += loss.item() * y.numel()
            bar.set_postfix(loss=f"{loss_sum / total:.3f}", acc=f"{correct / total:.3f}")
        sched.step()
        total, correct, loss_sum = parallel.all_sum([total, correct, loss_sum])
        if not main:
            continue
        test_acc, conf = evaluate(model, test_loader, n_classes, cfg.decide)
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / total, "train_accuracy": correct / total,
                        "test_accuracy": test_acc, "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0})
        atomic_write_json(out / "metrics.json", history)
        save_checkpoint(ckpt, model, opt, epoch + 1, history, gen, sched, cfg.defining())
        print(f"epoch {epoch + 1}: train loss {loss_sum / total:.3f}, train acc {correct / total:.3f}, "
              f"held-out acc {test_acc:.3f} ({history[-1]['seconds']:.0f} s)", flush=True)
    if not main:
        return history
    test_acc, conf = evaluate(model, test_loader, n_classes, cfg.decide)
    names = cfg.class_names or [str(k) for k in range(n_classes)]
    plot_confusion(conf, out / "confusion.png", names, f"held-out accuracy {test_acc:.3f} ({conf.sum()} samples)")
    if history:
        plot_history(history, out / "accuracy.png", f"training curve ({len(history)} epochs)")
    return history
