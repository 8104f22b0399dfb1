"""Figures of a SpiNNaker mapping: the machine's load per chip as a heatmap."""
from __future__ import annotations

import numpy as np

from neurosim.atomic import atomic_write

__all__ = ["plot_machine_load"]


def plot_machine_load(mapping, stats, path) -> None:
    """Heatmap of the chips at their (x, y) positions: cores used per chip, and with
    ``stats`` from ``simulate_fixed`` the packets each router handled and the peak CPU load
    of each chip's cores. Saved as PNG at ``path`` (atomically)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = mapping.machine
    panels = [("cores used", np.bincount([s.chip for s in mapping.slices], minlength=m.n_chips).astype(float))]
    if stats is not None:
        panels.append(("packets per router", np.asarray(stats["packets_per_router"], float)))
        peak = np.zeros(m.n_chips)
        for k, s in enumerate(mapping.slices):
            peak[s.chip] = max(peak[s.chip], float(stats["cpu_load"][k].max()))
        panels.append(("peak CPU load of a core (fraction of a step)", peak))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), squeeze=False)
    for ax, (title, values) in zip(axes[0], panels):
        grid = np.full((m.height, m.width), np.nan)
        for k, (x, y) in enumerate(m.chips):
            grid[y, x] = values[k]
        im = ax.imshow(grid, origin="lower", cmap="viridis")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("chip x")
        ax.set_ylabel("chip y")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"{len(mapping.slices)} slices on {m.n_chips} chips")
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    plt.close(fig)
