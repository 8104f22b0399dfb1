"""Data-parallel training with ``torch.distributed`` (gloo, CPU): N processes, each with a
copy of the model and a share of every batch; gradients are averaged across them after each
backward pass (``DistributedDataParallel``), so N processes take the same optimisation
steps as one process on the same batches.

``spawn(fn, n, ...)`` runs ``fn`` in ``n`` local processes (``neurosim train ... --ddp N``).
Under ``torchrun`` (several machines, or one), each process is started by torchrun, which
sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; ``init_from_env()``
joins that group. ``neurosim.training.fit`` then shards each batch and lets rank 0 alone
evaluate and write checkpoints, metrics and plots; the families' own training loops (AM-SU's
``circuits.astro.tasks.train_model``, HLOP's ``circuits.hlop.train.train_continual``) do the
same with ``wrap``, ``shard`` and ``gather_batch``. In a process group only rank 0 takes an
output folder's lock (``neurosim.runlock.folder_lock``) and writes.
"""
from __future__ import annotations

import json
import os
import socket
import tempfile

import torch
import torch.distributed as dist

__all__ = ["rank_world", "is_main", "spawn", "init_from_env", "shard", "gather_batch", "wrap", "barrier", "all_sum"]


def rank_world() -> tuple[int, int]:
    """(this process's rank, number of processes); (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process writes outputs (rank 0, or no process group)."""
    return rank_world()[0] == 0


def shard(x: torch.Tensor, y: torch.Tensor, batch_axis: int = 1, y_axis: int = 0):
    """This rank's share of a batch: every ``world``-th sample from ``rank`` (``x`` along
    ``batch_axis``, (T, B, ...) by default; ``y`` along ``y_axis``, (B, ...) by default), and
    the weight ``n_local * world / n_global`` that makes the average of the ranks' mean
    losses the mean over the whole batch when the shares differ in size."""
    rank, world = rank_world()
    if world == 1:
        return x, y, 1.0
    n = y.shape[y_axis]
    idx = torch.arange(rank, n, world)
    return x.index_select(batch_axis, idx), y.index_select(y_axis, idx), idx.numel() * world / n


def gather_batch(t: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """The whole batch from every rank's share of it (``shard``'s inverse, along ``axis``):
    what one process would have computed, in the batch's order, on every rank. For
    per-sample results that a step needs whole (HLOP's Hebbian update reads every sample's
    activity). Unchanged without a process group."""
    rank, world = rank_world()
    if world == 1:
        return t
    t = t.movedim(axis, 0)
    sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
    dist.all_gather(sizes, torch.tensor([t.shape[0]], dtype=torch.int64))
    sizes = [int(s) for s in sizes]
    padded = torch.zeros((max(sizes), *t.shape[1:]), dtype=t.dtype)
    padded[: t.shape[0]] = t
    parts = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    out = torch.empty((sum(sizes), *t.shape[1:]), dtype=t.dtype)
    for r, part in enumerate(parts):  # rank r holds samples r, r + world, r + 2 world, ...
        out[r::world] = part[: sizes[r]]
    return out.movedim(0, axis)


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` in ``DistributedDataParallel`` inside a process group (its backward
    averages the gradients over the processes), else ``model`` itself."""
    if rank_world()[1] == 1:
        return model
    return torch.nn.parallel.DistributedDataParallel(model)


def barrier() -> None:
    """Wait for every process of the group (nothing without one)."""
    if rank_world()[1] > 1:
        dist.barrier()


def all_sum(values: list) -> list:
    """``values`` (floats) summed over all ranks (unchanged without a process group)."""
    if rank_world()[1] == 1:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


_INPUT_ERRORS = {"ValueError", "FileExistsError", "FileNotFoundError", "NotADirectoryError", "PermissionError", "KeyError"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _set_threads(world: int) -> None:
    """Share this machine's cores between the local processes (torch and Numba)."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", world))
    n = max(1, (os.cpu_count() or 1) // local)
    torch.set_num_threads(n)
    try:
        import numba

        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:  # pragma: no cover - numba is a dependency
        pass


def init_from_env() -> bool:
    """Join the process group torchrun describes in the environment (``WORLD_SIZE`` > 1);
    returns whether this process is part of one."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        dist.init_process_group("gloo")
        _set_threads(dist.get_world_size())
    return True


def _worker(rank: int, world: int, port: int, result_path: str, fn, args, kwargs) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_WORLD_SIZE=str(world))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    _set_threads(world)
    try:
        result = fn(*args, **kwargs)
        if rank == 0:
            with open(result_path, "w") as f:
                json.dump(result, f)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def spawn(fn, n_processes: int, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` in ``n_processes`` local processes joined in a gloo
    process group (``fn`` must be importable: a module-level function) and return rank 0's
    result, which must be JSON data (the training functions' histories and results are;
    otherwise the ``RuntimeError`` below names the ``TypeError``). ``n_processes == 1`` runs it here. An exception in any
    process stops all of them and is raised here, carrying the failing process's error
    line: as ``ValueError`` for errors of the input (bad settings, an occupied output
    folder), else ``RuntimeError``."""
    if n_processes == 1:
        return fn(*args, **kwargs)
    with tempfile.TemporaryDirectory(prefix="neurosim-spawn-") as tmp:
        result_path = os.path.join(tmp, "result.json")
        try:
            torch.multiprocessing.spawn(_worker, args=(n_processes, _free_port(), result_path, fn, args, kwargs),
                                        nprocs=n_processes, join=True)
        except torch.multiprocessing.ProcessRaisedException as exc:
            _raise_from(exc)
        with open(result_path) as f:
            return json.load(f)


def _raise_from(exc) -> None:
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else str(exc)
    # errors of the input (an occupied output folder, bad settings) stay ValueErrors
    kind = ValueError if last.split(":")[0].strip() in _INPUT_ERRORS else RuntimeError
    raise kind(f"a training process failed: {last}") from None
