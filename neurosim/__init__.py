"""neurosim: spiking and neuromorphic simulation on one neuron/synapse core.

Models (``neurosim.models``) are defined once; the ``Network`` describes a circuit; the
``Simulator`` runs it with Numba kernels.
"""
from .models import AdEx, CubaLIF, GradedNeuron, Izhikevich, NeuronModel
from .monitors import SpikeMonitor, StateMonitor
from .network import CurrentInjection, GapJunctions, Network, NetworkFileError, PoissonSource, Population, Projection, SpikeSource
from .results import Results, SpikeTrains, Traces
from .simulator import Simulator

__version__ = "0.1.0"

__all__ = [
    "AdEx", "CubaLIF", "GradedNeuron", "Izhikevich", "NeuronModel",
    "Population", "SpikeSource", "PoissonSource", "Projection", "GapJunctions", "CurrentInjection", "Network", "NetworkFileError",
    "Simulator", "SpikeMonitor", "StateMonitor", "Results", "SpikeTrains", "Traces",
]
