"""The connectome-constrained whole-worm network (Kunert, Shlizerman & Kutz 2014).

302 graded neurons (``neurosim.GradedNeuron``) coupled by graded chemical synapses and gap
junctions whose conductances are the connectome's counts times a unit conductance::

    C dV_i/dt = -G_c (V_i - E_c) - sum_j g_gap A^gap_ij (V_i - V_j)
                - sum_j g_syn A^chem_ji s_j (V_i - E_j) + I_ext,i
    ds_i/dt   = a_r phi(V_i) (1 - s_i) - a_d s_i,   phi(V) = 1 / (1 + exp(-beta (V - V_th,i)))

(Kunert et al. 2014, SIAM J. Appl. Dyn. Syst. 13:1042, eqs. 2.1-2.5). Defaults are theirs:
C = 1 pF, G_c = 10 pS, E_c = -35 mV, g_gap = g_syn = 100 pS, a_r = 1 /s, a_d = 5 /s,
beta = 0.125 /mV, E_exc = 0 mV, E_inh = -48 mV. Synapse signs come from the presynaptic
neuron's transmitter (``connectomes.transmitters``: GABAergic neurons inhibitory). As in
Kunert et al., each neuron's sigmoid midpoint ``V_th,i`` is its equilibrium potential: the
solution of the linear system with every activation at ``s_eq = a_r / (a_r + 2 a_d)``, so
that the unstimulated network rests at that equilibrium.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

import connectomes
from neurosim import CurrentInjection, GapJunctions, GradedNeuron, Network, Population, Projection

__all__ = ["KUNERT2014", "build_worm", "worm_parameters", "equilibrium", "input_conductance", "stimulate", "touch",
           "TOUCH_NEURONS", "TRANSMITTER_CLASSES", "transmitter_classes", "load_worm_params", "FITTED_PARAMS"]

KUNERT2014 = dict(c_mem=1e-12, g_leak=10e-12, e_leak=-35e-3, a_r=1.0, a_d=5.0, beta=125.0,
                  g_gap=100e-12, g_syn=100e-12, e_exc=0.0, e_inh=-48e-3)
"""Kunert et al. (2014) parameters in SI units (F, S, V, 1/s, 1/V)."""

TOUCH_NEURONS = {"anterior": ("ALML", "ALMR", "AVM"), "posterior": ("PLML", "PLMR")}
"""Gentle-touch receptor neurons (Chalfie et al. 1985)."""

POPULATION = "worm"


def worm_parameters(model: str = "kunert2014", **overrides) -> dict:
    """The parameter set ``model`` with ``overrides`` (unknown names raise ``ValueError``)."""
    if model != "kunert2014":
        raise ValueError(f"unknown worm model {model!r}; available: 'kunert2014'")
    p = dict(KUNERT2014)
    for key, value in overrides.items():
        if key not in p:
            raise ValueError(f"unknown worm parameter {key!r}; known: {sorted(p)}")
        p[key] = float(value)
    return p


TRANSMITTER_CLASSES = ("acetylcholine", "glutamate", "gaba", "other")
"""Classes of presynaptic neurons for fitted parameter sets, by their fast transmitter
(Wang et al. 2024): acetylcholine if they release it, else glutamate, else GABA, else other
(monoamines, orphans, unknown). Kunert's sign rule is the same split: GABA-only inhibitory."""


def transmitter_classes(con: connectomes.Connectome) -> np.ndarray:
    """Index into ``TRANSMITTER_CLASSES`` of each neuron (302,)."""
    out = np.full(len(con.neurons), 3, dtype=np.int64)
    for k, t in enumerate(con.transmitter):
        nts = set(t.split("+")) if t else set()
        out[k] = 0 if "Acetylcholine" in nts else 1 if "Glutamate" in nts else 2 if "GABA" in nts else 3
    return out


def _chemical(con: connectomes.Connectome, p: dict, fit: dict | None = None) -> list:
    """[(name, conductance [pre, post] in S, reversal potential in V), ...]: Kunert's
    excitatory/inhibitory split by ``con.sign``, or with a fitted parameter set one group
    per ``TRANSMITTER_CLASSES`` entry with its gain and reversal potential."""
    chem = con.chemical * p["g_syn"]
    if fit is None:
        return [("chemical_exc", chem * (con.sign > 0)[:, None], p["e_exc"]),
                ("chemical_inh", chem * (con.sign < 0)[:, None], p["e_inh"])]
    classes = transmitter_classes(con)
    return [(f"chemical_{c}", chem * ((classes == k) * fit["gain"][c])[:, None], fit["e_rev"][c])
            for k, c in enumerate(TRANSMITTER_CLASSES)]


def _gap(con: connectomes.Connectome, p: dict) -> np.ndarray:
    gap = con.gap * p["g_gap"]
    np.fill_diagonal(gap, 0.0)  # self-contacts carry no current
    return gap


def equilibrium(con: connectomes.Connectome, p: dict, fit: dict | None = None) -> np.ndarray:
    """Kunert et al.'s equilibrium: V with every synaptic activation at s_eq (V, (302,));
    ``fit``: a fitted parameter set (``load_worm_params``)."""
    gap = _gap(con, p)
    s_eq = p["a_r"] / (p["a_r"] + 2 * p["a_d"])
    g_in = np.zeros(len(con.neurons))
    drive = np.zeros(len(con.neurons))
    for _, g, e_rev in _chemical(con, p, fit):
        g_in += g.sum(0) * s_eq  # conductance onto each postsynaptic neuron
        drive += g.sum(0) * s_eq * e_rev
    lap = np.diag(gap.sum(1)) - gap
    a = np.diag(p["g_leak"] + g_in) + lap
    return np.linalg.solve(a, p["g_leak"] * p["e_leak"] + drive)


def build_worm(connectome="cook2019_herm", model: str = "kunert2014", params=None, **overrides) -> Network:
    """The whole-worm network: one population ``"worm"`` of 302 graded neurons in the
    canonical order (``connectomes.neurons()``), resting at its equilibrium.

    ``connectome`` is a dataset name (``connectomes.available()``) or a ``Connectome``;
    ``params``: a fitted parameter set (``load_worm_params``: a dict, a JSON file, or
    ``"kunert"``/``None`` for Kunert et al.'s own); ``overrides`` replace ``KUNERT2014``
    entries. Neurons the dataset lacks are present, unconnected.
    """
    con = connectomes.load(connectome) if isinstance(connectome, str) else connectome
    fit = load_worm_params(params)
    p = worm_parameters(model, **{**(fit["kunert"] if fit else {}), **overrides})
    gap = _gap(con, p)
    v_eq = equilibrium(con, p, fit)
    neuron = GradedNeuron(c_mem=p["c_mem"], g_leak=p["g_leak"], e_leak=p["e_leak"], a_r=p["a_r"], a_d=p["a_d"], beta=p["beta"])
    s_eq = p["a_r"] / (p["a_r"] + 2 * p["a_d"])
    pop = Population(POPULATION, neuron, len(con.neurons), {"v": v_eq, "s": s_eq}, {"v_half": v_eq})
    projections = [Projection.from_dense(POPULATION, POPULATION, g, target="graded", e_rev=e_rev, name=name)
                   for name, g, e_rev in _chemical(con, p, fit) if np.any(g)]
    i, j = np.nonzero(np.triu(gap, 1))
    gaps = [GapJunctions(POPULATION, POPULATION, i, j, gap[i, j])] if i.size else []
    return Network([pop], projections=projections, gap_junctions=gaps)


FITTED_PARAMS = Path(__file__).resolve().parent / "data" / "worm_fit.json"
"""The parameter set fitted by ``neurosim fit worm`` (``circuits.worm.fit``), shipped with
the package: ``neurosim worm`` uses it by default."""


def load_worm_params(params) -> dict | None:
    """A fitted parameter set: ``{"kunert": {KUNERT2014 overrides}, "gain": {class: x},
    "e_rev": {class: V}, "fit": {how it was fitted}}`` (``TRANSMITTER_CLASSES``), from a dict, a JSON file path, or
    ``"fitted"`` (``FITTED_PARAMS``); ``None`` or ``"kunert"`` give ``None`` (Kunert et al.'s
    model). Raises ``ValueError`` naming what is missing or invalid."""
    if params is None or (isinstance(params, str) and params == "kunert"):
        return None
    where = "worm parameters"
    if isinstance(params, (str, Path)):
        path = FITTED_PARAMS if params == "fitted" else Path(params)
        where = str(path)
        try:
            params = json.loads(path.read_text())
        except FileNotFoundError:
            raise ValueError(f"{path}: no such parameter file (write one with `neurosim fit worm`)") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable JSON parameter file: {exc}") from None
    if not isinstance(params, dict):
        raise ValueError(f"{where}: expected a dict of parameters, got {type(params).__name__}")
    info = params.get("fit", {})
    if not isinstance(info, dict):
        raise ValueError(f"{where}: 'fit' (how the set was fitted) must be a dict, got {type(info).__name__}")
    fit = {"kunert": dict(params.get("kunert", {})), "fit": dict(info)}
    worm_parameters(**fit["kunert"])  # unknown names raise
    for key, lo, hi in (("gain", 0.0, math.inf), ("e_rev", -0.2, 0.2)):
        table = params.get(key)
        if not isinstance(table, dict) or set(table) != set(TRANSMITTER_CLASSES):
            raise ValueError(f"{where}: {key!r} must give a value for each of {list(TRANSMITTER_CLASSES)}")
        for c, v in table.items():
            if not isinstance(v, (int, float)) or not (lo <= v <= hi) or not math.isfinite(v):
                raise ValueError(f"{where}: {key}[{c!r}] = {v!r} is invalid: must be a finite number in [{lo}, {hi}]")
        fit[key] = {c: float(v) for c, v in table.items()}
    return fit


def input_conductance(network: Network) -> np.ndarray:
    """Each neuron's total membrane conductance at rest (S, (302,)): leak + gap junctions +
    graded synapses at the initial activations. A current ``dV * G_in`` depolarises a neuron
    by ``dV`` if its neighbours held still."""
    pop = network.population(POPULATION)
    s0 = pop.initial_state()["s"]
    g = np.full(pop.size, pop.model.g_leak)
    for pr in network.projections:
        np.add.at(g, pr.indices, pr.weights * s0[pr.pre_indices()])
    for gj in network.gap_junctions:
        np.add.at(g, gj.i, gj.g)
        np.add.at(g, gj.j, gj.g)
    return g


def stimulate(network: Network, neurons, amplitude: float | None = None, start: float = 0.0, stop: float = np.inf,
              depolarization: float | None = None) -> Network:
    """A copy of ``network`` with a current step into the named ``neurons`` from ``start`` to
    ``stop`` (s): an optogenetic-like activation. Give either ``amplitude`` (A, the same for
    every neuron) or ``depolarization`` (V): each neuron then gets ``depolarization`` times
    its resting input conductance, which drives strongly coupled neurons (AVA, with dozens of
    gap junctions) as hard as isolated ones. Unknown names raise ``KeyError`` listing close
    matches; a neuron named twice raises ``ValueError`` (it would get twice the drive)."""
    names = [neurons] if isinstance(neurons, str) else list(neurons)
    idx = np.array([connectomes.neurons().index(connectomes.normalize_name(n)) for n in names], dtype=np.int64)
    if np.unique(idx).size < idx.size:  # a repeated name would silently double that neuron's drive
        seen = [n for k, n in enumerate(names) if idx[k] in idx[:k]]
        raise ValueError(f"stimulus neurons {seen} are named more than once; name each neuron once")
    if (amplitude is None) == (depolarization is None):
        raise ValueError("give exactly one of amplitude (A) or depolarization (V)")
    amp = float(amplitude) if amplitude is not None else depolarization * input_conductance(network)[idx]
    inj = CurrentInjection(POPULATION, amp, neurons=idx, start=float(start), stop=float(stop))
    return dataclasses.replace(network, inputs=network.inputs + (inj,))


def touch(network: Network, where: str = "anterior", depolarization: float = 10e-3, start: float = 0.0, stop: float = np.inf) -> Network:
    """Activate the gentle-touch receptors (``TOUCH_NEURONS[where]``, anterior or posterior)."""
    if where not in TOUCH_NEURONS:
        raise ValueError(f"where = {where!r}: use one of {sorted(TOUCH_NEURONS)}")
    return stimulate(network, TOUCH_NEURONS[where], start=start, stop=stop, depolarization=depolarization)
