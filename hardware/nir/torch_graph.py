"""Trained ``neurosim.nn`` models to NIR graphs and back.

A model is a chain of stateless layers (``Linear``, ``Conv1d``, ``Conv2d``, ``AvgPool2d``, ``Flatten``,
optionally inside ``neurosim.nn.Lift``) and neuron layers (``CubaLIF``, ``LIF``, ``LI``);
NIR's shapes have no time or batch axis, so ``Flatten`` dimensions are written counting
from the first axis after the batch (NIR's ``start_dim = 0`` is torch's ``start_dim = 1``),
and snnTorch's and Norse's importers, which pass them to ``torch.nn.Flatten`` unchanged,
must be run on single samples without a batch axis (see ``peers``).
"""
from __future__ import annotations

import nir
import numpy as np
import torch

from neurosim import nn as snn

from .graph import chain, check_values, inline_subgraphs, is_chain, read_graph
from .neurons import NEURON_NODES, NIRConversionError, check_euler_dt, meta_str
from .torch_nodes import NEURON_LAYERS, SKIP, Scale, fold_gain, layer_node, neuron_layer, stateless_module

__all__ = ["to_nir", "from_nir"]

def _layers(model) -> list:
    if hasattr(model, "layers") and callable(model.layers):
        return list(model.layers())
    if isinstance(model, (torch.nn.Sequential, list, tuple)):
        return list(model)
    raise NIRConversionError(f"cannot export {type(model).__name__}: give a torch.nn.Sequential, neurosim.nn.Sequential, a list "
                             "of layers, or a model with a layers() method (circuits.nmnist.classifier.NMNISTNet)")


def to_nir(model, input_shape, euler_dt: float | None = None, sum_pooling: bool = False) -> nir.NIRGraph:
    """The NIR graph of a ``neurosim.nn`` model (a ``torch.nn.Sequential``, a list of
    layers, or an object with ``layers()`` such as ``circuits.nmnist.classifier.NMNISTNet``) whose
    samples have ``input_shape`` (no time or batch axis, e.g. (2, 34, 34)).

    Nodes ``input``, ``0_conv2d``, ``1_cubalif``, ..., ``output`` in a chain; a
    ``neurosim.nn.Graph`` keeps its node names and edges (joins, skip connections, cycles). Neuron
    layers are written under the discretisation ``euler_dt`` (``hardware.nir.neurons``:
    ``None`` writes the exact continuous-time model; ``SNNTORCH_DT`` makes snnTorch's
    importer reproduce neurosim's steps, Norse's with ``from_nir(graph, dt=euler_dt)``).
    An ``LI`` readout becomes a ``CubaLIF`` with ``v_threshold = +inf``. ``sum_pooling``
    writes average pooling as ``SumPool2d`` with the 1/(kh kw) folded into the next weight
    layer (Norse 1.1 imports ``SumPool2d`` but not ``AvgPool2d``).

    Raises ``NIRConversionError`` naming the layer for layers NIR or this exporter cannot
    express (recurrence, refractory periods, ceil-mode or padded pooling, ...).
    """
    h = check_euler_dt(euler_dt)
    shape = tuple(int(s) for s in input_shape)
    if isinstance(model, snn.Graph):
        return _graph_to_nir(model, shape, h)
    nodes = {"input": nir.Input(input_type=np.array(shape))}
    edges, prev, pending_scale = [], "input", None
    for i, layer in enumerate(_layers(model)):
        where = f"layer {i} ({type(layer).__name__})"
        if isinstance(layer.module if isinstance(layer, snn.Lift) else layer, SKIP):
            continue
        node, suffix, shape, pending_scale = layer_node(layer, shape, h, where, sum_pooling, pending_scale)
        name = f"{i}_{suffix}"
        nodes[name] = node
        edges.append((prev, name))
        prev = name
    if pending_scale is not None:
        raise NIRConversionError("sum_pooling: the model ends with a pooling layer; nothing after it can take its 1/(kh kw)")
    nodes["output"] = nir.Output(output_type=np.array(shape))
    edges.append((prev, "output"))
    try:
        return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"neurosim_euler_dt": 0.0 if h is None else h})
    except ValueError as exc:  # nir's own shape inference
        raise NIRConversionError(f"the layers' shapes do not fit together: {exc}") from exc


def _graph_to_nir(model: snn.Graph, shape: tuple, h) -> nir.NIRGraph:
    """``to_nir`` for a ``neurosim.nn.Graph``: the same node names and edges (recurrent ones
    included: NIR's edges carry no delay, and its readers give a cycle the one-step semantics
    of ``neurosim.nn.graph.evaluation_order``); its input node becomes the ``Input``, its
    output node (an identity) the ``Output``."""
    shapes, nodes = {model.input: shape}, {model.input: nir.Input(input_type=np.array(shape))}
    for name in model.order:
        ins = {shapes[a] for a in model.inputs_of[name] if a in shapes}  # recurrent inputs come later, with the same shape
        if len(ins) != 1:
            raise NIRConversionError(f"node {name!r}: its inputs have shapes {sorted(ins)}; a join needs one shape")
        (in_shape,) = ins
        module = model.layers[model.names[name]]
        where = f"node {name!r} ({type(module).__name__})"
        if name == model.output:
            if not isinstance(module, SKIP):
                raise NIRConversionError(f"{where}: the output node must be an identity (NIR's Output)")
            nodes[name], shapes[name] = nir.Output(output_type=np.array(in_shape)), in_shape
            continue
        if isinstance(module.module if isinstance(module, snn.Lift) else module, SKIP):
            raise NIRConversionError(f"{where}: an identity inside a graph has no NIR node; wire its edges past it")
        nodes[name], _, shapes[name], _ = layer_node(module, in_shape, h, where)
    try:
        return nir.NIRGraph(nodes=nodes, edges=list(model.edges),
                            metadata={"neurosim_euler_dt": 0.0 if h is None else h, "neurosim_container": "Graph"})
    except ValueError as exc:
        raise NIRConversionError(f"the layers' shapes do not fit together: {exc}") from exc


def from_nir(graph, dt: float | None = None, euler_dt: float | None = None, reset: str = "hard"):
    """A ``neurosim.nn.Sequential`` running the NIR ``graph`` (a ``nir.NIRGraph`` or a
    ``.nir`` file) when it is a chain, else a ``neurosim.nn.Graph`` of its nodes and edges
    (joins summed, skip connections, cycles: a recurrent edge carries its source's output of
    the step before, ``neurosim.nn.graph.evaluation_order``); nested subgraphs (snnTorch's
    recurrent layers) are inlined as ``"<subgraph>.<node>"`` (``hardware.nir.graph.inline_subgraphs``).
    Nodes: one ``Input`` and one ``Output``, ``Affine``,
    ``Linear``, ``Conv1d``, ``Conv2d``, ``AvgPool2d``, ``SumPool2d``, ``Flatten``, ``Scale`` and the
    neuron nodes ``CubaLIF``, ``LIF``, ``IF``, ``LI``, ``CubaLI`` (``hardware.nir.neurons``; ``IF``
    becomes ``neurosim.nn.IF``, read per step as Sinabs and Norse read it).
    Stateless layers are wrapped in ``neurosim.nn.Lift``; the model maps (T, B, input
    shape...) to the last layer's output (T, B, ...); ``model.outputs(x)`` gives every layer's.

    Graphs written by neurosim carry their discretisation and are restored exactly. For
    others, give the discretisation their writer used: ``euler_dt`` (snnTorch:
    ``SNNTORCH_DT``; Norse: the ``dt`` given to its ``to_nir``) or ``dt`` for the exact
    continuous-time reading. Per-neuron input scales (``r``, ``w_in``, threshold) are folded
    into the preceding weights. ``reset``: ``"hard"`` (to ``v_reset``, NIR's definition) or
    ``"subtract"`` for graphs whose writer resets by subtraction (``neuron_from_nir``).

    ``Delay`` becomes ``neurosim.nn.Delay`` (whole steps of the graph's step), ``Threshold``
    a stateless spike layer, ``I`` an ``LI`` layer of a ``models.IF`` (read per step, as ``IF``).

    Raises ``NIRConversionError`` naming the node for nodes neurosim cannot run, delays that
    are not whole steps, for a neuron node whose input scale cannot be folded into the weight
    nodes before it, for shapes that do not fit, and ``NIRFileError`` for unreadable files.
    """
    h = check_euler_dt(euler_dt)
    g = read_graph(graph)
    if h is None and float((g.metadata or {}).get("neurosim_euler_dt", 0.0) or 0.0) > 0:
        h = float(g.metadata["neurosim_euler_dt"])
    g = inline_subgraphs(g)
    if not is_chain(g) or meta_str(g.metadata or {}, "neurosim_container") == "Graph":  # a neurosim Graph comes back one
        return _graph_from_nir(g, dt, h, reset)
    layers, origin, in_shape = [], [], None  # origin: (where, neurons it declares) of each layer
    for name, node in chain(g):
        where = f"node {name!r} ({type(node).__name__})"
        check_values(node, where)
        if isinstance(node, nir.Input):
            in_shape = _port_shape(node.input_type, "input")
        if isinstance(node, (nir.Input, nir.Output)):
            continue
        origin.append((where, _declared_neurons(node)))
        if isinstance(node, NEURON_NODES):
            layer, spec = neuron_layer(node, where, dt, h, reset)
            out = (node.output_type or {}).get("output")
            fold_gain(layers, spec.gain, tuple(int(v) for v in out) if out is not None else np.shape(spec.gain), where)
            layers.append(layer)
            continue
        if isinstance(node, nir.Scale):
            scale = np.asarray(node.scale, np.float64)
            fold_gain(layers, scale, scale.shape, where)
            origin.pop()
            continue
        layers.append(_plain(node, where, h if h is not None else dt))
    if not any(isinstance(m, NEURON_LAYERS) for m in layers):
        raise NIRConversionError("the graph has no neuron node (CubaLIF, LIF, IF, LI, CubaLI)")
    if in_shape is not None:
        _check_shapes(layers, origin, in_shape)
    return snn.Sequential(*layers)


def _plain(node, where: str, step) -> torch.nn.Module:
    """The module of a node that is not a neuron: ``neurosim.nn.Delay`` at the graph's
    ``step``, or a stateless layer in ``neurosim.nn.Lift``."""
    if isinstance(node, nir.Delay):
        own = (node.metadata or {}).get("neurosim_dt")  # neurosim writes its layer's step
        step = step if step is not None else own
        if step is None:
            raise NIRConversionError(f"{where}: give the step (dt or euler_dt): a delay is a whole number of steps")
        try:
            delay = snn.Delay(np.asarray(node.delay, np.float64), dt=float(step))
            return delay if own is None else snn.Delay(delay.steps.numpy() * float(own), dt=float(own))
        except ValueError as exc:
            raise NIRConversionError(f"{where}: {exc}") from None
    module = stateless_module(node, where)
    if module is None:
        raise NIRConversionError(f"{where}: neurosim.nn has no layer for it; supported: Affine, Linear, Conv1d, Conv2d, AvgPool2d, "
                                 "SumPool2d, Flatten, Scale, Threshold, Delay, CubaLIF, LIF, IF, I, LI, CubaLI")
    return snn.Lift(module)


def _graph_from_nir(g: nir.NIRGraph, dt, h, reset: str) -> snn.Graph:
    """``from_nir`` for graphs that are not a chain: a ``neurosim.nn.Graph`` of the same
    nodes and edges. A neuron node's input scale is folded into every weight node feeding
    it, each of which must feed only that node."""
    nodes, edges = dict(g.nodes), [tuple(e) for e in g.edges]
    for a, b in edges:
        for end in (a, b):
            if end not in nodes:
                raise NIRConversionError(f"edge ({a!r}, {b!r}) names an unknown node {end!r}")
    ends = {kind: [n for n, v in nodes.items() if isinstance(v, kind)] for kind in (nir.Input, nir.Output)}
    for kind, found in ends.items():
        if len(found) != 1:
            raise NIRConversionError(f"the graph has {len(found)} {kind.__name__} nodes ({found}); a neurosim model has exactly one")
    succ = {n: [b for a, b in edges if a == n] for n in nodes}
    modules, declared = {}, {}
    for name, node in nodes.items():
        where = f"node {name!r} ({type(node).__name__})"
        check_values(node, where)
        if isinstance(node, nir.Input):
            continue
        if isinstance(node, nir.Output):
            modules[name] = torch.nn.Identity()
        elif isinstance(node, NEURON_NODES):
            continue  # after the weight nodes, whose weights take their input scale
        elif isinstance(node, nir.Scale):
            modules[name] = Scale(node.scale)
        else:
            modules[name] = _plain(node, where, h if h is not None else dt)
    for name, node in nodes.items():
        if not isinstance(node, NEURON_NODES):
            continue
        where = f"node {name!r} ({type(node).__name__})"
        layer, spec = neuron_layer(node, where, dt, h, reset)
        declared[name] = (where, _declared_neurons(node))
        out = _port_shape(node.output_type, "output") or np.shape(spec.gain)
        if not np.all(np.asarray(spec.gain) == 1.0):
            for p in (a for a, b in edges if b == name):
                if p not in modules or isinstance(nodes[p], NEURON_NODES) or succ[p] != [name]:
                    raise NIRConversionError(f"{where}: its input must be scaled per neuron (by r, w_in and 1/(v_threshold - "
                                             f"v_leak)) and its input {p!r} is not a weight node feeding only it")
                fold_gain([modules[p]], spec.gain, out, where)
        modules[name] = layer
    try:
        model = snn.Graph(modules, edges, input=ends[nir.Input][0], output=ends[nir.Output][0])
    except ValueError as exc:
        raise NIRConversionError(str(exc)) from None
    in_shape = _port_shape(nodes[model.input].input_type, "input")
    if in_shape is not None:
        try:
            with torch.no_grad():
                outs = model.outputs(torch.zeros((1, 1, *in_shape), dtype=torch.get_default_dtype()))
        except ValueError as exc:
            raise NIRConversionError(str(exc)) from None
        for name, (where, n) in declared.items():
            got = int(np.prod(outs[name].shape[2:]))
            if n is not None and n != got:
                raise NIRConversionError(f"{where}: declares {n} neurons but receives {got} values from the nodes before it")
    return model


def _port_shape(types, port: str):
    """The shape a node declares for ``port`` (``input_type``/``output_type``), or None."""
    shape = (types or {}).get(port)
    return None if shape is None else tuple(int(v) for v in np.ravel(shape))


def _declared_neurons(node):
    """How many neurons a neuron node's parameters declare (None: one value for all, or not a neuron)."""
    if not isinstance(node, NEURON_NODES):
        return None
    sizes = {np.asarray(getattr(node, f)).size for f in node.__dataclass_fields__ if f in ("tau", "tau_mem", "r", "v_threshold")}
    sizes.discard(1)
    return max(sizes) if sizes else None


def _check_shapes(layers: list, origin: list, in_shape: tuple) -> None:
    """Run one zero step of shape ``in_shape`` through the chain: a layer that cannot take
    its input, or a neuron node that declares another number of neurons than it receives,
    raises ``NIRConversionError`` naming the node."""
    x = torch.zeros((1, 1, *in_shape), dtype=torch.get_default_dtype())
    with torch.no_grad():
        for layer, (where, declared) in zip(layers, origin):
            shape = tuple(x.shape[2:])
            if declared is not None and declared != int(np.prod(shape)):
                raise NIRConversionError(f"{where}: declares {declared} neurons but receives {int(np.prod(shape))} values "
                                         f"(shape {shape}) from the node before it")
            try:
                x = layer(x.to(next(layer.parameters()).dtype) if list(layer.parameters()) else x)
            except RuntimeError as exc:
                raise NIRConversionError(f"{where}: cannot take its input of shape {shape} ({str(exc).splitlines()[0]})") from None
            if isinstance(x, tuple):
                x = x[0]
