"""Which fast receptors each neuron expresses for acetylcholine, glutamate and GABA: the
excitatory (cation channel) share of its ionotropic receptor expression.

Sources: the receptor gene table of Fenyves, Szilágyi, Vassy, Sőti & Csermely (2020, PLoS
Comput. Biol. 16:e1007974, S3 table: e.g. glutamate's GLR/NMR subunits excitatory, GLC/AVR
chloride channels inhibitory) and single-cell expression from CeNGEN (Taylor et al. 2021,
Cell 184:4329), both as shipped with ``wormneuroatlas`` (Randi et al. 2023). For each
transmitter and neuron: share = TPM(excitatory genes) / (TPM(excitatory) + TPM(inhibitory))
at CeNGEN's expression threshold ``threshold`` (1 liberal ... 4 stringent); NaN where the
neuron expresses none of them or CeNGEN has no data for it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .names import neuron_class, neurons, quiet_cect

__all__ = ["RECEPTOR_TRANSMITTERS", "receptor_shares", "cengen_members"]

RECEPTOR_TRANSMITTERS = {"acetylcholine": "ACh", "glutamate": "Glu", "gaba": "GABA"}
"""Our transmitter class -> the receptor table's name."""

# CeNGEN groups that are not one anatomical class (neuron_class) of ours
_CENGEN_GROUPS = {
    "AWC_OFF": ("AWCL", "AWCR"), "AWC_ON": ("AWCL", "AWCR"),  # ON/OFF is chosen at random per animal: average
    "DA9": ("DA9",), "DB01": ("DB1",), "VA12": ("VA12",), "VB01": ("VB1",), "VB02": ("VB2",), "VC_4_5": ("VC4", "VC5"),
    "IL2_DV": ("IL2DL", "IL2DR", "IL2VL", "IL2VR"), "IL2_LR": ("IL2L", "IL2R"),
    "RMD_DV": ("RMDDL", "RMDDR", "RMDVL", "RMDVR"), "RMD_LR": ("RMDL", "RMDR"),
    "RME_DV": ("RMED", "RMEV"), "RME_LR": ("RMEL", "RMER"), "ASEL": ("ASEL",), "ASER": ("ASER",),
}


def cengen_members(cengen_ids) -> dict[str, tuple[str, ...]]:
    """Our neuron names in each CeNGEN group (a neuron listed in a special group, e.g. DA9,
    is not also counted in its class's group, DA)."""
    special = {n for m in _CENGEN_GROUPS.values() for n in m}
    classes = {}
    for n in neurons():
        classes.setdefault(neuron_class(n), []).append(n)
    out = {}
    for cid in map(str, cengen_ids):
        if cid in _CENGEN_GROUPS:
            out[cid] = _CENGEN_GROUPS[cid]
        elif cid == "VD_DD":
            out[cid] = tuple(classes["VD"] + classes["DD"])
        else:
            out[cid] = tuple(n for n in classes.get(cid, ()) if n not in special)
    return out


@lru_cache(maxsize=4)
def receptor_shares(threshold: int = 4) -> dict[str, np.ndarray]:
    """{transmitter class: (302,) excitatory share in [0, 1] or NaN} (module docstring)."""
    if threshold not in (1, 2, 3, 4):
        raise ValueError(f"threshold = {threshold!r}: CeNGEN thresholds are 1 (liberal) to 4 (stringent)")
    with quiet_cect():
        from wormneuroatlas.Cengen import Cengen
        from wormneuroatlas.SynapseSign import SynapseSign

        cengen, table = Cengen(), SynapseSign()
    members = cengen_members(cengen.neuron_ids)
    index = {n: i for i, n in enumerate(neurons())}
    out = {}
    for ours, theirs in RECEPTOR_TRANSMITTERS.items():
        exc = np.nansum(cengen.get_expression(gene_names=table.get_receptors_for(theirs, "pos"), th=threshold), 1)
        inh = np.nansum(cengen.get_expression(gene_names=table.get_receptors_for(theirs, "neg"), th=threshold), 1)
        pos, neg = np.zeros(len(index)), np.zeros(len(index))
        count = np.zeros(len(index))
        for k, cid in enumerate(map(str, cengen.neuron_ids)):
            for n in members[cid]:
                pos[index[n]] += exc[k]
                neg[index[n]] += inh[k]
                count[index[n]] += 1
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where((count > 0) & (pos + neg > 0), pos / (pos + neg), np.nan)
        share.setflags(write=False)
        out[ours] = share
    return out
