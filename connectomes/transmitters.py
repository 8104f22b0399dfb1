"""Neurotransmitter identity of each neuron and the resulting synapse sign.

Source: the neurotransmitter atlas of Wang et al. (2024, eLife 13:RP95402, "A
neurotransmitter atlas of C. elegans males and hermaphrodites"), as read by cect's
``Wang2024HermReader`` (``all_neurotransmitters``).

Sign rule (the convention of Kunert et al. 2014 and most graded whole-worm models, which
treat GABAergic neurons as the inhibitory ones): a neuron's outgoing chemical synapses are
inhibitory (-1) when its classical fast transmitters include GABA but neither acetylcholine
nor glutamate; otherwise excitatory (+1). ``glutamate="inhibitory"`` also makes purely
glutamatergic neurons inhibitory (glutamate-gated chloride channels are common in the worm).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .names import neurons, normalize_name, quiet_cect

__all__ = ["transmitters", "synapse_sign", "TRANSMITTER_SOURCE"]

#: Where the neurons' transmitters come from.
TRANSMITTER_SOURCE = "Wang et al. 2024, eLife 13:RP95402 (neurotransmitter atlas), via cect Wang2024HermReader"


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, ...]]:
    with quiet_cect():
        from cect.readers.Wang2024HermReader import get_instance

        reader = get_instance()
    table = {}
    for cell, nts in reader.all_neurotransmitters.items():
        try:
            name = normalize_name(cell)
        except KeyError:
            continue
        table[name] = tuple(nt for nt in nts if nt)
    return table


def transmitters(name: str) -> tuple[str, ...]:
    """Transmitters of a neuron per Wang et al. 2024 (may be empty, e.g. CAN)."""
    return _table().get(normalize_name(name), ())


def synapse_sign(glutamate: str = "excitatory") -> np.ndarray:
    """Sign (+1 / -1) of each neuron's outgoing chemical synapses, canonical order, (302,)."""
    if glutamate not in ("excitatory", "inhibitory"):
        raise ValueError(f"glutamate = {glutamate!r}: use 'excitatory' or 'inhibitory'")
    out = np.ones(len(neurons()))
    for k, n in enumerate(neurons()):
        nts = set(transmitters(n))
        fast_exc = "Acetylcholine" in nts or (glutamate == "excitatory" and "Glutamate" in nts)
        if not fast_exc and ("GABA" in nts or (glutamate == "inhibitory" and "Glutamate" in nts)):
            out[k] = -1.0
    return out
