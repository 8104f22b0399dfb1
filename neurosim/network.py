"""The Network description: populations, sources, projections, gap junctions, inputs.

A ``Network`` is plain data (NIR-style frozen dataclasses), validated on construction and
saved/loaded as ``.npz`` without pickle. Engines (the Numba ``Simulator``, the torch layers,
the hardware mappings) read it; it knows nothing of them.

Index conventions: neurons are numbered within their population (0 .. size-1). Projection
weights are CSR over the presynaptic neurons: the synapses of presynaptic neuron ``j`` are
``indices[indptr[j]:indptr[j+1]]`` (postsynaptic neurons) with ``weights`` and ``delays``
(integer steps, >= 1) at the same positions.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Union

import numpy as np

from .atomic import atomic_savez
from .models import MODELS, SYNAPSE_MODELS, NeuronModel, SynapseModel

__all__ = [
    "Population",
    "SpikeSource",
    "PoissonSource",
    "Projection",
    "GapJunctions",
    "CurrentInjection",
    "SynapseToAstrocyte",
    "AstrocyteToSynapse",
    "AstrocyteGapJunctions",
    "Network",
    "TARGETS",
    "DEFAULT_MAX_DELAY_STEPS",
    "NetworkFileError",
    "check_name",
    "NAME_RULES",
    "spike_steps",
]

TARGETS = ("exc", "inh", "graded")
"""Projection targets: excitatory current, inhibitory current, graded conductance."""

DEFAULT_MAX_DELAY_STEPS = 4096
"""Default length of the delay ring buffer, in steps."""

_FORMAT_VERSION = 1
_MAX_META_BYTES = 64 << 20  # the JSON description of a saved network (read before any array)


class NetworkFileError(ValueError):
    """A file that ``Network.load`` cannot read: corrupt, truncated, foreign, or of an
    unsupported format version."""


_NAME_PATTERNS = {
    "node": re.compile(r"[A-Za-z0-9_-]{1,128}"),
    "projection": re.compile(r"[A-Za-z0-9_.:>-]{1,256}"),
}
NAME_RULES = {
    "node": "1 to 128 ASCII letters, digits, '_' or '-'",
    "projection": "1 to 256 ASCII letters, digits, '_', '-', '.', ':' or '>' (the default is 'pre->post:target')",
}
"""The documented character sets of names: populations and sources (``"node"``) and
projections. Names end up in files, plots and generated scripts (the PyNN export), so
nothing outside these sets is accepted, wherever a name comes from (code, ``Network.load``,
a NIR file's metadata)."""


def check_name(kind: str, name, rule: str = "node") -> str:
    """``name`` if it is a valid name of a ``kind`` element under ``rule`` (``"node"`` or
    ``"projection"``, see ``NAME_RULES``); else ``ValueError`` saying what is allowed."""
    if not isinstance(name, str) or not _NAME_PATTERNS[rule].fullmatch(name):
        shown = name if not isinstance(name, str) or len(name) <= 80 else name[:80] + "..."
        raise ValueError(f"{kind} name {shown!r} is invalid: use {NAME_RULES[rule]}")
    return name


def _check_size(kind: str, name: str, size) -> int:
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"{kind} {name!r}: size = {size!r} is invalid: must be an integer >= 1")
    return int(size)


def _float_array(where: str, what: str, values, dtype=np.float64) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {what} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(dtype, copy=False)
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise ValueError(f"{where}: {what} contains {arr[tuple(first)]} at index {tuple(int(i) for i in first)}; all values must be finite")
    return arr


def _int_array(where: str, what: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"{where}: {what} must be integers, got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class Population:
    """``size`` neurons of one ``model`` (a ``neurosim.models`` parameter dataclass).

    ``initial`` overrides the model's resting initial state: ``{state variable: scalar or
    array of shape (size,)}`` in the variable's SI unit.

    ``params`` gives per-neuron values of model parameters, ``{field: array (size,)}``
    (heterogeneous populations; graded models only, e.g. Kunert et al.'s per-neuron
    sigmoid midpoints ``v_half``). Each value is validated as the model validates it.

    Raises ``ValueError`` for a bad name or size, a model that is not a ``NeuronModel``,
    unknown state variables or parameters, wrong shapes or invalid values.
    """

    name: str
    model: NeuronModel
    size: int
    initial: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        check_name("population", self.name)
        object.__setattr__(self, "size", _check_size("population", self.name, self.size))
        if not isinstance(self.model, NeuronModel):
            raise ValueError(
                f"population {self.name!r}: model must be one of {sorted(MODELS)} "
                f"(a neurosim.models instance), got {type(self.model).__name__}"
            )
        init = {}
        for var, value in dict(self.initial).items():
            if var not in self.model.state_vars:
                raise ValueError(
                    f"population {self.name!r}: unknown state variable {var!r} in initial; "
                    f"{type(self.model).__name__} has {list(self.model.state_vars)}"
                )
            arr = _float_array(f"population {self.name!r}", f"initial[{var!r}]", value)
            if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != self.size):
                raise ValueError(
                    f"population {self.name!r}: initial[{var!r}] has shape {arr.shape}; "
                    f"expected a scalar or shape ({self.size},)"
                )
            init[var] = arr
        object.__setattr__(self, "initial", init)
        fields = {f.name for f in dataclasses.fields(self.model)}
        het = {}
        for key, value in dict(self.params).items():
            where = f"population {self.name!r}"
            if key not in fields:
                raise ValueError(f"{where}: unknown parameter {key!r} in params; {type(self.model).__name__} has {sorted(fields)}")
            if self.model.spiking:
                raise ValueError(f"{where}: per-neuron parameters are supported for graded models only, not {type(self.model).__name__}")
            arr = _float_array(where, f"params[{key!r}]", value)
            if arr.shape != (self.size,):
                raise ValueError(f"{where}: params[{key!r}] has shape {arr.shape}; expected ({self.size},)")
            for v in np.unique(arr):
                self.model.replace(**{key: float(v)})  # the model's own validation
            het[key] = arr
        object.__setattr__(self, "params", het)

    def neuron_models(self) -> list:
        """The model of every neuron, with per-neuron ``params`` applied (length size)."""
        if not self.params:
            return [self.model] * self.size
        return [self.model.replace(**{k: float(v[i]) for k, v in self.params.items()}) for i in range(self.size)]

    @property
    def spiking(self) -> bool:
        """Whether the model emits spikes (graded neurons do not)."""
        return self.model.spiking

    def initial_state(self) -> dict[str, np.ndarray]:
        """Every state variable as an array of shape (size,)."""
        base = self.model.initial_state()
        return {k: np.broadcast_to(np.asarray(self.initial.get(k, v), float), (self.size,)).copy() for k, v in base.items()}


def spike_steps(times, dt: float) -> np.ndarray:
    """The simulation step of each spike time (s): ``floor(t / dt + 1e-3)``, as Brian2's
    ``SpikeGeneratorGroup`` bins them. A spike a thousandth of a step before a step starts
    counts in that step, so that times computed as ``k * dt`` land in step ``k`` despite
    rounding. Every engine (the simulator, Loihi, SpiNNaker, the PyNN export) bins spikes
    with this one function."""
    return np.floor(np.asarray(times, np.float64) / dt + 1e-3).astype(np.int64)


@dataclass(frozen=True, eq=False)
class SpikeSource:
    """``size`` input neurons that fire at given times (Brian2's ``SpikeGeneratorGroup``).

    ``times`` (s, shape (n_spikes,)) and ``ids`` (shape (n_spikes,), 0 .. size-1). A spike at
    time t is emitted in the step ``spike_steps(t, dt)``: ``floor(t/dt)``, up to a
    thousandth of a step of rounding (as Brian2 does).
    """

    name: str
    size: int
    times: np.ndarray
    ids: np.ndarray

    def __post_init__(self):
        check_name("source", self.name)
        object.__setattr__(self, "size", _check_size("source", self.name, self.size))
        where = f"spike source {self.name!r}"
        times = _float_array(where, "times", self.times).ravel()
        ids = _int_array(where, "ids", self.ids).ravel()
        if times.shape != ids.shape:
            raise ValueError(f"{where}: times has {times.size} entries but ids has {ids.size}; they must match")
        if times.size and times.min() < 0:
            raise ValueError(f"{where}: spike times must be >= 0 s, got {times.min()}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            bad = ids[(ids < 0) | (ids >= self.size)][0]
            raise ValueError(f"{where}: id {bad} out of range 0..{self.size - 1}")
        order = np.lexsort((ids, times))
        object.__setattr__(self, "times", times[order])
        object.__setattr__(self, "ids", ids[order])


@dataclass(frozen=True, eq=False)
class PoissonSource:
    """``size`` independent Poisson spike trains of ``rate`` (Hz, scalar or shape (size,)).

    In each step a source fires with probability ``rate * dt`` (must be <= 1), drawn from the
    simulator's seeded generator.
    """

    name: str
    size: int
    rate: Union[float, np.ndarray]

    def __post_init__(self):
        check_name("source", self.name)
        object.__setattr__(self, "size", _check_size("source", self.name, self.size))
        rate = _float_array(f"Poisson source {self.name!r}", "rate", self.rate)
        if rate.ndim > 1 or (rate.ndim == 1 and rate.shape[0] != self.size):
            raise ValueError(f"Poisson source {self.name!r}: rate has shape {rate.shape}; expected a scalar or ({self.size},)")
        if np.any(rate < 0):
            raise ValueError(f"Poisson source {self.name!r}: rate must be >= 0 Hz, got {rate.min()}")
        object.__setattr__(self, "rate", rate)

    @property
    def spiking(self) -> bool:
        """Sources always spike."""
        return True


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from population/source ``pre`` to population ``post``, in CSR over ``pre``.

    ``indptr`` (n_pre + 1,), ``indices`` (n_syn,) postsynaptic neuron of each synapse,
    ``weights`` (n_syn,), ``delays`` (n_syn,) integer steps >= 1 (or one integer for all).
    ``target``: ``"exc"``/``"inh"`` add the weight (A) to the excitatory/inhibitory synaptic
    current of a spiking neuron when a spike arrives, ``delay`` steps after it was emitted;
    ``"graded"`` makes a continuous graded synapse of conductance ``weight`` (S) and reversal
    potential ``e_rev`` (V) between graded neurons (delays are ignored).

    ``synapse``: a dynamic synapse model (``neurosim.models.TripartiteSynapse``) whose
    per-synapse state scales each delivered weight by the fraction it releases; ``None``
    (default) for static synapses.

    Build with ``from_dense`` or ``from_pairs`` rather than by hand.
    """

    pre: str
    post: str
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    target: str = "exc"
    e_rev: float | None = None
    name: str = ""
    synapse: SynapseModel | None = None

    def __post_init__(self):
        for end in ("pre", "post"):
            check_name(f"projection {end}", getattr(self, end))
        if not isinstance(self.target, str) or self.target not in TARGETS:
            raise ValueError(f"projection {self.name or f'{self.pre}->{self.post}'!r}: target {self.target!r} is unknown; "
                             f"allowed: {list(TARGETS)}")
        if not self.name:
            object.__setattr__(self, "name", f"{self.pre}->{self.post}:{self.target}")
        check_name("projection", self.name, "projection")
        where = f"projection {self.name!r}"
        if self.synapse is not None:
            if not isinstance(self.synapse, SynapseModel):
                raise ValueError(f"{where}: synapse must be a neurosim.models synapse model ({sorted(SYNAPSE_MODELS)}) or None, "
                                 f"got {type(self.synapse).__name__}")
            if self.target == "graded":
                raise ValueError(f"{where}: dynamic synapses ({type(self.synapse).__name__}) need a spiking target 'exc' or 'inh'")
        if self.target == "graded":
            if self.e_rev is None or not math.isfinite(float(self.e_rev)):
                raise ValueError(f"{where}: a graded projection needs a finite reversal potential e_rev (V), got {self.e_rev!r}")
            object.__setattr__(self, "e_rev", float(self.e_rev))
        elif self.e_rev is not None:
            raise ValueError(f"{where}: e_rev is only for graded projections (target {self.target!r} is current-based)")
        indptr = _int_array(where, "indptr", self.indptr).ravel()
        indices = _int_array(where, "indices", self.indices).ravel()
        weights = np.asarray(self.weights)
        weights = _float_array(where, "weights", weights, np.float32 if weights.dtype == np.float32 else np.float64).ravel()
        n_syn = indices.size
        if indptr.size < 2 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != n_syn:
            raise ValueError(
                f"{where}: indptr must start at 0, never decrease and end at len(indices) = {n_syn}"
            )
        if weights.size != n_syn:
            raise ValueError(f"{where}: weights has {weights.size} entries but indices has {n_syn}; they must match")
        if self.target == "graded" and np.any(weights < 0):
            raise ValueError(f"{where}: graded conductances must be >= 0 S, got {weights.min()}")
        delays = _int_array(where, "delays", self.delays)
        if delays.ndim == 0 or delays.size == 1:
            delays = np.full(n_syn, int(delays.ravel()[0]) if delays.size else 1)
        delays = delays.ravel()
        if delays.size != n_syn:
            raise ValueError(f"{where}: delays has {delays.size} entries but indices has {n_syn}; they must match")
        if n_syn and delays.min() < 1:
            raise ValueError(f"{where}: delays must be >= 1 step, got {delays.min()} (a spike acts on the step after it is emitted at the earliest)")
        dmax = int(delays.max()) if n_syn else 1
        ddtype = np.uint8 if dmax <= np.iinfo(np.uint8).max else np.uint16 if dmax <= np.iinfo(np.uint16).max else np.int64
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices.astype(np.int32) if (n_syn == 0 or indices.max() < 2**31) else indices)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "delays", delays.astype(ddtype))

    @property
    def n_pre(self) -> int:
        """Number of presynaptic neurons (rows of the CSR)."""
        return self.indptr.size - 1

    @property
    def n_synapses(self) -> int:
        """Number of synapses."""
        return int(self.indices.size)

    def pre_indices(self) -> np.ndarray:
        """Presynaptic neuron of each synapse, shape (n_syn,)."""
        return np.repeat(np.arange(self.n_pre, dtype=np.int64), np.diff(self.indptr))

    @classmethod
    def from_pairs(cls, pre: str, post: str, i, j, weights, n_pre: int, delays=1, target="exc", e_rev=None, name="",
                   synapse=None):
        """From synapse lists: presynaptic ``i`` (n_syn,), postsynaptic ``j`` (n_syn,),
        ``weights`` (scalar or (n_syn,)), ``delays`` in steps (scalar or (n_syn,)). The
        synapses are stored sorted by (i, j): arrays over synapses (astrocyte links) follow
        that order."""
        where = f"projection {name or f'{pre}->{post}:{target}'}"
        i = _int_array(where, "i", i).ravel()
        j = _int_array(where, "j", j).ravel()
        if i.shape != j.shape:
            raise ValueError(f"{where}: i has {i.size} entries but j has {j.size}; they must match")
        n_pre = _check_size("projection", where, n_pre)
        if i.size and (i.min() < 0 or i.max() >= n_pre):
            raise ValueError(f"{where}: presynaptic index {i[(i < 0) | (i >= n_pre)][0]} out of range 0..{n_pre - 1}")
        w = np.asarray(weights)
        w = np.broadcast_to(w, i.shape) if w.ndim == 0 else w.ravel()
        if w.size != i.size:
            raise ValueError(f"{where}: weights has {w.size} entries but there are {i.size} synapses")
        d = np.asarray(delays)
        d = np.broadcast_to(d, i.shape) if d.ndim == 0 else d.ravel()
        if d.size != i.size:
            raise ValueError(f"{where}: delays has {d.size} entries but there are {i.size} synapses")
        order = np.lexsort((j, i))
        indptr = np.zeros(n_pre + 1, np.int64)
        np.cumsum(np.bincount(i, minlength=n_pre), out=indptr[1:])
        return cls(pre, post, indptr, j[order], w[order], d[order], target, e_rev, name, synapse)

    @classmethod
    def from_dense(cls, pre: str, post: str, w, delays=1, target="exc", e_rev=None, name="", synapse=None):
        """From a dense matrix ``w`` of shape (n_pre, n_post); zeros mean no synapse.
        ``delays``: scalar or (n_pre, n_post) in steps. Raises ``ValueError`` for other
        shapes."""
        where = f"projection {name or f'{pre}->{post}'}"
        w = np.asarray(w)
        if w.ndim != 2:
            raise ValueError(f"{where}: dense weights must be 2-D (n_pre, n_post), got shape {w.shape}")
        d = np.asarray(delays)
        if d.ndim != 0 and d.shape != w.shape:
            raise ValueError(f"{where}: delays must be a scalar or shaped like the weights {w.shape} (n_pre, n_post), "
                             f"got shape {d.shape}")
        i, j = np.nonzero(w)
        d = d[i, j] if d.ndim == 2 else d
        return cls.from_pairs(pre, post, i, j, w[i, j], w.shape[0], d, target, e_rev, name, synapse)


@dataclass(frozen=True, eq=False)
class GapJunctions:
    """Electrical synapses between neurons ``i`` of population ``pop_a`` and ``j`` of
    ``pop_b`` with conductance ``g`` (S, >= 0), each pair listed once and acting both ways:
    ``I_gap,i = sum g (V_i - V_j)`` flows out of ``i`` and into ``j``."""

    pop_a: str
    pop_b: str
    i: np.ndarray
    j: np.ndarray
    g: np.ndarray

    def __post_init__(self):
        where = f"gap junctions {self.pop_a}<->{self.pop_b}"
        i = _int_array(where, "i", self.i).ravel()
        j = _int_array(where, "j", self.j).ravel()
        g = _float_array(where, "g", self.g)
        g = np.broadcast_to(g, i.shape).copy() if g.ndim == 0 else g.ravel()
        if not (i.size == j.size == g.size):
            raise ValueError(f"{where}: i, j and g must have the same length, got {i.size}, {j.size}, {g.size}")
        if np.any(g < 0):
            raise ValueError(f"{where}: conductances must be >= 0 S, got {g.min()}")
        if self.pop_a == self.pop_b and np.any(i == j):
            raise ValueError(f"{where}: a neuron cannot be coupled to itself (i == j == {i[i == j][0]})")
        object.__setattr__(self, "i", i)
        object.__setattr__(self, "j", j)
        object.__setattr__(self, "g", g)


@dataclass(frozen=True, eq=False)
class SynapseToAstrocyte:
    """Astrocytes that sense the neurotransmitter released by the dynamic synapses of a
    projection (Brian2: ``Y_S_post = Y_S_pre : (summed)``, Stimberg et al. 2019).

    ``astrocyte_index`` (n_syn,): the astrocyte of population ``astrocytes`` sensing each
    synapse of ``projection`` (in the projection's CSR order), -1 for none. A spike releasing
    ``r_S`` adds ``rho_c Y_T r_S`` to that astrocyte's ``Y_S``; with ``normalize=True``
    divided by the number of synapses the astrocyte senses (Brian2 example 6's
    ``Y_S_pre/N_incoming``). For static synapses, project onto the astrocytes directly
    (target ``"exc"``, weight ``rho_c Y_T`` in mol/m^3)."""

    projection: str
    astrocytes: str
    astrocyte_index: np.ndarray
    normalize: bool = False

    def __post_init__(self):
        where = f"synapse-to-astrocyte link {self.projection!r} -> {self.astrocytes!r}"
        object.__setattr__(self, "astrocyte_index", _int_array(where, "astrocyte_index", self.astrocyte_index).ravel())
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise ValueError(f"{where}: normalize must be True or False, got {self.normalize!r}")


@dataclass(frozen=True, eq=False)
class AstrocyteToSynapse:
    """Gliotransmission: the synapses of ``projection`` read the presynaptic receptor
    activation ``variable`` (``"Gamma_S"``) of the astrocyte covering them, which sets their
    release probability (``TripartiteSynapse``). ``astrocyte_index`` (n_syn,): the covering
    astrocyte of population ``astrocytes`` per synapse (CSR order), -1 for none."""

    astrocytes: str
    projection: str
    astrocyte_index: np.ndarray
    variable: str = "Gamma_S"

    def __post_init__(self):
        where = f"astrocyte-to-synapse link {self.astrocytes!r} -> {self.projection!r}"
        object.__setattr__(self, "astrocyte_index", _int_array(where, "astrocyte_index", self.astrocyte_index).ravel())


@dataclass(frozen=True, eq=False)
class AstrocyteGapJunctions:
    """IP3 diffusion between astrocytes ``i`` and ``j`` of population ``astrocytes`` (pairs
    listed once, acting both ways), after Goldberg et al. 2010 (PLoS Comput. Biol.
    6:e1000909) as in Stimberg et al. 2019, Fig. 6: the flux into ``i`` is
    ``J = -F/2 (1 + tanh((|I_i - I_j| - I_Theta)/omega_I)) sign(I_i - I_j)`` (and ``-J``
    into ``j``), computed from the IP3 at the start of each astrocyte step.

    ``F`` (mol/m^3/s, >= 0), ``I_Theta`` (mol/m^3, >= 0), ``omega_I`` (mol/m^3, > 0);
    defaults from Brian2 example 6."""

    astrocytes: str
    i: np.ndarray
    j: np.ndarray
    F: float = 0.09e-3
    I_Theta: float = 0.3e-3
    omega_I: float = 0.05e-3

    def __post_init__(self):
        where = f"astrocyte gap junctions of {self.astrocytes!r}"
        i = _int_array(where, "i", self.i).ravel()
        j = _int_array(where, "j", self.j).ravel()
        if i.size != j.size:
            raise ValueError(f"{where}: i and j must have the same length, got {i.size} and {j.size}")
        if np.any(i == j):
            raise ValueError(f"{where}: an astrocyte cannot be coupled to itself (i == j == {i[i == j][0]})")
        for f, lo_ok in (("F", 0.0), ("I_Theta", 0.0)):
            v = getattr(self, f)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v < lo_ok:
                raise ValueError(f"{where}: {f} = {v!r} is invalid: must be a finite number >= 0")
        if not isinstance(self.omega_I, (int, float)) or not math.isfinite(self.omega_I) or self.omega_I <= 0:
            raise ValueError(f"{where}: omega_I = {self.omega_I!r} is invalid: must be a finite number > 0")
        object.__setattr__(self, "i", i)
        object.__setattr__(self, "j", j)


GLIA = (SynapseToAstrocyte, AstrocyteToSynapse, AstrocyteGapJunctions)


@dataclass(frozen=True, eq=False)
class CurrentInjection:
    """External current (A) into neurons of population ``target``.

    One of three forms:

    * ``CurrentInjection(target, amplitude, neurons, start, stop)``: a step of ``amplitude``
      (scalar or (n_neurons,)) from ``start`` to ``stop`` (s);
    * ``CurrentInjection.from_array(target, values, dt, neurons, start)``: samples ``values``
      of shape (T,) or (T, n_neurons), each held for ``dt`` seconds from ``start``;
    * ``CurrentInjection.from_function(target, fn, neurons)``: ``fn(t)`` with ``t`` of shape
      (n_steps,) in s returns (n_steps,) or (n_steps, n_neurons) amperes (cannot be saved).

    ``neurons`` (indices within the population) defaults to all. Steps and arrays are held
    over each simulation step at their value at the step's start; functions are sampled at
    the start of the step by the explicit engine and at its end by the implicit graded
    solver (whose right-hand side is evaluated there).
    """

    target: str
    amplitude: Union[float, np.ndarray] = 0.0
    neurons: np.ndarray | None = None
    start: float = 0.0
    stop: float = math.inf
    values: np.ndarray | None = None
    sample_dt: float | None = None
    function: Callable | None = None

    def __post_init__(self):
        where = f"current injection into {self.target!r}"
        if self.neurons is not None:
            object.__setattr__(self, "neurons", _int_array(where, "neurons", self.neurons).ravel())
        amp = _float_array(where, "amplitude", self.amplitude)
        if amp.ndim > 1:
            raise ValueError(f"{where}: amplitude must be a scalar or 1-D, got shape {amp.shape}")
        object.__setattr__(self, "amplitude", amp)
        for name in ("start", "stop"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or math.isnan(v):
                raise ValueError(f"{where}: {name} = {v!r} must be a number of seconds")
        if self.stop < self.start or self.start < 0:
            raise ValueError(f"{where}: need 0 <= start <= stop, got start={self.start}, stop={self.stop}")
        if self.values is not None:
            vals = _float_array(where, "values", self.values)
            if vals.ndim not in (1, 2):
                raise ValueError(f"{where}: values must have shape (T,) or (T, n_neurons), got {vals.shape}")
            if self.sample_dt is None or not (float(self.sample_dt) > 0 and math.isfinite(self.sample_dt)):
                raise ValueError(f"{where}: sample_dt = {self.sample_dt!r} must be a finite time > 0 s")
            object.__setattr__(self, "values", vals)
        if self.function is not None and not callable(self.function):
            raise ValueError(f"{where}: function must be callable f(t) -> amperes")

    @property
    def kind(self) -> str:
        """``"step"``, ``"array"`` or ``"function"``."""
        return "function" if self.function is not None else "array" if self.values is not None else "step"

    @classmethod
    def from_array(cls, target, values, dt, neurons=None, start=0.0):
        """``values`` (A) of shape (T,) or (T, n_neurons), each held ``dt`` s from ``start`` s."""
        return cls(target, 0.0, neurons, float(start), math.inf, values, float(dt), None)

    @classmethod
    def from_function(cls, target, fn, neurons=None):
        """``fn(t)`` with ``t`` (n_steps,) in s returning (n_steps,) or (n_steps, n_neurons) A."""
        return cls(target, 0.0, neurons, 0.0, math.inf, None, None, fn)

    def _sample_index(self, t: np.ndarray) -> np.ndarray:
        """The sample of ``values`` that holds at each time ``t`` (s); outside 0..T-1 none does."""
        return np.floor((t - self.start) / self.sample_dt + 1e-9).astype(np.int64)

    def change_points(self, t: np.ndarray) -> np.ndarray:
        """Indices ``k >= 1`` of the step start times ``t`` (s, shape (n_steps,)) at which the
        current may differ from the one at ``t[k-1]``: where a step switches on or off, where
        an array moves to another sample; every index for a function. O(n_steps) memory,
        whatever the number of neurons."""
        if self.kind == "step":
            code = ((t >= self.start) & (t < self.stop)).astype(np.int8)
        elif self.kind == "array":
            k = self._sample_index(t)
            code = np.where((k >= 0) & (k < self.values.shape[0]), k, -1)
        else:
            return np.arange(1, t.size)
        return np.flatnonzero(code[1:] != code[:-1]) + 1

    def sample(self, t: np.ndarray, n: int) -> np.ndarray:
        """Current at the step start times ``t`` (s, shape (n_steps,)): shape (n_steps, n)."""
        where = f"current injection into {self.target!r}"
        if self.kind == "step":
            on = ((t >= self.start) & (t < self.stop)).astype(float)
            out = on[:, None] * np.broadcast_to(self.amplitude, (n,))[None, :]
        elif self.kind == "array":
            k = self._sample_index(t)
            valid = (k >= 0) & (k < self.values.shape[0])
            vals = self.values if self.values.ndim == 2 else self.values[:, None]
            out = np.where(valid[:, None], vals[np.clip(k, 0, self.values.shape[0] - 1)], 0.0)
            out = np.broadcast_to(out, (t.size, n))
        else:
            out = np.asarray(self.function(t), dtype=float)
            if out.ndim == 1:
                out = out[:, None]
            if out.shape[0] != t.size or out.shape[1] not in (1, n):
                raise ValueError(f"{where}: function returned shape {out.shape} for {t.size} times; expected ({t.size},) or ({t.size}, {n})")
            if not np.all(np.isfinite(out)):
                raise ValueError(f"{where}: function returned non-finite currents")
            out = np.broadcast_to(out, (t.size, n))
        return out


Node = Union[Population, SpikeSource, PoissonSource]


@dataclass(frozen=True, eq=False)
class Network:
    """A complete model: populations and sources (by name), projections, gap junctions,
    current injections and ``glia``: the links of astrocyte populations
    (``SynapseToAstrocyte``, ``AstrocyteToSynapse``, ``AstrocyteGapJunctions``).

    ``max_delay_steps`` is the length of the engines' delay ring buffer: every synaptic
    delay must be in 1 .. max_delay_steps.

    Raises ``ValueError`` naming the offending element for duplicate or unknown names,
    indices out of range, CSR shape mismatches, delays beyond the buffer, projection targets
    that do not fit the pre/post models, and current injections into unknown neurons.
    """

    populations: tuple = ()
    sources: tuple = ()
    projections: tuple = ()
    gap_junctions: tuple = ()
    inputs: tuple = ()
    max_delay_steps: int = DEFAULT_MAX_DELAY_STEPS
    glia: tuple = ()

    def __post_init__(self):
        for attr in ("populations", "sources", "projections", "gap_junctions", "inputs", "glia"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        names: dict[str, Node] = {}
        for p in self.populations:
            if not isinstance(p, Population):
                raise ValueError(f"populations must be Population objects, got {type(p).__name__}")
        for s in self.sources:
            if not isinstance(s, (SpikeSource, PoissonSource)):
                raise ValueError(f"sources must be SpikeSource or PoissonSource objects, got {type(s).__name__}")
        for node in (*self.populations, *self.sources):
            if node.name in names:
                raise ValueError(f"duplicate population/source name {node.name!r}")
            names[node.name] = node
        if not self.populations:
            raise ValueError("a Network needs at least one Population")
        mds = self.max_delay_steps
        if isinstance(mds, bool) or not isinstance(mds, (int, np.integer)) or not 1 <= mds <= 65535:
            raise ValueError(f"max_delay_steps = {mds!r} is invalid: must be an integer in 1..65535")
        pops = {p.name: p for p in self.populations}
        seen = set()
        for pr in self.projections:
            if not isinstance(pr, Projection):
                raise ValueError(f"projections must be Projection objects, got {type(pr).__name__}")
            where = f"projection {pr.name!r}"
            if pr.name in seen:
                raise ValueError(f"duplicate projection name {pr.name!r}")
            seen.add(pr.name)
            if pr.pre not in names:
                raise ValueError(f"{where}: unknown pre {pr.pre!r}; known: {sorted(names)}")
            if pr.post not in pops:
                raise ValueError(f"{where}: unknown post population {pr.post!r}; known: {sorted(pops)}")
            pre, post = names[pr.pre], pops[pr.post]
            if pr.n_pre != pre.size:
                raise ValueError(f"{where}: indptr has {pr.n_pre + 1} entries; {pr.pre!r} has {pre.size} neurons, so it needs {pre.size + 1}")
            if pr.n_synapses and (pr.indices.min() < 0 or pr.indices.max() >= post.size):
                bad = pr.indices[(pr.indices < 0) | (pr.indices >= post.size)][0]
                raise ValueError(f"{where}: postsynaptic index {bad} out of range 0..{post.size - 1} of {pr.post!r}")
            if pr.target == "graded":
                if getattr(pre, "spiking", True) or post.spiking:
                    raise ValueError(f"{where}: graded projections connect graded (non-spiking) populations; {pr.pre!r} -> {pr.post!r} is not graded -> graded")
            else:
                if not getattr(pre, "spiking", True):
                    raise ValueError(f"{where}: {pr.pre!r} does not spike; use target='graded' for graded neurons")
                if not post.spiking:
                    raise ValueError(f"{where}: {pr.post!r} is graded; current-based targets 'exc'/'inh' need a spiking post population")
                if getattr(getattr(pre, "model", None), "glial", False):
                    raise ValueError(f"{where}: astrocytes {pr.pre!r} do not send spikes through projections; "
                                     "gliotransmission reaches synapses through an AstrocyteToSynapse link")
                if pr.target not in post.model.synaptic_targets:
                    raise ValueError(f"{where}: {pr.post!r} ({type(post.model).__name__}) takes targets "
                                     f"{list(post.model.synaptic_targets)} only, got {pr.target!r}"
                                     + (" (astrocytes sense neurotransmitter through 'exc')" if post.model.glial else ""))
                if pr.n_synapses and int(pr.delays.max()) > mds:
                    raise ValueError(
                        f"{where}: delay of {int(pr.delays.max())} steps is beyond the delay buffer "
                        f"(max_delay_steps = {mds}); raise Network.max_delay_steps"
                    )
        for gj in self.gap_junctions:
            if not isinstance(gj, GapJunctions):
                raise ValueError(f"gap_junctions must be GapJunctions objects, got {type(gj).__name__}")
            for popname, idx in ((gj.pop_a, gj.i), (gj.pop_b, gj.j)):
                if popname not in pops:
                    raise ValueError(f"gap junctions: unknown population {popname!r}; known: {sorted(pops)}")
                if pops[popname].model.glial:
                    raise ValueError(f"gap junctions {gj.pop_a}<->{gj.pop_b}: {popname!r} are astrocytes; couple them with AstrocyteGapJunctions (IP3 diffusion)")
                if idx.size and (idx.min() < 0 or idx.max() >= pops[popname].size):
                    raise ValueError(f"gap junctions {gj.pop_a}<->{gj.pop_b}: index {idx[(idx < 0) | (idx >= pops[popname].size)][0]} out of range 0..{pops[popname].size - 1} of {popname!r}")
        for inj in self.inputs:
            if not isinstance(inj, CurrentInjection):
                raise ValueError(f"inputs must be CurrentInjection objects, got {type(inj).__name__}")
            if inj.target not in pops:
                raise ValueError(f"current injection: unknown population {inj.target!r}; known: {sorted(pops)}")
            n = pops[inj.target].size
            idx = inj.neurons if inj.neurons is not None else np.arange(n)
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(f"current injection into {inj.target!r}: neuron {idx[(idx < 0) | (idx >= n)][0]} out of range 0..{n - 1}")
            m = idx.size
            if inj.amplitude.ndim == 1 and inj.amplitude.size != m:
                raise ValueError(f"current injection into {inj.target!r}: amplitude has {inj.amplitude.size} values for {m} neurons")
            if inj.values is not None and inj.values.ndim == 2 and inj.values.shape[1] != m:
                raise ValueError(f"current injection into {inj.target!r}: values has {inj.values.shape[1]} columns for {m} neurons")

        self._check_glia(pops)

    def _check_glia(self, pops) -> None:
        projs = {pr.name: pr for pr in self.projections}
        linked = set()
        for link in self.glia:
            if not isinstance(link, GLIA):
                raise ValueError(f"glia must be SynapseToAstrocyte, AstrocyteToSynapse or AstrocyteGapJunctions objects, got {type(link).__name__}")
            kind = type(link).__name__
            if link.astrocytes not in pops:
                raise ValueError(f"{kind}: unknown astrocyte population {link.astrocytes!r}; known: {sorted(pops)}")
            astro = pops[link.astrocytes]
            if not astro.model.glial:
                raise ValueError(f"{kind}: population {link.astrocytes!r} is {type(astro.model).__name__}, not an astrocyte population "
                                 f"(a model with glial = True: {sorted(k for k, m in MODELS.items() if m.glial)})")
            if isinstance(link, AstrocyteGapJunctions):
                for idx in (link.i, link.j):
                    if idx.size and (idx.min() < 0 or idx.max() >= astro.size):
                        raise ValueError(f"{kind} of {link.astrocytes!r}: index {idx[(idx < 0) | (idx >= astro.size)][0]} out of range 0..{astro.size - 1}")
                continue
            where = f"{kind} {link.astrocytes!r} / {link.projection!r}"
            if link.projection not in projs:
                raise ValueError(f"{where}: unknown projection {link.projection!r}; known: {sorted(projs)}")
            pr = projs[link.projection]
            if pr.synapse is None:
                raise ValueError(f"{where}: projection {pr.name!r} has static synapses; astrocyte links need a dynamic synapse "
                                 "model (Projection(..., synapse=TripartiteSynapse()))")
            if (kind, pr.name) in linked:
                raise ValueError(f"{where}: projection {pr.name!r} has two {kind} links; give one with an index per synapse")
            linked.add((kind, pr.name))
            idx = link.astrocyte_index
            if idx.size != pr.n_synapses:
                raise ValueError(f"{where}: astrocyte_index has {idx.size} entries; projection {pr.name!r} has {pr.n_synapses} synapses (one entry each, -1 for none)")
            if idx.size and (idx.min() < -1 or idx.max() >= astro.size):
                raise ValueError(f"{where}: astrocyte index {idx[(idx < -1) | (idx >= astro.size)][0]} out of range -1..{astro.size - 1}")
            if not np.any(idx >= 0):
                raise ValueError(f"{where}: links no synapse to any astrocyte (every index is -1); drop the link or connect it")
            if isinstance(link, AstrocyteToSynapse) and link.variable not in astro.model.state_vars:
                raise ValueError(f"{where}: variable {link.variable!r} is not a state variable of {type(astro.model).__name__} ({list(astro.model.state_vars)})")

    # ------------------------------------------------------------------ queries
    def node(self, name: str) -> Node:
        """The population or source called ``name`` (``KeyError`` listing the names)."""
        for n in (*self.populations, *self.sources):
            if n.name == name:
                return n
        raise KeyError(f"no population or source named {name!r}; known: {[n.name for n in (*self.populations, *self.sources)]}")

    def population(self, name: str) -> Population:
        """The population called ``name`` (``KeyError`` listing the names)."""
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population named {name!r}; known: {[p.name for p in self.populations]}")

    @property
    def n_neurons(self) -> int:
        """Neurons of all populations (sources not counted)."""
        return sum(p.size for p in self.populations)

    @property
    def n_synapses(self) -> int:
        """Synapses of all projections."""
        return sum(p.n_synapses for p in self.projections)

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | os.PathLike) -> None:
        """Write to ``path`` (``.npz``) atomically, without pickle. Function-valued current
        injections cannot be saved (``ValueError``)."""
        arrays: dict[str, np.ndarray] = {}
        meta: dict = {"format": "neurosim.Network", "version": _FORMAT_VERSION, "max_delay_steps": int(self.max_delay_steps)}
        meta["populations"] = []
        for k, p in enumerate(self.populations):
            meta["populations"].append({"name": p.name, "kind": p.model.kind, "params": p.model.to_dict(), "size": p.size,
                                        "initial": sorted(p.initial), "per_neuron": sorted(p.params)})
            for var, val in p.initial.items():
                arrays[f"pop{k}_init_{var}"] = val
            for key, val in p.params.items():
                arrays[f"pop{k}_param_{key}"] = val
        meta["sources"] = []
        for k, s in enumerate(self.sources):
            if isinstance(s, SpikeSource):
                meta["sources"].append({"type": "spikes", "name": s.name, "size": s.size})
                arrays[f"src{k}_times"], arrays[f"src{k}_ids"] = s.times, s.ids
            else:
                meta["sources"].append({"type": "poisson", "name": s.name, "size": s.size})
                arrays[f"src{k}_rate"] = s.rate
        meta["projections"] = []
        for k, pr in enumerate(self.projections):
            syn = None if pr.synapse is None else {"kind": pr.synapse.kind, "params": pr.synapse.to_dict()}
            meta["projections"].append({"name": pr.name, "pre": pr.pre, "post": pr.post, "target": pr.target, "e_rev": pr.e_rev,
                                        "synapse": syn})
            for a in ("indptr", "indices", "weights", "delays"):
                arrays[f"proj{k}_{a}"] = getattr(pr, a)
        meta["gap_junctions"] = []
        for k, gj in enumerate(self.gap_junctions):
            meta["gap_junctions"].append({"pop_a": gj.pop_a, "pop_b": gj.pop_b})
            arrays[f"gap{k}_i"], arrays[f"gap{k}_j"], arrays[f"gap{k}_g"] = gj.i, gj.j, gj.g
        meta["inputs"] = []
        for k, inj in enumerate(self.inputs):
            if inj.kind == "function":
                raise ValueError(f"current injection #{k} into {inj.target!r} is a Python function and cannot be saved; sample it with CurrentInjection.from_array")
            meta["inputs"].append({"target": inj.target, "start": inj.start, "stop": inj.stop if math.isfinite(inj.stop) else None,
                                   "sample_dt": inj.sample_dt, "has_neurons": inj.neurons is not None, "has_values": inj.values is not None})
            arrays[f"inp{k}_amplitude"] = inj.amplitude
            if inj.neurons is not None:
                arrays[f"inp{k}_neurons"] = inj.neurons
            if inj.values is not None:
                arrays[f"inp{k}_values"] = inj.values
        meta["glia"] = []
        for k, link in enumerate(self.glia):
            if isinstance(link, AstrocyteGapJunctions):
                meta["glia"].append({"type": "gap", "astrocytes": link.astrocytes, "F": link.F, "I_Theta": link.I_Theta,
                                     "omega_I": link.omega_I})
                arrays[f"glia{k}_i"], arrays[f"glia{k}_j"] = link.i, link.j
            else:
                entry = {"type": "syn_to_astro" if isinstance(link, SynapseToAstrocyte) else "astro_to_syn",
                         "astrocytes": link.astrocytes, "projection": link.projection}
                entry.update({"normalize": bool(link.normalize)} if isinstance(link, SynapseToAstrocyte) else {"variable": link.variable})
                meta["glia"].append(entry)
                arrays[f"glia{k}_index"] = link.astrocyte_index
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        atomic_savez(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Network":
        """Read a network written by ``save``.

        Raises ``FileNotFoundError`` for a missing file and ``NetworkFileError`` (a
        ``ValueError``) naming the file and what is wrong for everything else: not an
        ``.npz`` archive, damaged compression, missing or mistyped entries, a foreign format
        or an unsupported version, or contents that fail the network's validation.
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"network file {path!r} does not exist")
        try:
            return cls._from_npz(path)
        except NetworkFileError:
            raise
        except Exception as exc:  # damaged bytes surface as zlib, zipfile, json, numpy, Key/Type errors...: one error type
            raise NetworkFileError(f"{path!r} is not a readable neurosim network file: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def _from_npz(cls, path: str) -> "Network":
        def fail(what):
            return NetworkFileError(f"{path!r} is not a readable neurosim network file: {what}")

        try:
            z = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise fail(f"not an .npz archive (corrupt or truncated?): {exc}") from exc
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise fail("a single .npy array, not an .npz archive (corrupt or truncated?)")
        with z:
            return cls._from_archive(z, fail)

    @classmethod
    def _from_archive(cls, z, fail) -> "Network":
        """The network in the open ``NpzFile`` ``z``. Every array is read lazily, only when
        the description asks for it, and only after its declared shape (from the ``.npy``
        header, before decompression) fits what the network needs; entries that are not
        part of the format are refused unread (no decompression bombs)."""
        used = {"__meta__"}

        def declared(key):
            if key not in z.files:
                return None
            with z.zip.open(key + ".npy") as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise fail(f"array {key!r} has .npy format version {version}; expected 1.0 or 2.0")
            return tuple(shape), dtype

        def arr(key, shapes=None, optional=False):
            """Array ``key`` after checking its declared shape against ``shapes`` (a list of
            allowed shapes, None entries matching any length; None: any 1-D shape)."""
            head = declared(key)
            if head is None:
                if optional:
                    return None
                raise fail(f"array {key!r} is missing")
            shape, dtype = head
            allowed = shapes if shapes is not None else [(None,)]
            if not any(len(a) == len(shape) and all(x is None or x == y for x, y in zip(a, shape)) for a in allowed):
                want = " or ".join(str(tuple("n" if x is None else x for x in a)) for a in allowed)
                raise fail(f"array {key!r} declares shape {shape}; the network needs {want} (refused before reading it)")
            used.add(key)
            return z[key]

        meta_head = declared("__meta__")
        if meta_head is None:
            raise fail("no '__meta__' entry (not written by Network.save)")
        if len(meta_head[0]) != 1 or meta_head[1] != np.uint8 or meta_head[0][0] > _MAX_META_BYTES:
            raise fail(f"'__meta__' declares {meta_head[1]} of shape {meta_head[0]}; expected at most {_MAX_META_BYTES:,} bytes")
        meta = json.loads(bytes(z["__meta__"]).decode())
        if not isinstance(meta, dict):
            raise fail(f"'__meta__' holds a JSON {type(meta).__name__}, expected an object")
        if meta.get("format") != "neurosim.Network" or meta.get("version") != _FORMAT_VERSION:
            raise fail(f"unsupported format {meta.get('format')!r} version {meta.get('version')!r} "
                       f"(this neurosim reads 'neurosim.Network' version {_FORMAT_VERSION})")

        def entries(key):
            items = meta.get(key, [] if key == "glia" else None)
            if not isinstance(items, list) or not all(isinstance(m, dict) for m in items):
                raise fail(f"meta {key!r} must be a list of objects, got {type(items).__name__}")
            return items

        def size_of(where, m):
            n = m.get("size")
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise fail(f"{where}: size = {n!r} is invalid: must be an integer >= 1")
            return n

        def same_length(*keys):
            """Read 1-D arrays that must have one length, checking it before reading any."""
            heads = [declared(k) for k in keys]
            lengths = {h[0] for h in heads if h is not None}
            if len(lengths) > 1:
                raise fail(f"arrays {list(keys)} declare shapes {sorted(lengths)}; they must have one length")
            return [arr(k) for k in keys]

        pops, sizes = [], {}
        for k, m in enumerate(entries("populations")):
            if m.get("kind") not in MODELS:
                raise fail(f"population #{k}: unknown neuron model {m.get('kind')!r}; known: {sorted(MODELS)}")
            n = size_of(f"population #{k}", m)
            init = {var: arr(f"pop{k}_init_{var}", [(), (n,)]) for var in m["initial"]}
            het = {key: arr(f"pop{k}_param_{key}", [(n,)]) for key in m.get("per_neuron", [])}
            pops.append(Population(m["name"], MODELS[m["kind"]](**m["params"]), n, init, het))
            sizes[pops[-1].name] = n
        srcs = []
        for k, m in enumerate(entries("sources")):
            n = size_of(f"source #{k}", m)
            if m.get("type") == "spikes":
                srcs.append(SpikeSource(m["name"], n, *same_length(f"src{k}_times", f"src{k}_ids")))
            elif m.get("type") == "poisson":
                srcs.append(PoissonSource(m["name"], n, arr(f"src{k}_rate", [(), (n,)])))
            else:
                raise fail(f"source #{k}: unknown type {m.get('type')!r} (spikes or poisson)")
            sizes[srcs[-1].name] = n

        def synapse(m):
            syn = m.get("synapse")
            if syn is None:
                return None
            if syn.get("kind") not in SYNAPSE_MODELS:
                raise fail(f"projection {m.get('name')!r}: unknown synapse model {syn.get('kind')!r}; known: {sorted(SYNAPSE_MODELS)}")
            return SYNAPSE_MODELS[syn["kind"]](**syn["params"])

        projs, n_syn = [], {}
        for k, m in enumerate(entries("projections")):
            if m.get("pre") not in sizes:
                raise fail(f"projection #{k}: unknown pre {m.get('pre')!r}; known: {sorted(sizes)}")
            indptr = arr(f"proj{k}_indptr", [(sizes[m["pre"]] + 1,)])
            n = int(indptr[-1])
            projs.append(Projection(m["pre"], m["post"], indptr, arr(f"proj{k}_indices", [(n,)]), arr(f"proj{k}_weights", [(n,)]),
                                    arr(f"proj{k}_delays", [(), (1,), (n,)]), m["target"], m["e_rev"], m["name"], synapse(m)))
            n_syn[projs[-1].name] = n
        glia = []
        for k, m in enumerate(entries("glia")):
            if m.get("type") == "gap":
                glia.append(AstrocyteGapJunctions(m["astrocytes"], *same_length(f"glia{k}_i", f"glia{k}_j"), m["F"], m["I_Theta"],
                                                  m["omega_I"]))
                continue
            if m.get("projection") not in n_syn:
                raise fail(f"glia #{k}: unknown projection {m.get('projection')!r}; known: {sorted(n_syn)}")
            index = arr(f"glia{k}_index", [(n_syn[m["projection"]],)])
            if m.get("type") == "syn_to_astro":
                glia.append(SynapseToAstrocyte(m["projection"], m["astrocytes"], index, m["normalize"]))
            elif m.get("type") == "astro_to_syn":
                glia.append(AstrocyteToSynapse(m["astrocytes"], m["projection"], index, m["variable"]))
            else:
                raise fail(f"glia #{k}: unknown type {m.get('type')!r} (gap, syn_to_astro or astro_to_syn)")
        gaps = []
        for k, m in enumerate(entries("gap_junctions")):
            i, j = same_length(f"gap{k}_i", f"gap{k}_j")
            gaps.append(GapJunctions(m["pop_a"], m["pop_b"], i, j, arr(f"gap{k}_g", [(), (i.size,)])))
        inps = []
        for k, m in enumerate(entries("inputs")):
            if m.get("target") not in sizes:
                raise fail(f"input #{k}: unknown target population {m.get('target')!r}; known: {sorted(sizes)}")
            neurons = arr(f"inp{k}_neurons", optional=True)
            n = sizes[m["target"]] if neurons is None else neurons.size
            stop = m["stop"]
            inps.append(CurrentInjection(m["target"], arr(f"inp{k}_amplitude", [(), (n,)]), neurons, m["start"],
                                         math.inf if stop is None else stop,
                                         arr(f"inp{k}_values", [(None,), (None, n)], optional=True), m["sample_dt"]))
        unexpected = sorted(set(z.files) - used)
        if unexpected:
            shown = ", ".join(repr(u) for u in unexpected[:5]) + (" ..." if len(unexpected) > 5 else "")
            raise fail(f"{len(unexpected)} entries that are not part of the format ({shown}); refused without reading them")
        return cls(tuple(pops), tuple(srcs), tuple(projs), tuple(gaps), tuple(inps), meta["max_delay_steps"], tuple(glia))
