"""Reading event-camera recordings into tonic's structured event arrays.

Readers are tonic's (``tonic.io.read_mnist_file`` for N-MNIST's 5-byte ATIS records,
``tonic.io.read_aedat4`` for iniVation AEDAT 4) and expelliarmus's (Prophesee DAT, e.g.
N-CARS). This module only picks the reader by file type, converts to one dtype, and checks
files first so that a corrupt or truncated one gives a clear error instead of garbage.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["EVENT_DTYPE", "NMNIST_SENSOR", "PLAUSIBLE_SENSOR", "read_events", "EventFileError"]

EVENT_DTYPE = np.dtype([("x", "<i2"), ("y", "<i2"), ("t", "<i8"), ("p", "<i1")])
"""Events: pixel column ``x``, row ``y``, time ``t`` (microseconds), polarity ``p`` (1 ON, 0 OFF),
the field names of tonic's event arrays (its transforms accept them)."""

_NMNIST_RECORD = 5  # bytes per event: x, y, polarity bit + 23-bit timestamp
NMNIST_SENSOR = (34, 34, 2)
"""N-MNIST sensor size (width, height, polarities), as tonic's transforms take it."""

PLAUSIBLE_SENSOR = (2048, 2048)
"""(width, height) that no event coordinate may reach when neither the file's header nor
the caller states the sensor size (event cameras today have at most 1280 x 960 pixels):
beyond it an event is garbage that happened to parse. Give ``sensor_size`` for a larger
sensor."""


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


def _dat_geometry(path: str):
    """(width, height) from a Prophesee DAT header (``% Width 304`` / ``% Height 240`` or
    ``% geometry 304x240``), or None when the header does not say (older files, N-CARS)."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    width = height = None
    for line in head.split(b"\n"):
        if not line.startswith(b"%"):
            break
        words = line[1:].decode("latin-1").split()
        if len(words) >= 2 and words[0].lower() == "width" and words[1].isdigit():
            width = int(words[1])
        elif len(words) >= 2 and words[0].lower() == "height" and words[1].isdigit():
            height = int(words[1])
        elif len(words) >= 2 and words[0].lower() == "geometry" and "x" in words[1]:
            w, _, h = words[1].partition("x")
            if w.isdigit() and h.isdigit():
                width, height = int(w), int(h)
    return (width, height) if width and height else None


def _aedat4_geometry(path: str):
    """(width, height) of the first event stream declared in an AEDAT 4 header."""
    import aedat

    streams = aedat.Decoder(path).id_to_stream()
    events = [streams[k] for k in sorted(streams) if streams[k].get("type") == "events"]
    return (events[0]["width"], events[0]["height"]) if events and "width" in events[0] else None


def _check_range(path: str, ev: np.ndarray, sensor, stated: bool) -> None:
    """Coordinates inside the sensor (its stated size, else ``PLAUSIBLE_SENSOR``),
    polarities 0/1, timestamps >= 0 that never go backwards: garbage that happens to parse
    (a file of the right length, a wrong extension, a corrupted record) fails here, naming
    the first bad event."""
    bad = (ev["x"] < 0) | (ev["y"] < 0) | ((ev["p"] != 0) & (ev["p"] != 1))
    bad |= (ev["x"] >= sensor[0]) | (ev["y"] >= sensor[1])
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        size = (f"the {sensor[0]} x {sensor[1]} sensor" if stated else
                f"any plausible sensor (the file states no size; at most {sensor[0]} x {sensor[1]}: give sensor_size for a larger one)")
        raise EventFileError(f"{path!r}: event {k} (x = {ev['x'][k]}, y = {ev['y'][k]}, p = {ev['p'][k]}) lies outside {size} "
                             f"or has a polarity other than 0/1: not a valid event file of this type (corrupt?)")
    if ev.size and ev["t"][0] < 0:
        raise EventFileError(f"{path!r}: event 0 has a negative timestamp (t = {ev['t'][0]} us): corrupt?")
    back = np.flatnonzero(np.diff(ev["t"]) < 0)
    if back.size:
        k = int(back[0]) + 1
        raise EventFileError(f"{path!r}: time goes backwards at event {k} (t = {ev['t'][k - 1]} us, then {ev['t'][k]} us): "
                             "a corrupt timestamp")


def read_events(path, sensor_size=None) -> np.ndarray:
    """Read an event file: ``.bin`` / ``.bs2`` (N-MNIST ATIS format), ``.aedat4`` (AEDAT 4,
    polarity events) or ``.dat`` (Prophesee DAT, e.g. N-CARS). Returns a structured array of
    ``EVENT_DTYPE`` (n_events,), sorted by time as recorded.

    Every event must lie on the sensor: ``sensor_size`` (width, height) when given, else
    the size the format states (N-MNIST: 34 x 34; AEDAT 4 and DAT: the file header's, when
    it has one), else within ``PLAUSIBLE_SENSOR``; have polarity 0 or 1; and timestamps
    must be >= 0 and never go backwards.

    Raises ``EventFileError`` (a ``ValueError``) naming the file (and the first bad event)
    for unknown extensions, empty, truncated or corrupt files, events off the sensor and
    time going backwards; ``FileNotFoundError`` for missing files, ``IsADirectoryError``
    for a folder, ``ValueError`` for a bad ``sensor_size``.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"event file {path!r} is a folder, not a file (read the files in it one by one)")
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
            sensor = NMNIST_SENSOR[:2]
        elif ext == ".aedat4":
            import tonic.io

            ev = tonic.io.read_aedat4(path)
            out = _to_standard(ev, p="on")
            sensor = _aedat4_geometry(path)
        elif ext == ".dat":
            from expelliarmus import Wizard

            _check_dat(path, size)
            ev = Wizard(encoding="dat").read(path)
            out = _to_standard(ev)
            sensor = _dat_geometry(path)
        else:
            raise EventFileError(f"{path!r}: unknown event file type {ext!r}; supported: .bin, .bs2 (N-MNIST), .aedat4, .dat (Prophesee)")
    except (EventFileError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # damaged input makes the Rust AEDAT reader panic (a BaseException)
        raise EventFileError(f"{path!r} is not a readable {ext} event file (corrupt or truncated?): {exc}") from exc
    if sensor_size is not None:
        sensor = _check_sensor_size(sensor_size)
    _check_range(path, out, sensor or PLAUSIBLE_SENSOR, sensor is not None)
    return out


def _check_sensor_size(sensor_size) -> tuple:
    try:
        w, h = (int(v) for v in tuple(sensor_size)[:2])
    except (TypeError, ValueError):
        raise ValueError(f"sensor_size = {sensor_size!r} is invalid: give (width, height) in pixels") from None
    if w < 1 or h < 1:
        raise ValueError(f"sensor_size = {sensor_size!r} is invalid: width and height must be >= 1")
    return w, h
