"""Pair-based spike-timing-dependent plasticity (STDP) with traces."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import check_dt, check_positive, choice
from .plasticity import PAIRINGS, WEIGHT_DEPENDENCES, PlasticityRule, register_rule

__all__ = ["PairSTDP"]


@register_rule
@dataclass(frozen=True)
class PairSTDP(PlasticityRule):
    r"""Pair-based STDP with a presynaptic trace ``x`` per presynaptic neuron and a
    postsynaptic trace ``y`` per postsynaptic neuron (Song, Miller & Abbott 2000, Nat.
    Neurosci. 3:919, eqs. 1-2; the trace form of Morrison, Diesmann & Gerstner 2008, Biol.
    Cybern. 98:459, sec. 4.1; Brian2's ``examples/synapses/STDP.py``)::

        tau_pre dx/dt = -x,   tau_post dy/dt = -y          (dimensionless traces)
        presynaptic spike arrives:  deliver w;  x += 1;  w -= a_minus * y * f_minus(w)
        postsynaptic spike:         y += 1;  w += a_plus * x * f_plus(w)

    (``"nearest"`` pairing sets a trace to 1 instead of adding 1; see ``PAIRINGS``). With
    ``"additive"`` weight dependence ``f_plus = f_minus = 1`` and ``w`` is clipped to
    ``[w_min, w_max]``; ``"multiplicative"``: ``f_plus = (w_max - w) / (w_max - w_min)``,
    ``f_minus = (w - w_min) / (w_max - w_min)`` (``WEIGHT_DEPENDENCES``). A pair with
    ``s = t_post - t_pre`` changes the weight by ``a_plus exp(-s / tau_pre)`` for ``s >= 0``
    and by ``-a_minus exp(s / tau_post)`` for ``s < 0`` (additive, away from the bounds).

    Timing as Brian2's ``on_pre``/``on_post``: the presynaptic update runs when the spike
    arrives (after the projection's delay), before the postsynaptic updates of the same
    step; a pre and a post spike in the same step count as ``s = 0`` (potentiation).

    Parameters: ``tau_pre``, ``tau_post`` (s, > 0); ``a_plus``, ``a_minus`` (>= 0, the
    projection's weight unit: A for current-based targets, S for ``CobaLIF``); ``w_min <
    w_max`` (same unit); ``dendritic_delay`` (s, >= 0, see ``PlasticityRule``). Brian2's example: ``a_plus = 0.01 g_max``, ``a_minus = 1.05
    a_plus``, ``w_max = g_max``. Raises ``ValueError`` naming the field for non-finite or
    negative values, non-positive time constants, inverted bounds or an unknown option.
    """

    tau_pre: float = 20e-3
    tau_post: float = 20e-3
    a_plus: float = 0.01
    a_minus: float = 0.0105
    w_min: float = 0.0
    w_max: float = 1.0
    weight_dependence: str = choice("additive", *WEIGHT_DEPENDENCES)
    pairing: str = choice("all_to_all", *PAIRINGS)
    dendritic_delay: float = 0.0

    kind: ClassVar[str] = "stdp"
    n_rates: ClassVar[int] = 2
    deferred: ClassVar[bool] = True
    pre_traces: ClassVar[tuple[str, ...]] = ("x",)
    post_traces: ClassVar[tuple[str, ...]] = ("y",)

    def _validate(self) -> None:
        name = type(self).__name__
        check_positive(name, "tau_pre", self.tau_pre)
        check_positive(name, "tau_post", self.tau_post)
        self._check_nonnegative("a_plus", "a_minus")
        self._check_nonnegative("dendritic_delay")
        self._check_bounds()

    def discretize(self, dt: float) -> dict[str, float]:
        """``dt/tau_pre``, ``dt/tau_post`` (a trace idle for ``k`` steps decays by ``exp(-k
        dt/tau)``), ``a_plus``, ``a_minus``, ``w_min``, ``w_max``, ``multiplicative`` (0/1),
        ``nearest`` (0/1)."""
        dt = check_dt(dt)
        return {"k_pre": dt / self.tau_pre, "k_post": dt / self.tau_post, "a_plus": self.a_plus, "a_minus": self.a_minus,
                "w_min": self.w_min, "w_max": self.w_max, "multiplicative": float(self.weight_dependence == "multiplicative"),
                "nearest": float(self.pairing == "nearest")}

    def pair_window(self, s) -> float:
        """Weight change of one isolated pair at ``s = t_post - t_pre`` (s), additive and
        away from the bounds (the STDP window, eq. 1 of Song et al. 2000)."""
        return self.a_plus * math.exp(-s / self.tau_pre) if s >= 0 else -self.a_minus * math.exp(s / self.tau_post)
