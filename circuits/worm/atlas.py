"""Whole-brain signal propagation in the model, compared with the Randi et al. (2023)
functional atlas.

Randi et al. stimulated single neurons optogenetically and measured every other neuron's
calcium response (dF/F). Here each neuron the atlas stimulated gets a current pulse in the
Kunert model (``circuits.worm.model``), and every neuron's response is its mean voltage
change over a window after the onset. All stimulations run at once: one independent copy
of the worm per stimulated neuron, stacked block-diagonally in one population, so one run
gives the whole response matrix.

Comparison over the atlas pairs with q < q_max (indexed [responding, stimulated]; self-pairs
and neurons absent from the connectome excluded): Spearman correlation with dF/F and sign
agreement, for the model and for two baselines: the raw connectome (chemical + gap-junction
counts from the stimulated to the responding neuron; signed by the presynaptic transmitter
for sign agreement) and the same model on a degree-preserving shuffled connectome.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

import connectomes
from neurosim import CurrentInjection, GapJunctions, Network, Population, Projection, Simulator, StateMonitor

from .model import POPULATION, build_worm, input_conductance

__all__ = ["PropagationResult", "response_matrix", "model_responses", "atlas_stimulated", "atlas_pairs", "compare",
           "shuffled_connectome", "signal_propagation"]


@dataclass
class PropagationResult:
    """``responses`` (302, 302) [responding, stimulated] mean dV (V) for the stimulated
    columns (NaN elsewhere); ``metrics`` rows: model, connectome baselines, shuffled model."""

    connectome: str
    responses: np.ndarray
    stimulated: np.ndarray
    metrics: dict
    settings: dict


def _tile(net: Network, k: int) -> Network:
    """``k`` independent copies of the single-population worm ``net`` in one population."""
    pop = net.population(POPULATION)
    n = pop.size
    init = {var: np.tile(np.broadcast_to(val, (n,)), k) for var, val in pop.initial.items()}
    params = {key: np.tile(val, k) for key, val in pop.params.items()}
    big = Population(POPULATION, pop.model, n * k, init, params)
    offs = np.repeat(np.arange(k) * n, 1)
    projs = []
    for pr in net.projections:
        pre = pr.pre_indices()
        i = (pre[None, :] + offs[:, None]).ravel()
        j = (pr.indices.astype(np.int64)[None, :] + offs[:, None]).ravel()
        projs.append(Projection.from_pairs(POPULATION, POPULATION, i, j, np.tile(pr.weights, k), n * k, 1, pr.target, pr.e_rev, pr.name))
    gaps = [GapJunctions(POPULATION, POPULATION, (g.i[None, :] + offs[:, None]).ravel(), (g.j[None, :] + offs[:, None]).ravel(),
                         np.tile(g.g, k)) for g in net.gap_junctions]
    return Network([big], projections=projs, gap_junctions=gaps)


def response_matrix(net: Network, stimulated, depolarization=10e-3, t_on=0.5, pulse=1.0, window=3.0, dt=1e-3,
                    batch=100, progress=False, adaptive=True) -> np.ndarray:
    """Mean voltage change of every neuron (rows) over ``[t_on, t_on + window]`` when neuron
    ``j`` (columns, indices in ``stimulated``) gets a pulse of ``pulse`` s that would
    depolarise it by ``depolarization`` with its neighbours held (see
    ``celegans.stimulate``). ``adaptive`` uses the variable-step solver (``dt`` is then its
    first step and the sampling unit). Returns (302, len(stimulated)) in V."""
    stimulated = np.asarray(stimulated, dtype=np.int64)
    n = net.population(POPULATION).size
    g_in = input_conductance(net)
    out = np.zeros((n, stimulated.size))
    for b0 in range(0, stimulated.size, batch):
        cols = stimulated[b0 : b0 + batch]
        k = cols.size
        big = _tile(net, k)
        targets = np.arange(k) * n + cols
        stim = CurrentInjection(POPULATION, depolarization * g_in[cols], neurons=targets, start=t_on, stop=t_on + pulse)
        big = dataclasses.replace(big, inputs=(stim,))
        every = max(1, int(round(0.01 / dt)))
        res = Simulator(big, dt=dt, adaptive=adaptive).run(t_on + window, [StateMonitor(POPULATION, ("v",), every=every)],
                                                           progress=progress)
        tr = res.traces[POPULATION]
        v = tr["v"].reshape(tr.times.size, k, n)
        base = v[tr.times < t_on].mean(0) if np.any(tr.times < t_on) else v[0]
        after = v[tr.times >= t_on].mean(0)
        out[:, b0 : b0 + k] = (after - base).T
    return out


def _metrics(pred: np.ndarray, dff: np.ndarray, signed: np.ndarray | None = None) -> dict:
    rho = spearmanr(pred, dff).statistic if pred.size > 2 and np.ptp(pred) > 0 else float("nan")
    s = pred if signed is None else signed
    return {"spearman": float(rho), "sign_agreement": float(np.mean(np.sign(s) == np.sign(dff))), "pairs": int(pred.size)}


def atlas_pairs(con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, q_max=0.05):
    """(responding, stimulated) indices of the atlas pairs with q < q_max whose two neurons
    the connectome has."""
    r, s = atlas.significant_pairs(q_max)
    ok = con.present[r] & con.present[s]
    return r[ok], s[ok]


def compare(responses: np.ndarray, con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, q_max=0.05) -> dict:
    """Metrics of a full (302, 302) response matrix against the atlas, with the raw
    connectome baselines, over the significant pairs whose neurons the connectome has
    (and whose response was computed)."""
    r, s = atlas_pairs(con, atlas, q_max)
    ok = np.isfinite(responses[r, s])
    r, s = r[ok], s[ok]
    dff = atlas.dff[r, s]
    chem = con.chemical[s, r]  # stimulated (pre) -> responding (post)
    gap = con.gap[s, r]
    raw = chem + gap
    signed = con.sign[s] * chem + gap
    return {
        "model": _metrics(responses[r, s], dff),
        "connectome (chemical + gap counts)": _metrics(raw, dff, signed),
        "connectome (chemical counts)": _metrics(chem, dff, con.sign[s] * chem),
        "directly connected fraction": float(np.mean(raw > 0)),
        # the trivial baseline for sign agreement: predicting excitation everywhere
        "fraction of pairs with dF/F > 0": float(np.mean(dff > 0)),
    }


def shuffled_connectome(con: connectomes.Connectome, seed=0, swaps_per_edge=10) -> connectomes.Connectome:
    """Degree-preserving randomisation (Maslov & Sneppen 2002): random double-edge swaps of
    the directed chemical graph (in- and out-degree of every neuron kept, counts travel with
    their edges) and of the undirected gap-junction graph (degrees kept)."""
    rng = np.random.default_rng(seed)

    def swap(edges, weights, directed):
        edges = edges.copy()
        present = set(map(tuple, edges))
        m = len(edges)
        for _ in range(swaps_per_edge * m):
            a, b = rng.integers(m, size=2)
            (u, v), (x, y) = edges[a], edges[b]
            if len({u, v, x, y}) < 4:
                continue
            if not directed and rng.random() < 0.5:
                x, y = y, x
            e1, e2 = (u, y), (x, v)
            if not directed:
                e1, e2 = tuple(sorted(e1)), tuple(sorted(e2))
            if e1 in present or e2 in present:
                continue
            present.discard(tuple(edges[a]))
            present.discard(tuple(edges[b]))
            present.update((e1, e2))
            edges[a], edges[b] = e1, e2
        return edges, weights

    n = len(con.neurons)
    pre, post = np.nonzero(con.chemical)
    ce, cw = swap(np.stack([pre, post], 1), con.chemical[pre, post], True)
    chem = np.zeros((n, n))
    chem[ce[:, 0], ce[:, 1]] = cw
    gi, gj = np.nonzero(np.triu(con.gap, 1))
    ge, gw = swap(np.stack([gi, gj], 1), con.gap[gi, gj], False)
    gap = np.zeros((n, n))
    gap[ge[:, 0], ge[:, 1]] = gw
    gap = gap + gap.T
    return dataclasses.replace(con, name=f"{con.name}_shuffled{seed}", chemical=chem, gap=gap)


def model_responses(con: connectomes.Connectome, cols, depolarization=10e-3, dt=1e-3, progress=False, adaptive=True,
                    **params) -> np.ndarray:
    """The (302, 302) [responding, stimulated] response matrix of the model on ``con`` for
    the stimulated columns ``cols`` (NaN in the other columns)."""
    full = np.full((302, 302), np.nan)
    full[:, cols] = response_matrix(build_worm(con, **params), cols, depolarization, dt=dt, progress=progress, adaptive=adaptive)
    return full


def atlas_stimulated(con: connectomes.Connectome, atlas: connectomes.FunctionalAtlas, q_max=0.05) -> np.ndarray:
    """The neurons the atlas stimulated (with significant pairs) that the connectome has."""
    _, cols = atlas.significant_pairs(q_max)
    cols = np.unique(cols)
    return cols[con.present[cols]]


def signal_propagation(connectome="cook2019_herm", strain="wt", q_max=0.05, depolarization=10e-3, dt=1e-3, shuffle_seed=0,
                       stimulated=None, progress=False, **params) -> PropagationResult:
    """Stimulate every neuron the atlas stimulated (or the names in ``stimulated``) in the
    model on ``connectome`` and on a degree-preserving shuffle of it, and compare both and
    the raw connectome with the atlas (see the module docstring)."""
    con = connectomes.load(connectome) if isinstance(connectome, str) else connectome
    atlas = connectomes.functional_atlas(strain)
    if stimulated is None:
        cols = atlas_stimulated(con, atlas, q_max)
    else:
        cols = con.indices(stimulated)
        cols = cols[con.present[cols]]
    full = model_responses(con, cols, depolarization, dt, progress, **params)
    metrics = compare(full, con, atlas, q_max)
    shuffled = shuffled_connectome(con, shuffle_seed)
    full_s = model_responses(shuffled, cols, depolarization, dt, progress, **params)
    metrics["model on shuffled connectome"] = compare(full_s, shuffled, atlas, q_max)["model"]
    return PropagationResult(con.name, full, cols, metrics,
                             {"strain": strain, "q_max": q_max, "depolarization": depolarization, "dt": dt, "shuffle_seed": shuffle_seed})
