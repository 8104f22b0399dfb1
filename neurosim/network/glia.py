"""Astrocyte links of a ``Network``: astrocytes that sense the neurotransmitter of a
projection's synapses, gliotransmission onto synapses, and IP3 diffusion between
astrocytes (Stimberg et al. 2019)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .validation import int_array

__all__ = ["SynapseToAstrocyte", "AstrocyteToSynapse", "AstrocyteGapJunctions", "GLIA"]


@dataclass(frozen=True, eq=False)
class SynapseToAstrocyte:
    """Astrocytes that sense the neurotransmitter released by the dynamic synapses of a
    projection (Brian2: ``Y_S_post = Y_S_pre : (summed)``, Stimberg et al. 2019).

    ``astrocyte_index`` (n_syn,): the astrocyte of population ``astrocytes`` sensing each
    synapse of ``projection`` (in the projection's CSR order), -1 for none. A spike releasing
    ``r_S`` adds ``rho_c Y_T r_S`` to that astrocyte's ``Y_S``; with ``normalize=True``
    divided by the number of synapses the astrocyte senses (Brian2 example 6's
    ``Y_S_pre/N_incoming``). For static synapses, project onto the astrocytes directly
    (target ``"exc"``, weight ``rho_c Y_T`` in mol/m^3)."""

    projection: str
    astrocytes: str
    astrocyte_index: np.ndarray
    normalize: bool = False

    def __post_init__(self):
        where = f"synapse-to-astrocyte link {self.projection!r} -> {self.astrocytes!r}"
        object.__setattr__(self, "astrocyte_index", int_array(where, "astrocyte_index", self.astrocyte_index).ravel())
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise ValueError(f"{where}: normalize must be True or False, got {self.normalize!r}")


@dataclass(frozen=True, eq=False)
class AstrocyteToSynapse:
    """Gliotransmission: the synapses of ``projection`` read the presynaptic receptor
    activation ``variable`` (``"Gamma_S"``) of the astrocyte covering them, which sets their
    release probability (``TripartiteSynapse``). ``astrocyte_index`` (n_syn,): the covering
    astrocyte of population ``astrocytes`` per synapse (CSR order), -1 for none."""

    astrocytes: str
    projection: str
    astrocyte_index: np.ndarray
    variable: str = "Gamma_S"

    def __post_init__(self):
        where = f"astrocyte-to-synapse link {self.astrocytes!r} -> {self.projection!r}"
        object.__setattr__(self, "astrocyte_index", int_array(where, "astrocyte_index", self.astrocyte_index).ravel())


@dataclass(frozen=True, eq=False)
class AstrocyteGapJunctions:
    """IP3 diffusion between astrocytes ``i`` and ``j`` of population ``astrocytes`` (pairs
    listed once, acting both ways), after Goldberg et al. 2010 (PLoS Comput. Biol.
    6:e1000909) as in Stimberg et al. 2019, Fig. 6: the flux into ``i`` is
    ``J = -F/2 (1 + tanh((|I_i - I_j| - I_Theta)/omega_I)) sign(I_i - I_j)`` (and ``-J``
    into ``j``), computed from the IP3 at the start of each astrocyte step.

    ``F`` (mol/m^3/s, >= 0), ``I_Theta`` (mol/m^3, >= 0), ``omega_I`` (mol/m^3, > 0);
    defaults from Brian2 example 6."""

    astrocytes: str
    i: np.ndarray
    j: np.ndarray
    F: float = 0.09e-3
    I_Theta: float = 0.3e-3
    omega_I: float = 0.05e-3

    def __post_init__(self):
        where = f"astrocyte gap junctions of {self.astrocytes!r}"
        i = int_array(where, "i", self.i).ravel()
        j = int_array(where, "j", self.j).ravel()
        if i.size != j.size:
            raise ValueError(f"{where}: i and j must have the same length, got {i.size} and {j.size}")
        if np.any(i == j):
            raise ValueError(f"{where}: an astrocyte cannot be coupled to itself (i == j == {i[i == j][0]})")
        for f, lo_ok in (("F", 0.0), ("I_Theta", 0.0)):
            v = getattr(self, f)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < lo_ok:
                raise ValueError(f"{where}: {f} = {v!r} is invalid: must be a finite number >= 0")
        if not isinstance(self.omega_I, (int, float)) or not math.isfinite(self.omega_I) or self.omega_I <= 0:
            raise ValueError(f"{where}: omega_I = {self.omega_I!r} is invalid: must be a finite number > 0")
        object.__setattr__(self, "i", i)
        object.__setattr__(self, "j", j)


#: The glia link types a ``Network`` accepts in ``glia``.
GLIA = (SynapseToAstrocyte, AstrocyteToSynapse, AstrocyteGapJunctions)


