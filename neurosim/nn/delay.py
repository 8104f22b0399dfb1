"""A per-neuron transmission delay of whole time steps (NIR's ``Delay``)."""
from __future__ import annotations

import numpy as np
import torch

from ..models.base import check_dt

__all__ = ["Delay"]


class Delay(torch.nn.Module):
    """Delays each element of its input by ``delay`` seconds (a scalar, or one value per
    element of a step's shape, axis order as the input's without time and batch axes), a
    whole number of steps ``dt``: output ``y[t] = x[t - d]`` with ``d = delay / dt``, zero
    before the first input has arrived (NIR's ``Delay``, Pedersen et al. 2024, Table 1).

    Stateful like the neuron layers: ``forward(x (T, B, ...), state)`` and ``step(x (B, ...),
    state)`` return ``(output, state)``; the state holds the last ``max(d)`` inputs. Raises
    ``ValueError`` for negative, non-finite delays or ones that are not whole steps."""

    stateful = True

    def __init__(self, delay, dt: float = 1e-3):
        super().__init__()
        self.dt = check_dt(dt)
        seconds = np.asarray(delay, np.float64)
        steps = np.round(seconds / self.dt)
        if not np.all(np.isfinite(seconds)) or np.any(seconds < 0):
            raise ValueError(f"delay must be finite and >= 0 s, got {seconds.min()} .. {seconds.max()} s")
        if not np.allclose(steps * self.dt, seconds, rtol=1e-9, atol=1e-12):
            raise ValueError(f"delay must be whole steps of dt = {self.dt} s, got {seconds.ravel()[:4]} s")
        self.register_buffer("steps", torch.as_tensor(steps.astype(np.int64)))
        self.max_steps = int(steps.max()) if steps.size else 0

    @property
    def delay(self) -> np.ndarray:
        """The delays in seconds."""
        return self.steps.cpu().numpy() * self.dt

    def extra_repr(self):
        return f"steps={self.steps.tolist() if self.steps.numel() <= 4 else '...'}, dt={self.dt}"

    def initial_state(self, like: torch.Tensor) -> torch.Tensor:
        """No input yet: the last ``max(d)`` steps, zero, shaped (max(d), B, ...)."""
        return like.new_zeros((self.max_steps, *like.shape))

    def forward(self, x: torch.Tensor, state=None):
        """``x`` (T, B, ...) -> (delayed (T, B, ...), the last max(d) inputs)."""
        if state is None:
            state = self.initial_state(x[0])
        history = torch.cat([state, x], 0)  # step t of x is row t + max(d)
        t_len = x.shape[0]
        rows = torch.arange(t_len, device=x.device).reshape(-1, *([1] * (x.ndim - 1))) + self.max_steps
        shift = self.steps.to(x.device).expand(x.shape[2:]) if self.steps.ndim else self.steps.to(x.device)
        index = (rows - shift).expand_as(x)
        y = torch.gather(history, 0, index)
        return y, history[history.shape[0] - self.max_steps:]

    def step(self, x: torch.Tensor, state=None):
        """One step: ``x`` (B, ...) -> (output (B, ...), new state)."""
        y, state = self.forward(x[None], state)
        return y[0], state
