"""Hooks of ``neurosim.models.TripletSTDP`` (coefficients: k_r1, k_r2, k_o1, k_o2, A2_plus,
A3_plus, A2_minus, A3_minus, w_min, w_max, nearest; traces r1, r2 per presynaptic and o1,
o2 per postsynaptic neuron). Potentiation is deferred as ``PairSTDP``'s: the history keeps
each postsynaptic spike's ``o2`` just before it."""
from ..registry import plasticity_kernel
from .traces import add_spike, bring_forward, decay, pending, record, value_at


@plasticity_kernel("triplet_stdp", "pre")
def triplet_pre(c, tab, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val,
                ph_len, isyn, base, mode):
    """Synapses of presynaptic neuron ``i``: each postsynaptic spike since ``applied[i]``
    potentiates by ``r1 (A2_plus + A3_plus o2)`` (``r1`` at its time, ``o2`` before it);
    then (``mode`` 0, an arrival) delivery, ``w -= o1 (A2_minus + A3_minus r2)`` (``r2``
    before this spike), and ``r1``, ``r2`` up by 1 (or to 1)."""
    A2p, A3p, A2m, A3m, w_min, w_max = c[4], c[5], c[6], c[7], c[8], c[9]
    r1, t0, since = Tpre[0, i], last_pre[i], applied[i]
    if mode == 0:
        bring_forward(Tpre, i, last_pre, n, tab, c, 0, 1)
    depress = A2m + A3m * Tpre[1, i]
    for q in range(lo, hi):
        jl = syn_post[q]
        j = post_off + jl
        if r1 != 0.0:
            for h in range(pending(ph_step, ph_len, j, since), ph_len[j]):
                w = W[q] + r1 * decay(tab, c, 0, ph_step[j, h] - t0) * (A2p + A3p * ph_val[j, h])
                W[q] = min(max(w, w_min), w_max)
        if mode == 0:
            isyn[base + jl] += W[q]
            w = W[q] - value_at(Tpost, 0, j, last_post, n, tab, c, 2) * depress
            W[q] = min(max(w, w_min), w_max)
    if mode == 0:
        add_spike(Tpre, i, c[10] != 0, 2)
    applied[i] = n


@plasticity_kernel("triplet_stdp", "post")
def triplet_post(c, tab, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post, ph_step, ph_val,
                 ph_len):
    """A postsynaptic spike: into the history with ``o2`` before it, then ``o1``, ``o2`` up
    by 1 (or to 1)."""
    bring_forward(Tpost, j, last_post, n, tab, c, 2, 3)
    record(ph_step, ph_val, ph_len, j, n, Tpost[1, j])
    add_spike(Tpost, j, c[10] != 0, 2)
