"""The pruned HD-SNN layer in the core simulator: ``to_network`` exports it to a core
``Network`` with one synapse per (active kernel entry, input pixel) and heterogeneous
integer delays, which the Numba simulator runs event-driven; ``core_evidence`` runs it and
reads the evidence back; ``core_comparison`` checks the core's decisions against the torch
layer's.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from neurosim import CubaLIF, Network, Population, Projection, SpikeSource

from .layer import HDSNN, synaptic_operations

__all__ = ["OUTPUT_NEURON", "to_network", "core_evidence", "core_comparison"]


OUTPUT_NEURON = CubaLIF(tau_syn_e=1e-6, tau_syn_i=1e-6, t_ref=0.0, v_th=1.0, v_reset=-70e-3)
"""Output neurons of the exported layer: CuBa-LIF with instantaneous synapses (a_e =
exp(-dt / 1 us) = 0 at 1 ms steps), so a neuron's recorded ``i_e`` in a step is exactly the
sum of the weights arriving then, the layer's evidence C_c(y, x, t). Their threshold is
out of reach: the decision is read from the evidence (argmax over classes)."""


def to_network(model: HDSNN, raster: np.ndarray, dt: float = 1e-3) -> Network:
    """The layer as a core ``Network`` fed by one movie's events.

    ``raster`` (P, T, H, W) becomes a spike source ``"input"`` (neuron p H W + y W + x
    spikes at step t where raster[p, t, y, x]). The output population ``"motion"`` has,
    for each kernel copy s (0: K; 1: K with polarities swapped, when the layer is polarity
    invariant), kernel channel c (subunit u and class k at c = u C + k) and position (i, j)
    of the 'full' grid Hf x Wf = (H + ks - 1) x (W + ks - 1), the neuron
    ((s S C + c) Hf + i) Wf + j; valid position (y, x) of ``HDSNN.forward`` is
    (y + ks - 1, x + ks - 1). Each active kernel entry K[c, p, d, a, b] gives every input
    pixel of polarity p (1 - p for copy 1) one synapse with that weight arriving d steps
    after the spike (a delay of (d - 1) dt seconds). The evidence C_k is the maximum of the ``i_e`` of its copies and subunits.
    See ``core_evidence``."""
    k = model.kernel().detach().double().numpy()
    n_c, n_p, n_d, ks, _ = k.shape
    _, n_t, h, w = raster.shape
    hf, wf = h + ks - 1, w + ks - 1
    copies = [k, k[:, ::-1]] if model.polarity_invariant else [k]
    ys, xs = np.mgrid[0:h, 0:w]
    ys, xs = ys.ravel(), xs.ravel()
    pres, posts, wts, delays = [], [], [], []
    for s_, kern in enumerate(copies):
        c, p, d, a, b = np.nonzero(kern)
        pres.append((p[:, None] * h * w + ys[None] * w + xs[None]).ravel())
        posts.append((((s_ * n_c + c[:, None]) * hf + ys[None] - a[:, None] + ks - 1) * wf + xs[None] - b[:, None] + ks - 1).ravel())
        wts.append(np.repeat(kern[c, p, d, a, b], ys.size))
        delays.append(np.repeat(d * dt, ys.size))  # kernel delay d + 1 steps: d steps beyond the first
    proj = Projection.from_pairs("input", "motion", np.concatenate(pres), np.concatenate(posts), np.concatenate(wts),
                                 n_p * h * w, np.concatenate(delays), name="hd-snn")
    pp, tt, yy, xx = np.nonzero(raster)
    src = SpikeSource("input", n_p * h * w, tt * dt, pp * h * w + yy * w + xx)
    pop = Population("motion", OUTPUT_NEURON, len(copies) * n_c * hf * wf)
    return Network([pop], [src], [proj])


def core_evidence(model: HDSNN, raster: np.ndarray, dt: float = 1e-3, dtype=np.float64):
    """Run ``to_network(model, raster)`` in the Numba simulator. Returns (evidence
    (C, T, Hf, Wf) = C_c on the 'full' grid from the output neurons' synaptic current,
    the simulator's ``Results``)."""
    from neurosim import Simulator, StateMonitor

    net = to_network(model, raster, dt)
    _, n_t, h, w = raster.shape
    hf, wf = h + model.kernel_size - 1, w + model.kernel_size - 1
    res = Simulator(net, dt=dt, dtype=dtype).run(n_t * dt, [StateMonitor("motion", ("i_e",))])
    ie = res.traces["motion"]["i_e"].reshape(n_t, -1, model.n_classes, hf, wf)  # (T, copies x subunits, C, Hf, Wf)
    return ie.max(1).transpose(1, 0, 2, 3), res


def core_comparison(model: HDSNN, data, n_movies: int, size: int) -> dict:
    """Run ``n_movies`` movies (top-left ``size`` x ``size`` crop) through the exported
    network; compare decisions (argmax over classes of evidence + bias at every position of
    the 'full' grid and step) with the torch layer, and synaptic events with the count
    expected from the active weights."""
    import copy

    agree = total = 0
    measured = expected = 0
    wall = 0.0
    reference = copy.deepcopy(model).double()  # the torch layer in the simulator's precision
    bias = model.bias.detach().double().numpy()[:, None, None, None]
    for m in range(n_movies):
        raster = data.events[m, :, :, :size, :size]
        t0 = time.perf_counter()
        evidence, res = core_evidence(model, raster)
        wall += time.perf_counter() - t0
        x = torch.from_numpy(raster[None].astype(np.float64))
        ref = reference.evidence(x, padding=model.kernel_size - 1)[0].detach().numpy()
        agree += int(((evidence + bias).argmax(0) == (ref + bias).argmax(0)).sum())
        total += ref[0].size
        measured += res.synaptic_events
        expected += synaptic_operations(model, x)
    active = int((model.kernel() != 0).sum())
    return {"movies": n_movies, "crop": size, "active_weights": active, "decision_agreement": agree / max(total, 1),
            "positions_times": total, "synaptic_events_measured": measured, "synaptic_events_expected": expected,
            "input_events": int(data.events[:n_movies, :, :, :size, :size].sum()), "seconds": wall}
