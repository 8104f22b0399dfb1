"""The Hebbian subspace rule (``neurosim.plasticity.subspace``) as a Numba kernel: the same
equations as ``subspace_step``, updating H and its velocity in place (float64). It lives with
the rule's engine hooks (``neurosim/engine/plasticity/hebbian_subspace.py``), which run it
on a plastic projection."""
from __future__ import annotations

from ..engine.plasticity.hebbian_subspace import subspace_step_inplace

__all__ = ["subspace_step_inplace"]
