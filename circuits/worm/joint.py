"""One worm parameter set for the atlas and for held-out worms' spontaneous activity
(``held_out``, ``neurosim fit worm --joint``).

**Spontaneous correlations at low frequency.** Driven by white-noise currents with
covariance density Q, the linearised model at rest (``fit.response_operator``: a sustained
current ``dI`` moves the voltages by ``A^-1 dI``) has the voltage spectral density
``A^-1 Q A^-T / 2 pi`` at zero frequency (Gardiner, *Stochastic Methods*, sec. 4.5.6). The
recordings' calcium indicator (about 1 s) passes only the slow end of the spectrum, so the
correlations of the indicator traces are, to a good approximation, those of
``A^-1 Q A^-T``: with Kunert et al.'s parameters the pooled class-pair Spearman is +0.209
with it and +0.207 with the full Lyapunov solution and a 1 s indicator
(``activity.spontaneous_correlation``; tested). It costs one 302 x 302 inverse, is
differentiable, and uses the very operator the atlas fit uses, so one parameter set can be
fitted to both.

**What drives the spontaneous activity** (``VARIANTS``):

- independent noise of equal density into every neuron (``activity``'s assumption);
- ``noise``: a density per neuron class, fitted (which neurons are sources of spontaneous
  activity, e.g. sensory neurons);
- ``inputs``: one input shared by the given classes with a fitted loading each (the signal
  is propagated by the network like any current). ``LOCOMOTION_CLASSES``: the forward /
  reverse / turn circuit whose state organises brain-wide activity (Kato et al. 2015, Cell
  163:656; Gordus et al. 2015, Cell 161:215); ``"all"``: every class, a rank-one fit to the
  recordings that the wiring only filters (a reference line: it does as well on a shuffled
  connectome).

**Loss**: the atlas fit's loss (``fit._loss``) on the atlas training pairs plus ``weight``
times the mean over the training recordings of minus the Pearson correlation between
model and measured class-pair values (``class_pairs``), plus L2 penalties of
``NOISE_PENALTY`` on the log noise densities.

**Held out** (``held_out``), for each variant: *leave one recording out* (fit on every
stimulated neuron's atlas pairs and two recordings, score the third with
``class_pairs.scores``; the same on a degree-preserving shuffle of the connectome, the
null) and *the atlas's folds* (``fit.split_stimulated``: fit on the other folds and every
recording, score the held-out stimulated neurons' pairs by the linear response, as
``ablation``).
"""
from __future__ import annotations

import numpy as np
import torch

import connectomes

from . import class_pairs as cp
from .atlas import _metrics, atlas_pairs
from .fit import (LinearWorm, _loss, _physical, initial_theta, mean_sd, response_operator, responses_of,
                  split_stimulated, stimulated_neurons, training_pairs)

__all__ = ["VARIANTS", "LOCOMOTION_CLASSES", "NOISE_PENALTY", "low_frequency_correlation", "fit_joint", "held_out"]

LOCOMOTION_CLASSES = ("AVA", "AVE", "AVD", "AIB", "RIM", "AVB", "PVC", "RIB", "SMD", "RIV", "RME")
"""Classes of the forward / reverse / turn circuit (Kato et al. 2015; Gordus et al. 2015)."""

VARIANTS = {
    "atlas only": {"weight": 0.0},
    "joint": {},
    "joint, receptor signs": {"receptors": True},
    "joint + noise density per class": {"noise": True},
    "joint + input shared by the locomotion classes": {"inputs": LOCOMOTION_CLASSES},
    "joint + input shared by every class": {"inputs": "all"},
}
"""Model variants of ``held_out``: ``weight`` of the recordings' loss (default 1),
``receptors`` (``LinearWorm``), ``noise`` per class, shared ``inputs`` (module docstring)."""

#: Weight of the penalty on the per-class noise amplitudes in the joint fit.
NOISE_PENALTY = 1e-2


def _class_index(con: connectomes.Connectome) -> tuple[np.ndarray, torch.Tensor]:
    names, index = np.unique([connectomes.neuron_class(n) for n in con.neurons], return_inverse=True)
    return names, torch.from_numpy(index)


def low_frequency_correlation(worm: LinearWorm, theta: dict, noise=None, shared=None) -> torch.Tensor:
    """(302, 302) correlations of ``A^-1 Q A^-T`` (module docstring), differentiable in
    ``theta``: ``noise`` (302,) the independent noise's amplitude per neuron (None: 1),
    ``shared`` (302,) a shared input's loading per neuron (None: none), both in units of
    the independent noise's amplitude."""
    return _correlation(response_operator(worm, theta)[0], noise, shared)


def _correlation(a: torch.Tensor, noise=None, shared=None) -> torch.Tensor:
    """``low_frequency_correlation`` of the operator ``a``."""
    m = torch.linalg.inv(a)
    cov = (m * (1.0 if noise is None else noise[None, :] ** 2)) @ m.T
    if shared is not None:
        mu = m @ shared
        cov = cov + torch.outer(mu, mu)
    sd = torch.sqrt(torch.diagonal(cov))
    return cov / (sd[:, None] * sd[None, :])


class _Target:
    """One recording's class pairs as tensors for a differentiable ``class_pairs.predict``."""

    def __init__(self, table: cp.PairTable):
        idx = np.concatenate(table.pairs)
        self.i, self.j = torch.from_numpy(idx[:, 0]), torch.from_numpy(idx[:, 1])
        sizes = [len(p) for p in table.pairs]
        self.group = torch.from_numpy(np.repeat(np.arange(len(sizes)), sizes))
        self.size = torch.tensor(sizes, dtype=torch.float64)
        self.measured = torch.from_numpy(np.asarray(table.measured, float))

    def loss(self, corr: torch.Tensor) -> torch.Tensor:
        pred = torch.zeros(self.size.numel(), dtype=torch.float64).index_add_(0, self.group, corr[self.i, self.j]) / self.size
        x, y = pred - pred.mean(), self.measured - self.measured.mean()
        return -(x * y).sum() / (x.norm() * y.norm() + 1e-30)


def fit_joint(con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, atlas_stimulated, tables, weight: float = 1.0,
              receptors: bool = False, noise: bool = False, inputs=None, steps: int = 300, lr: float = 0.05,
              q_max: float = 0.05, seed: int = 0):
    """Fit one variant (module docstring) on the atlas pairs of ``atlas_stimulated`` and
    the class pairs of ``tables`` (``class_pairs.PairTable``); returns ``(predict, theta,
    channels)``:
    ``predict()`` gives the fitted model's ``(responses (302, 302) [responding, stimulated]
    in V, correlations (302, 302))``, ``channels`` the synaptic channels' names (``theta``'s
    order). Raises ``ValueError`` for an unknown class in
    ``inputs``."""
    worm = LinearWorm(con, receptors=receptors)
    names, cls = _class_index(con)
    theta = {k: v.clone().requires_grad_(True) for k, v in initial_theta(worm).items()}
    if noise:
        theta["noise"] = torch.zeros(names.size, dtype=torch.float64, requires_grad=True)
    source = None
    if inputs is not None:
        chosen = names if isinstance(inputs, str) and inputs == "all" else np.asarray(inputs)
        unknown = sorted(set(chosen) - set(names))
        if unknown:
            raise ValueError(f"inputs: unknown neuron class(es) {unknown}; known: {list(names)}")
        source = torch.from_numpy(np.isin(names, chosen).astype(np.float64))[cls]
        gen = torch.Generator().manual_seed(seed)  # loadings start small and random: at zero their gradient vanishes
        theta["loading"] = (0.1 * torch.randn(names.size, dtype=torch.float64, generator=gen)).requires_grad_(True)
        theta["input_gain"] = torch.zeros(1, dtype=torch.float64, requires_grad=True)

    def correlations(a):
        amp = torch.exp(theta["noise"])[cls] if noise else None
        shared = None
        if source is not None:
            u = theta["loading"][cls] * source
            shared = torch.exp(theta["input_gain"]) * u / torch.sqrt((u ** 2).sum() / source.sum() + 1e-30)
        return _correlation(a, amp, shared)

    from scipy.stats import rankdata

    r, s = training_pairs(con, atlas, atlas_stimulated, q_max)
    ranks = torch.tensor(rankdata(atlas.dff[r, s]), dtype=torch.float64)
    rt, st = torch.from_numpy(r), torch.from_numpy(s)
    targets = [_Target(t) for t in tables]
    opt = torch.optim.Adam(theta.values(), lr=lr)
    for _ in range(steps):
        a, g_input = response_operator(worm, theta)  # once per step, for both data sets
        loss = _loss(responses_of(a, g_input)[rt, st], ranks)
        if weight and targets:
            corr = correlations(a)
            loss = loss + weight * sum(t.loss(corr) for t in targets) / len(targets)
        if noise:
            loss = loss + NOISE_PENALTY * (theta["noise"] ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def predict():
        with torch.no_grad():
            a, g_input = response_operator(worm, theta)
            return responses_of(a, g_input).numpy(), correlations(a).numpy()

    return predict, {k: v.detach() for k, v in theta.items()}, list(worm.names)


def held_out(connectome="cook2019_herm", tables=None, recordings=None, labels=None, strain: str = "wt", folds: int = 5,
             seed: int = 0, steps: int = 300, shuffle_seed: int | None = 0, variants=None, q_max: float = 0.05,
             progress: bool = True) -> dict:
    """Both held-out scores of every variant of ``VARIANTS`` (or the names in ``variants``;
    module docstring): ``{"settings", "between_worms", "variants": {name: {"recordings":
    {worm: scores}, "spearman" (mean over held-out recordings), "negative_predicted" (mean),
    "shuffled": {...} (None without ``shuffle_seed``), "atlas": {"spearman", "sign_agreement"
    (mean +- sd over folds), "always_positive"}, "e_rev": {channel: V} (mean over the atlas
    folds' fits)}}}``. ``tables``: the recordings' ``class_pairs.PairTable`` (or read from
    ``recordings`` with ``labels``). Raises ``ValueError`` for an unknown variant or fewer
    than two recordings."""
    from tqdm.auto import tqdm

    from .atlas import shuffled_connectome

    names = list(VARIANTS) if variants is None else list(variants)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; known: {list(VARIANTS)}")
    if tables is None:
        tables = [cp.pair_table(r) for r in cp.read_labelled(recordings, labels)]
    if len(tables) < 2:
        raise ValueError(f"{len(tables)} recording(s): leaving one out needs at least two")
    con = connectomes.load(connectome)
    atlas = connectomes.functional_atlas(strain)
    groups = split_stimulated(stimulated_neurons(con, atlas, q_max), seed, folds)
    every = np.concatenate(groups)
    r_all, s_all = atlas_pairs(con, atlas, q_max)
    nets = {"connectome": con}
    if shuffle_seed is not None:
        nets["shuffled"] = shuffled_connectome(con, shuffle_seed)
    out = {"settings": {"connectome": connectome, "strain": strain, "folds": folds, "seed": seed, "steps": steps,
                        "shuffle_seed": shuffle_seed, "q_max": q_max, "recordings": [t.recording for t in tables]},
           "between_worms": cp.between_worms(tables), "variants": {}}
    bar = tqdm(total=len(names) * (len(tables) * len(nets) + folds), desc="joint fits", disable=not progress)
    for name in names:
        kw = VARIANTS[name]
        row = {}
        for label, net in nets.items():
            per = {}
            for k, held in enumerate(tables):
                predict, _, _ = fit_joint(net, atlas, every, [t for i, t in enumerate(tables) if i != k], q_max=q_max,
                                       steps=steps, **kw)
                per[held.recording] = cp.scores(held.measured, cp.predict(held, predict()[1]))
                bar.update()
            row[label] = {"recordings": per, "spearman": float(np.mean([v["spearman"] for v in per.values()])),
                          "negative_predicted": float(np.mean([v["negative_predicted"] for v in per.values()]))}
        rho, sign, e_rev = [], [], []
        for k, g in enumerate(groups):
            train = np.concatenate([h for j, h in enumerate(groups) if j != k])
            predict, theta, channels = fit_joint(con, atlas, train, tables, q_max=q_max, steps=steps, **kw)
            test = np.isin(s_all, g)
            m = _metrics(predict()[0][r_all[test], s_all[test]], atlas.dff[r_all[test], s_all[test]])
            rho.append(m["spearman"]), sign.append(m["sign_agreement"])
            e_rev.append(dict(zip(channels, _physical(theta)["e_rev"].tolist())))
            bar.update()
        test_dff = atlas.dff[r_all, s_all]
        out["variants"][name] = {
            **row["connectome"], "shuffled": row.get("shuffled"),
            "atlas": {"spearman": mean_sd(rho), "sign_agreement": mean_sd(sign), "always_positive": float(np.mean(test_dff > 0))},
            "e_rev": {c: float(np.mean([e[c] for e in e_rev])) for c in e_rev[0]}}
    bar.close()
    return out
