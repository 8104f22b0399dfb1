"""Hooks of ``neurosim.models.PairSTDP`` (coefficients: k_pre, k_post, a_plus, a_minus,
w_min, w_max, multiplicative, nearest; traces: x per presynaptic, y per postsynaptic neuron).

Potentiation is deferred (``PairSTDP.deferred``): a postsynaptic spike only enters the
neuron's history; each synapse applies the spikes it has not seen, in time order and with
the presynaptic trace at their time, when its next presynaptic spike arrives (or at a flush),
so the weights are only ever touched row by row (as NEST's archiving synapses)."""
from ..registry import plasticity_kernel
from .traces import add_spike, bring_forward, decay, pending, record, value_at


@plasticity_kernel("stdp", "pre")
def stdp_pre(c, tab, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val,
             ph_len, isyn, base, mode):
    """Synapses ``lo:hi`` of presynaptic neuron ``i`` (trace column): the postsynaptic
    spikes since ``applied[i]`` potentiate each weight by ``a_plus x f_plus(w)``; then
    (``mode`` 0: a spike arrives) the weight is delivered, ``w -= a_minus y f_minus(w)``,
    and ``x`` goes up by 1 (or to 1)."""
    a_plus, a_minus, w_min, w_max = c[2], c[3], c[4], c[5]
    mult = c[6] != 0
    span = w_max - w_min
    x0, t0, since = Tpre[0, i], last_pre[i], applied[i]
    for q in range(lo, hi):
        jl = syn_post[q]
        j = post_off + jl
        if x0 != 0.0:
            for h in range(pending(ph_step, ph_len, j, since), ph_len[j]):
                w = W[q]
                dw = a_plus * x0 * decay(tab, c, 0, ph_step[j, h] - t0)
                if mult:
                    dw *= (w_max - w) / span
                W[q] = min(max(w + dw, w_min), w_max)
        if mode == 0:
            isyn[base + jl] += W[q]
            w = W[q]
            dw = a_minus * value_at(Tpost, 0, j, last_post, n, tab, c, 1)
            if mult:
                dw *= (w - w_min) / span
            W[q] = min(max(w - dw, w_min), w_max)
    if mode == 0:
        bring_forward(Tpre, i, last_pre, n, tab, c, 0, 0)
        add_spike(Tpre, i, c[7] != 0, 1)
    applied[i] = n


@plasticity_kernel("stdp", "post")
def stdp_post(c, tab, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post, ph_step, ph_val,
              ph_len):
    """Postsynaptic neuron ``j`` spikes: into its history (potentiation follows at each
    synapse's next arrival), then ``y`` up by 1 (or to 1)."""
    bring_forward(Tpost, j, last_post, n, tab, c, 1, 1)
    record(ph_step, ph_val, ph_len, j, n, 0.0)
    add_spike(Tpost, j, c[7] != 0, 1)
