"""Apply a stateless module to every time step of a sequence at once."""
from __future__ import annotations

import torch

__all__ = ["Lift"]


class Lift(torch.nn.Module):
    """``Lift(module)(x)`` with ``x`` (T, B, ...) applies ``module`` to all T x B samples in
    one call (Norse's ``Lift``): convolutions, pooling and dense layers then run as one
    batched operation instead of T small ones."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (T, B, ...) -> (T, B, ...) with the module's output shape per sample."""
        t, b = x.shape[:2]
        y = self.module(x.reshape(t * b, *x.shape[2:]))
        return y.reshape(t, b, *y.shape[1:])
