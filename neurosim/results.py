"""What a run returns: spike trains and sampled traces, with rate and plotting helpers."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SpikeTrains", "Traces", "Results"]


@dataclass
class SpikeTrains:
    """Spikes of one population: ``times`` (s) and ``ids`` (index within the population),
    both shape (n_spikes,), sorted by time. ``size`` neurons were monitored over
    ``duration`` seconds (``n_monitored`` of the population's ``size`` neurons);
    ``truncated`` tells that ``max_spikes`` was reached."""

    population: str
    times: np.ndarray
    ids: np.ndarray
    size: int
    duration: float
    n_monitored: int = -1
    truncated: bool = False
    t_start: float = 0.0

    def __post_init__(self):
        if self.n_monitored < 0:
            self.n_monitored = self.size

    def __len__(self) -> int:
        return int(self.times.size)

    def counts(self) -> np.ndarray:
        """Spike count of every neuron, shape (size,)."""
        return np.bincount(self.ids, minlength=self.size)

    def rates(self) -> np.ndarray:
        """Mean firing rate of every neuron (Hz), shape (size,)."""
        return self.counts() / self.duration

    def mean_rate(self) -> float:
        """Population-averaged firing rate (Hz)."""
        return float(len(self) / (self.n_monitored * self.duration)) if self.duration > 0 else 0.0

    def population_rate(self, bin_size: float) -> tuple[np.ndarray, np.ndarray]:
        """Population rate (Hz per neuron) in bins of ``bin_size`` s: (bin starts relative to
        the run start, rates). Spike ``times`` are absolute; the run started at ``t_start``."""
        n_bins = max(1, int(np.ceil(self.duration / bin_size - 1e-9)))
        hist = np.bincount(np.clip(((self.times - self.t_start) / bin_size).astype(np.int64), 0, n_bins - 1), minlength=n_bins) if len(self) else np.zeros(n_bins)
        return np.arange(n_bins) * bin_size, hist / (bin_size * self.n_monitored)


@dataclass
class Traces:
    """Sampled state of one population: ``times`` (n_samples,) in s, ``neurons`` (indices
    within the population) and ``data[var]`` of shape (n_samples, n_neurons) in SI units."""

    population: str
    times: np.ndarray
    neurons: np.ndarray
    data: dict = field(default_factory=dict)

    def __getitem__(self, var: str) -> np.ndarray:
        try:
            return self.data[var]
        except KeyError:
            raise KeyError(f"variable {var!r} was not recorded for {self.population!r}; recorded: {sorted(self.data)}") from None


@dataclass
class Results:
    """``spikes[population] -> SpikeTrains``, ``traces[population] -> Traces``, the run's
    ``t_start``/``duration`` (s), timing of the run (``wall_time`` of the simulation loop,
    ``compile_time`` spent on JIT compilation, in s) and ``synaptic_events``: how many times
    a spike was delivered through a synapse (the event-driven work; 0 for graded networks).
    ``info``: what a hardware backend measured beyond spikes (``neurosim.backend``: packet
    counts, integer state), empty for the simulator. ``weights[projection] -> Traces``: the
    sampled weights of plastic projections (``WeightMonitor``; ``data["w"]`` of shape
    (n_samples, n_synapses), ``neurons`` the synapse indices). ``files[population]``: the
    HDF5 file a streaming monitor wrote that population's spikes or samples to (they are not
    in ``spikes``/``traces`` then; ``neurosim.read_recording`` reads them back)."""

    spikes: dict
    traces: dict
    t_start: float
    duration: float
    dt: float
    wall_time: float = 0.0
    compile_time: float = 0.0
    synaptic_events: int = 0
    info: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)

    def plot_raster(self, path=None, populations=None, max_neurons: int = 500, title: str | None = None):
        """Raster plot (and population rate) of the recorded spikes; saved as PNG if ``path``."""
        from .plotting import raster

        return raster(self, path, populations, max_neurons, title)

    def plot_traces(self, path=None, population=None, variable: str = "v", max_neurons: int = 8, title: str | None = None):
        """Recorded traces of ``variable``; saved as PNG if ``path``."""
        from .plotting import traces

        return traces(self, path, population, variable, max_neurons, title)
