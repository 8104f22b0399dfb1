"""Neuron kernels by model ``kind``: how the engine finds the step function of a model.

A neuron model is added in two files and nowhere else: its definition in
``neurosim/models/<name>.py`` (parameters, equations, ``discretize``, ``state_vars``) and its
step kernel in ``neurosim/engine/neurons/<name>.py``, decorated with ``@neuron_kernel(kind)``.
Every module of ``neurosim.engine.neurons`` is imported on first use, so the layout, the
simulator's dispatch and its monitors pick the new model up without edits.

A kernel advances one population by one step. All kernels share one signature, so the
engine holds them as a tuple of function pointers (Numba first-class functions) and calls
the one for each population by its code::

    step(c, X, lo, hi, ie, ii, refrac, iext, has_ext, spiked)

``c`` the coefficient row (``discretize(dt)`` values in order); ``X`` the state matrix
(slots, n_neurons): the model's state variables other than ``i_e``/``i_i``, in the order of
``state_vars``, occupy rows 0, 1, ... (row 0 is ``v``); ``lo:hi`` the population's neurons;
``ie``/``ii`` the excitatory/inhibitory synaptic inputs (already holding this step's
arriving spikes; the kernel decays them); ``refrac`` refractory counters; ``iext`` external
plus gap-junction current, read only if ``has_ext``; ``spiked`` the spike flags to set.
Models integrated by the coupled graded solver (``spiking = False``) have no kernel.
"""
from __future__ import annotations

import importlib
import pkgutil
import warnings

import numpy as np
from numba import njit, types
from numba.core.errors import NumbaExperimentalFeatureWarning

__all__ = ["neuron_kernel", "kernel_codes", "kernel_table", "state_slots", "SYNAPTIC_VARS"]

SYNAPTIC_VARS = {"i_e": -1, "i_i": -2}
"""Monitor codes of the engine-held synaptic inputs (rows of ``X`` have codes >= 0)."""

_PY: dict[str, object] = {}
_COMPILED: dict[tuple[str, str], object] = {}
_loaded = False
# calling kernels through function pointers is Numba's "first-class function" feature
warnings.filterwarnings("ignore", category=NumbaExperimentalFeatureWarning)


def neuron_kernel(kind: str):
    """Register the decorated Python function as the step kernel of model ``kind``."""
    def register(fn):
        if kind in _PY and _PY[kind] is not fn:
            raise ValueError(f"a neuron kernel for kind {kind!r} is already registered ({_PY[kind].__module__})")
        _PY[kind] = fn
        return fn
    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        from . import neurons

        for info in pkgutil.iter_modules(neurons.__path__):
            importlib.import_module(f"{neurons.__name__}.{info.name}")
        _loaded = True


def _signature(dtype: np.dtype):
    f = types.float32 if dtype == np.float32 else types.float64
    vec = f[::1]
    return types.void(vec, f[:, ::1], types.int64, types.int64, vec, vec, types.int32[::1], vec,
                      types.boolean, types.uint8[::1])


def kernel_codes() -> dict[str, int]:
    """Engine code of every registered kind: its position in ``kernel_table``."""
    _load()
    return {kind: k for k, kind in enumerate(sorted(_PY))}


def kernel_table(dtype) -> tuple:
    """The compiled kernels for state of ``dtype`` (float32/float64), in code order."""
    dtype = np.dtype(dtype)
    out = []
    for kind in kernel_codes():
        key = (kind, dtype.name)
        if key not in _COMPILED:
            _COMPILED[key] = njit(_signature(dtype), cache=True, nogil=True, error_model="numpy")(_PY[kind])
        out.append(_COMPILED[key])
    return tuple(out)


def state_slots(model) -> dict[str, int]:
    """Monitor/state code of each state variable of ``model``: rows of ``X`` in the order of
    ``state_vars``, and the negative codes of the synaptic inputs ``i_e``/``i_i``."""
    slots, row = {}, 0
    for var in model.state_vars:
        if var in SYNAPTIC_VARS:
            slots[var] = SYNAPTIC_VARS[var]
        else:
            slots[var] = row
            row += 1
    return slots
