"""Current-based leaky integrate-and-fire neuron (CuBa-LIF)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import RESETS, NeuronModel, check_dt, check_nonnegative, check_positive, choice, register_model

__all__ = ["CubaLIF", "exp_kernel_gain"]


def exp_kernel_gain(dt: float, tau_mem: float, tau_syn: float) -> float:
    """Voltage gained over one step per volt of an exponentially decaying input.

    Exact solution of ``tau_mem dv/dt = -v + x``, ``tau_syn dx/dt = -x`` from ``v = 0``,
    ``x = x0`` over ``dt``: ``v(dt) = x0 * k`` with
    ``k = tau_syn / (tau_syn - tau_mem) * (exp(-dt/tau_syn) - exp(-dt/tau_mem))``,
    and its limit ``(dt / tau_mem) exp(-dt/tau_mem)`` when ``tau_syn == tau_mem``.
    Written as ``(dt/tau_mem) exp(-dt/tau_mem) expm1(x)/x`` with
    ``x = dt (tau_syn - tau_mem) / (tau_mem tau_syn)``, which has no cancellation when the
    two time constants are close.
    """
    x = dt * (tau_syn - tau_mem) / (tau_mem * tau_syn)
    ratio = math.expm1(x) / x if x != 0.0 else 1.0
    return dt / tau_mem * math.exp(-dt / tau_mem) * ratio


@register_model
@dataclass(frozen=True)
class CubaLIF(NeuronModel):
    r"""Leaky integrate-and-fire neuron with exponential excitatory and inhibitory currents.

    Equations (state ``v`` in V, ``i_e``/``i_i`` in A)::

        tau_mem dv/dt = -(v - v_rest) + R (i_e + i_i + I_ext),   R = tau_mem / c_mem
        tau_syn_e di_e/dt = -i_e
        tau_syn_i di_i/dt = -i_i
        if v > v_th: spike, v <- v_reset, v held at v_reset for t_ref

    or, with ``reset="subtract"``, ``v <- v - (v_th - v_reset)`` (a soft reset, keeping what
    the membrane had above the threshold; snnTorch's and Norse's subtraction).

    A spike arriving through an excitatory (inhibitory) projection adds its weight (A) to
    ``i_e`` (``i_i``); weights are signed, so inhibitory weights are normally negative.
    ``I_ext`` (A) is the external and gap-junction current, held constant over a step.

    Integration is exact for the linear system over each step (the propagator of
    Rotter & Diesmann 1999, Biol. Cybern. 81:381): with ``a_m = exp(-dt/tau_mem)``,
    ``a_x = exp(-dt/tau_syn_x)``::

        v'   = v_rest + (v - v_rest) a_m + R k_e i_e + R k_i i_i + R (1 - a_m) I_ext
        i_x' = a_x i_x,     k_x = tau_syn_x / (tau_syn_x - tau_mem) (a_x - a_m)

    The Brette et al. (2007, J. Comput. Neurosci. 23:349, benchmark 2 "CUBA") network neuron
    is the case ``R i_x = g_x`` (conductances written in volts). Refractoriness follows
    Brian2: the membrane is clamped for ``round(t_ref/dt) - 1`` updates after the spike step.

    ``tau_syn_x = 0`` makes that synapse a **delta synapse**: a spike's weight (A) is a current
    held over the one step it arrives in (``a_x = 0``, ``k_x = 1 - a_m``, as ``I_ext``): NIR's
    ``LIF`` and ``LI`` nodes, whose input drives the membrane directly.

    Parameters (SI): ``tau_mem``, ``tau_syn_e``, ``tau_syn_i`` (>= 0), ``t_ref`` (s); ``v_rest``,
    ``v_th``, ``v_reset`` (V); ``c_mem`` (F); ``reset``: ``"hard"`` or ``"subtract"``.

    Raises ``ValueError`` (naming the field) for non-finite values, ``tau_mem <= 0``, negative
    synaptic time constants, ``t_ref < 0``, ``c_mem <= 0`` or ``v_reset >= v_th``.
    """

    tau_mem: float = 20e-3
    tau_syn_e: float = 5e-3
    tau_syn_i: float = 10e-3
    v_rest: float = -70e-3
    v_th: float = -50e-3
    v_reset: float = -70e-3
    t_ref: float = 2e-3
    c_mem: float = 250e-12
    reset: str = choice("hard", *RESETS)

    kind: ClassVar[str] = "cuba_lif"
    spiking: ClassVar[bool] = True
    state_vars: ClassVar[tuple[str, ...]] = ("v", "i_e", "i_i")
    units: ClassVar[dict[str, str]] = {"v": "V", "i_e": "A", "i_i": "A"}

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("tau_mem", "c_mem"):
            check_positive(name, f, getattr(self, f))
        for f in ("tau_syn_e", "tau_syn_i", "t_ref"):  # tau_syn 0: a delta synapse
            check_nonnegative(name, f, getattr(self, f))
        if self.v_reset >= self.v_th:
            raise ValueError(
                f"{name}.v_reset = {self.v_reset!r} is invalid: must be below v_th = {self.v_th!r}"
            )

    def initial_state(self) -> dict[str, float]:
        """Resting values of the state variables (SI units)."""
        return {"v": self.v_rest, "i_e": 0.0, "i_i": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for step ``dt`` (s); see the class docstring. ``subtract``
        is 1 for ``reset="subtract"``, else 0."""
        dt = check_dt(dt)
        r = self.tau_mem / self.c_mem
        a_m = math.exp(-dt / self.tau_mem)
        return {
            "a_m": a_m,
            "a_e": math.exp(-dt / self.tau_syn_e) if self.tau_syn_e else 0.0,
            "a_i": math.exp(-dt / self.tau_syn_i) if self.tau_syn_i else 0.0,
            "k_e": r * (exp_kernel_gain(dt, self.tau_mem, self.tau_syn_e) if self.tau_syn_e else 1.0 - a_m),
            "k_i": r * (exp_kernel_gain(dt, self.tau_mem, self.tau_syn_i) if self.tau_syn_i else 1.0 - a_m),
            "k_ext": r * (1.0 - a_m),
            "v_rest": self.v_rest,
            "v_th": self.v_th,
            "v_reset": self.v_reset,
            "ref_steps": float(int(round(self.t_ref / dt))),
            "subtract": float(self.reset == "subtract"),
        }
