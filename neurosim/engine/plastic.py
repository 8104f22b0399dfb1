"""Plastic projections in the engine: their layout (``plastic_layout``) and the learning
step run at the end of every simulation step (``plastic_step``).

Every plastic projection keeps its synapses contiguous, in its own CSR order, in one
weight array ``W`` (so its weights read back as a slice), with its CSR over presynaptic
neurons (``rowptr``, ``syn_post``) for arrivals. Traces are per neuron and per projection
(columns of ``Tpre``/``Tpost`` from ``tr_pre_off[k]``/``tr_post_off[k]``), each with the
step of its last update, decayed exactly from a table of ``exp(-m dt/tau)`` (``tabs``).

Rules with ``deferred`` potentiation (``PairSTDP``, ``TripletSTDP``) record each
postsynaptic spike in the neuron's history (``ph_step``/``ph_val``, ``HISTORY`` entries);
a synapse applies the spikes it has not seen (from step ``applied[i]`` of its presynaptic
neuron on) when its next presynaptic spike arrives, so weights are only touched in row
order (Morrison, Aertsen & Diesmann 2007, NEST's archiving node; the same updates in the
same order as applying them at once). A full history flushes its projection (every row
brought up to date, histories emptied); so do the end of every run and the weight monitors
(for the rows they sample). Per synapse the engine then holds the weight and its
postsynaptic index: 8 bytes in float32. Other rules (``RewardSTDP``) also get a CSC over
postsynaptic neurons (``colptr``, ``col_syn``, ``col_pre``: 8 more bytes) and update their
synapses at the postsynaptic spike.

Timing (Brian2's ``on_pre``/``on_post``): a spike emitted in step ``n`` through a
projection of ``delay_steps`` ``D`` (``neurosim.network.flat``) arrives at the end of step
``n + D - 1``: its weight is added to the target's synaptic input (acting from step
``n + D`` on, as a static synapse's) and the rule's ``pre`` hook runs; then, in the same
step, the ``post`` hooks of the neurons that spiked, then each rule's ``step`` hook.
Arrivals are found in a history of the last ``max D`` steps' spike lists; so are the
postsynaptic spikes of rules with a ``dendritic_delay`` (Brian2's delayed ``on_post``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..network.flat import delay_steps, node_offsets
from .registry import plasticity_codes

__all__ = ["plastic_layout", "plastic_step", "plastic_arrays", "flush_rows", "HISTORY", "DECAY_STEPS"]

_NJIT = dict(cache=True, nogil=True, error_model="numpy")

HISTORY = 32
"""Postsynaptic spikes a neuron's history holds before its projection is flushed."""

DECAY_STEPS = 8192
"""Idle steps the decay tables cover (beyond: ``exp`` is computed)."""


def plastic_layout(net, dt: float, dtype) -> dict:
    """The arrays of the plastic projections of ``net`` at step ``dt`` (s) with weights of
    ``dtype`` (see the module docstring); ``pos[name]`` is a projection's slice of ``W``."""
    dtype = np.dtype(dtype)
    offsets, n_neurons, n_total = node_offsets(net)
    plastic = [pr for pr in net.projections if pr.plasticity is not None]
    codes = plasticity_codes() if plastic else {}
    P = len(plastic)
    width = max([1] + [len(pr.plasticity.discretize(dt)) for pr in plastic])
    coef = np.zeros((max(P, 1), width), dtype)
    tabs = np.ones((max(P, 1), 4, DECAY_STEPS if plastic else 1), np.float64)
    ints = {k: np.zeros(P, np.int64) for k in ("code", "delay", "post_delay", "pre_lo", "npre", "post_lo", "npost", "chan",
                                                 "syn_lo", "syn_hi", "rowoff", "coloff", "tr_pre_off", "tr_post_off")}
    rowptr, colptr, syn_post, col_syn, col_pre, weights, pos = [], [], [], [], [], [], {}
    n_syn = n_row = n_col = n_tpre = n_tpost = 0
    for k, pr in enumerate(plastic):
        n_post = net.node(pr.post).size
        c = list(pr.plasticity.discretize(dt).values())
        coef[k, : len(c)] = c
        for r in range(pr.plasticity.n_rates):
            tabs[k, r] = np.exp(-np.arange(DECAY_STEPS) * float(coef[k, r]))
        steps = delay_steps(pr, dt)
        # a transposed index only for rules that update synapses at the postsynaptic spike
        order = np.argsort(pr.indices, kind="stable") if not pr.plasticity.deferred else np.zeros(0, np.int64)
        ints["code"][k], ints["delay"][k] = codes[pr.plasticity.kind], int(steps[0]) if steps.size else 1
        ints["post_delay"][k] = pr.plasticity.dendritic_steps(dt)
        ints["pre_lo"][k], ints["npre"][k] = offsets[pr.pre], pr.n_pre
        ints["post_lo"][k], ints["npost"][k] = offsets[pr.post], n_post
        ints["chan"][k] = 0 if pr.target == "exc" else 1
        ints["syn_lo"][k], ints["syn_hi"][k] = n_syn, n_syn + pr.n_synapses
        ints["rowoff"][k], ints["coloff"][k] = n_row, n_col
        ints["tr_pre_off"][k], ints["tr_post_off"][k] = n_tpre, n_tpost
        rowptr.append(pr.indptr.astype(np.int64) + n_syn)
        colptr.append(np.concatenate([[0], np.cumsum(np.bincount(pr.indices, minlength=n_post))]).astype(np.int64))
        syn_post.append(pr.indices.astype(np.int32))
        col_syn.append((order + n_syn).astype(np.int64))
        col_pre.append(pr.pre_indices()[order].astype(np.int32))
        if pr.plasticity.deferred:
            colptr[-1][:] = 0
        weights.append(pr.weights)
        pos[pr.name] = slice(n_syn, n_syn + pr.n_synapses)
        n_syn, n_row, n_col = n_syn + pr.n_synapses, n_row + pr.n_pre + 1, n_col + n_post + 1
        n_tpre, n_tpost = n_tpre + pr.n_pre, n_tpost + n_post
    if n_syn >= 2**31:
        raise ValueError(f"plastic projections hold {n_syn:,} synapses; the engine takes fewer than 2**31")

    def cat(parts, kind):
        return np.concatenate(parts).astype(kind) if parts else np.zeros(0, kind)

    return dict(
        P=P, coef=coef, tabs=tabs, **ints, rowptr=cat(rowptr, np.int64), colptr=cat(colptr, np.int64), syn_post=cat(syn_post, np.int32),
        col_syn=cat(col_syn, np.int32), col_pre=cat(col_pre, np.int32), W0=cat(weights, dtype), pos=pos,
        n_S=max([0] + [len(pr.plasticity.synapse_vars) for pr in plastic]),
        n_tpre=n_tpre, n_tpost=n_tpost,
        tr_rows=max([1] + [r for pr in plastic for r in pr.plasticity.trace_rows()]),
        hist_len=int(max(ints["delay"].max(initial=1), ints["post_delay"].max(initial=0) + 1)), n_total=n_total,
        modulated=[pr.plasticity.modulated for pr in plastic], names=[pr.name for pr in plastic])


def plastic_arrays(pl: dict) -> tuple:
    """The layout's read-only arrays in the order ``plastic_step`` takes them."""
    return (pl["code"], pl["coef"], pl["tabs"], pl["delay"], pl["post_delay"], pl["pre_lo"], pl["npre"], pl["post_lo"],
            pl["npost"], pl["chan"], pl["syn_lo"], pl["syn_hi"], pl["rowoff"], pl["rowptr"], pl["syn_post"], pl["coloff"], pl["colptr"], pl["col_syn"],
            pl["col_pre"], pl["tr_pre_off"], pl["tr_post_off"])


@njit(**_NJIT)
def flush_rows(k, n, i_lo, i_hi, code, coef, tabs, pre_lo, post_lo, chan, n_neurons, rowoff, rowptr, syn_post, tr_pre_off,
               tr_post_off, W, S, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val, ph_len, isyn, pre_hooks):
    """Bring the synapses of presynaptic neurons ``i_lo:i_hi`` of projection ``k`` up to date
    at step ``n`` (the ``pre`` hook's flush mode)."""
    base = chan[k] * n_neurons + post_lo[k]
    for i in range(i_lo, i_hi):
        a, b = rowptr[rowoff[k] + i], rowptr[rowoff[k] + i + 1]
        pre_hooks[code[k]](coef[k], tabs[k], n, tr_pre_off[k] + i, a, b, W, S, syn_post, tr_post_off[k], Tpre, last_pre, Tpost,
                           last_post, applied, ph_step, ph_val, ph_len, isyn, base, 1)


@njit(**_NJIT)
def plastic_step(n, k_local, spike_list, n_spk, n_neurons, isyn, hist, hist_n,
                 code, coef, tabs, delay, post_delay, pre_lo, npre, post_lo, npost, chan, syn_lo, syn_hi, rowoff, rowptr, syn_post,
                 coloff, colptr, col_syn, col_pre, tr_pre_off, tr_post_off,
                 W, S, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val, ph_len, mod, rewards,
                 pre_hooks, post_hooks, step_hooks, wm_syn, wm_k, wm_i, wm_every, wm_step0, wm_buf, wm_count):
    """The learning of step ``n`` (``k_local`` within the chunk; ``rewards`` (chunk steps,
    P) or empty), after its spikes ``spike_list[:n_spk]`` (global, ascending) were collected.
    Samples the monitored weights first (their values at the start of the step's learning,
    their rows brought up to date). Returns the number of synaptic events (arrivals times
    synapses)."""
    P = code.shape[0]
    if wm_syn.shape[0] > 0 and (n - wm_step0) % wm_every == 0:
        r = wm_count[0]
        for q in range(wm_syn.shape[0]):
            k = wm_k[q]
            flush_rows(k, n, wm_i[q], wm_i[q] + 1, code, coef, tabs, pre_lo, post_lo, chan, n_neurons, rowoff, rowptr,
                       syn_post, tr_pre_off, tr_post_off, W, S, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val,
                       ph_len, isyn, pre_hooks)
            wm_buf[r, q] = W[wm_syn[q]]
        wm_count[0] = r + 1
    H = hist.shape[0]
    row = n % H
    for q in range(n_spk):
        hist[row, q] = spike_list[q]
    hist_n[row] = n_spk
    events = 0
    for k in range(P):  # presynaptic spikes arriving now
        m = n - delay[k] + 1
        if m < 0:
            continue
        lo, hi = pre_lo[k], pre_lo[k] + npre[k]
        base = chan[k] * n_neurons + post_lo[k]
        c, tab = coef[k], tabs[k]
        for q in range(hist_n[m % H]):
            g = hist[m % H, q]
            if g < lo or g >= hi:
                continue
            i = g - lo
            a, b = rowptr[rowoff[k] + i], rowptr[rowoff[k] + i + 1]
            events += b - a
            pre_hooks[code[k]](c, tab, n, tr_pre_off[k] + i, a, b, W, S, syn_post, tr_post_off[k], Tpre, last_pre, Tpost,
                               last_post, applied, ph_step, ph_val, ph_len, isyn, base, 0)
    cap = ph_step.shape[1]
    for k in range(P):  # postsynaptic spikes reaching the synapses now (emitted post_delay steps ago)
        m = n - post_delay[k]
        if m < 0:
            continue
        lo, hi = post_lo[k], post_lo[k] + npost[k]
        c, tab = coef[k], tabs[k]
        for q in range(hist_n[m % H]):
            g = hist[m % H, q]
            if g < lo or g >= hi:
                continue
            j = g - lo
            if ph_len[tr_post_off[k] + j] == cap:  # a full history: bring the projection up to date, empty it
                flush_rows(k, n, 0, npre[k], code, coef, tabs, pre_lo, post_lo, chan, n_neurons, rowoff, rowptr, syn_post,
                           tr_pre_off, tr_post_off, W, S, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val, ph_len,
                           isyn, pre_hooks)
                ph_len[tr_post_off[k] : tr_post_off[k] + npost[k]] = 0
            a, b = colptr[coloff[k] + j], colptr[coloff[k] + j + 1]
            post_hooks[code[k]](c, tab, n, tr_post_off[k] + j, a, b, W, S, col_syn, col_pre, tr_pre_off[k], Tpre, last_pre,
                                Tpost, last_post, ph_step, ph_val, ph_len)
    for k in range(P):
        r = rewards[k_local, k] if rewards.shape[0] > 0 else 0.0
        step_hooks[code[k]](coef[k], n, syn_lo[k], syn_hi[k], W, S, mod, k, r, Tpre, tr_pre_off[k], npre[k])
    return events


@njit(**_NJIT)
def flush_all(n, n_neurons, isyn, code, coef, tabs, delay, post_delay, pre_lo, npre, post_lo, npost, chan, syn_lo, syn_hi, rowoff, rowptr,
              syn_post, coloff, colptr, col_syn, col_pre, tr_pre_off, tr_post_off, W, S, Tpre, last_pre, Tpost, last_post,
              applied, ph_step, ph_val, ph_len, pre_hooks):
    """Every plastic synapse brought up to date at step ``n`` (the start of the next run),
    the histories emptied: ``W`` then holds the current weights."""
    for k in range(code.shape[0]):
        flush_rows(k, n, 0, npre[k], code, coef, tabs, pre_lo, post_lo, chan, n_neurons, rowoff, rowptr, syn_post, tr_pre_off,
                   tr_post_off, W, S, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val, ph_len, isyn, pre_hooks)
        ph_len[tr_post_off[k] : tr_post_off[k] + npost[k]] = 0
