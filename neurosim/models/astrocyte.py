"""The G-ChI astrocyte with gliotransmitter release (De Pitta et al. 2009, 2011), as used by
Stimberg et al. (2019) in Brian 2."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import NeuronModel, check_dt, check_nonnegative, check_positive, register_model

__all__ = ["GChIAstrocyte", "UMOLAR"]

UMOLAR = 1e-3
"""One micromolar in SI (mol/m^3): concentrations here are in mol/m^3 = mM."""


@register_model
@dataclass(frozen=True)
class GChIAstrocyte(NeuronModel):
    r"""Astrocyte: IP3/Ca2+ dynamics (G-ChI model) and Ca2+-triggered gliotransmitter release.

    Equations (De Pitta, Goldberg, Volman, Berry & Ben-Jacob 2009, J. Biol. Phys. 35:383,
    eqs. 1-3 and 17-23; release after De Pitta, Volman, Berry & Ben-Jacob 2011, PLoS Comput.
    Biol. 7:e1002293; written as in Stimberg, Goodman, Brette & De Pitta 2019, "Modeling
    neuron-glia interactions with the Brian 2 simulator", Computational Glioscience, and
    Brian2's ``examples/frompapers/Stimberg_et_al_2018``). State: receptor activation
    ``Gamma_A``, IP3 ``I`` and Ca2+ ``C`` (mol/m^3), IP3R de-inactivation ``h``, releasable
    gliotransmitter fraction ``x_A``, extracellular gliotransmitter ``G_A`` (mol/m^3), the
    activation of presynaptic receptors in the astrocyte's domain ``Gamma_S`` and the sensed
    extracellular neurotransmitter ``Y_S`` (mol/m^3)::

        dGamma_A/dt = O_N Y_S (1 - Gamma_A) - Omega_N (1 + zeta C/(C + K_KC)) Gamma_A
        dI/dt = O_beta Gamma_A                                           (J_beta)
              + O_delta/(1 + I/kappa_delta) C^2/(C^2 + K_delta^2)        (J_delta)
              - O_3K C^4/(C^4 + K_D^4) I/(I + K_3K) - Omega_5P I         (J_3K, J_5P)
              + J_ex + J_coupling
        J_ex = -F_ex/2 (1 + tanh((|I - I_bias| - I_Theta)/omega_I)) sign(I - I_bias)
        dC/dt = (Omega_C m_inf^3 h^3 + Omega_L)(C_T - (1 + rho_A) C) - O_P C^2/(C^2 + K_P^2)
        dh/dt = (h_inf - h)/tau_h,  m_inf = I/(I + d_1) C/(C + d_5),  h_inf = Q_2/(Q_2 + C),
        tau_h = 1/(O_2 (Q_2 + C)),  Q_2 = d_2 (I + d_1)/(I + d_3)
        dx_A/dt = Omega_A (1 - x_A),    dG_A/dt = -Omega_e G_A
        when C rises above C_Theta: G_A += rho_e G_T U_A x_A,  x_A -= U_A x_A  (a release event)
        dGamma_S/dt = O_G G_A (1 - Gamma_S) - Omega_G Gamma_S
        dY_S/dt = -Omega_c Y_S,  plus what the synapses it senses release

    ``Y_S`` is the sum of the neurotransmitter of the synapses linked to the astrocyte
    (``neurosim.SynapseToAstrocyte``; spikes through ``"exc"`` projections onto the astrocyte
    add their weight in mol/m^3), decaying with the clearance rate ``Omega_c``. ``J_coupling``
    is the IP3 flux through astrocytic gap junctions (``neurosim.AstrocyteGapJunctions``).
    ``Gamma_S`` is kept once per astrocyte: every synapse of its domain sees the same
    ``G_A``, so their receptor activations, which start at 0, stay equal (in Brian2 each
    synapse integrates the same equation); ``neurosim.AstrocyteToSynapse`` lets synapses read it.

    Integration as in Brian2's examples: classical Runge-Kutta (RK4) over the astrocyte's own
    step ``dt_astro`` (0: the simulator's step; otherwise a whole multiple of it, e.g. 10 ms
    in a 0.1 ms network), with ``Y_S`` and ``J_coupling`` held over the step. ``Gamma_S`` is
    advanced exactly every simulator step with ``G_A`` held. The release event fires at the
    first astrocyte step whose new ``C`` exceeds ``C_Theta`` after one that did not, and is
    reported as a spike of the population.

    Parameters: rates in 1/s (``Omega_*``), fluxes in mol/m^3/s (``O_P``, ``O_beta``,
    ``O_delta``, ``O_3K``, ``F_ex``), binding rates in m^3/mol/s (``O_2``, ``O_N``, ``O_G``),
    concentrations in mol/m^3, ``dt_astro`` in s, the rest dimensionless. Defaults: the
    astrocyte of Brian2's example 2 (Stimberg et al. 2019, Fig. 2) with the release and
    presynaptic-receptor parameters of examples 4 and 6; ``UMOLAR`` converts micromolar.

    Raises ``ValueError`` naming the field for non-finite values, negative rates or
    concentrations, zero affinities, fractions outside [0, 1] and a negative ``dt_astro``.
    """

    O_P: float = 0.9 * UMOLAR
    K_P: float = 0.1 * UMOLAR
    C_T: float = 2.0 * UMOLAR
    rho_A: float = 0.18
    Omega_C: float = 6.0
    Omega_L: float = 0.1
    d_1: float = 0.13 * UMOLAR
    d_2: float = 1.05 * UMOLAR
    O_2: float = 0.2 / UMOLAR
    d_3: float = 0.9434 * UMOLAR
    d_5: float = 0.08 * UMOLAR
    O_beta: float = 5.0 * UMOLAR
    O_N: float = 0.3 / UMOLAR
    Omega_N: float = 0.5
    K_KC: float = 0.5 * UMOLAR
    zeta: float = 10.0
    O_delta: float = 0.2 * UMOLAR
    kappa_delta: float = 1.5 * UMOLAR
    K_delta: float = 0.3 * UMOLAR
    Omega_5P: float = 0.1
    K_D: float = 0.5 * UMOLAR
    K_3K: float = 1.0 * UMOLAR
    O_3K: float = 4.5 * UMOLAR
    F_ex: float = 0.09 * UMOLAR
    I_bias: float = 0.0
    I_Theta: float = 0.3 * UMOLAR
    omega_I: float = 0.05 * UMOLAR
    C_Theta: float = 0.5 * UMOLAR
    Omega_A: float = 0.6
    U_A: float = 0.6
    G_T: float = 200.0
    rho_e: float = 6.5e-4
    Omega_e: float = 60.0
    O_G: float = 1.5 / UMOLAR
    Omega_G: float = 0.5 / 60.0
    Omega_c: float = 40.0
    dt_astro: float = 0.0

    kind: ClassVar[str] = "gchi_astrocyte"
    spiking: ClassVar[bool] = True  # release events are its spikes
    state_vars: ClassVar[tuple[str, ...]] = ("Gamma_A", "I", "C", "h", "x_A", "G_A", "Gamma_S", "Y_S")
    units: ClassVar[dict[str, str]] = {"Gamma_A": "1", "I": "mol/m^3", "C": "mol/m^3", "h": "1", "x_A": "1",
                                       "G_A": "mol/m^3", "Gamma_S": "1", "Y_S": "mol/m^3"}
    synaptic_vars: ClassVar[tuple[str, ...]] = ("Y_S",)
    synaptic_targets: ClassVar[tuple[str, ...]] = ("exc",)
    glial: ClassVar[bool] = True

    def _validate(self) -> None:
        name = type(self).__name__
        positive = ("K_P", "C_T", "d_1", "d_2", "O_2", "d_3", "d_5", "K_KC", "kappa_delta", "K_delta", "K_D", "K_3K",
                    "omega_I", "C_Theta", "G_T")
        for f in positive:
            check_positive(name, f, getattr(self, f))
        for f in ("O_P", "rho_A", "Omega_C", "Omega_L", "O_beta", "O_N", "Omega_N", "zeta", "O_delta", "Omega_5P",
                  "O_3K", "F_ex", "I_bias", "I_Theta", "Omega_A", "rho_e", "Omega_e", "O_G", "Omega_G", "Omega_c",
                  "dt_astro"):
            check_nonnegative(name, f, getattr(self, f))
        if not 0.0 <= self.U_A <= 1.0:
            raise ValueError(f"{name}.U_A = {self.U_A!r} is invalid: a release probability must be in [0, 1]")

    def initial_state(self) -> dict[str, float]:
        """Brian2 examples' initial values: h = 0.9, x_A = 1, everything else 0."""
        return {"Gamma_A": 0.0, "I": 0.0, "C": 0.0, "h": 0.9, "x_A": 1.0, "G_A": 0.0, "Gamma_S": 0.0, "Y_S": 0.0}

    def astro_steps(self, dt: float) -> int:
        """Simulator steps per astrocyte step (``ValueError`` unless ``dt_astro`` is 0 or a
        whole multiple of ``dt``)."""
        dt = check_dt(dt)
        if self.dt_astro == 0.0:
            return 1
        k = int(round(self.dt_astro / dt))
        if k < 1 or abs(k * dt - self.dt_astro) > 1e-9 * self.dt_astro:
            raise ValueError(f"GChIAstrocyte.dt_astro = {self.dt_astro!r} s is not a whole multiple of the simulator's dt = {dt!r} s")
        return k

    def discretize(self, dt: float) -> dict[str, float]:
        """Every parameter in field order, then ``k_steps`` (simulator steps per astrocyte
        step), ``h`` (the astrocyte step, s), ``a_c = exp(-Omega_c dt)`` and ``dt`` (s)."""
        k = self.astro_steps(dt)
        coef = {key: float(value) for key, value in self.to_dict().items()}
        coef.update(k_steps=float(k), h=k * dt, a_c=math.exp(-self.Omega_c * dt), dt=dt)
        return coef
