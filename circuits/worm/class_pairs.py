"""A worm model against labelled whole-brain recordings, class pair by class pair.

**Measured.** Each recording's traces with a certain NeuroPAL identity
(``connectomes.activity.read_flavell(..., labels=...)``, ``Recording.certain``; uncertain
``?`` labels and unlabelled traces are left out) and their Pearson correlations over the
whole recording. A class pair's value is the mean correlation over its recorded neuron
pairs (classes pooled left/right and dorsal/ventral as ``connectomes.neuron_class``; pairs
of two different classes). Left/right partners (AVAL-AVAR, ...) are scored apart.

**Predicted.** The same mean over the same neuron pairs of a predictor matrix (302 x 302,
canonical order): a model's stationary correlation (``activity.spontaneous_correlation``)
or the raw contact count (chemical synapses both ways plus gap junctions), the baseline.

**Scores** (``scores``): Spearman and Pearson over class pairs, the fraction of class pairs
whose sign the predictor gets right, and of the measured pairs with r < -0.1 (the
anticorrelated ones) how many it predicts negative; per recording and pooled (a class
pair's pooled value: its mean over the recordings that have it, for measured and predicted
alike). Anchors: Randi et al. 2023 (Nature 623:406), Fig. 5: Pearson agreement with
spontaneous-activity correlations 0.02 for anatomical weights, 0.12 for an anatomy-derived
biophysical model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import connectomes
from connectomes.names import neuron_index

__all__ = ["PairTable", "pair_table", "predict", "scores", "partner_scores", "pooled", "contact_matrix", "NEGATIVE_R"]

NEGATIVE_R = -0.1
"""A measured class pair with r below this is anticorrelated (the issue's criterion)."""


@dataclass(frozen=True)
class PairTable:
    """One recording's class pairs: ``classes`` (P, 2) names, ``measured`` (P,) mean
    correlations, ``pairs`` (P,) arrays (n_k, 2) of canonical neuron indices (302 order)
    behind each; ``neuron_pairs`` (M, 2) every recorded neuron pair of two different
    classes with its ``neuron_r`` (M,); ``partners`` (L, 2) left/right partners recorded
    together with ``partner_r`` (L,)."""

    recording: str
    classes: np.ndarray
    measured: np.ndarray
    pairs: tuple
    neuron_pairs: np.ndarray
    neuron_r: np.ndarray
    partners: np.ndarray
    partner_r: np.ndarray


def pair_table(rec) -> PairTable:
    """The class pairs of a labelled ``Recording`` (module docstring). Raises ``ValueError``
    when the recording has fewer than 3 certain identities (unlabelled: read it with
    ``labels=``) or its traces do not vary."""
    keep = rec.certain()
    where = f"recording {rec.source}/{rec.worm}"
    if keep.size < 3 or rec.classes is None:
        raise ValueError(f"{where}: {keep.size} traces with a certain identity; a class comparison needs labelled traces "
                         "(read_flavell(path, labels=...))")
    x = rec.traces[:, keep]
    ok = np.all(np.isfinite(x), 0) & (np.nanstd(x, 0) > 0)
    keep, x = keep[ok], x[:, ok]
    if keep.size < 3:
        raise ValueError(f"{where}: fewer than 3 labelled traces vary; nothing to correlate")
    r = np.corrcoef(x.T)
    idx = np.array([neuron_index(rec.neurons[k]) for k in keep])
    cls = np.array([rec.classes[k] for k in keep])
    i, j = np.triu_indices(keep.size, 1)
    differ = cls[i] != cls[j]
    groups: dict = {}
    for a, b in zip(i[differ], j[differ]):
        key = tuple(sorted((cls[a], cls[b])))
        groups.setdefault(key, []).append((a, b))
    keys = sorted(groups)
    measured = np.array([np.mean([r[a, b] for a, b in groups[k]]) for k in keys])
    pairs = tuple(np.array([(idx[a], idx[b]) for a, b in groups[k]]) for k in keys)
    names = connectomes.neurons()
    partner = [(a, b) for a, b in zip(i[~differ], j[~differ]) if _lr_partners(names[idx[a]], names[idx[b]])]
    return PairTable(rec.worm, np.array(keys).reshape(-1, 2), measured, pairs,
                     np.column_stack([idx[i[differ]], idx[j[differ]]]), r[i[differ], j[differ]],
                     np.array([(idx[a], idx[b]) for a, b in partner], dtype=np.int64).reshape(-1, 2),
                     np.array([r[a, b] for a, b in partner]))


def _lr_partners(a: str, b: str) -> bool:
    return len(a) == len(b) and a[:-1] == b[:-1] and {a[-1], b[-1]} == {"L", "R"}


def predict(table: PairTable, matrix: np.ndarray) -> np.ndarray:
    """A predictor matrix (302, 302) on the table's class pairs: the mean over each pair's
    neuron pairs (P,)."""
    m = np.asarray(matrix, float)
    return np.array([m[p[:, 0], p[:, 1]].mean() for p in table.pairs])


def scores(measured: np.ndarray, predicted: np.ndarray) -> dict:
    """Spearman and Pearson between measured and predicted values (over class pairs), the
    sign agreement, and the anticorrelated pairs (measured r < ``NEGATIVE_R``): how many,
    and the fraction predicted negative."""
    from scipy.stats import pearsonr, spearmanr

    m, p = np.asarray(measured, float), np.asarray(predicted, float)
    ok = np.isfinite(m) & np.isfinite(p)
    m, p = m[ok], p[ok]
    neg = m < NEGATIVE_R
    constant = p.size < 3 or np.ptp(p) == 0
    return {"pairs": int(m.size), "spearman": float("nan") if constant else float(spearmanr(m, p)[0]),
            "pearson": float("nan") if constant else float(pearsonr(m, p)[0]),
            "sign_agreement": float(np.mean(np.sign(m) == np.sign(p))) if m.size else float("nan"),
            "negative_pairs": int(neg.sum()), "negative_predicted": float(np.mean(p[neg] < 0)) if neg.any() else float("nan")}


def partner_scores(tables, matrix) -> dict:
    """Left/right partners recorded together, over all tables: their mean measured
    correlation and the predictor's mean on the same pairs."""
    meas = np.concatenate([t.partner_r for t in tables]) if tables else np.zeros(0)
    pred = np.concatenate([np.asarray(matrix)[t.partners[:, 0], t.partners[:, 1]] for t in tables]) if tables else np.zeros(0)
    return {"partners": int(meas.size), "measured": float(meas.mean()) if meas.size else float("nan"),
            "predicted": float(pred.mean()) if pred.size else float("nan")}


def pooled(tables, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class pairs over several recordings: (classes (Q, 2), measured (Q,), predicted (Q,)),
    each a class pair's mean over the recordings that have it; ``values``: one predicted
    array per table (``predict``)."""
    acc: dict = {}
    for t, v in zip(tables, values):
        for k, (a, b) in enumerate(t.classes):
            acc.setdefault((a, b), []).append((t.measured[k], v[k]))
    keys = sorted(acc)
    arr = np.array([np.mean(acc[k], 0) for k in keys]).reshape(-1, 2)
    return np.array(keys).reshape(-1, 2), arr[:, 0], arr[:, 1]


def contact_matrix(con: connectomes.Connectome) -> np.ndarray:
    """Contacts between two neurons (302, 302), symmetric: chemical synapses both ways plus
    gap junctions (the raw-connectome baseline)."""
    c = np.asarray(con.chemical, float)
    g = np.asarray(con.gap, float)
    return c + c.T + (g + g.T) / 2


def read_labelled(folder, labels) -> list:
    """The Flavell recordings (``*.h5``) in ``folder`` with the identities of ``labels``
    (``connectomes.activity.read_flavell``); raises ``FileNotFoundError`` when the folder
    holds none."""
    from pathlib import Path

    from connectomes.activity import read_flavell, read_labels

    paths = sorted(Path(folder).glob("*.h5"))
    if not paths:
        raise FileNotFoundError(f"no Flavell recordings (*.h5) in {folder}")
    table = read_labels(labels)
    return [read_flavell(p, labels=table) for p in paths]


def compare(tables, predictors: dict) -> dict:
    """Every predictor (name -> (302, 302) matrix) scored on every table and pooled:
    ``{name: {"recordings": {worm: scores}, "pooled": scores, "partners": ...}}``."""
    out = {}
    for name, matrix in predictors.items():
        values = [predict(t, matrix) for t in tables]
        _, meas, pred = pooled(tables, values)
        neuron = scores(np.concatenate([t.neuron_r for t in tables]),
                        np.concatenate([np.asarray(matrix)[t.neuron_pairs[:, 0], t.neuron_pairs[:, 1]] for t in tables]))
        out[name] = {"recordings": {t.recording: scores(t.measured, v) for t, v in zip(tables, values)},
                     "pooled": scores(meas, pred), "neuron_pairs": neuron, "partners": partner_scores(tables, matrix)}
    return out


def between_worms(tables) -> dict:
    """How well the other recordings predict each held-out one (their pooled class-pair
    means against its own, Spearman over the pairs they share): the ceiling a model fitted
    on the other worms meets, since the worms differ from each other."""
    out = {}
    for k, held in enumerate(tables):
        rest = [t for i, t in enumerate(tables) if i != k]
        if not rest:
            continue
        keys, meas, _ = pooled(rest, [t.measured for t in rest])
        other = {tuple(c): v for c, v in zip(keys, meas)}
        shared = [i for i, c in enumerate(held.classes) if tuple(c) in other]
        out[held.recording] = scores(held.measured[shared], np.array([other[tuple(held.classes[i])] for i in shared]))
    return out
