"""Hooks of ``neurosim.models.PairSTDP`` (coefficients: k_pre, k_post, a_plus, a_minus,
w_min, w_max, multiplicative, nearest; traces: x per presynaptic, y per postsynaptic neuron)."""
from ..registry import plasticity_kernel
from .traces import bring_forward


@plasticity_kernel("stdp", "pre")
def stdp_pre(c, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post):
    """A presynaptic spike (trace column ``i``) arrives at synapses ``lo:hi``: ``x`` up by
    1 (or to 1), then each weight down by ``a_minus y f_minus(w)``."""
    k_post, a_minus, w_min, w_max = c[1], c[3], c[4], c[5]
    mult = c[6] != 0
    bring_forward(Tpre, i, last_pre, n, c[0], c[0])
    Tpre[0, i] = 1.0 if c[7] != 0 else Tpre[0, i] + 1.0
    span = w_max - w_min
    for q in range(lo, hi):
        j = post_off + syn_post[q]
        bring_forward(Tpost, j, last_post, n, k_post, k_post)
        w = W[q]
        dw = a_minus * Tpost[0, j]
        if mult:
            dw *= (w - w_min) / span
        w = w - dw
        W[q] = min(max(w, w_min), w_max)


@plasticity_kernel("stdp", "post")
def stdp_post(c, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post):
    """Postsynaptic neuron ``j`` (trace column) spikes; its synapses are ``col_syn[lo:hi]``
    from presynaptic neurons ``col_pre[lo:hi]``: ``y`` up by 1 (or to 1), then each weight
    up by ``a_plus x f_plus(w)``."""
    k_pre, a_plus, w_min, w_max = c[0], c[2], c[4], c[5]
    mult = c[6] != 0
    bring_forward(Tpost, j, last_post, n, c[1], c[1])
    Tpost[0, j] = 1.0 if c[7] != 0 else Tpost[0, j] + 1.0
    span = w_max - w_min
    for q in range(lo, hi):
        i = pre_off + col_pre[q]
        bring_forward(Tpre, i, last_pre, n, k_pre, k_pre)
        s = col_syn[q]
        w = W[s]
        dw = a_plus * Tpre[0, i]
        if mult:
            dw *= (w_max - w) / span
        w = w + dw
        W[s] = min(max(w, w_min), w_max)
