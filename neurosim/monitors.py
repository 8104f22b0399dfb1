"""Monitor requests: what to record during a run. They are validated against the network
when the run starts (unknown population, variable or neuron -> ``ValueError``)."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["SpikeMonitor", "StateMonitor", "WeightMonitor"]


@dataclass(frozen=True, eq=False)
class SpikeMonitor:
    """Record the spikes of ``population`` (a population or source name), optionally only of
    ``neurons`` (indices within it). ``max_spikes`` bounds memory: recording stops there and
    ``Results.spikes[name].truncated`` is set (8 bytes per recorded spike).

    ``file``: stream the spikes to this HDF5 file while the run goes on instead of keeping
    them in memory (memory bounded by one chunk of the run; ``neurosim.engine.streaming``,
    ``neurosim.read_recording``); ``Results.files[population]`` names it. ``max_spikes``
    does not apply then."""

    population: str
    neurons: np.ndarray | None = None
    max_spikes: int | None = None
    file: str | os.PathLike | None = None

    def __post_init__(self):
        if self.max_spikes is not None and (not isinstance(self.max_spikes, (int, np.integer)) or self.max_spikes < 1):
            raise ValueError(f"SpikeMonitor({self.population!r}): max_spikes = {self.max_spikes!r} must be an integer >= 1")
        _check_file(self, self.population)


@dataclass(frozen=True, eq=False)
class StateMonitor:
    """Record state ``variables`` (names, e.g. ``("v", "i_e")``) of ``neurons`` (indices
    within ``population``; default all) every ``every`` steps, starting at the first step of
    the run. Memory is ``n_samples x n_neurons x len(variables)`` values, fixed in advance;
    with ``file`` (an HDF5 path) the samples stream there instead and memory is one chunk's
    (``SpikeMonitor``)."""

    population: str
    variables: tuple = ("v",)
    neurons: np.ndarray | None = None
    every: int = 1
    file: str | os.PathLike | None = None

    def __post_init__(self):
        vars_ = (self.variables,) if isinstance(self.variables, str) else tuple(self.variables)
        if not vars_:
            raise ValueError(f"StateMonitor({self.population!r}): variables is empty; name at least one")
        object.__setattr__(self, "variables", vars_)
        if isinstance(self.every, bool) or not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise ValueError(f"StateMonitor({self.population!r}): every = {self.every!r} must be an integer >= 1 (steps)")
        _check_file(self, self.population)


@dataclass(frozen=True, eq=False)
class WeightMonitor:
    """Record the weights of the plastic ``projection`` (its ``synapses``: indices in the
    projection's CSR order; default all) every ``every`` steps, starting at the first step
    of the run: ``Results.weights[projection]``, a ``Traces`` whose ``neurons`` are the
    synapse indices and whose ``data["w"]`` has shape (n_samples, n_synapses), in the
    projection's weight unit. A sample at time ``t`` holds the weights learned up to the
    end of the previous step (as Brian2's ``StateMonitor`` of ``Synapses``). Memory,
    ``n_samples x n_synapses`` values, is fixed (and bounded) before the run."""

    projection: str
    synapses: np.ndarray | None = None
    every: int = 1

    def __post_init__(self):
        if isinstance(self.every, bool) or not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise ValueError(f"WeightMonitor({self.projection!r}): every = {self.every!r} must be an integer >= 1 (steps)")


def _check_file(monitor, population: str) -> None:
    if monitor.file is not None and not isinstance(monitor.file, (str, os.PathLike)):
        raise ValueError(f"{type(monitor).__name__}({population!r}): file = {monitor.file!r} must be a path (str or "
                         "os.PathLike) or None")
    if monitor.file is not None and isinstance(monitor, SpikeMonitor) and monitor.max_spikes is not None:
        raise ValueError(f"SpikeMonitor({population!r}): max_spikes bounds memory and file streams to disk: give one of them")


def resolve_neurons(where: str, neurons, size: int) -> np.ndarray:
    """Validate neuron indices within a population of ``size``; ``None`` means all."""
    if neurons is None:
        return np.arange(size, dtype=np.int64)
    idx = np.asarray(neurons)
    if idx.dtype.kind not in "iu" or idx.ndim != 1:
        raise ValueError(f"{where}: neurons must be a 1-D sequence of integer indices, got {idx.dtype} with shape {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx[(idx < 0) | (idx >= size)][0]
        raise ValueError(f"{where}: neuron index {bad} out of range 0..{size - 1}")
    return idx.astype(np.int64)
