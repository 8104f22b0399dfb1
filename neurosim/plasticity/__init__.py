"""Plasticity rules of the core, each defined once (equations and parameters) with a torch
step for training and a Numba kernel for the simulator.

* ``HebbianSubspace``: Oja's subspace rule with HLOP's momentum, clipping and spiking
  lateral neurons (Xiao et al. 2024); ``subspace_step`` (torch), ``subspace_step_inplace``
  (Numba), ``SubspaceLearner`` (on-line in the simulator).
"""
from .kernels import subspace_step_inplace
from .online import SubspaceLearner
from .subspace import HebbianSubspace, orthonormal_basis, project_out, subspace_response, subspace_step

__all__ = ["HebbianSubspace", "subspace_response", "subspace_step", "subspace_step_inplace", "orthonormal_basis",
           "project_out", "SubspaceLearner"]
