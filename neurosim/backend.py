"""One interface for every hardware target: what it can express, why it cannot run a given
``Network``, how it compiles one and how it runs it.

A backend (Lava's Process/ProcessModel split, seen from the network's side) is a subclass of
``Backend`` that declares

* ``capabilities`` -- a ``Capabilities`` record: source kinds, current injections, synapse
  targets, dynamic synapses, gap junctions, glia, delay range, fan-in, one synapse per
  pair, dense-weight size and the precision of weights and state;
* its neuron models, one ``NeuronMapping`` per model ``kind`` in the backend's own registry
  (``@Backend.register_neuron(kind, as_=...)`` on the function that converts a population
  to the target's form): per-target handling of a model is found by its ``kind``, never by
  ``isinstance``;

and implements ``compile(network, duration) -> Deployment`` and ``run(deployment) ->
Results``. ``unsupported(network)`` is shared: it returns every reason (not only the first)
why the backend cannot run the network, from the capabilities, the neuron registry, each
mapping's own model-specific ``reasons`` and the backend's ``extra_reasons``; ``check``
raises them all at once.

Backends register by name with ``register_backend`` or, for an installed package, under the
``neurosim.backends`` entry-point group (how the shipped ones in ``hardware/`` are found
without the core importing them); ``backends()`` and ``get_backend(name)`` look them up.
"""
from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Callable, ClassVar

import numpy as np

from .models import MODELS
from .models.base import RESETS, check_dt
from .network import Network, Population, delay_steps
from .network.flat import MAX_DELAY_STEPS
from .results import Results

__all__ = ["Capabilities", "NeuronMapping", "Deployment", "Backend", "UnsupportedNetwork", "register_backend", "backends",
           "get_backend", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "neurosim.backends"
"""The entry-point group under which installed packages declare their backends."""

SOURCE_KINDS = {"spikes": "spike times (a SpikeSource)", "poisson": "Poisson rates (a PoissonSource)"}
INJECTION_FORMS = ("none", "constant", "any")


@dataclass(frozen=True)
class Capabilities:
    """What a target can express, beyond its neuron models (those are in its registry).

    ``sources``: source kinds it takes (``"spikes"``, ``"poisson"``); ``current_injections``:
    ``"none"``, ``"constant"`` (one constant current from 0 s, a bias or offset) or
    ``"any"``; ``synapse_targets``: projection targets (``"exc"``, ``"inh"``, ``"graded"``);
    ``dynamic_synapses``: synapse model kinds it runs (empty: static synapses only);
    ``plasticity``: learning rule kinds it runs (empty: fixed weights only);
    ``gap_junctions``, ``glia``: whether it has electrical synapses and astrocytes;
    ``max_delay_steps``: the most steps a spike may take, the one every synapse takes
    included (a delay of ``max_delay_steps - 1`` steps at the backend's ``dt``);
    ``one_synapse_per_pair``: at most one synapse between a pre and a post neuron within a
    projection; ``max_fan_in``: most synapses onto one neuron (None: no limit);
    ``max_projection_entries``: most entries of a projection's dense (n_post x n_pre)
    weights, for targets that store weights dense (None: sparse); ``resets``: the resets of
    spiking neurons it runs (``neurosim.models.base.RESETS``); ``weight_precision`` and
    ``state_precision``: the number formats, in words."""

    sources: frozenset = frozenset({"spikes", "poisson"})
    current_injections: str = "constant"
    synapse_targets: frozenset = frozenset({"exc", "inh"})
    dynamic_synapses: frozenset = frozenset()
    plasticity: frozenset = frozenset()
    gap_junctions: bool = False
    glia: bool = False
    max_delay_steps: int = MAX_DELAY_STEPS
    one_synapse_per_pair: bool = False
    max_fan_in: int | None = None
    max_projection_entries: int | None = None
    resets: frozenset = frozenset({"hard"})
    weight_precision: str = "float64"
    state_precision: str = "float64"

    def __post_init__(self):
        if self.current_injections not in INJECTION_FORMS:
            raise ValueError(f"current_injections = {self.current_injections!r} is invalid: one of {INJECTION_FORMS}")
        unknown = set(self.sources) - set(SOURCE_KINDS)
        if unknown:
            raise ValueError(f"sources: unknown kinds {sorted(unknown)}; known: {sorted(SOURCE_KINDS)}")
        if set(self.resets) - set(RESETS) or not self.resets:
            raise ValueError(f"resets = {sorted(self.resets)!r} is invalid: a non-empty set of {list(RESETS)}")
        if not (isinstance(self.max_delay_steps, int) and 1 <= self.max_delay_steps <= MAX_DELAY_STEPS):
            raise ValueError(f"max_delay_steps = {self.max_delay_steps!r} is invalid: an integer in 1..{MAX_DELAY_STEPS}")


@dataclass(frozen=True)
class NeuronMapping:
    """How one backend handles neuron model ``kind``: ``as_`` names what the target calls it
    (``"LIF process"``, ``"IF_curr_exp"``), ``convert`` turns a population into the
    target's form (its signature is the backend's own), ``reasons(population, network, dt)``
    lists what this model's parameters in this network prevent (None: nothing), and
    ``heterogeneous`` tells whether per-neuron parameters map."""

    kind: str
    as_: str
    convert: Callable
    reasons: Callable[[Population, Network, float], list] | None = None
    heterogeneous: bool = False


@dataclass
class Deployment:
    """A network compiled for a backend: ``target`` is the backend's own form (a quantised
    ``LoihiNetwork``, a SpiNNaker ``Mapping``, a PyNN script's path, a NIR graph) for a run of
    ``duration`` s at time step ``dt`` s; ``info`` what compiling found (resource counts,
    quantisation errors, table sizes)."""

    backend: str
    network: Network
    dt: float
    duration: float
    target: object
    info: dict = field(default_factory=dict)


class UnsupportedNetwork(ValueError):
    """A network a backend cannot run; ``reasons`` lists every reason."""

    reasons: list = []


class Backend(ABC):
    """Base of every hardware target (module docstring). Subclasses set ``name`` (the
    registry name, e.g. ``"loihi"``), ``title`` (for messages, e.g. ``"Loihi 2"``),
    ``capabilities`` and optionally ``error`` (the ``ValueError`` subclass ``check`` raises),
    register their neuron models with ``register_neuron`` and implement ``compile`` and
    ``run``. ``dt`` (s) is the step the backend runs at."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    error: ClassVar[type] = UnsupportedNetwork
    neurons: ClassVar[dict]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "neurons" not in cls.__dict__:
            cls.neurons = {}  # each backend its own registry

    def __init__(self, dt: float = 1e-3):
        self.dt = check_dt(dt)

    @classmethod
    def register_neuron(cls, kind: str, as_: str, reasons=None, heterogeneous: bool = False):
        """Decorator: register the decorated function as this backend's conversion of model
        ``kind`` (``NeuronMapping``). Raises ``ValueError`` if the kind is taken."""
        def register(convert):
            known = cls.neurons.get(kind)
            if known is not None and known.convert.__qualname__ != convert.__qualname__:
                raise ValueError(f"{cls.__name__}: neuron kind {kind!r} is already mapped by {known.convert.__module__}")
            cls.neurons[kind] = NeuronMapping(kind, as_, convert, reasons, heterogeneous)
            return convert
        return register

    # ------------------------------------------------------------------ what it cannot run
    def unsupported(self, network: Network) -> list[str]:
        """Every reason this backend cannot run ``network`` at its ``dt`` (empty: it can). Each
        reason names the element (population, source, projection, ...) and what is allowed."""
        caps, title, out = self.capabilities, self.title or self.name, []
        for pop in network.populations:
            out += self._population_reasons(pop, network)
        if network.gap_junctions and not caps.gap_junctions:
            out.append(f"{len(network.gap_junctions)} gap junctions: {title} has no electrical synapses")
        if network.glia and not caps.glia:
            out.append(f"{len(network.glia)} glia links: {title} has no astrocytes")
        for src in network.sources:
            if src.kind not in caps.sources:
                takes = " or ".join(SOURCE_KINDS[k] for k in sorted(caps.sources))
                out.append(f"source {src.name!r} is a {type(src).__name__}; {title} takes {takes}")
        for inj in network.inputs:
            if caps.current_injections == "none":
                out.append(f"current injection into {inj.target!r}: {title} takes no current injections")
            elif caps.current_injections == "constant" and not inj.constant:
                out.append(f"current injection into {inj.target!r}: only constant currents (start 0 s, no stop) run on {title}; "
                           "feed time-varying input as spikes")
        for pr in network.projections:
            out += self._projection_reasons(pr, network)
        if caps.max_fan_in is not None:
            out += self._fan_in_reasons(network)
        return out + self.extra_reasons(network)

    def extra_reasons(self, network: Network) -> list[str]:
        """Reasons beyond the capabilities and neuron mappings (override; default none)."""
        return []

    def check(self, network: Network) -> None:
        """Raise ``self.error`` (a ``ValueError``) listing every reason of ``unsupported``."""
        reasons = self.unsupported(network)
        if reasons:
            title = self.title or self.name
            head = f"{title} cannot run this network"
            text = f"{head}: {reasons[0]}" if len(reasons) == 1 else \
                f"{head} ({len(reasons)} reasons):\n" + "\n".join(f"  - {r}" for r in reasons)
            err = self.error(text)
            err.reasons = reasons
            raise err

    def neuron_mapping(self, population: Population) -> NeuronMapping:
        """The registered mapping of ``population``'s model kind (``KeyError`` if none)."""
        try:
            return self.neurons[population.model.kind]
        except KeyError:
            raise KeyError(f"{self.title or self.name} has no mapping for neuron kind {population.model.kind!r}") from None

    def _population_reasons(self, pop: Population, network: Network) -> list[str]:
        title, model = self.title or self.name, pop.model
        mapping = self.neurons.get(model.kind)
        if mapping is None:
            maps = ", ".join(f"{_model_name(k)} populations (as {m.as_})" for k, m in sorted(self.neurons.items())) or "no models"
            return [f"population {pop.name!r} is {type(model).__name__} (kind {model.kind!r}); {title} maps {maps}"]
        if pop.params and not mapping.heterogeneous:
            return [f"population {pop.name!r}: per-neuron parameters {sorted(pop.params)}; {title} maps homogeneous "
                    f"{type(model).__name__} populations only"]
        out = []
        reset = getattr(model, "reset", "hard")
        if model.spiking and reset not in self.capabilities.resets:
            out.append(f"population {pop.name!r}: reset = {reset!r}; {title} resets neurons "
                       + " or ".join({"hard": "to v_reset", "subtract": "by subtraction"}[r] for r in sorted(self.capabilities.resets)))
        return out + (list(mapping.reasons(pop, network, self.dt)) if mapping.reasons else [])

    def _projection_reasons(self, pr, network: Network) -> list[str]:
        caps, title, where = self.capabilities, self.title or self.name, f"projection {pr.name!r}"
        out = []
        if pr.target not in caps.synapse_targets:
            out.append(f"{where}: {pr.target} synapses have no {title} counterpart (it takes {sorted(caps.synapse_targets)})")
        if pr.synapse is not None and pr.synapse.kind not in caps.dynamic_synapses:
            out.append(f"{where}: dynamic synapses ({type(pr.synapse).__name__}) do not run on {title}"
                       + (f" (it runs {sorted(caps.dynamic_synapses)})" if caps.dynamic_synapses else "; static synapses only"))
        rule = getattr(pr, "plasticity", None)
        if rule is not None and rule.kind not in caps.plasticity:
            out.append(f"{where}: learning rule {type(rule).__name__} (kind {rule.kind!r}) does not run on {title}"
                       + (f" (it runs {sorted(caps.plasticity)})" if caps.plasticity else "; fixed weights only: deploy "
                          "Simulator.learned_network() to run the learned weights"))
        try:
            delay_steps(pr, self.dt, caps.max_delay_steps)
        except ValueError as exc:
            limit = f" ({title}'s delays are 0..{caps.max_delay_steps - 1} steps after the one-step transmission)" \
                if caps.max_delay_steps < MAX_DELAY_STEPS else ""
            out.append(f"{exc}{limit}")
        if caps.one_synapse_per_pair and pr.n_synapses:
            pair = pr.indices.astype(np.int64) * pr.n_pre + pr.pre_indices()
            if np.unique(pair).size != pair.size:
                out.append(f"{where}: more than one synapse between the same pre and post neuron; {title} holds one weight per "
                           "pair (merge them)")
        if caps.max_projection_entries is not None:
            n_post = network.node(pr.post).size
            if pr.n_pre * n_post > caps.max_projection_entries:
                out.append(f"{where}: {n_post} x {pr.n_pre} dense weights exceed {caps.max_projection_entries} entries "
                           f"({title} stores weights dense)")
        return out

    def _fan_in_reasons(self, network: Network) -> list[str]:
        out, limit = [], self.capabilities.max_fan_in
        for pop in network.populations:
            fan_in = np.zeros(pop.size, np.int64)
            for pr in network.projections:
                if pr.post == pop.name:
                    fan_in += np.bincount(pr.indices, minlength=pop.size)
            if fan_in.size and fan_in.max() > limit:
                k = int(np.argmax(fan_in))
                out.append(f"population {pop.name!r}: neuron {k} receives {int(fan_in[k])} synapses, more than the {limit} a "
                           f"neuron has on {self.title or self.name}")
        return out

    # ------------------------------------------------------------------ compile and run
    @abstractmethod
    def compile(self, network: Network, duration: float) -> Deployment:
        """``network`` in the target's form for a run of ``duration`` s (raises ``self.error``
        listing every reason it cannot, then the target's own errors)."""

    @abstractmethod
    def run(self, deployment: Deployment) -> Results:
        """Run a compiled network; the spikes of every population as the core's ``Results``
        (``Results.info``: what the target measured beyond spikes)."""

    def simulate(self, network: Network, duration: float) -> Results:
        """``compile`` then ``run``."""
        return self.run(self.compile(network, duration))


def _model_name(kind: str) -> str:
    cls = MODELS.get(kind)
    return f"homogeneous {cls.__name__}" if cls is not None else f"kind {kind!r}"


# ---------------------------------------------------------------------------- registry
_BACKENDS: dict[str, type] = {}
_entry_points_loaded = False


def register_backend(cls):
    """Class decorator: register backend ``cls`` under its ``name``. Raises ``ValueError`` for
    a nameless class or a name another class holds."""
    if not (isinstance(cls, type) and issubclass(cls, Backend)) or not cls.name:
        raise ValueError(f"register_backend: {cls!r} is not a Backend subclass with a name")
    known = _BACKENDS.get(cls.name)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise ValueError(f"backend name {cls.name!r} is already taken by {known.__module__}.{known.__qualname__}")
    _BACKENDS[cls.name] = cls
    return cls


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register_backend(ep.load())
        except Exception as exc:  # a broken plug-in must not hide the others
            warnings.warn(f"backend {ep.name!r} ({ep.value}) could not be loaded: {exc}", RuntimeWarning, stacklevel=3)


def backends() -> dict[str, type]:
    """Every registered backend class by name (the installed ones included), sorted."""
    _load_entry_points()
    return dict(sorted(_BACKENDS.items()))


def get_backend(name: str) -> type:
    """The backend class registered as ``name``. Raises ``KeyError`` listing the known names."""
    found = backends()
    if name not in found:
        raise KeyError(f"no backend named {name!r}; registered: {sorted(found)}")
    return found[name]
