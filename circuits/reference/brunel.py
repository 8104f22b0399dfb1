"""The Brunel (2000) network with STDP on its excitatory synapses, as defined by the
SNNSimulatorComparison benchmark (Nasir Ahmad et al.,
``nasiryahm/SNNSimulatorComparison``, ``Benchmarks/Brunel``) that published single-thread CPU
times per simulated second (Auryn 8.1 s, Brian2 27.5 s, ANNarchy 61 s, NEST 62 s).

8000 excitatory and 2000 inhibitory LIF neurons (``tau_m dv/dt = -v``, tau_m 20 ms,
threshold 20 mV, reset 0, refractory 2 ms) with fixed in-degrees of 10 % (800 excitatory and
200 inhibitory inputs per neuron), J_E = 0.1 mV, J_I = -0.5 mV, all delays 1.5 ms, and 1000
Poisson inputs per neuron (drawn from 10,000 sources at 20 Hz, J_E each). Excitatory-to-
excitatory synapses learn with multiplicative STDP (Morrison et al. 2007): a presynaptic
spike ``w -= lambda alpha w A_post``, a postsynaptic one ``w += lambda (w_max - w) A_pre``
(traces of 20 ms, lambda 0.01, alpha 2.02, w_max 0.3 mV) -- ``PairSTDP(weight_dependence=
"multiplicative")`` with ``a_plus = lambda w_max``, ``a_minus = lambda alpha w_max``.

The benchmark's synapses jump the membrane (``v += w``); neurosim's delta synapse
(``CubaLIF`` with ``tau_syn = 0``) adds the weight as a current over the step it arrives
in, so weights are scaled to give the same jump after one step (``a_m / (R (1 - a_m))``).
Its Brian2 neurons integrate through their refractory period (the script's equations have no
``unless refractory``); neurosim's are clamped: rates differ slightly (both are printed).

Run the Brian2 side in its own process::

    python -m circuits.reference.brunel --connectivity FILE.npz --duration 1 [--plastic]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

__all__ = ["BRUNEL", "brunel_connectivity", "brunel_network", "run_brian2_brunel"]

BRUNEL = dict(n_exc=8000, n_inh=2000, c_exc=800, c_inh=200, n_noise=10_000, c_noise=1000, noise_rate=20.0, j_exc=0.1e-3,
              j_inh=-0.5e-3, delay=1.5e-3, tau_m=20e-3, v_th=20e-3, t_ref=2e-3, tau_pre=20e-3, tau_post=20e-3, lam=0.01,
              alpha=2.02, w_max=0.3e-3)
"""The benchmark's parameters (SI: V, s, Hz)."""


def brunel_connectivity(scale: float = 1.0, seed: int = 0) -> dict:
    """Random connectivity with fixed in-degrees (pre drawn with replacement, as the
    benchmark's noise; sizes and in-degrees multiplied by ``scale``): per pathway
    ``{name: (pre, post)}`` index arrays (int32), pathways ``ee``, ``ei``, ``ie``, ``ii``,
    ``noise`` (Poisson source -> any neuron), and the sizes."""
    p = BRUNEL
    rng = np.random.default_rng(seed)
    ne, ni = int(p["n_exc"] * scale), int(p["n_inh"] * scale)
    ce, ci, cn, nn = int(p["c_exc"] * scale), int(p["c_inh"] * scale), int(p["c_noise"] * scale), int(p["n_noise"] * scale)

    def fixed_in(n_pre, n_post, c):
        return rng.integers(0, n_pre, n_post * c).astype(np.int32), np.repeat(np.arange(n_post, dtype=np.int32), c)

    return dict(n_exc=ne, n_inh=ni, n_noise=nn, ee=fixed_in(ne, ne, ce), ei=fixed_in(ne, ni, ce), ie=fixed_in(ni, ne, ci),
                ii=fixed_in(ni, ni, ci), noise=fixed_in(nn, ne + ni, cn))


def brunel_network(conn: dict, plastic: bool = True, dtype=np.float32):
    """The network as a ``Network`` (populations ``exc``, ``inh``; source ``noise``)."""
    from neurosim.models import CubaLIF, PairSTDP
    from neurosim.network import Network, PoissonSource, Population, Projection

    p = BRUNEL
    neuron = CubaLIF(tau_mem=p["tau_m"], tau_syn_e=0.0, tau_syn_i=0.0, v_rest=0.0, v_th=p["v_th"], v_reset=0.0, t_ref=p["t_ref"],
                     c_mem=1.0)
    dt = 1e-4
    a_m = math.exp(-dt / p["tau_m"])
    k = a_m / (p["tau_m"] / 1.0 * (1 - a_m))  # A per V of jump
    ne, ni = conn["n_exc"], conn["n_inh"]
    rule = PairSTDP(tau_pre=p["tau_pre"], tau_post=p["tau_post"], a_plus=p["lam"] * p["w_max"] * k,
                    a_minus=p["lam"] * p["alpha"] * p["w_max"] * k, w_min=0.0, w_max=p["w_max"] * k,
                    weight_dependence="multiplicative") if plastic else None

    def proj(name, pre, post, n_pre, j, target, rule=None):
        i, jj = conn[name]
        return Projection.from_pairs(pre, post, i, jj, dtype(j * k), n_pre, p["delay"], target, name=name, plasticity=rule)

    projections = [proj("ee", "exc", "exc", ne, p["j_exc"], "exc", rule), proj("ei", "exc", "inh", ne, p["j_exc"], "exc"),
                   proj("ie", "inh", "exc", ni, p["j_inh"], "inh"), proj("ii", "inh", "inh", ni, p["j_inh"], "inh")]
    i, j = conn["noise"]
    to_e = j < ne
    projections += [Projection.from_pairs("noise", "exc", i[to_e], j[to_e], dtype(p["j_exc"] * k), conn["n_noise"], p["delay"],
                                          name="noise->exc"),
                    Projection.from_pairs("noise", "inh", i[~to_e], j[~to_e] - ne, dtype(p["j_exc"] * k), conn["n_noise"],
                                          p["delay"], name="noise->inh")]
    return Network(populations=[Population("exc", neuron, ne), Population("inh", neuron, ni)],
                   sources=[PoissonSource("noise", conn["n_noise"], p["noise_rate"])], projections=projections)


def run_brian2_brunel(conn: dict, duration: float = 1.0, plastic: bool = True, seed: int = 0, build_dir=None) -> dict:
    """The benchmark's Brian2 script on ``conn``, in C++ standalone: loop time (Brian2's own
    measure), total time, spikes, mean rate, and the final mean excitatory weight (mV)."""
    import brian2 as b2

    p = BRUNEL
    t_all = time.perf_counter()
    b2.set_device("cpp_standalone", directory=build_dir or tempfile.mkdtemp(prefix="brian2_brunel_"), build_on_run=True)
    b2.seed(seed)
    ms = b2.ms
    b2.defaultclock.dt = 0.1 * ms
    ne, ni = conn["n_exc"], conn["n_inh"]
    ns = dict(tau_m=p["tau_m"] * b2.second, taupre=p["tau_pre"] * b2.second, taupost=p["tau_post"] * b2.second,
              wmax=p["w_max"] * 1e3, lbda=p["lam"], alpha=p["alpha"])
    P = b2.NeuronGroup(ne + ni, "dv/dt = -v/tau_m : 1", threshold="v>20.", reset="v = 0.", refractory=p["t_ref"] * b2.second,
                       method="euler", namespace=ns)
    poisson = b2.PoissonGroup(conn["n_noise"], rates=p["noise_rate"] * b2.Hz)
    delay = p["delay"] * b2.second
    model = "w:1\ndApre/dt=-Apre/taupre : 1 (event-driven)\ndApost/dt=-Apost/taupost : 1 (event-driven)"
    groups = []
    for name, lo_pre, lo_post, weight in (("ee", 0, 0, p["j_exc"]), ("ei", 0, ne, p["j_exc"]),
                                          ("ie", ne, 0, p["j_inh"]), ("ii", ne, ne, p["j_inh"])):
        i, j = conn[name]
        if name == "ee" and plastic:
            s = b2.Synapses(P[:ne], P[:ne], model=model, on_pre="v+=w\nApre += 1\nw -= lbda * alpha * w * Apost",
                            on_post="Apost += 1\nw += lbda * (wmax - w) * Apre", namespace=ns)
            s.connect(i=i, j=j)
        else:
            s = b2.Synapses(P, P, model="w:1", on_pre="v+=w")
            s.connect(i=i.astype(np.int64) + lo_pre, j=j.astype(np.int64) + lo_post)
        s.w = weight * 1e3
        s.delay = delay
        groups.append(s)
    i, j = conn["noise"]
    noise = b2.Synapses(poisson, P, model="w:1", on_pre="v+=w")
    noise.connect(i=i, j=j)
    noise.w = p["j_exc"] * 1e3
    noise.delay = delay
    mon = b2.SpikeMonitor(P, record=False)
    net = b2.Network(P, poisson, *groups, noise, mon)
    net.run(duration * b2.second)
    loop = float(b2.device._last_run_time)
    out = dict(loop_time=loop, total_time=time.perf_counter() - t_all, n_spikes=int(mon.num_spikes),
               rate=int(mon.num_spikes) / ((ne + ni) * duration), n_synapses=int(sum(len(g) for g in groups) + len(noise)))
    if plastic:
        out["mean_w_ee_mv"] = float(np.mean(np.asarray(groups[0].w)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connectivity", required=True, help=".npz written by the benchmark (brunel_connectivity)")
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--plastic", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    with np.load(a.connectivity) as f:
        conn = {k: int(f[k]) for k in ("n_exc", "n_inh", "n_noise")}
        for k in ("ee", "ei", "ie", "ii", "noise"):
            conn[k] = (f[f"{k}_pre"], f[f"{k}_post"])
    out = run_brian2_brunel(conn, a.duration, a.plastic, a.seed)
    sys.stdout.write("BRIAN2_RESULT " + json.dumps(out) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
