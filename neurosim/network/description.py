"""The ``Network``: a complete model, plain data validated on construction."""
from __future__ import annotations

import os
from dataclasses import dataclass

from .elements import Node, Population
from .validation import validate_network

__all__ = ["Network"]


@dataclass(frozen=True, eq=False)
class Network:
    """A complete model: populations and sources (by name), projections, gap junctions,
    current injections and ``glia``: the links of astrocyte populations
    (``SynapseToAstrocyte``, ``AstrocyteToSynapse``, ``AstrocyteGapJunctions``).

    Every quantity is in SI units, delays included (seconds): a ``Network`` has no time
    step. An engine discretises it once, at its own ``dt`` (``neurosim.network.flat``), and
    refuses what it cannot hold (a delay that is not a whole number of its steps, or longer
    than its delay buffer).

    Raises ``ValueError`` naming the offending element for duplicate or unknown names,
    indices out of range, CSR shape mismatches, projection targets that do not fit the
    pre/post models, and current injections into unknown neurons.
    """

    populations: tuple = ()
    sources: tuple = ()
    projections: tuple = ()
    gap_junctions: tuple = ()
    inputs: tuple = ()
    glia: tuple = ()

    def __post_init__(self):
        for attr in ("populations", "sources", "projections", "gap_junctions", "inputs", "glia"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        validate_network(self)

    # ------------------------------------------------------------------ queries
    def node(self, name: str) -> Node:
        """The population or source called ``name`` (``KeyError`` listing the names)."""
        for n in (*self.populations, *self.sources):
            if n.name == name:
                return n
        raise KeyError(f"no population or source named {name!r}; known: {[n.name for n in (*self.populations, *self.sources)]}")

    def population(self, name: str) -> Population:
        """The population called ``name`` (``KeyError`` listing the names)."""
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population named {name!r}; known: {[p.name for p in self.populations]}")

    @property
    def n_neurons(self) -> int:
        """Neurons of all populations (sources not counted)."""
        return sum(p.size for p in self.populations)

    @property
    def n_synapses(self) -> int:
        """Synapses of all projections."""
        return sum(p.n_synapses for p in self.projections)

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` (``.npz``) atomically, without pickle (``neurosim.network.io``).
        Function-valued current injections cannot be saved (``ValueError``)."""
        from .io import save_network

        save_network(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike, dt: float | None = None) -> "Network":
        """Read a network written by ``save`` (``neurosim.network.io.load_network``: raises
        ``FileNotFoundError`` for a missing file and ``NetworkFileError``, a ``ValueError``,
        naming the file and what is wrong for everything else). ``dt``: only for files saved
        before delays were in seconds (format 1, delays in steps): the time step they were
        made for, which converts each delay of d steps to (d - 1) dt seconds."""
        from .io import load_network

        return load_network(path, dt)
