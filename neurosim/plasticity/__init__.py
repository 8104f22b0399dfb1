"""Plasticity rules of the core, each defined once (equations and parameters) with a torch
step for training and Numba hooks for the simulator.

Spike-timing rules of plastic projections (``Projection(..., plasticity=rule)``; defined in
``neurosim.models``, run by ``neurosim.engine.plastic`` and ``neurosim/engine/plasticity/``):

* ``PairSTDP``: pair-based STDP with traces, all-to-all or nearest-spike, additive (hard
  bounds) or multiplicative (soft bounds) (Song, Miller & Abbott 2000; van Rossum et al.
  2000; Morrison et al. 2008);
* ``TripletSTDP``: triplet STDP, all-to-all or nearest-spike (Pfister & Gerstner 2006);
* ``RewardSTDP``: dopamine-modulated STDP with eligibility traces (Izhikevich 2007;
  Fremaux & Gerstner 2016), the reward given per run (``Simulator.run(..., reward=...)``).

Weights are monitored with ``WeightMonitor``, read back with ``Simulator.weights`` and
saved and continued with ``Simulator.learned_network``. ``plasticity_step`` runs the same
rules on dense torch weights (``init_state`` makes their state).

* ``HebbianSubspace``: Oja's subspace rule with HLOP's momentum, clipping and spiking
  lateral neurons (Xiao et al. 2024); ``subspace_step`` (torch), ``subspace_step_inplace``
  (Numba); in the simulator the same equations are the learning rule ``SubspaceRule`` of a
  plastic projection onto lateral neurons, which ``SubspaceLearner`` attaches to a network.
"""
from ..models.plasticity import PLASTICITY_RULES, PlasticityRule
from ..models.reward_stdp import RewardSTDP
from ..models.stdp import PairSTDP
from ..models.subspace_rule import SubspaceRule
from ..models.triplet import TripletSTDP
from ..monitors import WeightMonitor
from .kernels import subspace_step_inplace
from .online import SubspaceLearner
from .stdp_torch import init_state, plasticity_step
from .subspace import HebbianSubspace, orthonormal_basis, project_out, subspace_response, subspace_step

__all__ = ["HebbianSubspace", "subspace_response", "subspace_step", "subspace_step_inplace", "orthonormal_basis",
           "project_out", "SubspaceLearner", "PlasticityRule", "PairSTDP", "TripletSTDP", "RewardSTDP", "SubspaceRule", "PLASTICITY_RULES",
           "WeightMonitor", "plasticity_step", "init_state"]
