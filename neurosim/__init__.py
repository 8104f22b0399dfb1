"""neurosim: spiking and neuromorphic simulation on one neuron/synapse core.

Models (``neurosim.models``) are defined once; the ``Network`` describes a circuit; the
``Simulator`` runs it with Numba kernels.
"""
from .models import (IF, UMOLAR, ThresholdUnit, AdEx, CobaLIF, CubaLIF, GChIAstrocyte, GradedNeuron, Izhikevich, NeuronModel, PairSTDP,
                     RewardSTDP, TripartiteSynapse, TripletSTDP)
from .monitors import SpikeMonitor, StateMonitor, WeightMonitor
from .network import (AstrocyteGapJunctions, AstrocyteToSynapse, CurrentInjection, GapJunctions, Network, NetworkFileError,
                      PoissonSource, Population, Projection, SpikeSource, SynapseToAstrocyte)
from .results import Results, SpikeTrains, Traces
from .simulator import Simulator
from .engine.streaming import read_recording

__version__ = "0.1.0"

__all__ = [
    "AdEx", "CubaLIF", "IF", "ThresholdUnit", "CobaLIF", "GradedNeuron", "Izhikevich", "NeuronModel", "GChIAstrocyte", "TripartiteSynapse", "UMOLAR",
    "SynapseToAstrocyte", "AstrocyteToSynapse", "AstrocyteGapJunctions",
    "Population", "SpikeSource", "PoissonSource", "Projection", "GapJunctions", "CurrentInjection", "Network", "NetworkFileError",
    "PairSTDP", "TripletSTDP", "RewardSTDP",
    "Simulator", "SpikeMonitor", "StateMonitor", "WeightMonitor", "Results", "SpikeTrains", "Traces", "read_recording",
]
