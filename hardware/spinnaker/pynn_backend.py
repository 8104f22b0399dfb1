"""PyNN as a ``neurosim.backend.Backend``: what PyNN's standard cells express, the CuBa-LIF
mapping to ``IF_curr_exp`` (registered by kind), compile (``pynn_export.export_pynn``: a
script and its arrays) and run (the script under a PyNN simulator, by default
``pyNN.brian2``, in a child process; its spikes read back as the core's ``Results``)."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from neurosim.backend import Backend, Capabilities, Deployment, register_backend
from neurosim.network import Network, Population, delay_steps
from neurosim.results import Results, SpikeTrains

__all__ = ["PyNNBackend"]


@register_backend
class PyNNBackend(Backend):
    """A PyNN script (sPyNNaker on a SpiNNaker machine, or any PyNN simulator). ``folder``:
    where ``compile`` writes ``run.py`` and ``network.npz`` (default: a new temporary
    folder); ``simulator``: the PyNN module ``run`` uses; ``delay_shift_steps``: added to
    every delay (``export_pynn``; default -1 for ``pyNN.brian2``, which applies arrivals one
    step later than neurosim, else 0); ``timeout``: seconds the run may take."""

    name = "pynn"
    title = "PyNN"
    capabilities = Capabilities(sources=frozenset({"spikes", "poisson"}), current_injections="constant",
                                weight_precision="float64 (the simulator's own)", state_precision="the simulator's own")

    def __init__(self, dt: float = 1e-3, folder=None, simulator: str = "pyNN.brian2", delay_shift_steps: int | None = None,
                 timeout: float = 3600.0):
        super().__init__(dt)
        self.folder, self.simulator, self.timeout = folder, simulator, timeout
        self.delay_shift_steps = (-1 if simulator == "pyNN.brian2" else 0) if delay_shift_steps is None else delay_shift_steps

    def extra_reasons(self, network: Network) -> list[str]:
        out = _spynnaker_reasons(network, self.dt) if self.simulator == "pyNN.spiNNaker" else []
        for pr in network.projections if self.delay_shift_steps else ():
            try:
                steps = delay_steps(pr, self.dt) + self.delay_shift_steps
            except ValueError:
                continue  # reported by the capability check
            if steps.size and steps.min() < 1:
                n = int(steps.min()) - self.delay_shift_steps
                out.append(f"projection {pr.name!r}: its shortest synapse takes {n} step{'s' * (n != 1)} (a delay of "
                           f"{(n - 1) * self.dt:g} s at dt = {self.dt} s); shifted by {self.delay_shift_steps} for "
                           f"{self.simulator} it is under one step, PyNN's minimum")
        return out

    def compile(self, network: Network, duration: float) -> Deployment:
        from .pynn_export import export_pynn

        folder = Path(self.folder) if self.folder is not None else Path(tempfile.mkdtemp(prefix="neurosim-pynn-"))
        script = export_pynn(network, folder, duration, self.dt, self.delay_shift_steps, self.simulator)  # checks first
        return Deployment(self.name, network, self.dt, duration, script, {"folder": folder})

    def run(self, deployment: Deployment) -> Results:
        script = Path(deployment.target)
        out = script.parent / "spikes.npz"
        done = subprocess.run([sys.executable, str(script), self.simulator, str(out)], capture_output=True, text=True,
                              timeout=self.timeout, cwd=script.parent)
        if done.returncode != 0:
            raise RuntimeError(f"the PyNN script {script} failed under {self.simulator} (exit {done.returncode}):\n"
                               f"{done.stderr[-2000:]}")
        got = np.load(out, allow_pickle=False)
        spikes = {}
        for p in deployment.network.populations:
            t, i = got[p.name + "__times_ms"] * 1e-3, got[p.name + "__ids"].astype(np.int64)
            order = np.lexsort((i, t))
            spikes[p.name] = SpikeTrains(p.name, t[order], i[order], p.size, deployment.duration)
        return Results(spikes, {}, 0.0, deployment.duration, deployment.dt)


def _spynnaker_reasons(network: Network, dt: float) -> list[str]:
    """What sPyNNaker's encoding cannot hold (``toolchain``): it stores |w| and takes the
    sign from the receptor (``excitatory`` adds, ``inhibitory`` subtracts), so weights onto
    ``exc`` must be >= 0 and onto ``inh`` <= 0. (Its longest delay depends on the post
    population's size and delay extensions; sPyNNaker itself refuses what it cannot delay.)"""
    out = []
    for pr in network.projections:
        w = np.asarray(pr.weights)
        wrong = (w < 0) if pr.target == "exc" else (w > 0) if pr.target == "inh" else np.zeros(0, bool)
        if wrong.any():
            sign = "negative" if pr.target == "exc" else "positive"
            out.append(f"projection {pr.name!r}: {int(wrong.sum())} {sign} weight(s) onto {pr.target!r}; sPyNNaker stores |w| and "
                       f"takes the sign from the receptor ({'excitatory' if pr.target == 'exc' else 'inhibitory'}), so it "
                       "would flip them: split the projection by sign")
    return out


def _delta_reasons(pop: Population, network: Network, dt: float) -> list[str]:
    m = pop.model
    if 0.0 in (m.tau_syn_e, m.tau_syn_i):
        return [f"population {pop.name!r}: a delta synapse (tau_syn = 0); IF_curr_exp's synaptic currents decay with "
                "tau_syn_E, tau_syn_I > 0"]
    return []


@PyNNBackend.register_neuron("cuba_lif", as_="IF_curr_exp", reasons=_delta_reasons)
def cuba_lif_to_pynn(pop: Population) -> tuple[str, dict]:
    """A ``CubaLIF`` population as PyNN's ``IF_curr_exp``: its parameters in PyNN's units
    (ms, mV, nF)."""
    m = pop.model
    return "IF_curr_exp", {"cm": m.c_mem * 1e9, "tau_m": m.tau_mem * 1e3, "tau_syn_E": m.tau_syn_e * 1e3,
                           "tau_syn_I": m.tau_syn_i * 1e3, "v_rest": m.v_rest * 1e3, "v_reset": m.v_reset * 1e3,
                           "v_thresh": m.v_th * 1e3, "tau_refrac": m.t_ref * 1e3}
