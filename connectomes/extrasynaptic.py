"""Extrasynaptic (wireless) connectomes: which neuron's released neuropeptide or monoamine
can reach a receptor on which other neuron, read with cect in the canonical order.

* Ripoll-Sanchez et al. (2023, Neuron 111:3570-3589), the neuropeptide connectome from
  single-cell expression of neuropeptide precursors and their deorphanised GPCRs, in the
  paper's three diffusion models: ``short`` (processes in the same bundle), ``mid`` (same
  nerve ring / cord region), ``long`` (anywhere); entries count the distinct
  peptide-receptor pathways from one neuron to another;
* Bentley et al. (2016, PLoS Comput. Biol. 12:e1005283): the monoamine and the
  neuropeptide networks of their multilayer connectome (release x receptor expression).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .datasets import reader_matrices

__all__ = ["EXTRASYNAPTIC", "extrasynaptic"]

EXTRASYNAPTIC = {
    "neuropeptide_short": ("RipollSanchezShortRangeReader", "Ripoll-Sanchez et al. 2023, Neuron 111:3570 (short-range model)"),
    "neuropeptide_mid": ("RipollSanchezMidRangeReader", "Ripoll-Sanchez et al. 2023, Neuron 111:3570 (mid-range model)"),
    "neuropeptide_long": ("RipollSanchezLongRangeReader", "Ripoll-Sanchez et al. 2023, Neuron 111:3570 (long-range model)"),
    "monoamine_bentley2016": ("Bentley2016MAReader", "Bentley et al. 2016, PLoS Comput. Biol. 12:e1005283 (monoamines)"),
    "neuropeptide_bentley2016": ("Bentley2016PepReader", "Bentley et al. 2016, PLoS Comput. Biol. 12:e1005283 (neuropeptides)"),
}
"""name -> (cect reader, citation)."""


@lru_cache(maxsize=None)
def _matrix(name: str) -> np.ndarray:
    mats, _ = reader_matrices(EXTRASYNAPTIC[name][0])
    out = sum(mats.values())
    np.fill_diagonal(out, 0.0)  # autocrine signalling is not a connection between neurons
    out.setflags(write=False)
    return out


def extrasynaptic(name: str) -> np.ndarray:
    """The (302, 302) [releasing, receiving] extrasynaptic connectome ``name`` (counts of
    pathways, >= 0, zero diagonal; read-only). Raises ``KeyError`` listing the names."""
    if name not in EXTRASYNAPTIC:
        raise KeyError(f"unknown extrasynaptic connectome {name!r}; available: {', '.join(EXTRASYNAPTIC)}")
    return _matrix(name)
