"""Reading, writing and walking NIR graphs, with clear errors for what neurosim cannot use."""
from __future__ import annotations

import os
from pathlib import Path

import nir

from neurosim.atomic import atomic_write

from .neurons import NIRConversionError

__all__ = ["NIRFileError", "read_graph", "write_graph", "chain"]


class NIRFileError(ValueError):
    """A file that is not a readable NIR graph: missing, not HDF5, truncated, or with
    nodes ``nir`` cannot parse."""


def read_graph(graph) -> nir.NIRGraph:
    """``graph`` itself if it is a ``nir.NIRGraph``, else the graph in the ``.nir`` file at
    that path. Raises ``NIRFileError`` for a missing or unreadable file."""
    if isinstance(graph, nir.NIRGraph):
        return graph
    if not isinstance(graph, (str, os.PathLike)):
        raise NIRConversionError(f"expected a nir.NIRGraph or the path of a .nir file, got {type(graph).__name__}")
    path = Path(graph)
    if not path.is_file():
        raise NIRFileError(f"{path}: no such NIR file")
    try:
        try:
            g = nir.read(path)
        except ValueError as exc:
            if "No input nodes found" not in str(exc):
                raise
            g = nir.read(path, type_check=False)  # an autonomous network: nir's type inference needs an Input
    except Exception as exc:  # h5py, nir and numpy raise many kinds on corrupt files
        raise NIRFileError(f"{path}: not a readable NIR graph ({type(exc).__name__}: {exc})") from exc
    if not isinstance(g, nir.NIRGraph):
        raise NIRFileError(f"{path}: holds a single {type(g).__name__} node, not a NIRGraph")
    return g


def write_graph(graph: nir.NIRGraph, path) -> Path:
    """Write ``graph`` to ``path`` (``.nir``, HDF5) atomically (``neurosim.atomic``: a
    temporary file in the same folder, renamed over ``path`` once complete)."""
    return atomic_write(path, lambda tmp: nir.write(tmp, graph))


def chain(g: nir.NIRGraph) -> list:
    """The nodes of ``g`` as ``[(name, node), ...]`` from its one ``Input`` to its one
    ``Output``. Raises ``NIRConversionError`` naming the node for anything but a single
    chain: several inputs or outputs, branches, joins, cycles, nested graphs (snnTorch's
    recurrent ``RLeaky``/``RSynaptic``), unconnected nodes, edges to unknown nodes."""
    nodes, edges = dict(g.nodes), [tuple(e) for e in g.edges]
    for name, node in nodes.items():
        if isinstance(node, nir.NIRGraph):
            raise NIRConversionError(f"node {name!r} is a nested NIRGraph (a recurrent layer such as snnTorch's RLeaky/RSynaptic); "
                                     "neurosim imports feed-forward chains")
    succ, pred = {}, {}
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise NIRConversionError(f"edge ({a!r}, {b!r}) names an unknown node {end!r}")
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    inputs = [n for n, v in nodes.items() if isinstance(v, nir.Input)]
    if len(inputs) != 1:
        raise NIRConversionError(f"the graph has {len(inputs)} Input nodes ({inputs}); a neurosim model has exactly one")
    order, name = [], inputs[0]
    while True:
        order.append((name, nodes[name]))
        if isinstance(nodes[name], nir.Output):
            break
        nxt = succ.get(name, [])
        if len(nxt) != 1:
            raise NIRConversionError(f"node {name!r} has {len(nxt)} outgoing edges; neurosim imports chains (one edge each, "
                                     "ending in one Output)")
        name = nxt[0]
        if len(pred.get(name, [])) != 1:
            raise NIRConversionError(f"node {name!r} has {len(pred[name])} incoming edges (a join or a cycle); neurosim imports chains")
        if any(name == n for n, _ in order):
            raise NIRConversionError(f"node {name!r} closes a cycle; neurosim imports feed-forward chains")
    missing = sorted(set(nodes) - {n for n, _ in order})
    if missing:
        raise NIRConversionError(f"nodes {missing} are not on the chain from {inputs[0]!r} to the Output")
    return order
