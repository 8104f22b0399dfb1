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

from neurosim import parallel
from neurosim.atomic import atomic_write_json
from neurosim.runlock import locks_folder
from neurosim.training import TrainConfig, load_checkpoint, prepare_run_dir, save_checkpoint, seed_everything

from .amsu import SequenceModel

__all__ = ["MODEL_NAMES", "train_model", "check_models", "check_counts", "prepare_task_dir", "resume_this"]


#: The models the AM-SU tasks compare: key -> name in tables and figures.
MODEL_NAMES = {"amsu": "AM-SU", "lif": "recurrent LIF SNN", "lstm": "LSTM"}


# ---------------------------------------------------------------------------- training
@locks_folder("out_dir")
def train_model(model, batch_fn, loss_fn, evaluate_fn, out_dir, iterations: int, lr: float, seed: int, eval_every: int,
                settings: dict, resume: bool = False, overwrite: bool = False, progress: bool = True, desc: str = "",
                stop_after: int | None = None, y_axis: int = 0):
    """Train ``model`` for ``iterations`` Adam steps (cosine decay to 0, gradients clipped
    at norm 1) on ``batch_fn(generator) -> (x, y)`` with ``loss_fn(model, x, y) -> loss``,
    calling ``evaluate_fn(model) -> dict`` every ``eval_every`` iterations and at the end.
    Writes ``metrics.json`` (the evaluations) and ``checkpoint.pt`` after each evaluation,
    atomically, to ``out_dir`` (checked first by ``neurosim.training.prepare_run_dir``;
    ``settings`` must match on resume). ``stop_after``: stop (as an interruption would)
    after that many iterations. Returns the metric history; its last entry has
    ``"done": True`` once all iterations ran.

    Data-parallel inside a ``torch.distributed`` process group (``neurosim.parallel``):
    every process draws the same batches (x (T, B, ...); y with its batch axis at
    ``y_axis``) and trains on its share through ``DistributedDataParallel``, so the
    averaged gradients, clipped, equal one process's on the whole batch; rank 0 alone
    evaluates and writes (the others' history has no evaluations)."""
    cfg = TrainConfig(epochs=iterations, lr=lr, seed=seed, out_dir=str(out_dir), resume=resume, overwrite=overwrite,
                      progress=progress, run_config=settings)
    main = parallel.is_main()
    out = prepare_run_dir(cfg)  # rank 0 checks it; the other ranks get its path
    parallel.barrier()  # the others wait until rank 0 has checked (or cleared) the folder
    step_model = parallel.wrap(model)
    gen = seed_everything(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(iterations, 1))
    start, history = 0, []
    if resume:
        start, history = load_checkpoint(out / "checkpoint.pt", model, opt, gen, sched, max_epoch=iterations)
    from tqdm.auto import tqdm

    last = iterations if stop_after is None else min(iterations, stop_after)
    bar = tqdm(range(start, last), desc=desc, initial=start, total=iterations, leave=False, disable=not (progress and main))
    t0, loss_sum, n = time.perf_counter(), 0.0, 0
    seconds = history[-1]["seconds"] if history else 0.0
    world = parallel.rank_world()[1]
    for it in bar:
        x, y = batch_fn(gen)
        x, y, weight = parallel.shard(x, y, 1, y_axis)  # this process's share (all of it without a group)
        loss = loss_fn(step_model, x, y)
        opt.zero_grad(set_to_none=True)
        (loss * weight).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        loss_sum, n = loss_sum + loss.item() * weight / world, n + 1  # summed over the processes: the batch's mean
        bar.set_postfix(loss=f"{loss_sum / n:.3f}")
        done = it + 1 == iterations
        if (it + 1) % eval_every == 0 or done:
            seconds += time.perf_counter() - t0
            loss_sum, = parallel.all_sum([loss_sum])
            entry = {"iteration": it + 1, "train_loss": loss_sum / n, "seconds": seconds}
            if main:
                entry.update(evaluate_fn(model))
            if done:
                entry["done"] = True
            history.append(entry)
            if main:
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
    """``ValueError`` naming the first of ``values`` (name -> value) that is not an integer >= 1."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= 1")


def check_models(models) -> list:
    """``models`` as a list; ``ValueError`` unless it is a non-empty list of ``SequenceModel.KINDS``."""
    models = list(models)
    bad = [m for m in models if m not in SequenceModel.KINDS]
    if bad or not models:
        raise ValueError(f"models {bad or models!r} are invalid: choose from {list(SequenceModel.KINDS)}")
    return models


def prepare_task_dir(out_dir, resume: bool, overwrite: bool) -> Path:
    """The task's output folder, checked (and created) by rank 0 of a data-parallel group
    (or the only process): the other ranks only get its path."""
    out = Path(out_dir)
    if not parallel.is_main():
        return out
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"output folder {out} is a file, not a folder")
    if out.is_dir() and (out / "results.json").exists() and not (resume or overwrite):
        raise FileExistsError(f"{out} already holds results (results.json); continue with --resume or replace with --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    return out
