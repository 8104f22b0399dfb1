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
(``signal_propagation.model_responses``) of the fitted model, next to the raw connectome,
Kunert's parameters and a predictor without wiring (``responder_baseline``: the responding
neuron's mean training dF/F) on the same pairs.

Ablation of candidate model terms: ``circuits.worm.ablation``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

import connectomes
from neurosim.integrity import read_checked_json, write_checked_json
from neurosim.runlock import locks_folder

from .atlas import _metrics, atlas_pairs, atlas_stimulated, model_responses
from .model import KUNERT2014, TRANSMITTER_CLASSES, transmitter_classes

__all__ = ["BOUNDS", "RESPONSE_SCALE", "split_stimulated", "CHANNELS", "initial_theta", "params_from_theta", "EXTRA_BOUND",
           "READOUT_PENALTY", "linear_responses", "fit_worm", "responder_baseline", "heldout_metrics", "save_params",
           "stimulated_neurons", "cross_validate", "LinearWorm", "fit_theta", "training_pairs", "mean_sd",
           "response_operator", "responses_of"]


BOUNDS = {"gain": (0.05, 20.0), "e_rev": (-60e-3, 10e-3), "beta": (0.25, 4.0), "g_gap": (0.05, 20.0)}
"""Ranges of the fitted parameters (gains and the beta and g_gap scales relative to Kunert)."""


#: V: responses are compared on a log scale above 0.1 mV.
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


CHANNELS = TRANSMITTER_CLASSES
"""The fitted model's synaptic channels: one per presynaptic transmitter class."""


class LinearWorm:
    """The connectome's tensors for ``linear_responses``: chemical channels ``w`` (K, pre,
    post) in S at gain 1 with their names and initial reversal potentials, the gap-junction
    counts, and the optional ablation terms (``ablation``): ``receptors`` splits the
    acetylcholine, glutamate and GABA channels by the receiving neuron's excitatory receptor
    share (``connectomes.receptors``; Kunert's sign where CeNGEN has no data);
    ``extrasynaptic`` (a name in ``connectomes.extrasynaptic.EXTRASYNAPTIC``) adds a signed,
    fitted linear coupling along that network; ``readout`` a dF/F gain per neuron class."""

    def __init__(self, con: connectomes.Connectome, receptors: bool = False, extrasynaptic: str | None = None,
                 readout: bool = False):
        p = KUNERT2014
        chem = torch.tensor(con.chemical * p["g_syn"], dtype=torch.float64)
        classes = transmitter_classes(con)
        shares = None
        if receptors:
            from connectomes.receptors import receptor_shares

            shares = receptor_shares()
        self.names, w, e0 = [], [], []
        for k, c in enumerate(TRANSMITTER_CLASSES):
            pre = chem * torch.from_numpy((classes == k).astype(np.float64))[:, None]
            kunert_e = p["e_inh"] if c == "gaba" else p["e_exc"]
            if shares is None or c not in shares:
                self.names.append(c), w.append(pre), e0.append(kunert_e)
                continue
            share = np.where(np.isfinite(shares[c]), shares[c], float(kunert_e == p["e_exc"]))
            share = torch.from_numpy(share)
            self.names += [f"{c}_excitatory", f"{c}_inhibitory"]
            w += [pre * share[None, :], pre * (1 - share)[None, :]]
            e0 += [p["e_exc"], p["e_inh"]]
        self.w, self.e0 = torch.stack(w), e0
        gap = torch.tensor(con.gap, dtype=torch.float64)
        self.gap = gap.fill_diagonal_(0.0)
        self.extra = None
        if extrasynaptic is not None:
            from connectomes.extrasynaptic import extrasynaptic as read

            m = read(extrasynaptic)
            # scaled to the chemical network's total so that g_extra compares with g_syn
            self.extra = torch.tensor(m / max(m.sum(), 1.0) * con.chemical.sum() * p["g_syn"], dtype=torch.float64)
        self.readout = None
        if readout:
            names = [connectomes.neuron_class(n) for n in con.neurons]
            self.readout = torch.from_numpy(np.unique(names, return_inverse=True)[1])


def initial_theta(worm: LinearWorm | None = None) -> dict:
    """Unconstrained parameters at Kunert et al.'s model (gains 1, GABA at E_inh; ablation
    terms at zero)."""
    e0 = worm.e0 if worm is not None else [KUNERT2014["e_inh"] if c == "gaba" else KUNERT2014["e_exc"] for c in CHANNELS]
    f64 = torch.float64
    theta = {"gain": torch.full((len(e0),), _inverse(1.0, *BOUNDS["gain"]), dtype=f64),
             "e_rev": torch.tensor([_inverse(e, *BOUNDS["e_rev"], log=False) for e in e0], dtype=f64),
             "beta": torch.tensor([_inverse(1.0, *BOUNDS["beta"])], dtype=f64),
             "g_gap": torch.tensor([_inverse(1.0, *BOUNDS["g_gap"])], dtype=f64)}
    if worm is not None and worm.extra is not None:
        theta["g_extra"] = torch.zeros(1, dtype=f64)
    if worm is not None and worm.readout is not None:
        theta["readout"] = torch.zeros(int(worm.readout.max()) + 1, dtype=f64)
    return theta


def _physical(theta: dict) -> dict:
    return {"gain": _bounded(theta["gain"], *BOUNDS["gain"]), "e_rev": _bounded(theta["e_rev"], *BOUNDS["e_rev"], log=False),
            "beta": KUNERT2014["beta"] * _bounded(theta["beta"], *BOUNDS["beta"])[0],
            "g_gap": KUNERT2014["g_gap"] * _bounded(theta["g_gap"], *BOUNDS["g_gap"])[0]}


def params_from_theta(theta: dict, info: dict | None = None) -> dict:
    """The JSON parameter set (``celegans.load_worm_params``) of unconstrained ``theta``
    (the plain model's: one channel per ``TRANSMITTER_CLASSES`` entry)."""
    if theta["gain"].numel() != len(CHANNELS) or set(theta) != {"gain", "e_rev", "beta", "g_gap"}:
        raise ValueError("only the plain model (one channel per transmitter class) has a parameter set build_worm reads")
    with torch.no_grad():
        ph = _physical(theta)
    return {"kunert": {"beta": float(ph["beta"]), "g_gap": float(ph["g_gap"])},
            "gain": {c: float(v) for c, v in zip(CHANNELS, ph["gain"])},
            "e_rev": {c: float(v) for c, v in zip(CHANNELS, ph["e_rev"])},
            "fit": info or {}}


EXTRA_BOUND = 0.2
"""``|g_extra|`` <= 0.2 g_syn per extrasynaptic pathway (after scaling to the chemical total)."""


READOUT_PENALTY = 1e-3
"""L2 penalty on the log readout gains (ablation only)."""


def response_operator(worm: LinearWorm, theta: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The linearised model at rest (module docstring): ``A`` (302, 302) in S, a sustained
    current ``dI`` (A, (302,)) moves the voltages by ``dV = A^-1 dI``, and each neuron's
    resting input conductance (S, (302,)); differentiable in ``theta``. With ablation terms:
    ``g_extra`` adds ``g_extra * X[j, i] * dV_j`` to neuron i's current (X: the
    extrasynaptic network)."""
    p, ph = KUNERT2014, _physical(theta)
    w = worm.w * ph["gain"][:, None, None]  # [channel, pre, post]
    g = w.sum(0)
    gap = worm.gap * ph["g_gap"]
    s_eq = p["a_r"] / (p["a_r"] + 2 * p["a_d"])
    g_in = g.sum(0) * s_eq
    a0 = torch.diag(p["g_leak"] + g_in) + torch.diag(gap.sum(1)) - gap
    drive = (w.sum(1) * ph["e_rev"][:, None]).sum(0) * s_eq  # [post]
    v = torch.linalg.solve(a0, p["g_leak"] * p["e_leak"] + drive)
    kappa = p["a_r"] * (ph["beta"] / 4) * (1 - s_eq) / (p["a_r"] / 2 + p["a_d"])
    # d(current into post)/d(s of pre) = sum_k w_k[pre, post] (E_k - V_post)
    coupling = (w * (ph["e_rev"][:, None, None] - v[None, None, :])).sum(0)
    a = a0 - coupling.T * kappa
    if worm.extra is not None:
        a = a - EXTRA_BOUND * torch.tanh(theta["g_extra"][0]) * worm.extra.T
    return a, p["g_leak"] + g_in + gap.sum(1)


def responses_of(a: torch.Tensor, g_input: torch.Tensor, depolarization: float = 10e-3) -> torch.Tensor:
    """(302, 302) [responding, stimulated] steady-state responses (V) of the operator ``a``
    (``response_operator``) to a drive of ``depolarization`` times each neuron's input
    conductance ``g_input`` (S)."""
    return torch.linalg.solve(a, torch.diag(depolarization * g_input))


def linear_responses(worm: LinearWorm, theta: dict, depolarization: float = 10e-3) -> torch.Tensor:
    """(302, 302) [responding, stimulated] linear steady-state response (V) to a sustained
    drive of ``depolarization`` times each neuron's resting input conductance
    (``response_operator``); differentiable in ``theta``. With a readout (ablation) each
    responding neuron's row is multiplied by exp(readout[class])."""
    out = responses_of(*response_operator(worm, theta), depolarization)
    if worm.readout is not None:
        out = torch.exp(theta["readout"])[worm.readout][:, None] * out
    return out


def _loss(pred: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
    x = torch.sign(pred) * torch.log1p(pred.abs() / RESPONSE_SCALE)
    x, y = x - x.mean(), ranks - ranks.mean()
    return -(x * y).sum() / (x.norm() * y.norm() + 1e-30)


def training_pairs(con, atlas, train_stimulated, q_max):
    """The atlas pairs (responding ``r``, stimulated ``s``) with q < ``q_max`` whose stimulated neuron is among ``train_stimulated``; ``ValueError`` for fewer than 10."""
    r, s = atlas_pairs(con, atlas, q_max)
    train = np.isin(s, np.asarray(train_stimulated))
    r, s = r[train], s[train]
    if r.size < 10:
        raise ValueError(f"only {r.size} training pairs; give more stimulated neurons")
    return r, s


def fit_theta(worm: LinearWorm, atlas, r, s, steps: int, lr: float, progress: bool = False) -> dict:
    """Adam on ``_loss`` over the pairs (r, s) only; returns the fitted unconstrained theta."""
    from scipy.stats import rankdata
    from tqdm.auto import tqdm

    ranks = torch.tensor(rankdata(atlas.dff[r, s]), dtype=torch.float64)
    rt, st = torch.from_numpy(r), torch.from_numpy(s)
    theta = {k: v.clone().requires_grad_(True) for k, v in initial_theta(worm).items()}
    opt = torch.optim.Adam(theta.values(), lr=lr)
    bar = tqdm(range(steps), desc="fit", leave=False, disable=not progress)
    for _ in bar:
        loss = _loss(linear_responses(worm, theta)[rt, st], ranks)
        if "readout" in theta:
            loss = loss + READOUT_PENALTY * (theta["readout"] ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return {k: v.detach() for k, v in theta.items()}


def fit_worm(con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, train_stimulated, steps: int = 300,
             lr: float = 0.05, q_max: float = 0.05, progress: bool = False) -> dict:
    """Fit the parameters on the atlas pairs whose stimulated neuron is in
    ``train_stimulated`` (and no other pairs); returns the JSON parameter set with the fit's
    settings and training rho under ``"fit"``."""
    from scipy.stats import spearmanr

    r, s = training_pairs(con, atlas, train_stimulated, q_max)
    worm = LinearWorm(con)
    theta = fit_theta(worm, atlas, r, s, steps, lr, progress)
    with torch.no_grad():
        pred = linear_responses(worm, theta)[torch.from_numpy(r), torch.from_numpy(s)].numpy()
    info = {"connectome": con.name, "strain": atlas.strain, "steps": steps, "lr": lr,
            "train_stimulated": [con.neurons[i] for i in np.unique(s)], "train_pairs": int(r.size),
            "train_rho_linear": float(spearmanr(pred, atlas.dff[r, s]).statistic)}
    return params_from_theta(theta, info)


def responder_baseline(atlas: connectomes.FunctionalAtlas, r, s, test_stimulated) -> np.ndarray:
    """A predictor that ignores the wiring. ``r``, ``s``: (P,) responding and stimulated
    indices of the atlas pairs; returns (number of pairs with s in ``test_stimulated``,) in
    their order: the mean dF/F each pair's responding neuron showed over the training pairs
    (those of the other stimulated neurons); NaN where it never responded in training."""
    test = np.isin(s, np.asarray(test_stimulated))
    d = atlas.dff[r, s]
    total = np.bincount(r[~test], d[~test], minlength=atlas.dff.shape[0])
    count = np.bincount(r[~test], minlength=atlas.dff.shape[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / count, np.nan)
    return mean[r[test]]


def heldout_metrics(params, con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, test_stimulated, q_max: float = 0.05,
                    dt: float = 1e-3, progress: bool = False) -> dict:
    """Metrics on the atlas pairs whose stimulated neuron is in ``test_stimulated``: the
    fitted model (nonlinear simulation), Kunert et al.'s model and the raw connectome on
    the same pairs, the fraction of positive dF/F (the always-positive baseline) and
    ``responder_baseline`` (no wiring: the responding neuron's mean training dF/F)."""
    r_all, s_all = atlas_pairs(con, atlas, q_max)
    test = np.isin(s_all, np.asarray(test_stimulated))
    r, s = r_all[test], s_all[test]
    cols = np.unique(s)
    dff = atlas.dff[r, s]
    fitted = model_responses(con, cols, dt=dt, progress=progress, params=params)[r, s]
    kunert = model_responses(con, cols, dt=dt, progress=progress)[r, s]
    chem, gap = con.chemical[s, r], con.gap[s, r]
    responder = responder_baseline(atlas, r_all, s_all, test_stimulated)
    known = np.isfinite(responder)
    return {"fitted": _metrics(fitted, dff), "kunert": _metrics(kunert, dff),
            "connectome": _metrics(chem + gap, dff, con.sign[s] * chem + gap), "always_positive": float(np.mean(dff > 0)),
            "responder_mean": _metrics(responder[known], dff[known]), "pairs": int(r.size), "stimulated": int(cols.size)}


def save_params(params: dict, path) -> Path:
    """Write a parameter set as JSON, atomically."""
    from neurosim.atomic import atomic_write_text

    return atomic_write_text(path, json.dumps(params, indent=1))


def stimulated_neurons(con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, q_max: float = 0.05) -> np.ndarray:
    """The stimulated neurons with significant pairs the connectome has (the fit's units)."""
    return atlas_stimulated(con, atlas, q_max)


@locks_folder("out_dir")
def cross_validate(connectome="cook2019_herm", strain: str = "wt", folds: int = 5, seed: int = 0, steps: int = 300,
                   out_dir="runs/fit_worm", resume: bool = False, progress: bool = True, shuffle_seed: int | None = None,
                   q_max: float = 0.05) -> dict:
    """k-fold validation by stimulated neuron, then a fit on all of them.

    For each fold: fit on the other folds' stimulated neurons, evaluate on its own
    (``heldout_metrics``); each finished fold is saved to ``out_dir/folds/fold<k>.json``
    (atomically, with its SHA-256: ``neurosim.integrity``) and skipped by ``resume``; the
    folder is locked while the fit writes to it (``neurosim.runlock``). Then fits every stimulated neuron's pairs and
    writes ``out_dir/params.json`` (``celegans.load_worm_params`` reads it) and
    ``out_dir/metrics.json`` (per fold and mean +- sd). ``shuffle_seed``: run it all on a
    degree-preserving shuffle of the connectome (the null). Raises ``ValueError`` for an
    occupied ``out_dir`` without ``resume`` or a ``resume`` with other settings."""
    from tqdm.auto import tqdm

    from neurosim.atomic import atomic_write_json

    from .atlas import shuffled_connectome

    out = Path(out_dir)
    settings = {"connectome": connectome, "strain": strain, "folds": folds, "seed": seed, "steps": steps,
                "shuffle_seed": shuffle_seed, "q_max": q_max}
    saved = out / "settings.json"
    if saved.exists():
        if not resume:
            raise ValueError(f"{out} already holds a fit; continue it with --resume or choose another --out")
        before = read_checked_json(saved, "fit settings")  # CorruptFileError (a ValueError) when damaged
        if before != settings:
            raise ValueError(f"--resume: {saved} was written with other settings ({before})")
    write_checked_json(saved, settings)
    con = connectomes.load(connectome)
    if shuffle_seed is not None:
        con = shuffled_connectome(con, shuffle_seed)
    atlas = connectomes.functional_atlas(strain)
    groups = split_stimulated(stimulated_neurons(con, atlas, q_max), seed, folds)
    results = []
    for k in tqdm(range(folds), desc="folds", disable=not progress):
        path = out / "folds" / f"fold{k}.json"
        if resume and path.exists():
            results.append(read_checked_json(path, "finished fold"))
            continue
        train = np.concatenate([g for j, g in enumerate(groups) if j != k])
        params = fit_worm(con, atlas, train, steps=steps, q_max=q_max)
        m = heldout_metrics(params, con, atlas, groups[k], q_max)
        rec = {"fold": k, "held_out": [con.neurons[i] for i in groups[k]], "metrics": m, "params": params}
        write_checked_json(path, rec)
        results.append(rec)
    summary = {}
    for name in ("fitted", "kunert", "connectome", "responder_mean"):
        for key in ("spearman", "sign_agreement"):
            summary[f"{name}_{key}"] = mean_sd([r["metrics"][name][key] for r in results])
    summary["always_positive"] = mean_sd([r["metrics"]["always_positive"] for r in results])
    final = fit_worm(con, atlas, np.concatenate(groups), steps=steps, q_max=q_max)
    final["fit"]["cross_validation"] = summary
    save_params(final, out / "params.json")
    atomic_write_json(out / "metrics.json", {"settings": settings, "folds": [r["metrics"] for r in results], "summary": summary})
    return summary


def mean_sd(values) -> dict:
    """``{"mean", "sd"}`` of ``values`` (sample standard deviation; 0 for one value)."""
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0}
