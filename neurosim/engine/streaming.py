"""Monitors that stream to HDF5 while the run goes on (``SpikeMonitor(..., file=PATH)``,
``StateMonitor(..., file=PATH)``), and reading such a file back (``read_recording``).

**Memory** is bounded by one chunk of the run (``Simulator.run(chunk_steps=...)``; the
kernel's spike buffer also ends a chunk early when it fills), not by the run: after every
chunk the recorded spikes and samples are handed to a writer thread, which appends them to
the file while the next chunk is simulated (the kernels release the GIL). At most two chunks
wait for the writer.

**File layout** (one file per path; monitors of several populations may share one):
``spikes/<population>/step`` (int64, the step of each spike; time = step * dt) and
``spikes/<population>/id`` (int32, index within the population), sorted by step;
``traces/<population>/step`` (int64, the step of each sample) and
``traces/<population>/<variable>`` (n_samples, n_neurons) in SI units, the neurons in
``attrs["neurons"]``; file attributes ``format``, ``dt``, ``t_start``, ``duration``
(planned); the dataset ``progress`` = [steps written so far, 1 once the run has finished].

**Readable while running and after an interrupt.** The file is written in HDF5's
single-writer/multiple-reader mode (SWMR): while the run writes, a reader opens it with
``h5py.File(path, "r", swmr=True)`` (``read_recording`` does when a plain open is refused)
and sees every chunk flushed so far. After an interrupt (Ctrl-C / SIGINT, an exception) the file is closed with every chunk
the kernel finished and ``progress[1] == 0`` (tested). A killed process (SIGKILL, power
loss) cannot close the file: HDF5 then keeps it marked as open for writing (its ``h5clear
-s`` tool clears the mark); SWMR writing keeps the file consistent at every flush, so what
it holds is the chunks flushed before the kill (not tested here).
"""
from __future__ import annotations

import queue
import threading
from pathlib import Path

import numpy as np

__all__ = ["FORMAT", "Stream", "open_streams", "read_recording"]

#: The format tag of a streamed HDF5 recording (its ``format`` attribute); ``read_recording`` refuses others.
FORMAT = "neurosim-recording-1"
_CHUNK_ROWS = 1 << 16  # HDF5 chunk of the spike datasets (512 KiB of steps)


class Stream:
    """One HDF5 file a run writes into (module docstring): ``add_spikes``/``add_traces``
    before ``start``, then ``put`` per chunk from the simulation thread, ``close`` at the
    end (``finished``: the run completed)."""

    def __init__(self, path, dt: float, t_start: float, duration: float):
        self.path = Path(path)
        self.dt, self.t_start, self.duration = dt, t_start, duration
        self.spike_groups, self.trace_groups = {}, {}
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._thread = None
        self._error = None
        self._file = None

    def add_spikes(self, population: str, size: int, neurons: np.ndarray) -> None:
        self.spike_groups[population] = (size, neurons)

    def add_traces(self, population: str, variables, neurons: np.ndarray, dtype) -> None:
        self.trace_groups[population] = (tuple(variables), neurons, np.dtype(dtype))

    def start(self) -> None:
        """Create the file and its datasets, switch to SWMR, start the writer thread.
        Raises ``OSError`` naming the file when it cannot be created."""
        import h5py

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            f = h5py.File(self.path, "w", libver="latest")
        except OSError as exc:
            raise OSError(f"cannot create the recording file {self.path}: {exc}") from None
        f.attrs.update({"format": FORMAT, "dt": self.dt, "t_start": self.t_start, "duration": self.duration})
        f.create_dataset("progress", data=np.zeros(2, np.int64))
        for pop, (size, neurons) in self.spike_groups.items():
            g = f.create_group(f"spikes/{pop}")
            g.attrs.update({"size": size, "neurons": neurons})
            g.create_dataset("step", (0,), np.int64, maxshape=(None,), chunks=(_CHUNK_ROWS,))
            g.create_dataset("id", (0,), np.int32, maxshape=(None,), chunks=(_CHUNK_ROWS,))
        for pop, (variables, neurons, dtype) in self.trace_groups.items():
            g = f.create_group(f"traces/{pop}")
            g.attrs["neurons"] = neurons
            rows = max(1, min(4096, _CHUNK_ROWS // max(1, neurons.size)))
            g.create_dataset("step", (0,), np.int64, maxshape=(None,), chunks=(rows,))
            for var in variables:
                g.create_dataset(var, (0, neurons.size), dtype, maxshape=(None, neurons.size), chunks=(rows, neurons.size))
        f.swmr_mode = True
        self._file = f
        self._thread = threading.Thread(target=self._write_loop, name=f"neurosim-stream-{self.path.name}", daemon=True)
        self._thread.start()

    def put(self, steps_done: int, spikes: dict, traces: dict) -> None:
        """Hand one chunk to the writer: ``spikes`` {population: (steps, ids)}, ``traces``
        {population: (steps, {variable: (n, n_neurons)})}; blocks while two chunks wait.
        Raises the writer's error (e.g. a full disk), naming the file."""
        self._raise()
        self._queue.put((steps_done, spikes, traces))

    def close(self, finished: bool) -> None:
        """Write what is queued, mark the file finished (or not), close it."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._file is not None:
            try:
                if self._error is None:
                    self._file["progress"][1] = int(finished)
                    self._file.flush()
            finally:
                self._file.close()
                self._file = None
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise OSError(f"writing the recording {self.path} failed: {err}") from err

    def _write_loop(self) -> None:
        f = self._file
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain: the simulation thread sees the error at its next put
            try:
                steps_done, spikes, traces = item
                for pop, (steps, ids) in spikes.items():
                    _append(f[f"spikes/{pop}/step"], steps)
                    _append(f[f"spikes/{pop}/id"], ids.astype(np.int32))
                for pop, (steps, data) in traces.items():
                    _append(f[f"traces/{pop}/step"], steps)
                    for var, values in data.items():
                        _append(f[f"traces/{pop}/{var}"], values)
                f["progress"][0] = steps_done
                f.flush()
            except Exception as exc:  # noqa: BLE001 - reported to the simulation thread
                self._error = exc


def _append(ds, values: np.ndarray) -> None:
    if len(values):
        n = ds.shape[0]
        ds.resize(n + len(values), axis=0)
        ds[n:] = values


def open_streams(spike_monitors, state_monitors, network, dt: float, t_start: float, duration: float, dtype) -> dict:
    """``{path: Stream}`` for the monitors with a ``file``, not started. Raises
    ``ValueError`` when one population is streamed into two files by two monitors of one kind
    (a monitor records one population)."""
    from ..monitors import StateMonitor, resolve_neurons

    streams: dict = {}
    for m in [*spike_monitors, *state_monitors]:
        if m.file is None:
            continue
        path = Path(m.file).resolve()
        s = streams.setdefault(path, Stream(m.file, dt, t_start, duration))
        node = network.node(m.population)
        idx = resolve_neurons(f"{type(m).__name__}({m.population!r})", m.neurons, node.size)
        if isinstance(m, StateMonitor):
            s.add_traces(m.population, m.variables, idx, dtype)
        else:
            s.add_spikes(m.population, node.size, idx)
    return streams


def read_recording(path, start: float | None = None, stop: float | None = None):
    """A streamed recording as ``Results`` (``spikes`` and ``traces`` by population), whole
    or the spikes and samples with ``start <= t < stop`` (s); readable while the run still
    writes it. ``Results.info``: ``{"steps_written", "finished"}``. Raises
    ``FileNotFoundError``, and ``ValueError`` naming the file for one that is not a neurosim
    recording or cannot be read (truncated)."""
    import h5py

    from ..results import Results, SpikeTrains, Traces

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such recording")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        if "truncated" in str(exc) or "signature" in str(exc):  # cut short or not HDF5: SWMR would retry forever
            raise ValueError(f"{path}: not a readable HDF5 recording ({exc})") from None
        try:  # a run still writes it (the plain open is refused by its lock): HDF5's SWMR reader
            f = h5py.File(path, "r", swmr=True)
        except OSError as exc2:
            raise ValueError(f"{path}: not a readable HDF5 recording ({exc2})") from None
    with f:
        if f.attrs.get("format") != FORMAT:
            raise ValueError(f"{path}: not a neurosim recording (format {f.attrs.get('format')!r}; expected {FORMAT})")
        dt, t0 = float(f.attrs["dt"]), float(f.attrs["t_start"])
        done, finished = (int(x) for x in f["progress"][:])
        lo = int(round(t0 / dt)) if start is None else int(np.ceil(start / dt - 1e-9))
        hi = int(round(t0 / dt)) + done if stop is None else int(np.ceil(stop / dt - 1e-9))
        spikes, traces = {}, {}
        for pop, g in f.get("spikes", {}).items():
            a, b = _bisect(g["step"], lo), _bisect(g["step"], hi)
            steps, ids = g["step"][a:b], g["id"][a:b].astype(np.int64)
            spikes[pop] = SpikeTrains(pop, steps * dt, ids, int(g.attrs["size"]), max(hi - lo, 0) * dt,
                                      int(len(g.attrs["neurons"])), False, lo * dt)
        for pop, g in f.get("traces", {}).items():
            a, b = _bisect(g["step"], lo), _bisect(g["step"], hi)
            data = {k: v[a:b] for k, v in g.items() if k != "step"}
            traces[pop] = Traces(pop, g["step"][a:b] * dt, np.asarray(g.attrs["neurons"]), data)
    return Results(spikes, traces, lo * dt, max(hi - lo, 0) * dt, dt,
                   info={"steps_written": done, "finished": bool(finished)})


def _bisect(ds, step: int) -> int:
    """First position in the sorted dataset ``ds`` with a value >= ``step`` (reads about
    log2(n) chunks, not the dataset)."""
    a, b = 0, ds.shape[0]
    while a < b:
        mid = (a + b) // 2
        if ds[mid] < step:
            a = mid + 1
        else:
            b = mid
    return a
