"""Spike-pairing protocols for learning rules (Sjostrom, Turrigiano & Nelson 2001; Pfister &
Gerstner 2006, Fig. 4): one presynaptic and one postsynaptic neuron made to spike at given
times, the weight change the engine learns, and the change the rules' equations predict,
summed pair by pair (an expression independent of the engine's trace recursion).

The postsynaptic neuron is a ``CubaLIF`` with delta synapses (``tau_syn_e = 0``), a 1 F
membrane and a 1 V threshold, driven by a source through a 1e5 A synapse: a driver spike at
step ``n`` makes it spike at step ``n + 1``, while the plastic synapse (weights of order 1
A, so 1e-4 V per spike at dt = 0.1 ms) cannot make it spike.
"""
from __future__ import annotations

import numpy as np

from neurosim import Simulator
from neurosim.models import CubaLIF
from neurosim.monitors import SpikeMonitor, WeightMonitor
from neurosim.network import Network, Population, Projection, SpikeSource

__all__ = ["forced_run", "paired_run", "pairing_protocol", "pair_sum_stdp", "triplet_expectation", "frequency_dependence"]

_TINY = 1e-300


def pairing_protocol(n_pairs: int, frequency: float, lag: float, dt: float = 1e-4, start: float = 0.1):
    """Pre spikes at ``start + k / frequency`` and post spikes ``lag`` s later (``lag < 0``:
    post first), k = 0 .. n_pairs - 1, on the step grid: ``(pre_times, post_times)`` (s)."""
    k = np.arange(n_pairs)
    pre = start + np.round(k / frequency / dt) * dt
    return pre, pre + np.round(lag / dt) * dt


def forced_run(rule, pre_times, pre_ids, post_times, post_ids, w0, dt: float = 1e-4, duration: float | None = None,
               reward=None, every: int = 10) -> dict:
    """Simulate ``n_pre`` presynaptic sources spiking at ``pre_times``/``pre_ids`` onto
    ``n_post`` postsynaptic neurons made to spike at ``post_times``/``post_ids``, through a
    plastic projection with learning rule ``rule`` and initial weights ``w0`` (n_pre, n_post;
    nonzero entries are synapses). ``reward``: as ``Simulator.run``'s. Returns the final
    weights (``w``, dense (n_pre, n_post)), the spike times the engine produced (``pre``,
    ``post``, s, with ``pre_ids``/``post_ids``) and the weights sampled every ``every`` steps
    (``w_t``, ``w_samples`` (n_samples, n_syn), CSR order)."""
    w0 = np.asarray(w0, float)
    n_pre, n_post = w0.shape
    pre_times, post_times = np.asarray(pre_times, float), np.asarray(post_times, float)
    lif = CubaLIF(tau_mem=10e-3, tau_syn_e=0.0, tau_syn_i=0.0, v_rest=0.0, v_th=1.0, v_reset=0.0, t_ref=0.0, c_mem=1.0)
    i, j = np.nonzero(w0)
    plastic = Projection.from_pairs("pre", "post", i, j, w0[i, j], n_pre, plasticity=rule, name="plastic")
    net = Network(
        populations=[Population("post", lif, n_post)],
        sources=[SpikeSource("pre", n_pre, pre_times, np.asarray(pre_ids, np.int64)),
                 SpikeSource("driver", n_post, post_times - dt, np.asarray(post_ids, np.int64))],  # one step earlier
        projections=[plastic, Projection.from_pairs("driver", "post", np.arange(n_post), np.arange(n_post), 1e5, n_post,
                                                    name="drive")])
    sim = Simulator(net, dt=dt)
    if duration is None:
        duration = max(pre_times.max(initial=0), post_times.max(initial=0)) + 0.05
    res = sim.run(duration, [SpikeMonitor("post"), SpikeMonitor("pre"), WeightMonitor("plastic", every=every)], reward=reward)
    w = np.zeros_like(w0)
    w[i, j] = sim.weights("plastic")
    return dict(w=w, pre=res.spikes["pre"].times, pre_ids=res.spikes["pre"].ids, post=res.spikes["post"].times,
                post_ids=res.spikes["post"].ids, w_t=res.weights["plastic"].times, w_samples=res.weights["plastic"]["w"])


def paired_run(rule, pre_times, post_times, dt: float = 1e-4, tail: float = 0.05) -> dict:
    """One pre and one post neuron (``forced_run``), from a weight of 1e-300: returns the
    learned weight change ``dw`` and the spike times the engine produced (``pre``,
    ``post``, s)."""
    pre_times, post_times = np.asarray(pre_times, float), np.asarray(post_times, float)
    duration = max(pre_times.max(initial=0), post_times.max(initial=0)) + tail
    # a zero weight would be no synapse: start from the smallest normal number and count from there
    out = forced_run(rule, pre_times, np.zeros(pre_times.size), post_times, np.zeros(post_times.size), [[_TINY]], dt, duration)
    return dict(dw=float(out["w"][0, 0] - _TINY), pre=out["pre"], post=out["post"], w_t=out["w_t"], w=out["w_samples"][:, 0])


def _kernel(t, earlier, tau, inclusive: bool):
    """sum over ``earlier`` spikes s (< t, or <= t when inclusive) of exp(-(t - s)/tau)."""
    d = t - earlier
    d = d[(d >= 0) if inclusive else (d > 0)]
    return float(np.exp(-d / tau).sum())


def pair_sum_stdp(rule, pre, post) -> float:
    """``PairSTDP`` (additive, all-to-all, unclipped): the sum of the STDP window over all
    pre/post pairs, ``a_plus exp(-s/tau_pre)`` for ``s = t_post - t_pre >= 0`` and
    ``-a_minus exp(s/tau_post)`` for ``s < 0`` (Song et al. 2000, eq. 1)."""
    return sum(rule.pair_window(tp - tq) for tq in pre for tp in post)


def triplet_expectation(rule, pre, post) -> float:
    """``TripletSTDP`` (all-to-all, unclipped), Pfister & Gerstner (2006) eqs. 3-4 written as
    sums over spikes: every post spike at ``t`` adds ``(sum_pre<=t e^{-(t-s)/tau_plus})
    (A2_plus + A3_plus sum_post<t e^{-(t-s)/tau_y})``, every pre spike subtracts
    ``(sum_post<t e^{-(t-s)/tau_minus}) (A2_minus + A3_minus sum_pre<t e^{-(t-s)/tau_x})``
    (a pre and a post spike at the same time count as pre first)."""
    pre, post = np.asarray(pre, float), np.asarray(post, float)
    dw = 0.0
    for t in post:
        dw += _kernel(t, pre, rule.tau_plus, True) * (rule.A2_plus + rule.A3_plus * _kernel(t, post, rule.tau_y, False))
    for t in pre:
        dw -= _kernel(t, post, rule.tau_minus, False) * (rule.A2_minus + rule.A3_minus * _kernel(t, pre, rule.tau_x, False))
    return dw


def frequency_dependence(rule, frequencies, lags=(10e-3, -10e-3), n_pairs: int = 60, dt: float = 1e-4) -> dict:
    """The pairing protocol at each frequency (Hz) and lag (s): ``{"frequencies", "lags",
    "engine": (n_lags, n_freq) learned dw, "expected": same, from ``triplet_expectation``}``
    (weight units; relative to a weight of 1 when the rule's amplitudes are the paper's)."""
    engine = np.zeros((len(lags), len(frequencies)))
    expected = np.zeros_like(engine)
    for a, lag in enumerate(lags):
        for b, f in enumerate(frequencies):
            pre, post = pairing_protocol(n_pairs, f, lag, dt)
            out = paired_run(rule, pre, post, dt)
            engine[a, b] = out["dw"]
            expected[a, b] = triplet_expectation(rule, out["pre"], out["post"])
    return dict(frequencies=np.asarray(frequencies, float), lags=np.asarray(lags, float), engine=engine, expected=expected)


def plot_frequency_dependence(result: dict, path, n_pairs: int = 60) -> None:
    """Weight change per pairing vs pairing frequency, engine (markers) and the equations
    (lines), one curve per lag (Pfister & Gerstner 2006, Fig. 4B); saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurosim.plotting import save_figure

    fig, ax = plt.subplots(figsize=(6, 4))
    for a, lag in enumerate(result["lags"]):
        label = f"{'pre-post' if lag > 0 else 'post-pre'} {abs(lag) * 1e3:.0f} ms"
        line, = ax.plot(result["frequencies"], 100 * result["expected"][a], "-", label=f"{label} (equations)")
        ax.plot(result["frequencies"], 100 * result["engine"][a], "o", color=line.get_color(), label=f"{label} (neurosim)")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set(xscale="log", xlabel="pairing frequency (Hz)", ylabel=f"weight change after {n_pairs} pairings (%)",
           title="Triplet STDP, visual cortex minimal model")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path, dpi=110)
    plt.close(fig)
