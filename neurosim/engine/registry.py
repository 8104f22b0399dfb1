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
           "synapse_table", "plasticity_kernel", "plasticity_codes", "plasticity_tables", "PLASTICITY_HOOKS"]

_PY: dict[str, object] = {}
_COMPILED: dict[tuple[str, str], object] = {}
_SYN_PY: dict[str, object] = {}
_SYN_COMPILED: dict[tuple[str, str], object] = {}
_PLAST_PY: dict[tuple[str, str], object] = {}
_PLAST_COMPILED: dict[tuple[str, str, str], object] = {}
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


PLASTICITY_HOOKS = ("pre", "post", "step")
"""The hooks of a learning rule: ``pre`` (a presynaptic spike arrives), ``post`` (the
postsynaptic neuron spikes), ``step`` (once per step; optional, for rules with state that
changes between spikes, such as a reward-modulated eligibility)."""


def plasticity_kernel(kind: str, hook: str):
    """Register the decorated Python function as the ``hook`` (``PLASTICITY_HOOKS``) of the
    learning rule ``kind`` (see ``plasticity_tables`` for the signatures)."""
    if hook not in PLASTICITY_HOOKS:
        raise ValueError(f"plasticity_kernel: hook {hook!r} is unknown; use one of {PLASTICITY_HOOKS}")

    def register(fn):
        known = _PLAST_PY.get((kind, hook))
        if known is not None and known is not fn:
            raise ValueError(f"a {hook!r} hook for learning rule {kind!r} is already registered ({known.__module__})")
        _PLAST_PY[(kind, hook)] = fn
        return fn
    return register


def _no_step(c, n, lo, hi, W, S, mod, k, reward, Tpre, pre_off, n_pre):
    """The step hook of rules that change weights only at spikes."""


def _no_pre(c, tab, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val, ph_len,
            isyn, base, mode):
    """Stands in for every rule's hooks in networks without plastic projections."""


def _no_post(c, tab, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post, ph_step, ph_val, ph_len):
    """Stands in for every rule's hooks in networks without plastic projections."""


def _load() -> None:
    global _loaded
    if not _loaded:
        from . import neurons, plasticity, synapses

        for pkg in (neurons, synapses, plasticity):
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


def _unused_kernel(c, X, lo, hi, n, ie, ii, refrac, iext, has_ext, spiked):
    """Holds the place of a model the network does not use (never called)."""


def _unused_synapse(c, S, q, n, dt, mod):
    """Holds the place of a synapse model the network does not use (never called)."""
    return 0.0


def _compiled(cache: dict, key, sig, fn):
    if key not in cache:
        cache[key] = njit(sig, cache=True, nogil=True, error_model="numpy")(fn)
    return cache[key]


def _used(used) -> set | None:
    return None if used is None else {int(c) for c in np.asarray(used).ravel()}


def _table(cache: dict, codes: dict, py: dict, sig, dtype, unused, used) -> tuple:
    """The compiled kernels of ``codes`` in code order; with ``used``, a shared no-op
    (``unused``) in the places of the others."""
    keep = _used(used)
    return tuple(_compiled(cache, (kind, dtype.name), sig, py[kind]) if keep is None or code in keep
                 else _compiled(cache, ("", dtype.name), sig, unused) for kind, code in codes.items())


def kernel_table(dtype, used=None) -> tuple:
    """The compiled kernels for state of ``dtype`` (float32/float64), in code order. With
    ``used`` (codes, e.g. the layout's ``pop_code``) only those kernels are compiled; the
    other places hold a no-op (compiling every model would cost seconds at a cold start)."""
    dtype = np.dtype(dtype)
    return _table(_COMPILED, kernel_codes(), _PY, _signature(dtype), dtype, _unused_kernel, used)


def synapse_codes() -> dict[str, int]:
    """Engine code of every registered synapse model kind: its position in ``synapse_table``."""
    _load()
    return {kind: k for k, kind in enumerate(sorted(_SYN_PY))}


def synapse_table(dtype, used=None) -> tuple:
    """The compiled presynaptic-spike kernels of the dynamic synapse models, in code order.

    One signature for all, ``on_pre(c, S, q, n, dt, mod) -> r``: coefficient row ``c``,
    per-synapse state ``S`` (slots, n_synapses), synapse ``q``, step ``n``, step ``dt`` (s)
    and ``mod``, the value of the modulating astrocyte variable at the synapse (0 where no
    astrocyte covers it). The kernel updates the synapse's state for a presynaptic spike at
    step ``n`` and returns the fraction of resources released, ``r``: the postsynaptic
    target receives ``weight * r``, a sensing astrocyte ``its link weight * r``. With
    ``used`` (codes) only those kernels are compiled, as in ``kernel_table``.
    """
    dtype = np.dtype(dtype)
    f = types.float32 if dtype == np.float32 else types.float64
    sig = types.float64(f[::1], f[:, ::1], types.int64, types.int64, types.float64, types.float64)
    return _table(_SYN_COMPILED, synapse_codes(), _SYN_PY, sig, dtype, _unused_synapse, used)


def plasticity_codes() -> dict[str, int]:
    """Engine code of every learning rule kind with hooks: its position in the tables of
    ``plasticity_tables``. Raises ``ValueError`` for a rule registered without its ``pre``
    or ``post`` hook."""
    _load()
    kinds = sorted({kind for kind, _ in _PLAST_PY})
    for kind in kinds:
        for hook in ("pre", "post"):
            if (kind, hook) not in _PLAST_PY:
                raise ValueError(f"learning rule {kind!r} has no {hook!r} hook (neurosim/engine/plasticity/)")
    return {kind: k for k, kind in enumerate(kinds)}


def plasticity_tables(dtype, active: bool = True, used=None) -> tuple[tuple, tuple, tuple]:
    """The compiled hooks of every learning rule, ``(pre, post, step)``, each a tuple in code
    order, for weights of ``dtype``. Signatures (``c`` the rule's coefficients, ``tab`` its
    decay table (rates, steps) with ``tab[r, m] = exp(-m c[r])``; ``W`` weights (n_syn,) of
    ``dtype``; ``S`` per-synapse state (slots, n_syn) of ``dtype``; ``Tpre``/``Tpost`` traces
    (slots, n) in float64 with ``last_pre``/``last_post`` the step of each column's last
    update; ``applied[i]`` the step from which the postsynaptic spikes in the history
    ``ph_step``/``ph_val`` (n_post, capacity), ``ph_len`` (n_post,) are still to be applied
    to presynaptic neuron ``i``'s synapses)::

        pre(c, tab, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post,
            applied, ph_step, ph_val, ph_len, isyn, base, mode)
        post(c, tab, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post,
             ph_step, ph_val, ph_len)
        step(c, n, lo, hi, W, S, mod, k, reward, Tpre, pre_off, n_pre)

    ``pre``, ``mode`` 0: a spike of the presynaptic neuron with trace column ``i`` arrives at
    step ``n`` at synapses ``lo:hi`` (postsynaptic trace columns ``post_off + syn_post[q]``);
    the hook adds each weight to ``isyn[base + syn_post[q]]`` (the target's synaptic input)
    when the rule says it is delivered. ``mode`` 1: a flush: only bring the synapses up to
    date (apply what is pending) at step ``n``. ``post``: the postsynaptic neuron with trace
    column ``j`` spikes; its synapses are ``col_syn[lo:hi]`` (presynaptic trace columns
    ``pre_off + col_pre[q]``; empty for rules with ``deferred`` potentiation, which record
    the spike in the history instead). ``step``: the end of step ``n`` for the projection
    ``k`` (synapses ``lo:hi``, presynaptic trace columns ``pre_off:pre_off + n_pre``), with
    its modulator state ``mod[k]`` and this step's ``reward``. With ``used`` (codes) only
    those rules' hooks are compiled, as in ``kernel_table``."""
    dtype = np.dtype(dtype)
    f = types.float32 if dtype == np.float32 else types.float64
    vec, mat, i32, i64 = f[::1], f[:, ::1], types.int32[::1], types.int64
    tr, last, tab = types.float64[:, ::1], types.int64[::1], types.float64[:, ::1]
    hist = (types.int64[:, ::1], types.float64[:, ::1], types.int64[::1])
    sigs = {
        "pre": types.void(vec, tab, i64, i64, i64, i64, vec, mat, i32, i64, tr, last, tr, last, last, *hist, vec, i64, i64),
        "post": types.void(vec, tab, i64, i64, i64, i64, vec, mat, i32, i32, i64, tr, last, tr, last, *hist),
        "step": types.void(vec, i64, i64, i64, vec, mat, types.float64[::1], i64, types.float64, tr, i64, i64),
    }
    none = {"pre": _no_pre, "post": _no_post, "step": _no_step}
    keep = _used(used)
    out = []
    for hook in PLASTICITY_HOOKS:
        row = []
        for kind, code in plasticity_codes().items():
            wanted = active and (keep is None or code in keep)  # the rules a network does not use: no-ops
            fn = _PLAST_PY.get((kind, hook), _no_step) if wanted else none[hook]
            key = (kind if fn not in none.values() else "", hook, dtype.name)  # one no-op for all
            row.append(_compiled(_PLAST_COMPILED, key, sigs[hook], fn))
        out.append(tuple(row))
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
