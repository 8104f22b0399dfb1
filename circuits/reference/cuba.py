"""The Brette et al. (2007) CUBA benchmark network (benchmark 2 of J. Comput. Neurosci.
23:349), as in Brian2's ``examples/CUBA.py``.

4000 CuBa-LIF neurons (3200 excitatory, 800 inhibitory), random connectivity with
probability p = 0.02, tau_mem = 20 ms, tau_e = 5 ms, tau_i = 10 ms, V_t = -50 mV,
V_r = -60 mV, E_l = -49 mV, 5 ms refractory period, w_e = 1.62 mV, w_i = -9 mV (as jumps of
the synaptic "conductances" written in volts), initial V uniform in [V_r, V_t], no delay
(delay 0, as Brian2's: a spike acts in the next step).

Our CuBa-LIF takes synaptic currents in amperes; with c_mem = 200 pF (Brette et al. 2007:
20,000 um^2 at 1 uF/cm^2), R = tau_mem / c_mem = 100 MOhm, and a weight of ``w_volts / R``.
"""
from __future__ import annotations

import numpy as np

from neurosim import CubaLIF, Network, Population, Projection

__all__ = ["CUBA_PARAMS", "cuba_model", "cuba_network", "cuba_connectivity", "run_cuba"]

#: The CUBA neuron of Brette et al. (2007), SI units.
CUBA_PARAMS = dict(
    tau_mem=20e-3, tau_syn_e=5e-3, tau_syn_i=10e-3, v_th=-50e-3, v_reset=-60e-3, v_rest=-49e-3,
    t_ref=5e-3, c_mem=200e-12,
)
W_E = 60 * 0.27 / 10 * 1e-3  # V
W_I = -20 * 4.5 / 10 * 1e-3  # V


def cuba_model() -> CubaLIF:
    """The CUBA neuron (``CUBA_PARAMS``)."""
    return CubaLIF(**CUBA_PARAMS)


def cuba_connectivity(n: int, p: float, seed: int):
    """Fixed-probability connectivity as in Brian2 ``connect(p=p)`` (no self-exclusion):
    returns (pre, post) index arrays over n x n, drawn row by row with geometric skips so
    memory stays O(synapses)."""
    rng = np.random.default_rng(seed)
    pres, posts = [], []
    block = max(1, int(2_000_000 / max(1, n)))
    for start in range(0, n, block):
        rows = min(block, n - start)
        k = rng.binomial(n, p, size=rows)
        post = np.concatenate([np.sort(rng.choice(n, size=c, replace=False)) for c in k]) if k.sum() else np.zeros(0, np.int64)
        pres.append(np.repeat(np.arange(start, start + rows), k))
        posts.append(post)
    return np.concatenate(pres), np.concatenate(posts)


def cuba_network(n: int = 4000, p: float = 0.02, seed: int = 0, n_inputs: float | None = None) -> Network:
    """The CUBA network with ``n`` neurons (80% excitatory) and connection probability ``p``
    (or ``n_inputs`` expected inputs per neuron, which sets p = n_inputs / n). Weights are
    scaled by 80 / (p n) so that a larger network keeps the input of the 4000-neuron one
    (as Brian2's benchmark suite scales CUBA). Raises ``ValueError`` unless n >= 10 and
    0 < p <= 1 (so n_inputs <= n)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        raise ValueError(f"n = {n!r} is invalid: the CUBA network needs an integer >= 10 neurons")
    if n_inputs is not None:
        p = n_inputs / n
    if not 0 < p <= 1:
        what = f"n_inputs = {n_inputs!r} with n = {n}" if n_inputs is not None else f"p = {p!r}"
        raise ValueError(f"{what} gives a connection probability of {p:.3g}: it must be in (0, 1]")
    model = cuba_model()
    r = model.tau_mem / model.c_mem
    scale = 80.0 / (p * n)
    n_exc = int(round(0.8 * n))
    rng = np.random.default_rng(seed)
    v0 = model.v_reset + rng.random(n) * (model.v_th - model.v_reset)
    pop = Population("cuba", model, n, {"v": v0})
    pre, post = cuba_connectivity(n, p, seed + 1)
    exc = pre < n_exc
    proj_e = Projection.from_pairs("cuba", "cuba", pre[exc], post[exc], np.float32(W_E / r * scale), n, 0.0, "exc", name="exc")
    proj_i = Projection.from_pairs("cuba", "cuba", pre[~exc], post[~exc], np.float32(W_I / r * scale), n, 0.0, "inh", name="inh")
    return Network(populations=[pop], projections=[proj_e, proj_i])


def run_cuba(n: int = 4000, duration: float = 1.0, dt: float = 1e-4, dtype: str = "float32", seed: int = 0,
             out="runs/cuba", raster_neurons: int = 500, progress: bool = False, checkpoint_every: float | None = None,
             resume: bool = False, threads: int = 1) -> dict:
    """Simulate the CUBA network (``neurosim cuba``): ``n`` neurons (4000: Brette et al.'s;
    other sizes keep 80 inputs per neuron) for ``duration`` s at ``dt`` s in ``dtype``
    (``"float32"`` or ``"float64"``). Writes ``cuba_raster.png`` (the first
    ``raster_neurons``), ``cuba_v.png`` (5 membranes), ``cuba_spikes.npz`` (times, ids, dt)
    and ``summary.json`` to ``out`` (created by the first atomic write, so a failed run
    leaves no empty folder); returns the summary (neurons, synapses, spikes, mean rate,
    loop and JIT time, synaptic events per second, the files written).

    ``checkpoint_every`` (s): run in segments of that length and after each write the
    spikes and membranes so far and the simulator's state (``Simulator.save_state``) to
    ``out/checkpoint/``; ``resume`` continues from there (an interrupted run loses at most
    one segment; the result is bit for bit the uninterrupted one's; a longer ``duration``
    extends a finished run). ``threads``: ``Simulator(threads=...)`` (the spikes do not
    depend on it; a checkpoint resumes with any). Raises ``ValueError`` for a checkpoint folder without
    ``resume``, a ``resume`` without checkpoint or with other settings (n, dt, dtype, seed,
    segment)."""
    from pathlib import Path

    from neurosim import Simulator
    from neurosim.atomic import atomic_savez, atomic_write_json

    out = Path(out)
    net = cuba_network(n, seed=seed, n_inputs=None if n == 4000 else 80)
    sim = Simulator(net, dt=dt, dtype=getattr(np, dtype), seed=seed, threads=threads)
    if checkpoint_every is None:
        if resume:
            raise ValueError("resume needs checkpoint_every (the checkpoints are written per segment)")
        res = _cuba_segment(sim, duration, progress)
    else:
        res = _cuba_checkpointed(sim, duration, out / "checkpoint", {"n": n, "dt": dt, "dtype": dtype, "seed": seed,
                                                                      "checkpoint_every": checkpoint_every}, resume, progress)
    st = res.spikes["cuba"]
    files = [out / "cuba_raster.png", out / "cuba_v.png", out / "cuba_spikes.npz", out / "summary.json"]
    res.plot_raster(files[0], max_neurons=raster_neurons,
                    title=f"CUBA network (Brette et al. 2007): {n} neurons, {duration:g} s, mean rate {st.mean_rate():.2f} Hz")
    res.plot_traces(files[1], "cuba", "v", title="CUBA: membrane potential of 5 neurons")
    atomic_savez(files[2], {"times": st.times, "ids": st.ids, "dt": np.array(dt)})
    summary = {"neurons": n, "synapses": net.n_synapses, "duration_s": duration, "dt_s": dt, "dtype": dtype,
               "spikes": len(st), "mean_rate_hz": st.mean_rate(), "loop_time_s": res.wall_time, "jit_time_s": res.compile_time,
               "synaptic_events_per_s": len(st) * net.n_synapses / n / max(res.wall_time, 1e-12), "threads": sim.threads}
    atomic_write_json(files[3], summary)
    return {**summary, "files": [str(f) for f in files]}


def _cuba_segment(sim, duration: float, progress: bool):
    from neurosim import SpikeMonitor, StateMonitor

    return sim.run(duration, [SpikeMonitor("cuba"), StateMonitor("cuba", ("v",), neurons=np.arange(5), every=1)],
                   progress=progress)


def _cuba_checkpointed(sim, duration: float, folder, settings: dict, resume: bool, progress: bool):
    """``run_cuba`` in segments with a checkpoint after each (its docstring)."""
    from neurosim.atomic import atomic_savez, atomic_write_json
    from neurosim.integrity import read_checked_json
    from neurosim.results import Results, SpikeTrains, Traces

    state, saved, recorded = folder / "state.npz", folder / "settings.json", folder / "recorded.npz"
    parts = {"times": [], "ids": [], "v_t": [], "v": []}
    if saved.exists() and not resume:
        raise ValueError(f"{folder} holds a checkpoint of an earlier run: continue it with --resume or choose another --out")
    if resume:
        if not (saved.exists() and state.exists()):
            raise ValueError(f"--resume: no checkpoint in {folder} (write one with --checkpoint-every)")
        before = read_checked_json(saved, "checkpoint settings")
        if before != settings:
            raise ValueError(f"--resume: {folder} was written with other settings ({before})")
        sim.load_state(state)
        with np.load(recorded, allow_pickle=False) as f:  # written before the state: keep what the state has seen
            keep, keep_v = f["times"] < sim.t - 0.5 * sim.dt, f["v_t"] < sim.t - 0.5 * sim.dt
            parts = {"times": [f["times"][keep]], "ids": [f["ids"][keep]], "v_t": [f["v_t"][keep_v]], "v": [f["v"][keep_v]]}
    atomic_write_json(saved, settings)
    wall = jit = 0.0
    every = settings["checkpoint_every"]
    steps_left = int(round(duration / sim.dt)) - sim.step
    while steps_left > 0:
        steps = min(steps_left, max(1, int(round(every / sim.dt))))
        res = _cuba_segment(sim, steps * sim.dt, progress)
        wall, jit = wall + res.wall_time, max(jit, res.compile_time)
        spk, tr = res.spikes["cuba"], res.traces["cuba"]
        for key, value in (("times", spk.times), ("ids", spk.ids), ("v_t", tr.times), ("v", tr.data["v"])):
            parts[key].append(value)
        atomic_savez(recorded, {k: np.concatenate(v) for k, v in parts.items()})
        sim.save_state(state)
        steps_left -= steps
    joined = {k: (np.concatenate(v) if v else np.zeros((0, 5) if k == "v" else 0)) for k, v in parts.items()}
    n = sim.network.population("cuba").size
    spikes = SpikeTrains("cuba", joined["times"], joined["ids"].astype(np.int64), n, duration)
    traces = Traces("cuba", joined["v_t"], np.arange(5), {"v": joined["v"]})
    return Results({"cuba": spikes}, {"cuba": traces}, 0.0, duration, sim.dt, wall, jit)
