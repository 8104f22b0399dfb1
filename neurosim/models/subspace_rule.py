"""HLOP's Hebbian subspace rule as the learning rule of a plastic projection."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import check_dt, check_positive, choice
from .plasticity import PlasticityRule, register_rule

__all__ = ["SubspaceRule"]


@register_rule
@dataclass(frozen=True)
class SubspaceRule(PlasticityRule):
    r"""The Hebbian subspace rule (Oja 1989; with HLOP's momentum, clipping and spiking
    lateral responses, Xiao et al. 2024) learning the weights of a dense projection from a
    population of N neurons onto M lateral neurons: ``H`` (M, N) is the transposed weight
    matrix (the projection's CSR order is ``W[i, m] = H[m, i]``).

    The presynaptic spikes that arrive are counted in bins of ``bin_width`` s; after every
    ``batch_bins`` bins (steps counted from t = 0) the batch of counts ``X`` (batch_bins,
    N) updates ``H`` ``iterations`` times by ``neurosim.plasticity.subspace`` 's equations
    (``Y = X H^T``, quantised when ``responses = "spiking"``; ``dH = clip(Y^T (X - Y H) /
    B)``; ``V = m V + (1 - m) dH``; ``H += lr V``), the velocity ``V`` kept per synapse. The
    same rule as a torch step: ``subspace_step`` with ``self.subspace()``.

    Parameters: ``lr`` (> 0), ``momentum`` in [0, 1), ``clip`` (> 0), ``iterations``,
    ``spiking_steps``, ``batch_bins`` (whole numbers >= 1), ``responses`` (``"rate"`` or
    ``"spiking"``), ``spiking_scale`` (> 0), ``bin_width`` (s, > 0, a whole number of steps
    at the simulator's ``dt``). Weights are unbounded. Raises ``ValueError`` naming the field.
    """

    lr: float = 0.01
    momentum: float = 0.9
    clip: float = 10.0
    iterations: float = 5
    responses: str = choice("rate", "rate", "spiking")
    spiking_scale: float = 20.0
    spiking_steps: float = 40
    bin_width: float = 10e-3
    batch_bins: float = 10

    kind: ClassVar[str] = "hebbian_subspace"
    n_rates: ClassVar[int] = 0
    deferred: ClassVar[bool] = True  # nothing happens at a postsynaptic spike: no transposed index is needed
    pre_traces: ClassVar[tuple[str, ...]] = ()  # spike counts, one row per bin of the batch: see trace_rows
    synapse_vars: ClassVar[tuple[str, ...]] = ("velocity",)
    w_min: ClassVar[float] = -math.inf
    w_max: ClassVar[float] = math.inf

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("lr", "clip", "spiking_scale", "bin_width"):
            check_positive(name, f, getattr(self, f))
        if not 0 <= self.momentum < 1:
            raise ValueError(f"{name}.momentum = {self.momentum!r} is invalid: must be in [0, 1)")
        for f in ("iterations", "spiking_steps", "batch_bins"):
            v = getattr(self, f)
            if int(v) != v or v < 1:
                raise ValueError(f"{name}.{f} = {v!r} is invalid: must be a whole number >= 1")

    def trace_rows(self) -> tuple[int, int]:
        """One row of presynaptic spike counts per bin of the batch; nothing postsynaptic."""
        return int(self.batch_bins), 0

    def check_projection(self, projection, where: str) -> None:
        """The projection must be dense: every presynaptic neuron reaches postsynaptic
        neurons 0 .. M-1 in order (``Projection.from_dense`` of a full (N, M) matrix)."""
        n_pre, n_syn = projection.n_pre, projection.n_synapses
        m = n_syn // n_pre if n_pre else 0
        import numpy as np

        if m == 0 or m * n_pre != n_syn or not np.array_equal(projection.indices, np.tile(np.arange(m), n_pre)):
            raise ValueError(f"{where}: the subspace rule learns a dense projection (every presynaptic neuron onto "
                             "postsynaptic neurons 0 .. M-1, as Projection.from_dense of a matrix without zeros)")

    def discretize(self, dt: float) -> dict[str, float]:
        """``lr``, ``momentum``, ``clip``, ``iterations``, ``spiking`` (0/1), ``spiking_scale``,
        ``spiking_steps``, ``bin_steps`` (steps per bin), ``batch_bins``. Raises
        ``ValueError`` for a bin shorter than ``dt`` or not a whole number of steps."""
        dt = check_dt(dt)
        steps = self.bin_width / dt
        if round(steps) < 1 or abs(steps - round(steps)) > 1e-6:
            raise ValueError(f"{type(self).__name__}: bin_width = {self.bin_width:g} s is {steps:.6g} steps at the simulator's "
                             f"step dt = {dt:g} s; it must be a whole number >= 1 of steps (shorter than the simulator's "
                             "step is not allowed)")
        return {"lr": self.lr, "momentum": self.momentum, "clip": self.clip, "iterations": float(self.iterations),
                "spiking": float(self.responses == "spiking"), "spiking_scale": self.spiking_scale,
                "spiking_steps": float(self.spiking_steps), "bin_steps": float(round(steps)), "batch_bins": float(self.batch_bins)}

    def subspace(self):
        """The same rule as ``neurosim.plasticity.HebbianSubspace`` (for ``subspace_step``)."""
        from ..plasticity.subspace import HebbianSubspace

        return HebbianSubspace(self.lr, self.momentum, self.clip, int(self.iterations), self.responses == "spiking",
                               self.spiking_scale, int(self.spiking_steps))
