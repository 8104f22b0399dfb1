"""Brian2 twins of Stimberg et al. (2019)'s neuron-glia examples 2 and 4
(``examples/frompapers/Stimberg_et_al_2018``), written out here with the numpy target and
deterministic inputs (spike-generator trains given by the caller instead of Poisson groups;
the noise-free astrocyte integrated with RK4, as in examples 4 to 6: example 2 integrates
both of its astrocytes with Milstein because one of them is stochastic)."""
from __future__ import annotations

import numpy as np

from circuits.reference.neuroglia_brian2 import ON_PRE as SYN_ON_PRE  # the synapse's on_pre, shared with the benchmark twin

ASTRO_EQS = """
dGamma_A/dt = O_N * Y_S * (1 - clip(Gamma_A, 0, 1)) - Omega_N*(1 + zeta * C/(C + K_KC)) * clip(Gamma_A, 0, 1) : 1
dI/dt = J_beta + J_delta - J_3K - J_5P + J_ex : mmolar
J_beta = O_beta * Gamma_A : mmolar/second
J_delta = O_delta/(1 + I/kappa_delta) * C**2/(C**2 + K_delta**2) : mmolar/second
J_3K = O_3K * C**4/(C**4 + K_D**4) * I/(I + K_3K) : mmolar/second
J_5P = Omega_5P*I : mmolar/second
delta_I_bias = I - I_bias : mmolar
J_ex = -F_ex/2*(1 + tanh((abs(delta_I_bias) - I_Theta)/omega_I)) * sign(delta_I_bias) : mmolar/second
I_bias : mmolar (constant)
dC/dt = (Omega_C * m_inf**3 * clip(h, 0, 1)**3 + Omega_L) * (C_T - (1 + rho_A)*C) - O_P * C**2/(C**2 + K_P**2) : mmolar
dh/dt = (h_inf - clip(h, 0, 1))/tau_h : 1
m_inf = I/(I + d_1) * C/(C + d_5) : 1
h_inf = Q_2/(Q_2 + C) : 1
tau_h = 1/(O_2 * (Q_2 + C)) : second
Q_2 = d_2 * (I + d_1)/(I + d_3) : mmolar
dx_A/dt = Omega_A * (1 - x_A) : 1
dG_A/dt = -Omega_e*G_A : mmolar
Y_S : mmolar
"""

SYN_EQS = """
dY_S/dt = -Omega_c * Y_S : mmolar (clock-driven)
dGamma_S/dt = O_G * G_A * (1 - Gamma_S) - Omega_G * Gamma_S : 1 (clock-driven)
du_S/dt = -Omega_f * u_S : 1 (event-driven)
dx_S/dt = Omega_d *(1 - x_S) : 1 (event-driven)
r_S : 1
G_A : mmolar
"""



def _brian():
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.prefs.core.default_float_dtype = np.float64
    b2.start_scope()
    return b2


def _namespace(b2, astro: dict, syn: dict | None = None) -> dict:
    """Brian2 quantities from the SI values of ``GChIAstrocyte``/``TripartiteSynapse``
    fields (mol/m^3 = mmolar)."""
    mM, s = b2.mmolar, b2.second
    conc = {"K_P", "C_T", "d_1", "d_2", "d_3", "d_5", "K_KC", "kappa_delta", "K_delta", "K_D", "K_3K", "I_Theta", "omega_I",
            "C_Theta", "G_T", "Y_T"}
    flux = {"O_P", "O_beta", "O_delta", "O_3K", "F_ex"}
    binding = {"O_2", "O_N", "O_G"}
    ns = {}
    for key, v in {**astro, **(syn or {})}.items():
        if key in ("dt_astro", "I_bias"):
            continue
        ns[key] = v * (mM if key in conc else mM / s if key in flux else 1 / (mM * s) if key in binding
                       else 1 / s if key.startswith("Omega") else 1)
    if syn is not None:
        ns["U_0__star"] = syn["U_0_star"]
    return ns


def run_example2(astro: dict, rho_c: float, Y_T: float, Omega_c: float, spike_steps, duration: float, dt: float):
    """Example 2: one astrocyte activated by one synapse (``Y_S += rho_c Y_T`` per spike of
    a regular source, here the given steps). Returns (t, {var: (n_steps,)}) in SI."""
    b2 = _brian()
    b2.defaultclock.dt = dt * b2.second
    ns = _namespace(b2, astro)
    ns.update(rho_c=rho_c, Y_T=Y_T * b2.mmolar, Omega_c=Omega_c / b2.second)
    src = b2.SpikeGeneratorGroup(1, np.zeros(len(spike_steps), int), np.asarray(spike_steps) * dt * b2.second)
    target = b2.NeuronGroup(1, "")
    syn = b2.Synapses(src, target, "dY_S/dt = -Omega_c * Y_S : mmolar (clock-driven)", on_pre="Y_S += rho_c * Y_T",
                      method="exact", namespace=ns)
    syn.connect()
    a = b2.NeuronGroup(1, ASTRO_EQS, method="rk4", namespace=ns)
    a.h = 0.9
    a.x_A = 1.0
    a.I_bias = astro.get("I_bias", 0.0) * b2.mmolar
    link = b2.Synapses(syn, a, "Y_S_post = Y_S_pre : mmolar (summed)")
    link.connect()
    mon = b2.StateMonitor(a, ["Gamma_A", "I", "C", "h"], record=True)
    b2.run(duration * b2.second, namespace={})
    return np.asarray(mon.t), {k: np.asarray(getattr(mon, k))[0] for k in ("Gamma_A", "I", "C", "h")}


def run_example4(astro: dict, synapse: dict, n: int, spikes, i_bias_open: float, duration: float, dt: float, every: int):
    """Example 4: ``3 n`` tripartite synapses driven by the same presynaptic trains
    ``spikes = (ids, steps)``: synapses 0..n-1 closed loop (each senses and is modulated by
    its astrocyte 0..n-1), n..2n-1 open loop (modulated by astrocytes n..2n-1 with
    ``I_bias = i_bias_open``, which sense nothing), 2n..3n-1 unmodulated. Returns
    (t, astro {var: (2n, T)}, mean Y_S per group (3, T')) with Y_S sampled every ``every``
    steps."""
    b2 = _brian()
    b2.defaultclock.dt = dt * b2.second
    ns = _namespace(b2, astro, synapse)
    ids, steps = spikes
    src = b2.SpikeGeneratorGroup(n, np.asarray(ids), np.asarray(steps) * dt * b2.second)
    target = b2.NeuronGroup(n, "")
    syn = b2.Synapses(src, target, SYN_EQS, on_pre=SYN_ON_PRE, method="exact", namespace=ns)
    for _ in range(3):
        syn.connect(j="i")
    syn.x_S = 1.0
    a = b2.NeuronGroup(2 * n, ASTRO_EQS, threshold="C>C_Theta", refractory="C>C_Theta",
                       reset="G_A += rho_e * G_T * U_A * x_A\nx_A -= U_A * x_A", method="rk4", namespace=ns)
    a.h = 0.9
    a.x_A = 1.0
    a.I_bias = np.r_[np.zeros(n), np.full(n, i_bias_open)] * b2.mmolar
    to_astro = b2.Synapses(syn, a, "Y_S_post = Y_S_pre : mmolar (summed)")
    to_astro.connect(j="i if i < N_syn", namespace={"N_syn": n})
    to_syn = b2.Synapses(a, syn, "G_A_post = G_A_pre : mmolar (summed)")
    to_syn.connect(j="i if i < 2*N_syn", namespace={"N_syn": n})
    amon = b2.StateMonitor(a, ["I", "C", "G_A", "Y_S", "Gamma_A"], record=True)
    smon = b2.StateMonitor(syn, "Y_S", record=True, dt=every * dt * b2.second)
    b2.run(duration * b2.second, namespace={})
    y = np.asarray(smon.Y_S)
    return (np.asarray(amon.t), {k: np.asarray(getattr(amon, k)) for k in ("I", "C", "G_A", "Y_S", "Gamma_A")},
            np.stack([y[g * n:(g + 1) * n].mean(axis=0) for g in range(3)]))
