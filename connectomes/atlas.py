"""The signal-propagation atlas of Randi et al. (2023, Nature 623:406-414), as shipped by
the ``wormneuroatlas`` package (``funatlas.h5``), in the canonical neuron order."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .names import neurons, normalize_name

__all__ = ["FunctionalAtlas", "functional_atlas"]


@dataclass(frozen=True, eq=False)
class FunctionalAtlas:
    """Response amplitudes of neuron i when neuron j is stimulated (optogenetically).

    All matrices are (302, 302), canonical order, indexed [responding, stimulated] (the
    atlas's "pair i<-j"). ``dff``: mean dF/F response amplitude; ``q``: q-value of the
    response (NaN where never measured); ``n_obs``: number of observations (``occ1``);
    ``in_atlas`` (302,): neurons among the atlas's 300.
    """

    strain: str
    dff: np.ndarray
    q: np.ndarray
    n_obs: np.ndarray
    in_atlas: np.ndarray
    citation: str = "Randi et al. 2023, Nature 623:406-414 (wormneuroatlas funatlas.h5)"

    def significant_pairs(self, q_max: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """(responding, stimulated) indices of measured pairs with q < q_max, excluding self-pairs."""
        ok = np.isfinite(self.q) & (self.q < q_max) & np.isfinite(self.dff)
        np.fill_diagonal(ok, False)
        return np.nonzero(ok)


def functional_atlas(strain: str = "wt") -> FunctionalAtlas:
    """Load the atlas for ``strain`` ``"wt"`` (wild type) or ``"unc31"`` (no dense-core
    vesicle release). Raises ``ValueError`` for other strains."""
    if strain not in ("wt", "unc31"):
        raise ValueError(f"strain = {strain!r}: use 'wt' or 'unc31'")
    import h5py
    import wormneuroatlas

    path = os.path.join(os.path.dirname(wormneuroatlas.__file__), "data", "funatlas.h5")
    with h5py.File(path, "r") as f:
        ids = [x.decode() for x in f["neuron_ids"][:]]
        dff, q, occ = (np.asarray(f[f"{strain}/{k}"][:], float) for k in ("dFF", "q", "occ1"))
    order = neurons()
    n = len(order)
    pos = []
    for name in ids:
        try:
            pos.append(order.index(normalize_name(name)))
        except KeyError:
            pos.append(-1)
    pos = np.array(pos)
    keep = np.flatnonzero(pos >= 0)
    out = [np.full((n, n), np.nan) for _ in range(2)] + [np.zeros((n, n))]
    for mat, src in zip(out, (dff, q, occ)):
        mat[np.ix_(pos[keep], pos[keep])] = src[np.ix_(keep, keep)]
    in_atlas = np.zeros(n, bool)
    in_atlas[pos[keep]] = True
    return FunctionalAtlas(strain, out[0], out[1], out[2], in_atlas)
