"""Triplet spike-timing-dependent plasticity (Pfister & Gerstner 2006)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .base import check_dt, check_positive, choice
from .plasticity import PAIRINGS, PlasticityRule, register_rule

__all__ = ["TripletSTDP"]


@register_rule
@dataclass(frozen=True)
class TripletSTDP(PlasticityRule):
    r"""Triplet STDP (Pfister & Gerstner 2006, J. Neurosci. 26:9673, eqs. 3-4): two
    presynaptic traces ``r1``, ``r2`` per presynaptic neuron and two postsynaptic traces
    ``o1``, ``o2`` per postsynaptic neuron, all dimensionless::

        tau_plus dr1/dt = -r1,  tau_x dr2/dt = -r2,  tau_minus do1/dt = -o1,  tau_y do2/dt = -o2
        presynaptic spike arrives:  deliver w;  w -= o1 (A2_minus + A3_minus r2);  r1 += 1;  r2 += 1
        postsynaptic spike:         w += r1 (A2_plus + A3_plus o2);  o1 += 1;  o2 += 1

    where ``r2`` and ``o2`` are read just before their own neuron's spike (the triplet
    terms: a depression grows with the previous presynaptic spikes, a potentiation with
    the previous postsynaptic spikes). ``"nearest"`` pairing sets every trace to 1 at a
    spike (the paper's nearest-spike model). The weight is clipped to ``[w_min, w_max]``;
    ``dendritic_delay`` (s) as ``PlasticityRule``'s.

    Defaults: the minimal all-to-all model fitted to visual cortex (Sjostrom et al. 2001;
    Pfister & Gerstner 2006, Table 4): ``tau_plus`` 16.8 ms, ``tau_minus`` 33.7 ms,
    ``tau_y`` 114 ms, ``A2_plus`` 0, ``A3_plus`` 6.5e-3, ``A2_minus`` 7.1e-3, ``A3_minus`` 0
    (``tau_x`` 101 ms, unused when ``A3_minus`` is 0). The amplitudes are in the
    projection's weight unit (the paper's are relative to the weight).

    Raises ``ValueError`` naming the field for non-finite or negative amplitudes,
    non-positive time constants, inverted bounds or an unknown option.
    """

    tau_plus: float = 16.8e-3
    tau_minus: float = 33.7e-3
    tau_x: float = 101e-3
    tau_y: float = 114e-3
    A2_plus: float = 0.0
    A3_plus: float = 6.5e-3
    A2_minus: float = 7.1e-3
    A3_minus: float = 0.0
    w_min: float = 0.0
    w_max: float = 1.0
    pairing: str = choice("all_to_all", *PAIRINGS)
    dendritic_delay: float = 0.0

    kind: ClassVar[str] = "triplet_stdp"
    n_rates: ClassVar[int] = 4
    deferred: ClassVar[bool] = True
    pre_traces: ClassVar[tuple[str, ...]] = ("r1", "r2")
    post_traces: ClassVar[tuple[str, ...]] = ("o1", "o2")

    def _validate(self) -> None:
        name = type(self).__name__
        for f in ("tau_plus", "tau_minus", "tau_x", "tau_y"):
            check_positive(name, f, getattr(self, f))
        self._check_nonnegative("A2_plus", "A3_plus", "A2_minus", "A3_minus")
        self._check_nonnegative("dendritic_delay")
        self._check_bounds()

    def discretize(self, dt: float) -> dict[str, float]:
        """``dt/tau_plus``, ``dt/tau_x``, ``dt/tau_minus``, ``dt/tau_y``, the four amplitudes,
        ``w_min``, ``w_max``, ``nearest`` (0/1)."""
        dt = check_dt(dt)
        return {"k_r1": dt / self.tau_plus, "k_r2": dt / self.tau_x, "k_o1": dt / self.tau_minus, "k_o2": dt / self.tau_y,
                "A2_plus": self.A2_plus, "A3_plus": self.A3_plus, "A2_minus": self.A2_minus, "A3_minus": self.A3_minus,
                "w_min": self.w_min, "w_max": self.w_max, "nearest": float(self.pairing == "nearest")}
