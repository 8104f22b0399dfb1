"""A neuron model of your own, in one file: the quadratic integrate-and-fire neuron (the
normal form of a type-I neuron; Ermentrout & Kopell 1986, Latham et al. 2000),

    tau_mem dv/dt = k (v - v_rest) (v - v_crit) + R I,   R = tau_mem / c_mem
    if v >= v_peak: v <- v_reset

What it is (a frozen dataclass of SI parameters, registered by its ``kind``) is kept apart
from how the engine runs it (a step kernel registered under the same kind, compiled by
Numba). The Simulator then runs it like any built-in model; here, 10 neurons driven by ramped
currents give the QIF's f-I curve.

    python examples/custom_neuron.py [--quick]
"""
import argparse
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

import neurosim as ns
from neurosim.engine.registry import neuron_kernel
from neurosim.models import NeuronModel, register_model
from neurosim.models.base import check_dt, check_positive


@register_model
@dataclass(frozen=True)
class QIF(NeuronModel):
    tau_mem: float = 10e-3            # s
    c_mem: float = 200e-12            # F
    k: float = 100.0                  # 1/V, curvature of the quadratic
    v_rest: float = -65e-3            # V
    v_crit: float = -50e-3            # V
    v_peak: float = 0.0               # V
    v_reset: float = -70e-3           # V
    tau_syn_e: float = 3e-3           # s
    tau_syn_i: float = 8e-3           # s

    kind: ClassVar[str] = "example_qif"
    state_vars: ClassVar[tuple] = ("v", "i_e", "i_i")
    units: ClassVar[dict] = {"v": "V", "i_e": "A", "i_i": "A"}

    def _validate(self):  # called on construction: bad parameters raise ValueError naming the field
        for name in ("tau_mem", "c_mem", "k", "tau_syn_e", "tau_syn_i"):
            check_positive("QIF", name, getattr(self, name))

    def initial_state(self):
        return {"v": self.v_rest, "i_e": 0.0, "i_i": 0.0}

    def discretize(self, dt):  # the coefficient row the kernel reads, in this order
        dt = check_dt(dt)
        return {"h": dt / self.tau_mem, "k": self.k, "v_rest": self.v_rest, "v_crit": self.v_crit,
                "r": self.tau_mem / self.c_mem, "v_peak": self.v_peak, "v_reset": self.v_reset,
                "a_e": math.exp(-dt / self.tau_syn_e), "a_i": math.exp(-dt / self.tau_syn_i)}


@neuron_kernel("example_qif")
def qif_step(c, X, lo, hi, n_step, ie, ii, refrac, iext, has_ext, spiked):
    """One step of neurons lo:hi (forward Euler; the synaptic currents decay exactly)."""
    h, k, v_rest, v_crit, r, v_peak, v_reset, a_e, a_i = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    for n in range(lo, hi):
        drive = ie[n] + ii[n] + (iext[n] if has_ext else 0.0)
        v = X[0, n] + h * (k * (X[0, n] - v_rest) * (X[0, n] - v_crit) + r * drive)
        spiked[n] = v >= v_peak
        X[0, n] = v_reset if spiked[n] else v
        ie[n] *= a_e
        ii[n] *= a_i


ap = argparse.ArgumentParser(description="the f-I curve of a quadratic integrate-and-fire neuron")
ap.add_argument("--quick", action="store_true", help="0.5 s instead of 2 s")
a = ap.parse_args()
duration = 0.5 if a.quick else 2.0

currents = np.linspace(0.0, 0.5e-9, 10)   # A; rheobase k (v_crit - v_rest)^2 / 4 / R = 0.11 nA
net = ns.Network([ns.Population("qif", QIF(), 10)], inputs=[ns.CurrentInjection("qif", currents)])
res = ns.Simulator(net, dt=1e-4).run(duration, [ns.SpikeMonitor("qif")], progress=False)
for i, rate in zip(currents, res.spikes["qif"].rates()):
    print(f"I = {i * 1e9:.3f} nA: {rate:6.1f} Hz")
