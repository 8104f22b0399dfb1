"""On-line Hebbian subspace learning of a population's activity while the simulator runs."""
from __future__ import annotations

import numpy as np

from ..models.base import check_positive
from .kernels import subspace_step_inplace
from .subspace import HebbianSubspace

__all__ = ["SubspaceLearner"]


class SubspaceLearner:
    """Lateral subspace neurons that learn the principal subspace of a population's spiking
    activity on-line, with the Numba kernel of the Hebbian subspace rule (``HebbianSubspace``).

    ``run(sim, duration)`` advances the simulator window by window; each window is
    ``batch_bins`` bins of ``bin_width`` seconds, the population's spike counts per bin form
    a batch x (batch_bins, size), and the rule updates ``H`` (n_components, size) on it
    (``rule.iterations`` times) before the next window runs. H starts as random orthonormal
    rows (``seed``). Raises ``ValueError`` for an unknown population, a bin shorter than the
    simulator's step, or non-positive sizes."""

    def __init__(self, population: str, n_components: int, rule: HebbianSubspace | None = None, bin_width: float = 10e-3,
                 batch_bins: int = 10, seed: int = 0):
        if int(n_components) != n_components or n_components < 1:
            raise ValueError(f"SubspaceLearner: n_components = {n_components!r} must be a whole number >= 1")
        if int(batch_bins) != batch_bins or batch_bins < 1:
            raise ValueError(f"SubspaceLearner: batch_bins = {batch_bins!r} must be a whole number >= 1")
        check_positive("SubspaceLearner", "bin_width", bin_width)
        self.population, self.n_components = population, int(n_components)
        self.rule = rule if rule is not None else HebbianSubspace()
        self.bin_width, self.batch_bins, self.seed = float(bin_width), int(batch_bins), int(seed)
        self.H = self.velocity = None
        self.batches = 0

    def _start(self, size: int) -> None:
        if self.n_components > size:
            raise ValueError(f"SubspaceLearner: n_components = {self.n_components} exceeds the size of population "
                             f"{self.population!r} ({size})")
        q, _ = np.linalg.qr(np.random.default_rng(self.seed).standard_normal((size, self.n_components)))
        self.H = np.ascontiguousarray(q.T)
        self.velocity = np.zeros_like(self.H)

    def run(self, sim, duration: float, progress: bool = False):
        """Simulate ``duration`` seconds on ``sim`` (a ``neurosim.Simulator``) while learning;
        returns H (n_components, size). A trailing part shorter than one bin is simulated
        without learning."""
        from ..monitors import SpikeMonitor

        try:
            node = sim.network.node(self.population)
        except KeyError as exc:
            raise ValueError(f"SubspaceLearner: {exc.args[0]}") from None
        steps_per_bin = int(round(self.bin_width / sim.dt))
        if steps_per_bin < 1:
            raise ValueError(f"SubspaceLearner: bin_width = {self.bin_width} s is shorter than the simulator's step "
                             f"dt = {sim.dt} s")
        if self.H is None:
            self._start(node.size)
        window = steps_per_bin * self.batch_bins
        total = int(round(duration / sim.dt))
        n_windows, rest = divmod(total, window)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n_windows, desc="subspace learning", leave=False)
        r = self.rule
        for _ in range(n_windows):
            t0 = sim.step
            res = sim.run(window * sim.dt, SpikeMonitor(self.population))
            st = res.spikes[self.population]
            b = np.minimum((np.round(st.times / sim.dt).astype(np.int64) - t0) // steps_per_bin, self.batch_bins - 1)
            x = np.zeros((self.batch_bins, node.size))
            np.add.at(x, (b, st.ids), 1.0)
            for _ in range(r.iterations):
                subspace_step_inplace(self.H, self.velocity, x, r.lr, r.momentum, r.clip, 0, bool(r.spiking),
                                      float(r.spiking_scale), float(r.spiking_steps))
            self.batches += 1
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        if rest:
            sim.run(rest * sim.dt)
        return self.H
