"""The Hebbian subspace rule (Oja's subspace rule with HLOP's momentum, clipping and
spiking lateral neurons): *what* the rule is, and its torch step.

Lateral "subspace" neurons read a presynaptic activity vector x (N,) through weights
H (M, N) and learn, per batch of B samples X (B, N) [Oja 1989, "Neural networks, principal
components, and subspaces", Int. J. Neural Syst. 1(1): the subspace rule; Xiao et al. 2024,
"Hebbian learning based orthogonal projection for continual learning of spiking neural
networks", ICLR: its use on lateral neurons, with momentum and clipping as in their
reference code, ``modules/hlop_module.py``]::

    Y   = X H^T                       lateral responses (B, M); quantised if spiking
    dH  = Y^T (X - Y H) / B           Hebbian term y x^T minus the decay y y^T H
    dH  = clip(dH, -clip, clip)       element-wise (the reference code clips at 10)
    V   = m V + (1 - m) dH            momentum (m = 0.9); rows of frozen neurons: dH = 0,
                                      and their V is kept as it was
    H   = H + lr V

For stationary zero-mean input with covariance C, the rows of H converge to an orthonormal
basis of the span of C's top-M eigenvectors (the principal subspace); for non-centred input
(spikes, firing rates) C is the second-moment matrix E[x x^T], which is what gradient
projection needs (the span of the inputs themselves).

**Spiking lateral neurons** (Xiao et al. 2024; reference code ``hlop_module.py``):
the response is a spike count over ``spiking_steps`` steps of an integrate-and-fire neuron
with range ``spiking_scale``: y = round(clip(y, -s, s) / s * T_s) / T_s * s.

The same update runs as a Numba kernel (``neurosim.plasticity.kernels``) for on-line use in
the simulator (``neurosim.plasticity.SubspaceLearner``); tests check both against each other.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.base import _fail, check_finite

__all__ = ["HebbianSubspace", "subspace_response", "subspace_step", "orthonormal_basis", "project_out"]


@dataclass(frozen=True)
class HebbianSubspace:
    """Parameters of the Hebbian subspace rule (see the module docstring for the equations):
    learning rate ``lr`` (dimensionless, per batch), ``momentum`` m in [0, 1), element-wise
    ``clip`` of dH (> 0), ``iterations`` of the update per batch (the reference applies it 5
    times), and spiking lateral neurons (``spiking``: 1 to quantise the responses as spike
    counts of ``spiking_steps`` steps over the range +-``spiking_scale``).

    Defaults are those of the HLOP reference code for hidden layers (lr 0.01, m 0.9, clip
    10, 5 iterations; spiking scale 20 with 40 steps, as in its README's spiking example).
    Raises ``ValueError`` naming the parameter for values out of range."""

    lr: float = 0.01
    momentum: float = 0.9
    clip: float = 10.0
    iterations: int = 5
    spiking: bool = False
    spiking_scale: float = 20.0
    spiking_steps: int = 40

    def __post_init__(self) -> None:
        name = type(self).__name__
        for field in ("lr", "momentum", "clip", "iterations", "spiking_scale", "spiking_steps"):
            check_finite(name, field, getattr(self, field))
        if not isinstance(self.spiking, (bool, int)) or self.spiking not in (0, 1):
            _fail(name, "spiking", self.spiking, "must be True or False")
        if not self.lr > 0:
            _fail(name, "lr", self.lr, "must be > 0")
        if not 0 <= self.momentum < 1:
            _fail(name, "momentum", self.momentum, "must be in [0, 1)")
        if not self.clip > 0:
            _fail(name, "clip", self.clip, "must be > 0")
        if int(self.iterations) != self.iterations or self.iterations < 1:
            _fail(name, "iterations", self.iterations, "must be a whole number >= 1")
        if not self.spiking_scale > 0:
            _fail(name, "spiking_scale", self.spiking_scale, "must be > 0")
        if int(self.spiking_steps) != self.spiking_steps or self.spiking_steps < 1:
            _fail(name, "spiking_steps", self.spiking_steps, "must be a whole number >= 1")


def _check(H: torch.Tensor, x: torch.Tensor) -> None:
    if H.ndim != 2 or x.ndim != 2 or x.shape[1] != H.shape[1]:
        raise ValueError(f"subspace rule: weights H must be (M, N) and inputs x (B, N) with the same N; got H {tuple(H.shape)} "
                         f"and x {tuple(x.shape)}")


def subspace_response(H: torch.Tensor, x: torch.Tensor, rule: HebbianSubspace) -> torch.Tensor:
    """Lateral responses Y = x H^T (B, M) of inputs ``x`` (B, N) through ``H`` (M, N),
    quantised as spike counts when ``rule.spiking``."""
    _check(H, x)
    y = x @ H.T
    if rule.spiking:
        s, n = rule.spiking_scale, rule.spiking_steps
        y = torch.round(torch.clamp(y, -s, s) / s * n) / n * s
    return y


def subspace_step(H: torch.Tensor, velocity: torch.Tensor, x: torch.Tensor, rule: HebbianSubspace, n_frozen: int = 0):
    """One update of the rule on a batch ``x`` (B, N): returns new (H, velocity), both
    (M, N). The first ``n_frozen`` rows (earlier tasks' neurons) do not change, and neither
    does their velocity. Pure: the inputs are not modified. Raises ``ValueError`` for
    mismatched shapes or ``n_frozen`` outside [0, M]."""
    _check(H, x)
    if velocity.shape != H.shape:
        raise ValueError(f"subspace rule: velocity {tuple(velocity.shape)} must have the shape of H {tuple(H.shape)}")
    if not 0 <= n_frozen <= H.shape[0]:
        raise ValueError(f"subspace rule: n_frozen = {n_frozen} must be in [0, {H.shape[0]}] (the rows of H)")
    y = subspace_response(H, x, rule)
    dH = torch.clamp(y.T @ (x - y @ H) / x.shape[0], -rule.clip, rule.clip)
    v = rule.momentum * velocity + (1.0 - rule.momentum) * dH
    v[:n_frozen] = velocity[:n_frozen]
    H_new = H + rule.lr * v
    H_new[:n_frozen] = H[:n_frozen]
    return H_new, v


def orthonormal_basis(H: torch.Tensor, rtol: float = 1e-6) -> torch.Tensor:
    """An orthonormal basis Q (K, N) of the row space of ``H`` (M, N), K = its numerical
    rank (singular values above ``rtol`` times the largest). The rule's H converges to
    orthonormal rows; gradient projection uses Q so that it is an exact projector even
    before convergence."""
    if H.numel() == 0 or H.shape[0] == 0:
        return H.new_zeros((0, H.shape[1]))
    _, s, vh = torch.linalg.svd(H.double(), full_matrices=False)
    keep = s > rtol * s.max() if s.numel() and s.max() > 0 else torch.zeros_like(s, dtype=torch.bool)
    return vh[keep].to(H.dtype)


def project_out(x: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """x - Q^T Q x for ``x`` (..., N) and an orthonormal ``basis`` Q (K, N): the part of the
    activity orthogonal to the protected subspace."""
    if basis.shape[0] == 0:
        return x
    return x - (x @ basis.T) @ basis
