"""The SpiNNaker-style machine as a ``neurosim.backend.Backend``: what the s16.15 model
(``simulate``) runs, the CuBa-LIF mapping (registered by kind: the coefficient row of the
fixed-point kernel, sPyNNaker's ``IF_curr_exp`` arithmetic), and compile (partitioning,
placement, key/mask routing, table compression: ``mapping.map_network``) and run
(``simulate.simulate_fixed``)."""
from __future__ import annotations

import numpy as np

from neurosim.backend import Backend, Capabilities, Deployment, register_backend
from neurosim.network import Network, Population
from neurosim.results import Results

from .machine import Machine

__all__ = ["SpiNNakerBackend"]


@register_backend
class SpiNNakerBackend(Backend):
    """A SpiNNaker machine (``machine``, default one 48-chip board of ``neurons_per_core``
    neurons per core at step ``dt``), ``placement`` ``"locality"`` or ``"random"`` (seeded by
    ``seed``), ``load`` the cost model of ``simulate.LoadModel``. ``run`` puts the traffic
    statistics of ``simulate_fixed`` in ``Results.info["traffic"]``."""

    name = "spinnaker"
    title = "the SpiNNaker simulation"
    capabilities = Capabilities(sources=frozenset({"spikes"}), current_injections="constant",
                                weight_precision="s16.15 fixed point (nA)", state_precision="s16.15 fixed point (mV, nA)")

    def __init__(self, dt: float | None = None, machine: Machine | None = None, neurons_per_core: int = 256,
                 placement: str = "locality", seed: int = 0, load=None):
        if machine is not None and dt is not None and dt != machine.timestep:
            raise ValueError(f"dt = {dt} s differs from the machine's timestep {machine.timestep} s")
        super().__init__(machine.timestep if machine is not None else 1e-3 if dt is None else dt)
        self.machine = machine or Machine.board(neurons_per_core=neurons_per_core, timestep=self.dt)
        self.placement, self.seed, self.load = placement, seed, load

    def compile(self, network: Network, duration: float) -> Deployment:
        from .mapping import map_network

        self.check(network)
        mapping = map_network(network, self.machine, self.placement, self.seed)
        return Deployment(self.name, network, self.dt, duration, mapping, {"mapping": mapping.report()})

    def run(self, deployment: Deployment) -> Results:
        from .simulate import simulate_fixed

        res, stats = simulate_fixed(deployment.network, deployment.target, deployment.duration, self.load)
        res.info = {"traffic": stats}
        return res


@SpiNNakerBackend.register_neuron("threshold", as_="IF_curr_exp without memory (a_m = a_e = a_i = 0)")
@SpiNNakerBackend.register_neuron("if", as_="IF_curr_exp without leak (a_m = 1)")
@SpiNNakerBackend.register_neuron("cuba_lif", as_="IF_curr_exp")
def cuba_lif_coefficients(pop: Population, dt: float) -> tuple[np.ndarray, float]:
    """The fixed-point kernel's coefficient row of a ``CubaLIF`` (or ``IF``, ``a_m = 1``)
    population in mV, nA and MOhm (``a_m, a_e, a_i, k_e, k_i, k_ext, v_rest, v_th, v_reset``,
    floats, converted to s16.15 by the caller) and its refractory steps."""
    c = pop.model.discretize(dt)
    row = np.array([c["a_m"], c["a_e"], c["a_i"], c["k_e"] * 1e-6, c["k_i"] * 1e-6, c["k_ext"] * 1e-6, c["v_rest"] * 1e3,
                    c["v_th"] * 1e3, c["v_reset"] * 1e3])
    return row, c["ref_steps"]
