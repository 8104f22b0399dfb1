"""The learning rules of the core as torch steps, for training loops (as ``subspace_step``
is for the Hebbian subspace rule): one simulation step of ``PairSTDP``, ``TripletSTDP`` or
``RewardSTDP`` on a dense weight matrix, from the rule's own ``discretize(dt)`` coefficients.

Shapes: weights ``w`` (n_pre, n_post); spikes and traces (..., n_pre) / (..., n_post) with
any leading batch axes, whose weight changes are summed. Every step decays the traces by one
step first (clock-driven; the engine decays them lazily at events, with the same values),
then applies the step's presynaptic arrivals, then its postsynaptic spikes, in the order of
``neurosim.engine.plastic``. ``neurosim/engine/plasticity/<kind>.py`` holds the simulator's
hooks of the same equations; tests check the two against each other.
"""
from __future__ import annotations

import math

import torch

__all__ = ["StdpState", "init_state", "plasticity_step", "torch_step", "TORCH_STEPS"]

StdpState = dict
"""The state a step carries: ``{"pre": (slots, ..., n_pre), "post": (slots, ..., n_post)}``
traces and, for ``RewardSTDP``, ``"c"`` (n_pre, n_post) eligibility and ``"d"`` (scalar)."""


def init_state(rule, n_pre: int, n_post: int, batch: tuple = (), dtype=torch.float64, device=None) -> StdpState:
    """Zero traces (and eligibility, modulator) for ``rule``."""
    z = dict(dtype=dtype, device=device)
    state = {"pre": torch.zeros((len(rule.pre_traces), *batch, n_pre), **z),
             "post": torch.zeros((len(rule.post_traces), *batch, n_post), **z)}
    if rule.modulated:
        state["c"] = torch.zeros((n_pre, n_post), **z)
        state["d"] = torch.zeros((), **z)
    return state


def _spike(trace, s, nearest: bool):
    s = s.to(trace.dtype)
    return torch.where(s > 0, torch.ones_like(trace), trace) if nearest else trace + s


def _outer(a, b):
    """sum over leading axes of a[..., i] b[..., j] -> (i, j)."""
    return torch.einsum("...i,...j->ij", a, b)


TORCH_STEPS: dict = {}
"""Torch step of each learning rule by ``kind``: ``step(c, w, state, pre, post, pre_s, post_s,
nearest, reward) -> (w, state)`` with the rule's coefficients ``c``, the traces ``pre``/``post``
already decayed by one step and this step's spikes ``pre_s``/``post_s``."""


def torch_step(kind: str):
    """Register the decorated function as the torch step of learning rule ``kind``."""
    def register(fn):
        TORCH_STEPS[kind] = fn
        return fn
    return register


def plasticity_step(rule, w: torch.Tensor, state: StdpState, pre_spikes, post_spikes, dt: float, reward: float = 0.0):
    """One step of ``rule`` (``PairSTDP``, ``TripletSTDP``, ``RewardSTDP``) with presynaptic
    arrivals ``pre_spikes`` (..., n_pre) and postsynaptic spikes ``post_spikes`` (...,
    n_post) in this step; ``reward`` joins ``RewardSTDP``'s dopamine at the step's end.
    Returns ``(w, state)``, new tensors (nothing is changed in place). Raises
    ``ValueError`` for shapes that do not match ``w`` (n_pre, n_post) and for a rule without
    a torch step (``TORCH_STEPS``)."""
    n_pre, n_post = w.shape
    if pre_spikes.shape[-1] != n_pre or post_spikes.shape[-1] != n_post:
        raise ValueError(f"plasticity_step: spikes of shapes {tuple(pre_spikes.shape)} and {tuple(post_spikes.shape)} do not "
                         f"match weights of shape {tuple(w.shape)} (n_pre, n_post)")
    step = TORCH_STEPS.get(rule.kind)
    if step is None:
        raise ValueError(f"plasticity_step: learning rule {type(rule).__name__} (kind {rule.kind!r}) has no torch step; "
                         f"rules with one: {sorted(TORCH_STEPS)}")
    c = rule.discretize(dt)
    # the first n_rates coefficients are dt/tau of the presynaptic traces, then of the postsynaptic ones
    rates = list(c.values())[: rule.n_rates]
    n_pre_traces = len(rule.pre_traces)
    pre = torch.stack([state["pre"][r] * math.exp(-k) for r, k in enumerate(rates[:n_pre_traces])])
    post = torch.stack([state["post"][r] * math.exp(-k) for r, k in enumerate(rates[n_pre_traces:])])
    return step(c, w, dict(state), pre, post, pre_spikes.to(w.dtype), post_spikes.to(w.dtype), c["nearest"] != 0, reward)


@torch_step("stdp")
def _pair_step(c, w, out, pre, post, pre_s, post_s, nearest, reward):
    pre = _spike(pre[0], pre_s, nearest)[None]
    ltd = c["a_minus"] * _outer(pre_s, post[0])
    post = _spike(post[0], post_s, nearest)[None]
    ltp = c["a_plus"] * _outer(pre[0], post_s)
    span = c["w_max"] - c["w_min"]
    if c["multiplicative"] != 0:
        w = (w - ltd * (w - c["w_min"]) / span).clamp(c["w_min"], c["w_max"])
        w = (w + ltp * (c["w_max"] - w) / span).clamp(c["w_min"], c["w_max"])
    else:
        w = (w - ltd).clamp(c["w_min"], c["w_max"])
        w = (w + ltp).clamp(c["w_min"], c["w_max"])
    out["pre"], out["post"] = pre, post
    return w, out


@torch_step("triplet_stdp")
def _triplet_step(c, w, out, pre, post, pre_s, post_s, nearest, reward):
    w = w - _outer(pre_s * (c["A2_minus"] + c["A3_minus"] * pre[1]), post[0])
    w = w.clamp(c["w_min"], c["w_max"])
    pre = torch.stack([_spike(pre[0], pre_s, nearest), _spike(pre[1], pre_s, nearest)])
    w = w + _outer(pre[0], post_s * (c["A2_plus"] + c["A3_plus"] * post[1]))
    w = w.clamp(c["w_min"], c["w_max"])
    out["pre"], out["post"] = pre, torch.stack([_spike(post[0], post_s, nearest), _spike(post[1], post_s, nearest)])
    return w, out


@torch_step("reward_stdp")
def _reward_step(c, w, out, pre, post, pre_s, post_s, nearest, reward):
    """Pairs tag the eligibility; ``c d`` integrated over the step changes w."""
    pre = _spike(pre[0], pre_s, nearest)[None]
    ltd = c["a_minus"] * _outer(pre_s, post[0])
    post = _spike(post[0], post_s, nearest)[None]
    e = out["c"] - ltd + c["a_plus"] * _outer(pre[0], post_s)
    d = out["d"] + reward
    w = (w + e * (c["gain"] * d)).clamp(c["w_min"], c["w_max"])
    out["c"], out["d"], out["pre"], out["post"] = e * c["decay_c"], d * c["decay_d"], pre, post
    return w, out
