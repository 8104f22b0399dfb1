"""Integrate-and-fire neuron without leak (IF), current-based."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import RESETS, NeuronModel, check_dt, check_nonnegative, check_positive, choice, register_model

__all__ = ["IF"]


@register_model
@dataclass(frozen=True)
class IF(NeuronModel):
    r"""Integrate-and-fire neuron without leak (Lapicque's perfect integrator; NIR's ``IF``
    node, Sinabs's ``IAF``, Norse's ``IAFCell``, Loihi's LIF with ``dv = 0``), with
    exponential excitatory and inhibitory currents.

    Equations (state ``v`` in V, ``i_e``/``i_i`` in A)::

        c_mem dv/dt = i_e + i_i + I_ext
        tau_syn_e di_e/dt = -i_e,   tau_syn_i di_i/dt = -i_i
        if v > v_th: spike, v <- v_reset, v held at v_reset for t_ref
        (reset="subtract": v <- v - (v_th - v_reset))

    A spike through an excitatory (inhibitory) projection adds its weight (A) to ``i_e``
    (``i_i``); ``I_ext`` (A) is held constant over a step. There is no resting potential
    the membrane returns to: ``v_rest`` is only its initial value. Integration is exact over
    each step (``a_x = exp(-dt/tau_syn_x)``)::

        v'   = v + (tau_syn_e (1 - a_e) i_e + tau_syn_i (1 - a_i) i_i + dt I_ext) / c_mem
        i_x' = a_x i_x

    the ``tau_mem -> infinity`` limit of ``CubaLIF``'s propagator (Rotter & Diesmann 1999,
    Biol. Cybern. 81:381). Refractoriness follows Brian2, as for ``CubaLIF``.

    ``tau_syn_x = 0`` makes that synapse a **delta synapse**: a spike's weight ``w`` (A) is a
    current held over the one step it arrives in, so ``v`` jumps by ``w dt / c_mem`` in that
    step and nothing is left for the next (``a_x = 0``, ``k_x = dt / c_mem``; Brian2's
    ``on_pre: v += w*dt/C``). That is NIR's ``IF`` read per step, as Sinabs, Norse and Lava
    (``du = 1``) run it.

    Parameters (SI): ``tau_syn_e``, ``tau_syn_i`` (>= 0), ``t_ref`` (s); ``v_rest``, ``v_th``,
    ``v_reset`` (V); ``c_mem`` (F); ``reset``: ``"hard"`` or ``"subtract"``. Raises ``ValueError`` (naming the field) for non-finite
    values, ``c_mem`` <= 0, negative time constants or ``t_ref``, or ``v_reset >= v_th``.
    """

    tau_syn_e: float = 5e-3
    tau_syn_i: float = 10e-3
    v_rest: float = -70e-3
    v_th: float = -50e-3
    v_reset: float = -70e-3
    t_ref: float = 0.0
    c_mem: float = 250e-12
    reset: str = choice("hard", *RESETS)

    kind: ClassVar[str] = "if"
    spiking: ClassVar[bool] = True
    state_vars: ClassVar[tuple[str, ...]] = ("v", "i_e", "i_i")
    units: ClassVar[dict[str, str]] = {"v": "V", "i_e": "A", "i_i": "A"}

    def _validate(self) -> None:
        name = type(self).__name__
        check_positive(name, "c_mem", self.c_mem)
        for f in ("tau_syn_e", "tau_syn_i", "t_ref"):  # tau_syn 0: a delta synapse
            check_nonnegative(name, f, getattr(self, f))
        if self.v_reset >= self.v_th:
            raise ValueError(f"{name}.v_reset = {self.v_reset!r} is invalid: must be below v_th = {self.v_th!r}")

    def initial_state(self) -> dict[str, float]:
        """``v = v_rest``, no synaptic current."""
        return {"v": self.v_rest, "i_e": 0.0, "i_i": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for step ``dt`` (s) (class docstring) in ``CubaLIF``'s order,
        so that every engine runs it as a CuBa-LIF without leak: ``a_m = 1``, ``a_e``,
        ``a_i``, ``k_e``, ``k_i`` (V per A of synaptic current), ``k_ext`` (V per A held over
        the step), ``v_rest`` (the leak's reference, irrelevant without leak: 0, which keeps
        ``v_rest + (v - v_rest) a_m`` exactly ``v``), ``v_th``, ``v_reset``, ``ref_steps``,
        ``subtract`` (1 for ``reset="subtract"``, else 0)."""
        dt = check_dt(dt)
        (a_e, k_e), (a_i, k_i) = (self._synapse(tau, dt) for tau in (self.tau_syn_e, self.tau_syn_i))
        return {"a_m": 1.0, "a_e": a_e, "a_i": a_i, "k_e": k_e, "k_i": k_i,
                "k_ext": dt / self.c_mem, "v_rest": 0.0, "v_th": self.v_th, "v_reset": self.v_reset,
                "ref_steps": float(int(round(self.t_ref / dt))), "subtract": float(self.reset == "subtract")}

    def _synapse(self, tau: float, dt: float) -> tuple[float, float]:
        """(decay per step, V per A of current): exponential, or a delta synapse for tau = 0."""
        if tau == 0:
            return 0.0, dt / self.c_mem
        return math.exp(-dt / tau), -tau * math.expm1(-dt / tau) / self.c_mem
