"""The elements of a ``Network``: populations of neurons, spike sources, projections
(CSR synapses), gap junctions and current injections, each a frozen dataclass validated on
construction; and ``spike_steps``, how every engine bins spike times."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar, Union

import numpy as np

from ..models import MODELS, SYNAPSE_MODELS, NeuronModel, SynapseModel
from ..models.plasticity import PLASTICITY_RULES, PlasticityRule
from .validation import check_name, check_size, float_array, int_array

__all__ = ["TARGETS", "spike_steps", "Population", "SpikeSource", "PoissonSource", "Projection", "GapJunctions", "Node"]

TARGETS = ("exc", "inh", "graded")
"""Projection targets: excitatory current, inhibitory current, graded conductance."""


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
        object.__setattr__(self, "size", check_size("population", self.name, self.size))
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
            arr = float_array(f"population {self.name!r}", f"initial[{var!r}]", value)
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
            arr = float_array(where, f"params[{key!r}]", value)
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

    kind: ClassVar[str] = "spikes"
    name: str
    size: int
    times: np.ndarray
    ids: np.ndarray

    def __post_init__(self):
        check_name("source", self.name)
        object.__setattr__(self, "size", check_size("source", self.name, self.size))
        where = f"spike source {self.name!r}"
        times = float_array(where, "times", self.times).ravel()
        ids = int_array(where, "ids", self.ids).ravel()
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

    kind: ClassVar[str] = "poisson"
    name: str
    size: int
    rate: Union[float, np.ndarray]

    def __post_init__(self):
        check_name("source", self.name)
        object.__setattr__(self, "size", check_size("source", self.name, self.size))
        rate = float_array(f"Poisson source {self.name!r}", "rate", self.rate)
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
    ``weights`` (n_syn,), ``delays`` (n_syn,) in seconds, >= 0 (or one value for all;
    default 0). ``target``: ``"exc"``/``"inh"`` add the weight (A) to the
    excitatory/inhibitory synaptic current of a spiking neuron when a spike arrives;
    ``"graded"`` makes a continuous graded synapse of conductance ``weight`` (S) and reversal
    potential ``e_rev`` (V) between graded neurons (delays are ignored).

    A delay is the time a spike spends in transit beyond the one step every synapse takes
    (Brian2's and NIR's convention): emitted in step ``n``, it acts in step ``n + 1 +
    delay / dt`` (``neurosim.network.flat.delay_steps``). The ``Network`` has no time step;
    an engine refuses a delay that is not a whole number of its steps. Equal delays are held
    as one value (a read-only broadcast view).

    ``synapse``: a dynamic synapse model (``neurosim.models.TripartiteSynapse``) whose
    per-synapse state scales each delivered weight by the fraction it releases; ``None``
    (default) for static synapses.

    ``plasticity``: a learning rule (``neurosim.plasticity``: ``PairSTDP``, ``TripletSTDP``,
    ``RewardSTDP``) that changes the weights while a simulation runs; ``None`` (default) for
    fixed weights. A plastic projection has one delay for all its synapses (a presynaptic
    neuron's trace is shared by its synapses), spiking pre and post neurons, static
    synapses, and weights within the rule's ``[w_min, w_max]``.

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
    plasticity: PlasticityRule | None = None

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
        indptr = int_array(where, "indptr", self.indptr).ravel()
        indices = int_array(where, "indices", self.indices).ravel()
        weights = np.asarray(self.weights)
        weights = float_array(where, "weights", weights, np.float32 if weights.dtype == np.float32 else np.float64).ravel()
        n_syn = indices.size
        if indptr.size < 2 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != n_syn:
            raise ValueError(
                f"{where}: indptr must start at 0, never decrease and end at len(indices) = {n_syn}"
            )
        if weights.size != n_syn:
            raise ValueError(f"{where}: weights has {weights.size} entries but indices has {n_syn}; they must match")
        if self.target == "graded" and np.any(weights < 0):
            raise ValueError(f"{where}: graded conductances must be >= 0 S, got {weights.min()}")
        delays = float_array(where, "delays (s)", self.delays)
        if delays.ndim == 0 or delays.size == 1:
            delays = np.broadcast_to(np.float64(delays.ravel()[0] if delays.size else 0.0), (n_syn,))
        delays = delays.ravel()
        if delays.size != n_syn:
            raise ValueError(f"{where}: delays has {delays.size} entries but indices has {n_syn}; they must match")
        if n_syn and delays.min() < 0:
            raise ValueError(f"{where}: delays must be >= 0 s, got {delays.min()} (0: the spike acts in the next step)")
        object.__setattr__(self, "indptr", indptr)
        object.__setattr__(self, "indices", indices.astype(np.int32) if (n_syn == 0 or indices.max() < 2**31) else indices)
        object.__setattr__(self, "weights", weights)
        if n_syn and delays.strides != (0,) and np.all(delays == delays[0]):
            delays = np.broadcast_to(np.float64(delays[0]), (n_syn,))  # one value, not one per synapse
        object.__setattr__(self, "delays", delays)
        if self.plasticity is not None:
            self._check_plastic(where)

    def _check_plastic(self, where: str) -> None:
        rule = self.plasticity
        if not isinstance(rule, PlasticityRule):
            raise ValueError(f"{where}: plasticity must be a learning rule ({sorted(PLASTICITY_RULES)}) or None, "
                             f"got {type(rule).__name__}")
        if self.target == "graded":
            raise ValueError(f"{where}: a learning rule ({type(rule).__name__}) needs spiking synapses (target 'exc' or "
                             "'inh'); graded synapses carry no spikes")
        if self.synapse is not None:
            raise ValueError(f"{where}: a projection is either dynamic (synapse={type(self.synapse).__name__}) or plastic "
                             f"(plasticity={type(rule).__name__}), not both")
        if self.n_synapses and self.delays.strides != (0,):
            raise ValueError(f"{where}: a plastic projection takes one delay for all its synapses (each presynaptic neuron's "
                             f"trace is shared by its synapses); got delays from {self.delays.min():g} to {self.delays.max():g} "
                             "s: split it into one projection per delay")
        rule.check_projection(self, where)
        w = self.weights
        if w.size and (w.min() < rule.w_min or w.max() > rule.w_max):
            bad = w[(w < rule.w_min) | (w > rule.w_max)][0]
            raise ValueError(f"{where}: weight {bad:g} is outside the learning rule's bounds [w_min, w_max] = "
                             f"[{rule.w_min:g}, {rule.w_max:g}]")

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
    def from_pairs(cls, pre: str, post: str, i, j, weights, n_pre: int, delays=0.0, target="exc", e_rev=None, name="",
                   synapse=None, plasticity=None):
        """From synapse lists: presynaptic ``i`` (n_syn,), postsynaptic ``j`` (n_syn,),
        ``weights`` (scalar or (n_syn,)), ``delays`` in s (scalar or (n_syn,)). The
        synapses are stored sorted by (i, j): arrays over synapses (astrocyte links) follow
        that order."""
        where = f"projection {name or f'{pre}->{post}:{target}'}"
        i = int_array(where, "i", i).ravel()
        j = int_array(where, "j", j).ravel()
        if i.shape != j.shape:
            raise ValueError(f"{where}: i has {i.size} entries but j has {j.size}; they must match")
        n_pre = check_size("projection", where, n_pre)
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
        return cls(pre, post, indptr, j[order], w[order], d[order], target, e_rev, name, synapse, plasticity)

    @classmethod
    def from_dense(cls, pre: str, post: str, w, delays=0.0, target="exc", e_rev=None, name="", synapse=None, plasticity=None):
        """From a dense matrix ``w`` of shape (n_pre, n_post); zeros mean no synapse.
        ``delays``: scalar or (n_pre, n_post) in s. Raises ``ValueError`` for other
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
        return cls.from_pairs(pre, post, i, j, w[i, j], w.shape[0], d, target, e_rev, name, synapse, plasticity)


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
        i = int_array(where, "i", self.i).ravel()
        j = int_array(where, "j", self.j).ravel()
        g = float_array(where, "g", self.g)
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




#: What a projection may connect: a population or a spike source.
Node = Union[Population, SpikeSource, PoissonSource]
