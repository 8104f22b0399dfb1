"""Ablation of the worm model's terms (``ablation``, ``neurosim fit worm --ablation``):
candidate model terms fitted on the same folds as ``circuits.worm.fit.cross_validate`` and
scored by their linear response: the receiving neuron's receptor signs
(``connectomes.receptors``), a signed coupling along an extrasynaptic network
(``connectomes.extrasynaptic``), a dF/F readout gain per neuron class.

The fit itself: ``circuits.worm.fit``.
"""
from __future__ import annotations

import numpy as np
import torch

import connectomes

from .atlas import _metrics, atlas_pairs
from .fit import (LinearWorm, fit_theta, linear_responses, mean_sd, responder_baseline, split_stimulated, stimulated_neurons,
                  training_pairs)

__all__ = ["ABLATION", "ablation"]


ABLATION = {
    "plain": {},
    "receptors": {"receptors": True},
    **{name: {"extrasynaptic": name} for name in ("neuropeptide_short", "neuropeptide_mid", "neuropeptide_long",
                                                  "monoamine_bentley2016", "neuropeptide_bentley2016")},
    "class_readout": {"readout": True},
}
"""Model variants compared by ``ablation`` (``LinearWorm``'s terms)."""


def ablation(connectome="cook2019_herm", strain: str = "wt", folds: int = 5, seed: int = 0, steps: int = 300,
             q_max: float = 0.05, shuffle_seed: int | None = None, variants=None, progress: bool = True) -> dict:
    """Which model term limits the held-out fit: each variant of ``ABLATION`` (or the names
    in ``variants``) fitted on the same seeded folds of stimulated neurons as
    ``cross_validate``, scored on each fold's held-out pairs by its *linear* response
    (Spearman rho and sign agreement, mean +- sd over folds), beside
    ``responder_baseline`` and the raw connectome. ``spearman_residual``: rho against the
    dF/F minus the responder baseline, i.e. what the wiring must explain beyond which
    neuron responds (pairs whose responder has no training pairs are left out).
    ``shuffle_seed``: all on a degree-preserving shuffle instead. Returns ``{"settings",
    "variants": {name: {"spearman", "sign_agreement", "spearman_residual", "folds"}},
    "connectome", "responder_mean"}``. Raises ``ValueError`` for an unknown variant."""
    from tqdm.auto import tqdm

    from .atlas import shuffled_connectome

    names = list(ABLATION) if variants is None else list(variants)
    unknown = [n for n in names if n not in ABLATION]
    if unknown:
        raise ValueError(f"unknown ablation variant(s) {unknown}; known: {list(ABLATION)}")
    con = connectomes.load(connectome)
    if shuffle_seed is not None:
        con = shuffled_connectome(con, shuffle_seed)
    atlas = connectomes.functional_atlas(strain)
    groups = split_stimulated(stimulated_neurons(con, atlas, q_max), seed, folds)
    r_all, s_all = atlas_pairs(con, atlas, q_max)
    train_pairs = [training_pairs(con, atlas, np.concatenate([g for j, g in enumerate(groups) if j != k]), q_max)
                   for k in range(folds)]
    held = []  # per fold: held-out pairs, their dF/F, the responder baseline
    for g in groups:
        test = np.isin(s_all, g)
        held.append((r_all[test], s_all[test], atlas.dff[r_all[test], s_all[test]], responder_baseline(atlas, r_all, s_all, g)))

    def scores(predictions, signed=None) -> dict:
        rho, sign, resid = [], [], []
        for k, (pred, (_, _, dff, base)) in enumerate(zip(predictions, held)):
            m = _metrics(pred, dff, None if signed is None else signed[k])
            known = np.isfinite(base)
            rho.append(m["spearman"]), sign.append(m["sign_agreement"])
            resid.append(_metrics(pred[known], dff[known] - base[known])["spearman"])
        return {"spearman": mean_sd(rho), "sign_agreement": mean_sd(sign), "spearman_residual": mean_sd(resid),
                "folds": [float(x) for x in rho]}

    out = {"settings": {"connectome": connectome, "strain": strain, "folds": folds, "seed": seed, "steps": steps,
                        "q_max": q_max, "shuffle_seed": shuffle_seed, "response": "linear steady state"}, "variants": {}}
    for name in tqdm(names, desc="variants", disable=not progress):
        worm = LinearWorm(con, **ABLATION[name])
        predictions = []
        for k, (r, s) in enumerate(train_pairs):
            theta = fit_theta(worm, atlas, r, s, steps, 0.05)
            with torch.no_grad():
                predictions.append(linear_responses(worm, theta).numpy()[held[k][0], held[k][1]])
        out["variants"][name] = scores(predictions)
    out["connectome"] = scores([con.chemical[s, r] + con.gap[s, r] for r, s, _, _ in held],
                               [con.sign[s] * con.chemical[s, r] + con.gap[s, r] for r, s, _, _ in held])
    rho = []
    for _, _, dff, base in held:
        known = np.isfinite(base)
        rho.append(_metrics(base[known], dff[known])["spearman"])
    out["responder_mean"] = {"spearman": mean_sd(rho), "folds": [float(x) for x in rho]}
    return out
