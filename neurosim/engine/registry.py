"""Neuron kernels by model ``kind``: how the engine finds the step function of a model.

A neuron model is added in two files and nowhere else: its definition in
``neurosim/models/<name>.py`` (parameters, equations, ``discretize``, ``state_vars``) and its
step kernel in ``neurosim/engine/neurons/<name>.py``, decorated with ``@neuron_kernel(kind)``.
Every module of ``neurosim.engine.neurons`` is imported on first use, so the layout, the
simulator's dispatch and its monitors pick the new model up without edits.

A kernel advances one population by one step. All kernels share one signature, so the
engine holds them as a tuple of function pointers (Numba first-class functions) and calls
the one for each population by its code::

    step(c, X, lo, hi, n, ie, ii, refrac, iext, has_ext, spiked)

``c`` the coefficient row (``discretize(dt)`` values in order); ``X`` the state matrix
(slots, n_neurons): the model's state variables other than ``i_e``/``i_i``, in the order of
``state_vars``, occupy rows 0, 1, ... (row 0 is ``v``); ``lo:hi`` the population's neurons;
``n`` the global step number (for models on a slower clock of their own); ``ie``/``ii`` the excitatory/inhibitory synaptic inputs (already holding this step's
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

__all__ = ["neuron_kernel", "kernel_codes", "kernel_table", "state_slots", "synapse_kernel", "synapse_codes",
           "synapse_table"]

_PY: dict[str, object] = {}
_COMPILED: dict[tuple[str, str], object] = {}
_SYN_PY: dict[str, object] = {}
_SYN_COMPILED: dict[tuple[str, str], object] = {}
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


def synapse_kernel(kind: str):
    """Register the decorated Python function as the presynaptic-spike kernel of synapse
    model ``kind`` (see ``synapse_table``)."""
    def register(fn):
        if kind in _SYN_PY and _SYN_PY[kind] is not fn:
            raise ValueError(f"a synapse kernel for kind {kind!r} is already registered ({_SYN_PY[kind].__module__})")
        _SYN_PY[kind] = fn
        return fn
    return register


def _load() -> None:
    global _loaded
    if not _loaded:
        from . import neurons, synapses

        for pkg in (neurons, synapses):
            for info in pkgutil.iter_modules(pkg.__path__):
                importlib.import_module(f"{pkg.__name__}.{info.name}")
        _loaded = True


def _signature(dtype: np.dtype):
    f = types.float32 if dtype == np.float32 else types.float64
    vec = f[::1]
    return types.void(vec, f[:, ::1], types.int64, types.int64, types.int64, vec, vec, types.int32[::1], vec,
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


def synapse_codes() -> dict[str, int]:
    """Engine code of every registered synapse model kind: its position in ``synapse_table``."""
    _load()
    return {kind: k for k, kind in enumerate(sorted(_SYN_PY))}


def synapse_table(dtype) -> tuple:
    """The compiled presynaptic-spike kernels of the dynamic synapse models, in code order.

    One signature for all, ``on_pre(c, S, q, n, dt, mod) -> r``: coefficient row ``c``,
    per-synapse state ``S`` (slots, n_synapses), synapse ``q``, step ``n``, step ``dt`` (s)
    and ``mod``, the value of the modulating astrocyte variable at the synapse (0 where no
    astrocyte covers it). The kernel updates the synapse's state for a presynaptic spike at
    step ``n`` and returns the fraction of resources released, ``r``: the postsynaptic
    target receives ``weight * r``, a sensing astrocyte ``its link weight * r``.
    """
    dtype = np.dtype(dtype)
    f = types.float32 if dtype == np.float32 else types.float64
    sig = types.float64(f[::1], f[:, ::1], types.int64, types.int64, types.float64, types.float64)
    out = []
    for kind in synapse_codes():
        key = (kind, dtype.name)
        if key not in _SYN_COMPILED:
            _SYN_COMPILED[key] = njit(sig, cache=True, nogil=True, error_model="numpy")(_SYN_PY[kind])
        out.append(_SYN_COMPILED[key])
    return tuple(out)


def state_slots(model) -> dict[str, int]:
    """Monitor/state code of each state variable of ``model``: rows of ``X`` in the order of
    ``state_vars``, and -1/-2 for the variables held in the engine's excitatory/inhibitory
    synaptic inputs (the model's ``synaptic_vars``, ``("i_e", "i_i")`` for most neurons)."""
    synaptic = {var: -1 - k for k, var in enumerate(getattr(model, "synaptic_vars", ("i_e", "i_i")))}
    slots, row = {}, 0
    for var in model.state_vars:
        if var in synaptic:
            slots[var] = synaptic[var]
        else:
            slots[var] = row
            row += 1
    return slots
