"""Conductance-based leaky integrate-and-fire neuron (CoBa-LIF)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import NeuronModel, check_dt, check_nonnegative, check_positive, register_model

__all__ = ["CobaLIF"]


@register_model
@dataclass(frozen=True)
class CobaLIF(NeuronModel):
    r"""Leaky integrate-and-fire neuron with exponential excitatory and inhibitory conductances.

    Equations (state ``v`` in V, ``g_e``/``g_i`` in S; Brette et al. 2007, J. Comput.
    Neurosci. 23:349, benchmark 1 "COBA"; Stimberg et al. 2019, Fig. 6)::

        c_mem dv/dt = g_leak (e_leak - v) + g_e (e_e - v) + g_i (e_i - v) + I_ext
        tau_syn_e dg_e/dt = -g_e,   tau_syn_i dg_i/dt = -g_i
        if v > v_th: spike, v <- v_reset, v held for t_ref

    A spike through an ``"exc"`` (``"inh"``) projection adds its weight (S, >= 0) to ``g_e``
    (``g_i``). Over a step the conductances are held at their start-of-step values and ``v``
    is advanced exactly for them (exponential Euler: ``v' = v_inf + (v - v_inf)
    exp(-g_tot dt/c_mem)``); the conductances then decay exactly. Refractoriness as in
    ``CubaLIF``.

    Parameters (SI): ``c_mem`` (F), ``g_leak`` (S), ``e_leak``, ``e_e``, ``e_i``, ``v_th``,
    ``v_reset`` (V), ``tau_syn_e``, ``tau_syn_i``, ``t_ref`` (s). Defaults: the neurons of
    Stimberg et al. (2019) Fig. 6 (Brian2 example 6).

    Raises ``ValueError`` (naming the field) for non-finite values, non-positive ``c_mem``,
    ``g_leak`` or time constants, ``t_ref < 0`` or ``v_reset >= v_th``.
    """

    c_mem: float = 198e-12
    g_leak: float = 9.99e-9
    e_leak: float = -60e-3
    e_e: float = 0.0
    e_i: float = -80e-3
    tau_syn_e: float = 5e-3
    tau_syn_i: float = 10e-3
    v_th: float = -50e-3
    v_reset: float = -60e-3
    t_ref: float = 5e-3

    kind: ClassVar[str] = "coba_lif"
    spiking: ClassVar[bool] = True
    state_vars: ClassVar[tuple[str, ...]] = ("v", "g_e", "g_i")
    units: ClassVar[dict[str, str]] = {"v": "V", "g_e": "S", "g_i": "S"}
    synaptic_vars: ClassVar[tuple[str, ...]] = ("g_e", "g_i")

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("c_mem", "g_leak", "tau_syn_e", "tau_syn_i"):
            check_positive(name, f, getattr(self, f))
        check_nonnegative(name, "t_ref", self.t_ref)
        if self.v_reset >= self.v_th:
            raise ValueError(f"{name}.v_reset = {self.v_reset!r} is invalid: must be below v_th = {self.v_th!r}")

    def initial_state(self) -> dict[str, float]:
        """Resting values of the state variables (SI units)."""
        return {"v": self.e_leak, "g_e": 0.0, "g_i": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for step ``dt`` (s)."""
        dt = check_dt(dt)
        return {
            "dt_c": dt / self.c_mem,
            "g_leak": self.g_leak,
            "e_leak": self.e_leak,
            "e_e": self.e_e,
            "e_i": self.e_i,
            "a_e": math.exp(-dt / self.tau_syn_e),
            "a_i": math.exp(-dt / self.tau_syn_i),
            "v_th": self.v_th,
            "v_reset": self.v_reset,
            "ref_steps": float(int(round(self.t_ref / dt))),
        }
