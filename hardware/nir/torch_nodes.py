"""NIR nodes as ``neurosim.nn`` modules: stateless layers, neuron layers, and the input
scales NIR's neuron nodes carry, folded into the weights before them."""
from __future__ import annotations

import nir
import numpy as np
import torch

from neurosim import nn as snn

from .neurons import NIRConversionError, meta_str, neuron_from_nir

__all__ = ["stateless_module", "fold_gain", "neuron_layer"]


def fold_gain(layers: list, gain: np.ndarray, shape: tuple, where: str) -> None:
    """Multiply the input of the neurons ``where`` (of ``shape``) by ``gain`` by scaling
    the weights and bias of the nearest weight layer before them (through pooling and
    flatten when the gain is the same for all neurons)."""
    g = np.broadcast_to(np.asarray(gain, np.float64), shape)
    if np.all(g == 1.0):
        return
    uniform = bool(np.all(g == g.flat[0]))
    for layer in reversed(layers):
        module = layer.module if isinstance(layer, snn.Lift) else layer
        if isinstance(module, torch.nn.Linear):
            rows = np.broadcast_to(g.reshape(-1), (module.out_features,))
            scale = torch.as_tensor(rows.copy(), dtype=module.weight.dtype)
        elif isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d)) and (uniform or (
                g.ndim >= 2 and np.all(g == g.reshape(g.shape[0], -1)[:, :1].reshape((-1,) + (1,) * (g.ndim - 1))))):
            per_channel = g.reshape(g.shape[0], -1)[:, 0] if g.ndim >= 2 else g.flat[0]
            scale = torch.as_tensor(np.broadcast_to(per_channel, (module.out_channels,)).copy(), dtype=module.weight.dtype)
        elif isinstance(module, (torch.nn.AvgPool2d, torch.nn.Flatten)) and uniform:
            continue
        else:
            break
        with torch.no_grad():
            module.weight.mul_(scale.reshape(-1, *([1] * (module.weight.ndim - 1))))
            if module.bias is not None:
                module.bias.mul_(scale)
        return
    raise NIRConversionError(f"{where}: its input must be scaled per neuron (by r, w_in and 1/(v_threshold - v_leak)) and no "
                             "Affine, Linear or Conv2d before it can take the scale")


def _tensor(a) -> torch.Tensor:
    """A parameter as a tensor of torch's default dtype (float32): a graph written in
    float64 must still run on float32 inputs, like every other neurosim.nn layer (call
    ``.double()`` on the model for float64)."""
    return torch.from_numpy(np.array(a, dtype=np.float64)).to(torch.get_default_dtype())


def stateless_module(node, where: str):
    if isinstance(node, (nir.Affine, nir.Linear)):
        w = np.asarray(node.weight)
        if w.ndim != 2:
            raise NIRConversionError(f"{where}: weight must be 2-D (out, in), got shape {w.shape}")
        m = torch.nn.Linear(w.shape[1], w.shape[0], bias=isinstance(node, nir.Affine), dtype=_tensor(w).dtype)
        m.weight.data = _tensor(w).clone()
        if isinstance(node, nir.Affine):
            b = np.asarray(node.bias)
            if b.shape != (w.shape[0],):
                raise NIRConversionError(f"{where}: bias has shape {b.shape}; expected ({w.shape[0]},)")
            m.bias.data = _tensor(b).to(m.weight.dtype).clone()
        return m
    if isinstance(node, (nir.Conv1d, nir.Conv2d)):
        dims = 1 if isinstance(node, nir.Conv1d) else 2
        w = np.asarray(node.weight)
        if w.ndim != dims + 2:
            raise NIRConversionError(f"{where}: weight must be {dims + 2}-D (C_out, C_in/groups, kernel...), got shape {w.shape}")
        groups = int(node.groups)
        ints = lambda v: tuple(int(x) for x in np.broadcast_to(v, dims))  # noqa: E731
        pad = node.padding.decode() if isinstance(node.padding, bytes) else node.padding
        conv = torch.nn.Conv1d if dims == 1 else torch.nn.Conv2d
        m = conv(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), stride=ints(node.stride),
                 padding=pad if isinstance(pad, str) else ints(pad), dilation=ints(node.dilation), groups=groups,
                 dtype=_tensor(w).dtype)
        m.weight.data = _tensor(w).clone()
        m.bias.data = _tensor(np.broadcast_to(node.bias, (w.shape[0],))).to(m.weight.dtype).clone()
        return m
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        k = tuple(int(v) for v in np.broadcast_to(node.kernel_size, 2))
        s = tuple(int(v) for v in np.broadcast_to(node.stride, 2))
        p = tuple(int(v) for v in np.broadcast_to(node.padding, 2))
        return torch.nn.AvgPool2d(k, s, p, divisor_override=1 if isinstance(node, nir.SumPool2d) else None)
    if isinstance(node, nir.Flatten):
        start = int(node.start_dim)
        end = int(node.end_dim)
        return torch.nn.Flatten(start + 1 if start >= 0 else start, end + 1 if end >= 0 else end)
    return None


def _training_settings(meta: dict) -> dict:
    """The surrogate gradient settings neurosim stored in a node's metadata (if any)."""
    kw = {}
    if "neurosim_surrogate" in meta:
        kw["surrogate"] = str(meta_str(meta, "neurosim_surrogate"))
    if "neurosim_slope" in meta:
        kw["slope"] = float(meta["neurosim_slope"])
    if "neurosim_detach_reset" in meta:
        kw["detach_reset"] = bool(int(meta["neurosim_detach_reset"]))
    return kw


def neuron_layer(node, where: str, dt, euler_dt, reset: str):
    """(neurosim.nn neuron layer, ``NeuronSpec``) for a NIR neuron node (``neuron_from_nir``);
    the spec's ``gain`` still has to be folded into the weights before it."""
    spec = neuron_from_nir(node, where, dt, euler_dt, reset=reset)
    layer = {"CubaLIF": snn.CubaLIF, "LIF": snn.LIF, "IF": snn.IF}.get(spec.kind)
    kw = _training_settings(node.metadata or {})
    return (layer(spec.neuron, dt=spec.dt, **kw) if layer else
            snn.LI(spec.neuron, dt=spec.dt, synaptic=spec.kind == "LI", **kw)), spec
