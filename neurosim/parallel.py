"""Data-parallel training with ``torch.distributed`` (gloo, CPU): N processes, each with a
copy of the model and a share of every batch; gradients are averaged across them after each
backward pass (``DistributedDataParallel``), so N processes take the same optimisation
steps as one process on the same batches.

``spawn(fn, n, ...)`` runs ``fn`` in ``n`` local processes (``neurosim train ... --ddp N``).
Under ``torchrun`` (several machines, or one), each process is started by torchrun, which
sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; ``init_from_env()``
joins that group. ``neurosim.training.fit`` then shards each batch and lets rank 0 alone
evaluate and write checkpoints, metrics and plots.
"""
from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist

__all__ = ["rank_world", "is_main", "spawn", "init_from_env", "shard", "all_sum"]


def rank_world() -> tuple[int, int]:
    """(this process's rank, number of processes); (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """Whether this process writes outputs (rank 0, or no process group)."""
    return rank_world()[0] == 0


def shard(x: torch.Tensor, y: torch.Tensor, batch_axis: int = 1):
    """This rank's share of a batch: every ``world``-th sample from ``rank`` (``x`` along
    ``batch_axis``, (T, B, ...) by default; ``y`` along 0), and the weight ``n_local * world
    / n_global`` that makes the average of the ranks' mean losses the mean over the whole
    batch when the shares differ in size."""
    rank, world = rank_world()
    if world == 1:
        return x, y, 1.0
    idx = torch.arange(rank, y.shape[0], world)
    return x.index_select(batch_axis, idx), y[idx], idx.numel() * world / y.shape[0]


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


def _worker(rank: int, world: int, port: int, fn, args, kwargs) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_WORLD_SIZE=str(world))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    _set_threads(world)
    try:
        fn(*args, **kwargs)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def spawn(fn, n_processes: int, *args, **kwargs) -> None:
    """Run ``fn(*args, **kwargs)`` in ``n_processes`` local processes joined in a gloo
    process group (``fn`` must be importable: a module-level function). ``n_processes ==
    1`` runs it here. An exception in any process stops all of them and is raised here,
    carrying the failing process's error line: as ``ValueError`` for errors of the input
    (bad settings, an occupied output folder), else ``RuntimeError``."""
    if n_processes == 1:
        fn(*args, **kwargs)
        return
    try:
        torch.multiprocessing.spawn(_worker, args=(n_processes, _free_port(), fn, args, kwargs), nprocs=n_processes, join=True)
    except torch.multiprocessing.ProcessRaisedException as exc:
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else str(exc)
        # errors of the input (an occupied output folder, bad settings) stay ValueErrors
        kind = ValueError if last.split(":")[0].strip() in _INPUT_ERRORS else RuntimeError
        raise kind(f"a training process failed: {last}") from None
