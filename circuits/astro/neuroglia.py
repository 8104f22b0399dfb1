"""Neuron-glia networks of Stimberg, Goodman, Brette & De Pitta (2019), "Modeling
neuron-glia interactions with the Brian 2 simulator" (Brian2's
``examples/frompapers/Stimberg_et_al_2018``), built on neurosim's core astrocyte and
tripartite-synapse models with the same equations and parameters.

* example 2 (Fig. 2): one G-ChI astrocyte driven by one synapse (``example2_network``);
* example 4 (Fig. 4B): closed-loop, open-loop and no gliotransmission on 3 x N synapses
  (``example4_network``);
* example 6 (Fig. 6): a COBA network (3200 excitatory, 800 inhibitory CobaLIF neurons) whose
  excitatory synapses are modulated by 3200 astrocytes on a grid coupled by IP3 gap
  junctions (``example6_network``).

Concentrations are in mol/m^3 (= mM; ``UMOLAR`` = 1e-3), times in s.
"""
from __future__ import annotations

import numpy as np

from neurosim import (UMOLAR, AstrocyteGapJunctions, AstrocyteToSynapse, CobaLIF, CubaLIF, CurrentInjection, GChIAstrocyte,
                      Network, Population, Projection, SpikeSource, SynapseToAstrocyte, TripartiteSynapse)

__all__ = ["EXAMPLE2_ASTROCYTE", "EXAMPLE4_ASTROCYTE", "EXAMPLE6_ASTROCYTE", "example2_spike_steps", "poisson_steps",
           "example2_network", "example4_network", "example6_network"]

EXAMPLE2_ASTROCYTE = GChIAstrocyte()
"""The astrocyte of example 2 (the model's defaults)."""

EXAMPLE4_ASTROCYTE = GChIAstrocyte(K_P=0.05 * UMOLAR, O_beta=3.2 * UMOLAR, O_delta=0.6 * UMOLAR, K_delta=0.1 * UMOLAR,
                                   Omega_5P=0.05, K_D=0.7 * UMOLAR, F_ex=2.0 * UMOLAR)
"""The astrocytes of example 4 (``I_bias`` 0; the open-loop ones get 1 uM)."""

EXAMPLE6_ASTROCYTE = GChIAstrocyte(K_P=0.05 * UMOLAR, O_beta=0.5 * UMOLAR, O_delta=1.2 * UMOLAR, K_delta=0.1 * UMOLAR,
                                   Omega_5P=0.05, K_D=0.7 * UMOLAR, F_ex=0.0, dt_astro=1e-2)
"""The astrocytes of example 6 (no exogenous IP3; their own 10 ms step)."""


def example2_spike_steps(duration: float, dt: float = 1e-3, f_0: float = 0.5) -> np.ndarray:
    """Steps of example 2's regular source (``dx/dt = f_0``, spike and reset when ``x > 1``
    after Euler steps): the first at step ``round(1/(f_0 dt))``, then one every
    ``round(1/(f_0 dt)) + 1`` steps."""
    k = int(round(1.0 / (f_0 * dt)))
    return np.arange(k, int(round(duration / dt)), k + 1)


def poisson_steps(n: int, rates, segment: float, dt: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Independent Poisson trains for ``n`` inputs whose rate (Hz) steps through ``rates``,
    each held for ``segment`` s (example 4's staircase 0.011, 0.11, 1.1, 11 Hz every 5 s).
    Returns (ids, steps), sorted by step; seeded."""
    rng = np.random.default_rng(seed)
    per = int(round(segment / dt))
    ids, steps = [], []
    for k, rate in enumerate(rates):
        fire = rng.random((per, n)) < rate * dt
        s, i = np.nonzero(fire)
        steps.append(s + k * per)
        ids.append(i)
    steps, ids = np.concatenate(steps), np.concatenate(ids)
    order = np.lexsort((ids, steps))
    return ids[order], steps[order]


def example2_network(spike_steps, dt: float = 1e-3, astrocyte: GChIAstrocyte = EXAMPLE2_ASTROCYTE,
                     rho_c: float = 0.001, Y_T: float = 500.0) -> Network:
    """Example 2: the ``astro`` population (1 astrocyte) senses ``rho_c Y_T`` (mol/m^3) of
    neurotransmitter per spike of source ``src`` at ``spike_steps``."""
    steps = np.asarray(spike_steps)
    return Network([Population("astro", astrocyte, 1)], [SpikeSource("src", 1, steps * dt, np.zeros(steps.size, int))],
                   [Projection.from_pairs("src", "astro", [0], [0], rho_c * Y_T, 1, name="src->astro")])


def example4_network(n: int, ids, steps, dt: float = 1e-3, i_bias_open: float = 1.0 * UMOLAR,
                     astrocyte: GChIAstrocyte = EXAMPLE4_ASTROCYTE, synapse: TripartiteSynapse = TripartiteSynapse()) -> Network:
    """Example 4: presynaptic trains (``ids``, ``steps``) drive three projections of ``n``
    tripartite synapses each onto silent targets: ``closed`` (synapse i senses and is
    modulated by astrocyte i of ``astro_closed``), ``open`` (modulated by ``astro_open``,
    whose ``I_bias`` makes them oscillate on their own) and ``none`` (no astrocyte)."""
    steps = np.asarray(steps)
    src = SpikeSource("pre", n, steps * dt, np.asarray(ids))
    pops = [Population("post", CubaLIF(), n), Population("astro_closed", astrocyte, n),
            Population("astro_open", astrocyte.replace(I_bias=i_bias_open), n)]
    k = np.arange(n)
    projs = [Projection.from_pairs("pre", "post", k, k, 0.0, n, name=name, synapse=synapse) for name in ("closed", "open", "none")]
    glia = [SynapseToAstrocyte("closed", "astro_closed", k), AstrocyteToSynapse("astro_closed", "closed", k),
            AstrocyteToSynapse("astro_open", "open", k)]
    return Network(pops, [src], projs, glia=glia)


def example6_network(seed: int = 0, n_e: int = 3200, n_i: int = 800, n_a: int = 3200, stimulus=(1.0, 1.2, 1.0, 1.0),
                     stimulus_dt: float = 2.0, i_ex: float = 100e-12) -> Network:
    """Example 6: CobaLIF neurons (``exc``: ``n_e``, ``inh``: ``n_i``), tripartite synapses
    (p = 0.05 from excitatory, 0.2 from inhibitory neurons; w_e = 0.05 nS, w_i = 1 nS; all
    one-step delays), excitatory neurons and astrocytes on square grids of 3.75 mm: each
    excitatory synapse is covered by the astrocyte at its postsynaptic excitatory neuron's
    grid position (as Brian2's example computes it: synapses onto neurons at negative
    coordinates have none, and those onto inhibitory neurons, which have no position set,
    all share astrocyte 0, as in the example), which senses its share of their
    neurotransmitter; astrocytes closer than 75 um share IP3 gap junctions. External current
    ``i_ex * stimulus[k]`` during [k, k+1) * ``stimulus_dt``. Initial state as in the
    example (v uniform in [E_l, V_th], g_e/g_i uniform up to one weight, astrocytes at
    C = I = 0.01 uM). Seeded."""
    rng = np.random.default_rng(seed)
    size, dist = 3.75e-3, 75e-6
    neuron = CobaLIF()
    n = n_e + n_i
    rows = int(np.sqrt(n_e))
    cols = n_e // rows
    grid = size / cols
    k = np.arange(n_e)
    x = (k // rows) * grid - rows / 2.0 * grid
    y = (k % rows) * grid - cols / 2.0 * grid
    rows_a = int(np.sqrt(n_a))
    cols_a = n_a / rows_a
    grid_a = size / rows_a
    ka = np.arange(n_a)
    xa = (ka // rows_a) * grid_a - rows_a / 2.0 * grid_a
    ya = (ka % rows_a) * grid_a - cols_a / 2.0 * grid_a
    w_e, w_i = 0.05e-9, 1.0e-9
    init = {"v": neuron.e_leak + rng.random(n) * (neuron.v_th - neuron.e_leak)}
    pops = [Population("neurons", neuron, n, initial={**init, "g_e": rng.random(n) * w_e, "g_i": rng.random(n) * w_i}),
            Population("astrocytes", EXAMPLE6_ASTROCYTE, n_a,
                       initial={"C": 0.01 * UMOLAR, "I": 0.01 * UMOLAR, "h": 0.9, "x_A": 1.0})]
    def random_pairs(n_pre, p, offset):
        pre, post = np.nonzero(rng.random((n_pre, n)) < p)
        return pre + offset, post

    # pre and post both in "neurons": projections are population -> population
    ei, ej = random_pairs(n_e, 0.05, 0)
    ii, ij = random_pairs(n_i, 0.2, n_e)
    exc = Projection.from_pairs("neurons", "neurons", ei, ej, w_e, n, target="exc", name="exc", synapse=TripartiteSynapse())
    inh = Projection.from_pairs("neurons", "neurons", ii, ij, w_i, n, target="inh", name="inh", synapse=TripartiteSynapse())
    # covering astrocyte of each excitatory synapse (CSR order = sorted (pre, post)), from the
    # postsynaptic neuron's position; Brian2's int() truncates toward zero, indices outside
    # 0..n_a-1 match no astrocyte, and inhibitory neurons keep the example's default
    # position (0, 0): all synapses onto them share astrocyte 0
    post = exc.indices.astype(np.int64)
    on_grid = post < n_e
    px = np.where(on_grid, x[np.minimum(post, n_e - 1)], 0.0)
    py = np.where(on_grid, y[np.minimum(post, n_e - 1)], 0.0)
    idx = (np.trunc(px / grid_a) + cols_a * np.trunc(py / grid_a)).astype(np.int64)
    idx = np.where((idx >= 0) & (idx < n_a), idx, -1)
    gi, gj = np.nonzero(np.triu(np.hypot(xa[:, None] - xa[None, :], ya[:, None] - ya[None, :]) < dist, 1))
    glia = [SynapseToAstrocyte("exc", "astrocytes", idx, normalize=True), AstrocyteToSynapse("astrocytes", "exc", idx),
            AstrocyteGapJunctions("astrocytes", gi, gj)]
    values = np.tile(np.asarray(stimulus, float)[:, None] * i_ex, (1, n))
    inputs = [CurrentInjection.from_array("neurons", values, stimulus_dt)]
    return Network(pops, [], [exc, inh], inputs=inputs, glia=glia)
