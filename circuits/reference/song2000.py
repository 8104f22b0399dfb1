"""Song, Miller & Abbott (2000): additive STDP of 1000 Poisson inputs onto one
conductance-based LIF neuron drives the weights to a bimodal distribution. The neurosim
network of Brian2's ``examples/synapses/STDP.py`` and its Brian2 twin, run on the same
input spikes.

The neuron is Brian2's ``dv/dt = (g_e (E_e - v) + E_l - v) / tau_m`` with a dimensionless
``g_e`` (``CobaLIF`` with ``g_leak = 1 S`` and ``c_mem = tau_m x 1 S``, so its conductances
in S are Brian2's ``g_e``); Brian2 integrates it here with ``exponential_euler``, the
integrator of ``CobaLIF`` (the example's ``euler`` differs by its integration error only).
"""
from __future__ import annotations

import numpy as np

from neurosim import Simulator
from neurosim.models import CobaLIF, PairSTDP
from neurosim.monitors import SpikeMonitor, WeightMonitor
from neurosim.network import Network, Population, Projection, SpikeSource

__all__ = ["SONG", "song_inputs", "song_network", "run_song", "run_song_brian2", "plot_song"]

SONG = dict(tau_m=10e-3, e_e=0.0, v_th=-54e-3, v_reset=-60e-3, e_leak=-74e-3, tau_e=5e-3, rate=15.0, g_max=0.01,
            tau_pre=20e-3, tau_post=20e-3, a_plus=0.01, ratio=1.05)
"""Brian2's example parameters (s, V, Hz; ``g_max`` and the amplitudes relative to the leak:
``a_plus = 0.01 g_max``, ``a_minus = ratio a_plus``)."""

PROJECTION = "inputs->neuron:exc"


def song_inputs(n_inputs: int = 1000, duration: float = 10.0, rate: float = SONG["rate"], dt: float = 1e-4, seed: int = 0):
    """Poisson spike trains on the step grid (a spike in a step with probability ``rate
    dt``, as Brian2's ``PoissonGroup``): ``(times (s), ids)``, sorted by time, and the
    initial weights ``U(0, g_max)`` (n_inputs,) drawn from the same seed."""
    rng = np.random.default_rng(seed)
    n_steps, chunk = int(round(duration / dt)), 10_000
    steps, ids = [], []
    for lo in range(0, n_steps, chunk):
        s, i = np.nonzero(rng.random((min(chunk, n_steps - lo), n_inputs)) < rate * dt)
        steps.append(s + lo)
        ids.append(i)
    w0 = rng.random(n_inputs) * SONG["g_max"]
    return np.concatenate(steps) * dt, np.concatenate(ids), w0


def song_network(times, ids, w0, delay: float = 0.0, dendritic_delay: float = 0.0) -> Network:
    """The example as a ``Network``: a ``SpikeSource`` of the input spikes onto one
    ``CobaLIF`` neuron through a ``PairSTDP`` projection with initial weights ``w0``, an
    axonal ``delay`` and a ``dendritic_delay`` (s; the example has neither)."""
    p = SONG
    neuron = CobaLIF(c_mem=p["tau_m"] * 1.0, g_leak=1.0, e_leak=p["e_leak"], e_e=p["e_e"], e_i=-80e-3, tau_syn_e=p["tau_e"],
                     tau_syn_i=10e-3, v_th=p["v_th"], v_reset=p["v_reset"], t_ref=0.0)
    a_plus = p["a_plus"] * p["g_max"]
    rule = PairSTDP(tau_pre=p["tau_pre"], tau_post=p["tau_post"], a_plus=a_plus, a_minus=a_plus * p["ratio"] * p["tau_pre"]
                    / p["tau_post"], w_min=0.0, w_max=p["g_max"], dendritic_delay=dendritic_delay)
    n = len(w0)
    return Network(populations=[Population("neuron", neuron, 1)], sources=[SpikeSource("inputs", n, times, ids)],
                   projections=[Projection.from_dense("inputs", "neuron", np.asarray(w0)[:, None], delays=delay,
                                                      plasticity=rule, name=PROJECTION)])


def run_song(times, ids, w0, duration: float, dt: float = 1e-4, record=(0, 1), every: int = 10, progress: bool = False,
             delay: float = 0.0, dendritic_delay: float = 0.0) -> dict:
    """Run the network in neurosim: output spike times (s), final weights (n_inputs,) and
    the weights of synapses ``record`` sampled every ``every`` steps (``w_t``, ``w``
    (n_samples, len(record))); ``wall_time``/``compile_time`` (s)."""
    sim = Simulator(song_network(times, ids, w0, delay, dendritic_delay), dt=dt)
    res = sim.run(duration, [SpikeMonitor("neuron"), WeightMonitor(PROJECTION, np.asarray(record, np.int64), every)],
                  progress=progress)
    tr = res.weights[PROJECTION]
    return dict(spikes=res.spikes["neuron"].times, weights=sim.weights(PROJECTION), w_t=tr.times, w=tr["w"],
                wall_time=res.wall_time, compile_time=res.compile_time)


def run_song_brian2(times, ids, w0, duration: float, dt: float = 1e-4, record=(0, 1), every: int = 10,
                    delay: float = 0.0, dendritic_delay: float = 0.0) -> dict:
    """The same in Brian2 (numpy code generation): the example's equations and ``on_pre``/
    ``on_post`` code, with ``SpikeGeneratorGroup`` inputs, ``exponential_euler``, the
    ``on_pre`` pathway delayed by ``delay`` and ``on_post`` by ``dendritic_delay`` (s); the
    keys of ``run_song``."""
    import brian2 as b2

    b2.start_scope()
    b2.prefs.codegen.target = "numpy"
    p, second = SONG, b2.second
    b2.defaultclock.dt = dt * second
    ns = dict(taum=p["tau_m"] * second, taue=p["tau_e"] * second, taupre=p["tau_pre"] * second, taupost=p["tau_post"] * second,
              Ee=p["e_e"] * b2.volt, El=p["e_leak"] * b2.volt, vt=p["v_th"] * b2.volt, vr=p["v_reset"] * b2.volt,
              gmax=p["g_max"], dApre=p["a_plus"] * p["g_max"],
              dApost=-p["a_plus"] * p["g_max"] * p["ratio"] * p["tau_pre"] / p["tau_post"])
    inputs = b2.SpikeGeneratorGroup(len(w0), ids, times * second)
    neuron = b2.NeuronGroup(1, "dv/dt = (ge * (Ee-v) + El - v) / taum : volt\ndge/dt = -ge / taue : 1", threshold="v>vt",
                            reset="v = vr", method="exponential_euler", namespace=ns)
    neuron.v = ns["El"]
    syn = b2.Synapses(inputs, neuron, """w : 1
                      dApre/dt = -Apre / taupre : 1 (event-driven)
                      dApost/dt = -Apost / taupost : 1 (event-driven)""",
                      on_pre="ge += w\nApre += dApre\nw = clip(w + Apost, 0, gmax)",
                      on_post="Apost += dApost\nw = clip(w + Apre, 0, gmax)", namespace=ns)
    syn.connect(i=np.arange(len(w0)), j=0)
    syn.w = np.asarray(w0)
    syn.pre.delay = delay * second
    syn.post.delay = dendritic_delay * second
    spikes = b2.SpikeMonitor(neuron)
    wmon = b2.StateMonitor(syn, "w", record=list(record), dt=every * dt * second)
    net = b2.Network(inputs, neuron, syn, spikes, wmon)
    net.run(duration * second)
    order = np.argsort(np.asarray(syn.i))
    return dict(spikes=np.asarray(spikes.t / second), weights=np.asarray(syn.w)[order], w_t=np.asarray(wmon.t / second),
                w=np.asarray(wmon.w).T)


def plot_song(result: dict, path, title: str = "") -> None:
    """The paper's figure: final weights / g_max per synapse, their histogram (bimodal), and
    the sampled weights of the recorded synapses over time; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.plotting import save_figure

    g = SONG["g_max"]
    fig, ax = plt.subplots(3, 1, figsize=(7, 8))
    ax[0].plot(result["weights"] / g, ".k", ms=2)
    ax[0].set(xlabel="synapse index", ylabel="weight / g_max", title=title or "Song, Miller & Abbott (2000): additive STDP")
    ax[1].hist(result["weights"] / g, 20, color="0.3")
    ax[1].set(xlabel="weight / g_max", ylabel="synapses")
    ax[2].plot(result["w_t"], result["w"] / g)
    ax[2].set(xlabel="time (s)", ylabel="weight / g_max")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def song_experiment(n_inputs: int = 1000, duration: float = 100.0, compare: float = 10.0, dt: float = 1e-4, seed: int = 0,
                    out=None, progress: bool = False) -> dict:
    """The example in neurosim for ``duration`` s and, on the same inputs, Brian2 for the
    first ``compare`` s (0: none): output spikes compared spike for spike, the weights of
    every synapse every 10 steps, and the final weights. Also how bimodal the weights end up
    (fractions of synapses below 0.1 and above 0.9 of g_max). Writes ``song_stdp.png`` (and
    ``song_stdp.json``) into ``out`` when given."""
    import os

    from neurosim.atomic import atomic_write_json

    times, ids, w0 = song_inputs(n_inputs, duration, dt=dt, seed=seed)
    full = run_song(times, ids, w0, duration, dt, record=(0, 1), every=100, progress=progress)
    g = SONG["g_max"]
    w = full["weights"] / g
    summary = dict(n_inputs=n_inputs, duration_s=duration, output_spikes=int(full["spikes"].size),
                   output_rate_hz=full["spikes"].size / duration, fraction_below_0_1=float(np.mean(w < 0.1)),
                   fraction_above_0_9=float(np.mean(w > 0.9)), loop_time_s=full["wall_time"])
    if compare > 0:
        keep = times < compare
        ours = run_song(times[keep], ids[keep], w0, compare, dt, record=np.arange(n_inputs), every=10)
        theirs = run_song_brian2(times[keep], ids[keep], w0, compare, dt, record=np.arange(n_inputs), every=10)
        same = ours["spikes"].size == theirs["spikes"].size and np.array_equal(np.round(ours["spikes"] / dt),
                                                                             np.round(theirs["spikes"] / dt))
        summary.update(compared_s=compare, brian2_spikes=int(theirs["spikes"].size), spikes_identical=bool(same),
                       samples_compared=int(ours["w"].size),
                       max_weight_difference_rel_gmax=float(np.abs(ours["w"] - theirs["w"]).max() / g))
    if out is not None:
        os.makedirs(out, exist_ok=True)
        plot_song(full, os.path.join(out, "song_stdp.png"),
                  f"Song, Miller & Abbott (2000): {n_inputs} inputs, {duration:g} s of additive STDP")
        atomic_write_json(os.path.join(out, "song_stdp.json"), summary)
    return summary
