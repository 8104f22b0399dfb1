"""Spontaneous activity of the whole-worm model against whole-brain recordings.

The model's spontaneous activity is its response to independent white-noise currents into
every neuron, around the resting equilibrium: for the linearisation of Kunert et al.'s
equations (2014, eqs. 2.1-2.5; state x = [V (302), s (302)], Jacobian ``jacobian``) the
stationary covariance solves the Lyapunov equation J S + S J^T + Q = 0 (Gardiner,
*Stochastic Methods*, sec. 4.5.6), Q = diag(sigma^2 / C^2) on the voltages. The measured
signal is GCaMP fluorescence, a low-pass filtered voltage: the state is extended by an
indicator trace c with dc/dt = (V - c) / tau_indicator (default 1 s, an assumption of the
order of GCaMP7f's decay in the worm). Correlations do not depend on the noise amplitude.

The Flavell-lab recordings in ``../shared/data/celegans_activity`` (Dag et al. 2023) carry
NeuroPAL identities for about 100 traces each (``neuropal_labels.csv``): the class-by-class
comparison is ``class_pairs``. ``correlation_summary`` gives label-free statistics of a
correlation matrix, which every trace enters: the fraction of variance in the first
and first three principal components, the participation ratio (sum lambda)^2 / sum lambda^2
divided by the number of neurons, and the mean ``|r|`` over pairs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import connectomes

from .model import _chemical, _gap, equilibrium, load_worm_params, worm_parameters

__all__ = ["jacobian", "spontaneous_correlation", "correlation_summary", "recording_summaries", "activity_check",
           "model_correlations"]


def jacobian(con: connectomes.Connectome, params=None) -> np.ndarray:
    """(604, 604) Jacobian of the worm model (``build_worm(con, params=params)``) at rest,
    state order [V (302, V), s (302)], in 1/s (ds/dV in 1/(V s), dV/ds in V/s)."""
    fit = load_worm_params(params)
    p = worm_parameters(**(fit["kunert"] if fit else {}))
    n = len(con.neurons)
    v = equilibrium(con, p, fit)
    s_eq = p["a_r"] / (p["a_r"] + 2 * p["a_d"])
    gap = _gap(con, p)
    a0 = np.diag(gap.sum(1)) - gap + np.diag(np.full(n, p["g_leak"]))
    dv_ds = np.zeros((n, n))
    for _, g, e_rev in _chemical(con, p, fit):  # g: [pre, post]
        a0 += np.diag(g.sum(0) * s_eq)
        dv_ds += g.T * (e_rev - v[:, None])  # d(current into post i)/d(s_j) = g_ji (E - V_i)
    j = np.zeros((2 * n, 2 * n))
    j[:n, :n] = -a0 / p["c_mem"]
    j[:n, n:] = dv_ds / p["c_mem"]
    j[n:, :n] = np.eye(n) * p["a_r"] * (p["beta"] / 4) * (1 - s_eq)  # the sigmoid's slope at V_half = V_rest
    j[n:, n:] = -np.eye(n) * (p["a_r"] / 2 + p["a_d"])
    return j


def spontaneous_correlation(con: connectomes.Connectome, params=None, tau_indicator: float = 1.0) -> np.ndarray:
    """(302, 302) correlation matrix of the indicator traces (module docstring) under
    independent white-noise currents; ``tau_indicator`` in s (0: the voltages themselves).
    Neurons the connectome lacks are isolated (correlation 0 with the rest)."""
    from scipy.linalg import solve_continuous_lyapunov

    if not (np.isfinite(tau_indicator) and tau_indicator >= 0):
        raise ValueError(f"tau_indicator = {tau_indicator!r} s is invalid: must be finite and >= 0")
    j = jacobian(con, params)
    n = len(con.neurons)
    if tau_indicator > 0:
        full = np.zeros((3 * n, 3 * n))
        full[:2 * n, :2 * n] = j
        full[2 * n:, :n] = np.eye(n) / tau_indicator
        full[2 * n:, 2 * n:] = -np.eye(n) / tau_indicator
        j, observed = full, slice(2 * n, 3 * n)
    else:
        observed = slice(0, n)
    q = np.zeros_like(j)
    q[:n, :n] = np.eye(n)  # noise current density sigma^2 / C^2 = 1: correlations do not depend on it
    cov = solve_continuous_lyapunov(j, -q)[observed, observed]
    sd = np.sqrt(np.diag(cov))
    return cov / np.outer(sd, sd)


def correlation_summary(corr: np.ndarray) -> dict:
    """Label-free statistics of an (N, N) correlation matrix (module docstring)."""
    corr = np.asarray(corr, float)
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1] or corr.shape[0] < 3 or not np.all(np.isfinite(corr)):
        raise ValueError(f"expected a finite square correlation matrix with N >= 3, got shape {corr.shape}")
    ev = np.clip(np.linalg.eigvalsh(corr)[::-1], 0, None)
    n = corr.shape[0]
    iu = np.triu_indices(n, 1)
    return {"neurons": n, "pc1": float(ev[0] / ev.sum()), "top3": float(ev[:3].sum() / ev.sum()),
            "participation_ratio_per_neuron": float(ev.sum() ** 2 / (ev ** 2).sum() / n),
            "mean_abs_r": float(np.abs(corr[iu]).mean())}


def recording_summaries(folder) -> list[dict]:
    """``correlation_summary`` of each Flavell-lab recording (``*.h5``) in ``folder``
    (Pearson correlation of the traces over the whole recording). Raises
    ``FileNotFoundError`` when the folder holds none."""
    from connectomes.activity import read_flavell

    paths = sorted(Path(folder).glob("*.h5"))
    if not paths:
        raise FileNotFoundError(f"no Flavell recordings (*.h5) in {folder}")
    out = []
    for path in paths:
        rec = read_flavell(path)
        x = rec.traces[:, np.std(rec.traces, 0) > 0]
        out.append({"recording": rec.worm, "frames": int(x.shape[0]), **correlation_summary(np.corrcoef(x.T))})
    return out


def _subset_summary(corr: np.ndarray, present: np.ndarray, size: int, draws: int, seed: int) -> dict:
    """Mean ``correlation_summary`` over ``draws`` random sets of ``size`` neurons the
    connectome has (the recordings see ~140 neurons, mostly in the head; their identities
    are unknown, so the model is sampled at random at the same size)."""
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(present)
    rows = [correlation_summary(corr[np.ix_(k, k)]) for k in (rng.choice(pool, min(size, pool.size), replace=False)
                                                              for _ in range(draws))]
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]}


def model_correlations(con: connectomes.Connectome, params=("kunert", "fitted"), tau_indicator: float = 1.0,
                       shuffle_seed: int | None = 0) -> dict:
    """``spontaneous_correlation`` (302, 302) for each parameter set in ``params`` (named by
    it), and for each on a degree-preserving shuffle of the connectome (``"<name>
    (shuffled)"``) when ``shuffle_seed`` is not None."""
    from .atlas import shuffled_connectome

    variants = [(str(name), con, name) for name in params]
    if shuffle_seed is not None:
        shuffled = shuffled_connectome(con, shuffle_seed)
        variants += [(f"{name} (shuffled)", shuffled, name) for name in params]
    return {label: spontaneous_correlation(c, name, tau_indicator) for label, c, name in variants}


def activity_check(folder, connectome="cook2019_herm", params=("kunert", "fitted"), tau_indicator: float = 1.0,
                   shuffle_seed: int | None = 0, draws: int = 20, seed: int = 0, correlations: dict | None = None) -> dict:
    """The recordings' summaries beside the model's for each parameter set in ``params``
    (and each on a degree-preserving shuffle of the connectome when ``shuffle_seed`` is not
    None): the model's over ``draws`` random sets of neurons as many as a recording has
    (``_subset_summary``). ``correlations``: ``model_correlations`` computed already."""
    recordings = recording_summaries(folder)
    size = int(round(np.mean([r["neurons"] for r in recordings])))
    con = connectomes.load(connectome) if isinstance(connectome, str) else connectome
    if correlations is None:
        correlations = model_correlations(con, params, tau_indicator, shuffle_seed)
    models = {label: _subset_summary(corr, con.present, size, draws, seed) for label, corr in correlations.items()}
    return {"recordings": recordings, "models": models,
            "settings": {"connectome": con.name, "tau_indicator": tau_indicator, "shuffle_seed": shuffle_seed,
                         "neurons_per_draw": size, "draws": draws, "seed": seed}}
