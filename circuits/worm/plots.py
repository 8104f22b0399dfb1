"""Figures of the whole-worm simulation: activity heatmap, traces, atlas comparison."""
from __future__ import annotations

import numpy as np

from neurosim.plotting import pyplot as _plt
from neurosim.plotting import save_figure


def _save(fig, path):
    save_figure(fig, path, dpi=130)


def activity_heatmap(times, dv, names, cell_types, stim_window, path, title):
    """dV (mV) of all neurons over time, grouped by cell type, every neuron named."""
    plt = _plt()
    order_types = ["sensory", "inter", "motor", "other"]
    order = sorted(range(len(names)), key=lambda k: (order_types.index(cell_types[k]), names[k]))
    data = dv[:, order].T * 1e3
    lim = max(np.nanpercentile(np.abs(data), 99.5), 1e-3)
    fig, ax = plt.subplots(figsize=(11, 30))
    im = ax.imshow(data, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest",
                   extent=(times[0], times[-1], len(names) - 0.5, -0.5))
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([names[k] for k in order], fontsize=4.5)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("neuron (grouped: sensory, inter, motor, pharyngeal/other)")
    bounds = np.cumsum([sum(cell_types[k] == t for k in order) for t in order_types])[:-1]
    for b in bounds:
        ax.axhline(b - 0.5, color="k", lw=0.8)
    for a, b in [stim_window]:
        ax.axvline(a, color="k", ls="--", lw=0.8)
        ax.axvline(b, color="k", ls="--", lw=0.8)
    fig.colorbar(im, ax=ax, fraction=0.03, pad=0.01, label="membrane potential change from rest (mV)")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def traces(times, dv, names, show, stim_window, path, title):
    """dV (mV) of the named neurons over time with the stimulus shaded."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 5))
    for name in show:
        ax.plot(times, dv[:, names.index(name)] * 1e3, lw=1.0, label=name)
    ax.axvspan(*stim_window, color="0.85", zorder=0, label="stimulus")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("membrane potential change from rest (mV)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=4, loc="upper right")
    fig.tight_layout()
    _save(fig, path)


def atlas_scatter(model, connectome, dff, metrics, path, title):
    """Model response and raw connectome weight against measured dF/F, significant pairs."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    a.scatter(dff, model * 1e3, s=6, alpha=0.5)
    a.set_xlabel("measured response dF/F (Randi et al. 2023, q < 0.05)")
    a.set_ylabel("model response: mean dV (mV)")
    a.set_title(f"model: Spearman rho = {metrics['model']['spearman']:.3f}", fontsize=10)
    a.axhline(0, color="0.6", lw=0.6)
    a.axvline(0, color="0.6", lw=0.6)
    b.scatter(dff, connectome, s=6, alpha=0.5, color="C1")
    b.set_xlabel("measured response dF/F")
    b.set_ylabel("synapse + gap-junction count (stimulated -> responding)")
    b.set_title(f"raw connectome: Spearman rho = {metrics['connectome (chemical + gap counts)']['spearman']:.3f}", fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


ACTIVITY_STATS = {"pc1": "variance in PC 1", "top3": "variance in PCs 1-3", "participation_ratio_per_neuron": "participation ratio / N",
                  "mean_abs_r": "mean |r| over pairs"}


def activity_summary(check: dict, path, title):
    """Grouped bars: each ``worm_activity.correlation_summary`` statistic for the recordings
    (mean, with each worm as a dot) and for each model variant."""
    plt = _plt()
    rec = check["recordings"]
    models = check["models"]
    fig, axes = plt.subplots(1, len(ACTIVITY_STATS), figsize=(3.2 * len(ACTIVITY_STATS), 3.6))
    labels = ["recordings"] + list(models)
    for ax, (key, name) in zip(axes, ACTIVITY_STATS.items()):
        values = [np.mean([r[key] for r in rec])] + [m[key] for m in models.values()]
        ax.bar(range(len(labels)), values, color=["k"] + [f"C{k}" for k in range(len(models))])
        ax.plot(np.zeros(len(rec)), [r[key] for r in rec], "o", color="0.6", ms=4)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=40, ha="right", fontsize=8)
        ax.set_title(name, fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def class_pair_figure(classes, measured, predicted, name: str, path, title):
    """Measured and predicted class-pair correlations: both as symmetric class x class
    matrices in the same class order (classes ordered by the measured matrix's leading
    eigenvector, so that correlated groups sit together), and a scatter of the pairs."""
    plt = _plt()
    names = sorted(set(classes[:, 0]) | set(classes[:, 1]))
    pos = {c: k for k, c in enumerate(names)}
    mats = []
    for values in (measured, predicted):
        m = np.full((len(names), len(names)), np.nan)
        for (a, b), v in zip(classes, values):
            m[pos[a], pos[b]] = m[pos[b], pos[a]] = v
        mats.append(m)
    ev = np.linalg.eigh(np.nan_to_num(mats[0]))[1][:, -1]
    order = np.argsort(ev)
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.6), gridspec_kw={"width_ratios": [1, 1, 0.8]})
    for ax, m, label in zip(axes[:2], mats, ("measured (pooled recordings)", name)):
        lim = np.nanpercentile(np.abs(m), 98) or 1.0
        im = ax.imshow(m[np.ix_(order, order)], cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        ax.set_title(label, fontsize=9)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels([names[k] for k in order], fontsize=3.5, rotation=90)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels([names[k] for k in order], fontsize=3.5)
        fig.colorbar(im, ax=ax, fraction=0.04, pad=0.01, label="mean correlation")
    ax = axes[2]
    ax.plot(predicted, measured, ".", ms=2, alpha=0.5)
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel(f"{name}: predicted correlation")
    ax.set_ylabel("measured correlation")
    ax.set_title("class pairs", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)
