"""Thin stateful wrappers over ``neurosim.nn.functional`` (as Norse's modules wrap its
functional API). Inputs are sequences (T, B, ...) or, with ``step``, one step (B, ...)."""
from __future__ import annotations

import math
import numbers

import torch

from .. import models
from ..models.base import check_dt
from .functional import LIFState, check_finite, coefficients, initial_state, lif_sequence, lif_step
from .surrogate import SURROGATES

__all__ = ["CubaLIF", "LIF", "IF", "LI", "Sequential"]


class _Neurons(torch.nn.Module):
    synaptic = True
    threshold_on = True
    stateful = True  # forward(x, state) and step(x, state) return (output, state): neurosim.nn.Graph keeps the state

    def __init__(self, neuron=None, dt=1e-3, surrogate="superspike", slope=25.0, detach_reset=False):
        super().__init__()
        self._set_up(neuron, dt, surrogate, slope, detach_reset)

    def _set_up(self, neuron, dt, surrogate, slope, detach_reset):
        self.neuron = neuron if neuron is not None else models.CubaLIF(t_ref=0.0, v_reset=models.CubaLIF().v_rest)
        self.dt = check_dt(dt)
        self.coef = coefficients(self.neuron, self.dt, self.synaptic)
        if surrogate not in SURROGATES:
            raise ValueError(f"unknown surrogate {surrogate!r}; choose one of {sorted(SURROGATES)}")
        # a negative or zero slope turns the surrogate gradient's sign or size into nonsense
        # (slope -5 gives gradients of -7.7e15): refused
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real) or not math.isfinite(slope) or slope <= 0:
            raise ValueError(f"slope = {slope!r} is invalid: the surrogate's slope must be a finite number > 0 (default 25)")
        self.surrogate, self.slope, self.detach_reset = surrogate, float(slope), bool(detach_reset)

    def extra_repr(self):
        return f"dt={self.dt}, a_m={self.coef.a_m:.4f}, a_e={self.coef.a_e:.4f}, surrogate={self.surrogate}, slope={self.slope}"

    def initial_state(self, like: torch.Tensor) -> LIFState:
        """Rest (zero current, membrane at v_rest, not refractory) shaped like one step (B, ...)."""
        return initial_state(like)

    def forward(self, x: torch.Tensor, state: LIFState | None = None):
        """``x`` (T, B, ...) input currents (normalised units). Returns (output (T, B, ...),
        final state); the output is spikes, or the membrane for ``LI``. Raises
        ``ValueError`` for NaN or infinite input."""
        if state is None:
            state = self.initial_state(x[0])
        s, m, state = lif_sequence(x, state, self.coef, self.surrogate, self.slope, self.detach_reset, self.threshold_on)
        return (s if self.threshold_on else m), state

    def step(self, x: torch.Tensor, state: LIFState | None = None):
        """One step: ``x`` (B, ...). Returns (output (B, ...), new state). Raises
        ``ValueError`` for NaN or infinite input."""
        check_finite(x[None])
        if state is None:
            state = self.initial_state(x)
        s, m, state = lif_step(x, state, self.coef, self.surrogate, self.slope, self.detach_reset, self.threshold_on)
        return (s if self.threshold_on else m), state


class CubaLIF(_Neurons):
    """Current-based LIF neurons (``neurosim.models.CubaLIF``, exact per-step coefficients
    from its ``discretize(dt)``): an input of 1 is a synaptic current step that would move
    the membrane by (v_th - v_rest) through R if held. Uses the excitatory time constant
    ``tau_syn_e``. Hard reset to v_reset, refractory period ``t_ref``; surrogate gradient
    ``surrogate`` with ``slope``; ``detach_reset`` stops gradients through the reset."""


class LIF(_Neurons):
    """LIF neurons without a synaptic filter: the input current drives the membrane
    directly (the ``k_ext`` coefficient of ``neurosim.models.CubaLIF``)."""

    synaptic = False


class IF(_Neurons):
    """Integrate-and-fire neurons without leak (``neurosim.models.IF``; NIR's ``IF``, Norse's
    ``IAFCell``, Sinabs's ``IAF``): each step's input adds to the membrane, counted in units
    of the threshold above rest (``u = u + x``), a spike when ``u > 1``, then a hard reset to
    ``u_reset = (v_reset - v_rest) / (v_th - v_rest)``. The default neuron counts from 0 V
    to a threshold of 1 V and resets to 0 V (NIR's and Norse's defaults)."""

    synaptic = False

    def __init__(self, neuron=None, dt=1e-3, surrogate="superspike", slope=25.0, detach_reset=False):
        torch.nn.Module.__init__(self)
        self._set_up(neuron if neuron is not None else models.IF(v_rest=0.0, v_th=1.0, v_reset=0.0), dt, surrogate, slope,
                     detach_reset)


class LI(_Neurons):
    """Leaky integrator readout: the CuBa-LIF dynamics without threshold; outputs the
    membrane (T, B, ...) in normalised units. ``synaptic=False`` drops the synaptic
    filter (the input current drives the membrane directly, as in ``LIF``): NIR's and
    Norse's ``LI``."""

    threshold_on = False

    def __init__(self, neuron=None, dt=1e-3, surrogate="superspike", slope=25.0, detach_reset=False, synaptic=True):
        torch.nn.Module.__init__(self)
        self.synaptic = bool(synaptic)
        self._set_up(neuron, dt, surrogate, slope, detach_reset)


class Sequential(torch.nn.Sequential):
    """A chain of stateless layers and neuron layers run over a whole sequence: the neuron
    layers' ``(output, state)`` pairs pass on only the output (as Norse's
    ``SequentialState`` does without keeping the state). ``x`` (T, B, ...) -> the last
    layer's output (T, B, ...)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.outputs(x)[-1]

    def outputs(self, x: torch.Tensor) -> list:
        """Every layer's output (T, B, ...), in order."""
        out = []
        for layer in self:
            x = layer(x)
            if getattr(layer, "stateful", False):  # neuron layers and Delay: (output, state)
                x = x[0]
            out.append(x)
        return out
