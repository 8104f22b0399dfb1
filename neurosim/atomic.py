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

__all__ = ["plain_open_mode", "check_output_path", "prepare_output_folder", "atomic_write", "atomic_write_text",
           "atomic_write_json", "atomic_savez", "atomic_write_h5"]


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


def check_output_path(path, folder: bool = False) -> Path:
    """Check, before any work, that ``path`` can be created: no existing folder above it is
    a file, and ``path`` itself is not a folder (``folder=False``: a file is to be written
    there) or not a file (``folder=True``). Raises ``NotADirectoryError`` or
    ``IsADirectoryError`` naming the path; returns it as a ``Path``."""
    path = Path(path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(f"cannot write {path}: {parent} is a file, not a folder")
            break
    if folder and path.exists() and not path.is_dir():
        raise NotADirectoryError(f"output folder {path} is a file, not a folder")
    if not folder and path.is_dir():
        raise IsADirectoryError(f"cannot write {path}: it is a folder, not a file")
    return path


def prepare_output_folder(path) -> Path:
    """Create the output folder ``path`` (and its parents) and check that it can be written
    to, by writing a probe file (permission bits do not tell for root or ACLs). Raises
    ``NotADirectoryError`` (``check_output_path``) or ``PermissionError`` naming it."""
    path = check_output_path(path, folder=True)
    probe = path / f".write-test-{os.getpid()}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
    except OSError as exc:
        raise PermissionError(f"cannot write to the output folder {path}: {exc.strerror or exc}") from exc
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    return path


def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary path in the target's folder (same suffix, so
    writers that pick the format from the name still work), then rename it to ``path``.
    The file ends with the mode a plain ``open`` would give it (``plain_open_mode``).
    Creates missing folders; removes the temporary file if ``write`` raises. Raises
    ``NotADirectoryError`` / ``IsADirectoryError`` (``check_output_path``) when a folder on
    the way is a file or ``path`` is a folder."""
    path = check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp" + path.suffix)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {path}: {exc.strerror}") from None
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, plain_open_mode(path))  # after writing: some writers replace the file
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
            # e.g. "No space left on device": say which file; the earlier one is untouched
            raise type(exc)(exc.errno, f"cannot write {path} ({exc.strerror}); an earlier {path.name} is left as it was") \
                from None
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (``atomic_write``); returns the path."""
    return atomic_write(path, lambda p: p.write_text(text))


def atomic_write_json(path, obj) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (``atomic_write``); returns the path."""
    return atomic_write_text(path, json.dumps(obj, indent=1))


def atomic_savez(path, arrays: dict[str, np.ndarray]) -> Path:
    """``np.savez_compressed(path, **arrays)``, atomically. No pickled objects go in: an
    array of Python objects (dtype ``object``, which numpy would pickle) raises
    ``ValueError`` naming its key, before anything is written."""
    checked = {}
    for key, value in arrays.items():
        try:
            arr = checked[key] = np.asarray(value)
        except ValueError as exc:  # ragged nested lists
            raise ValueError(f"array {key!r} cannot be stored as one array: {exc}") from None
        if arr.dtype.hasobject:
            raise ValueError(f"array {key!r} holds Python objects (dtype {arr.dtype}), which would be pickled; "
                             "give numeric, boolean or string arrays")

    def write(p):
        with open(p, "wb") as f:
            np.savez_compressed(f, **checked)
    return atomic_write(path, write)


def atomic_write_h5(path, datasets: dict, attrs: dict | None = None) -> Path:
    """An HDF5 file of ``datasets`` (name -> array; arrays of 2 or more dimensions
    gzip-compressed) and file attributes ``attrs``, written atomically."""
    import h5py

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            for key, value in datasets.items():
                f.create_dataset(key, data=value, compression="gzip" if np.ndim(value) > 1 else None)
            for key, value in (attrs or {}).items():
                f.attrs[key] = value
    return atomic_write(path, write)
