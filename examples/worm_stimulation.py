"""The whole C. elegans worm: the Kunert et al. (2014) model on the Cook et al. (2019)
hermaphrodite connectome (302 graded neurons, chemical synapses signed by transmitter, gap
junctions) with the parameters fitted to the Randi et al. (2023) atlas. One neuron is
stimulated for 1 s, as the atlas stimulated it optogenetically; the script prints the
neurons that respond most and plots their voltage traces.

    python examples/worm_stimulation.py [--neuron AVAL] [--quick]
"""
import argparse
from pathlib import Path

import matplotlib
import numpy as np

import connectomes
import neurosim as ns
from circuits.worm.model import build_worm, stimulate

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--neuron", default="AVAL", help="the neuron to stimulate (a name from connectomes.neurons())")
ap.add_argument("--params", default="fitted", help="'fitted' (the shipped fit), 'kunert' (Kunert et al.'s) or a JSON file")
ap.add_argument("--out", default="runs/examples/worm", help="output folder")
ap.add_argument("--quick", action="store_true", help="a shorter run (1.5 s instead of 4 s)")
a = ap.parse_args()
duration = 1.5 if a.quick else 4.0

con = connectomes.load("cook2019_herm")            # read by cect, cached in ~/.cache/neurosim
net = build_worm(con, params=a.params)
# a current step from 0.5 s to 1.5 s that would hold the neuron 10 mV above rest if its partners stayed still
net = stimulate(net, [a.neuron], depolarization=10e-3, start=0.5, stop=1.5)

res = ns.Simulator(net, dt=1e-3).run(duration, [ns.StateMonitor("worm", ("v",), every=10)], progress=False)
v = res.traces["worm"]["v"]                         # (time, neuron), volts
dv = (v - net.population("worm").initial_state()["v"]) * 1e3   # mV from rest
peak = np.abs(dv).max(axis=0)
order = np.argsort(-peak)[:8]
names = con.neurons
print(f"stimulated {a.neuron}; {int((peak > 1.0).sum())} of 302 neurons moved by more than 1 mV. Largest responses:")
for i in order:
    print(f"  {names[i]:6s} {dv[np.argmax(np.abs(dv[:, i])), i]:+7.2f} mV")

matplotlib.use("Agg")  # files only, no window
import matplotlib.pyplot as plt  # noqa: E402

out = Path(a.out)
out.mkdir(parents=True, exist_ok=True)
fig, ax = plt.subplots(figsize=(7, 4))
for i in order:
    ax.plot(res.traces["worm"].times, dv[:, i], label=names[i])
ax.axvspan(0.5, 1.5, color="0.9", zorder=0)
ax.set(xlabel="time (s)", ylabel="dV (mV)", title=f"{a.neuron} stimulated (grey: the stimulus)")
ax.legend(fontsize=8, ncol=2)
fig.savefig(out / "traces.png", dpi=120, bbox_inches="tight")
print(f"wrote {out / 'traces.png'}")
