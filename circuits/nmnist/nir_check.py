"""The trained N-MNIST classifier against a NIR peer: run held-out samples through the NIR
graph in snnTorch or Norse (``hardware.nir.peers``) and through neurosim, and compare the
spikes of every spiking layer and the readout's decisions (``neurosim deploy nir --check``).
"""
from __future__ import annotations

import numpy as np
import torch

from hardware.nir.peers import run_norse, run_snntorch, spike_agreement
from neurosim.nn import Sequential

from .classifier import load_frames

__all__ = ["compare_with_peer"]


def compare_with_peer(model, settings: dict, graph, dt: float, peer: str, n_samples: int, data) -> dict:
    """Run the last ``n_samples`` samples of the N-MNIST folder ``data`` (binned as the model
    was trained: ``settings["time_bins"]``) in ``peer`` (``"snntorch"`` or ``"norse"``; the
    graph must have been written for it) and in neurosim. Returns ``{"layers": [{"name",
    "n_ours", "n_theirs", "identical", "within_one_step"}, ...] (the spiking layers that
    spiked), "readout_max_difference", "readout_max", "same_decisions", "n_samples",
    "worst_within_one_step"}``."""
    frames, _, _ = load_frames(data, settings["time_bins"])
    x = frames[-n_samples:].astype(np.float32)
    theirs = run_snntorch(graph, x) if peer == "snntorch" else run_norse(graph, x, dt)
    with torch.no_grad():
        ours = [o.transpose(0, 1).numpy() for o in Sequential(*model.layers()).outputs(torch.from_numpy(x).transpose(0, 1))]
    ours = [o for o, layer in zip(ours, model.layers()) if hasattr(layer, "neuron")]
    layers, worst = [], 1.0
    for (name, rec), mine in list(zip(theirs.items(), ours))[:-1]:  # the last is the readout membrane
        if rec["spikes"].any() or mine.any():
            ag = spike_agreement(mine, rec["spikes"])
            worst = min(worst, ag["within_one_step"])
            layers.append({"name": name, **ag})
    v_peer = list(theirs.values())[-1]["v"]
    same = float(np.mean(ours[-1].max(1).argmax(-1) == v_peer.max(1).argmax(-1)))
    return {"layers": layers, "readout_max_difference": float(np.abs(ours[-1] - v_peer).max()),
            "readout_max": float(np.abs(ours[-1]).max()), "same_decisions": same, "n_samples": int(x.shape[0]),
            "worst_within_one_step": worst}
