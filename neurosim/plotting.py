"""Raster and trace plots (matplotlib, Agg backend), and the one way figures are saved:
atomically, in the format the file suffix names."""
from __future__ import annotations

from pathlib import Path

from .atomic import atomic_write

__all__ = ["pyplot", "save_figure", "raster", "traces"]

_UNIT_SCALE = {"v": (1e3, "mV"), "u": (1e3, "mV/ms"), "w": (1e12, "pA"), "i_e": (1e12, "pA"), "i_i": (1e12, "pA"), "s": (1.0, "")}


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _figure(*args, **kwargs):
    plt = pyplot()
    return plt, plt.subplots(*args, **kwargs)


def save_figure(fig, path, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` atomically in the format its suffix names (``.png``,
    ``.pdf``, ``.svg``, ...) and close it. Raises ``ValueError`` listing the suffixes
    matplotlib writes for any other suffix (nothing is written then)."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        pyplot().close(fig)
        raise ValueError(f"cannot save a figure as {str(path)!r}: the suffix must name an image format, one of "
                         f"{', '.join('.' + k for k in sorted(supported))}")
    atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, format=fmt))
    pyplot().close(fig)
    return path


def _save(fig, path):
    if path is not None:
        save_figure(fig, path)
    return fig


def raster(results, path=None, populations=None, max_neurons=500, title=None):
    """Spike raster (top) and population rate in 5 ms bins (bottom) of ``populations``."""
    names = list(results.spikes) if populations is None else list(populations)
    if not names:
        raise ValueError("no spikes were recorded: add a SpikeMonitor to the run")
    plt, (fig, (ax, ax_rate)) = _figure(2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    offset, colors = 0, plt.rcParams["axes.prop_cycle"].by_key()["color"]
    t0 = results.t_start
    for k, name in enumerate(names):
        st = results.spikes[name]
        shown = min(st.size, max_neurons)
        keep = st.ids < shown
        ax.scatter((st.times[keep]) * 1e3, st.ids[keep] + offset, s=1.0, marker="|", color=colors[k % len(colors)],
                   label=f"{name} ({st.mean_rate():.1f} Hz)", rasterized=True)
        t, r = st.population_rate(5e-3)
        ax_rate.plot((t0 + t) * 1e3, r, color=colors[k % len(colors)], lw=0.8, label=name)
        offset += shown
    ax.set_ylabel(f"neuron (first {max_neurons} of each population)")
    ax.set_ylim(-0.5, offset - 0.5)
    ax.legend(loc="upper right", markerscale=8, fontsize=8)
    ax_rate.set_xlabel("time (ms)")
    ax_rate.set_ylabel("rate (Hz)")
    ax.set_title(title or "spike raster")
    fig.tight_layout()
    return _save(fig, path)


def traces(results, path=None, population=None, variable="v", max_neurons=8, title=None):
    """Time course of ``variable`` for up to ``max_neurons`` recorded neurons."""
    if not results.traces:
        raise ValueError("no state was recorded: add a StateMonitor to the run")
    name = population or next(iter(results.traces))
    tr = results.traces[name]
    data = tr[variable]
    scale, unit = _UNIT_SCALE.get(variable, (1.0, ""))
    plt, (fig, ax) = _figure(figsize=(9, 4))
    for c in range(min(data.shape[1], max_neurons)):
        ax.plot(tr.times * 1e3, data[:, c] * scale, lw=0.8, label=f"{name}[{tr.neurons[c]}]")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"{variable} ({unit})" if unit else variable)
    ax.set_title(title or f"{name}: {variable}")
    ax.legend(loc="upper right", fontsize=7, ncol=2)
    fig.tight_layout()
    return _save(fig, path)
