"""Fitting the whole-worm model to the Randi et al. (2023) atlas, validated on held-out
stimulated neurons.

Parameters (10, interpretable): a conductance gain and a reversal potential for each
presynaptic transmitter class (``celegans.TRANSMITTER_CLASSES``: acetylcholine, glutamate,
GABA, other), the gap-junction conductance and the sigmoid slope ``beta``. Each is bounded
(gains and scales 0.05-20x Kunert's, reversal potentials -60..+10 mV, beta 0.25-4x).

Objective. The atlas response of neuron i to stimulating j is compared with the model's
*linear steady-state response* at the resting equilibrium: with ``s`` at its equilibrium
slope ``kappa = a_r (beta/4)(1 - s_eq) / (a_r/2 + a_d)``, a sustained current ``dI`` moves
the voltages by ``dV = A^-1 dI``, ``A = diag(G_c + g_in) + L_gap + M diag(kappa)`` with
``M_ij = g_ji (V_i - E_j)`` (the Jacobian of Kunert et al.'s eqs. 2.1-2.5 at rest). One
302 x 302 solve gives every column; with Kunert's parameters its Spearman rho against the
atlas (+0.166 on Cook 2019) equals the full simulation's. The loss is minus the Pearson
correlation between ``sign(r) log(1 + |r| / 0.1 mV)`` and the ranks of dF/F over the
training pairs (a differentiable stand-in for Spearman's rho), minimised with Adam through
torch's autograd.

Validation. Stimulated neurons are split (seeded) into folds; a fold's pairs never enter its
fit (tested). Held-out metrics come from the *nonlinear simulation*
(``signal_propagation.model_responses``) of the fitted model, next to the raw connectome
and Kunert's parameters on the same pairs.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

import connectomes

from .celegans import KUNERT2014, TRANSMITTER_CLASSES, transmitter_classes
from .signal_propagation import _metrics, atlas_pairs, atlas_stimulated, model_responses

__all__ = ["BOUNDS", "split_stimulated", "linear_responses", "fit_worm", "heldout_metrics", "params_from_theta", "cross_validate",
           "save_params", "stimulated_neurons"]

BOUNDS = {"gain": (0.05, 20.0), "e_rev": (-60e-3, 10e-3), "beta": (0.25, 4.0), "g_gap": (0.05, 20.0)}
"""Ranges of the fitted parameters (gains and the beta and g_gap scales relative to Kunert)."""

RESPONSE_SCALE = 1e-4  # V: responses are compared on a log scale above 0.1 mV


def split_stimulated(stimulated, seed: int, folds: int) -> list:
    """The stimulated neurons (indices) in ``folds`` disjoint groups, shuffled by ``seed``."""
    stim = np.unique(np.asarray(stimulated, dtype=np.int64))
    if not 2 <= folds <= stim.size:
        raise ValueError(f"folds = {folds!r} is invalid: need 2 <= folds <= {stim.size} stimulated neurons")
    rng = np.random.default_rng(seed)
    return [np.sort(f) for f in np.array_split(rng.permutation(stim), folds)]


def _bounded(x, lo: float, hi: float, log: bool = True):
    if log:
        return lo * torch.exp(math.log(hi / lo) * torch.sigmoid(x))
    return lo + (hi - lo) * torch.sigmoid(x)


def _inverse(value: float, lo: float, hi: float, log: bool = True) -> float:
    f = (math.log(value / lo) / math.log(hi / lo)) if log else (value - lo) / (hi - lo)
    f = min(max(f, 1e-6), 1 - 1e-6)
    return math.log(f / (1 - f))


def initial_theta() -> dict:
    """Unconstrained parameters at Kunert et al.'s model (gains 1, GABA at E_inh)."""
    e0 = [KUNERT2014["e_exc"], KUNERT2014["e_exc"], KUNERT2014["e_inh"], KUNERT2014["e_exc"]]
    f64 = torch.float64
    return {"gain": torch.full((4,), _inverse(1.0, *BOUNDS["gain"]), dtype=f64),
            "e_rev": torch.tensor([_inverse(e, *BOUNDS["e_rev"], log=False) for e in e0], dtype=f64),
            "beta": torch.tensor([_inverse(1.0, *BOUNDS["beta"])], dtype=f64),
            "g_gap": torch.tensor([_inverse(1.0, *BOUNDS["g_gap"])], dtype=f64)}


def _physical(theta: dict) -> dict:
    return {"gain": _bounded(theta["gain"], *BOUNDS["gain"]), "e_rev": _bounded(theta["e_rev"], *BOUNDS["e_rev"], log=False),
            "beta": KUNERT2014["beta"] * _bounded(theta["beta"], *BOUNDS["beta"])[0],
            "g_gap": KUNERT2014["g_gap"] * _bounded(theta["g_gap"], *BOUNDS["g_gap"])[0]}


def params_from_theta(theta: dict, info: dict | None = None) -> dict:
    """The JSON parameter set (``celegans.load_worm_params``) of unconstrained ``theta``."""
    with torch.no_grad():
        ph = _physical(theta)
    return {"kunert": {"beta": float(ph["beta"]), "g_gap": float(ph["g_gap"])},
            "gain": {c: float(v) for c, v in zip(TRANSMITTER_CLASSES, ph["gain"])},
            "e_rev": {c: float(v) for c, v in zip(TRANSMITTER_CLASSES, ph["e_rev"])},
            "fit": info or {}}


class _Worm:
    """The connectome's tensors for ``linear_responses``."""

    def __init__(self, con: connectomes.Connectome):
        self.chem = torch.tensor(con.chemical, dtype=torch.float64)
        gap = torch.tensor(con.gap, dtype=torch.float64)
        self.gap = gap.fill_diagonal_(0.0)
        self.onehot = torch.nn.functional.one_hot(torch.from_numpy(transmitter_classes(con)), 4).to(torch.float64)


def linear_responses(worm: _Worm, theta: dict, depolarization: float = 10e-3) -> torch.Tensor:
    """(302, 302) [responding, stimulated] linear steady-state response (V) to a sustained
    drive of ``depolarization`` times each neuron's resting input conductance (module
    docstring); differentiable in ``theta``."""
    p, ph = KUNERT2014, _physical(theta)
    g = worm.chem * (p["g_syn"] * (worm.onehot @ ph["gain"]))[:, None]  # [pre, post]
    e_pre = worm.onehot @ ph["e_rev"]
    gap = worm.gap * ph["g_gap"]
    s_eq = p["a_r"] / (p["a_r"] + 2 * p["a_d"])
    g_in = g.sum(0) * s_eq
    a0 = torch.diag(p["g_leak"] + g_in) + torch.diag(gap.sum(1)) - gap
    v = torch.linalg.solve(a0, p["g_leak"] * p["e_leak"] + (g * s_eq * e_pre[:, None]).sum(0))
    kappa = p["a_r"] * (ph["beta"] / 4) * (1 - s_eq) / (p["a_r"] / 2 + p["a_d"])
    a = a0 + g.T * (v[:, None] - e_pre[None, :]) * kappa
    g_input = p["g_leak"] + g_in + gap.sum(1)
    return torch.linalg.solve(a, torch.diag(depolarization * g_input))


def _loss(pred: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
    x = torch.sign(pred) * torch.log1p(pred.abs() / RESPONSE_SCALE)
    x, y = x - x.mean(), ranks - ranks.mean()
    return -(x * y).sum() / (x.norm() * y.norm() + 1e-30)


def fit_worm(con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, train_stimulated, steps: int = 300,
             lr: float = 0.05, q_max: float = 0.05, progress: bool = False) -> dict:
    """Fit the parameters on the atlas pairs whose stimulated neuron is in
    ``train_stimulated`` (and no other pairs); returns the JSON parameter set with the fit's
    settings and training rho under ``"fit"``."""
    from scipy.stats import spearmanr, rankdata
    from tqdm.auto import tqdm

    r, s = atlas_pairs(con, atlas, q_max)
    train = np.isin(s, np.asarray(train_stimulated))
    r, s = r[train], s[train]
    if r.size < 10:
        raise ValueError(f"only {r.size} training pairs; give more stimulated neurons")
    ranks = torch.tensor(rankdata(atlas.dff[r, s]), dtype=torch.float64)
    rt, st = torch.from_numpy(r), torch.from_numpy(s)
    worm = _Worm(con)
    theta = {k: v.clone().requires_grad_(True) for k, v in initial_theta().items()}
    opt = torch.optim.Adam(theta.values(), lr=lr)
    bar = tqdm(range(steps), desc="fit", leave=False, disable=not progress)
    for _ in bar:
        loss = _loss(linear_responses(worm, theta)[rt, st], ranks)
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    with torch.no_grad():
        pred = linear_responses(worm, theta)[rt, st].numpy()
    info = {"connectome": con.name, "strain": atlas.strain, "steps": steps, "lr": lr,
            "train_stimulated": [con.neurons[i] for i in np.unique(s)], "train_pairs": int(r.size),
            "train_rho_linear": float(spearmanr(pred, atlas.dff[r, s]).statistic)}
    return params_from_theta(theta, info)


def heldout_metrics(params, con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, test_stimulated, q_max: float = 0.05,
                    dt: float = 1e-3, progress: bool = False) -> dict:
    """Metrics on the atlas pairs whose stimulated neuron is in ``test_stimulated``: the
    fitted model (nonlinear simulation), Kunert et al.'s model and the raw connectome on
    the same pairs, and the fraction of positive dF/F (the always-positive baseline)."""
    r, s = atlas_pairs(con, atlas, q_max)
    test = np.isin(s, np.asarray(test_stimulated))
    r, s = r[test], s[test]
    cols = np.unique(s)
    dff = atlas.dff[r, s]
    fitted = model_responses(con, cols, dt=dt, progress=progress, params=params)[r, s]
    kunert = model_responses(con, cols, dt=dt, progress=progress)[r, s]
    chem, gap = con.chemical[s, r], con.gap[s, r]
    return {"fitted": _metrics(fitted, dff), "kunert": _metrics(kunert, dff),
            "connectome": _metrics(chem + gap, dff, con.sign[s] * chem + gap), "always_positive": float(np.mean(dff > 0)),
            "pairs": int(r.size), "stimulated": int(cols.size)}


def save_params(params: dict, path) -> Path:
    """Write a parameter set as JSON, atomically."""
    from neurosim.atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(params, indent=1))


def stimulated_neurons(con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, q_max: float = 0.05) -> np.ndarray:
    """The stimulated neurons with significant pairs the connectome has (the fit's units)."""
    return atlas_stimulated(con, atlas, q_max)


def cross_validate(connectome="cook2019_herm", strain: str = "wt", folds: int = 5, seed: int = 0, steps: int = 300,
                   out_dir="runs/fit_worm", resume: bool = False, progress: bool = True, shuffle_seed: int | None = None,
                   q_max: float = 0.05) -> dict:
    """k-fold validation by stimulated neuron, then a fit on all of them.

    For each fold: fit on the other folds' stimulated neurons, evaluate on its own
    (``heldout_metrics``); each finished fold is saved to ``out_dir/folds/fold<k>.json``
    (atomically) and skipped by ``resume``. Then fits every stimulated neuron's pairs and
    writes ``out_dir/params.json`` (``celegans.load_worm_params`` reads it) and
    ``out_dir/metrics.json`` (per fold and mean +- sd). ``shuffle_seed``: run it all on a
    degree-preserving shuffle of the connectome (the null). Raises ``ValueError`` for an
    occupied ``out_dir`` without ``resume`` or a ``resume`` with other settings."""
    from tqdm.auto import tqdm

    from neurosim.atomic import atomic_write_json

    from .signal_propagation import shuffled_connectome

    out = Path(out_dir)
    settings = {"connectome": connectome, "strain": strain, "folds": folds, "seed": seed, "steps": steps,
                "shuffle_seed": shuffle_seed, "q_max": q_max}
    saved = out / "settings.json"
    if saved.exists():
        if not resume:
            raise ValueError(f"{out} already holds a fit; continue it with --resume or choose another --out")
        if json.loads(saved.read_text()) != settings:
            raise ValueError(f"--resume: {saved} was written with other settings ({json.loads(saved.read_text())})")
    atomic_write_json(saved, settings)
    con = connectomes.load(connectome)
    if shuffle_seed is not None:
        con = shuffled_connectome(con, shuffle_seed)
    atlas = connectomes.functional_atlas(strain)
    groups = split_stimulated(stimulated_neurons(con, atlas, q_max), seed, folds)
    results = []
    for k in tqdm(range(folds), desc="folds", disable=not progress):
        path = out / "folds" / f"fold{k}.json"
        if resume and path.exists():
            results.append(json.loads(path.read_text()))
            continue
        train = np.concatenate([g for j, g in enumerate(groups) if j != k])
        params = fit_worm(con, atlas, train, steps=steps, q_max=q_max)
        m = heldout_metrics(params, con, atlas, groups[k], q_max)
        rec = {"fold": k, "held_out": [con.neurons[i] for i in groups[k]], "metrics": m, "params": params}
        atomic_write_json(path, rec)
        results.append(rec)
    summary = {}
    for name in ("fitted", "kunert", "connectome"):
        for key in ("spearman", "sign_agreement"):
            v = np.array([r["metrics"][name][key] for r in results])
            summary[f"{name}_{key}"] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0}
    v = np.array([r["metrics"]["always_positive"] for r in results])
    summary["always_positive"] = {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0}
    final = fit_worm(con, atlas, np.concatenate(groups), steps=steps, q_max=q_max)
    final["fit"]["cross_validation"] = summary
    save_params(final, out / "params.json")
    atomic_write_json(out / "metrics.json", {"settings": settings, "folds": [r["metrics"] for r in results], "summary": summary})
    return summary
