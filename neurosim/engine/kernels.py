"""Numba kernels of the simulation engine.

``run_chunk`` advances the whole network a number of steps. Spiking populations are
advanced by their model's step kernel (``neurosim.engine.neurons``), called through the
table of function pointers of ``neurosim.engine.registry``; graded populations by the
predictor-corrector below. The per-model coefficient rows come from each model's
``discretize(dt)`` (see ``neurosim.engine.layout``); nothing here knows a model by name.

What a network may lack (gap junctions and graded synapses, graded populations, dynamic
synapses, astrocyte coupling, plastic projections) reaches ``run_chunk`` as one tuple per
feature, or ``None``: Numba prunes ``if feature is not None`` branches on a ``None`` argument
before typing, so each network compiles only its own features (a CUBA network's cold start
went from 12.7 s to 2.5 s; ``benchmarks/cold_start.py``). Shared code tests for a feature
this way, never by model or network type.

Order of work in a step ``n`` (time ``t = n dt``):

1. add the spikes arriving in this step (delay ring buffer row ``n % L``) to the synaptic
   currents, then record monitored state (values at ``t``, arrivals included);
2. external currents for the step: constant bias + time-varying table + gap-junction
   coupling (from start-of-step voltages); graded synaptic conductances from
   start-of-step activations;
3. per population, advance one step, detect threshold crossings and reset
   (branch-free, so it vectorises); graded populations use a predictor-corrector;
4. input sources fire (spike-time schedules and Poisson trains);
5. collect the spiking neurons, record them, and push each one's synapses into the ring
   buffer row ``(n + delay) % L`` (event-driven, CSR over the presynaptic neuron), or, when
   every delay is one step, straight into the synaptic currents; each push is counted as
   one synaptic event;
6. plastic projections: arrivals, postsynaptic spikes and the rules' step hooks
   (``neurosim.engine.plastic``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .glia import ip3_coupling
from .plastic import plastic_step

# Population code of models run by the coupled graded solver (spiking models carry the
# index of their kernel in ``registry.kernel_table``).
GRADED = -1

_NJIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_NJIT)
def graded_rates(c, v, s, iext, g_gap_sum, gap_drive, g_syn, g_syn_e, g_tot, num, r_act):
    """Linearised rates of the graded model (``neurosim.models.GradedNeuron``) at one state:
    total conductance ``g_tot``, drive ``num`` (so that V_inf = num / g_tot) and the
    activation drive ``r_act = a_r phi(V)``. ``c`` holds one coefficient row per neuron:
    dt, inv_c, g_leak, e_leak, a_r, a_d, beta, v_half."""
    one = c.dtype.type(1.0)
    for n in range(v.shape[0]):
        g_l = c[n, 2]
        g_tot[n] = g_l + g_gap_sum[n] + g_syn[n]
        num[n] = g_l * c[n, 3] + gap_drive[n] + g_syn_e[n] + iext[n]
        r_act[n] = c[n, 4] / (one + np.exp(-c[n, 6] * (v[n] - c[n, 7])))


@njit(**_NJIT)
def graded_advance(c, v, s, g_tot, num, r_act, v_out, s_out):
    """Advance (v, s) one step with frozen linear rates: both equations are then linear in
    the neuron's own variable and are solved exactly (exponential integrator). ``c`` holds
    one coefficient row per neuron."""
    for n in range(v.shape[0]):
        dt = c[n, 0]
        v_inf = num[n] / g_tot[n]
        k = r_act[n] + c[n, 5]
        s_inf = r_act[n] / k
        v_out[n] = v_inf + (v[n] - v_inf) * np.exp(-g_tot[n] * dt * c[n, 1])
        s_out[n] = s_inf + (s[n] - s_inf) * np.exp(-k * dt)


@njit(**_NJIT)
def graded_synaptic_input(s, gs_indptr, gs_pre, gs_w, gs_erev, g_syn, g_syn_e):
    """Graded synaptic conductance onto each neuron, ``g_syn = sum_j w_ij s_j``, and
    ``g_syn_e = sum_j w_ij s_j E_j`` (CSR over the postsynaptic neuron; ``gs_indptr`` has a
    single entry, and there are no rows, when the network has no graded projection)."""
    for j in range(gs_indptr.shape[0] - 1):
        acc_g = 0.0
        acc_ge = 0.0
        for q in range(gs_indptr[j], gs_indptr[j + 1]):
            gq = gs_w[q] * s[gs_pre[q]]
            acc_g += gq
            acc_ge += gq * gs_erev[q]
        g_syn[j] = acc_g
        g_syn_e[j] = acc_ge


@njit(**_NJIT)
def couple(v, s, gap_i, gap_j, gap_g, gs_indptr, gs_pre, gs_w, gs_erev, gap_drive, g_syn, g_syn_e):
    """Coupling terms at state (v, s): ``gap_drive = sum_j g_ij V_j`` and the graded synaptic
    conductance ``g_syn = sum_j w_ij s_j`` and ``g_syn_e = sum_j w_ij s_j E_j``."""
    if gap_i.shape[0] > 0:
        gap_drive[:] = 0.0
        for q in range(gap_i.shape[0]):
            a = gap_i[q]
            b = gap_j[q]
            gap_drive[a] += gap_g[q] * v[b]
            gap_drive[b] += gap_g[q] * v[a]
    graded_synaptic_input(s, gs_indptr, gs_pre, gs_w, gs_erev, g_syn, g_syn_e)


@njit(**_NJIT)
def splitmix64(state):
    """Next uniform float64 in [0, 1) from a one-element uint64 ``state`` (SplitMix64)."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(inline="always", **_NJIT)
def record_sample(m, X, ie, ii, mon_var, mon_idx, mon_buf, mon_count):
    """Append the current value of monitor column ``m`` (a state row of ``X``, or ``i_e`` /
    ``i_i`` for codes -1 / -2) to its buffer."""
    code = mon_var[m]
    j = mon_idx[m]
    if code >= 0:
        val = X[code, j]
    elif code == -1:
        val = ie[j]
    else:
        val = ii[j]
    mon_buf[m, mon_count[m]] = val
    mon_count[m] += 1


@njit(inline="always", **_NJIT)
def fire_sources(n, src_lo, n_total, spiked, sched_step, sched_id, sched_ptr, pois_lo, pois_p, rng_state):
    """Step ``n`` of the input sources: clear their flags, fire the scheduled spikes, then
    the Poisson trains (one draw each, in index order: the seeded stream)."""
    for j in range(src_lo, n_total):
        spiked[j] = 0
    while sched_ptr[0] < sched_step.shape[0] and sched_step[sched_ptr[0]] <= n:
        if sched_step[sched_ptr[0]] == n:
            spiked[sched_id[sched_ptr[0]]] = 1
        sched_ptr[0] += 1
    for q in range(pois_p.shape[0]):
        if splitmix64(rng_state) < pois_p[q]:
            spiked[pois_lo + q] = 1


@njit(**_NJIT)
def deliver_dynamic(j, n, X, ie, isyn, ring, direct, L, dynamic):
    """Spike of neuron ``j`` at step ``n`` through its dynamic synapses (the second CSR, see
    ``layout._dynamic_synapses``; ``dynamic`` is the bundle of ``run_chunk``): each synapse's
    model updates its state and returns the fraction it releases, which scales its weight
    into the target (and, for a sensing astrocyte, into its neurotransmitter input, read from
    the next step on, as Brian2's summed ``Y_S``). Returns the number of synapses used."""
    (dt, dyn_indptr, dyn_post, dyn_w, dyn_delay, dyn_code, dyn_row, dyn_coef, dyn_S, dyn_mod_row, dyn_mod_col, dyn_sense,
     dyn_sense_w, syn_kernels) = dynamic
    for q in range(dyn_indptr[j], dyn_indptr[j + 1]):
        col = dyn_mod_col[q]
        mod = X[dyn_mod_row[q], col] if col >= 0 else 0.0
        r = syn_kernels[dyn_code[q]](dyn_coef[dyn_row[q]], dyn_S, q, n, dt, mod)
        if dyn_sense[q] >= 0:
            ie[dyn_sense[q]] += dyn_sense_w[q] * r
        if direct:
            isyn[dyn_post[q]] += dyn_w[q] * r
        else:
            ring[(n + dyn_delay[q]) % L, dyn_post[q]] += dyn_w[q] * r
    return dyn_indptr[j + 1] - dyn_indptr[j]


@njit(**_NJIT)
def couple_at(v, s, coupling, drive, g, g_e):
    """``couple`` with the network's coupling bundle (``run_chunk``), into ``drive``, ``g``, ``g_e``."""
    gap_i, gap_j, gap_g, _, _, gs_indptr, gs_pre, gs_w, gs_erev, _, _ = coupling
    couple(v, s, gap_i, gap_j, gap_g, gs_indptr, gs_pre, gs_w, gs_erev, drive, g, g_e)


@njit(**_NJIT)
def gap_current(coupling, v, iext, lo, hi):
    """Gap-junction current into spiking neurons ``lo:hi``, sum g (V_j - V_i), from
    start-of-step voltages (first order), added to ``iext``."""
    gap_i, _, _, g_gap_sum, gap_drive, _, _, _, _, _, _ = coupling
    if gap_i.shape[0] > 0:
        for j in range(lo, hi):
            iext[j] += gap_drive[j] - g_gap_sum[j] * v[j]


@njit(**_NJIT)
def graded_predict(graded, coupling, pop_code, pop_lo, pop_hi, v, s, iext):
    """Predictor of the graded populations: an exponential-Euler step of the whole network
    (``v_pred``, ``s_pred``), then the coupling at the predicted state."""
    neuron_coef, v_pred, s_pred, drive1, g1, g_e1, g_tot0, num0, r_act0, _, _, _ = graded
    _, _, _, g_gap_sum, gap_drive, _, _, _, _, g_syn, g_syn_e = coupling
    v_pred[:] = v
    s_pred[:] = s
    for p in range(pop_code.shape[0]):
        if pop_code[p] == GRADED:
            lo = pop_lo[p]
            hi = pop_hi[p]
            gc = neuron_coef[lo:hi]
            graded_rates(gc, v[lo:hi], s[lo:hi], iext[lo:hi], g_gap_sum[lo:hi], gap_drive[lo:hi],
                         g_syn[lo:hi], g_syn_e[lo:hi], g_tot0[lo:hi], num0[lo:hi], r_act0[lo:hi])
            graded_advance(gc, v[lo:hi], s[lo:hi], g_tot0[lo:hi], num0[lo:hi], r_act0[lo:hi], v_pred[lo:hi], s_pred[lo:hi])
    couple_at(v_pred, s_pred, coupling, drive1, g1, g_e1)


@njit(**_NJIT)
def graded_correct(graded, coupling, lo, hi, v, s, iext):
    """Corrector of graded population ``lo:hi``: rates averaged between the start and the
    predicted state (trapezoidal), then the exact step with them."""
    neuron_coef, v_pred, s_pred, drive1, g1, g_e1, g_tot0, num0, r_act0, g_tot1, num1, r_act1 = graded
    g_gap_sum = coupling[3]
    gc = neuron_coef[lo:hi]
    graded_rates(gc, v_pred[lo:hi], s_pred[lo:hi], iext[lo:hi], g_gap_sum[lo:hi], drive1[lo:hi],
                 g1[lo:hi], g_e1[lo:hi], g_tot1[lo:hi], num1[lo:hi], r_act1[lo:hi])
    for j in range(lo, hi):
        g_tot1[j] = 0.5 * (g_tot0[j] + g_tot1[j])
        num1[j] = 0.5 * (num0[j] + num1[j])
        r_act1[j] = 0.5 * (r_act0[j] + r_act1[j])
    graded_advance(gc, v[lo:hi], s[lo:hi], g_tot1[lo:hi], num1[lo:hi], r_act1[lo:hi], v[lo:hi], s[lo:hi])


@njit(**_NJIT)
def run_chunk(
    step0, n_steps,
    # populations: model code, neuron range and coefficient row per population, the kernels
    pop_code, pop_lo, pop_hi, coef, step_kernels,
    # state matrix X (slots, n_neurons): row 0 v, further rows per model (graded: row 1 s);
    # isyn = [i_e | i_i] (2 n_neurons); spike flags (uint8, n_neurons + n_source_neurons, padded to 8)
    X, isyn, refrac, iext, spiked,
    # external currents: bias (n_neurons,) plus a piecewise-constant table (n_segments,
    # n_cols) into neurons tab_idx; segment g holds from chunk step tab_step[g] on
    has_ext, bias, tab, tab_idx, tab_step,
    # spike propagation: CSR over presynaptic (global) neurons; index = post + channel * N
    indptr, indices, weights, delays, uniform_delay, ring,
    # input sources
    src_lo, sched_step, sched_id, sched_ptr, pois_lo, pois_p, rng_state,
    # monitors
    rec_mask, rec_step, rec_id, rec_count, mon_step0, mon_var, mon_idx, mon_every, mon_buf, mon_count,
    # scratch, and the count of synaptic events (spikes delivered through a synapse)
    spike_list, syn_events,
    # the features a network may lack, each a tuple or None (a network without it then
    # compiles a kernel without its code: Numba prunes ``if x is not None`` on a None argument):
    # coupling: gap junctions (pairs, both directions) and graded synapses (CSR over the
    #   postsynaptic neuron): (gap_i, gap_j, gap_g, g_gap_sum, gap_drive, gs_indptr, gs_pre, gs_w,
    #   gs_erev, g_syn, g_syn_e); always given with ``graded``
    # graded: the explicit graded solver's per-neuron coefficients and scratch (neuron_coef,
    #   v_pred, s_pred, gap_drive1, g_syn1, g_syn_e1, g_tot0, num0, r_act0, g_tot1, num1, r_act1)
    # dynamic: dynamic synapses (dt, the second CSR of layout._dynamic_synapses, their state
    #   and kernels), see ``deliver_dynamic``
    # astro: astrocyte gap junctions (IP3 diffusion): (ag_i, ag_j, ag_row, ag_par, ag_every)
    # plastic: the arguments of ``plastic.plastic_step`` after ``isyn``
    coupling, graded, dynamic, astro, plastic,
):
    """Advance ``n_steps`` steps from global step ``step0``. Returns the number of steps done
    (fewer when the spike record buffer fills; the caller empties it and calls again)."""
    v = X[0]
    s = X[1]
    n_neurons = v.shape[0]
    ie = isyn[:n_neurons]
    ii = isyn[n_neurons:]
    # with every delay equal to one step, spikes go straight into the synaptic currents:
    # added after this step's update, they act in the next step, exactly as through the ring
    direct = uniform_delay == 1
    n_total = spike_list.shape[0]  # neurons + source neurons
    words = spiked.view(np.uint64)  # 8 flags at a time: most steps have few spikes
    n_pops = pop_code.shape[0]
    L = ring.shape[0]
    rec_cap = rec_step.shape[0]
    n_mon = mon_var.shape[0]
    n_syn_events = 0
    seg = 0
    n_seg = tab.shape[0]
    for k in range(n_steps):
        n = step0 + k
        # 1. spikes arriving in this step join the synaptic currents; monitors record the
        #    state at the start of the step (arrivals included, as Brian2 shows them)
        if not direct:
            arrivals = ring[n % L]
            for j in range(2 * n_neurons):
                isyn[j] += arrivals[j]
                arrivals[j] = 0.0
        for m in range(n_mon):
            if (n - mon_step0) % mon_every[m] == 0:
                record_sample(m, X, ie, ii, mon_var, mon_idx, mon_buf, mon_count)
        # 2. currents of this step
        if has_ext:
            for j in range(n_neurons):
                iext[j] = bias[j]
            if tab.shape[1] > 0:
                while seg + 1 < n_seg and tab_step[seg + 1] <= k:
                    seg += 1
                for c in range(tab.shape[1]):
                    iext[tab_idx[c]] += tab[seg, c]
        if astro is not None:
            ip3_coupling(n, X, *astro, iext)
        if coupling is not None:
            couple_at(v, s, coupling, coupling[4], coupling[9], coupling[10])
            if graded is not None:
                # graded populations: exponential-Euler predictor for the whole network first,
                # then the coupling at the predicted state (trapezoidal corrector below)
                graded_predict(graded, coupling, pop_code, pop_lo, pop_hi, v, s, iext)
        # 3. neuron updates
        for p in range(n_pops):
            code = pop_code[p]
            lo = pop_lo[p]
            hi = pop_hi[p]
            if code != GRADED:
                if coupling is not None:
                    gap_current(coupling, v, iext, lo, hi)
                step_kernels[code](coef[p], X, lo, hi, n, ie, ii, refrac, iext, has_ext, spiked)
            elif graded is not None:
                graded_correct(graded, coupling, lo, hi, v, s, iext)
        # 4. input sources
        fire_sources(n, src_lo, n_total, spiked, sched_step, sched_id, sched_ptr, pois_lo, pois_p, rng_state)
        # 5. collect, record, propagate
        n_spk = 0
        for q in range(words.shape[0]):
            if words[q] != 0:
                for j in range(8 * q, 8 * q + 8):
                    if spiked[j]:
                        spike_list[n_spk] = j
                        n_spk += 1
        for q in range(n_spk):
            j = spike_list[q]
            if rec_mask[j]:
                rec_step[rec_count[0]] = n
                rec_id[rec_count[0]] = j
                rec_count[0] += 1
            n_syn_events += indptr[j + 1] - indptr[j]
            if dynamic is not None:  # kept out of line: static-only networks keep the lean loop below
                n_syn_events += deliver_dynamic(j, n, X, ie, isyn, ring, direct, L, dynamic)
            if uniform_delay > 0:
                target = isyn if direct else ring[(n + uniform_delay) % L]
                for syn in range(indptr[j], indptr[j + 1]):
                    target[indices[syn]] += weights[syn]
            else:
                for syn in range(indptr[j], indptr[j + 1]):
                    ring[(n + delays[syn]) % L, indices[syn]] += weights[syn]
        # 6. plastic projections
        if plastic is not None:
            n_syn_events += plastic_step(n, k, spike_list, n_spk, n_neurons, isyn, *plastic)
        if rec_count[0] + n_total > rec_cap:
            syn_events[0] += n_syn_events
            return k + 1
    syn_events[0] += n_syn_events  # stored once: a store per spike keeps LLVM from holding the loop in registers
    return n_steps
