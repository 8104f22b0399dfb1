"""Izhikevich (2007), "Solving the distal reward problem through linkage of STDP and dopamine
signaling" (Cereb. Cortex 17:2443), Fig. 1: instrumental conditioning of one synapse.

A network of 800 excitatory (regular spiking) and 200 inhibitory (fast spiking) Izhikevich
neurons, 100 random synapses per neuron (inhibitory ones onto excitatory neurons only), all
excitatory synapses plastic under dopamine-modulated STDP (``RewardSTDP``), random thalamic
input (each neuron receives a 20 mV kick at 1 Hz, Poisson). One excitatory synapse ``n1 ->
n2`` is chosen; whenever ``n2`` fires within 10 ms after ``n1``, a reward (dopamine) is
delivered 1 to 3 s later (uniform random delay). Only the chosen synapse's eligibility is
reliably positive when the reward arrives, so it alone grows to the maximum weight.

Units as the paper's with ``c_mem = 1 pF``: a weight of 1 pA is 1 mV per ms of input (his
``s = 1``); initial excitatory weights 1 pA, bound 4 pA, inhibitory -1 pA, 1 ms delays,
``dt`` 1 ms. The paper's synapses act within one step (his ``I += s``); here the synaptic
currents decay with 0.1 ms (``tau_syn``), so they act in the step after the spike.
"""
from __future__ import annotations

import numpy as np

from neurosim import Simulator
from neurosim.models import Izhikevich, RewardSTDP
from neurosim.monitors import SpikeMonitor, WeightMonitor
from neurosim.network import Network, PoissonSource, Population, Projection

__all__ = ["conditioning_network", "run_conditioning", "plot_conditioning", "REWARD_RULE"]

PA = 1e-12
REWARD_RULE = RewardSTDP(tau_plus=20e-3, tau_minus=20e-3, a_plus=1.0 * PA, a_minus=1.5 * PA, tau_c=1.0, tau_d=0.2,
                         w_min=0.0, w_max=4 * PA)
"""The paper's rule: STDP amplitudes 1 and 1.5 (in pA of eligibility per pairing), tau_c 1 s,
tau_d 0.2 s, weights in [0, 4] pA."""


def conditioning_network(n_exc: int = 800, n_inh: int = 200, fan_out: int = 100, seed: int = 0,
                         rule: RewardSTDP = REWARD_RULE):
    """The network (``Network``) and the chosen synapse: ``(net, n1, n2, q)`` where ``q`` is
    the index of ``n1 -> n2`` in projection ``"exc->exc"``'s CSR order."""
    rng = np.random.default_rng(seed)
    n = n_exc + n_inh
    rs = Izhikevich(a=20.0, b=200.0, c=-65e-3, d=8.0, tau_syn_e=1e-4, tau_syn_i=1e-4)
    fs = Izhikevich(a=100.0, b=200.0, c=-65e-3, d=2.0, tau_syn_e=1e-4, tau_syn_i=1e-4)
    # each excitatory neuron: fan_out distinct random targets among all others; inhibitory: among excitatory ones
    exc_post = np.array([rng.choice(np.delete(np.arange(n), i), fan_out, replace=False) for i in range(n_exc)])
    inh_post = np.array([rng.choice(n_exc, fan_out, replace=False) for _ in range(n_inh)])
    pre = np.repeat(np.arange(n_exc), fan_out)
    to_e = exc_post.ravel() < n_exc
    ee = Projection.from_pairs("exc", "exc", pre[to_e], exc_post.ravel()[to_e], 1 * PA, n_exc, 1e-3 - 1e-3, "exc",
                               name="exc->exc", plasticity=rule)
    ei = Projection.from_pairs("exc", "inh", pre[~to_e], exc_post.ravel()[~to_e] - n_exc, 1 * PA, n_exc, 0.0, "exc",
                               name="exc->inh", plasticity=rule)
    ie = Projection.from_pairs("inh", "exc", np.repeat(np.arange(n_inh), fan_out), inh_post.ravel(), -1 * PA, n_inh, 0.0,
                               "inh", name="inh->exc")
    thal = [Projection.from_pairs("thalamus", pop, np.arange(size) + lo, np.arange(size), 20 * PA, n, 0.0, "exc",
                                  name=f"thalamus->{pop}") for pop, lo, size in (("exc", 0, n_exc), ("inh", n_exc, n_inh))]
    net = Network(populations=[Population("exc", rs, n_exc), Population("inh", fs, n_inh)],
                  sources=[PoissonSource("thalamus", n, 1.0)], projections=[ee, ei, ie, *thal])
    q = int(rng.integers(ee.n_synapses))
    n1 = int(ee.pre_indices()[q])
    return net, n1, int(ee.indices[q]), q


class RewardSchedule:
    """The reward callback: a reward of ``size`` (added to the dopamine ``d``, 1/s) 1-3 s
    after every spike of ``n2`` that follows a spike of ``n1`` within ``window`` s."""

    def __init__(self, n1, n2, dt, size, window=10e-3, seed=0):
        self.n1, self.n2, self.dt, self.size, self.window = n1, n2, dt, size, window
        self.rng = np.random.default_rng(seed + 1)
        self.last_n1, self.pending, self.events = -np.inf, [], []

    def __call__(self, t_start, n_steps, spikes):
        tr = spikes.get("exc")
        if tr is not None and len(tr):
            for t, i in zip(tr.times, tr.ids):
                if i == self.n1:
                    self.last_n1 = t
                elif i == self.n2 and 0 <= t - self.last_n1 <= self.window:
                    self.events.append(t)
                    self.pending.append(t + self.rng.uniform(1.0, 3.0))
        out = np.zeros(n_steps)
        keep = []
        for t in self.pending:
            k = int(round((t - t_start) / self.dt))
            if 0 <= k < n_steps:
                out[k] += self.size
            elif k >= n_steps:
                keep.append(t)
        self.pending = keep
        return out


def run_conditioning(duration: float = 1800.0, dt: float = 1e-3, reward: float = 20.0, seed: int = 0, n_exc: int = 800,
                     n_inh: int = 200, fan_out: int = 100, sample_every: float = 10.0, n_sampled: int = 500,
                     progress: bool = False) -> dict:
    """Run the experiment for ``duration`` s. ``reward``: the dopamine (1/s) one reward adds.
    The paper's 0.5 (per ms of its time unit, 500/s here) makes one reward saturate a
    synapse with this rule's eligibility (the paper's code scales its STDP traces and adds a
    tonic dopamine level, which ``RewardSTDP`` does not have); 20/s gives the paper's time
    course, the reinforced synapse reaching the maximum in about 15 minutes. Returns the chosen synapse's weight over time (``t``,
    ``w_chosen``, A), the weights of ``n_sampled`` other excitatory synapses (``w_others``,
    (n_samples, n_sampled)), final weights of ``exc->exc``, the reward events (s), the
    spike counts of n1 and n2, and the run's wall time (s)."""
    net, n1, n2, q = conditioning_network(n_exc, n_inh, fan_out, seed)
    sim = Simulator(net, dt=dt, seed=seed)
    rng = np.random.default_rng(seed + 2)
    others = rng.choice(np.delete(np.arange(net.projections[0].n_synapses), q), n_sampled, replace=False)
    schedule = RewardSchedule(n1, n2, dt, reward, seed=seed)
    every = max(1, int(round(sample_every / dt)))
    res = sim.run(duration, [SpikeMonitor("exc", np.array([n1, n2])), WeightMonitor("exc->exc", np.r_[q, others], every)],
                  progress=progress, chunk_steps=int(round(0.1 / dt)), reward=schedule)
    w = res.weights["exc->exc"]["w"]
    counts = res.spikes["exc"].counts()
    return dict(t=res.weights["exc->exc"].times, w_chosen=w[:, 0], w_others=w[:, 1:], final=sim.weights("exc->exc"),
                chosen=q, n1=n1, n2=n2, rewards=np.array(schedule.events), spikes_n1=int(counts[n1]),
                spikes_n2=int(counts[n2]), wall_time=res.wall_time, w_max=REWARD_RULE.w_max)


def plot_conditioning(result: dict, path) -> None:
    """Fig. 1 of the paper: the chosen synapse's weight against the others' over time, and the
    final weight distribution; saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.plotting import save_figure

    wm = result["w_max"]
    fig, ax = plt.subplots(2, 1, figsize=(7, 6))
    t = result["t"] / 60
    ax[0].plot(t, result["w_others"] / wm, color="0.8", lw=0.5)
    ax[0].plot(t, result["w_others"].mean(1) / wm, color="0.3", lw=1.5, label="other synapses (mean)")
    ax[0].plot(t, result["w_chosen"] / wm, color="C3", lw=2, label=f"reinforced synapse {result['n1']}->{result['n2']}")
    ax[0].set(xlabel="time (min)", ylabel="weight / w_max", title="Izhikevich (2007): instrumental conditioning")
    ax[0].legend(fontsize=8)
    ax[1].hist(result["final"] / wm, 40, color="0.4")
    ax[1].axvline(result["final"][result["chosen"]] / wm, color="C3")
    ax[1].set(xlabel="final weight / w_max (red: reinforced synapse)", ylabel="synapses", yscale="log")
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
