"""The NIR paper's N-MNIST CNN (Pedersen et al. 2024, Nat. Commun. 15:8122; ``cnn_sinabs.nir``,
exported from Sinabs: Conv2d/IF/SumPool2d/Affine) run in neurosim's torch layers: the events
binned as the paper's platforms bin them (``norse_apply.ipynb``: event counts in 1 ms frames,
``tonic.transforms.ToFrame(time_window=1e3)``), each sample from rest, the class with most
output spikes over the sample's own length decides."""
from __future__ import annotations

import numpy as np
import torch

from neurosim.events import NMNIST_SENSOR, NMNISTSmall

__all__ = ["FRAME_US", "TARGETS", "nmnist_frames", "classify_frames", "classify_core", "deploy_nir_classifier"]

TARGETS = ("simulator", "loihi", "spinnaker")
"""Where ``classify_core`` runs the graph's core ``Network``: the Numba simulator, Loihi 2's
fixed-point engine (``hardware.loihi``), the SpiNNaker s16.15 simulation (``hardware.spinnaker``)."""

FRAME_US = 1e3
"""Frame length of the paper's binning, in microseconds (1 ms)."""


def nmnist_frames(root, indices=None) -> tuple[list, np.ndarray]:
    """The N-MNIST samples under ``root`` (``neurosim.events.NMNISTSmall``) as event-count
    frames: (list of float32 arrays (T_i, 2, 34, 34), labels (N,)); each sample keeps its own
    length T_i (one frame per ``FRAME_US``)."""
    import tonic

    data = NMNISTSmall(root, indices, transform=tonic.transforms.ToFrame(sensor_size=NMNIST_SENSOR, time_window=FRAME_US))
    items = [data[i] for i in range(len(data))]
    return [x.astype(np.float32) for x, _ in items], np.array([y for _, y in items], np.int64)


def classify_frames(model, frames: list, batch: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` (a ``neurosim.nn.Sequential`` mapping (T, B, 2, 34, 34) to output spikes
    (T, B, 10)) on every sample of ``frames`` from rest. Samples are batched, zero-padded to
    the batch's longest, and each one's output spikes are counted over its own length only
    (the model is causal: padding after a sample's end cannot change its earlier steps).
    Returns (predictions (N,), output spike counts (N, 10))."""
    preds, counts = [], []
    with torch.no_grad():
        for b in range(0, len(frames), batch):
            chunk = frames[b : b + batch]
            lens = np.array([x.shape[0] for x in chunk])
            x = np.zeros((lens.max(), len(chunk), *chunk[0].shape[1:]), np.float32)
            for k, xi in enumerate(chunk):
                x[: xi.shape[0], k] = xi
            out = model(torch.from_numpy(x)).numpy()
            mine = np.arange(lens.max())[:, None] < lens[None, :]
            c = (out * mine[:, :, None]).sum(0)
            counts.append(c)
            preds.append(c.argmax(1))
    return np.concatenate(preds), np.concatenate(counts)


def classify_core(graph, frames: list, target: str = "simulator", dt: float = 1e-3, progress: bool = True,
                  settings: dict | None = None) -> dict:
    """Classify ``frames`` (``nmnist_frames``) with the core ``Network`` of the NIR ``graph``
    (``hardware.nir.network_from_nir``: convolutions unrolled into sparse projections, IF
    layers with delta synapses) on ``target`` (``TARGETS``), each sample from rest. The
    input is binary (one spike per pixel and step: the event-count frames clipped to 1), as
    Loihi's and SpiNNaker's spike inputs carry at most one spike per neuron and step; each
    projection takes one step, so a sample runs for its length plus the output population's
    depth, and the class with most output spikes decides. Loihi compiles (maps and
    quantises) once and SpiNNaker maps once: only the input spikes change between samples.
    ``settings``: keyword arguments of the target's backend (``threshold_bits``, ``machine``, ...).

    Returns ``{"predictions": (N,), "counts": (N, n_classes), "seconds": run time in s,
    "depth": steps from the input to the output, "network": the template Network,
    "info": what compiling reported}``. Raises ``ValueError`` for an unknown target and
    ``hardware.nir.NIRConversionError`` for graphs the core cannot hold."""
    import time
    from dataclasses import replace

    from tqdm import tqdm

    from hardware.nir import network_from_nir, read_graph
    from hardware.nir.biases import depths
    from neurosim import Simulator, SpikeMonitor, SpikeSource
    from neurosim.backend import get_backend

    if target not in TARGETS:
        raise ValueError(f"target = {target!r} is invalid: one of {TARGETS}")
    g = read_graph(graph)
    (out,) = [a for a, b in g.edges if type(g.nodes[b]).__name__ == "Output"]
    template = network_from_nir(g, dt=dt)
    depth = depths(template.sources, template.projections, dt)[out]
    t_max = max(x.shape[0] for x in frames) + depth + 1

    def sample_network(x):  # the template with this sample's input spikes (the projections are built once)
        steps, pixels = np.nonzero(x.reshape(x.shape[0], -1) > 0)
        (src,) = template.sources
        return replace(template, sources=(SpikeSource(src.name, src.size, steps * dt, pixels),))

    info, deployment, backend = {}, None, None
    if target != "simulator":
        backend = get_backend(target)(dt=dt, **(settings or {}))
        deployment = backend.compile(template, t_max * dt)
        info = deployment.info
    counts, start = [], time.perf_counter()
    for x in tqdm(frames, desc=f"{target} samples", disable=not progress):
        n_steps = x.shape[0] + depth + 1
        net = sample_network(x)
        if target == "simulator":
            res = Simulator(net, dt=dt).run(n_steps * dt, [SpikeMonitor(out)])
        elif target == "loihi":
            from hardware.loihi.quantize import source_counts

            q = deployment.target
            q = replace(q, n_steps=n_steps, sources=tuple(replace(s, counts=source_counts(net.sources[0], dt, n_steps))
                                                          for s in q.sources))
            res = backend.run(replace(deployment, network=net, target=q, duration=n_steps * dt))
        else:
            res = backend.run(replace(deployment, network=net, duration=n_steps * dt))
        ids = res.spikes[out].ids
        counts.append(np.bincount(ids, minlength=template.population(out).size))
    counts = np.array(counts)
    return {"predictions": counts.argmax(1), "counts": counts, "seconds": time.perf_counter() - start, "depth": depth,
            "network": template, "info": info}


def deploy_nir_classifier(graph, data_root, target: str, n_samples: int | None = None, dt: float = 1e-3,
                          progress: bool = True, settings: dict | None = None) -> dict:
    """The accuracy a NIR N-MNIST classifier (the NIR paper's ``cnn_sinabs.nir``) loses on the
    way to ``target`` (``"loihi"`` or ``"spinnaker"``), on the first ``n_samples`` samples
    under ``data_root`` (default all): the graph in torch layers on the event-count frames
    (the paper's binning) and on binary frames (what the chips' spike inputs carry), its
    core ``Network`` in the simulator and on ``target`` (``classify_core``). Returns the
    accuracies (fractions), the drops (points of accuracy, float binary minus target), the
    fractions of decisions equal to the float model's on binary frames, the seconds per
    sample and what compiling reported (``info``). ``settings``: as for ``classify_core``."""
    from hardware.nir import from_nir

    if target not in TARGETS[1:]:
        raise ValueError(f"target = {target!r} is invalid: one of {TARGETS[1:]}")
    frames, labels = nmnist_frames(data_root, None if n_samples is None else np.arange(n_samples))
    model = from_nir(graph, dt=dt)
    counts_pred, _ = classify_frames(model, frames)
    binary_pred, _ = classify_frames(model, [np.minimum(x, 1) for x in frames])
    out = {"n_samples": len(frames), "float_counts": float((counts_pred == labels).mean()),
           "float_binary": float((binary_pred == labels).mean())}
    for where in ("simulator", target):
        r = classify_core(graph, frames, where, dt, progress, settings if where == target else None)
        out[where] = float((r["predictions"] == labels).mean())
        out[f"{where}_same_decisions"] = float((r["predictions"] == binary_pred).mean())
        out[f"{where}_seconds_per_sample"] = r["seconds"] / max(len(frames), 1)
        out["depth"], out["n_neurons"] = r["depth"], sum(p.size for p in r["network"].populations)
        out["n_synapses"] = sum(pr.weights.size for pr in r["network"].projections)
        if where == target:
            out["info"] = r["info"]
    out["drop"] = 100 * (out["float_binary"] - out[target])
    return out
