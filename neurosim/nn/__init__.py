"""PyTorch layers on the core's neuron models: surrogate spike functions, CuBa-LIF, LIF, IF and
leaky-integrator layers whose per-step coefficients come from the same ``discretize(dt)`` as
the Numba simulator, chained (``Sequential``) or wired as any graph (``Graph``: joins, skip
connections, recurrence), and ``to_network`` to run a trained model in it."""
from .delay import Delay
from .export import to_network
from .graph import Graph
from .lift import Lift
from .memory import keep_freed_memory
from .functional import LIFCoefficients, LIFState, coefficients, lif_sequence, lif_step
from .modules import IF, LI, LIF, CubaLIF, Sequential
from .surrogate import SURROGATES, spike, surrogate_grad

__all__ = ["CubaLIF", "LIF", "IF", "LI", "spike", "surrogate_grad", "SURROGATES", "lif_step", "lif_sequence", "LIFState",
           "LIFCoefficients", "coefficients", "to_network", "Lift", "Sequential", "Graph", "Delay", "keep_freed_memory"]
