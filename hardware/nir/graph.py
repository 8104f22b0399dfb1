"""Reading, writing and walking NIR graphs, with clear errors for what neurosim cannot use."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import nir
import numpy as np

from neurosim.atomic import atomic_write

from .neurons import NIRConversionError

__all__ = ["NIRFileError", "read_graph", "write_graph", "chain", "is_chain", "inline_subgraphs", "check_values", "MAX_DATASET_ENTRIES", "MAX_FILE_ENTRIES", "NIR_NODE_TYPES"]

MAX_DATASET_ENTRIES = 2**25
"""Most entries any one array of a ``.nir`` file may declare (33.5 M: a dense weight matrix of
that size is what ``network_to_nir`` writes at most); checked before anything is read."""

MAX_FILE_ENTRIES = 2**27
"""Most entries all arrays of a ``.nir`` file together may declare (1 GiB of float64)."""

NIR_NODE_TYPES = ("Affine", "AvgPool2d", "Conv1d", "Conv2d", "CubaLI", "CubaLIF", "Delay", "Flatten", "I", "IF", "Input", "LI",
                  "LIF", "Linear", "NIRGraph", "Output", "Scale", "SumPool2d", "Threshold")
"""The node types of NIR 1.x (what ``nir.read`` parses)."""


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
    _scan(path)
    try:
        try:
            g = nir.read(path)
        except ValueError as exc:
            if "No input nodes found" in str(exc):
                g = nir.read(path, type_check=False)  # an autonomous network: nir's type inference needs an Input
            elif "Type inference error" in str(exc):
                # declared port shapes that disagree (Rockpool writes a (1,) LIF into a (1, 1, 1) Output): read the
                # nodes anyway; the conversions check every shape they use
                warnings.warn(f"{path}: {exc}; read without nir's type check", UserWarning, stacklevel=2)
                g = nir.read(path, type_check=False)
            else:
                raise
    except Exception as exc:  # h5py, nir and numpy raise many kinds on corrupt files
        raise NIRFileError(f"{path}: not a readable NIR graph ({type(exc).__name__}: {exc})") from exc
    if not isinstance(g, nir.NIRGraph):
        raise NIRFileError(f"{path}: holds a single {type(g).__name__} node, not a NIRGraph")
    return g


def _scan(path: Path) -> None:
    """Check a ``.nir`` file's declared structure before ``nir.read`` loads it: HDF5 with a
    ``node`` group, every node of a known type, and no array declaring more entries than
    ``MAX_DATASET_ENTRIES`` (all together: ``MAX_FILE_ENTRIES``). Only shapes and the small
    ``type`` strings are read, so a decompression bomb (a few kB declaring GBs of
    compressed zeros) is refused at once. Raises ``NIRFileError``."""
    import h5py
    import numpy as np

    try:
        f = h5py.File(path, "r")
    except Exception as exc:  # noqa: BLE001 - not HDF5, truncated, locked...
        raise NIRFileError(f"{path}: not a readable NIR graph (not an HDF5 file: {exc})") from exc
    with f:
        if not isinstance(f.get("node"), h5py.Group):
            raise NIRFileError(f"{path}: not a NIR graph (the HDF5 file has no 'node' group)")
        total = [0]

        def check(name, obj):
            if isinstance(obj, h5py.Dataset):
                n = int(np.prod(obj.shape, dtype=np.float64)) if obj.shape is not None else 0
                if n > MAX_DATASET_ENTRIES:
                    raise NIRFileError(f"{path}: array {name!r} declares shape {obj.shape} ({n:,} entries), more than "
                                       f"MAX_DATASET_ENTRIES = {MAX_DATASET_ENTRIES:,}; refused before reading it")
                total[0] += n
                if total[0] > MAX_FILE_ENTRIES:
                    raise NIRFileError(f"{path}: its arrays declare more than MAX_FILE_ENTRIES = {MAX_FILE_ENTRIES:,} entries "
                                       "in all; refused before reading them")
            elif isinstance(obj, h5py.Group) and "type" in obj and (name == "node" or name.rsplit("/", 2)[-2] == "nodes"):
                typ = obj["type"]
                if not isinstance(typ, h5py.Dataset) or typ.shape not in ((), (1,)) or typ.dtype.kind not in "SOU":
                    raise NIRFileError(f"{path}: node {name!r} has a malformed 'type' entry")
                raw = typ[()]
                raw = raw.item() if hasattr(raw, "item") and not isinstance(raw, bytes) else raw
                kind = raw.decode("utf8", "replace") if isinstance(raw, bytes) else str(raw)
                if kind not in NIR_NODE_TYPES:
                    raise NIRFileError(f"{path}: node {name!r} has type {kind[:40]!r}, which NIR 1.x does not define "
                                       f"(known: {', '.join(NIR_NODE_TYPES)})")

        try:
            f.visititems(check)
        except NIRFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged object header
            raise NIRFileError(f"{path}: not a readable NIR graph ({type(exc).__name__}: {exc})") from exc


def write_graph(graph: nir.NIRGraph, path) -> Path:
    """Write ``graph`` to ``path`` (``.nir``, HDF5) atomically (``neurosim.atomic``: a
    temporary file in the same folder, renamed over ``path`` once complete)."""
    return atomic_write(path, lambda tmp: nir.write(tmp, graph))


def chain(g: nir.NIRGraph) -> list:
    """The nodes of ``g`` as ``[(name, node), ...]`` from its one ``Input`` to its one
    ``Output`` when ``g`` is a single chain (``from_nir`` reads any other topology into a
    ``neurosim.nn.Graph``). Raises ``NIRConversionError`` naming the node for anything else:
    several inputs or outputs, branches, joins, cycles, nested graphs (``inline_subgraphs``
    first), unconnected nodes, edges to unknown nodes."""
    nodes, edges = dict(g.nodes), [tuple(e) for e in g.edges]
    for name, node in nodes.items():
        if isinstance(node, nir.NIRGraph):
            raise NIRConversionError(f"node {name!r} is a nested NIRGraph (a recurrent layer such as snnTorch's RLeaky/RSynaptic); "
                                     "inline it first (inline_subgraphs)")
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
            raise NIRConversionError(f"node {name!r} has {len(nxt)} outgoing edges; a chain has one each, ending in one Output")
        name = nxt[0]
        if len(pred.get(name, [])) != 1:
            raise NIRConversionError(f"node {name!r} has {len(pred[name])} incoming edges (a join or a cycle); a chain has one each")
        if any(name == n for n, _ in order):
            raise NIRConversionError(f"node {name!r} closes a cycle; a chain has none")
    missing = sorted(set(nodes) - {n for n, _ in order})
    if missing:
        raise NIRConversionError(f"nodes {missing} are not on the chain from {inputs[0]!r} to the Output")
    return order


def is_chain(g: nir.NIRGraph) -> bool:
    """Whether every node of ``g`` has at most one incoming and one outgoing edge (and none
    is a nested graph): what ``chain`` walks; anything else is a general graph."""
    ins, outs = {}, {}
    for a, b in g.edges:
        outs[a] = outs.get(a, 0) + 1
        ins[b] = ins.get(b, 0) + 1
    return (not any(isinstance(v, nir.NIRGraph) for v in g.nodes.values())
            and max(ins.values(), default=0) <= 1 and max(outs.values(), default=0) <= 1)


def inline_subgraphs(g: nir.NIRGraph) -> nir.NIRGraph:
    """``g`` with every nested ``NIRGraph`` node (a subgraph, such as snnTorch's recurrent
    ``RLeaky``/``RSynaptic``) replaced by its nodes, named ``"<subgraph>.<node>"``: an edge
    into the subgraph (named ``sub`` or ``sub.<its Input>``) goes to what its ``Input``
    feeds, an edge out of it (``sub`` or ``sub.<its Output>``) leaves from what feeds its
    ``Output``. Recursive; ``g`` itself when it nests nothing. Raises
    ``NIRConversionError`` for a subgraph without exactly one ``Input`` and one ``Output``."""
    if not any(isinstance(v, nir.NIRGraph) for v in g.nodes.values()):
        return g
    nodes, edges = {}, [tuple(e) for e in g.edges]
    entry, exit_ = {}, {}  # outer endpoint name -> inner node names
    for name, node in g.nodes.items():
        if not isinstance(node, nir.NIRGraph):
            nodes[name] = node
            continue
        sub = inline_subgraphs(node)
        ins = [n for n, v in sub.nodes.items() if isinstance(v, nir.Input)]
        outs = [n for n, v in sub.nodes.items() if isinstance(v, nir.Output)]
        if len(ins) != 1 or len(outs) != 1:
            raise NIRConversionError(f"node {name!r} is a subgraph with {len(ins)} Input and {len(outs)} Output nodes; "
                                     "neurosim inlines subgraphs with one of each")
        for n, v in sub.nodes.items():
            if n not in (ins[0], outs[0]):
                nodes[f"{name}.{n}"] = v
        first = [f"{name}.{b}" for a, b in sub.edges if a == ins[0]]
        last = [f"{name}.{a}" for a, b in sub.edges if b == outs[0]]
        for key in (name, f"{name}.{ins[0]}"):
            entry[key] = first
        for key in (name, f"{name}.{outs[0]}"):
            exit_[key] = last
        edges += [(f"{name}.{a}", f"{name}.{b}") for a, b in sub.edges if a != ins[0] and b != outs[0]]
    flat = []
    for a, b in edges:
        for src in exit_.get(a, [a]):
            flat += [(src, dst) for dst in entry.get(b, [b])]
    return nir.NIRGraph(nodes=nodes, edges=list(dict.fromkeys(flat)), type_check=False, metadata=dict(g.metadata or {}))


def check_values(node, where: str) -> None:
    """No NaN in any parameter of ``node``, and no infinity outside ``v_threshold`` (+inf:
    a readout that never fires). Raises ``NIRConversionError`` naming the node (``where``)
    and the parameter."""
    for f in getattr(node, "__dataclass_fields__", {}):
        if f in ("metadata", "input_type", "output_type"):
            continue
        value = getattr(node, f)
        if isinstance(value, (nir.NIRNode, str, bytes, dict)) or value is None:
            continue
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            continue
        bad = np.isnan(arr) if f == "v_threshold" else ~np.isfinite(arr)
        if bad.any():
            raise NIRConversionError(f"{where}: {f} has {int(bad.sum())} NaN or infinite values (of {arr.size}); parameters "
                                     "must be finite")
