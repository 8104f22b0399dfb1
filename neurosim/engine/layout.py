"""The structure-of-arrays layout the kernels run on, built from the one flattening of a
``Network`` (``neurosim.network.flat``: global numbering, merged CSR, delays in steps).

Global numbering: the neurons of all populations in order (0 .. N-1), then the neurons of
all input sources (N .. N+S-1). Spiking projections are merged into one CSR over that
global presynaptic index whose ``indices`` encode ``post + channel * N`` (channel 0:
excitatory, 1: inhibitory), so the ring buffer has 2N columns and no per-synapse channel
needs storing.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network import AstrocyteGapJunctions, AstrocyteToSynapse, Network, PoissonSource, SpikeSource, SynapseToAstrocyte
from ..network.flat import flatten_synapses, node_offsets
from .kernels import GRADED
from .plastic import plastic_layout
from .registry import kernel_codes, state_slots, synapse_codes
from .threads import sort_rows

__all__ = ["Layout", "build_layout", "GRADED_KINDS"]

GRADED_KINDS = frozenset({"graded"})
"""Non-spiking model kinds the coupled graded solver integrates (``graded_implicit``)."""


@dataclass
class Layout:
    """The flattened network the kernels run on (see the module docstring); every array is
    indexed by global neuron number or by merged-CSR synapse position."""

    n_neurons: int
    n_total: int
    n_slots: int  # rows of the state matrix X (see neurosim.engine.registry)
    offsets: dict  # population/source name -> first global index
    pop_code: np.ndarray
    pop_lo: np.ndarray
    pop_hi: np.ndarray
    coef: np.ndarray
    neuron_coef: np.ndarray  # (n_neurons, width) per-neuron rows for graded populations
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    uniform_delay: int
    ring_len: int
    gap_i: np.ndarray
    gap_j: np.ndarray
    gap_g: np.ndarray
    g_gap_sum: np.ndarray
    gs_indptr: np.ndarray
    gs_pre: np.ndarray
    gs_w: np.ndarray
    gs_erev: np.ndarray
    src_lo: int
    sched_step_times: np.ndarray  # seconds, sorted
    sched_id: np.ndarray
    pois_lo: int
    pois_rate: np.ndarray
    dyn: dict  # dynamic synapses (second CSR) and astrocyte coupling; see _dynamic_synapses
    plastic: dict  # plastic projections (their own CSR and CSC); see neurosim.engine.plastic

    def synapse_bytes(self) -> int:
        """Bytes the engine holds per the spiking synapse arrays (indices, weights, delays)."""
        return self.indices.nbytes + self.weights.nbytes + self.delays.nbytes


def build_layout(net: Network, dt: float, dtype) -> Layout:
    """Flatten ``net`` for time step ``dt`` (s) in ``dtype`` (float32 or float64)."""
    dtype = np.dtype(dtype)
    offsets, n_neurons, n_total = node_offsets(net)
    src_lo = n_neurons

    coefs = [list(p.model.discretize(dt).values()) for p in net.populations]
    width = max(len(c) for c in coefs)
    coef = np.zeros((len(coefs), width), dtype)
    for k, c in enumerate(coefs):
        coef[k, : len(c)] = c
    # graded populations (small networks, may be heterogeneous) read one row per neuron
    has_graded = any(not p.spiking for p in net.populations)
    neuron_coef = np.zeros((n_neurons if has_graded else 0, width), dtype)
    for p in net.populations:
        if not p.spiking:
            rows = [list(m.discretize(dt).values()) for m in p.neuron_models()]
            neuron_coef[offsets[p.name] : offsets[p.name] + p.size, : len(rows[0])] = rows
    codes = kernel_codes()
    for p in net.populations:
        if not p.spiking and p.model.kind not in GRADED_KINDS:
            raise ValueError(f"population {p.name!r}: the engine integrates non-spiking models of kinds {sorted(GRADED_KINDS)} "
                             f"with its graded solver; {type(p.model).__name__} (kind {p.model.kind!r}) is not one of them")
        if p.spiking and p.model.kind not in codes:
            raise ValueError(f"population {p.name!r}: no engine kernel for model kind {p.model.kind!r}; "
                             f"registered: {sorted(codes)} (see neurosim.engine.registry)")
    pop_code = np.array([codes[p.model.kind] if p.spiking else GRADED for p in net.populations], np.int64)
    # rows of the state matrix: the most any model needs, and at least v and s (graded path)
    n_slots = max([2] + [1 + max(state_slots(p.model).values()) for p in net.populations])
    pop_lo = np.array([offsets[p.name] for p in net.populations], np.int64)
    pop_hi = pop_lo + np.array([p.size for p in net.populations], np.int64)

    # static spiking projections -> one CSR over global presynaptic neurons (the one flatten,
    # neurosim.network.flat), the channel folded into the index: post + channel * N
    spiking = [pr for pr in net.projections if pr.target != "graded" and pr.synapse is None and pr.plasticity is None]
    dynamic = [pr for pr in net.projections if pr.synapse is not None]
    flat = flatten_synapses(net, dt, spiking, keep_positions=False)
    indptr = flat.indptr
    idx_dtype = np.int32 if 2 * n_neurons < 2**31 else np.int64
    indices = flat.post.astype(idx_dtype) + flat.channel.astype(idx_dtype) * idx_dtype(n_neurons)
    weights = flat.weight.astype(dtype)
    dyn_flat = flatten_synapses(net, dt, dynamic)
    dmax = int(max(flat.delay.max(initial=1), dyn_flat.delay.max(initial=1)))
    delays = flat.delay.astype(np.uint8 if dmax < 256 else np.uint16)
    uniform = _uniform_delay(flat.delay, dyn_flat.delay)
    if uniform:
        delays = np.zeros(0, delays.dtype)  # not needed: every synapse has the same delay
    # each row by target: a thread's synapses are then one piece of the row (engine.threads);
    # stable, so every target receives its inputs in the same order and the sums do not change
    indices, weights, delays = sort_rows(indptr, indices, weights, delays, n_neurons)
    ring_len = dmax + 1

    # gap junctions (global pairs) and per-neuron conductance sums
    gi, gj, gg = [], [], []
    for gap in net.gap_junctions:
        gi.append(gap.i + offsets[gap.pop_a])
        gj.append(gap.j + offsets[gap.pop_b])
        gg.append(gap.g)
    gap_i = np.concatenate(gi).astype(np.int64) if gi else np.zeros(0, np.int64)
    gap_j = np.concatenate(gj).astype(np.int64) if gj else np.zeros(0, np.int64)
    gap_g = np.concatenate(gg).astype(dtype) if gg else np.zeros(0, dtype)
    g_gap_sum = np.zeros(n_neurons, np.float64)
    np.add.at(g_gap_sum, gap_i, gap_g)
    np.add.at(g_gap_sum, gap_j, gap_g)

    # graded projections -> CSR over global postsynaptic neurons
    graded = [pr for pr in net.projections if pr.target == "graded"]
    if graded:
        post = np.concatenate([pr.indices.astype(np.int64) + offsets[pr.post] for pr in graded])
        pre = np.concatenate([pr.pre_indices() + offsets[pr.pre] for pr in graded])
        w = np.concatenate([pr.weights.astype(np.float64) for pr in graded])
        erev = np.concatenate([np.full(pr.n_synapses, pr.e_rev) for pr in graded])
        order = np.argsort(post, kind="stable")
        gs_indptr = np.zeros(n_neurons + 1, np.int64)
        np.cumsum(np.bincount(post, minlength=n_neurons), out=gs_indptr[1:])
        gs_pre, gs_w, gs_erev = pre[order], w[order].astype(dtype), erev[order].astype(dtype)
    else:
        gs_indptr = np.zeros(1, np.int64)
        gs_pre, gs_w, gs_erev = np.zeros(0, np.int64), np.zeros(0, dtype), np.zeros(0, dtype)

    # input sources
    times, ids = [], []
    for s in net.sources:
        if isinstance(s, SpikeSource):
            times.append(s.times)
            ids.append(s.ids + offsets[s.name])
    # one Poisson rate per source neuron from src_lo on (0 Hz for spike-time sources); empty
    # when there is no Poisson source, so the kernel draws no random numbers
    pois_rate = np.zeros(0)
    if any(isinstance(s, PoissonSource) for s in net.sources):
        pois_rate = np.zeros(n_total - src_lo)
        for s in net.sources:
            if isinstance(s, PoissonSource):
                pois_rate[offsets[s.name] - src_lo : offsets[s.name] - src_lo + s.size] = s.rate
    sched_t = np.concatenate(times) if times else np.zeros(0)
    sched_id = np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64)
    order = np.argsort(sched_t, kind="stable")
    return Layout(
        n_neurons, n_total, n_slots, offsets, pop_code, pop_lo, pop_hi, coef, neuron_coef,
        indptr, indices, weights, delays, uniform, ring_len,
        gap_i, gap_j, gap_g, g_gap_sum.astype(dtype),
        gs_indptr, gs_pre, gs_w, gs_erev,
        src_lo, sched_t[order], sched_id[order], src_lo, pois_rate,
        _dynamic_synapses(net, dynamic, dyn_flat, offsets, n_neurons, dt, dtype),
        plastic_layout(net, dt, dtype),
    )


def _uniform_delay(*delays) -> int:
    """The delay (steps) every synapse has, 1 when there are none, 0 when they differ."""
    present = [d for d in delays if d.size]
    if not present:
        return 1
    first = int(present[0][0])
    return first if all(np.all(d == first) for d in present) else 0


def _dynamic_synapses(net, dynamic, flat, offsets, n_neurons, dt, dtype) -> dict:
    """Dynamic synapses as a second CSR over global presynaptic neurons (``flat``, kept
    apart so the static path stays lean), with their state ``S0`` (slots, n), model code and
    coefficient row, the astrocyte variable modulating each (``mod_row``/``mod_col``, -1:
    none), the astrocyte sensing each (``sense``, -1: none) with its weight; ``pos[name]``
    maps a projection's synapses (CSR order) to positions here. Astrocyte gap junctions:
    global pairs, the state row of IP3, parameters (F, I_Theta, omega_I) and the astrocyte
    clock."""
    codes = synapse_codes()
    indptr = flat.indptr
    nnz = int(indptr[-1])
    post = flat.post.astype(np.int64) + flat.channel.astype(np.int64) * n_neurons
    w = flat.weight.astype(dtype)
    delay = flat.delay.astype(np.int64)
    code = np.zeros(nnz, np.int64)
    row = flat.projection.astype(np.int64)
    width = max([1] + [len(pr.synapse.discretize(dt)) for pr in dynamic])
    n_slots = max([1] + [len(pr.synapse.state_vars) for pr in dynamic])
    coef = np.zeros((max(1, len(dynamic)), width), dtype)
    S0 = np.zeros((n_slots, nnz), dtype)
    pos = {}
    for k, (pr, p) in enumerate(zip(dynamic, flat.positions)):
        code[p] = codes[pr.synapse.kind]
        c = list(pr.synapse.discretize(dt).values())
        coef[k, : len(c)] = c
        for r, value in enumerate(pr.synapse.initial_state().values()):
            S0[r, p] = value
        pos[pr.name] = p
    mod_row = np.zeros(nnz, np.int64)
    mod_col = np.full(nnz, -1, np.int64)
    sense = np.full(nnz, -1, np.int64)
    sense_w = np.zeros(nnz, dtype)
    projs = {pr.name: pr for pr in dynamic}
    pops = {p.name: p for p in net.populations}
    ag_i, ag_j, ag_row, ag_par, ag_every = [], [], [], [], []
    for link in net.glia:
        astro = pops[link.astrocytes]
        lo = offsets[astro.name]
        if isinstance(link, AstrocyteGapJunctions):
            ag_i.append(link.i + lo)
            ag_j.append(link.j + lo)
            ag_row.append(np.full(link.i.size, state_slots(astro.model)["I"]))
            ag_par.append(np.tile([link.F, link.I_Theta, link.omega_I], (link.i.size, 1)))
            ag_every.append(np.full(link.i.size, astro.model.astro_steps(dt)))
            continue
        p = pos[link.projection]
        has = link.astrocyte_index >= 0
        if isinstance(link, AstrocyteToSynapse):
            mod_row[p[has]] = state_slots(astro.model)[link.variable]
            mod_col[p[has]] = link.astrocyte_index[has] + lo
        elif isinstance(link, SynapseToAstrocyte):
            per = projs[link.projection].synapse.transmitter_per_release()
            scale = np.ones(has.sum())
            if link.normalize:
                n_in = np.bincount(link.astrocyte_index[has], minlength=astro.size)
                scale = 1.0 / n_in[link.astrocyte_index[has]]
            sense[p[has]] = link.astrocyte_index[has] + lo
            sense_w[p[has]] = per * scale

    def cat(parts, shape_tail=(), kind=np.int64):
        return np.concatenate(parts).astype(kind) if parts else np.zeros((0, *shape_tail), kind)

    return dict(indptr=indptr, post=post, w=w, delay=delay, code=code, row=row, coef=coef, S0=S0,
                mod_row=mod_row, mod_col=mod_col, sense=sense, sense_w=sense_w, pos=pos,
                ag_i=cat(ag_i), ag_j=cat(ag_j), ag_row=cat(ag_row), ag_par=np.ascontiguousarray(cat(ag_par, (3,), dtype)),
                ag_every=cat(ag_every))
