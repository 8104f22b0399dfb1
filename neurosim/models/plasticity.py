"""What a plastic synapse is: the base of the learning rules (``PlasticityRule``) and their
registry by ``kind``.

A rule is a frozen dataclass of SI parameters, like a neuron model. The engine keeps, per
plastic projection, one weight per synapse, the rule's traces per presynaptic neuron
(``pre_traces``) and per postsynaptic neuron (``post_traces``), and any per-synapse state
(``synapse_vars``, e.g. an eligibility trace). Traces decay exactly and lazily: each is
brought forward only when a spike at its neuron or at a synapse it takes part in needs it.
How an engine runs a rule is found by ``kind``: the simulator's hooks in
``neurosim/engine/plasticity/<kind>.py``, the torch step in ``neurosim/plasticity/``.
"""
from __future__ import annotations

from typing import ClassVar

from .base import ParameterModel, check_finite, check_nonnegative, register_kind

__all__ = ["PlasticityRule", "PLASTICITY_RULES", "register_rule", "WEIGHT_DEPENDENCES", "PAIRINGS"]

WEIGHT_DEPENDENCES = ("additive", "multiplicative")
"""``"additive"``: every change is its full amplitude, and the weight is clipped to
``[w_min, w_max]`` (Song, Miller & Abbott 2000, hard bounds). ``"multiplicative"``: a
potentiation scales with ``(w_max - w) / (w_max - w_min)`` and a depression with
``(w - w_min) / (w_max - w_min)`` (soft bounds; van Rossum, Bi & Turrigiano 2000, Gutig et
al. 2003), so the weight approaches its bounds without crossing them."""

PAIRINGS = ("all_to_all", "nearest")
"""Which spike pairs interact: ``"all_to_all"``, every pair (a spike adds 1 to its traces);
``"nearest"``, only nearest neighbours (a spike sets its traces to 1; Morrison, Diesmann &
Gerstner 2008, "symmetric nearest-spike")."""


class PlasticityRule(ParameterModel):
    """Base of the learning rules of plastic projections (a mix-in for frozen dataclasses).

    Subclasses set ``kind`` (the engine's name), ``pre_traces`` and ``post_traces`` (names
    of the per-neuron traces), ``synapse_vars`` (per-synapse state besides the weight),
    ``modulated`` (whether the rule reads a neuromodulator, given per run as a reward),
    ``n_rates`` (how many leading coefficients of ``discretize`` are trace decay rates
    ``dt/tau``, for the engine's decay tables), ``deferred`` (whether its postsynaptic update
    reads only presynaptic traces and the postsynaptic neuron's own state, so the engine may
    apply it when the synapse's next presynaptic spike arrives: NEST's scheme, which keeps
    every weight access in row order and needs no transposed index), and implement
    ``discretize(dt)``. Every rule has weight bounds ``w_min < w_max`` in the
    projection's weight unit (A for current-based targets, S for conductance-based
    neurons); the spike-timing rules also a ``dendritic_delay`` (s, >= 0): a postsynaptic
    spike reaches the synapses that long after it is emitted (Brian2's
    ``Synapses.post.delay``), and its trace update and potentiation happen then."""

    _scope: ClassVar[str] = "projection"
    kind: ClassVar[str] = ""
    n_rates: ClassVar[int] = 0
    deferred: ClassVar[bool] = False
    pre_traces: ClassVar[tuple[str, ...]] = ()
    post_traces: ClassVar[tuple[str, ...]] = ()
    synapse_vars: ClassVar[tuple[str, ...]] = ()
    modulated: ClassVar[bool] = False

    def _check_bounds(self) -> None:
        name = type(self).__name__
        check_finite(name, "w_min", self.w_min)
        check_finite(name, "w_max", self.w_max)
        if not self.w_min < self.w_max:
            raise ValueError(f"{name}: the weight bounds are inverted or empty (w_min = {self.w_min!r} >= w_max = "
                             f"{self.w_max!r}); need w_min < w_max")

    def _check_nonnegative(self, *fields: str) -> None:
        for f in fields:
            check_nonnegative(type(self).__name__, f, getattr(self, f))

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for step ``dt`` (s), in the order the engine reads them."""
        raise NotImplementedError

    def dendritic_steps(self, dt: float) -> int:
        """The rule's ``dendritic_delay`` (s; 0 for rules without one) in whole steps of
        ``dt``: how long a postsynaptic spike takes to reach the synapses (Brian2's
        ``Synapses.post.delay``). Raises ``ValueError`` for a delay that is not a whole
        number of steps."""
        d = float(getattr(self, "dendritic_delay", 0.0))
        steps = d / dt
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError(f"{type(self).__name__}: dendritic_delay = {d:.9g} s is {steps:.6g} steps at dt = {dt:g} s; it must "
                             "be a whole number of steps")
        return int(round(steps))

    def trace_rows(self) -> tuple[int, int]:
        """Rows of per-neuron state the engine keeps for the rule: (presynaptic,
        postsynaptic); by default one per named trace."""
        return len(self.pre_traces), len(self.post_traces)

    def check_projection(self, projection, where: str) -> None:
        """Raise ``ValueError`` (starting with ``where``) if ``projection`` has a shape the
        rule cannot learn on; any shape by default."""


PLASTICITY_RULES: dict[str, type] = {}
"""Learning rule classes by ``kind``: what ``Network.load`` reads a saved rule from."""


def register_rule(cls):
    """Class decorator: register learning rule ``cls`` by its ``kind`` (above ``@dataclass``),
    so that saved networks that use it load again; another class under a kind already taken
    raises ``ValueError`` naming both."""
    return register_kind(cls, PlasticityRule, PLASTICITY_RULES, "learning rule", "register_rule")
