"""Shared machinery of the model definitions: validation and the coefficient record.

A model is *what* a neuron is: a frozen dataclass of parameters in SI units whose
``discretize(dt)`` returns the per-step coefficients every engine consumes (the Numba
kernels, the PyTorch layers, the fixed-point mappings). *How* an engine runs it lives
elsewhere.
"""
from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

__all__ = ["ParameterModel", "NeuronModel", "MODELS", "register_model", "check_finite", "check_positive", "check_nonnegative", "check_dt",
           "choice", "RESETS"]


def _fail(model: str, field: str, value, allowed: str) -> None:
    raise ValueError(f"{model}.{field} = {value!r} is invalid: {allowed}")


def check_finite(model: str, field: str, value) -> None:
    """Raise ``ValueError`` naming ``field`` unless every value is a finite real number."""
    arr = np.asarray(value, dtype=float) if _is_number_like(value) else None
    if arr is None or not np.all(np.isfinite(arr)):
        _fail(model, field, value, "must be a finite real number")


def check_positive(model: str, field: str, value) -> None:
    """Raise ``ValueError`` naming ``field`` unless every value is finite and > 0."""
    check_finite(model, field, value)
    if not np.all(np.asarray(value, dtype=float) > 0):
        _fail(model, field, value, "must be > 0")


def check_nonnegative(model: str, field: str, value) -> None:
    """Raise ``ValueError`` naming ``field`` unless every value is finite and >= 0."""
    check_finite(model, field, value)
    if not np.all(np.asarray(value, dtype=float) >= 0):
        _fail(model, field, value, "must be >= 0")


def check_dt(dt) -> float:
    """Validate a time step in seconds and return it as a float."""
    if not _is_number_like(dt) or np.ndim(dt) != 0 or not math.isfinite(float(dt)) or float(dt) <= 0:
        raise ValueError(f"dt = {dt!r} is invalid: must be a finite time step > 0 in seconds")
    return float(dt)


def _is_number_like(value) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    try:
        arr = np.asarray(value)
    except Exception:
        return False
    return arr.dtype.kind in "iuf"


def choice(default: str, *allowed: str):
    """A dataclass field holding one of the strings ``allowed`` (default ``default``): a
    model's discrete option, such as its reset (``RESETS``), next to its numeric parameters."""
    if default not in allowed:
        raise ValueError(f"choice: default {default!r} is not one of {allowed}")
    return dataclasses.field(default=default, metadata={"choices": tuple(allowed)})


RESETS = ("hard", "subtract")
"""How a spiking neuron resets: ``"hard"``, to ``v_reset``; ``"subtract"``, down by
``v_th - v_reset`` (a "soft" reset: what the membrane had above the threshold is kept;
snnTorch's ``reset_mechanism="subtract"``, Norse's ``reset_subtract``)."""


class ParameterModel:
    """What every model definition shares (a mix-in for frozen dataclasses of SI
    parameters): scalar, finite parameters checked on construction (and options declared
    with ``choice``, checked against their allowed values; then the subclass's
    ``_validate``), ``replace`` and ``to_dict``."""

    _scope: ClassVar[str] = "population"  # what one parameter value applies to, for errors

    def __post_init__(self):
        name = type(self).__name__
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            allowed = f.metadata.get("choices")
            if allowed is not None:
                if not isinstance(value, str) or value not in allowed:
                    _fail(name, f.name, value, f"must be one of {list(allowed)}")
                continue
            check_finite(name, f.name, value)
            if np.ndim(value) != 0:
                _fail(name, f.name, value, f"must be a scalar (one value for the whole {self._scope})")
        self._validate()

    def _validate(self) -> None:  # pragma: no cover - overridden
        pass

    def replace(self, **changes):
        """A copy with some parameters changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        """Parameters as plain floats, options as strings (for saving without pickle)."""
        return {f.name: getattr(self, f.name) if "choices" in f.metadata else float(getattr(self, f.name))
                for f in dataclasses.fields(self)}


class NeuronModel(ParameterModel):
    """Base of all neuron models (a mix-in for frozen dataclasses).

    Subclasses set:

    * ``kind`` -- the engine's name for the model (``"cuba_lif"``, ``"izhikevich"``, ...);
    * ``spiking`` -- whether the model emits spikes;
    * ``state_vars`` -- names of the per-neuron state variables (SI units);
    * ``units`` -- the unit of every state variable;
    * ``synaptic_vars`` -- the state variables that spikes arriving through ``"exc"`` and
      ``"inh"`` projections add to (default ``("i_e", "i_i")``);
    * ``synaptic_targets`` -- the projection targets it accepts (one per ``synaptic_vars``);
    * ``glial`` -- an astrocyte model: its events do not drive projections, it links to
      synapses through the ``Network``'s glia links instead (default ``False``);

    and implement ``_validate()``, ``initial_state()`` and ``discretize(dt)``.
    """

    kind: ClassVar[str] = ""
    spiking: ClassVar[bool] = True
    state_vars: ClassVar[tuple[str, ...]] = ()
    units: ClassVar[dict[str, str]] = {}
    synaptic_vars: ClassVar[tuple[str, ...]] = ("i_e", "i_i")
    synaptic_targets: ClassVar[tuple[str, ...]] = ("exc", "inh")
    glial: ClassVar[bool] = False

    def initial_state(self) -> dict[str, float]:
        """Resting values of every state variable."""
        raise NotImplementedError

    def discretize(self, dt: float) -> dict[str, float]:
        """Per-step coefficients for time step ``dt`` (s)."""
        raise NotImplementedError


MODELS: dict[str, type] = {}
"""Neuron model classes by their engine name (``kind``), filled by ``register_model``: what
``Network.load`` reads a saved population's model from and every backend's ``unsupported``
names."""


def register_kind(cls, base: type, registry: dict, noun: str, decorator: str):
    """Register ``cls`` (a ``base`` subclass with a ``kind``) in ``registry`` by its kind.
    Registering the same class twice is harmless; another class under a kind already taken
    raises ``ValueError`` naming both (``noun``: what is registered, for the messages)."""
    if not (isinstance(cls, type) and issubclass(cls, base)) or not cls.kind:
        raise ValueError(f"{decorator}: {cls!r} is not a {base.__name__} subclass with a kind")
    known = registry.get(cls.kind)
    if known is not None and known is not cls and known.__qualname__ != cls.__qualname__:
        raise ValueError(f"{noun} kind {cls.kind!r} is already registered by {known.__module__}.{known.__qualname__}")
    registry[cls.kind] = cls
    return cls


def register_model(cls):
    """Class decorator: register neuron model ``cls`` (a ``NeuronModel`` subclass with a
    ``kind``) by its kind, so that saved networks that use it load again. Put it above
    ``@dataclass``. Registering the same class twice is harmless; another class under a kind
    already taken raises ``ValueError`` naming both."""
    return register_kind(cls, NeuronModel, MODELS, "neuron model", "register_model")
