"""Neuron parameters between neurosim and NIR, under a stated discretisation.

NIR describes neurons as continuous-time ODEs (Pedersen et al. 2024, Nat. Commun. 15:8122,
Table 1)::

    CubaLIF:  tau_syn dI/dt = -I + w_in S,    tau_mem dv/dt = (v_leak - v) + r I
    LIF:      tau dv/dt = (v_leak - v) + r I
    LI:       tau dv/dt = (v_leak - v) + r I          (no threshold)
    CubaLI:   the CubaLIF equations without threshold
    IF:       dv/dt = r I                              (no leak)
    I:        dv/dt = r I                              (no leak, no threshold)

with a spike and a reset to ``v_reset`` when ``v > v_threshold``; ``S`` is the incoming spike
train (weighted Dirac impulses), ``I`` of ``LIF``/``LI`` the input current.

Each consumer discretises these equations itself, so neurosim writes and reads them under
one of two discretisations:

* ``euler_dt=None`` (**exact**): the equations as they are, which neurosim integrates with
  the exact propagator of ``models.CubaLIF``. One neurosim step of length ``dt`` takes the
  step's input as an impulse at its start (``CubaLIF``) or as a current held over it
  (``LIF``, ``LI``), and reports the membrane and any spike at its end.
* ``euler_dt=h`` (**forward Euler**): parameters chosen so that one forward-Euler step of
  length ``h``, in the order snnTorch and Norse step (synaptic current first, then the
  membrane with the new current, then threshold and reset), reproduces one neurosim step
  exactly: ``tau = h / (1 - a)`` for each per-step decay ``a = exp(-dt/tau_neurosim)``.
  The graph then runs one consumer step per neurosim step, whatever ``dt`` was: snnTorch's
  importer always steps ``h = 1e-4`` s (``SNNTORCH_DT``), Norse steps the ``dt`` given to
  ``norse.torch.from_nir``.

In the torch layers voltages are normalised (rest 0, threshold 1) and inputs are in units
of ``(v_th - v_rest)/R``; the layers' NIR nodes are written in those units (``v_leak = 0``,
``v_threshold = 1``), with neurosim's own SI parameters in the node's ``metadata``, from
which a neurosim reader restores them exactly (only when they still agree with the node's
NIR parameters). NIR has no refractory period: a layer that holds its membrane after a
spike (``t_ref >= 1.5 dt``) cannot be written.

``IF`` (and ``I``) is read **per step**, under either discretisation: each step's input ``I`` moves the
membrane by ``r I`` (not ``r I dt``), as every tool chain that writes or reads the node does
(Sinabs's ``IAF``, Norse's ``IAFCell``, Lava's LIF with ``du = 1, dv = 0``): the graphs they
write hold weights for it (the NIR paper's ``cnn_sinabs.nir``: weights of order 0.1 and a
threshold of 1). neurosim's ``IF`` layers are written the same way (``r = 1``,
``v_threshold = 1``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace

import nir
import numpy as np

from neurosim import models
from neurosim.models.lif import exp_kernel_gain
from neurosim.nn.functional import coefficients

__all__ = ["SNNTORCH_DT", "NIRConversionError", "NeuronSpec", "layer_to_nir", "neuron_from_nir", "check_euler_dt"]

SNNTORCH_DT = 1e-4
"""The step (s) at which ``snntorch.import_from_nir`` Euler-integrates every graph."""

NEURON_NODES = (nir.CubaLIF, nir.LIF, nir.LI, nir.CubaLI, nir.IF, nir.I)


class NIRConversionError(ValueError):
    """A graph or node that cannot be converted: names the node and says why."""


def check_euler_dt(euler_dt) -> float | None:
    """``None`` (exact) or a finite step > 0 in seconds."""
    if euler_dt is None:
        return None
    if isinstance(euler_dt, bool) or not isinstance(euler_dt, (int, float)) or not math.isfinite(euler_dt) or euler_dt <= 0:
        raise ValueError(f"euler_dt = {euler_dt!r} is invalid: use None (exact discretisation) or a step > 0 in seconds")
    return float(euler_dt)


def meta_str(meta: dict, key: str, default=None):
    """A string from NIR metadata (h5py gives bytes or numpy strings back)."""
    v = meta.get(key, default)
    return v.decode() if isinstance(v, bytes) else (str(v) if isinstance(v, np.str_) else v)


def same_parameters(node, ref, fields, rtol: float) -> bool:
    """Whether ``node``'s NIR parameters ``fields`` still are those neurosim wrote
    (``ref``): an edited graph no longer trusts neurosim's metadata."""
    return all(np.allclose(np.asarray(getattr(node, f), np.float64), np.asarray(getattr(ref, f), np.float64),
                           rtol=rtol, atol=0.0) for f in fields)  # equal infinities count as close


def _euler_tau(h: float, decay: float) -> float:
    return h / (1.0 - decay)


def layer_to_nir(kind: str, neuron, dt: float, shape: tuple, euler_dt: float | None, where: str):
    """The NIR node of a neurosim torch neuron layer: ``kind`` is ``"CubaLIF"``, ``"LIF"``,
    ``"IF"`` (per step, module docstring), ``"I"`` (the IF membrane without threshold, an ``LI``
    layer of an ``IF`` model), ``"LI"`` (synaptic readout, written as a
    ``CubaLIF`` whose threshold is +inf, which snnTorch and Norse import; neither reads
    ``CubaLI``) or ``"LIBox"`` (``LI`` without synaptic filter, written as ``LI``). Parameters are arrays of ``shape`` (the layer's
    output shape without time and batch axes). Raises ``NIRConversionError`` for a
    refractory period NIR cannot express."""
    synaptic = kind in ("CubaLIF", "LI")
    co = coefficients(neuron, dt, synaptic)
    if co.subtract:
        raise NIRConversionError(f"{where}: reset = 'subtract'; NIR's neurons reset to v_reset (a reader chooses subtraction "
                                 "itself, e.g. norse's from_nir(reset_method=reset_subtract) or neurosim's from_nir(reset='subtract'))")
    if co.ref_steps > 1:
        raise NIRConversionError(f"{where}: t_ref = {neuron.t_ref} s holds the membrane for {co.ref_steps - 1} step(s) after a "
                                 f"spike; NIR has no refractory period (use t_ref < 1.5 dt = {1.5 * dt} s)")
    h = euler_dt
    full = lambda v: np.full(shape, v, dtype=np.float64)  # noqa: E731
    meta = {"neurosim_layer": kind, "neurosim_neuron": json.dumps(neuron.to_dict()), "neurosim_dt": float(dt),
            "neurosim_euler_dt": 0.0 if h is None else float(h), "neurosim_neuron_kind": neuron.kind}
    if kind == "IF":
        return nir.IF(r=full(1.0), v_threshold=full(1.0), v_reset=full(co.u_reset), metadata=meta)
    if kind == "I":
        return nir.I(r=full(1.0), metadata=meta)
    v_th = 1.0 if kind in ("CubaLIF", "LIF") else math.inf
    if synaptic:
        if h is None:
            tau_syn, tau_mem, r, w_in = neuron.tau_syn_e, neuron.tau_mem, 1.0, neuron.tau_syn_e
        else:
            tau_syn, tau_mem = _euler_tau(h, co.a_e), _euler_tau(h, co.a_m)
            r, w_in = tau_mem / h, co.k * tau_syn / h
        return nir.CubaLIF(tau_syn=full(tau_syn), tau_mem=full(tau_mem), r=full(r), v_leak=full(0.0),
                           v_threshold=full(v_th), v_reset=full(co.u_reset), w_in=full(w_in), metadata=meta)
    tau = neuron.tau_mem if h is None else _euler_tau(h, co.a_m)
    if kind == "LIF":
        return nir.LIF(tau=full(tau), r=full(1.0), v_leak=full(0.0), v_threshold=full(1.0), v_reset=full(co.u_reset),
                       metadata=meta)
    return nir.LI(tau=full(tau), r=full(1.0), v_leak=full(0.0), metadata=meta)


@dataclass(frozen=True)
class NeuronSpec:
    """A NIR neuron node read for neurosim: the layer ``kind`` (``"CubaLIF"``, ``"LIF"``,
    ``"LI"``, ``"LIBox"``), the ``neuron`` model, the step ``dt`` (s) it runs at, and
    ``gain``: what each neuron's input (NIR's ``S`` or ``I``) must be multiplied by to be
    the torch layer's normalised input (array broadcastable to the node's shape; exactly 1
    for nodes neurosim wrote)."""

    kind: str
    neuron: models.NeuronModel
    dt: float
    gain: np.ndarray

    @property
    def amperes_per_unit(self) -> float:
        """One normalised input unit in amperes, ``(v_th - v_rest) / R`` (core Networks)."""
        n = self.neuron
        return (n.v_th - n.v_rest) * n.c_mem / n.tau_mem


def _arrays(node) -> dict:
    names = {nir.CubaLIF: ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
             nir.LIF: ("tau", "r", "v_leak", "v_threshold", "v_reset"), nir.LI: ("tau", "r", "v_leak"),
             nir.CubaLI: ("tau_syn", "tau_mem", "r", "v_leak", "w_in"), nir.IF: ("r", "v_threshold", "v_reset"),
             nir.I: ("r",)}[type(node)]
    return {k: np.asarray(getattr(node, k), dtype=np.float64) for k in names}


def _from_metadata(node, where: str):
    """The neurosim spec stored in ``node.metadata``, or None when absent or when the
    node's NIR parameters no longer agree with it (an edited graph)."""
    meta = node.metadata or {}
    if "neurosim_neuron" not in meta:
        return None
    try:
        kind = str(meta_str(meta, "neurosim_layer"))
        model = models.MODELS[str(meta_str(meta, "neurosim_neuron_kind", "cuba_lif"))]
        neuron = model(**json.loads(meta_str(meta, "neurosim_neuron")))
        dt, h = float(meta["neurosim_dt"]), float(meta["neurosim_euler_dt"])
        written = layer_to_nir(kind, neuron, dt, (1,), h or None, where)
    except (KeyError, ValueError, TypeError):
        return None
    if type(written) is not type(node) or not same_parameters(node, written, _arrays(node), rtol=1e-9):
        return None
    return NeuronSpec(kind, neuron, dt, np.ones(1))


def _uniform(where: str, name: str, values: np.ndarray) -> float:
    flat = np.unique(values)
    if flat.size != 1:
        raise NIRConversionError(f"{where}: {name} differs between neurons ({flat.size} values from {flat.min()} to {flat.max()}); "
                                 "a neurosim layer or population has one value per layer")
    return float(flat[0])


def neuron_from_nir(node, where: str, dt: float | None, euler_dt: float | None, rest_above_threshold: bool = False,
                    reset: str = "hard") -> NeuronSpec:
    """Read a NIR neuron node (``CubaLIF``, ``LIF``, ``LI``, ``CubaLI``; ``IF`` per step) under the exact
    discretisation at step ``dt`` (s) or forward Euler at step ``euler_dt`` (the module
    docstring). Time constants and the reset level must be the same for all neurons of
    the node; ``r``, ``w_in``, ``v_leak`` and ``v_threshold`` may differ (they only scale
    each neuron's input, see ``NeuronSpec.gain``). Raises ``NIRConversionError`` naming the
    node for other node types, heterogeneous time constants or IF reset levels, thresholds
    not above ``v_leak`` (allowed with ``rest_above_threshold`` for core populations,
    which count the membrane in volts: a tonically firing neuron such as CUBA's), or time
    constants no longer than the Euler step. ``reset``: how the graph's spiking neurons reset,
    ``"hard"`` (to ``v_reset``, NIR's definition) or ``"subtract"`` (by ``v_threshold -
    v_reset``, as the graph's writer may have meant: snnTorch's default ``reset_mechanism``;
    the reader chooses, as with Norse's ``reset_method``)."""
    if reset not in models.base.RESETS:
        raise ValueError(f"reset = {reset!r} is invalid: one of {list(models.base.RESETS)}")
    spec = _from_metadata(node, where)
    if spec is not None:  # neurosim's own node: its step, discretisation rule and reset
        return spec
    if isinstance(node, nir.IF):
        spec = _integrate_fire_from_nir(node, where, dt, euler_dt)
        return replace(spec, neuron=spec.neuron.replace(reset=reset))
    if isinstance(node, nir.I):  # an integrator: the IF membrane without threshold, read per step as IF is
        step = euler_dt if euler_dt is not None else dt
        if step is None:
            raise NIRConversionError(f"{where}: give the step the graph runs at (dt or euler_dt): an I node moves once per step")
        return NeuronSpec("I", models.IF(v_rest=0.0, v_th=1.0, v_reset=0.0, t_ref=0.0), float(step), _arrays(node)["r"])
    if not isinstance(node, NEURON_NODES):
        raise NIRConversionError(f"{where}: {type(node).__name__} is not a neuron node")
    if euler_dt is None and dt is None:
        raise NIRConversionError(f"{where}: give the step: dt (exact discretisation) or euler_dt (forward Euler; snnTorch "
                                 f"graphs: {SNNTORCH_DT}, Norse graphs: the dt given to norse's to_nir)")
    a = _arrays(node)
    h = euler_dt
    step = h if h is not None else float(dt)
    synaptic = isinstance(node, (nir.CubaLIF, nir.CubaLI))
    tau_names = ("tau_syn", "tau_mem") if synaptic else ("tau",)
    taus = {}
    for name in tau_names:
        tau = _uniform(where, name, a[name])
        if not (math.isfinite(tau) and tau > 0):
            raise NIRConversionError(f"{where}: {name} = {tau} is invalid: must be a finite time constant > 0 s")
        if h is not None:
            if tau <= h:
                raise NIRConversionError(f"{where}: {name} = {tau} s is not longer than the Euler step {h} s: its forward-Euler "
                                         "decay is not in (0, 1) and matches no exponential decay")
            tau = -h / math.log1p(-h / tau)
        taus[name] = tau
    tau_mem = taus["tau_mem" if synaptic else "tau"]
    tau_syn = taus.get("tau_syn", tau_mem)
    thresholded = isinstance(node, (nir.CubaLIF, nir.LIF))
    v_leak, r = a["v_leak"], a["r"]
    if thresholded and not np.all(np.isinf(a["v_threshold"])):
        if np.any(np.isinf(a["v_threshold"])):
            raise NIRConversionError(f"{where}: v_threshold is infinite for some neurons only")
        scale = a["v_threshold"] - v_leak
        if np.any(scale == 0) or (np.any(scale < 0) and not (rest_above_threshold and np.all(scale < 0))):
            raise NIRConversionError(f"{where}: v_threshold must lie above v_leak for every neuron (the torch layers count "
                                     "the membrane from rest to threshold)")
        u_reset = _uniform(where, "(v_reset - v_leak) / (v_threshold - v_leak)", (a["v_reset"] - v_leak) / scale)
        if np.any((a["v_reset"] >= a["v_threshold"])):
            raise NIRConversionError(f"{where}: v_reset must lie below v_threshold")
        kind = "CubaLIF" if synaptic else "LIF"
    else:  # a readout: membrane in NIR's units above v_leak
        scale, u_reset, kind = np.ones_like(v_leak), 0.0, ("LI" if synaptic else "LIBox")
    if not np.all(np.isfinite(r)) or not np.all(np.isfinite(scale)):
        raise NIRConversionError(f"{where}: r, v_leak and v_threshold must be finite")
    uni = lambda x: float(np.unique(x)[0]) if np.unique(x).size == 1 else None  # noqa: E731
    vl, vs = uni(v_leak), uni(scale)
    v_rest, v_th = (vl, vl + vs) if vl is not None and vs is not None else (0.0, 1.0)
    r_uniform = uni(r)
    # R = r when NIR's r is one resistance (ohm), so that core weights come back in NIR's units
    c_mem = tau_mem / r_uniform if h is None and r_uniform is not None and r_uniform > 0 else models.CubaLIF.c_mem
    neuron = models.CubaLIF(tau_mem=tau_mem, tau_syn_e=tau_syn, tau_syn_i=tau_syn, v_rest=v_rest, v_th=v_th,
                            v_reset=v_rest + u_reset * (v_th - v_rest), t_ref=0.0, c_mem=c_mem)
    if synaptic:
        jump = a["w_in"] / a["tau_syn"] if h is None else (h / a["tau_syn"]) * a["w_in"]
        if h is None:
            gain = jump * r / scale
        else:
            k = exp_kernel_gain(h, tau_mem, tau_syn)
            gain = jump * (h / a["tau_mem"]) * r / (scale * k)
    else:
        gain = r / scale
    return NeuronSpec(kind, neuron.replace(reset=reset) if kind in ("CubaLIF", "LIF") else neuron, step, gain)


def _integrate_fire_from_nir(node, where: str, dt: float | None, euler_dt: float | None) -> NeuronSpec:
    """A NIR ``IF`` node read per step (module docstring): the membrane counts from 0 to
    ``v_threshold`` (``v_threshold > 0`` may differ between neurons, it scales their input),
    the reset level relative to it must be the same for all."""
    step = euler_dt if euler_dt is not None else dt
    if step is None:
        raise NIRConversionError(f"{where}: give the step the graph runs at (dt or euler_dt): an IF node moves once per step")
    a = _arrays(node)
    if not all(np.all(np.isfinite(v)) for v in a.values()) or np.any(a["v_threshold"] <= 0):
        raise NIRConversionError(f"{where}: r, v_threshold and v_reset must be finite and v_threshold > 0 (the membrane starts "
                                 "at 0)")
    u_reset = _uniform(where, "v_reset / v_threshold", a["v_reset"] / a["v_threshold"])
    if u_reset >= 1:
        raise NIRConversionError(f"{where}: v_reset must lie below v_threshold")
    neuron = models.IF(v_rest=0.0, v_th=1.0, v_reset=u_reset, t_ref=0.0)
    return NeuronSpec("IF", neuron, float(step), a["r"] / a["v_threshold"])
