"""Export a trained feed-forward spiking model to the core ``Network``, so that the Numba
simulator (and the hardware back ends that consume a ``Network``) run the same weights.

Stateless layers between two neuron layers (``Conv2d``, ``AvgPool2d`` (sum pooling with
``divisor_override=1``), ``Flatten``, ``Linear``, with or without biases, optionally inside
``neurosim.nn.Lift``) are linear maps: they are unrolled into sparse matrices and multiplied
into one CSR projection (Conv2d with any stride, padding, dilation and groups; pooling
without padding). Biases become the weights of a bias input neuron that fires at every step
the layer receives input.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..network import Network, Population, Projection, SpikeSource
from .lift import Lift
from .modules import LI, LIF, CubaLIF

__all__ = ["to_network", "conv2d_matrix", "avg_pool2d_matrix", "linear_chain"]


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def conv2d_matrix(conv: torch.nn.Conv2d, in_shape: tuple) -> tuple[sp.csr_matrix, tuple]:
    """The convolution as a sparse matrix: (C_out H_out W_out, C_in H W) in the flattening
    order of (C, H, W) tensors, and the output shape (C_out, H_out, W_out). Raises
    ``ValueError`` for padding modes other than zeros or string padding."""
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        raise ValueError(f"Conv2d with padding={conv.padding!r}, padding_mode={conv.padding_mode!r}: export supports "
                         "numeric zero padding")
    c_in, h, w = in_shape
    if c_in != conv.in_channels:
        raise ValueError(f"Conv2d expects {conv.in_channels} input channels but receives {c_in} (shape {in_shape})")
    wt = conv.weight.detach().to(torch.float64).cpu().numpy()  # (C_out, C_in / groups, kh, kw)
    c_out, c_grp, kh, kw = wt.shape
    (sh, sw), (ph, pw), (dh, dw) = _pair(conv.stride), _pair(conv.padding), _pair(conv.dilation)
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    oy, ox = np.meshgrid(np.arange(h_out), np.arange(w_out), indexing="ij")
    co = np.arange(c_out)[:, None, None]
    ci = (co // (c_out // conv.groups)) * c_grp + np.arange(c_grp)[None, :, None]  # input channel of each (co, cl)
    rows, cols, vals = [], [], []
    for ky in range(kh):
        for kx in range(kw):
            iy, ix = oy * sh - ph + ky * dh, ox * sw - pw + kx * dw
            ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            pos_out, pos_in = (oy * w_out + ox)[ok], (iy * w + ix)[ok]
            shape = (c_out, c_grp, pos_out.size)
            rows.append(np.broadcast_to(co * h_out * w_out + pos_out[None, None, :], shape).ravel())
            cols.append(np.broadcast_to(ci * h * w + pos_in[None, None, :], shape).ravel())
            vals.append(np.broadcast_to(wt[:, :, ky, kx][:, :, None], shape).ravel())
    m = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(c_out * h_out * w_out, c_in * h * w))
    return m, (c_out, h_out, w_out)


def avg_pool2d_matrix(pool: torch.nn.AvgPool2d, in_shape: tuple) -> tuple[sp.csr_matrix, tuple]:
    """Average (or, with ``divisor_override``, scaled sum) pooling as a sparse matrix
    (C H_out W_out, C H W) and the output shape. Raises ``ValueError`` for padding or
    ``ceil_mode``."""
    if _pair(pool.padding) != (0, 0) or pool.ceil_mode:
        raise ValueError("AvgPool2d export supports padding=0 and ceil_mode=False")
    c, h, w = in_shape
    (kh, kw), (sh, sw) = _pair(pool.kernel_size), _pair(pool.stride if pool.stride is not None else pool.kernel_size)
    h_out, w_out = (h - kh) // sh + 1, (w - kw) // sw + 1
    scale = 1.0 / (pool.divisor_override or kh * kw)
    ch, oy, ox, ky, kx = np.meshgrid(np.arange(c), np.arange(h_out), np.arange(w_out), np.arange(kh), np.arange(kw), indexing="ij")
    rows = (ch * h_out + oy) * w_out + ox
    cols = (ch * h + oy * sh + ky) * w + ox * sw + kx
    m = sp.csr_matrix((np.full(rows.size, scale), (rows.ravel(), cols.ravel())), shape=(c * h_out * w_out, c * h * w))
    return m, (c, h_out, w_out)


def linear_chain(layers, in_shape: tuple) -> tuple[sp.csr_matrix, np.ndarray, tuple]:
    """Compose stateless layers into one affine map ``y = M x + b`` on flattened inputs of
    ``in_shape``: returns (M (n_out, n_in) CSR, b (n_out,), output shape). Raises
    ``ValueError`` naming a layer that is not linear or does not fit its input."""
    shape = tuple(in_shape)
    m = sp.identity(int(np.prod(shape)), format="csr")
    b = np.zeros(m.shape[0])
    for layer in layers:
        layer = layer.module if isinstance(layer, Lift) else layer
        if isinstance(layer, torch.nn.Flatten):
            shape = (int(np.prod(shape)),)
            continue
        if isinstance(layer, torch.nn.Conv2d):
            if len(shape) != 3:
                raise ValueError(f"Conv2d needs (C, H, W) input, got shape {shape}")
            op, shape = conv2d_matrix(layer, shape)
            bias = np.repeat(layer.bias.detach().double().cpu().numpy(), shape[1] * shape[2]) if layer.bias is not None else 0.0
        elif isinstance(layer, torch.nn.AvgPool2d):
            if len(shape) != 3:
                raise ValueError(f"AvgPool2d needs (C, H, W) input, got shape {shape}")
            op, shape = avg_pool2d_matrix(layer, shape)
            bias = 0.0
        elif isinstance(layer, torch.nn.Linear):
            n_in = int(np.prod(shape))
            if layer.in_features != n_in:
                raise ValueError(f"Linear expects {layer.in_features} inputs but receives {n_in}")
            op = sp.csr_matrix(layer.weight.detach().double().cpu().numpy())
            shape = (layer.out_features,)
            bias = layer.bias.detach().double().cpu().numpy() if layer.bias is not None else 0.0
        else:
            raise ValueError(f"{type(layer).__name__} cannot be exported: between neuron layers export supports Conv2d, "
                             "AvgPool2d, Flatten and Linear (optionally in neurosim.nn.Lift)")
        m = (op @ m).tocsr()
        b = op @ b + bias
    m.eliminate_zeros()
    return m, np.broadcast_to(b, (m.shape[0],)).astype(np.float64), shape


def _split(layers):
    """[(stateless layers before a neuron layer, the neuron layer), ...]."""
    groups, pending = [], []
    for layer in layers:
        if isinstance(layer, (CubaLIF, LIF, LI)):
            if isinstance(layer, LIF) or not layer.synaptic:
                raise ValueError(f"{type(layer).__name__} layers without a synaptic filter cannot be exported (the core's "
                                 "CuBa-LIF has one); export supports neurosim.nn.CubaLIF and a final LI")
            groups.append((pending, layer))
            pending = []
        else:
            pending.append(layer)
    if pending:
        raise ValueError(f"the model ends with {type(pending[-1]).__name__}; it must end with a neuron layer (CubaLIF or LI)")
    if not groups:
        raise ValueError("the model has no neuron layer (neurosim.nn.CubaLIF or LI)")
    return groups


def to_network(model, input_spikes, input_name: str = "input", bias_name: str = "bias", bias_steps=None) -> Network:
    """The ``Network`` of ``model``, a ``torch.nn.Sequential`` (or list) of stateless layers
    and ``neurosim.nn.CubaLIF`` layers ending in ``CubaLIF`` or an ``LI`` readout, run on
    ``input_spikes``: (T, n_inputs) or (T, C, H, W) for convolutional models, 0/1 per time
    step of the layers' ``dt`` (a step with several events is one spike).

    Populations are ``layer0``, ``layer1``, ... and ``readout`` (an ``LI`` layer becomes a
    CuBa-LIF population whose threshold is out of reach, which has the same dynamics). Each
    population receives one projection: the composition of the stateless layers before it
    (``linear_chain``), in amperes (``w (v_th - v_rest) / R``), with the engine's one-step
    delay, so layer ``k``'s spikes in the simulator come ``k + 1`` steps after the layer's
    output in torch (the torch layers pass input on within a step). Biases are weights from
    the source ``bias_name``, whose neuron ``k`` fires at steps ``k .. k + T - 1``: the
    steps whose input reaches layer ``k`` at its torch steps ``0 .. T - 1``. ``bias_steps``
    (torch steps, default all T) restricts the biases to those steps, e.g. to the samples of
    a sequence of samples separated by silent gaps.

    Raises ``ValueError`` for layers it cannot express, mismatched shapes or dt's.
    """
    spikes_in = np.asarray(input_spikes)
    if spikes_in.ndim not in (2, 4):
        raise ValueError(f"input_spikes must be (T, n_inputs) or (T, C, H, W), got shape {spikes_in.shape}")
    layers = list(model)
    groups = _split(layers)
    dts = {neu.dt for _, neu in groups}
    if len(dts) != 1:
        raise ValueError(f"all neuron layers must share one dt, got {sorted(dts)}")
    dt = dts.pop()
    T = spikes_in.shape[0]
    flat = spikes_in.reshape(T, -1)
    t_idx, n_idx = np.nonzero(flat)
    sources = [SpikeSource(input_name, flat.shape[1], (t_idx + 0.5) * dt, n_idx)]
    pops, projs, biases = [], [], []
    pre, shape = input_name, tuple(spikes_in.shape[1:])
    for k, (stateless, neu) in enumerate(groups):
        is_readout = isinstance(neu, LI)
        if is_readout and k + 1 != len(groups):
            raise ValueError("an LI readout must be the last layer")
        m, b, shape = linear_chain(stateless, shape)
        n = neu.neuron
        to_amperes = (n.v_th - n.v_rest) / (n.tau_mem / n.c_mem)
        # one synaptic channel: the layer's tau_syn_e for both, weights signed
        model_n = n.replace(tau_syn_i=n.tau_syn_e, **({"v_th": n.v_rest + 1e3} if is_readout else {}))
        name = "readout" if is_readout else f"layer{k}"
        n_post = m.shape[0]
        pops.append(Population(name, model_n, n_post))
        coo = m.tocoo()
        projs.append(Projection.from_pairs(pre, name, coo.col, coo.row, coo.data * to_amperes, m.shape[1],
                                           target="exc", name=f"{pre}->{name}"))
        biases.append((k, name, b * to_amperes))
        pre = name
    used = [(k, name, b) for k, name, b in biases if np.any(b != 0)]
    if used:
        n_bias = len(groups)
        steps = np.arange(T) if bias_steps is None else np.unique(np.asarray(bias_steps, np.int64))
        if steps.size and (steps[0] < 0 or steps[-1] >= T):
            raise ValueError(f"bias_steps must lie in 0..{T - 1}")
        times = np.concatenate([(steps + k + 0.5) * dt for k, _, _ in used])
        ids = np.concatenate([np.full(steps.size, k) for k, _, _ in used])
        sources.append(SpikeSource(bias_name, n_bias, times, ids))
        for k, name, b in used:
            j = np.nonzero(b)[0]
            projs.append(Projection.from_pairs(bias_name, name, np.full(j.size, k), j, b[j], n_bias, target="exc",
                                               name=f"{bias_name}->{name}"))
    return Network(pops, sources, projs)
