"""NIR as a ``neurosim.backend.Backend``: what a NIR graph can say about a core ``Network``,
the CuBa-LIF mapping (registered by kind: a ``CubaLIF`` node, or a ``LIF`` membrane fed by one
``LI`` node per synaptic current when the two currents decay differently), compile
(``network_to_nir``) and run (the graph read back by ``network_from_nir``, driven by the
network's own sources, and run in the core ``Simulator``: what any NIR consumer reading our
graph would compute)."""
from __future__ import annotations

from neurosim.backend import Backend, Capabilities, Deployment, register_backend
from neurosim.network import Network, Population
from neurosim.results import Results

from .network_graph import MAX_DENSE_ENTRIES, membrane_node, population_node, synapse_node
from .neurons import NIRConversionError

__all__ = ["NIRBackend"]


@register_backend
class NIRBackend(Backend):
    """The NIR interchange format (Pedersen et al. 2024) at engine step ``dt`` (s)."""

    name = "nir"
    title = "NIR"
    error = NIRConversionError
    capabilities = Capabilities(sources=frozenset({"spikes", "poisson"}), current_injections="none",
                                max_projection_entries=MAX_DENSE_ENTRIES, weight_precision="float (dense Linear weights)",
                                state_precision="float (the consumer's own)")

    def compile(self, network: Network, duration: float) -> Deployment:
        from .network_graph import network_to_nir

        return Deployment(self.name, network, self.dt, duration, network_to_nir(network, self.dt))

    def run(self, deployment: Deployment) -> Results:
        from neurosim import Simulator, SpikeMonitor

        from .network_graph import network_from_nir, safe_name

        sources = {safe_name(s.name): s for s in deployment.network.sources}
        net = network_from_nir(deployment.target, self.dt, sources=sources)
        return Simulator(net, dt=self.dt).run(deployment.duration, [SpikeMonitor(p.name) for p in net.populations])


def _delta_reasons(pop: Population, network: Network, dt: float) -> list[str]:
    """A population whose projections arrive both through a delta synapse and an exponential one."""
    m = pop.model
    taus = {m.tau_syn_e if pr.target == "exc" else m.tau_syn_i for pr in network.projections if pr.post == pop.name}
    if 0.0 in taus and len(taus) > 1:
        return [f"population {pop.name!r}: one of its synapses is a delta synapse (tau_syn = 0) and another is not; NIR writes "
                "either a LIF (input into the membrane) or synaptic currents, not both"]
    return []


@NIRBackend.register_neuron("cuba_lif", as_="CubaLIF, or LI synaptic currents into a LIF", reasons=_delta_reasons)
def cuba_lif_to_nir(pop: Population, name: str, targets: list) -> tuple[dict, list, dict]:
    """NIR nodes of a ``CubaLIF`` population called ``name`` in the graph whose projections
    arrive on ``targets`` (``"exc"``/``"inh"``): (nodes by name, edges among them, the node
    each target's projections feed). One ``CubaLIF`` node when the targets share one
    synaptic time constant, else a ``LIF`` membrane with one ``LI`` current per target."""
    m = pop.model
    taus = {t: m.tau_syn_e if t == "exc" else m.tau_syn_i for t in targets}
    if taus and set(taus.values()) == {0.0}:  # delta synapses: the input drives the membrane, NIR's LIF
        return {name: membrane_node(pop)}, [], {"exc": name, "inh": name}
    if len(set(taus.values())) > 1:  # NIR's CubaLIF has one synaptic current
        nodes, edges = {name: membrane_node(pop)}, []
        for t in targets:
            nodes[f"{name}_{t}"] = synapse_node(pop, t, taus[t])
            edges.append((f"{name}_{t}", name))
        return nodes, edges, {t: f"{name}_{t}" for t in targets}
    tau = next(iter(taus.values())) if taus else m.tau_syn_e
    return {name: population_node(pop, tau)}, [], {"exc": name, "inh": name}
