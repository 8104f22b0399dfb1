"""Checksums for what neurosim writes and later reads back: training checkpoints, trained
weights, cached layers and the records a resumed run or sweep trusts.

A damaged file must never load as if it were sound: flipped bytes inside a tensor's data
leave a PyTorch file loadable (its zip container keeps no checksum that ``torch.load``
verifies), and a changed digit in a JSON record is still JSON. So every such file carries
the SHA-256 of its contents, checked on every load:

* torch files (``save_torch``): a small wrapper ``{"format": "neurosim.checked",
  "version": 1, "sha256": ..., "payload": uint8 tensor}`` whose payload is the
  ``torch.save`` bytes of the state; ``load_torch`` verifies the hash, then reads the
  payload with ``weights_only=True`` (no arbitrary objects are unpickled).
* JSON records (``write_checked_json``): the object with one more key, ``"sha256"``, the
  hash of the object's canonical JSON (sorted keys, no spaces).

Files written before checksums existed still load, with a ``UserWarning`` saying they
cannot be verified. A mismatch raises ``CorruptFileError`` naming the file.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import warnings
from pathlib import Path

from .atomic import atomic_write, atomic_write_json

__all__ = ["CorruptFileError", "save_torch", "load_torch", "write_checked_json", "read_checked_json", "json_checksum",
           "check_finite_tensors", "brief"]

_FORMAT = "neurosim.checked"
_VERSION = 1


class CorruptFileError(ValueError):
    """A file neurosim wrote that no longer matches its checksum, or that cannot be read
    at all: damaged on disk, truncated, or edited by hand."""


def brief(exc: BaseException, limit: int = 300) -> str:
    """``exc`` as one short line, ``Type: message`` (torch's messages span several lines)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_torch(path, state) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists and dicts of them) to ``path`` with
    its SHA-256, atomically (``neurosim.atomic``). Returns the path."""
    import torch

    buf = io.BytesIO()
    torch.save(state, buf)
    data = buf.getvalue()
    wrapped = {"format": _FORMAT, "version": _VERSION, "sha256": _sha256(data),
               "payload": torch.frombuffer(bytearray(data), dtype=torch.uint8)}
    out = io.BytesIO()
    torch.save(wrapped, out)
    # written by Python, not torch: a full disk is an OSError saying so, not torch's RuntimeError
    return atomic_write(path, lambda p: p.write_bytes(out.getvalue()))


def load_torch(path, what: str = "checkpoint"):
    """The state saved by ``save_torch`` at ``path``, after checking its SHA-256; read with
    ``torch.load(weights_only=True)``. ``what`` names the file in errors ("checkpoint",
    "trained weights", ...). A file without a checksum (older neurosim) loads with a
    ``UserWarning``. Raises ``FileNotFoundError`` for a missing file and
    ``CorruptFileError`` for an unreadable one or a checksum mismatch."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")

    def read(source):
        try:
            return torch.load(source, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError,
                UnicodeDecodeError, pickle.UnpicklingError) as exc:
            raise CorruptFileError(f"{what} {path} is damaged or not a PyTorch file ({brief(exc, 200)})") from None

    raw = read(path)
    if not (isinstance(raw, dict) and raw.get("format") == _FORMAT):
        warnings.warn(f"{what} {path} carries no checksum (written by an older neurosim): it cannot be verified",
                      UserWarning, stacklevel=2)
        return raw
    payload = raw.get("payload")
    if raw.get("version") != _VERSION or not isinstance(payload, torch.Tensor) or payload.dtype != torch.uint8 \
            or payload.dim() != 1 or not isinstance(raw.get("sha256"), str):
        raise CorruptFileError(f"{what} {path}: malformed checked file (version {raw.get('version')!r})")
    data = payload.numpy().tobytes()
    got = _sha256(data)
    if got != raw["sha256"]:
        raise CorruptFileError(f"{what} {path} is damaged: its contents no longer match the SHA-256 stored with them "
                               f"({got[:12]}... != {raw['sha256'][:12]}...); it was changed after it was written")
    return read(io.BytesIO(data))


def json_checksum(obj) -> str:
    """SHA-256 of ``obj``'s canonical JSON (sorted keys, no spaces)."""
    return _sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode())


def write_checked_json(path, obj: dict) -> Path:
    """Write the dict ``obj`` as JSON with a ``"sha256"`` entry, atomically."""
    if not isinstance(obj, dict) or "sha256" in obj:
        raise ValueError("write_checked_json takes a dict without a 'sha256' key")
    obj = json.loads(json.dumps(obj))  # what a reader will see (tuples as lists, ...)
    return atomic_write_json(path, {**obj, "sha256": json_checksum(obj)})


def read_checked_json(path, what: str = "record") -> dict:
    """The dict written by ``write_checked_json``, after checking its SHA-256 (without the
    ``"sha256"`` key). A dict without one (older neurosim) loads with a ``UserWarning``.
    Raises ``FileNotFoundError`` and ``CorruptFileError`` naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CorruptFileError(f"{what} {path} is damaged or not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CorruptFileError(f"{what} {path} holds a JSON {type(data).__name__}, expected an object")
    want = data.pop("sha256", None)
    if want is None:
        warnings.warn(f"{what} {path} carries no checksum (written by an older neurosim): it cannot be verified",
                      UserWarning, stacklevel=2)
    elif want != json_checksum(data):
        raise CorruptFileError(f"{what} {path} is damaged: its contents no longer match the SHA-256 stored with them")
    return data


def check_finite_tensors(state, where: str) -> None:
    """Raise ``CorruptFileError`` naming ``where`` and the entry when a floating-point tensor
    anywhere in ``state`` (nested dicts, lists) holds NaN or infinity: such weights would
    only give NaN outputs (a run diverged before it was saved, or the file was edited)."""
    import torch

    def walk(x, key):
        if isinstance(x, torch.Tensor):
            if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                raise CorruptFileError(f"{where}: {key} holds NaN or infinite values; it cannot be used (did the run "
                                       "diverge? start again with a lower learning rate)")
        elif isinstance(x, dict):
            for k, v in x.items():
                walk(v, f"{key}.{k}" if key else str(k))
        elif isinstance(x, (list, tuple)):
            for k, v in enumerate(x):
                walk(v, f"{key}[{k}]")

    walk(state, "")

