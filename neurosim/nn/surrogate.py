"""Surrogate gradients for the spike threshold: the forward pass is the Heaviside step
``H(x) = 1 if x > 0`` (x = membrane minus threshold, as the simulator fires on ``v > v_th``);
the backward pass uses a smooth pseudo-derivative with steepness ``slope``.

* ``superspike`` / fast sigmoid (Zenke & Ganguli 2018, Neural Comput. 30:1514, eq. 5):
  ``1 / (1 + slope |x|)^2``
* ``atan`` (Fang et al. 2021, ICCV): ``(slope / 2) / (1 + (pi slope x / 2)^2)``
* ``triangle`` (Esser et al. 2016, PNAS; Bellec et al. 2018): ``slope max(0, 1 - slope |x|)``
"""
from __future__ import annotations

import math

import torch

__all__ = ["SURROGATES", "surrogate_grad", "spike"]

#: Surrogate-gradient names -> kernel code (``superspike`` and ``fast_sigmoid`` are the same function).
SURROGATES = {"superspike": 0, "fast_sigmoid": 0, "atan": 1, "triangle": 2}


def surrogate_grad(x: torch.Tensor, kind: str, slope: float) -> torch.Tensor:
    """The pseudo-derivative dH/dx of ``kind`` at ``x``."""
    code = SURROGATES[kind]
    if code == 0:
        return 1.0 / (1.0 + slope * x.abs()) ** 2
    if code == 1:
        return (slope / 2.0) / (1.0 + (math.pi * slope * x / 2.0) ** 2)
    return slope * torch.clamp(1.0 - slope * x.abs(), min=0.0)


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, kind, slope):
        ctx.save_for_backward(x)
        ctx.kind, ctx.slope = kind, slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * surrogate_grad(x, ctx.kind, ctx.slope), None, None


def spike(x: torch.Tensor, kind: str = "superspike", slope: float = 25.0) -> torch.Tensor:
    """Heaviside of ``x`` with the surrogate gradient ``kind`` (see the module docstring).
    Raises ``ValueError`` for an unknown kind or a non-positive slope."""
    if kind not in SURROGATES:
        raise ValueError(f"unknown surrogate {kind!r}; choose one of {sorted(SURROGATES)}")
    if not slope > 0:
        raise ValueError(f"slope = {slope!r} must be > 0")
    return _Spike.apply(x, kind, float(slope))
