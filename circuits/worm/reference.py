"""The Kunert et al. (2014) whole-worm equations written out directly for scipy's ODE
solvers: the independent reference that the Numba engine is validated and benchmarked
against (it shares no code with ``neurosim.engine``)."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.integrate import solve_ivp

import connectomes

from .model import equilibrium

__all__ = ["kunert_ode", "solve_reference"]


def kunert_ode(con: connectomes.Connectome, p: dict, stim_idx, stim_amp):
    """Right-hand side ``rhs(t, y, on)`` for y = [V (302), s (302)], the initial state (the
    equilibrium), and the Jacobian sparsity pattern. ``on`` switches the stimulus current
    ``stim_amp`` (A) into neurons ``stim_idx``."""
    n = len(con.neurons)
    gap = con.gap * p["g_gap"]
    np.fill_diagonal(gap, 0)
    w = con.chemical * p["g_syn"]  # [pre, post]
    e_syn = np.where(con.sign > 0, p["e_exc"], p["e_inh"])
    v_th = equilibrium(con, p)
    gap_s = sparse.csr_matrix(gap)
    g_gap_sum = gap.sum(1)
    w_post = sparse.csr_matrix(w.T)  # [post, pre]
    we_post = sparse.csr_matrix((w * e_syn[:, None]).T)
    i_on = np.zeros(n)
    i_on[np.asarray(stim_idx)] = stim_amp

    def rhs(t, y, on):
        v, s = y[:n], y[n:]
        i_syn = (w_post @ s) * v - we_post @ s
        i_gap = g_gap_sum * v - gap_s @ v
        dv = (-p["g_leak"] * (v - p["e_leak"]) - i_gap - i_syn + (i_on if on else 0.0)) / p["c_mem"]
        phi = 1 / (1 + np.exp(-p["beta"] * (v - v_th)))
        return np.concatenate([dv, p["a_r"] * phi * (1 - s) - p["a_d"] * s])

    y0 = np.concatenate([v_th, np.full(n, p["a_r"] / (p["a_r"] + 2 * p["a_d"]))])
    eye = sparse.identity(n)
    pattern = sparse.bmat([[eye + (gap_s != 0) , (w_post != 0)], [eye, eye]])
    return rhs, y0, pattern


def solve_reference(con, p, stim_idx, stim_amp, t_on, t_off, duration, t_eval, rtol=1e-8, atol=1e-12, method="BDF"):
    """Integrate in pieces between the stimulus discontinuities; V at ``t_eval`` (T, 302)
    and the number of right-hand-side evaluations."""
    rhs, y, pattern = kunert_ode(con, p, stim_idx, stim_amp)
    n = len(con.neurons)
    out, nfev = [], 0
    for (a, b), on in (((0.0, t_on), False), ((t_on, t_off), True), ((t_off, duration), False)):
        sel = (t_eval >= a) & (t_eval < b)
        te = t_eval[sel]
        sol = solve_ivp(rhs, (a, b), y, method=method, t_eval=np.append(te, b), rtol=rtol, atol=atol, args=(on,),
                        jac_sparsity=pattern if method in ("BDF", "Radau") else None)
        if not sol.success:
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        nfev += sol.nfev
        out.append(sol.y[:n, :-1].T)
        y = sol.y[:, -1]
    return np.vstack(out), nfev
