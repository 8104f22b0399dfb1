"""Reports of a SpiNNaker mapping: our mapper's and sPyNNaker's side by side
(``mapping_table``), the s16.15 run against the float simulator (``spike_agreement``) and
the machine's load per chip as a heatmap (``plot_machine_load``)."""
from __future__ import annotations

import numpy as np

from neurosim.atomic import atomic_write

__all__ = ["plot_machine_load", "mapping_table", "spike_agreement"]


def mapping_table(ours: dict | None, theirs: dict | None) -> str:
    """Our mapper's report (``Mapping.report()``) beside sPyNNaker's
    (``ToolchainMapping.report()``), either may be ``None``: cores and chips, routing
    entries before -> after compression (largest table and all chips), keys, times."""
    def col(r, ours_side):
        if r is None:
            return ["-"] * 7
        time_s = (f"{r['seconds_partition'] + r['seconds_place'] + r['seconds_route'] + r['seconds_compress']:.2f} s" if ours_side else
                  f"{r['seconds_mapping']:.2f} s (+ {r['seconds_data']:.1f} s data generation; {r['seconds_total']:.1f} s "
                  "with start-up)")
        delay = f" +{r['delay_extension_cores']} delay extension" if not ours_side and r["delay_extension_cores"] else ""
        system = "" if ours_side else f" ({delay.strip() + ', ' if delay else ''}+{r['system_cores']} system)"
        return [f"{r['chips']} chips, routers of {r['table_size']}", f"{r['cores_used']}{system}", str(r["chips_used"]),
                f"{r['max_table_before']} -> {r['max_table_after']}", f"{r['total_entries_before']} -> {r['total_entries_after']}",
                str(r.get("keys", r.get("slices", "-"))), time_s]
    rows = ["machine", "cores (network)", "chips used", "routing entries, largest chip", "routing entries, all chips",
            "keys", "mapping time"]
    a, b = col(ours, True), col(theirs, False)
    w0, w1 = max(map(len, rows)), max(len("neurosim mapper"), *map(len, a))
    lines = [f"{'':{w0}}  {'neurosim mapper':{w1}}  sPyNNaker 7.4 (PACMAN)"]
    lines += [f"{r:{w0}}  {x:{w1}}  {y}" for r, x, y in zip(rows, a, b)]
    return "\n".join(lines)


def spike_agreement(a, b, dt: float) -> dict:
    """Two runs' ``SpikeTrains`` of one population (``a``: e.g. the s16.15 run, ``b``: the
    float simulator) at time step ``dt`` (s) compared step by step: spikes and mean rates (Hz) of each,
    ``identical_steps`` (steps from the start with the same neurons spiking; the whole run
    when they never differ) and ``differing_at_first`` (neurons that differ in the first
    step that does)."""
    n_steps = int(round(a.duration / dt))
    # (step, neuron) pairs as sorted codes: the runs agree up to the first code that differs
    codes = [np.sort(np.round(t.times / dt).astype(np.int64) * (t.size + 1) + t.ids) for t in (a, b)]
    n = min(c.size for c in codes)
    mismatch = np.nonzero(codes[0][:n] != codes[1][:n])[0]
    at = mismatch[0] if mismatch.size else n
    first = min((int(c[at] // (t.size + 1)) for c, t in zip(codes, (a, b)) if at < c.size), default=n_steps)
    sa, sb = (c[c // (t.size + 1) == first] for c, t in zip(codes, (a, b)))
    differing = int(np.setxor1d(sa, sb).size)
    return {"spikes": (len(a.times), len(b.times)), "rates_hz": (a.mean_rate(), b.mean_rate()), "identical_steps": first,
            "differing_at_first": differing}


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
