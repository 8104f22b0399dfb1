"""Dynamic synapse models: per-synapse state updated by presynaptic spikes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .base import ParameterModel, check_nonnegative

__all__ = ["SynapseModel", "TripartiteSynapse", "SYNAPSE_MODELS"]


class SynapseModel(ParameterModel):
    """Base of the dynamic synapse models (frozen dataclasses of SI parameters). Subclasses
    set ``kind`` (the engine's name), ``state_vars`` and ``units`` and implement
    ``initial_state()``, ``discretize(dt)`` and ``observe(state, elapsed)``.

    The engine updates a synapse only when it carries a spike, so its stored state is as of
    that spike: ``state_vars`` end with ``"last_step"`` (the step of the last update), and
    ``observe`` brings the stored state forward by ``elapsed`` seconds (what
    ``Simulator.synapse_state`` reports)."""

    _scope: ClassVar[str] = "projection"
    kind: ClassVar[str] = ""
    state_vars: ClassVar[tuple[str, ...]] = ()
    units: ClassVar[dict[str, str]] = {}

    def transmitter_per_release(self) -> float:
        """Neurotransmitter (mol/m^3) a sensing astrocyte receives per unit released fraction."""
        return 1.0


@dataclass(frozen=True)
class TripartiteSynapse(SynapseModel):
    r"""Short-term plastic synapse whose release probability is modulated by gliotransmission.

    Tsodyks-Markram dynamics with presynaptic receptors activated by astrocytic
    gliotransmitter (De Pitta, Volman, Berry & Ben-Jacob 2011, PLoS Comput. Biol.
    7:e1002293, eqs. 2-6; as in Stimberg et al. 2019 and Brian2's
    ``examples/frompapers/Stimberg_et_al_2018`` 4 and 6). Between spikes::

        du_S/dt = -Omega_f u_S,   dx_S/dt = Omega_d (1 - x_S),   dY_S/dt = -Omega_c Y_S

    and at a presynaptic spike, with ``Gamma_S`` the presynaptic receptor activation of the
    covering astrocyte (``GChIAstrocyte``; 0 where no ``AstrocyteToSynapse`` link covers the
    synapse)::

        U_0 = (1 - Gamma_S) U_0_star + alpha Gamma_S
        u_S += U_0 (1 - u_S);   r_S = u_S x_S;   x_S -= r_S;   Y_S += rho_c Y_T r_S

    The postsynaptic target receives ``weight * r_S`` (A for current-based neurons, S for
    ``CobaLIF``); a linked astrocyte senses ``rho_c Y_T r_S`` (or its share, see
    ``SynapseToAstrocyte``). State is event-driven: it is brought up to date, exactly, at
    each spike (``u_S``, ``x_S`` and ``Y_S`` are stored as of the synapse's last spike).
    The update runs when the spike is emitted; its effect reaches the target after the
    projection's delay (Brian2 runs all of ``on_pre`` at arrival; the two agree for the
    one-step delays of the examples).

    Parameters: ``U_0_star``, ``alpha`` in [0, 1]; ``Omega_f``, ``Omega_d``, ``Omega_c``
    (1/s); ``rho_c`` (vesicle-to-extracellular volume ratio); ``Y_T`` (mol/m^3). Defaults:
    Brian2 examples 4 and 6. Raises ``ValueError`` naming the field for non-finite or
    negative values and fractions outside [0, 1].
    """

    U_0_star: float = 0.6
    Omega_f: float = 3.33
    Omega_d: float = 2.0
    rho_c: float = 0.005
    Y_T: float = 500.0
    Omega_c: float = 40.0
    alpha: float = 0.0

    kind: ClassVar[str] = "tripartite"
    state_vars: ClassVar[tuple[str, ...]] = ("u_S", "x_S", "Y_S", "last_step")
    units: ClassVar[dict[str, str]] = {"u_S": "1", "x_S": "1", "Y_S": "mol/m^3", "last_step": "step"}

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("Omega_f", "Omega_d", "rho_c", "Y_T", "Omega_c"):
            check_nonnegative(name, f, getattr(self, f))
        for f in ("U_0_star", "alpha"):
            if not 0.0 <= getattr(self, f) <= 1.0:
                raise ValueError(f"{name}.{f} = {getattr(self, f)!r} is invalid: a probability must be in [0, 1]")

    def initial_state(self) -> dict[str, float]:
        """``u_S = 0``, ``x_S = 1``, ``Y_S = 0``, last update at step 0 (as Brian2)."""
        return {"u_S": 0.0, "x_S": 1.0, "Y_S": 0.0, "last_step": 0.0}

    def discretize(self, dt: float) -> dict[str, float]:
        """``U_0_star``, ``alpha``, ``Omega_f dt``, ``Omega_d dt``, ``Omega_c dt``, ``rho_c Y_T``."""
        return {"U_0_star": self.U_0_star, "alpha": self.alpha, "f": self.Omega_f * dt, "d": self.Omega_d * dt,
                "c": self.Omega_c * dt, "release": self.rho_c * self.Y_T}

    def transmitter_per_release(self) -> float:
        """``rho_c Y_T`` (mol/m^3): what a sensing astrocyte receives per unit of ``r_S``."""
        return self.rho_c * self.Y_T

    def observe(self, state: dict[str, np.ndarray], elapsed: np.ndarray) -> dict[str, np.ndarray]:
        """The state ``elapsed`` seconds after each synapse's last spike (what a clock-driven
        simulator would hold now)."""
        return {"u_S": state["u_S"] * np.exp(-self.Omega_f * elapsed),
                "x_S": 1.0 + (state["x_S"] - 1.0) * np.exp(-self.Omega_d * elapsed),
                "Y_S": state["Y_S"] * np.exp(-self.Omega_c * elapsed)}


SYNAPSE_MODELS = {m.kind: m for m in (TripartiteSynapse,)}
"""Synapse model classes by their engine name (``kind``)."""
