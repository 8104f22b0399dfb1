"""Hooks of ``neurosim.models.TripletSTDP`` (coefficients: k_r1, k_r2, k_o1, k_o2, A2_plus,
A3_plus, A2_minus, A3_minus, w_min, w_max, nearest; traces r1, r2 per presynaptic and o1,
o2 per postsynaptic neuron)."""
from ..registry import plasticity_kernel
from .traces import bring_forward


@plasticity_kernel("triplet_stdp", "pre")
def triplet_pre(c, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post):
    """A presynaptic spike arrives: each weight down by ``o1 (A2_minus + A3_minus r2)``
    (``r2`` before this spike), then ``r1``, ``r2`` up by 1 (or to 1)."""
    A2m, A3m, w_min, w_max = c[6], c[7], c[8], c[9]
    bring_forward(Tpre, i, last_pre, n, c[0], c[1])
    depress = A2m + A3m * Tpre[1, i]
    for q in range(lo, hi):
        j = post_off + syn_post[q]
        bring_forward(Tpost, j, last_post, n, c[2], c[3])
        w = W[q] - Tpost[0, j] * depress
        W[q] = min(max(w, w_min), w_max)
    if c[10] != 0:
        Tpre[0, i] = 1.0
        Tpre[1, i] = 1.0
    else:
        Tpre[0, i] += 1.0
        Tpre[1, i] += 1.0


@plasticity_kernel("triplet_stdp", "post")
def triplet_post(c, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post):
    """A postsynaptic spike: each weight up by ``r1 (A2_plus + A3_plus o2)`` (``o2`` before
    this spike), then ``o1``, ``o2`` up by 1 (or to 1)."""
    A2p, A3p, w_min, w_max = c[4], c[5], c[8], c[9]
    bring_forward(Tpost, j, last_post, n, c[2], c[3])
    potentiate = A2p + A3p * Tpost[1, j]
    for q in range(lo, hi):
        i = pre_off + col_pre[q]
        bring_forward(Tpre, i, last_pre, n, c[0], c[1])
        s = col_syn[q]
        w = W[s] + Tpre[0, i] * potentiate
        W[s] = min(max(w, w_min), w_max)
    if c[10] != 0:
        Tpost[0, j] = 1.0
        Tpost[1, j] = 1.0
    else:
        Tpost[0, j] += 1.0
        Tpost[1, j] += 1.0
