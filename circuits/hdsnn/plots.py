"""Figures of the HD-SNN runs: the learned kernels, accuracy against the fraction of active
weights, and recovery after a change of motion.
"""
from __future__ import annotations

import math

import numpy as np

from neurosim.plotting import pyplot, save_figure

from .layer import HDSNN
from .movies import MotionClasses

__all__ = ["plot_kernels", "plot_pruning", "plot_recovery"]


def plot_kernels(model: HDSNN, path, speed: int = -1, n_show: int = 6) -> None:
    """Learned weights (ON polarity) of the 12 directions at one speed: rows are
    directions, columns delays (1, ..., D, evenly picked); red excitatory, blue inhibitory."""
    plt = pyplot()
    k = model.kernel().detach().numpy()
    cl = MotionClasses()
    n_s = len(cl.speeds)
    delays = np.unique(np.linspace(0, model.n_delays - 1, n_show).round().astype(int))
    fig, axes = plt.subplots(cl.n_directions, delays.size, figsize=(1.4 * delays.size, 1.3 * cl.n_directions))
    lim = np.abs(k).max() or 1.0
    for row in range(cl.n_directions):
        c = row * n_s + (speed % n_s)
        for col, d in enumerate(delays):
            ax = axes[row, col]
            ax.imshow(k[c, 1, d], cmap="RdBu_r", vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(f"delay {d + 1}", fontsize=8)
            if col == 0:
                ax.set_ylabel(f"{360 * row // cl.n_directions} deg", fontsize=8)
    fig.suptitle(f"HD-SNN kernels, ON polarity, speed {cl.speeds[speed]:g} px/ms", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_pruning(summary: dict, path, whole_layer: dict | None = None) -> None:
    """Accuracy against the fraction of active weights, one-shot pruning (the paper's, or
    every class to the same number of synapses when ``summary["per_class"]``) and, when the
    summary has them, iterative pruning with retraining. Left (when the rows have it): the
    paper's measure, one decision per held-out movie of one motion; right: a decision at
    every step of the saccadic held-out movies (every step and settled steps).
    ``whole_layer``: a whole-layer summary drawn in grey for comparison. Dash-dot lines:
    where accuracy falls halfway from its peak to chance."""
    plt = pyplot()
    per_class = summary.get("per_class", False)
    how = "each class pruned to the same number of synapses" if per_class else "whole layer pruned at once"
    rows = sorted(summary["rows"], key=lambda r: r["active_fraction"])
    tuned = sorted(summary.get("rows_finetuned") or [], key=lambda r: r["active_fraction"])
    f, ft = [r["active_fraction"] for r in rows], [r["active_fraction"] for r in tuned]
    panels = [("movie", "movie_"), ("step", "")] if "movie_accuracy" in rows[0] else [("step", "")]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.4), squeeze=False)
    for ax, (kind, prefix) in zip(axes[0], panels):
        suffix = "" if kind == "movie" else ", every step"
        ax.semilogx(f, [r[f"{prefix}direction_accuracy"] for r in rows], "o-", color="C0", label="12 directions" + suffix)
        ax.semilogx(f, [r[f"{prefix}accuracy"] for r in rows], "s-", color="C1", label="36 classes (direction x speed)" + suffix)
        if kind == "movie" and "movie_direction_accuracy_no_bias" in rows[0]:
            ax.semilogx(f, [r["movie_direction_accuracy_no_bias"] for r in rows], "o--", color="C0", mfc="none",
                        label="12 directions, evidence alone (beta left out)")
            ax.semilogx(f, [r["movie_accuracy_no_bias"] for r in rows], "s--", color="C1", mfc="none",
                        label="36 classes, evidence alone (beta left out)")
        if kind == "step" and "accuracy_settled" in rows[0]:
            ax.semilogx(f, [r["direction_accuracy_settled"] for r in rows], "o--", color="C0", mfc="none",
                        label="12 directions, settled steps")
            ax.semilogx(f, [r["accuracy_settled"] for r in rows], "s--", color="C1", mfc="none", label="36 classes, settled steps")
        if tuned:
            ax.semilogx(ft, [r[f"{prefix}direction_accuracy"] for r in tuned], "^-", color="C2",
                        label="12 directions" + suffix + ", pruned iteratively + retrained")
            if kind == "step":
                ax.semilogx(ft, [r["direction_accuracy_settled"] for r in tuned], "^--", color="C2", mfc="none",
                            label="12 directions, settled steps, pruned iteratively + retrained")
        other = sorted((whole_layer or {}).get("rows") or [], key=lambda r: r["active_fraction"])
        if other and f"{prefix}direction_accuracy" in other[0]:
            ax.semilogx([r["active_fraction"] for r in other], [r[f"{prefix}direction_accuracy"] for r in other], "o-",
                        color="0.6", label="12 directions" + suffix + ", whole layer pruned at once (the paper's)")
        ax.axhline(summary["chance_direction"], color="C0", ls=":", lw=1)
        ax.axhline(summary["chance"], color="C1", ls=":", lw=1, label="chance")
        for key, color in ((f"half_{prefix}direction_accuracy_fraction", "C0"), (f"half_{prefix}accuracy_fraction", "C1"),
                           (f"finetuned_half_{prefix}direction_accuracy_fraction", "C2")):
            if summary.get(key):
                ax.axvline(summary[key], color=color, ls="-.", lw=1)
        ax.set_xlabel("fraction of active weights (of the dense S x 36 x 2 x D x ks x ks kernel)")
        ax.set_ylabel("held-out accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
        ax.set_title("one decision per movie of one motion (the paper's test)" if kind == "movie"
                     else "a decision at every step of saccadic movies", fontsize=9)
    fig.suptitle(f"HD-SNN pruning ({how}): accuracy vs active weights (dash-dot: half of peak above chance)", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def plot_recovery(summary: dict, n_delays: int, path) -> None:
    """12-direction accuracy against the age of the motion (steps since it changed) for
    the dense layer and a pruned one: after a change the delay window still holds the old
    motion, and accuracy climbs back as the window fills with the new one."""
    plt = pyplot()
    rows = sorted(summary["rows"], key=lambda r: -r["active_fraction"])
    pruned = min(rows, key=lambda r: abs(math.log(r["active_fraction"] / 0.1)))
    fig, ax = plt.subplots(figsize=(7, 4))
    ages = np.arange(1, n_delays + 2)
    for r, style in ((rows[0], "o-"), (pruned, "s--")):
        acc = [np.nan if a is None else a for a in r["direction_accuracy_by_age"]]
        ax.plot(ages, acc, style, label=f"{r['active_fraction']:.2g} of the weights active")
    ax.axhline(summary["chance_direction"], color="k", ls=":", lw=1, label="chance")
    ticks = list(ages[:-1:2]) + [ages[-1]]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(a) for a in ticks[:-1]] + [f">{n_delays}"])
    ax.set_xlabel(f"age of the motion (steps since it changed; >{n_delays}: the whole delay window sees it)")
    ax.set_ylabel("held-out 12-direction accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("HD-SNN: how fast a change of motion is detected", fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
