"""Hooks of ``neurosim.models.RewardSTDP`` (coefficients: k_pre, k_post, a_plus, a_minus,
w_min, w_max, nearest, decay_c, decay_d, gain; traces x, y; per-synapse eligibility c in
row 0 of ``S``; the projection's dopamine ``d`` in ``mod[k]``)."""
from ..registry import plasticity_kernel
from .traces import add_spike, bring_forward, value_at


@plasticity_kernel("reward_stdp", "pre")
def reward_stdp_pre(c, tab, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val,
                    ph_len, isyn, base, mode):
    """A presynaptic spike arrives (``mode`` 0; a flush has nothing to do): delivery, ``x``
    up by 1 (or to 1), each eligibility down by ``a_minus y``."""
    if mode != 0:
        return
    bring_forward(Tpre, i, last_pre, n, tab, c, 0, 0)
    add_spike(Tpre, i, c[6] != 0, 1)
    for q in range(lo, hi):
        jl = syn_post[q]
        isyn[base + jl] += W[q]
        S[0, q] -= c[3] * value_at(Tpost, 0, post_off + jl, last_post, n, tab, c, 1)


@plasticity_kernel("reward_stdp", "post")
def reward_stdp_post(c, tab, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post, ph_step, ph_val,
                     ph_len):
    """A postsynaptic spike: ``y`` up by 1 (or to 1), each eligibility up by ``a_plus x``
    (at once: the eligibility feeds the weight every step)."""
    bring_forward(Tpost, j, last_post, n, tab, c, 1, 1)
    add_spike(Tpost, j, c[6] != 0, 1)
    for q in range(lo, hi):
        S[0, col_syn[q]] += c[2] * value_at(Tpre, 0, pre_off + col_pre[q], last_pre, n, tab, c, 0)


@plasticity_kernel("reward_stdp", "step")
def reward_stdp_step(c, n, lo, hi, W, S, mod, k, reward, Tpre, pre_off, n_pre):
    """End of a step: the reward joins ``d``; each weight grows by the integral of ``c d``
    over the step (clipped to the bounds); ``c`` and ``d`` decay by one step."""
    d = mod[k] + reward
    w_min, w_max, decay_c = c[4], c[5], c[7]
    g = c[9] * d
    if g != 0.0:
        for q in range(lo, hi):
            e = S[0, q]
            w = W[q] + e * g
            W[q] = min(max(w, w_min), w_max)
            S[0, q] = e * decay_c
    else:
        for q in range(lo, hi):
            S[0, q] *= decay_c
    mod[k] = d * c[8]
