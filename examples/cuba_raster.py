"""Brette et al. (2007)'s CUBA network, built from the core API: 4000 current-based LIF
neurons (80% excitatory), 2% random connectivity, simulated for 1 s; saves a raster and
prints the mean firing rates (about 5 Hz, as Brian2's examples/CUBA.py).

    python examples/cuba_raster.py [--n 4000] [--duration 1.0] [--quick]
"""
import argparse
from pathlib import Path

import numpy as np

import neurosim as ns

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--n", type=int, default=4000, help="neurons")
ap.add_argument("--duration", type=float, default=1.0, help="simulated time (s)")
ap.add_argument("--out", default="runs/examples/cuba", help="output folder")
ap.add_argument("--quick", action="store_true", help="small settings (1000 neurons, 0.2 s)")
a = ap.parse_args()
n, duration = (1000, 0.2) if a.quick else (a.n, a.duration)

# the CUBA neuron: v_rest above threshold, so every neuron fires without input (SI units)
lif = ns.CubaLIF(tau_mem=20e-3, tau_syn_e=5e-3, tau_syn_i=10e-3, v_th=-50e-3, v_reset=-60e-3, v_rest=-49e-3,
                 t_ref=5e-3, c_mem=200e-12)
rng = np.random.default_rng(0)
pre, post = np.nonzero(rng.random((n, n)) < 80 / n)   # 80 inputs per neuron on average
n_exc = int(0.8 * n)
exc = pre < n_exc
# Brette et al.'s jumps of 1.62 mV (excitatory) and -9 mV (inhibitory), as charges: dv = w * tau_mem / c_mem
r = lif.tau_mem / lif.c_mem
net = ns.Network(
    populations=[ns.Population("cuba", lif, n, {"v": rng.uniform(-60e-3, -50e-3, n)})],
    projections=[ns.Projection.from_pairs("cuba", "cuba", pre[exc], post[exc], 1.62e-3 / r, n, target="exc", name="exc"),
                 ns.Projection.from_pairs("cuba", "cuba", pre[~exc], post[~exc], -9e-3 / r, n, target="inh", name="inh")],
)

sim = ns.Simulator(net, dt=1e-4, seed=0)
res = sim.run(duration, [ns.SpikeMonitor("cuba"), ns.StateMonitor("cuba", ("v",), neurons=[0, 1, 2])], progress=False)

spikes = res.spikes["cuba"]
rates = spikes.rates()
print(f"{n} neurons, {duration:g} s: {spikes.mean_rate():.2f} Hz mean rate "
      f"(excitatory {rates[:n_exc].mean():.2f} Hz, inhibitory {rates[n_exc:].mean():.2f} Hz)")
out = Path(a.out)
out.mkdir(parents=True, exist_ok=True)
res.plot_raster(out / "raster.png", title=f"CUBA, {n} neurons")
res.plot_traces(out / "traces.png", variable="v")
print(f"wrote {out / 'raster.png'} and {out / 'traces.png'}")
