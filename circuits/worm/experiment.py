"""``neurosim worm``: the whole worm stimulated and compared with the Randi et al. 2023 atlas.

``run_worm`` builds the model (``circuits.worm.model``) on a connectome, drives the named
neurons with a current step, simulates it with the stiff graded solver, writes the traces
(HDF5) and two figures, and (unless told not to) stimulates every neuron the atlas
stimulated, one at a time, and ranks the model's responses against the atlas's dF/F
(``circuits.worm.atlas``). It returns what it found; the CLI prints it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

import connectomes
from neurosim import Simulator, StateMonitor
from neurosim.atomic import atomic_write_h5, atomic_write_json

from . import plots
from .atlas import atlas_pairs, atlas_stimulated, compare, model_responses
from .model import TOUCH_NEURONS, build_worm, load_worm_params, stimulate

__all__ = ["parse_stimulus", "describe_params", "run_worm"]


def parse_stimulus(spec: str) -> list:
    """Neuron names of a stimulus given as ``touch-anterior`` / ``touch-posterior`` or as
    comma-separated names (``AVAL,AVAR``), normalised. Raises ``ValueError`` for unknown,
    repeated or no names (a repeated name would add another drive)."""
    if spec.startswith("touch-"):
        where = spec.split("-", 1)[1]
        if where not in TOUCH_NEURONS:
            raise ValueError(f"--stimulus {spec!r}: use {', '.join('touch-' + k for k in sorted(TOUCH_NEURONS))} or neuron names")
        return list(TOUCH_NEURONS[where])
    names = [n.strip() for n in spec.split(",") if n.strip()]
    if not names:
        raise ValueError(f"--stimulus {spec!r} names no neuron")
    try:
        names = [connectomes.normalize_name(n) for n in names]
    except KeyError as err:
        raise ValueError(f"--stimulus: {err.args[0]}") from None
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"--stimulus lists {', '.join(repeated)} more than once (each listing would add another drive)")
    return names


def describe_params(params: dict | None, spec: str) -> str:
    """Which model a parameter set gives, in words (``spec``: what the user asked for)."""
    if params is None:
        return "Kunert et al. 2014"
    info = params.get("fit", {})
    source = "the shipped fit" if spec == "fitted" else f"parameters from {spec}"
    return f"Kunert et al. 2014's equations, {source}" + (
        f" (fitted to the {info.get('strain')} atlas on {info['connectome']})" if "connectome" in info else "")


def run_worm(connectome: str = "cook2019_herm", stimulus: str = "touch-anterior", depolarization: float = 10e-3,
             stim_start: float = 1.0, stim_duration: float = 2.0, duration: float = 10.0, dt: float = 1e-3,
             fixed_step: bool = False, sample: float = 0.01, strain: str = "wt", compare_atlas: bool = True,
             params: str = "fitted", out="runs/worm", progress: bool = False, log=print) -> dict:
    """Simulate the worm stimulated at ``stimulus`` (``parse_stimulus``) from ``stim_start``
    for ``stim_duration`` s with a ``depolarization`` drive (V: the current that would move
    each stimulated neuron that much were its partners held at rest), for ``duration`` s
    (adaptive BDF2 with first step ``dt``, or fixed-step BDF2), sampling every ``sample`` s.
    ``params``: ``"fitted"`` (the shipped fit), ``"kunert"`` or a ``params.json`` of
    ``neurosim fit worm``. Writes ``worm_traces.h5``, ``worm_activity.png``,
    ``worm_traces.png`` and, with ``compare_atlas``, ``worm_atlas.png`` and
    ``worm_atlas_metrics.json`` to ``out``; ``log`` receives progress lines. Returns
    ``{"stimulus", "window", "model", "stepping", "citation", "wall_time", "solver_stats",
    "metrics" (None without the comparison), "in_sample", "files"}``. Raises ``ValueError``
    for a bad stimulus or parameter file (before any work)."""
    out = Path(out)  # created by the first (atomic) write
    stim_names = parse_stimulus(stimulus)
    con = connectomes.load(connectome)
    window = (stim_start, stim_start + stim_duration)
    loaded = load_worm_params(params)  # a bad params file fails here, before any work
    net = stimulate(build_worm(con, params=loaded), stim_names, start=window[0], stop=window[1], depolarization=depolarization)
    model = describe_params(loaded, params)
    stepping = f"fixed-step BDF2 at dt = {dt * 1e3:g} ms" if fixed_step else f"adaptive BDF2, first step {dt * 1e3:g} ms"
    log(f"worm: {connectome} ({con.citation}), 302 graded neurons ({model}), {duration:g} s ({stepping}); stimulus "
        f"{'+'.join(stim_names)} from {window[0]:g} to {window[1]:g} s with a {depolarization * 1e3:g} mV drive (the current "
        f"that would move each stimulated neuron by {depolarization * 1e3:g} mV were its partners held at rest; coupled "
        "partners follow, so it moves further)")
    sim = Simulator(net, dt=dt, adaptive=not fixed_step)
    every = max(1, int(round(sample / dt)))
    res = sim.run(duration, [StateMonitor("worm", ("v", "s"), every=every)], progress=progress)
    tr = res.traces["worm"]
    v0 = net.population("worm").initial_state()["v"]
    dv = tr["v"] - v0[None, :]
    names = list(con.neurons)
    files = [out / "worm_traces.h5", out / "worm_activity.png", out / "worm_traces.png"]
    atomic_write_h5(files[0], {"time_s": tr.times, "v_V": tr["v"], "s": tr["s"], "v_rest_V": v0,
                               "neurons": np.array(names, dtype="S8")},
                    {"connectome": connectome, "citation": con.citation, "stimulus": ",".join(stim_names),
                     "stimulus_window_s": window, "depolarization_V": depolarization, "dt_s": dt, "model": model})
    title = f"{connectome}: stimulation of {'+'.join(stim_names)} ({window[0]:g}-{window[1]:g} s)"
    plots.activity_heatmap(tr.times, dv, names, con.cell_type, window, files[1], title)
    peak = np.abs(dv).max(0)
    shown = stim_names + [n for n in np.array(names)[np.argsort(-peak)] if n not in stim_names][: max(0, 10 - len(stim_names))]
    plots.traces(tr.times, dv, names, shown, window, files[2], title + ": most responsive neurons")
    summary = {"stimulus": stim_names, "window": window, "model": model, "stepping": stepping, "citation": con.citation,
               "wall_time": res.wall_time, "solver_stats": [int(x) for x in sim.solver_stats], "metrics": None,
               "in_sample": False, "files": files}
    if compare_atlas:
        atlas = connectomes.functional_atlas(strain)
        cols = atlas_stimulated(con, atlas)
        log(f"  atlas comparison: stimulating each of the {cols.size} neurons the atlas stimulated ...")
        full = model_responses(con, cols, depolarization, dt, progress, adaptive=not fixed_step, params=loaded)
        metrics = compare(full, con, atlas)
        r, s_ = atlas_pairs(con, atlas)
        plots.atlas_scatter(full[r, s_], con.chemical[s_, r] + con.gap[s_, r], atlas.dff[r, s_], metrics, out / "worm_atlas.png",
                            f"{connectome} vs Randi et al. 2023 ({strain}, {r.size} pairs with q < 0.05)")
        atomic_write_json(out / "worm_atlas_metrics.json", metrics)
        fit = (loaded or {}).get("fit", {})
        summary.update(metrics=metrics, in_sample=fit.get("strain") == strain and fit.get("connectome") == connectome)
        files += [out / "worm_atlas.png", out / "worm_atlas_metrics.json"]
    return summary
