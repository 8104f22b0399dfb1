"""Reward-modulated STDP: eligibility traces and a neuromodulator (three-factor learning)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from .base import check_dt, check_positive, choice
from .plasticity import PAIRINGS, PlasticityRule, register_rule

__all__ = ["RewardSTDP"]


@register_rule
@dataclass(frozen=True)
class RewardSTDP(PlasticityRule):
    r"""Dopamine-modulated STDP (Izhikevich 2007, Cereb. Cortex 17:2443, eqs. 1-3; the
    three-factor form of Fremaux & Gerstner 2016, Front. Neural Circuits 9:85, eq. 3):
    spike pairs do not change the weight but tag the synapse with an eligibility trace
    ``c``, which turns into a weight change only while the neuromodulator ``d`` is present::

        dc/dt = -c / tau_c + STDP(s) delta(t - t_pre/post)      (pair terms as PairSTDP)
        dd/dt = -d / tau_d + reward(t)                           (one d per projection)
        dw/dt = c d

    Pairs use a presynaptic trace ``x`` (tau_plus) and a postsynaptic trace ``y``
    (tau_minus) as ``PairSTDP``: a presynaptic arrival does ``x += 1; c -= a_minus y``, a
    postsynaptic spike ``y += 1; c += a_plus x``. The reward is given per run
    (``Simulator.run(..., reward=...)``, one value per step, or a callback per chunk):
    ``reward[n]`` joins ``d`` at the end of step ``n``. Then, every step, ``w`` grows by the
    exact integral of ``c d`` over the step (both decay exponentially within it: ``c d
    tau_e (1 - exp(-dt/tau_e))`` with ``1/tau_e = 1/tau_c + 1/tau_d``), is clipped to
    ``[w_min, w_max]``, and ``c`` and ``d`` decay by one step.

    Defaults: Izhikevich (2007): ``tau_plus = tau_minus`` 20 ms, ``a_plus`` 1.0,
    ``a_minus`` 1.5, ``tau_c`` 1 s, ``tau_d`` 0.2 s, ``w_max`` 4 (his synaptic weights are in
    mV of the Izhikevich model's v; a reward of 0.5 is his dopamine release). Units: ``c``
    and the amplitudes in the weight unit per unit of ``d``; ``d`` in the reward's unit
    (per s of ``dw/dt``). ``dendritic_delay`` (s) as ``PlasticityRule``'s.

    Raises ``ValueError`` naming the field for non-finite or negative amplitudes,
    non-positive time constants, inverted bounds or an unknown option.
    """

    tau_plus: float = 20e-3
    tau_minus: float = 20e-3
    a_plus: float = 1.0
    a_minus: float = 1.5
    tau_c: float = 1.0
    tau_d: float = 0.2
    w_min: float = 0.0
    w_max: float = 4.0
    pairing: str = choice("all_to_all", *PAIRINGS)
    dendritic_delay: float = 0.0

    kind: ClassVar[str] = "reward_stdp"
    n_rates: ClassVar[int] = 2
    deferred: ClassVar[bool] = False
    pre_traces: ClassVar[tuple[str, ...]] = ("x",)
    post_traces: ClassVar[tuple[str, ...]] = ("y",)
    synapse_vars: ClassVar[tuple[str, ...]] = ("c",)
    modulated: ClassVar[bool] = True

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("tau_plus", "tau_minus", "tau_c", "tau_d"):
            check_positive(name, f, getattr(self, f))
        self._check_nonnegative("a_plus", "a_minus")
        self._check_nonnegative("dendritic_delay")
        self._check_bounds()

    def discretize(self, dt: float) -> dict[str, float]:
        """``dt/tau_plus``, ``dt/tau_minus``, ``a_plus``, ``a_minus``, ``w_min``, ``w_max``,
        ``nearest`` (0/1), the one-step decays of ``c`` and ``d`` and ``gain = tau_e (1 -
        exp(-dt/tau_e))`` (s), the integral of ``c d`` over a step per unit ``c d``."""
        dt = check_dt(dt)
        tau_e = 1.0 / (1.0 / self.tau_c + 1.0 / self.tau_d)
        return {"k_pre": dt / self.tau_plus, "k_post": dt / self.tau_minus, "a_plus": self.a_plus, "a_minus": self.a_minus,
                "w_min": self.w_min, "w_max": self.w_max, "nearest": float(self.pairing == "nearest"),
                "decay_c": math.exp(-dt / self.tau_c), "decay_d": math.exp(-dt / self.tau_d),
                "gain": tau_e * -math.expm1(-dt / tau_e)}
