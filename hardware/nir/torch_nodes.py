"""NIR nodes as ``neurosim.nn`` modules: stateless layers, neuron layers, and the input
scales NIR's neuron nodes carry, folded into the weights before them."""
from __future__ import annotations

import nir
import numpy as np
import torch

from neurosim import nn as snn

from .neurons import NIRConversionError, layer_to_nir, meta_str, neuron_from_nir

__all__ = ["stateless_module", "fold_gain", "neuron_layer", "layer_node", "Scale", "Threshold", "NEURON_LAYERS", "SKIP"]

#: The ``neurosim.nn`` layers that hold neuron state.
NEURON_LAYERS = (snn.CubaLIF, snn.LIF, snn.IF, snn.LI)
SKIP = (torch.nn.Identity, torch.nn.Dropout)
"""Layers export passes over."""


class Scale(torch.nn.Module):
    """NIR's ``Scale``: the input times a fixed per-element factor."""

    def __init__(self, scale):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale, np.float64), dtype=torch.get_default_dtype()))

    def forward(self, x):
        return x * self.scale


class Threshold(torch.nn.Module):
    """NIR's ``Threshold``: a spike (1) where the input exceeds ``threshold``, else 0 (no state;
    the gradient is the surrogate ``superspike`` of slope 25, as the neuron layers')."""

    def __init__(self, threshold):
        super().__init__()
        self.register_buffer("threshold", torch.as_tensor(np.asarray(threshold, np.float64), dtype=torch.get_default_dtype()))

    def forward(self, x):
        from neurosim.nn import spike

        return spike(x - self.threshold, "superspike", 25.0)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _pair(v) -> np.ndarray:
    return np.array([v, v] if isinstance(v, int) else list(v), dtype=np.int64)


def _neuron_kind(layer) -> str:
    for cls in NEURON_LAYERS[:-1]:
        if isinstance(layer, cls):
            return cls.__name__
    if layer.neuron.kind == "if":
        return "I"
    return "LI" if layer.synaptic else "LIBox"


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
        elif isinstance(module, (torch.nn.AvgPool2d, torch.nn.Flatten)) and uniform or isinstance(layer, snn.Delay):
            continue  # a delay commutes with any elementwise scale
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
    """The torch module of a stateless NIR ``node`` (``Affine``, ``Linear``, ``Conv1d``, ``Conv2d``, ``AvgPool2d``, ``SumPool2d``, ``Flatten``); ``NIRConversionError`` naming ``where`` for what it cannot express."""
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
    if isinstance(node, nir.Threshold):
        return Threshold(node.threshold)
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
    return (layer(spec.neuron, dt=spec.dt, **kw) if layer else  # LI, LIBox, and I: an LI layer of an IF model
            snn.LI(spec.neuron, dt=spec.dt, synaptic=spec.kind == "LI", **kw)), spec


def layer_node(layer, shape: tuple, euler_dt, where: str, sum_pooling: bool = False, pending_scale=None):
    """The NIR node of one ``neurosim.nn`` layer whose input has ``shape`` (no time or batch
    axis): ``(node, name suffix, output shape, pending scale)``. Neuron layers are written
    under ``euler_dt`` (``layer_to_nir``); ``sum_pooling`` writes average pooling as
    ``SumPool2d`` and hands its 1/(kh kw) on as the pending scale, which the next weight layer
    takes (``to_nir``). Raises ``NIRConversionError`` naming ``where`` for layers NIR or this
    exporter cannot express."""
    h = euler_dt
    module = layer.module if isinstance(layer, snn.Lift) else layer
    if isinstance(module, Scale):
        return nir.Scale(scale=module.scale.detach().cpu().numpy().astype(np.float64)), "scale", shape, pending_scale
    if isinstance(module, Threshold):
        values = np.broadcast_to(module.threshold.detach().cpu().numpy().astype(np.float64), shape).copy()
        return nir.Threshold(threshold=values), "threshold", shape, pending_scale
    if isinstance(module, snn.Delay):
        # in the graph's steps: under euler_dt a consumer steps h per neurosim step
        seconds = module.steps.cpu().numpy() * (h if h is not None else module.dt)
        node = nir.Delay(delay=np.broadcast_to(seconds, shape).astype(np.float64), metadata={"neurosim_dt": module.dt})
        return node, "delay", shape, pending_scale
    if isinstance(layer, NEURON_LAYERS):
        if pending_scale is not None:
            raise NIRConversionError(f"{where}: sum_pooling needs a Linear or convolution after the pooling to take its 1/(kh kw)")
        kind = _neuron_kind(layer)
        node, suffix = layer_to_nir(kind, layer.neuron, layer.dt, shape, h, where), kind.lower()
        # training settings NIR has no field for, for neurosim's reader
        node.metadata.update({"neurosim_surrogate": layer.surrogate, "neurosim_slope": layer.slope,
                              "neurosim_detach_reset": int(layer.detach_reset)})
    elif isinstance(module, torch.nn.Linear):
        w = _numpy(module.weight)
        if pending_scale is not None:
            w, pending_scale = w * np.asarray(pending_scale, w.dtype), None
        node = nir.Affine(weight=w, bias=_numpy(module.bias)) if module.bias is not None else nir.Linear(weight=w)
        suffix = "affine" if module.bias is not None else "linear"
    elif isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d)):
        dims = 1 if isinstance(module, torch.nn.Conv1d) else 2
        if module.padding_mode != "zeros":
            raise NIRConversionError(f"{where}: padding_mode {module.padding_mode!r}; NIR's convolutions pad with zeros")
        if len(shape) != dims + 1:
            raise NIRConversionError(f"{where}: Conv{dims}d needs {'(C, L)' if dims == 1 else '(C, H, W)'} input, got shape {shape}")
        if module.groups != 1:  # nir 1.0.8 takes weight.shape[1] (C_in / groups) as the input channels
            raise NIRConversionError(f"{where}: groups={module.groups}; nir 1.0.8's shape inference rejects grouped "
                                     "convolutions (it reads C_in / groups as the input channels)")
        w = _numpy(module.weight)
        if pending_scale is not None:
            w, pending_scale = w * np.asarray(pending_scale, w.dtype), None
        bias = _numpy(module.bias) if module.bias is not None else np.zeros(w.shape[0], w.dtype)
        if dims == 1:
            padding = module.padding if isinstance(module.padding, str) else int(module.padding[0])
            node = nir.Conv1d(input_shape=int(shape[1]), weight=w, stride=int(module.stride[0]), padding=padding,
                              dilation=int(module.dilation[0]), groups=int(module.groups), bias=bias)
        else:
            padding = module.padding if isinstance(module.padding, str) else _pair(module.padding)
            node = nir.Conv2d(input_shape=shape[1:], weight=w, stride=_pair(module.stride), padding=padding,
                              dilation=_pair(module.dilation), groups=int(module.groups), bias=bias)
        suffix = f"conv{dims}d"
    elif isinstance(module, torch.nn.AvgPool2d):
        if module.ceil_mode or np.any(_pair(module.padding) != 0):
            raise NIRConversionError(f"{where}: pooling with padding or ceil_mode; export supports padding=0, ceil_mode=False")
        k = _pair(module.kernel_size)
        stride = _pair(module.stride if module.stride is not None else module.kernel_size)
        if module.divisor_override not in (None, 1):
            raise NIRConversionError(f"{where}: divisor_override={module.divisor_override}; NIR has average and sum pooling")
        if module.divisor_override == 1 or sum_pooling:
            node, suffix = nir.SumPool2d(kernel_size=k, stride=stride, padding=np.zeros(2, np.int64)), "sumpool2d"
            if module.divisor_override is None:
                pending_scale = (pending_scale or 1.0) / float(np.prod(k))
        else:
            node, suffix = nir.AvgPool2d(kernel_size=k, stride=stride, padding=np.zeros(2, np.int64)), "avgpool2d"
    elif isinstance(module, torch.nn.Flatten):
        if module.start_dim == 0:
            raise NIRConversionError(f"{where}: Flatten(start_dim=0) flattens the batch axis")
        start = module.start_dim - 1 if module.start_dim > 0 else module.start_dim
        end = module.end_dim - 1 if module.end_dim > 0 else module.end_dim
        node, suffix = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=start, end_dim=end), "flatten"
    else:
        raise NIRConversionError(f"{where}: cannot be written to NIR; export supports Linear, Conv1d, Conv2d, AvgPool2d, Flatten "
                                 "(optionally in neurosim.nn.Lift), Scale and neurosim.nn CubaLIF, LIF, IF and LI layers")
    if not isinstance(layer, NEURON_LAYERS):
        with torch.no_grad():
            shape = tuple(module(torch.zeros((1, *shape), dtype=next(module.parameters(), torch.zeros(0)).dtype)).shape[1:])
    return node, suffix, shape, pending_scale
