"""Export a trained feed-forward spiking model to the core ``Network``, so that the Numba
simulator runs the same weights."""
from __future__ import annotations

import numpy as np
import torch

from ..network import Network, Population, Projection, SpikeSource
from .modules import LI, LIF, CubaLIF

__all__ = ["to_network"]


def to_network(model: torch.nn.Sequential, input_spikes, input_name: str = "input") -> Network:
    """The ``Network`` of ``model``: an input ``SpikeSource`` playing ``input_spikes``
    ((T, n_in), 0/1, one row per time step of the layers' ``dt``) and one population per
    spiking layer, named ``layer0``, ``layer1``, ... (an ``LI`` readout becomes ``readout``:
    a CuBa-LIF population whose threshold is out of reach, which has the same dynamics).

    ``model`` must alternate bias-free ``torch.nn.Linear`` layers and ``neurosim.nn.CubaLIF``
    (or a final ``LI``) layers with one ``dt``; ``torch.nn.Flatten`` is skipped. Weights are
    converted from normalised units to amperes (``w (v_th - v_rest) / R``) and get the
    engine's one-step delay, so layer ``k``'s spikes in the simulator come ``k + 1`` steps
    after the layer's output in torch (the torch layers pass input on within a step).
    Raises ``ValueError`` for anything else.
    """
    spikes_in = np.asarray(input_spikes)
    if spikes_in.ndim != 2:
        raise ValueError(f"input_spikes must be (T, n_inputs), got shape {spikes_in.shape}")
    layers = [m for m in model if not isinstance(m, torch.nn.Flatten)]
    if len(layers) % 2 or not layers:
        raise ValueError("model must alternate Linear and neuron layers (Linear, CubaLIF, Linear, CubaLIF, ...)")
    dts = {m.dt for m in layers[1::2] if hasattr(m, "dt")}
    if len(dts) != 1:
        raise ValueError(f"all neuron layers must share one dt, got {sorted(dts)}")
    dt = dts.pop()
    t_idx, n_idx = np.nonzero(spikes_in)
    src = SpikeSource(input_name, spikes_in.shape[1], (t_idx + 0.5) * dt, n_idx)
    pops, projs = [], []
    pre, n_pre = input_name, spikes_in.shape[1]
    for k in range(0, len(layers), 2):
        lin, neu = layers[k], layers[k + 1]
        if not isinstance(lin, torch.nn.Linear):
            raise ValueError(f"layer {k} is {type(lin).__name__}; expected torch.nn.Linear")
        if lin.bias is not None and torch.any(lin.bias != 0):
            raise ValueError(f"layer {k} (Linear) has a bias, which a synaptic network cannot express exactly; train with bias=False")
        if isinstance(neu, LIF) or not isinstance(neu, (CubaLIF, LI)):
            raise ValueError(f"layer {k + 1} is {type(neu).__name__}; export supports neurosim.nn.CubaLIF and a final LI")
        if lin.in_features != n_pre:
            raise ValueError(f"layer {k} expects {lin.in_features} inputs but receives {n_pre}")
        n = neu.neuron
        scale = n.v_th - n.v_rest
        r = n.tau_mem / n.c_mem
        is_readout = isinstance(neu, LI)
        if is_readout and k + 2 != len(layers):
            raise ValueError("an LI readout must be the last layer")
        # one synaptic channel: the layer's tau_syn_e for both, weights signed
        model_n = n.replace(tau_syn_i=n.tau_syn_e, **({"v_th": n.v_rest + 1e3} if is_readout else {}))
        name = "readout" if is_readout else f"layer{k // 2}"
        pops.append(Population(name, model_n, lin.out_features))
        w = lin.weight.detach().to(torch.float64).cpu().numpy().T * scale / r  # (n_pre, n_post), A
        projs.append(Projection.from_dense(pre, name, np.where(w == 0, 0.0, w), delays=1, target="exc", name=f"{pre}->{name}"))
        pre, n_pre = name, lin.out_features
    return Network(pops, [src], projs, max_delay_steps=1)
