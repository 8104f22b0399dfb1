"""On-line Hebbian subspace learning of a population's activity while the simulator runs:
a plastic projection with the ``SubspaceRule`` onto lateral neurons (the same mechanism as
every other learning rule of the core)."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..models.base import check_positive
from ..models.subspace_rule import SubspaceRule
from ..models.threshold import ThresholdUnit
from .subspace import HebbianSubspace

__all__ = ["SubspaceLearner"]


class SubspaceLearner:
    """Lateral subspace neurons that learn the principal subspace of a population's spiking
    activity on-line (``HebbianSubspace``'s equations, run by the engine as the learning
    rule ``SubspaceRule`` of a plastic projection).

    ``attach(network)`` adds ``n_components`` lateral neurons (population
    ``"<population>_subspace"``, silent ``ThresholdUnit`` s) and a dense plastic projection
    ``"<population>->subspace"`` onto them whose weights are H^T, H (n_components, size)
    starting as random orthonormal rows (``seed``). Every ``batch_bins`` bins of
    ``bin_width`` seconds, the population's spike counts per bin form a batch x
    (batch_bins, size) and the rule updates H (``rule.iterations`` times). ``H(sim)`` reads
    H back; ``run(sim, duration)`` simulates and returns it. Raises ``ValueError`` for an
    unknown population, more components than neurons, a bin shorter than the simulator's
    step (when the simulator is built), or non-positive sizes."""

    def __init__(self, population: str, n_components: int, rule: HebbianSubspace | None = None, bin_width: float = 10e-3,
                 batch_bins: int = 10, seed: int = 0):
        if int(n_components) != n_components or n_components < 1:
            raise ValueError(f"SubspaceLearner: n_components = {n_components!r} must be a whole number >= 1")
        if int(batch_bins) != batch_bins or batch_bins < 1:
            raise ValueError(f"SubspaceLearner: batch_bins = {batch_bins!r} must be a whole number >= 1")
        check_positive("SubspaceLearner", "bin_width", bin_width)
        self.population, self.n_components = population, int(n_components)
        r = rule if rule is not None else HebbianSubspace()
        self.rule = SubspaceRule(r.lr, r.momentum, r.clip, r.iterations, "spiking" if r.spiking else "rate", r.spiking_scale,
                                 r.spiking_steps, float(bin_width), int(batch_bins))
        self.bin_width, self.batch_bins, self.seed = float(bin_width), int(batch_bins), int(seed)
        self.projection = f"{population}->subspace"

    def attach(self, network):
        """``network`` with the lateral neurons and the plastic projection added."""
        from ..network import Population, Projection

        try:
            node = network.node(self.population)
        except KeyError as exc:
            raise ValueError(f"SubspaceLearner: {exc.args[0]}") from None
        if self.n_components > node.size:
            raise ValueError(f"SubspaceLearner: n_components = {self.n_components} exceeds the size of population "
                             f"{self.population!r} ({node.size})")
        q, _ = np.linalg.qr(np.random.default_rng(self.seed).standard_normal((node.size, self.n_components)))
        lateral = Population(f"{self.population}_subspace", ThresholdUnit(v_th=1e300), self.n_components)
        proj = Projection.from_dense(self.population, lateral.name, np.where(q == 0.0, 1e-300, q), target="exc",
                                     name=self.projection, plasticity=self.rule)
        return dataclasses.replace(network, populations=(*network.populations, lateral),
                                   projections=(*network.projections, proj))

    def H(self, sim) -> np.ndarray:
        """The learned H (n_components, size) of ``sim`` (a ``Simulator`` of an attached network)."""
        if self.projection not in {p.name for p in sim.network.projections}:
            raise ValueError(f"SubspaceLearner: the simulator's network has no projection {self.projection!r}; build it from "
                             "learner.attach(network)")
        return sim.weights(self.projection).reshape(-1, self.n_components).T.copy()

    def batches(self, sim) -> int:
        """How many batches the rule has learned from so far."""
        return sim.step // (int(round(self.bin_width / sim.dt)) * self.batch_bins)

    def run(self, sim, duration: float, progress: bool = False) -> np.ndarray:
        """Simulate ``duration`` seconds on ``sim`` while learning; returns H."""
        self.H(sim)  # checks the simulator runs an attached network
        sim.run(duration, progress=progress)
        return self.H(sim)
