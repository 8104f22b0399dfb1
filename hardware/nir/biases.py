"""NIR ``Affine`` biases in a core ``Network``: constant bias currents, started exactly when the
input first reaches each population."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurosim.network import CurrentInjection, delay_steps

from .neurons import NIRConversionError

__all__ = ["bias_currents", "depths"]


def bias_currents(pops: list, srcs: list, projs: list, biases: dict, dt: float) -> tuple[list, list]:
    """The core form of NIR ``Affine`` biases: ``biases`` maps (population, target) to a
    per-neuron drive ``b`` (A per step into the synaptic current ``target``, as a weight of a
    source spiking every step). In the exporting library's same-step chain a bias acts from
    the first step, together with the input; in the core every projection takes one step,
    so the bias starts when the input first reaches the population, at its depth ``d``
    (steps from the nearest ``Input``, 1 for a population the input feeds): from then on the
    current builds up from rest as ``i[k] = I (1 - a^(k - d + 1))``, ``I = b / (1 - a)``
    (``a``: the current's decay per step). Exactly that is a constant ``CurrentInjection``
    whose voltage per step equals ``I``'s (``k_syn I / k_ext``: the bias current, Loihi's
    bias register, PyNN's ``i_offset``) with initial synaptic current and membrane chosen
    so that at the start of step ``d - 1`` they are ``-I`` and rest (the neurons' linear
    dynamics run backwards from there; for ``d = 1`` simply ``i = -I``, ``v = v_rest``). A delta
    synapse (``a = 0``, ``models.IF`` with ``tau_syn = 0``) takes the bias from step ``d`` on:
    the constant current alone, with the membrane starting ``d`` steps of it below rest; a unit
    without memory (``models.ThresholdUnit``) the constant current alone.
    Returns the populations (with those initial states) and the current injections. Raises
    ``NIRConversionError`` when that start would cross the threshold before step ``d - 1``
    (a strong bias deep in the network)."""
    depth = depths(srcs, projs, dt)
    by_name = {p.name: p for p in pops}
    inputs, initial = [], {}
    for (name, target), b in biases.items():
        pop = by_name[name]
        c = pop.model.discretize(dt)
        a, k = (c["a_e"], c["k_e"]) if target == "exc" else (c["a_i"], c["k_i"])
        steady = b / (1.0 - a)
        x = k * steady / c["k_ext"]
        inputs.append(CurrentInjection(name, x))
        d = depth.get(name, 1)
        if c["a_m"] == 0:  # no memory (a threshold unit): nothing to hold back, the bias only must not fire alone
            i, u = np.zeros_like(steady), np.zeros_like(steady)
        elif a == 0:  # a delta synapse: the bias is a current from step d on; the membrane starts below rest by d steps of it
            i, u = np.zeros_like(steady), np.zeros_like(steady)
            for _ in range(d):
                u = (u - c["k_ext"] * x) / c["a_m"]
        else:
            i, u = -steady, np.zeros_like(steady)
            for _ in range(d - 1):  # one step back: u = (u' - k i - k_ext x) / a_m with i = i' / a
                i = i / a
                u = (u - k * i - c["k_ext"] * x) / c["a_m"]
        init = initial.setdefault(name, {"v": np.zeros(pop.size), "i_e": np.zeros(pop.size), "i_i": np.zeros(pop.size)})
        init["i_e" if target == "exc" else "i_i"] += i
        init["v"] += u
    out = []
    for p in pops:
        if p.name not in initial:
            out.append(p)
            continue
        c = p.model.discretize(dt)
        init = initial[p.name]
        _check_bias_start(p, c, init, depth.get(p.name, 1), inputs)
        init["v"] = init["v"] + c["v_rest"]
        out.append(replace(p, initial={**p.initial, **init}))
    return out, inputs


def depths(srcs: list, projs: list, dt: float) -> dict:
    """``{source or population name: steps from the nearest source}`` (int; a projection adds
    its shortest delay in steps at ``dt`` s, one at least; sources are 0; populations no
    source reaches are absent). Raises ``ValueError`` for delays that are not whole steps."""
    depth = {s.name: 0 for s in srcs}
    edges = [(pr.pre, pr.post, int(np.min(delay_steps(pr, dt))) if pr.indices.size else 1) for pr in projs]
    for _ in range(len(projs) + 1):  # Bellman-Ford: few populations
        changed = False
        for pre, post, d in edges:
            if pre in depth and depth[pre] + d < depth.get(post, np.inf):
                depth[post], changed = depth[pre] + d, True
        if not changed:
            break
    return depth


def _check_bias_start(pop, c, init, d, inputs) -> None:
    """Run the ``d - 1`` steps before a bias starts (no input, no spike may occur)."""
    x = sum(inj.amplitude for inj in inputs if inj.target == pop.name)
    u, ie, ii = init["v"].copy(), init["i_e"].copy(), init["i_i"].copy()
    for step in range(d - 1):
        u = c["a_m"] * u + c["k_e"] * ie + c["k_i"] * ii + c["k_ext"] * x
        ie, ii = ie * c["a_e"], ii * c["a_i"]
        if np.any(u + c["v_rest"] > c["v_th"]):
            raise NIRConversionError(f"population {pop.name!r}: its Affine bias, started from rest at depth {d} steps, would make "
                                     f"neurons fire in step {step} before any input can reach them; the core cannot hold it back")
