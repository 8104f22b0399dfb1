"""Stiff solver for networks of graded neurons (``neurosim.GradedNeuron`` only).

Connectome-scale graded networks are stiff: in the whole worm with Kunert et al.'s
parameters, gap-junction conductances reach 1e5 times C per second (time constants of
microseconds) while the dynamics of interest take tenths of seconds. Explicit coupling
then leaves the fast antisymmetric modes of strongly coupled pairs undamped. This solver
treats the voltage implicitly with BDF2 (second order, stiffly decaying):

    C (3 V' - 4 V + V_prev) / (2 dt) = -g_leak (V' - e_leak) - L_gap V'
                                       - sum_j w_ij s~_j (V' - E_j) + I_ext

(backward Euler for the first step), where ``s~`` is the activation at the end of the step
predicted by an exponential step. The linear system ``K V' = b`` with
``K = 3C/(2dt) + g_leak + L_gap + diag(sum_j w_ij s~_j)`` is symmetric positive definite; it
is solved by conjugate gradients with a Jacobi preconditioner, warm-started from the linear
extrapolation ``2 V - V_prev``. The activations then take an exponential-trapezoid step with
phi averaged between the old and the new voltage. Both parts are second order.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import graded_synaptic_input

_NJIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_NJIT)
def predict_activation(c, v, s, h, phi0, s_pred):
    """Activation drive ``phi0 = a_r phi(V)`` at the start of a step and the activation
    after an exponential step of ``h`` s with it frozen (the predictor). ``c`` holds one
    coefficient row per neuron: dt, inv_c, g_leak, e_leak, a_r, a_d, beta, v_half."""
    for i in range(v.shape[0]):
        phi0[i] = c[i, 4] / (1.0 + np.exp(-c[i, 6] * (v[i] - c[i, 7])))
        kk = phi0[i] + c[i, 5]
        s_inf = phi0[i] / kk
        s_pred[i] = s_inf + (s[i] - s_inf) * np.exp(-kk * h)


@njit(**_NJIT)
def _apply_k(d, gap_i, gap_j, gap_g, x, out):
    """out = K x with K = diag(d) - G_gap (off-diagonal gap conductances)."""
    for n in range(x.shape[0]):
        out[n] = d[n] * x[n]
    for q in range(gap_i.shape[0]):
        a = gap_i[q]
        b = gap_j[q]
        out[a] -= gap_g[q] * x[b]
        out[b] -= gap_g[q] * x[a]


@njit(**_NJIT)
def pcg(d, gap_i, gap_j, gap_g, rhs, x, r, z, p, q, tol_v, max_iter):
    """Solve K x = rhs (K SPD: diag(d) minus symmetric gap couplings) in place, Jacobi
    preconditioned. Stops when every ``|residual_i|`` / d_i < tol_v (volts). Returns the number
    of iterations, or -1 if ``max_iter`` was reached."""
    n = x.shape[0]
    _apply_k(d, gap_i, gap_j, gap_g, x, q)
    worst = 0.0
    for i in range(n):
        r[i] = rhs[i] - q[i]
        z[i] = r[i] / d[i]
        p[i] = z[i]
        worst = max(worst, abs(z[i]))
    if worst < tol_v:
        return 0
    rz = 0.0
    for i in range(n):
        rz += r[i] * z[i]
    for it in range(1, max_iter + 1):
        _apply_k(d, gap_i, gap_j, gap_g, p, q)
        pq = 0.0
        for i in range(n):
            pq += p[i] * q[i]
        alpha = rz / pq
        worst = 0.0
        rz_new = 0.0
        for i in range(n):
            x[i] += alpha * p[i]
            r[i] -= alpha * q[i]
            z[i] = r[i] / d[i]
            rz_new += r[i] * z[i]
            worst = max(worst, abs(z[i]))
        if worst < tol_v:
            return it
        beta = rz_new / rz
        rz = rz_new
        for i in range(n):
            p[i] = z[i] + beta * p[i]
    return -1


@njit(**_NJIT)
def assemble_bdf(c, v, v_prev, h, w, bdf2, g_gap_sum, g_in, ge_in, iext, d, rhs, x):
    """The implicit voltage step as ``K x = rhs`` (K = diag(d) - gap couplings) and its
    warm start. Variable-step BDF2 with step ratio ``w`` = h / h_prev (w = 1: the constant-
    step formula ``C (3 V' - 4 V + V_prev) / (2 h)``), or backward Euler when ``bdf2`` is
    False: ``C (a0 V' - a1 V + a2 V_prev) / h = f(V')``."""
    if bdf2:
        a0 = (1.0 + 2.0 * w) / (1.0 + w)
        a1 = 1.0 + w
        a2 = w * w / (1.0 + w)
    else:
        a0, a1, a2, w = 1.0, 1.0, 0.0, 0.0
    for i in range(v.shape[0]):
        cap = 1.0 / c[i, 1]
        d[i] = a0 * cap / h + c[i, 2] + g_gap_sum[i] + g_in[i]
        rhs[i] = cap * (a1 * v[i] - a2 * v_prev[i]) / h + c[i, 2] * c[i, 3] + ge_in[i] + iext[i]
        x[i] = v[i] + w * (v[i] - v_prev[i])  # linear extrapolation (the predictor)


@njit(**_NJIT)
def correct_activation(c, x, s, phi0, h, s_out):
    """Activation step of ``h`` s, exponential trapezoid: the drive a_r phi averaged
    between the start (``phi0``) and the new voltage ``x``."""
    for i in range(x.shape[0]):
        phi1 = c[i, 4] / (1.0 + np.exp(-c[i, 6] * (x[i] - c[i, 7])))
        ra = 0.5 * (phi0[i] + phi1)
        kk = ra + c[i, 5]
        s_inf = ra / kk
        s_out[i] = s_inf + (s[i] - s_inf) * np.exp(-kk * h)


@njit(**_NJIT)
def run_graded_bdf2(
    step0, n_steps, c, v, s, v_prev, started,
    has_ext, bias, tab, tab_idx, tab_step, restart, iext,
    gap_i, gap_j, gap_g, g_gap_sum,
    gs_indptr, gs_pre, gs_w, gs_erev,
    mon_step0, mon_var, mon_idx, mon_every, mon_buf, mon_count,
    tol_v, max_iter, scratch, stats,
):
    """Advance ``n_steps``; ``c`` holds one coefficient row per neuron (dt, inv_c, g_leak,
    e_leak, a_r, a_d, beta, v_half). ``started[0]`` is 0 before the first step; steps
    with ``restart[k]`` set (and the first) are backward-Euler steps. ``stats`` accumulates [steps, CG iterations, worst iterations]. Returns
    the steps done, or -(k+1) if the linear solve failed in step k."""
    n = v.shape[0]
    s_new, d, rhs, x, r, z, p, q, g_in, ge_in, phi0 = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4],
                                                      scratch[5], scratch[6], scratch[7], scratch[8], scratch[9], scratch[10])
    dt = c[0, 0] if n else 1.0  # every graded neuron has the same step
    g_in[:] = 0.0
    ge_in[:] = 0.0
    seg = 0
    n_seg = tab.shape[0]
    for k in range(n_steps):
        nstep = step0 + k
        for m in range(mon_var.shape[0]):
            if (nstep - mon_step0) % mon_every[m] == 0:
                j = mon_idx[m]
                mon_buf[m, mon_count[m]] = v[j] if mon_var[m] == 0 else s[j]
                mon_count[m] += 1
        if has_ext:
            for i in range(n):
                iext[i] = bias[i]
            if tab.shape[1] > 0:
                while seg + 1 < n_seg and tab_step[seg + 1] <= k:
                    seg += 1
            for col in range(tab.shape[1]):
                iext[tab_idx[col]] += tab[seg, col]
        # predicted activations at the end of the step, and the synaptic conductance they give
        predict_activation(c, v, s, dt, phi0, s_new)
        graded_synaptic_input(s_new, gs_indptr, gs_pre, gs_w, gs_erev, g_in, ge_in)
        # BDF2 needs a smooth past: start, and restart where an input current jumps, with
        # a backward-Euler step (otherwise the kink costs an O(dt) error)
        assemble_bdf(c, v, v_prev, dt, 1.0, started[0] != 0 and restart[k] == 0, g_gap_sum, g_in, ge_in, iext, d, rhs, x)
        its = pcg(d, gap_i, gap_j, gap_g, rhs, x, r, z, p, q, tol_v, max_iter)
        if its < 0:
            return -(k + 1)
        stats[0] += 1
        stats[1] += its
        stats[2] = max(stats[2], its)
        correct_activation(c, x, s, phi0, dt, s)
        for i in range(n):
            v_prev[i] = v[i]
            v[i] = x[i]
        started[0] = 1
    return n_steps


@njit(**_NJIT)
def _record(mon_t0, mon_var, mon_idx, mon_dt, mon_k, mon_buf, mon_count, t_a, t_b, t_c, va, vb, vc, sa, sb, sc, quad, t_stop):
    """Record every monitor sample with time in (t_b, t_c] (and < t_stop) by quadratic
    interpolation through (t_a, t_b, t_c) (linear through t_b, t_c when ``quad`` is False).
    Consecutive columns on the same sample grid form a group whose interpolation weights
    are computed once per sample time."""
    n_cols = mon_var.shape[0]
    m = 0
    while m < n_cols:
        end = m + 1
        while end < n_cols and mon_dt[end] == mon_dt[m] and mon_k[end] == mon_k[m]:
            end += 1
        while True:
            ts = mon_t0 + mon_k[m] * mon_dt[m]
            if ts > t_c + 1e-12 or ts >= t_stop - 1e-12:
                break
            if quad:
                la = (ts - t_b) * (ts - t_c) / ((t_a - t_b) * (t_a - t_c))
                lb = (ts - t_a) * (ts - t_c) / ((t_b - t_a) * (t_b - t_c))
                lc = (ts - t_a) * (ts - t_b) / ((t_c - t_a) * (t_c - t_b))
            else:
                lc = (ts - t_b) / (t_c - t_b) if t_c > t_b else 1.0
                la = 0.0
                lb = 1.0 - lc
            for col in range(m, end):
                j = mon_idx[col]
                if mon_var[col] == 0:
                    val = la * va[j] + lb * vb[j] + lc * vc[j]
                else:
                    val = la * sa[j] + lb * sb[j] + lc * sc[j]
                mon_buf[col, mon_count[col]] = val
                mon_count[col] += 1
                mon_k[col] += 1
        m = end


@njit(**_NJIT)
def run_graded_adaptive(
    clock, t_stop, c, v, s, v_prev, s_prev,
    seg_t, seg_tab, seg_idx, iext,
    gap_i, gap_j, gap_g, g_gap_sum,
    gs_indptr, gs_pre, gs_w, gs_erev,
    mon_t0, mon_var, mon_idx, mon_dt, mon_k, mon_buf, mon_count,
    atol_v, atol_s, h_max, h_min, max_iter, scratch, stats, tol_cg,
):
    """Variable-step BDF2 from ``clock[0]`` (s) to ``t_stop``.

    ``clock`` = [t, h (next step), h_prev, started, segment]: the integrator's state, kept
    between calls. Inputs are piecewise constant on the segments ``seg_t`` (breakpoints,
    s): steps land on every breakpoint and restart there with backward Euler. With step
    ratio w = h / h_prev the BDF2 step solves
    ``C ((1+2w)/(1+w) V' - (1+w) V + w^2/(1+w) V_prev) / h = f(V')``.
    The error estimate is the change from the linear-extrapolation predictor (a
    conservative, second-difference measure; controller exponent 1/2): the step is accepted
    when it is below ``atol_v`` (V) and the activation's predictor-corrector difference is
    below ``atol_s``. The linear solves stop at ``tol_cg`` (V), well below ``atol_v``.
    Returns the number of accepted steps, or -1 if a step fell below
    ``h_min`` or the linear solve failed."""
    n = v.shape[0]
    s_pred, d, rhs, x, r, z, p, q, g_in, ge_in, phi0 = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4],
                                                       scratch[5], scratch[6], scratch[7], scratch[8], scratch[9], scratch[10])
    s_new = scratch[11]
    t, h, h_prev = clock[0], clock[1], clock[2]
    started = clock[3] != 0.0
    seg = int(clock[4])
    accepted = 0
    # samples due at the current time (the first one of a run)
    _record(mon_t0, mon_var, mon_idx, mon_dt, mon_k, mon_buf, mon_count, t - 2.0, t - 1.0, t, v, v, v, s, s, s, False, t_stop)
    while t < t_stop - 1e-12:
        while seg + 1 < seg_t.shape[0] - 1 and seg_t[seg + 1] <= t + 1e-12:
            seg += 1
            started = False  # an input jumps here: restart with backward Euler
        for i in range(n):
            iext[i] = 0.0
        for col in range(seg_tab.shape[1]):
            iext[seg_idx[col]] += seg_tab[seg, col]
        t_end_seg = min(seg_t[seg + 1], t_stop)
        h = min(h, h_max)
        if t + h > t_end_seg - 1e-12 or t + 1.05 * h > t_end_seg:
            h = t_end_seg - t  # land on the breakpoint (no sliver step after it)
        bdf2 = started
        w = h / h_prev if bdf2 else 0.0
        if bdf2 and w > 2.0:
            h = 2.0 * h_prev
            w = 2.0
        # predicted activations and the synaptic conductance they give
        predict_activation(c, v, s, h, phi0, s_pred)
        graded_synaptic_input(s_pred, gs_indptr, gs_pre, gs_w, gs_erev, g_in, ge_in)
        assemble_bdf(c, v, v_prev, h, w, bdf2, g_gap_sum, g_in, ge_in, iext, d, rhs, x)
        its = pcg(d, gap_i, gap_j, gap_g, rhs, x, r, z, p, q, tol_cg, max_iter)
        if its < 0:
            return -1
        stats[1] += its
        stats[2] = max(stats[2], its)
        # error estimates: voltage change from the predictor, activation predictor-corrector gap
        err = 0.0
        for i in range(n):
            pred = v[i] + w * (v[i] - v_prev[i]) if bdf2 else v[i]
            err = max(err, abs(x[i] - pred) / atol_v)
        correct_activation(c, x, s, phi0, h, s_new)
        for i in range(n):
            err = max(err, abs(s_new[i] - s_pred[i]) / atol_s)
        if err > 1.0 and h > h_min:
            stats[3] += 1  # rejected
            h = max(h * max(0.2, 0.9 / np.sqrt(err)), h_min)
            continue
        if err > 1.0:
            return -1
        _record(mon_t0, mon_var, mon_idx, mon_dt, mon_k, mon_buf, mon_count, t - h_prev, t, t + h,
                v_prev, v, x, s_prev, s, s_new, bdf2, t_stop)
        for i in range(n):
            v_prev[i] = v[i]
            v[i] = x[i]
            s_prev[i] = s[i]
            s[i] = s_new[i]
        t += h
        h_prev = h
        started = True
        accepted += 1
        stats[0] += 1
        h = h * min(2.0, max(0.2, 0.9 / np.sqrt(max(err, 1e-12))))
    clock[0], clock[1], clock[2], clock[3], clock[4] = t, h, h_prev, 1.0 if started else 0.0, seg
    return accepted
