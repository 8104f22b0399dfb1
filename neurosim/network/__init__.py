"""The Network description: populations, sources, projections, gap junctions, inputs.

A ``Network`` is plain data (NIR-style frozen dataclasses), validated on construction and
saved/loaded as ``.npz`` without pickle. Engines (the Numba ``Simulator``, the torch layers,
the hardware mappings) read it; it knows nothing of them.

Index conventions: neurons are numbered within their population (0 .. size-1). Projection
weights are CSR over the presynaptic neurons: the synapses of presynaptic neuron ``j`` are
``indices[indptr[j]:indptr[j+1]]`` (postsynaptic neurons) with ``weights`` and ``delays``
(seconds, >= 0: the time in transit beyond the one step every synapse takes) at the same
positions. A ``Network`` has no time step; every engine discretises it once at its own
(``neurosim.network.flat``).
"""
from .description import Network
from .flat import delay_steps
from .elements import TARGETS, GapJunctions, Node, PoissonSource, Population, Projection, SpikeSource, spike_steps
from .glia import GLIA, AstrocyteGapJunctions, AstrocyteToSynapse, SynapseToAstrocyte
from .inputs import CurrentInjection
from .io import NetworkFileError
from .validation import NAME_RULES, check_name

__all__ = ["Population", "SpikeSource", "PoissonSource", "Projection", "GapJunctions", "CurrentInjection", "SynapseToAstrocyte",
           "AstrocyteToSynapse", "AstrocyteGapJunctions", "Network", "TARGETS", "delay_steps", "NetworkFileError",
           "check_name", "NAME_RULES", "spike_steps", "Node", "GLIA"]
