"""Neuron models, each defined once: parameters (SI), equations, source, ``discretize(dt)``."""
from .adex import AdEx
from .base import NeuronModel
from .graded import GradedNeuron
from .izhikevich import Izhikevich
from .lif import CubaLIF

MODELS = {m.kind: m for m in (CubaLIF, Izhikevich, AdEx, GradedNeuron)}
"""Model classes by their engine name (``kind``)."""

__all__ = ["NeuronModel", "CubaLIF", "Izhikevich", "AdEx", "GradedNeuron", "MODELS"]
