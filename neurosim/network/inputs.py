"""Current injections into a ``Network``'s neurons: steps, sampled arrays and functions of
time."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from .validation import float_array, int_array

__all__ = ["CurrentInjection"]


@dataclass(frozen=True, eq=False)
class CurrentInjection:
    """External current (A) into neurons of population ``target``.

    One of three forms:

    * ``CurrentInjection(target, amplitude, neurons, start, stop)``: a step of ``amplitude``
      (scalar or (n_neurons,)) from ``start`` to ``stop`` (s);
    * ``CurrentInjection.from_array(target, values, dt, neurons, start)``: samples ``values``
      of shape (T,) or (T, n_neurons), each held for ``dt`` seconds from ``start``;
    * ``CurrentInjection.from_function(target, fn, neurons)``: ``fn(t)`` with ``t`` of shape
      (n_steps,) in s returns (n_steps,) or (n_steps, n_neurons) amperes (cannot be saved).

    ``neurons`` (indices within the population) defaults to all. Steps and arrays are held
    over each simulation step at their value at the step's start; functions are sampled at
    the start of the step by the explicit engine and at its end by the implicit graded
    solver (whose right-hand side is evaluated there).
    """

    target: str
    amplitude: Union[float, np.ndarray] = 0.0
    neurons: np.ndarray | None = None
    start: float = 0.0
    stop: float = math.inf
    values: np.ndarray | None = None
    sample_dt: float | None = None
    function: Callable | None = None

    def __post_init__(self):
        where = f"current injection into {self.target!r}"
        if self.neurons is not None:
            object.__setattr__(self, "neurons", int_array(where, "neurons", self.neurons).ravel())
        amp = float_array(where, "amplitude", self.amplitude)
        if amp.ndim > 1:
            raise ValueError(f"{where}: amplitude must be a scalar or 1-D, got shape {amp.shape}")
        object.__setattr__(self, "amplitude", amp)
        for name in ("start", "stop"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or math.isnan(v):
                raise ValueError(f"{where}: {name} = {v!r} must be a number of seconds")
        if self.stop < self.start or self.start < 0:
            raise ValueError(f"{where}: need 0 <= start <= stop, got start={self.start}, stop={self.stop}")
        if self.values is not None:
            vals = float_array(where, "values", self.values)
            if vals.ndim not in (1, 2):
                raise ValueError(f"{where}: values must have shape (T,) or (T, n_neurons), got {vals.shape}")
            if self.sample_dt is None or not (float(self.sample_dt) > 0 and math.isfinite(self.sample_dt)):
                raise ValueError(f"{where}: sample_dt = {self.sample_dt!r} must be a finite time > 0 s")
            object.__setattr__(self, "values", vals)
        if self.function is not None and not callable(self.function):
            raise ValueError(f"{where}: function must be callable f(t) -> amperes")

    @property
    def kind(self) -> str:
        """``"step"``, ``"array"`` or ``"function"``."""
        return "function" if self.function is not None else "array" if self.values is not None else "step"

    @property
    def constant(self) -> bool:
        """Whether this is one constant current over the whole run (a step from 0 s that never
        stops): what hardware maps to a bias or an offset current."""
        return self.kind == "step" and self.start == 0 and math.isinf(self.stop)

    @classmethod
    def from_array(cls, target, values, dt, neurons=None, start=0.0):
        """``values`` (A) of shape (T,) or (T, n_neurons), each held ``dt`` s from ``start`` s."""
        return cls(target, 0.0, neurons, float(start), math.inf, values, float(dt), None)

    @classmethod
    def from_function(cls, target, fn, neurons=None):
        """``fn(t)`` with ``t`` (n_steps,) in s returning (n_steps,) or (n_steps, n_neurons) A."""
        return cls(target, 0.0, neurons, 0.0, math.inf, None, None, fn)

    def _sample_index(self, t: np.ndarray) -> np.ndarray:
        """The sample of ``values`` that holds at each time ``t`` (s); outside 0..T-1 none does."""
        return np.floor((t - self.start) / self.sample_dt + 1e-9).astype(np.int64)

    def change_points(self, t: np.ndarray) -> np.ndarray:
        """Indices ``k >= 1`` of the step start times ``t`` (s, shape (n_steps,)) at which the
        current may differ from the one at ``t[k-1]``: where a step switches on or off, where
        an array moves to another sample; every index for a function. O(n_steps) memory,
        whatever the number of neurons."""
        if self.kind == "step":
            code = ((t >= self.start) & (t < self.stop)).astype(np.int8)
        elif self.kind == "array":
            k = self._sample_index(t)
            code = np.where((k >= 0) & (k < self.values.shape[0]), k, -1)
        else:
            return np.arange(1, t.size)
        return np.flatnonzero(code[1:] != code[:-1]) + 1

    def sample(self, t: np.ndarray, n: int) -> np.ndarray:
        """Current at the step start times ``t`` (s, shape (n_steps,)): shape (n_steps, n)."""
        where = f"current injection into {self.target!r}"
        if self.kind == "step":
            on = ((t >= self.start) & (t < self.stop)).astype(float)
            out = on[:, None] * np.broadcast_to(self.amplitude, (n,))[None, :]
        elif self.kind == "array":
            k = self._sample_index(t)
            valid = (k >= 0) & (k < self.values.shape[0])
            vals = self.values if self.values.ndim == 2 else self.values[:, None]
            out = np.where(valid[:, None], vals[np.clip(k, 0, self.values.shape[0] - 1)], 0.0)
            out = np.broadcast_to(out, (t.size, n))
        else:
            out = np.asarray(self.function(t), dtype=float)
            if out.ndim == 1:
                out = out[:, None]
            if out.shape[0] != t.size or out.shape[1] not in (1, n):
                raise ValueError(f"{where}: function returned shape {out.shape} for {t.size} times; expected ({t.size},) or ({t.size}, {n})")
            if not np.all(np.isfinite(out)):
                raise ValueError(f"{where}: function returned non-finite currents")
            out = np.broadcast_to(out, (t.size, n))
        return out
