"""Published connectomes in one homogenised view (the idea of Simeon et al. 2024), read
with cect (OpenWorm's C. elegans Connectome Toolbox) and cached."""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurosim.atomic import atomic_savez

from .names import cell_type, neuron_class, neurons, normalize_name, quiet_cect
from .transmitters import TRANSMITTER_SOURCE, synapse_sign, transmitters

__all__ = ["Connectome", "DATASETS", "available", "load", "cache_dir"]

_CACHE_FORMAT = 1


@dataclass(frozen=True)
class _Dataset:
    reader: str  # module under cect.readers
    citation: str


#: The connectome datasets ``load`` knows: name -> its cect reader and description.
DATASETS: dict[str, _Dataset] = {
    "cook2019_herm": _Dataset("Cook2019HermReader", "Cook et al. 2019, Nature 571:63-71, adult hermaphrodite whole-animal connectome"),
    **{f"witvliet2021_{k}": _Dataset(f"WitvlietDataReader{k}", f"Witvliet et al. 2021, Nature 596:257-261, dataset {k} "
                                      f"({['L1', 'L1', 'L1', 'L1', 'L2', 'L3', 'adult', 'adult'][k - 1]})") for k in range(1, 9)},
    "white1986_whole": _Dataset("White_whole", "White et al. 1986, Phil. Trans. R. Soc. B 314:1-340 (whole animal, as curated in cect)"),
    "varshney2011": _Dataset("VarshneyDataReader", "Varshney et al. 2011, PLoS Comput. Biol. 7:e1001066"),
    "openworm": _Dataset("OpenWormUnifiedReader", "OpenWorm unified connectome (cect OpenWormUnifiedReader): Cook et al. 2019 "
                                                   "synapses split by the transmitter of Wang et al. 2024"),
}


def available() -> list[str]:
    """Names accepted by ``load``."""
    return list(DATASETS)


@dataclass(frozen=True, eq=False)
class Connectome:
    """One connectome in the canonical 302-neuron order (``connectomes.names.neurons()``).

    ``chemical`` (302, 302) chemical synapse counts indexed [pre, post]; ``gap`` (302, 302)
    gap-junction counts, symmetric; ``present`` (302,) whether the dataset has the neuron
    (absent neurons keep zero rows and columns); per neuron: ``neuron_class``, ``cell_type``
    (sensory/inter/motor/other), ``transmitter`` (Wang et al. 2024) and ``sign`` (+1/-1 of
    its outgoing chemical synapses, see ``connectomes.transmitters``).
    """

    name: str
    neurons: tuple
    chemical: np.ndarray
    gap: np.ndarray
    present: np.ndarray
    citation: str
    neuron_class: tuple
    cell_type: tuple
    transmitter: tuple
    sign: np.ndarray
    transmitter_source: str = TRANSMITTER_SOURCE

    def index(self, name: str) -> int:
        """Position of neuron ``name`` (normalised; ``KeyError`` listing close matches)."""
        return self.neurons.index(normalize_name(name))

    def indices(self, names) -> np.ndarray:
        """Positions of several neurons, (len(names),) int64."""
        return np.array([self.index(n) for n in names], dtype=np.int64)

    @property
    def n_connected(self) -> int:
        """Neurons with at least one chemical synapse or gap junction."""
        return int(np.count_nonzero((self.chemical.sum(0) + self.chemical.sum(1) + self.gap.sum(1)) > 0))

    def summary(self) -> dict:
        """Counts: neurons present and connected, chemical connections (pairs) and synapses,
        gap-junction pairs and gap junctions (upper triangle, self-contacts included)."""
        return {"name": self.name, "neurons_present": int(self.present.sum()), "neurons_connected": self.n_connected,
                "chemical_connections": int(np.count_nonzero(self.chemical)), "chemical_synapses": float(self.chemical.sum()),
                "gap_junction_pairs": int(np.count_nonzero(np.triu(self.gap))), "gap_junctions": float(np.triu(self.gap).sum())}


def cache_dir() -> Path:
    """``$NEUROSIM_CACHE`` or ``$XDG_CACHE_HOME/neurosim`` (default ``~/.cache/neurosim``)."""
    base = os.environ.get("NEUROSIM_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "neurosim")
    return Path(base) / "connectomes"


def _cache_key() -> str:
    import cect

    return f"cect{cect.__version__}-f{_CACHE_FORMAT}"


def reader_matrices(reader: str) -> tuple[dict, np.ndarray]:
    """Every connection class of a cect reader (``cect.readers.<reader>``) as a (302, 302)
    [pre, post] matrix in the canonical order, and the (302,) mask of neurons it has;
    cells that are not one of the 302 neurons (muscles, ...) are dropped."""
    with quiet_cect():
        obj = importlib.import_module(f"cect.readers.{reader}").get_instance()
    pos = {n: i for i, n in enumerate(neurons())}
    src, dst = [], []
    for k, node in enumerate(obj.nodes):
        try:
            n = normalize_name(node)
        except KeyError:
            continue  # muscles and other cells
        src.append(k)
        dst.append(pos[n])
    src, dst = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)
    n = len(pos)
    out = {}
    for cls, mat in obj.connections.items():
        full = np.zeros((n, n))
        full[np.ix_(dst, dst)] = np.asarray(mat, float)[np.ix_(src, src)]
        out[cls] = full
    present = np.zeros(n, bool)
    present[dst] = True
    return out, present


def _read_with_cect(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mats, present = reader_matrices(DATASETS[name].reader)
    n = present.size
    chem = np.zeros((n, n))
    gap = np.zeros((n, n))
    for cls, mat in mats.items():
        target = gap if cls == "Generic_GJ" else chem
        target += mat
    return chem, gap, present


def _read_cache(path: Path, n: int):
    """(chemical, gap, present) from a cache file, or None when the file is unreadable or its
    arrays are not what ``_read_with_cect`` writes (finite counts >= 0 of shape (n, n), a
    symmetric gap matrix, a boolean (n,) mask)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            chem, gap, present = z["chemical"], z["gap"], z["present"]
    except Exception:  # damaged bytes raise zipfile, zlib, numpy or key errors alike
        return None
    counts_ok = all(a.shape == (n, n) and a.dtype.kind == "f" and np.all(np.isfinite(a)) and a.min(initial=0) >= 0 for a in (chem, gap))
    if not (counts_ok and np.array_equal(gap, gap.T) and present.shape == (n,) and present.dtype == bool):
        return None
    return chem, gap, present


def load(name: str = "cook2019_herm", cache: bool = True) -> Connectome:
    """Load a connectome by name (see ``available()``).

    Reading the Excel sources with cect takes up to ~10 s; the result is cached as ``.npz``
    in ``cache_dir()``, keyed by the cect version; a cache file that is damaged or holds
    arrays of the wrong shape or type is rebuilt. Raises ``KeyError`` listing the valid
    names for an unknown dataset.
    """
    if name not in DATASETS:
        raise KeyError(f"unknown connectome {name!r}; available: {', '.join(available())}")
    path = cache_dir() / f"{name}-{_cache_key()}.npz"
    arrays = None
    if cache and path.is_file():
        arrays = _read_cache(path, len(neurons()))  # None (rebuilt below) when damaged or malformed
    if arrays is None:
        arrays = _read_with_cect(name)
        if cache:
            atomic_savez(path, {"chemical": arrays[0], "gap": arrays[1], "present": arrays[2]})
    chem, gap, present = arrays
    order = neurons()
    return Connectome(
        name=name, neurons=order, chemical=chem, gap=gap, present=present, citation=DATASETS[name].citation,
        neuron_class=tuple(neuron_class(n) for n in order), cell_type=tuple(cell_type(n) for n in order),
        transmitter=tuple("+".join(transmitters(n)) for n in order), sign=synapse_sign(),
    )
