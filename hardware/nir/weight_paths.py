"""The weights between two neuron nodes of a NIR graph as one core projection: a chain of
stateless nodes (``Linear``, ``Affine``, ``Conv1d``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``, ``Flatten``,
``Scale``, after an optional ``Delay``) composed into one sparse matrix and a bias, as
``neurosim.nn.to_network`` unrolls a trained model's layers."""
from __future__ import annotations

import nir
import numpy as np
import scipy.sparse as sp
import torch

from neurosim.nn.export import linear_chain
from neurosim.nn.lift import Lift

from .neurons import NIRConversionError
from .torch_nodes import stateless_module

__all__ = ["STATELESS", "weight_paths", "compose", "node_shape"]

STATELESS = (nir.Linear, nir.Affine, nir.Conv1d, nir.Conv2d, nir.SumPool2d, nir.AvgPool2d, nir.Flatten, nir.Scale)
"""Stateless NIR nodes a core projection composes."""


def node_shape(node) -> tuple:
    """The shape of what an ``Input`` or neuron node emits (no time or batch axis)."""
    if isinstance(node, nir.Input):
        return tuple(int(v) for v in np.ravel(node.input_type["input"]))
    out = (node.output_type or {}).get("output")
    if out is not None:
        return tuple(int(v) for v in np.ravel(out))
    field = next(f for f in ("tau_mem", "tau", "r", "threshold") if hasattr(node, f))
    return tuple(np.shape(getattr(node, field))) or (1,)


def weight_paths(nodes: dict, pred: dict, succ: dict, receivers, senders) -> list:
    """``[(pre, [stateless nodes, in order], post), ...]``: every chain of stateless nodes (and
    at most one ``Delay``, first) from a sender (an ``Input`` or neuron node) to a receiver
    (a node taking weighted input). Raises ``NIRConversionError`` naming the node for a
    stateless node with several inputs or outputs, a ``Delay`` elsewhere, or a chain that
    starts elsewhere."""
    paths = []
    for post in receivers:
        for first in pred.get(post, []):
            chain, node, nxt = [], first, post
            while isinstance(nodes[node], (*STATELESS, nir.Delay)):
                where = f"node {node!r} ({type(nodes[node]).__name__})"
                if succ.get(node) != [nxt]:
                    raise NIRConversionError(f"{where}: must feed exactly one neuron node (or stateless node), feeds "
                                             f"{succ.get(node)}")
                if len(pred.get(node, [])) != 1:
                    raise NIRConversionError(f"{where}: must have exactly one input, has {pred.get(node, [])}")
                chain.insert(0, node)
                nxt, node = node, pred[node][0]
            if node not in senders:
                raise NIRConversionError(f"node {chain[0] if chain else post!r}: its input {node!r} is not an Input or neuron "
                                         "node")
            if any(isinstance(nodes[n], nir.Delay) for n in chain[1:]):
                raise NIRConversionError(f"node {post!r}: a Delay must come first on the weights into it, right after {node!r}")
            paths.append((node, chain, post))
    return paths


def compose(nodes: dict, chain: list, in_shape: tuple, where: str) -> tuple[sp.csr_matrix, np.ndarray]:
    """The stateless ``chain`` (node names, no ``Delay``) as ``y = M x + b`` on flattened
    inputs of ``in_shape``: (M (n_out, n_in) CSR float64, b (n_out,)). Raises
    ``NIRConversionError`` naming the chain for nodes that do not fit their input."""
    shape = tuple(in_shape)
    m = sp.identity(int(np.prod(shape)), format="csr")
    b = np.zeros(m.shape[0])
    for name in chain:
        node = nodes[name]
        if isinstance(node, nir.Scale):  # elementwise, on the flattened input
            scale = np.broadcast_to(np.asarray(node.scale, np.float64), shape).reshape(-1)
            m, b = (sp.diags(scale) @ m).tocsr(), scale * b
            continue
        module = stateless_module(node, f"node {name!r} ({type(node).__name__})")
        one_d = isinstance(module, torch.nn.Conv1d)
        try:
            if one_d:  # a Conv2d over (C, 1, L): the same matrix, the same flattening order
                if len(shape) != 2:
                    raise ValueError(f"Conv1d needs (C, L) input, got shape {shape}")
                module, shape = _as_conv2d(module), (shape[0], 1, shape[1])
            op, bias, shape = linear_chain([Lift(module)], shape)
        except ValueError as exc:
            raise NIRConversionError(f"node {name!r} ({type(node).__name__}) on {where}: {exc}") from None
        if one_d:
            shape = (shape[0], shape[2])
        m, b = (op @ m).tocsr(), op @ b + bias
    return m, b


def _as_conv2d(conv: torch.nn.Conv1d) -> torch.nn.Conv2d:
    """``conv`` as a Conv2d with kernel (1, k) (string padding is refused by ``linear_chain``)."""
    pad = conv.padding if isinstance(conv.padding, str) else (0, conv.padding[0])
    out = torch.nn.Conv2d(conv.in_channels, conv.out_channels, (1, conv.kernel_size[0]), stride=(1, conv.stride[0]),
                          padding=pad, dilation=(1, conv.dilation[0]), groups=conv.groups, bias=conv.bias is not None,
                          dtype=conv.weight.dtype)
    with torch.no_grad():
        out.weight.copy_(conv.weight[:, :, None, :])
        if conv.bias is not None:
            out.bias.copy_(conv.bias)
    return out
