"""Whole-brain calcium recordings: readers, resampling and causal normalisation.

* ``read_flavell(path)``: the Flavell-lab HDF5 recordings (Dag, Nwabudike, Kang et al. 2023,
  Cell 186; the "Dag2023" dataset of Simeon et al. 2024);
* ``read_homogenized(path)`` / ``write_homogenized(recordings, path)``: the parquet schema of
  the homogenised C. elegans neural-activity dataset of Simeon et al. (2024): one row per
  neuron slot of a worm, columns ``source_dataset, worm, neuron, slot, is_labeled_neuron,
  calcium_data, time_in_seconds`` (+ any others, ignored);
* ``Recording.resample(dt)`` (linear interpolation onto a common grid, default 1/3 s as in
  that paper) and ``Recording.normalize()`` (causal z-score: each sample standardised by
  the mean and standard deviation of the samples up to and including it).

Corrupt, truncated or incomplete files raise ``ValueError`` naming the file and the problem.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import numpy as np

from neurosim.atomic import atomic_write

__all__ = ["Recording", "read_flavell", "read_labels", "read_homogenized", "write_homogenized", "causal_zscore",
           "HOMOGENIZED_COLUMNS", "LABEL_COLUMNS"]

#: The columns of the homogenised whole-brain activity dataset (Simeon et al. 2024) that ``read_homogenized`` needs.
HOMOGENIZED_COLUMNS = ("source_dataset", "worm", "neuron", "slot", "is_labeled_neuron", "calcium_data", "time_in_seconds")


@dataclass(frozen=True, eq=False)
class Recording:
    """One worm's recording: ``traces`` (T, N) calcium signal, ``time`` (T,) in s from the
    first frame, ``neurons`` (N,) labels (``"unlabeled_<k>"`` where the identity is
    unknown; an uncertain NeuroPAL label keeps its ``?``, e.g. ``"SAAD?"``), ``is_labeled``
    (N,); optional behaviour: ``velocity`` (T,) and ``reversals`` (K, 2) start/end times in
    s; optional identities (``read_flavell(..., labels=...)``): ``classes`` (N,) the
    anatomical class of each trace (``connectomes.neuron_class``; ``""`` unlabelled) and
    ``uncertain`` (N,) True where the label carries a ``?``."""

    source: str
    worm: str
    traces: np.ndarray
    time: np.ndarray
    neurons: tuple
    is_labeled: np.ndarray
    velocity: np.ndarray | None = None
    reversals: np.ndarray | None = None
    classes: tuple | None = None
    uncertain: np.ndarray | None = None

    def __post_init__(self):
        t, x = np.asarray(self.time, float), np.asarray(self.traces, float)
        where = f"recording {self.source}/{self.worm}"
        if x.ndim != 2 or t.ndim != 1 or x.shape[0] != t.size:
            raise ValueError(f"{where}: traces must be (T, N) with T = len(time); got {x.shape} and {t.shape}")
        if x.shape[1] != len(self.neurons):
            raise ValueError(f"{where}: {x.shape[1]} trace columns but {len(self.neurons)} neuron labels")
        if not np.all(np.isfinite(t)) or (t.size > 1 and np.any(np.diff(t) <= 0)):
            raise ValueError(f"{where}: time stamps must be finite and increase strictly")
        object.__setattr__(self, "time", t)
        object.__setattr__(self, "traces", x)
        for what in ("classes", "uncertain"):
            v = getattr(self, what)
            if v is not None and len(v) != len(self.neurons):
                raise ValueError(f"{where}: {len(v)} entries in {what} but {len(self.neurons)} neurons")

    def certain(self) -> np.ndarray:
        """Indices of the traces with a certain identity (labelled, no ``?``)."""
        unsure = self.uncertain if self.uncertain is not None else np.zeros(len(self.neurons), bool)
        return np.flatnonzero(np.asarray(self.is_labeled, bool) & ~unsure)

    @property
    def median_dt(self) -> float:
        """Median sampling interval (s)."""
        return float(np.median(np.diff(self.time))) if self.time.size > 1 else float("nan")

    def resample(self, dt: float = 1 / 3) -> "Recording":
        """Linear interpolation onto ``0, dt, 2 dt, ...`` up to the last sample (NaNs in a
        trace stay NaN where they are the nearest samples)."""
        if not dt > 0:
            raise ValueError(f"dt = {dt!r} must be > 0 s")
        grid = np.arange(0.0, self.time[-1] + 1e-9, dt)
        cols = [np.interp(grid, self.time, c, left=np.nan, right=np.nan) for c in self.traces.T]
        vel = np.interp(grid, self.time, self.velocity) if self.velocity is not None else None
        return dataclasses.replace(self, traces=np.stack(cols, 1) if cols else np.zeros((grid.size, 0)), time=grid, velocity=vel)

    def normalize(self, min_samples: int = 2) -> "Recording":
        """Causal z-score of every trace (see ``causal_zscore``)."""
        return dataclasses.replace(self, traces=causal_zscore(self.traces, min_samples))


def causal_zscore(x: np.ndarray, min_samples: int = 2) -> np.ndarray:
    """Standardise each column of ``x`` (T, N) at every time by the mean and (population)
    standard deviation of its samples up to and including that time, so no future sample
    is used. NaN samples (gaps) are skipped: they stay NaN in the output and do not enter
    the statistics of later samples. Until a column has ``min_samples`` valid samples (and
    over constant stretches) the output is 0. Raises ``ValueError`` for other shapes."""
    x = np.asarray(x, float)
    if x.ndim != 2:
        raise ValueError(f"causal_zscore: x must be (T, N), got shape {x.shape}")
    if isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer)) or min_samples < 1:
        raise ValueError(f"causal_zscore: min_samples = {min_samples!r} must be an integer >= 1")
    valid = ~np.isnan(x)
    x0 = np.where(valid, x, 0.0)
    n = np.cumsum(valid, 0, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.cumsum(x0, 0) / n
        var = np.maximum(np.cumsum(x0 * x0, 0) / n - mean**2, 0.0)
        sd = np.sqrt(var)
        z = np.where((sd > 1e-12 * (1 + np.abs(mean))) & (n >= min_samples), (x - mean) / sd, 0.0)
    z[~valid] = np.nan
    return z


def _dataset(f, key: str, path: str, required: bool = True):
    """``f[key][()]`` as an array; ``None`` for a missing optional entry. A group (or any
    non-dataset) where a dataset belongs is an error naming the file and the key."""
    import h5py

    if key not in f:
        if required:
            raise ValueError(f"{path!r}: not a Flavell recording, missing dataset {key!r}")
        return None
    node = f[key]
    if not isinstance(node, h5py.Dataset):
        raise ValueError(f"{path!r}: {key!r} is a {type(node).__name__}, expected a dataset")
    return np.asarray(node[()])


LABEL_COLUMNS = ("file", "trace_index", "label", "neuron_class", "roi_id", "confidence")
"""Columns of a NeuroPAL labels file (``../shared/data/celegans_activity/neuropal_labels.csv``):
the recording's file name, the 0-based column of ``gcamp/trace_array``, the label (``AVAL``;
a trailing ``?`` marks an uncertain one, which may name a class without its side, ``AIA?``),
its class, the 1-based NeuroPAL ROI and the labeller's confidence (1-5)."""


def read_labels(path) -> dict:
    """A NeuroPAL labels file (``LABEL_COLUMNS``, CSV) as ``{file name: [row, ...]}``, each
    row a dict with ``trace_index`` (int), ``label`` (str, canonical spelling, ``?`` kept),
    ``neuron_class`` (ours: ``connectomes.neuron_class`` of the label, else the file's class
    column checked against the 118 classes), ``roi_id`` (int), ``confidence`` (float) and
    ``uncertain`` (bool). Raises ``FileNotFoundError`` and ``ValueError`` naming the file,
    the line and the problem (missing columns, non-integer indices, unknown neurons or
    classes)."""
    import csv

    from .names import UnknownNeuronError, neuron_class, neurons, normalize_name

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"labels file {path!r} does not exist")
    classes = {neuron_class(n) for n in neurons()}
    out: dict = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in LABEL_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path!r}: missing columns {missing}; a labels file has {list(LABEL_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            where = f"{path!r} line {line}"
            try:
                trace, roi, conf = int(row["trace_index"]), int(row["roi_id"]), float(row["confidence"])
            except (TypeError, ValueError):
                raise ValueError(f"{where}: trace_index and roi_id must be integers and confidence a number; got "
                                 f"{row['trace_index']!r}, {row['roi_id']!r}, {row['confidence']!r}") from None
            label = (row["label"] or "").strip()
            unsure = label.endswith("?")
            name = label.rstrip("?").strip()
            try:
                name = normalize_name(name)
                cls = neuron_class(name)
            except UnknownNeuronError:
                if not unsure:  # a certain label must name one neuron
                    raise ValueError(f"{where}: {label!r} is not a C. elegans neuron") from None
                cls = (row["neuron_class"] or "").strip().upper()
                if cls not in classes:
                    raise ValueError(f"{where}: uncertain label {label!r} with class {row['neuron_class']!r}, which is "
                                     "not one of the 118 neuron classes") from None
            out.setdefault(os.path.basename(row["file"] or ""), []).append(
                {"trace_index": trace, "label": name + ("?" if unsure else ""), "neuron_class": cls, "roi_id": roi,
                 "confidence": conf, "uncertain": unsure})
    return out


def _apply_labels(rec: Recording, rows: list, roi_match, where: str) -> Recording:
    """``rec`` with the identities of ``rows`` (``read_labels``), checked against the
    recording: trace indices in range and unique, no certain label twice, and (when the file
    has its ``neuropal_registration/roi_match``) every row's ROI registered to its trace."""
    n = len(rec.neurons)
    names, classes, labeled, unsure = list(rec.neurons), [""] * n, np.zeros(n, bool), np.zeros(n, bool)
    seen: dict = {}
    for row in rows:
        k = row["trace_index"]
        if not 0 <= k < n:
            raise ValueError(f"{where}: label {row['label']!r} is for trace {k}, but the recording has traces 0..{n - 1} "
                             "(a labels file for another recording?)")
        if labeled[k]:
            raise ValueError(f"{where}: trace {k} is labelled twice ({names[k]!r} and {row['label']!r})")
        if not row["uncertain"]:
            if row["label"] in seen:
                raise ValueError(f"{where}: {row['label']!r} labels two traces ({seen[row['label']]} and {k}); a neuron is "
                                 "recorded once")
            seen[row["label"]] = k
        if roi_match is not None:
            r = row["roi_id"]
            if not (1 <= r <= roi_match.size and roi_match[r - 1] == k + 1):
                got = roi_match[r - 1] - 1 if 1 <= r <= roi_match.size else None
                raise ValueError(f"{where}: {row['label']!r} is ROI {r} on trace {k}, but the recording's NeuroPAL "
                                 f"registration puts ROI {r} on {'no trace' if got in (None, -1) else f'trace {got}'} "
                                 "(the labels belong to another recording?)")
        names[k], classes[k], labeled[k], unsure[k] = row["label"], row["neuron_class"], True, row["uncertain"]
    return dataclasses.replace(rec, neurons=tuple(names), is_labeled=labeled, classes=tuple(classes), uncertain=unsure)


def read_flavell(path, labels=None) -> Recording:
    """Read a Flavell-lab recording (``gcamp/trace_array`` (T x N), ``timing/timestamp_confocal``
    (T,) in s, optional ``behavior/velocity`` (T,) and ``behavior/reversal_events`` (2 x K,
    0-based half-open frame intervals [start, end), 0 <= start < end <= T; an end at T
    is taken at the last frame's time)). Neuron identities are not in these files: labels
    are ``unlabeled_<k>`` unless ``labels`` (a NeuroPAL labels file, ``read_labels``, or its
    result) names them: then ``neurons``, ``is_labeled``, ``classes`` and ``uncertain`` come
    from its rows for this file (matched by file name; unlabelled traces kept), checked as
    ``_apply_labels`` says. A labels file without rows for this recording, rows outside its
    traces, a trace or a certain label given twice, or ROIs its own registration puts on
    other traces raise ``ValueError``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file and
    the problem for unreadable HDF5, missing or mistyped datasets, zero frames, mismatched
    shapes and reversal frames outside the recording.
    """
    import h5py

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"recording {path!r} does not exist")
    try:
        with h5py.File(path, "r") as f:
            traces = _dataset(f, "gcamp/trace_array", path)
            stamps = _dataset(f, "timing/timestamp_confocal", path)
            vel = _dataset(f, "behavior/velocity", path, required=False)
            ev = _dataset(f, "behavior/reversal_events", path, required=False)
            roi_match = _dataset(f, "neuropal_registration/roi_match", path, required=False)
    except (OSError, KeyError, TypeError) as exc:
        raise ValueError(f"{path!r} is not a readable HDF5 recording (corrupt or truncated?): {exc}") from exc
    if traces.dtype.kind not in "iuf" or stamps.dtype.kind not in "iuf":
        raise ValueError(f"{path!r}: traces and time stamps must be numeric, got {traces.dtype} and {stamps.dtype}")
    if traces.ndim != 2 or stamps.ndim != 1 or traces.shape[0] != stamps.size:
        raise ValueError(f"{path!r}: gcamp/trace_array {traces.shape} does not match time stamps {stamps.shape} (expected (T, N) and (T,))")
    if stamps.size == 0:
        raise ValueError(f"{path!r}: the recording has zero frames")
    n_frames = stamps.size
    if vel is not None and vel.shape != (n_frames,):
        raise ValueError(f"{path!r}: behavior/velocity has shape {vel.shape}, expected ({n_frames},)")
    t = stamps - stamps[0]
    rev = None
    if ev is not None and ev.size:
        if ev.ndim != 2 or ev.shape[0] != 2 or ev.dtype.kind not in "iu":
            raise ValueError(f"{path!r}: behavior/reversal_events must be integer frames of shape (2, K), got {ev.dtype} {ev.shape}")
        ev = ev.astype(np.int64)
        bad = np.flatnonzero((ev[0] < 0) | (ev[0] >= ev[1]) | (ev[1] > n_frames))
        if bad.size:
            k = bad[0]
            raise ValueError(f"{path!r}: reversal event {k} spans frames [{ev[0, k]}, {ev[1, k]}): needs 0 <= start < end <= "
                             f"{n_frames} (the recording has {n_frames} frames)")
        rev = np.stack([t[ev[0]], t[np.minimum(ev[1], n_frames - 1)]], 1)
    n = traces.shape[1]
    rec = Recording("flavell", os.path.splitext(os.path.basename(path))[0], traces, t,
                    tuple(f"unlabeled_{k}" for k in range(n)), np.zeros(n, bool), vel, rev)
    if labels is None:
        return rec
    table = labels if isinstance(labels, dict) else read_labels(labels)
    rows = table.get(os.path.basename(path))
    if not rows:
        raise ValueError(f"the labels have no rows for recording {os.path.basename(path)!r}; they label "
                         f"{sorted(table)[:5]}{' ...' if len(table) > 5 else ''}")
    if roi_match is not None and (roi_match.ndim != 1 or roi_match.dtype.kind not in "iu"):
        raise ValueError(f"{path!r}: neuropal_registration/roi_match must be a 1-D integer array, got {roi_match.dtype} "
                         f"{roi_match.shape}")
    return _apply_labels(rec, rows, roi_match, f"recording {path!r}")


def read_homogenized(path) -> list[Recording]:
    """Read a parquet file in the homogenised-dataset schema (``HOMOGENIZED_COLUMNS``):
    one ``Recording`` per (source_dataset, worm), neurons ordered by ``slot``. Raises
    ``FileNotFoundError`` for a missing file, ``IsADirectoryError`` for a folder and
    ``ValueError`` naming the file for damaged or foreign contents."""
    import pyarrow.parquet as pq

    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"recording file {path!r} is a folder, not a parquet file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"recording file {path!r} does not exist")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise ValueError(f"{path!r} is not a readable parquet file (corrupt or truncated?): {exc}") from exc
    missing = [c for c in HOMOGENIZED_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"{path!r}: missing columns {missing}; the homogenized schema needs {list(HOMOGENIZED_COLUMNS)}")
    cols = {c: table.column(c).to_pylist() for c in HOMOGENIZED_COLUMNS}
    groups: dict = {}
    for k in range(table.num_rows):
        groups.setdefault((cols["source_dataset"][k], str(cols["worm"][k])), []).append(k)
    out = []
    for (source, worm), rows in groups.items():
        rows.sort(key=lambda k: cols["slot"][k])
        t = np.asarray(cols["time_in_seconds"][rows[0]], float).ravel()
        traces = []
        for k in rows:
            c = np.asarray(cols["calcium_data"][k], float).ravel()
            tk = np.asarray(cols["time_in_seconds"][k], float).ravel()
            if c.size != t.size or not np.allclose(tk, t):
                raise ValueError(f"{path!r}: {source}/{worm} neuron {cols['neuron'][k]!r} has {c.size} samples on its own time base; "
                                 f"all neurons of a worm must share time_in_seconds ({t.size} samples)")
            traces.append(c)
        t0 = t - t[0]
        out.append(Recording(source, worm, np.stack(traces, 1), t0, tuple(cols["neuron"][k] for k in rows),
                             np.array([bool(cols["is_labeled_neuron"][k]) for k in rows])))
    return out


def write_homogenized(recordings, path) -> None:
    """Write recordings in the homogenised parquet schema (atomically)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = {c: [] for c in HOMOGENIZED_COLUMNS}
    for rec in recordings:
        for slot, name in enumerate(rec.neurons):
            rows["source_dataset"].append(rec.source)
            rows["worm"].append(rec.worm)
            rows["neuron"].append(name)
            rows["slot"].append(slot)
            rows["is_labeled_neuron"].append(bool(rec.is_labeled[slot]))
            rows["calcium_data"].append(rec.traces[:, slot].tolist())
            rows["time_in_seconds"].append(rec.time.tolist())
    atomic_write(path, lambda p: pq.write_table(pa.table(rows), p))
