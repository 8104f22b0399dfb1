"""Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import NeuronModel, check_dt, check_nonnegative, check_positive, register_model

__all__ = ["AdEx"]


@register_model
@dataclass(frozen=True)
class AdEx(NeuronModel):
    r"""Adaptive exponential integrate-and-fire (Brette & Gerstner 2005, J. Neurophysiol.
    94:3637, eqs. 1-2 and the reset rule of their section "Model")::

        c_mem dv/dt = -g_leak (v - v_rest) + g_leak delta_t exp((v - v_t)/delta_t) - w
                      + i_e + i_i + I_ext
        tau_w dw/dt = a (v - v_rest) - w
        if v > v_peak: v <- v_reset, w <- w + b

    Units: v, v_rest, v_t, delta_t, v_reset, v_peak in V; w, b, i_e, i_i in A; a, g_leak in S;
    c_mem in F; tau_w, tau_syn_e, tau_syn_i, t_ref in s. Defaults are the paper's cortical
    pyramidal cell (C = 281 pF, g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV,
    tau_w = 144 ms, a = 4 nS, b = 80.5 pA) with ``v_peak = v_t + 5 delta_t`` as in Brian2's
    AdEx example.

    Integration: forward Euler for (v, w) with the synaptic current held at its value at the
    start of the step; the synaptic currents ``i_e``/``i_i`` then decay exactly.

    Raises ``ValueError`` (naming the field) for non-finite values, non-positive
    ``c_mem``/``g_leak``/``delta_t``/time constants, ``t_ref < 0``, ``v_peak <= v_t`` or
    ``v_reset >= v_peak``.
    """

    c_mem: float = 281e-12
    g_leak: float = 30e-9
    v_rest: float = -70.6e-3
    v_t: float = -50.4e-3
    delta_t: float = 2e-3
    tau_w: float = 144e-3
    a: float = 4e-9
    b: float = 80.5e-12
    v_reset: float = -70.6e-3
    v_peak: float = -40.4e-3
    tau_syn_e: float = 5e-3
    tau_syn_i: float = 10e-3
    t_ref: float = 0.0

    kind: ClassVar[str] = "adex"
    spiking: ClassVar[bool] = True
    state_vars: ClassVar[tuple[str, ...]] = ("v", "w", "i_e", "i_i")
    units: ClassVar[dict[str, str]] = {"v": "V", "w": "A", "i_e": "A", "i_i": "A"}

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("c_mem", "g_leak", "delta_t", "tau_w", "tau_syn_e", "tau_syn_i"):
            check_positive(name, f, getattr(self, f))
        check_nonnegative(name, "t_ref", self.t_ref)
        if self.v_peak <= self.v_t:
            raise ValueError(f"{name}.v_peak = {self.v_peak!r} is invalid: must be above v_t = {self.v_t!r}")
        if self.v_reset >= self.v_peak:
            raise ValueError(
                f"{name}.v_reset = {self.v_reset!r} is invalid: must be below v_peak = {self.v_peak!r}"
            )

    def initial_state(self) -> dict[str, float]:
        """Resting values of the state variables (SI units)."""
        return {"v": self.v_rest, "w": 0.0, "i_e": 0.0, "i_i": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for step ``dt`` (s); see the class docstring."""
        dt = check_dt(dt)
        return {
            "dt_over_c": dt / self.c_mem,
            "g_leak": self.g_leak,
            "v_rest": self.v_rest,
            "v_t": self.v_t,
            "delta_t": self.delta_t,
            "dt_over_tau_w": dt / self.tau_w,
            "a": self.a,
            "b": self.b,
            "v_reset": self.v_reset,
            "v_peak": self.v_peak,
            "a_e": math.exp(-dt / self.tau_syn_e),
            "a_i": math.exp(-dt / self.tau_syn_i),
            "ref_steps": float(int(round(self.t_ref / dt))),
        }
