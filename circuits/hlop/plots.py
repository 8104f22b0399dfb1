"""The accuracy matrix of a continual-learning run as a figure.
"""
from __future__ import annotations

import numpy as np

from neurosim.plotting import pyplot, save_figure

__all__ = ["plot_accuracy_matrix"]


def plot_accuracy_matrix(R: np.ndarray, path, method: str, acc: float, bwt: float | None) -> None:
    """Heatmap of the accuracy matrix R [after task i, on task j] (held-out accuracy, %)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 5.2 if R.shape[0] > 1 else 2.2))
    im = ax.imshow(R * 100, cmap="viridis", vmin=0, vmax=100, aspect="auto")
    for i in range(R.shape[0]):
        for j in range(R.shape[1]):
            if np.isfinite(R[i, j]):
                ax.text(j, i, f"{100 * R[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="black" if R[i, j] > 0.6 else "white")
    ax.set_xticks(range(R.shape[1]), [str(j + 1) for j in range(R.shape[1])])
    ax.set_yticks(range(R.shape[0]), [str(i + 1) for i in range(R.shape[0])] if R.shape[0] > 1 else ["all"])
    ax.set_xlabel("evaluated on task")
    ax.set_ylabel("after learning task" if R.shape[0] > 1 else "joint training")
    title = f"{method}: ACC {100 * acc:.1f}%" + (f", BWT {100 * bwt:+.1f}%" if bwt is not None else "")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, label="held-out accuracy (%)")
    fig.tight_layout()
    save_figure(fig, path)
