"""One canonical naming and ordering of the 302 C. elegans hermaphrodite neurons.

The order is cect's ``Cells.PREFERRED_HERM_NEURON_NAMES`` (OpenWorm's C. elegans Connectome
Toolbox). Names are normalised the standard way: upper case, no surrounding blanks, and no
leading zero in ventral-cord indices (``DB01`` -> ``DB1``, ``VA09`` -> ``VA9``).
"""
from __future__ import annotations

import difflib
import io
import contextlib
from functools import lru_cache

__all__ = ["neurons", "normalize_name", "neuron_index", "neuron_class", "cell_type", "UnknownNeuronError"]

_VENTRAL_CORD = ("DA", "DB", "DD", "AS", "VA", "VB", "VC", "VD")


class UnknownNeuronError(KeyError, ValueError):
    """An unknown neuron name (raised by ``normalize_name``); its message lists close matches."""

    def __str__(self):  # KeyError would quote the message
        return self.args[0]


def quiet_cect():
    """cect prints progress on stdout at import and load time; keep ours clean."""
    return contextlib.redirect_stdout(io.StringIO())


@lru_cache(maxsize=1)
def neurons() -> tuple[str, ...]:
    """The 302 hermaphrodite neurons in canonical order."""
    with quiet_cect():
        from cect import Cells
    return tuple(Cells.PREFERRED_HERM_NEURON_NAMES)


@lru_cache(maxsize=1)
def _index() -> dict[str, int]:
    return {n: i for i, n in enumerate(neurons())}


def _clean(name: str) -> str:
    n = str(name).strip().upper()
    if n[:2] in _VENTRAL_CORD and n[2:].isdigit():
        n = n[:2] + str(int(n[2:]))
    return n


def normalize_name(name: str) -> str:
    """The canonical spelling of a neuron name (``"db01"`` -> ``"DB1"``).

    Raises ``UnknownNeuronError`` (a ``KeyError``) naming the input and listing close
    matches among the 302 neurons.
    """
    n = _clean(name)
    if n in _index():
        return n
    close = difflib.get_close_matches(n, neurons(), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownNeuronError(f"unknown neuron name {name!r}{hint} (valid: the 302 hermaphrodite neurons, e.g. AVAL, DB1, IL2DL)")


def neuron_index(name: str) -> int:
    """Position of a neuron in the canonical order."""
    return _index()[normalize_name(name)]


def neuron_class(name: str) -> str:
    """The anatomical class (White et al. 1986; 118 classes): AVAL -> AVA, DB1 -> DB,
    RMDDL -> RMD, IL2VR -> IL2, RMEV -> RME; RID, RIV and AVD stay themselves."""
    n = normalize_name(name)
    if n[:2] in _VENTRAL_CORD and n[2:].isdigit():
        return n[:2]
    names = _index()
    b = n
    # bilateral pair: drop the L/R suffix
    if b[-1] in "LR" and (b[:-1] + ("R" if b[-1] == "L" else "L")) in names:
        b = b[:-1]
    # four- and six-fold symmetric classes: drop the dorsal/ventral letter (never from
    # three-letter names, which are classes of their own: RID vs RIV, AVD)
    if len(b) >= 4 and b[-1] in "DV":
        other = b[:-1] + ("V" if b[-1] == "D" else "D")
        if any(x.startswith(other) for x in names):
            b = b[:-1]
    return b


@lru_cache(maxsize=1)
def _types() -> dict[str, str]:
    with quiet_cect():
        from cect import Cells
    groups = {"Sensory neurons": "sensory", "Interneurons": "inter", "Motorneurons": "motor"}
    out = {}
    for group, members in Cells.COOK_GROUPING_1.items():
        for m in members:
            out[m] = groups.get(group, "other")
    return out


def cell_type(name: str) -> str:
    """``"sensory"``, ``"inter"``, ``"motor"`` or ``"other"`` (pharyngeal neurons and CAN),
    as grouped by Cook et al. (2019) in cect's ``Cells.COOK_GROUPING_1``."""
    return _types().get(normalize_name(name), "other")
