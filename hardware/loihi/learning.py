"""Pair STDP on Loihi 2's learning engine, as Lava 0.10 simulates it in fixed point
(``LearningDense`` with the ``STDPLoihi`` rule, ``PyLearningDenseModelBitApproximate``), and
the same arithmetic for the fixed-point engine (``hardware.loihi.engine``).

The rule (``STDPLoihi``, Gerstner et al. 1996 in Lava's sum-of-products form, one learning
epoch per step)::

    dw = A_minus x0 y1 + A_plus y0 x1

``x0``/``y0``: the pre/postsynaptic neuron spiked this step; ``x1``/``y1``: 7-bit
pre/postsynaptic traces (an impulse of 16 at a spike, decay ``exp(-1/tau)`` per step),
evaluated after this step's decay and impulse. Every step (Lava's ``run_lrn``):

1. each trace decays, ``floor(exp(-1/tau) x) + (r_decay < frac)``, with one random number
   ``r_decay`` in [0, 1) per step for all presynaptic traces and one for all postsynaptic
   traces, then spiking neurons add the impulse (clipped to 0..127);
2. the weights, as 16-bit accumulators ``w << 7``, add each product ``dep * trace * m << (e +
   7)`` for ``A = m 2**e`` (``m`` = +-1 here), saturating at +-(2**15 - 1);
3. the accumulators are floored to the 8-bit grid with stochastic rounding (one random
   number per step for the whole matrix: ``r_conn < frac`` adds one), shifted back and
   clipped to 0..255 (excitatory weights).

The random numbers are numpy's ``default_rng`` streams that Lava draws (trace seeds
``rng_seed`` .. ``rng_seed + 3``, the weights' seed 2), in Lava's order: two draws per step
of each trace stream, then one of the weights' stream. ``tests/test_loihi_learning.py``
checks the learned integer weights against Lava bit for bit on random small networks.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["STDPMapping", "LoihiSTDP", "LearningState", "TRACE_MAX", "ACC_LIMIT", "stdp_reasons", "RULE_REASONS"]

#: Largest value of Loihi's 7-bit learning traces.
TRACE_MAX = 127          # 7-bit traces
ACC_SHIFT = 7            # weights accumulate as w << 7 (16-bit signed accumulator, 9-bit signed weights)
S_EXP_OFFSET = 7         # Lava stores a product's scaling exponent e as e + 7 and shifts by it
#: Largest value of the 16-bit signed weight accumulator.
ACC_LIMIT = 2**15 - 1
WEIGHT_MAX = 255         # excitatory 8-bit weights
CONN_SEED = 2            # Lava's seed of the weights' stochastic rounding (ConnVarRandom's default)


@dataclass(frozen=True)
class LoihiSTDP:
    """Lava's ``STDPLoihi`` with ``learning_rate = 1``, ``A_plus = 2**exp_plus``, ``A_minus =
    -2**exp_minus`` (powers of two: Lava writes the constants as ``mantissa * 2**exponent``
    with a 4-bit mantissa), trace time constants ``tau_plus``/``tau_minus`` (steps, 1..255),
    trace ``impulse`` (1..127) and the random seed ``rng_seed``."""

    tau_plus: int
    tau_minus: int
    exp_plus: int
    exp_minus: int
    impulse: int = 16
    rng_seed: int = 0

    def __post_init__(self):
        for f in ("tau_plus", "tau_minus"):
            v = getattr(self, f)
            if not (isinstance(v, (int, np.integer)) and 1 <= v <= 255):
                raise ValueError(f"LoihiSTDP.{f} = {v!r} is invalid: must be an integer number of steps in 1..255")
        for f in ("exp_plus", "exp_minus"):
            v = getattr(self, f)
            if not (isinstance(v, (int, np.integer)) and -7 <= v <= 8):
                raise ValueError(f"LoihiSTDP.{f} = {v!r} is invalid: Lava's scaling exponent must be in -7..8")
        if not (isinstance(self.impulse, (int, np.integer)) and 1 <= self.impulse <= TRACE_MAX):
            raise ValueError(f"LoihiSTDP.impulse = {self.impulse!r} is invalid: must be an integer in 1..{TRACE_MAX}")

    def lava_rule(self):
        """The same rule as a Lava ``STDPLoihi`` (Lava must be importable)."""
        from lava.proc.learning_rules.stdp_learning_rule import STDPLoihi

        return STDPLoihi(learning_rate=1, A_plus=2.0**self.exp_plus, A_minus=-(2.0**self.exp_minus), tau_plus=self.tau_plus,
                         tau_minus=self.tau_minus, t_epoch=1, rng_seed=self.rng_seed, x1_impulse=self.impulse,
                         y1_impulse=self.impulse)

    def products(self) -> tuple:
        """``(dependency, trace, mantissa, shift)`` of each product, in the rule's order."""
        return (("x0", "y1", -1, self.exp_minus + S_EXP_OFFSET), ("y0", "x1", 1, self.exp_plus + S_EXP_OFFSET))


@dataclass(frozen=True)
class STDPMapping:
    """A ``PairSTDP`` in Lava's floating-point terms (``map_network``): amplitudes and the
    upper weight bound in V of the postsynaptic voltage, trace time constants in steps;
    ``quantize`` turns it into a ``LoihiSTDP`` at the projection's weight scale."""

    a_plus: float
    a_minus: float
    tau_plus: int
    tau_minus: int
    w_max: float
    impulse: int = 16

    def quantize(self, volts_per_weight: float, where: str) -> tuple["LoihiSTDP", dict]:
        """The ``LoihiSTDP`` whose amplitudes, ``impulse x 2**exp`` weight units, are the
        nearest powers of two to this rule's at ``volts_per_weight`` (V per unit of the
        8-bit weight); with the relative errors. Raises ``ValueError`` (naming ``where``)
        for an amplitude outside Lava's exponent range -7..8."""
        exps, errors = [], {}
        for name, a in (("a_plus", self.a_plus), ("a_minus", self.a_minus)):
            units = a / (self.impulse * volts_per_weight)
            e = int(round(np.log2(units)))
            if not -7 <= e <= 8:
                raise ValueError(f"{where}: {name} = {a:.3g} V is {units:.3g} x 2**0 weight units per trace unit; Loihi's learning "
                                 "engine scales by 2**-7 .. 2**8 (choose the amplitude, the weights' range or the threshold)")
            exps.append(e)
            errors[f"{name}_rel_error"] = abs(2.0**e / units - 1)
        return LoihiSTDP(self.tau_plus, self.tau_minus, exps[0], exps[1], self.impulse), errors


def stdp_reasons(pr, n_post: int, dt: float) -> list[str]:
    """What keeps plastic projection ``pr`` (a ``PairSTDP``) off Loihi's ``STDPLoihi``."""
    rule, where, out = pr.plasticity, f"projection {pr.name!r}", []
    if rule.weight_dependence != "additive":
        out.append(f"{where}: Loihi's STDPLoihi is additive; {rule.weight_dependence!r} weight dependence has no counterpart")
    if rule.pairing != "all_to_all":
        out.append(f"{where}: Loihi's traces add an impulse per spike (all-to-all pairing); {rule.pairing!r} has no counterpart")
    if pr.target != "exc" or rule.w_min != 0:
        out.append(f"{where}: learning on Loihi keeps excitatory weights in 0..w_max (target 'exc', w_min = 0); got target "
                   f"{pr.target!r}, w_min = {rule.w_min:g}")
    if rule.a_plus <= 0 or rule.a_minus <= 0:
        out.append(f"{where}: Loihi's STDPLoihi needs a_plus > 0 and a_minus > 0 (got {rule.a_plus:g}, {rule.a_minus:g})")
    pair = pr.indices.astype(np.int64) * pr.n_pre + pr.pre_indices()
    if pr.n_synapses != pr.n_pre * n_post or np.unique(pair).size != pair.size:
        out.append(f"{where}: Loihi's learning runs on a LearningDense process, which learns every (pre, post) pair: the "
                   f"projection must connect all {pr.n_pre} x {n_post} pairs once (weights may be 0)")
    if pr.n_synapses and float(pr.delays[0]) != 0:
        out.append(f"{where}: LearningDense has no synaptic delays; the projection's delay is {float(pr.delays[0]):g} s")
    if rule.dendritic_delay != 0:
        out.append(f"{where}: Loihi's learning engine sees postsynaptic spikes in the step they happen; dendritic_delay = "
                   f"{rule.dendritic_delay:g} s has no counterpart")
    for name, tau in (("tau_pre", rule.tau_pre), ("tau_post", rule.tau_post)):
        if not 1 <= round(tau / dt) <= 255:
            out.append(f"{where}: {name} = {tau:g} s is {tau / dt:.3g} steps; Loihi's trace time constants are 1..255 steps")
    return out


class _TraceRandom:
    """Lava's ``TraceRandom``: a decay stream (floats) and an impulse stream (7-bit integers)."""

    def __init__(self, seed: int):
        self.decay_rng, self.impulse_rng = np.random.default_rng(seed), np.random.default_rng(seed + 1)
        self.advance()

    def advance(self) -> None:
        self.decay = self.decay_rng.random(1)[0]
        self.impulse = self.impulse_rng.integers(0, 2**7, size=1, dtype=int)[0]


def _decay(trace: np.ndarray, tau: int, r: float) -> np.ndarray:
    scaled = np.exp(-1 / np.array([tau])) * trace  # as Lava: exp of an integer array of taus
    frac = scaled % 1
    return (np.floor(scaled) + (r < frac).astype(int)).astype(int)


class LearningState:
    """The learning state of one plastic projection: integer ``weights`` (n_post, n_pre),
    traces ``x1`` (n_pre,) and ``y1`` (n_post,), and the random streams."""

    def __init__(self, rule: LoihiSTDP, weights: np.ndarray):
        self.rule = rule
        self.weights = np.asarray(weights, np.int64).copy()
        n_post, n_pre = self.weights.shape
        self.x1 = np.zeros(n_pre, np.int64)
        self.y1 = np.zeros(n_post, np.int64)
        self.x_random = _TraceRandom(rule.rng_seed)
        self.y_random = _TraceRandom(rule.rng_seed + 2)
        self.conn_rng = np.random.default_rng(CONN_SEED)
        self.conn_random = self.conn_rng.random(1)[0]

    def step(self, pre: np.ndarray, post: np.ndarray) -> None:
        """One step with presynaptic spikes ``pre`` (n_pre,) and postsynaptic spikes ``post``
        (n_post,) (0/1): traces, then weights (see the module docstring)."""
        r = self.rule
        x0, y0 = np.asarray(pre) > 0, np.asarray(post) > 0
        for _ in range(2):  # Lava advances the trace streams after the pre and after the post spikes
            self.x_random.advance()
            self.y_random.advance()
        self.conn_random = self.conn_rng.random(1)[0]
        x_before, y_before = self.x1, self.y1
        x1 = _decay(x_before, r.tau_plus, self.x_random.decay)
        y1 = _decay(y_before, r.tau_minus, self.y_random.decay)
        x1[x0] = np.clip(x1[x0] + r.impulse, 0, TRACE_MAX)
        y1[y0] = np.clip(y1[y0] + r.impulse, 0, TRACE_MAX)
        # traces as each dependency sees them: after this step's decay and impulse where the
        # dependency's neuron spiked (within-epoch time 1), before it (time 0) elsewhere
        y1_at_x = np.where(x0[None, :], y1[:, None], y_before[:, None])
        x1_at_y = np.where(y0[:, None], x1[None, :], x_before[None, :])
        acc = self.weights << ACC_SHIFT
        for dep, trace, m, shift in r.products():
            gate = x0[None, :] if dep == "x0" else y0[:, None]
            val = np.clip(y1_at_x if trace == "y1" else x1_at_y, -(2**7), 2**7 - 1)
            cur = np.clip((gate * val * m) << shift, -ACC_LIMIT - 1, ACC_LIMIT)
            acc = np.clip(acc + cur, -ACC_LIMIT - 1, ACC_LIMIT)
        acc = np.maximum(acc, 0)  # excitatory weights keep their sign
        scaled = acc / 2**ACC_SHIFT
        frac = scaled % 1
        acc = ((np.floor(scaled) + (self.conn_random < frac).astype(int)) * 2**ACC_SHIFT).astype(np.int64)
        self.weights = np.clip(acc >> ACC_SHIFT, 0, WEIGHT_MAX)
        self.x1, self.y1 = x1, y1


RULE_REASONS = {"stdp": stdp_reasons}
"""The learning rule kinds Loihi 2 runs, each with what keeps a projection of it off the chip."""
