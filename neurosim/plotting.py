"""Raster and trace plots (matplotlib, Agg backend), saved as PNG."""
from __future__ import annotations

from .atomic import atomic_write

_UNIT_SCALE = {"v": (1e3, "mV"), "u": (1e3, "mV/ms"), "w": (1e12, "pA"), "i_e": (1e12, "pA"), "i_i": (1e12, "pA"), "s": (1.0, "")}


def _figure(*args, **kwargs):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt, plt.subplots(*args, **kwargs)


def _save(plt, fig, path):
    if path is not None:
        atomic_write(path, lambda p: fig.savefig(p, dpi=120, format="png"))
        plt.close(fig)
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
    return _save(plt, fig, path)


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
    return _save(plt, fig, path)
