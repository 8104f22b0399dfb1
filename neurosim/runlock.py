"""One writer per output folder.

Two processes writing one run folder (``neurosim train nmnist --seed 0`` and ``--seed 1``
with the same ``--out``) would each finish "successfully" and leave a mix of both runs'
files. Training, sweeps, evaluations and deployments therefore hold an exclusive lock on
their output for as long as they write to it: ``folder_lock(folder)`` holds
``folder/.neurosim.lock``, ``file_lock(path)`` holds ``.<name>.lock`` beside an output
file. A second process asking for the same lock gets ``OutputLockedError`` at once, naming
the owner (pid, host, start time, command).

The lock is an advisory ``flock`` on the lock file, so the operating system releases it
when its owner exits in any way: a lock file left behind by a killed or crashed process
is *stale* and the next run takes it over (its owner record is rewritten). Within one
process the lock is re-entrant (a training run may lock its folder again in a nested
call). ``flock`` is reliable on local file systems; on NFS it depends on the server.
"""
from __future__ import annotations

import functools
import inspect
import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from .atomic import check_output_path

__all__ = ["OutputLockedError", "folder_lock", "file_lock", "locks_folder", "LOCK_NAME"]

#: The lock file an output folder holds while a process writes to it.
LOCK_NAME = ".neurosim.lock"

_held: dict[str, list] = {}  # real path of the lock file -> [fd, depth]


class OutputLockedError(RuntimeError):
    """Another process is writing the same output folder or file."""


def _owner_record() -> str:
    return json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                       "command": " ".join(sys.argv)[:300]})


def _describe_owner(lock: Path) -> str:
    try:
        rec = json.loads(lock.read_text())
        return f"pid {rec['pid']} on {rec['host']}, since {rec['started']}: {rec['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "owner unknown"


@contextmanager
def _lock(lock: Path, what: str):
    import fcntl

    key = os.path.realpath(lock)
    if key in _held:  # re-entrant within this process
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputLockedError(f"{what} is in use by another neurosim process ({_describe_owner(lock)}); wait for "
                                    "it to finish or choose another output") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the owner removed the file between our open and flock: lock the new one
    os.ftruncate(fd, 0)
    os.write(fd, _owner_record().encode())
    _held[key] = [fd, 1]
    try:
        yield
    finally:
        del _held[key]
        try:
            os.unlink(lock)  # while still holding it: a waiting process then locks a fresh file
        except OSError:
            pass
        os.close(fd)


def _not_the_writer() -> bool:
    """Whether this process is a rank other than 0 of a ``torch.distributed`` group (data-
    parallel training, ``neurosim.parallel``): rank 0 alone writes a run's outputs. Looked
    up without importing torch."""
    dist = sys.modules.get("torch.distributed")
    return bool(dist is not None and dist.is_available() and dist.is_initialized() and dist.get_rank() != 0)


@contextmanager
def folder_lock(folder):
    """Hold the exclusive lock of output folder ``folder`` (created if missing) while the
    block runs. Raises ``OutputLockedError`` when another process holds it and
    ``NotADirectoryError`` when ``folder`` (or a folder above it) is a file. In a
    data-parallel process group only rank 0 (the one that writes) takes the lock; the
    other ranks run the block without it and write nothing there."""
    folder = check_output_path(folder, folder=True)
    if _not_the_writer():
        yield folder
        return
    folder.mkdir(parents=True, exist_ok=True)
    with _lock(folder / LOCK_NAME, f"output folder {folder}"):
        yield folder


@contextmanager
def file_lock(path):
    """Hold the exclusive lock of output file ``path`` (``.<name>.lock`` beside it) while
    the block runs. Raises ``OutputLockedError`` when another process holds it."""
    path = check_output_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path.parent / f".{path.name}.lock", f"output file {path}"):
        yield path


def locks_folder(param: str = "out_dir"):
    """Decorator: run the function while holding ``folder_lock`` of its argument ``param``
    (an output folder)."""
    def wrap(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def locked(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            with folder_lock(bound.arguments[param]):
                return fn(*args, **kwargs)
        return locked
    return wrap
