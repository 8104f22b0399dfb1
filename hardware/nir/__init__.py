"""NIR interchange (the Neuromorphic Intermediate Representation, Pedersen et al. 2024,
Nat. Commun. 15:8122; the ``nir`` package): trained ``neurosim.nn`` models and core
``Network`` descriptions to NIR graphs and back, and runners for the peers that import
NIR (snnTorch, Norse) to compare with. See ``neurons`` for the discretisation contract."""
from .backend import NIRBackend
from .graph import NIRFileError, chain, read_graph, write_graph
from .network_graph import network_from_nir, network_to_nir
from .neurons import SNNTORCH_DT, NeuronSpec, NIRConversionError, layer_to_nir, neuron_from_nir
from .torch_graph import from_nir, to_nir

__all__ = ["NIRBackend", "to_nir", "from_nir", "network_to_nir", "network_from_nir", "read_graph", "write_graph", "chain",
           "NIRConversionError", "NIRFileError", "SNNTORCH_DT", "NeuronSpec", "layer_to_nir", "neuron_from_nir"]
