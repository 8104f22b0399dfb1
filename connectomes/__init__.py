"""C. elegans connectomes and neural-activity data in one canonical neuron order.

* ``load(name)`` / ``available()``: published connectomes via cect (cached);
* ``functional_atlas(strain)``: the Randi et al. 2023 signal-propagation atlas;
* ``names``: canonical order, name normalisation, classes and cell types;
* ``transmitters``: Wang et al. 2024 neurotransmitter identities and synapse signs;
* ``receptors.receptor_shares``: each neuron's excitatory share of its fast receptors
  (Fenyves et al. 2020 receptor table, CeNGEN expression);
* ``extrasynaptic.extrasynaptic(name)``: neuropeptide (Ripoll-Sanchez et al. 2023, Bentley
  et al. 2016) and monoamine (Bentley et al. 2016) networks.
"""
from .atlas import FunctionalAtlas, functional_atlas
from .datasets import DATASETS, Connectome, available, cache_dir, load
from .names import UnknownNeuronError, cell_type, neuron_class, neurons, normalize_name
from .transmitters import synapse_sign, transmitters

__all__ = ["Connectome", "DATASETS", "available", "load", "cache_dir", "FunctionalAtlas", "functional_atlas",
           "neurons", "normalize_name", "neuron_class", "cell_type", "UnknownNeuronError", "transmitters", "synapse_sign"]
