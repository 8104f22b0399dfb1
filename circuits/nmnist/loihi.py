"""Deploy the trained N-MNIST classifier (``circuits.nmnist.classifier``) to Loihi 2: export it to a
core ``Network`` (``neurosim.nn.to_network``: conv and pooling unrolled), quantise it, run
it on the Numba fixed-point engine and on Lava's bit-accurate simulator, and compare their
accuracy with the float model.

The held-out samples run back to back as one input stream, each followed by a silent gap
after which every integer state is exactly 0 and nothing is in flight (measured by the
engine within the bound of ``silent_gap``, then checked), so that each sample runs as if
alone: on Loihi there is no reset between inputs. The hardware takes one
spike per input pixel and step, so the float model is also scored on those binary frames
(``float_binary``), next to its score on the event counts it was trained on
(``float_counts``). The readout is a CuBa-LIF population whose threshold is out of reach;
for the integer formats its threshold is set to 4x the largest readout membrane seen on the
training samples, which fixes the resolution of the readout voltage.
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from circuits import SHARED_DATA
from hardware.loihi.engine import run_fixed
from hardware.loihi.quantize import DECAY_UNITY, UV_LIMIT, LoihiNetwork, map_network, quantize
from hardware.loihi.resources import estimate_resources
from neurosim.atomic import atomic_write
from neurosim.integrity import brief, check_finite_tensors, load_torch
from neurosim.network import Network, Population
from neurosim.runlock import locks_folder

__all__ = ["load_nmnist_model", "silent_gap", "deploy_nmnist", "readout_predictions"]

READOUT_MARGIN = 4.0


def load_nmnist_model(model_dir):
    """(model, settings) from a ``neurosim train nmnist`` folder (``checkpoint.pt`` for the
    settings, ``model_state.pt`` for the weights; both read with ``weights_only=True``).
    Raises ``ValueError`` when they are missing or unreadable."""
    from .classifier import SAMPLE_DURATION, NMNISTNet

    folder = Path(model_dir)
    ckpt, weights = folder / "checkpoint.pt", folder / "model_state.pt"
    for f in (ckpt, weights):
        if not f.is_file():
            raise ValueError(f"{folder}: no {f.name}; train first with `neurosim train nmnist --out {folder}`")
    saved = load_torch(ckpt, "checkpoint")  # CorruptFileError (a ValueError) names a damaged file
    state = load_torch(weights, "trained weights")
    try:
        settings = json.loads(saved["settings"])
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"{ckpt}: no readable run settings ({type(exc).__name__}: {exc})") from None
    if not isinstance(settings, dict) or settings.get("task") != "nmnist":
        raise ValueError(f"{folder}: the checkpoint is of task {settings.get('task') if isinstance(settings, dict) else None!r}, "
                         "not nmnist")
    check_finite_tensors(state, f"trained weights {weights}")
    try:
        model = NMNISTNet(SAMPLE_DURATION / settings["time_bins"], tuple(settings["channels"]))
        model.load_state_dict(state)
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise ValueError(f"{weights} does not fit the classifier described by {ckpt} (time_bins, channels): {brief(exc)}") from None
    return model.eval(), settings


def silent_gap(net: LoihiNetwork) -> int:
    """Silent steps after which every ``u`` and ``v`` of the quantised ``net`` is exactly 0,
    from any state, for a feed-forward chain of its populations: per population, the steps
    the integer decays need to bring ``u`` and then ``v`` from their 24-bit limits to 0 (no
    bias), summed over the chain, plus its transmission steps and delays."""
    total = 0
    for p in net.populations:
        if np.any(p.bias_mant != 0):
            raise ValueError(f"population {p.name!r} has a bias: its state never decays to 0")
        # the largest magnitudes (truncation toward 0 makes negative states decay alike)
        u, v, steps = UV_LIMIT, UV_LIMIT - 1, 0
        while u or v:
            u = (u * (DECAY_UNITY - p.du_int - 1)) >> 12
            v = min(((v * (DECAY_UNITY - p.dv_int)) >> 12) + u, UV_LIMIT - 1)
            steps += 1
            if steps > 100_000:
                raise ValueError(f"population {p.name!r}: its state takes over 100,000 steps to decay (du = {p.du_int}, "
                                 f"dv = {p.dv_int})")
        total += steps + 1
    return total + sum(pr.max_delay + 1 for pr in net.projections)


def readout_predictions(v: np.ndarray, starts, t_len: int, lag: int) -> np.ndarray:
    """Class of each sample: argmax over classes of the readout voltage's maximum over the
    sample's ``t_len`` steps. ``v`` (n_steps, n_classes) as recorded after each step;
    torch step t of the sample starting at step s is engine step ``s + t + lag``."""
    return np.array([int(np.argmax(v[s + lag: s + lag + t_len].max(0))) for s in starts])


def _readout_peak(model, x: torch.Tensor, batch: int = 50) -> float:
    """Largest |readout membrane| (normalised units) of ``model`` on ``x`` (N, T, ...)."""
    with torch.no_grad():
        return max(float(model.readout_membrane(x[i: i + batch].transpose(0, 1).float()).abs().max())
                   for i in range(0, x.shape[0], batch))


def _float_predictions(model, x: torch.Tensor, batch: int = 50) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([model(x[i: i + batch].transpose(0, 1).float()).argmax(1) for i in range(0, x.shape[0], batch)]).numpy()


def _stream_network(model, x_bin: np.ndarray, gap: int, readout_vth: float) -> tuple[Network, list]:
    """The exported network playing the samples ``x_bin`` (N, T, ...) one after another,
    each followed by ``gap`` silent steps; returns it and the samples' start steps."""
    from neurosim.nn import to_network

    n, t_len = x_bin.shape[:2]
    period = t_len + gap
    stream = np.zeros((n * period, *x_bin.shape[2:]), np.uint8)
    starts = [s * period for s in range(n)]
    for s, start in enumerate(starts):
        stream[start: start + t_len] = x_bin[s]
    on = np.concatenate([np.arange(start, start + t_len) for start in starts])
    net = to_network(model.layers(), stream, bias_steps=on)
    pops = [Population(p.name, p.model.replace(v_th=p.model.v_rest + readout_vth), p.size) if p.name == "readout" else p
            for p in net.populations]
    return replace(net, populations=tuple(pops)), starts


def _regap(net: LoihiNetwork, starts: list, t_len: int, window: int, gap: int) -> tuple[LoihiNetwork, list]:
    """``net`` with its samples ``t_len`` steps apart plus ``gap`` silent steps instead: the
    ``window`` steps from each start, which hold all of that sample's source spikes (its
    inputs and the bias neurons' later spikes), move to the new starts. Returns the network
    and the new start steps. Raises ``ValueError`` when the gap is shorter than the window
    needs."""
    period = t_len + gap
    if period < window:
        raise ValueError(f"a gap of {gap} steps is shorter than the {window - t_len} steps the bias inputs run on")
    new_starts = [k * period for k in range(len(starts))]
    srcs = []
    for src in net.sources:
        counts = np.zeros((src.size, len(starts) * period), src.counts.dtype)
        for old, new in zip(starts, new_starts):
            counts[:, new: new + window] = src.counts[:, old: old + window]
        srcs.append(replace(src, counts=counts))
    return replace(net, sources=tuple(srcs), n_steps=len(starts) * period), new_starts


def _first_steps(net: LoihiNetwork, n_steps: int) -> LoihiNetwork:
    """``net`` cut to its first ``n_steps`` steps."""
    srcs = tuple(replace(s, counts=s.counts[:, :n_steps]) for s in net.sources)
    return replace(net, sources=srcs, n_steps=n_steps)


@locks_folder("out_dir")
def deploy_nmnist(model_dir="runs/nmnist", data_root=None, out_dir="runs/loihi_nmnist", n_samples=None, lava_samples=None,
                  threshold_bits: int = 14, progress: bool = True) -> dict:
    """Deploy the model in ``model_dir`` on its held-out N-MNIST samples (the first
    ``n_samples``; default all): float accuracy (event counts and binary frames), the
    fixed-point engine's and Lava ``fixed_pt``'s (on the first ``lava_samples``; default
    the same samples, 0 skips Lava), whether the two agree exactly (predictions and every
    integer readout voltage), the quantisation report and the cores needed.

    Writes ``results.json``, ``quantization.txt``, ``resources.txt`` and
    ``accuracy.png`` to ``out_dir`` (atomically). Returns the results. Raises
    ``ValueError`` for a missing or foreign model folder or bad sample counts, and
    ``RuntimeError`` if a sample does not let the network fall quiet (an engine fault)."""
    from hardware.loihi.lava_backend import run_lava

    from .classifier import load_frames

    model, settings = load_nmnist_model(model_dir)
    root = Path(data_root) if data_root is not None else SHARED_DATA / "nmnist_small"
    frames, labels, ds = load_frames(root, settings["time_bins"])
    train_ds, test_ds = ds.split(settings["test_fraction"], seed=settings["seed"])
    train_idx, test_idx = np.asarray(train_ds.indices), np.asarray(test_ds.indices)
    if settings.get("limit"):
        train_idx, test_idx = train_idx[: settings["limit"]], test_idx[: max(10, settings["limit"] // 4)]
    for name, value in (("n_samples", n_samples), ("lava_samples", lava_samples)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0):
            raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= 0")
    if n_samples is not None:
        if n_samples < 1:
            raise ValueError("n_samples must be >= 1")
        test_idx = test_idx[:n_samples]
    n = len(test_idx)
    n_lava = n if lava_samples is None else min(lava_samples, n)
    y = labels[test_idx]
    x_counts = torch.from_numpy(frames[test_idx].astype(np.float32))
    x_bin = (frames[test_idx] > 0).astype(np.uint8)
    out = {"model_dir": str(model_dir), "n_samples": n, "lava_samples": n_lava, "threshold_bits": threshold_bits}
    out["float_counts"] = float(np.mean(_float_predictions(model, x_counts) == y))
    pred_float = _float_predictions(model, torch.from_numpy(x_bin.astype(np.float32)))
    out["float_binary"] = float(np.mean(pred_float == y))
    peak = _readout_peak(model, torch.from_numpy((frames[train_idx[:200]] > 0).astype(np.float32)))
    neuron = model.readout.neuron
    readout_vth = READOUT_MARGIN * peak * (neuron.v_th - neuron.v_rest)
    t_len, dt = x_bin.shape[1], model.readout.dt
    lag = sum(1 for m in model.layers() if hasattr(m, "neuron"))  # one transmission step per neuron layer
    # the silent gap: first a provable bound (from the integer decays, which do not depend on
    # the gap), then the steps every sample actually needs until the whole network is quiet
    # (all u and v exactly 0, nothing in flight), measured by the engine and checked again
    probe, _ = _stream_network(model, x_bin[:1], 1, readout_vth)
    gap = silent_gap(quantize(map_network(probe, dt, t_len + 1), threshold_bits)[0])
    net, starts = _stream_network(model, x_bin, gap, readout_vth)
    q, report = quantize(map_network(net, dt, n * (t_len + gap)), threshold_bits)
    quiet = run_fixed(q, record_spikes=[], record_v=[])[1]["quiet"]
    settle = [int(np.argmax(quiet[e:])) if quiet[e:].any() else -1 for e in np.array(starts) + t_len - 1]
    if min(settle) < 0:
        raise RuntimeError(f"a sample did not settle within the {gap}-step bound")
    # the same network with the measured gap: only the input streams move (the unrolled
    # projections do not depend on the gap)
    q, starts = _regap(q, starts, t_len, t_len + lag, max(settle) + 1)
    gap, n_steps = q.n_steps // n - t_len, q.n_steps
    res, ints = run_fixed(q, record_spikes=["readout"], record_v=["readout"])
    quiet = ints["quiet"]
    if not all(quiet[s - 1] for s in starts[1:]):
        raise RuntimeError("a sample started before the network was quiet")
    out.update(gap_steps=gap, n_steps=n_steps, n_neurons=sum(p.size for p in q.populations),
               n_synapses=int(sum(pr.weights.nnz for pr in q.projections)))
    resources = estimate_resources(q)
    v_fixed = ints["readout"]["v"]
    pred_fixed = readout_predictions(v_fixed, starts, t_len, lag)
    out["fixed_engine"] = float(np.mean(pred_fixed == y))
    out["same_prediction_as_float_binary"] = float(np.mean(pred_fixed == pred_float))
    out["fixed_engine_seconds"] = res.wall_time
    out["readout_spikes"] = int(ints["readout"]["spikes"].sum())  # 0: the readout stays below its threshold
    if n_lava:
        sub = _first_steps(q, n_lava * (t_len + gap))
        t0 = time.perf_counter()
        with tqdm(total=1, desc="Lava fixed_pt", disable=not progress) as bar:
            _, lava_ints = run_lava(sub, "fixed_pt", record_spikes=["readout"], record_v=["readout"])
            bar.update()
        out["lava_seconds"] = time.perf_counter() - t0
        pred_lava = readout_predictions(lava_ints["readout"]["v"], starts[:n_lava], t_len, lag)
        out["lava_fixed_pt"] = float(np.mean(pred_lava == y[:n_lava]))
        out["fixed_engine_on_lava_samples"] = float(np.mean(pred_fixed[:n_lava] == y[:n_lava]))
        out["lava_equals_engine"] = bool(np.array_equal(lava_ints["readout"]["v"], v_fixed[: sub.n_steps])
                                         and np.array_equal(pred_lava, pred_fixed[:n_lava]))
        out["lava_readout_spikes"] = int(lava_ints["readout"]["spikes"].sum())
    out["drop_vs_float_binary"] = out["float_binary"] - out["fixed_engine"]
    out["drop_vs_float_counts"] = out["float_counts"] - out["fixed_engine"]
    out["cores"], out["chips"] = resources.total_cores, resources.chips
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "results.json", lambda p: Path(p).write_text(json.dumps(out, indent=2)))
    atomic_write(folder / "quantization.txt", lambda p: Path(p).write_text(report.table() + "\n"))
    atomic_write(folder / "resources.txt", lambda p: Path(p).write_text(resources.table() + "\n"))
    _plot(out, folder / "accuracy.png")
    return out


def _plot(out: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["float\n(event counts)", "float\n(binary frames)", "Loihi fixed point\n(Numba engine)"]
    vals = [out["float_counts"], out["float_binary"], out["fixed_engine"]]
    if "lava_fixed_pt" in out:
        names.append(f"Lava fixed_pt\n({out['lava_samples']} samples)")
        vals.append(out["lava_fixed_pt"])
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    ax.bar(names, [100 * v for v in vals], color=["#777", "#999", "#3a7", "#37a"][: len(vals)])
    for i, v in enumerate(vals):
        ax.text(i, 100 * v + 0.5, f"{100 * v:.1f}%", ha="center")
    ax.set_ylim(0, 105)
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title(f"N-MNIST on Loihi 2 arithmetic ({out['n_samples']} held-out samples)")
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
