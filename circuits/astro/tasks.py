"""The AM-SU tasks' common training loop (``train_model``): delayed recall
(``circuits.astro.memory``) and character-level language modelling on Tiny Shakespeare
(``circuits.astro.language``), each for AM-SU, the plain recurrent LIF SNN and an LSTM of
equal parameter count (``circuits.astro.amsu``).

Both tasks train by iterations (Adam, cosine decay), show tqdm progress, write atomic
checkpoints (``neurosim.training.save_checkpoint``, read with ``weights_only=True``) and
per-evaluation JSON metrics for every model in a folder of its own, resume where they were
interrupted (``resume=True``), and write a results table (JSON) and figures (PNG).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from neurosim.atomic import atomic_write_json
from neurosim.runlock import locks_folder
from neurosim.training import TrainConfig, load_checkpoint, prepare_run_dir, save_checkpoint, seed_everything

from .amsu import SequenceModel

__all__ = ["MODEL_NAMES", "train_model", "check_models", "check_counts", "prepare_task_dir", "resume_this"]


MODEL_NAMES = {"amsu": "AM-SU", "lif": "recurrent LIF SNN", "lstm": "LSTM"}


# ---------------------------------------------------------------------------- training
@locks_folder("out_dir")
def train_model(model, batch_fn, loss_fn, evaluate_fn, out_dir, iterations: int, lr: float, seed: int, eval_every: int,
                settings: dict, resume: bool = False, overwrite: bool = False, progress: bool = True, desc: str = "",
                stop_after: int | None = None):
    """Train ``model`` for ``iterations`` Adam steps (cosine decay to 0, gradients clipped
    at norm 1) on ``batch_fn(generator) -> (x, y)`` with ``loss_fn(model, x, y) -> loss``,
    calling ``evaluate_fn(model) -> dict`` every ``eval_every`` iterations and at the end.
    Writes ``metrics.json`` (the evaluations) and ``checkpoint.pt`` after each evaluation,
    atomically, to ``out_dir`` (checked first by ``neurosim.training.prepare_run_dir``;
    ``settings`` must match on resume). ``stop_after``: stop (as an interruption would)
    after that many iterations. Returns the metric history; its last entry has
    ``"done": True`` once all iterations ran."""
    cfg = TrainConfig(epochs=iterations, lr=lr, seed=seed, out_dir=str(out_dir), resume=resume, overwrite=overwrite,
                      progress=progress, run_config=settings)
    out = prepare_run_dir(cfg)
    gen = seed_everything(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(iterations, 1))
    start, history = 0, []
    if resume:
        start, history = load_checkpoint(out / "checkpoint.pt", model, opt, gen, sched, max_epoch=iterations)
    from tqdm.auto import tqdm

    last = iterations if stop_after is None else min(iterations, stop_after)
    bar = tqdm(range(start, last), desc=desc, initial=start, total=iterations, leave=False, disable=not progress)
    t0, loss_sum, n = time.perf_counter(), 0.0, 0
    seconds = history[-1]["seconds"] if history else 0.0
    for it in bar:
        x, y = batch_fn(gen)
        loss = loss_fn(model, x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_sum, n = loss_sum + loss.item(), n + 1
        bar.set_postfix(loss=f"{loss_sum / n:.3f}")
        done = it + 1 == iterations
        if (it + 1) % eval_every == 0 or done:
            seconds += time.perf_counter() - t0
            entry = {"iteration": it + 1, "train_loss": loss_sum / n, "seconds": seconds, **evaluate_fn(model)}
            if done:
                entry["done"] = True
            history.append(entry)
            atomic_write_json(out / "metrics.json", history)
            save_checkpoint(out / "checkpoint.pt", model, opt, it + 1, history, gen, sched, cfg.defining())
            bar.write(f"{desc} iteration {it + 1}: " + ", ".join(f"{k} {v:.4g}" for k, v in entry.items()
                                                                 if isinstance(v, float) and k != "seconds"))
            t0, loss_sum, n = time.perf_counter(), 0.0, 0
    return history


def resume_this(folder: Path, resume: bool) -> bool:
    """Under a task's ``resume``, continue a model's run if it has a checkpoint (a finished
    run then only loads, after its settings are checked); otherwise start it."""
    return resume and (folder / "checkpoint.pt").is_file()


def check_counts(**values):
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= 1")


def check_models(models) -> list:
    models = list(models)
    bad = [m for m in models if m not in SequenceModel.KINDS]
    if bad or not models:
        raise ValueError(f"models {bad or models!r} are invalid: choose from {list(SequenceModel.KINDS)}")
    return models


def prepare_task_dir(out_dir, resume: bool, overwrite: bool) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {out} is a file, not a folder")
    if out.is_dir() and (out / "results.json").exists() and not (resume or overwrite):
        raise FileExistsError(f"{out} already holds results (results.json); continue with --resume or replace with --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    return out
