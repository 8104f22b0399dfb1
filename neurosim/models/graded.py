"""Graded (non-spiking) neuron with sigmoidal graded synapses (Wicks 1996 / Kunert 2014)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import NeuronModel, check_dt, check_positive, register_model

__all__ = ["GradedNeuron"]


@register_model
@dataclass(frozen=True)
class GradedNeuron(NeuronModel):
    r"""Passive graded-potential neuron whose output is a graded synaptic activation.

    Wicks, Roehrig & Rankin (1996, J. Neurosci. 16:4017) in the form of Kunert, Shlizerman &
    Kutz (2014, SIAM J. Appl. Dyn. Syst. 13:1042, eqs. 2.1-2.4)::

        c_mem dV_i/dt = -g_leak (V_i - e_leak) - I_gap,i - I_syn,i + I_ext,i
        I_gap,i = sum_j g_ij (V_i - V_j)                     (gap junctions, S)
        I_syn,i = sum_j w_ij s_j (V_i - E_j)                 (graded synapses, S, V)
        ds_i/dt = a_r phi(V_i) (1 - s_i) - a_d s_i,  phi(V) = 1 / (1 + exp(-beta (V - v_half)))

    ``s_i`` is the synaptic activation of neuron ``i``'s output synapses (dimensionless,
    0..1); ``w_ij`` (S) and ``E_j`` (V) are the conductance and reversal potential of the
    graded projection from ``j`` to ``i``. Defaults are Kunert et al. 2014's: C = 1 pF,
    G_c = 10 pS, E_c = -35 mV, a_r = 1 /s, a_d = 5 /s, beta = 0.125 /mV; ``v_half`` defaults to
    E_c (Kunert et al. set it per neuron from the network's equilibrium).

    Integration (second order, exponential trapezoid): with the coupling terms (neighbours'
    voltages, presynaptic activations) frozen, both equations are linear in the neuron's own
    variable, ``c_mem dV/dt = -G (V - num/G)`` and ``ds/dt = -k (s - r/k)`` with::

        G = g_leak + sum_j g_ij + sum_j w_ij s_j,  num = g_leak e_leak + sum_j g_ij V_j
            + sum_j w_ij s_j E_j + I_ext,          r = a_r phi(V),  k = r + a_d

    and are advanced exactly over the step. A predictor step does this with the rates at
    the start of the step; the corrector repeats it from the start state with the rates
    averaged between the start and the predicted state, which makes the scheme second order
    (exact for constant rates), keeps ``s`` in [0, 1] and the leak unconditionally stable.
    That is the explicit engine, used for mixed spiking/graded networks. Networks of graded
    neurons only default to the implicit BDF2 solver
    (``neurosim.engine.graded_implicit``, optionally adaptive), because strong gap-junction
    coupling makes them stiff.

    Raises ``ValueError`` (naming the field) for non-finite values or non-positive
    ``c_mem``, ``g_leak``, ``a_r``, ``a_d``, ``beta``.
    """

    c_mem: float = 1e-12
    g_leak: float = 10e-12
    e_leak: float = -35e-3
    a_r: float = 1.0
    a_d: float = 5.0
    beta: float = 125.0
    v_half: float = -35e-3

    kind: ClassVar[str] = "graded"
    spiking: ClassVar[bool] = False
    state_vars: ClassVar[tuple[str, ...]] = ("v", "s")
    units: ClassVar[dict[str, str]] = {"v": "V", "s": "1"}

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("c_mem", "g_leak", "a_r", "a_d", "beta"):
            check_positive(name, f, getattr(self, f))

    def initial_state(self) -> dict[str, float]:
        """Resting values of the state variables (SI units)."""
        return {"v": self.e_leak, "s": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for step ``dt`` (s); see the class docstring."""
        dt = check_dt(dt)
        return {
            "dt": dt,
            "inv_c": 1.0 / self.c_mem,
            "g_leak": self.g_leak,
            "e_leak": self.e_leak,
            "a_r": self.a_r,
            "a_d": self.a_d,
            "beta": self.beta,
            "v_half": self.v_half,
        }
