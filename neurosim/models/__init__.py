"""Neuron, astrocyte and synapse models, each defined once: parameters (SI), equations,
source, ``discretize(dt)``."""
from .adex import AdEx
from .astrocyte import UMOLAR, GChIAstrocyte
from .base import MODELS, NeuronModel, register_model
from .coba import CobaLIF
from .graded import GradedNeuron
from .integrate_fire import IF
from .izhikevich import Izhikevich
from .lif import CubaLIF
from .threshold import ThresholdUnit
from .synapses import SYNAPSE_MODELS, SynapseModel, TripartiteSynapse
from .plasticity import PLASTICITY_RULES, PlasticityRule
from .reward_stdp import RewardSTDP
from .stdp import PairSTDP
from .subspace_rule import SubspaceRule
from .triplet import TripletSTDP

__all__ = ["NeuronModel", "CubaLIF", "IF", "ThresholdUnit", "CobaLIF", "Izhikevich", "AdEx", "GradedNeuron", "GChIAstrocyte", "UMOLAR",
           "SynapseModel", "TripartiteSynapse", "MODELS", "SYNAPSE_MODELS", "register_model", "PlasticityRule", "PairSTDP",
           "TripletSTDP", "RewardSTDP", "SubspaceRule", "PLASTICITY_RULES"]
