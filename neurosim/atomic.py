"""Atomic writes: results, checkpoints, caches and figures go to a temporary file beside
the target and are renamed over it, so a crash or interruption never leaves a half-written
file under the final name."""
from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["plain_open_mode", "atomic_write", "atomic_write_text", "atomic_write_json", "atomic_savez"]


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, hence the above)
    os.umask(mask)
    return mask


def plain_open_mode(path) -> int:
    """The permission bits a plain ``open(path, "w")`` would leave: an existing file keeps
    its own; a new one gets 0o666 less the umask (``mkstemp`` would give 0o600)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path in the target's folder (same suffix, so
    writers that pick the format from the name still work), then rename it to ``path``.
    The file ends with the mode a plain ``open`` would give it (``plain_open_mode``).
    Creates missing folders; removes the temporary file if ``write`` raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, plain_open_mode(path))  # after writing: some writers replace the file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text))


def atomic_write_json(path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=1))


def atomic_savez(path, arrays: dict[str, np.ndarray]) -> Path:
    """``np.savez_compressed(path, **arrays)``, atomically (no pickled objects inside)."""
    def write(p):
        with open(p, "wb") as f:
            np.savez_compressed(f, **arrays)
    return atomic_write(path, write)
