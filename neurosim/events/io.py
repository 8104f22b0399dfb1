"""Reading event-camera recordings into tonic's structured event arrays.

Readers are tonic's (``tonic.io.read_mnist_file`` for N-MNIST's 5-byte ATIS records,
``tonic.io.read_aedat4`` for iniVation AEDAT 4) and expelliarmus's (Prophesee DAT, e.g.
N-CARS). This module only picks the reader by file type, converts to one dtype, and checks
files first so that a corrupt or truncated one gives a clear error instead of garbage.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["EVENT_DTYPE", "read_events", "EventFileError"]

EVENT_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])
"""Events: pixel column ``x``, row ``y``, time ``t`` (microseconds), polarity ``p`` (1 ON, 0 OFF),
the field names of tonic's event arrays (its transforms accept them)."""

_NMNIST_RECORD = 5  # bytes per event: x, y, polarity bit + 23-bit timestamp


class EventFileError(ValueError):
    """A corrupt, truncated or unsupported event file."""


def _check_dat(path: str, size: int) -> None:
    """Prophesee DAT layout: '%'-prefixed text header lines, then two bytes (event type,
    event size = 8), then whole 8-byte records (32-bit timestamp, 32-bit packed data). The
    reader does not check this, so garbage would come back as events."""
    with open(path, "rb") as f:
        data = f.read(min(size, 1 << 16))
    pos = 0
    while data[pos : pos + 1] == b"%":
        end = data.find(b"\n", pos)
        if end < 0:
            raise EventFileError(f"{path!r}: unterminated DAT header line")
        pos = end + 1
    if pos == 0:
        raise EventFileError(f"{path!r}: no '%' header: not a Prophesee DAT file")
    if size < pos + 2:
        raise EventFileError(f"{path!r}: DAT header without the event type/size bytes (truncated?)")
    ev_size = data[pos + 1]
    if ev_size != 8:
        raise EventFileError(f"{path!r}: DAT event size {ev_size} bytes; expected 8 (corrupt header?)")
    if (size - pos - 2) % ev_size:
        raise EventFileError(f"{path!r}: {size - pos - 2} bytes of events is not a whole number of {ev_size}-byte records (truncated?)")


def _to_standard(ev, x="x", y="y", t="t", p="p") -> np.ndarray:
    out = np.empty(len(ev), EVENT_DTYPE)
    out["x"], out["y"], out["t"], out["p"] = ev[x], ev[y], ev[t], np.asarray(ev[p]).astype(np.int8)
    return out


def read_events(path) -> np.ndarray:
    """Read an event file: ``.bin`` / ``.bs2`` (N-MNIST ATIS format), ``.aedat4`` (AEDAT 4,
    polarity events) or ``.dat`` (Prophesee DAT, e.g. N-CARS). Returns a structured array of
    ``EVENT_DTYPE`` (n_events,), sorted by time as recorded.

    Raises ``EventFileError`` (a ``ValueError``) naming the file for unknown extensions,
    empty, truncated or corrupt files, and ``FileNotFoundError`` for missing ones.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"event file {path!r} does not exist")
    ext = os.path.splitext(path)[1].lower()
    size = os.path.getsize(path)
    if size == 0:
        raise EventFileError(f"{path!r} is empty")
    try:
        if ext in (".bin", ".bs2"):
            if size % _NMNIST_RECORD:
                raise EventFileError(f"{path!r}: {size} bytes is not a whole number of {_NMNIST_RECORD}-byte N-MNIST "
                                     f"events (truncated?)")
            import tonic.io

            ev = tonic.io.read_mnist_file(path, dtype=np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
            out = _to_standard(ev)
        elif ext == ".aedat4":
            import tonic.io

            ev = tonic.io.read_aedat4(path)
            out = _to_standard(ev, p="on")
        elif ext == ".dat":
            from expelliarmus import Wizard

            _check_dat(path, size)
            ev = Wizard(encoding="dat").read(path)
            out = _to_standard(ev)
        else:
            raise EventFileError(f"{path!r}: unknown event file type {ext!r}; supported: .bin, .bs2 (N-MNIST), .aedat4, .dat (Prophesee)")
    except (EventFileError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # damaged input makes the Rust AEDAT reader panic (a BaseException)
        raise EventFileError(f"{path!r} is not a readable {ext} event file (corrupt or truncated?): {exc}") from exc
    if out.size and (np.any(np.diff(out["t"]) < 0) and ext in (".bin", ".bs2")):
        raise EventFileError(f"{path!r}: timestamps go backwards: not an N-MNIST event file")
    return out
