"""A Numba engine with Loihi 2's fixed-point arithmetic, bit-exact with Lava's
``fixed_pt`` process models (``PyLifModelBitAcc``, ``PyDenseModelBitAcc``,
``PySparseModelBitAcc``, ``PyDelayDenseModelBitAcc``, ``PyDelaySparseModelBitAcc`` and the
``RingBuffer`` source of lava-nc 0.10.0), event-driven: only spiking inputs cost work.

One step ``n`` (Lava's time step ``n + 1``), as the Lava models do it:

1. every neuron receives ``a_in``: the sum over projections of what they computed for this
   step (wrapped to int32, as Lava's ports carry int32);
2. current: ``u = trunc0(u (4096 - du - 1) / 4096) + (a_in << 6)``, wrapped to 24 bits;
   voltage: ``v = trunc0(v (4096 - dv) / 4096) + u + (bias_mant << bias_exp)``, clipped to
   24 bits; spike if ``v > vth_mant << 6``, then ``v = 0`` (``trunc0``: rounding toward 0);
3. every projection sums the integer weights of this step's input spikes per target and
   delay, shifts each sum by the projection's
   ``weight_exp`` (right shifts round toward minus infinity) and adds it to the target's
   input ``delay + 1`` steps later.

A projection that learns (``LoihiProjection.learning``, a ``LearningDense`` process in Lava)
makes the engine run step by step: after each step, ``hardware.loihi.learning`` updates its
integer weights from the step's pre- and postsynaptic spikes, as Lava's learning engine does
at the end of every step (one-step learning epochs), and the next step delivers the new ones.

The same description (``LoihiNetwork`` from ``quantize``) drives Lava in ``lava_backend``;
``tests/test_loihi.py`` checks spikes and integer voltages against Lava with hypothesis.
"""
from __future__ import annotations

import time

import numpy as np
from numba import njit

from neurosim.network.flat import merge_csr
from neurosim.results import Results, SpikeTrains, Traces

from .learning import LearningState
from .quantize import ACT_SHIFT, DECAY_UNITY, UV_LIMIT, LoihiNetwork

__all__ = ["run_fixed"]


@njit(cache=True, inline="always")
def _wrap32(x):
    return ((x + 2**31) & 0xFFFFFFFF) - 2**31


@njit(cache=True, inline="always")
def _mul_trunc(x, factor):
    p = x * factor
    return -((-p) >> 12) if p < 0 else p >> 12


@njit(cache=True)
def _run(n0, n_steps, src_counts, n_src, du_f, dv_f, bias_eff, vth_eff, u, v,
         indptr, syn_post, syn_w, syn_delay, syn_proj, proj_exp, proj_base, proj_npost, proj_post0, scratch,
         touched, ring, rec_spk_col, spk_out, rec_v_col, v_out, u_out, quiet, spikes):
    n_neu = u.shape[0]
    R = ring.shape[0]
    n_touched = 0
    syn_events = 0
    for n in range(n0, n0 + n_steps):
        slot = n % R
        busy = 0  # neurons with a nonzero u or v after this step
        # 1-2. neurons
        for i in range(n_neu):
            a = _wrap32(ring[slot, i])
            ring[slot, i] = 0
            act = _wrap32(a << ACT_SHIFT)
            cu = _wrap32(_wrap32(_mul_trunc(u[i], DECAY_UNITY - du_f[i])) + act)
            if cu > UV_LIMIT:
                cu -= 2 * UV_LIMIT
            elif cu <= -UV_LIMIT:
                cu += 2 * UV_LIMIT
            u[i] = cu
            cv = _mul_trunc(v[i], DECAY_UNITY - dv_f[i]) + cu + bias_eff[i]
            cv = min(max(cv, -UV_LIMIT + 1), UV_LIMIT - 1)
            s = cv > vth_eff[i]
            spikes[i] = 1 if s else 0
            v[i] = 0 if s else cv
            busy += cu != 0 or v[i] != 0
            c = rec_spk_col[i]
            if c >= 0:
                spk_out[n, c] = s
            c = rec_v_col[i]
            if c >= 0:
                v_out[n, c] = v[i]
                u_out[n, c] = cu
        # 3. projections: raw sums per (projection, delay, target), then shifted
        for pre in range(indptr.shape[0] - 1):
            cnt = spikes[pre] if pre < n_neu else src_counts[pre - n_neu, n]  # 0/1
            if cnt == 0:
                continue
            for k in range(indptr[pre], indptr[pre + 1]):
                p = syn_proj[k]
                j = proj_base[p] + syn_delay[k] * proj_npost[p] + syn_post[k]
                if touched[j] == 0:
                    touched[j] = 1
                    touched[touched.shape[0] - 1 - n_touched] = j  # the list grows from the end
                    n_touched += 1
                scratch[j] += syn_w[k] * cnt
                syn_events += 1
        top = touched.shape[0] - 1
        for t in range(n_touched):
            j = touched[top - t]
            touched[j] = 0
            # which projection holds slot j (projections are few: a linear scan)
            p = 0
            while p + 1 < proj_base.shape[0] and proj_base[p + 1] <= j:
                p += 1
            off = j - proj_base[p]
            d = off // proj_npost[p]
            post = proj_post0[p] + off - d * proj_npost[p]
            e = proj_exp[p]
            val = scratch[j] << e if e > 0 else scratch[j] >> (-e)
            scratch[j] = 0
            ring[(n + 1 + d) % R, post] += val
        n_touched = 0
        # quiet: no state and nothing in flight (what the next steps receive is all zero)
        q = busy == 0
        if q:
            for r in range(R):
                for i in range(n_neu):
                    if ring[r, i] != 0:
                        q = False
                        break
                if not q:
                    break
        quiet[n] = q
    return syn_events


def _flatten(net: LoihiNetwork):
    """Global numbering and the merged CSR of the core's one flattening
    (``neurosim.network.flat``): neurons, then source neurons; the integer synapses of every
    projection merged by presynaptic neuron."""
    pops, srcs = net.populations, net.sources
    off, lo = {}, 0
    for node in (*pops, *srcs):  # as node_offsets numbers a core Network
        off[node.name] = lo
        lo += node.size
    n_neu = sum(p.size for p in pops)
    n_src = lo - n_neu
    rows, parts = [], []
    proj_base, proj_npost, proj_post0, proj_exp = [], [], [], []
    base = 0
    for k, pr in enumerate(net.projections):
        w, d = pr.weights_int, pr.delays
        if not (np.array_equal(w.indptr, d.indptr) and np.array_equal(w.indices, d.indices)):
            raise ValueError(f"projection {pr.name!r}: delays and weights must share one sparsity pattern (map_network builds them so)")
        rows.append(w.indices.astype(np.int64) + off[pr.pre])
        parts.append((np.repeat(np.arange(w.shape[0], dtype=np.int64), np.diff(w.indptr)), w.data.astype(np.int64),
                      d.data.astype(np.int64), k))
        n_post = pr.weights.shape[0]
        proj_base.append(base)
        proj_npost.append(n_post)
        proj_post0.append(off[pr.post])
        proj_exp.append(pr.weight_exp)
        base += (pr.max_delay + 1) * n_post
    indptr, positions = merge_csr(lo, rows)  # positions[k]: where projection k's CSR entries went
    nnz = int(indptr[-1])
    post, w, delay, proj = (np.zeros(nnz, np.int64) for _ in range(4))
    for (p_post, p_w, p_d, k), pos in zip(parts, positions):
        post[pos], w[pos], delay[pos], proj[pos] = p_post, p_w, p_d, k
    counts = np.zeros((n_src, net.n_steps), np.int64)
    for s in srcs:
        counts[off[s.name] - n_neu: off[s.name] - n_neu + s.size] = s.counts
    max_delay = max((pr.max_delay for pr in net.projections), default=0)
    return dict(pop_off=off, n_neu=n_neu, n_src=n_src, counts=counts, indptr=indptr, post=post, w=w, delay=delay, proj=proj,
                proj_exp=np.array(proj_exp, np.int64), proj_base=np.array(proj_base, np.int64),
                proj_npost=np.array(proj_npost, np.int64), proj_post0=np.array(proj_post0, np.int64), scratch_len=base,
                ring_len=max_delay + 2, positions=positions)


def _spikes_of(name, net, f, spikes_now, n):
    """The spikes (0/1, one per neuron) of population or source ``name`` in step ``n``."""
    lo = f["pop_off"][name]
    size = net.node(name).size
    return spikes_now[lo:lo + size] if lo < f["n_neu"] else f["counts"][lo - f["n_neu"]: lo - f["n_neu"] + size, n]


def run_fixed(net: LoihiNetwork, record_spikes=None, record_v=None) -> tuple[Results, dict]:
    """Run quantised ``net`` for its ``n_steps`` steps in fixed point. ``record_spikes`` and
    ``record_v`` name the populations to record (default: all). Returns (``Results`` with
    spike times ``step * dt`` and traces of ``v`` and ``u`` in volts above rest, i.e.
    integers / ``scale``; ``ints``: population -> {"v", "u": int64 arrays (n_steps, size),
    "spikes": bool (n_steps, size)}, and "quiet": bool (n_steps,), True after the steps that
    leave every ``u`` and ``v`` at 0 and no input in flight: from there the network is as
    if new). Raises ``ValueError`` for an unquantised network."""
    if not net.quantized:
        raise ValueError("run_fixed needs a quantised LoihiNetwork (hardware.loihi.quantize)")
    f = _flatten(net)
    n_neu = f["n_neu"]
    rec_s, rec_v = net.recorded(record_spikes, record_v)

    def columns(which):
        col = np.full(n_neu, -1, np.int64)
        c = 0
        for p in net.populations:
            if p.name in which:
                col[f["pop_off"][p.name]: f["pop_off"][p.name] + p.size] = np.arange(c, c + p.size)
                c += p.size
        return col, c
    spk_col, n_spk = columns(rec_s)
    v_col, n_v = columns(rec_v)
    du = np.concatenate([np.full(p.size, p.du_int + 1, np.int64) for p in net.populations]) if n_neu else np.zeros(0, np.int64)
    dv = np.concatenate([np.full(p.size, p.dv_int, np.int64) for p in net.populations]) if n_neu else np.zeros(0, np.int64)
    bias = np.concatenate([p.bias_mant.astype(np.int64) << p.bias_exp.astype(np.int64) for p in net.populations]) \
        if n_neu else np.zeros(0, np.int64)
    vth = np.concatenate([np.full(p.size, p.vth_mant << ACT_SHIFT, np.int64) for p in net.populations]) \
        if n_neu else np.zeros(0, np.int64)
    u = np.zeros(n_neu, np.int64)
    v = np.concatenate([p.v0_int for p in net.populations]).astype(np.int64) if n_neu else np.zeros(0, np.int64)
    T = net.n_steps
    spk_out = np.zeros((T, n_spk), np.bool_)
    v_out = np.zeros((T, n_v), np.int64)
    u_out = np.zeros((T, n_v), np.int64)
    scratch = np.zeros(f["scratch_len"], np.int64)
    touched = np.zeros(2 * f["scratch_len"] + 1, np.int64)
    ring = np.zeros((f["ring_len"], n_neu), np.int64)
    quiet = np.zeros(T, np.bool_)
    spikes_now = np.zeros(n_neu, np.int64)
    args = (f["counts"], f["n_src"], du, dv, bias, vth, u, v, f["indptr"], f["post"], f["w"], f["delay"], f["proj"], f["proj_exp"],
            f["proj_base"], f["proj_npost"], f["proj_post0"], scratch, touched, ring, spk_col, spk_out, v_col, v_out, u_out, quiet,
            spikes_now)
    learning = [(k, pr) for k, pr in enumerate(net.projections) if pr.learning is not None]
    t0 = time.perf_counter()
    if not learning:
        events = _run(0, T, *args)
    else:  # step by step: the learning engine (hardware.loihi.learning) updates the weights after each step
        states = {k: LearningState(pr.learning, pr.weights_int.toarray()) for k, pr in learning}
        events = 0
        for n in range(T):
            events += _run(n, 1, *args)
            for k, pr in learning:
                st = states[k]
                st.step(_spikes_of(pr.pre, net, f, spikes_now, n), _spikes_of(pr.post, net, f, spikes_now, n))
                w = pr.weights_int
                rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
                f["w"][f["positions"][k]] = st.weights[rows, w.indices]
    weights = {pr.name: states[k].weights.copy() for k, pr in learning} if learning else {}
    wall = time.perf_counter() - t0
    spikes, traces, ints = {}, {}, {}
    cs = cv = 0
    for p in net.populations:
        rec = {}
        if p.name in rec_s:
            m = spk_out[:, cs: cs + p.size]
            cs += p.size
            st, ids = np.nonzero(m)
            spikes[p.name] = SpikeTrains(p.name, st * net.dt, ids, p.size, T * net.dt)
            rec["spikes"] = m
        if p.name in rec_v:
            rec["v"], rec["u"] = v_out[:, cv: cv + p.size], u_out[:, cv: cv + p.size]
            cv += p.size
            traces[p.name] = Traces(p.name, (np.arange(T) + 1) * net.dt, np.arange(p.size),
                                    {"v": rec["v"] / p.scale, "u": rec["u"] / p.scale})
        ints[p.name] = rec
    ints["quiet"] = quiet
    ints["weights"] = weights
    return Results(spikes, traces, 0.0, T * net.dt, net.dt, wall, 0.0, int(events)), ints
