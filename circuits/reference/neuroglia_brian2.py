"""Brian2 twin of Stimberg et al. (2019)'s example 6 (COBA network with astrocytes),
written out here with the example's equations and parameters, for ``benchmarks/astro_coba.py``.
Run as ``python -m circuits.reference.neuroglia_brian2 --duration 1 --seed 0``: prints one line
``BRIAN2_RESULT {json}`` with the loop time, total time and firing rates."""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

NEURON_EQS = """
dv/dt = (g_l*(E_l-v) + g_e*(E_e-v) + g_i*(E_i-v) + I_ex*stimulus(t))/C_m : volt (unless refractory)
dg_e/dt = -g_e/tau_e : siemens
dg_i/dt = -g_i/tau_i : siemens
x : meter (constant)
y : meter (constant)
"""
SYN_EQS = """
dY_S/dt = -Omega_c * Y_S : mmolar (clock-driven)
dGamma_S/dt = O_G * G_A * (1 - Gamma_S) - Omega_G * Gamma_S : 1 (clock-driven)
du_S/dt = -Omega_f * u_S : 1 (event-driven)
dx_S/dt = Omega_d *(1 - x_S) : 1 (event-driven)
U_0 : 1
r_S : 1
G_A : mmolar
astrocyte_index : integer (constant)
"""
ON_PRE = """
U_0 = (1 - Gamma_S) * U_0__star + alpha * Gamma_S
u_S += U_0 * (1 - u_S)
r_S = u_S * x_S
x_S -= r_S
Y_S += rho_c * Y_T * r_S
"""
ASTRO_EQS = """
dGamma_A/dt = O_N * Y_S * (1 - clip(Gamma_A,0,1)) - Omega_N*(1 + zeta * C/(C + K_KC)) * clip(Gamma_A,0,1) : 1
dI/dt = J_beta + J_delta - J_3K - J_5P + J_coupling : mmolar
J_beta = O_beta * Gamma_A : mmolar/second
J_delta = O_delta/(1 + I/kappa_delta) * C**2/(C**2 + K_delta**2) : mmolar/second
J_3K = O_3K * C**4/(C**4 + K_D**4) * I/(I + K_3K) : mmolar/second
J_5P = Omega_5P*I : mmolar/second
J_coupling : mmolar/second
dC/dt = J_r + J_l - J_p : mmolar
dh/dt = (h_inf - h)/tau_h : 1
J_r = (Omega_C * m_inf**3 * h**3) * (C_T - (1 + rho_A)*C) : mmolar/second
J_l = Omega_L * (C_T - (1 + rho_A)*C) : mmolar/second
J_p = O_P * C**2/(C**2 + K_P**2) : mmolar/second
m_inf = I/(I + d_1) * C/(C + d_5) : 1
h_inf = Q_2/(Q_2 + C) : 1
tau_h = 1/(O_2 * (Q_2 + C)) : second
Q_2 = d_2 * (I + d_1)/(I + d_3) : mmolar
dx_A/dt = Omega_A * (1 - x_A) : 1
dG_A/dt = -Omega_e*G_A : mmolar
Y_S : mmolar
x : meter (constant)
y : meter (constant)
"""


def run(duration: float, seed: int, mode: str = "runtime") -> dict:
    """Stimberg et al. (2019) example 6 in Brian2 (``mode`` runtime: Cython, or numpy) for ``duration`` s with ``seed``; returns the timings, rates and astrocyte release events."""
    import brian2 as b2
    from brian2 import mmeter, mmolar, ms, mV, nS, pA, pF, second, umeter, umolar

    t_all = time.perf_counter()
    b2.prefs.codegen.target = {"runtime": "cython", "numpy": "numpy"}[mode]
    b2.start_scope()
    b2.seed(seed)
    N_e, N_i, N_a = 3200, 800, 3200
    size, distance = 3.75 * mmeter, 50 * umeter  # noqa: F841 (the example's names)
    ns = dict(E_l=-60 * mV, g_l=9.99 * nS, E_e=0 * mV, E_i=-80 * mV, C_m=198 * pF, tau_e=5 * ms, tau_i=10 * ms,
              I_ex=100 * pA, V_th=-50 * mV, V_r=-60 * mV, rho_c=0.005, Y_T=500 * mmolar, Omega_c=40 / second,
              U_0__star=0.6, Omega_f=3.33 / second, Omega_d=2.0 / second, O_G=1.5 / umolar / second,
              Omega_G=0.5 / (60 * second), O_P=0.9 * umolar / second, K_P=0.05 * umolar, C_T=2 * umolar, rho_A=0.18,
              Omega_C=6 / second, Omega_L=0.1 / second, d_1=0.13 * umolar, d_2=1.05 * umolar, O_2=0.2 / umolar / second,
              d_3=0.9434 * umolar, d_5=0.08 * umolar, O_beta=0.5 * umolar / second, O_N=0.3 / umolar / second,
              Omega_N=0.5 / second, K_KC=0.5 * umolar, zeta=10, O_delta=1.2 * umolar / second, kappa_delta=1.5 * umolar,
              K_delta=0.1 * umolar, Omega_5P=0.05 / second, K_D=0.7 * umolar, K_3K=1.0 * umolar, O_3K=4.5 * umolar / second,
              F=0.09 * umolar / second, I_Theta=0.3 * umolar, omega_I=0.05 * umolar, C_Theta=0.5 * umolar,
              Omega_A=0.6 / second, U_A=0.6, G_T=200 * mmolar, rho_e=6.5e-4, Omega_e=60 / second, alpha=0.0,
              stimulus=b2.TimedArray([1.0, 1.2, 1.0, 1.0], dt=2 * second))
    b2.defaultclock.dt = 0.1 * ms
    neurons = b2.NeuronGroup(N_e + N_i, NEURON_EQS, threshold="v>V_th", reset="v=V_r", refractory=5 * ms,
                             method="euler", namespace=ns)
    exc, inh = neurons[:N_e], neurons[N_e:]
    rows = int(np.sqrt(N_e))
    cols = N_e // rows
    grid = size / cols
    exc.x = "(i // rows)*grid - rows/2.0*grid"
    exc.y = "(i % rows)*grid - cols/2.0*grid"
    neurons.v = "E_l + rand()*(V_th-E_l)"
    neurons.g_e = "rand()*0.05*nS"
    neurons.g_i = "rand()*1.0*nS"
    exc_syn = b2.Synapses(exc, neurons, SYN_EQS, on_pre=ON_PRE + "g_e_post += 0.05*nS*r_S", method="exact", namespace=ns)
    exc_syn.connect(True, p=0.05)
    exc_syn.x_S = 1.0
    inh_syn = b2.Synapses(inh, neurons, SYN_EQS, on_pre=ON_PRE + "g_i_post += 1.0*nS*r_S", method="exact", namespace=ns)
    inh_syn.connect(True, p=0.2)
    inh_syn.x_S = 1.0
    rows_a = int(np.sqrt(N_a))
    cols_a = N_a / rows_a
    grid_a = size / rows_a
    exc_syn.astrocyte_index = "int(x_post/grid_a) + cols_a*int(y_post/grid_a)"
    astro = b2.NeuronGroup(N_a, ASTRO_EQS, threshold="C>C_Theta", refractory="C>C_Theta",
                           reset="G_A += rho_e * G_T * U_A * x_A\nx_A -= U_A * x_A", method="rk4", dt=1e-2 * second,
                           namespace=ns)
    astro.x = "(i // rows_a)*grid_a - rows_a/2.0*grid_a"
    astro.y = "(i % rows_a)*grid_a - cols_a/2.0*grid_a"
    astro.C = 0.01 * umolar
    astro.h = 0.9
    astro.I = 0.01 * umolar
    astro.x_A = 1.0
    to_syn = b2.Synapses(astro, exc_syn, "G_A_post = G_A_pre : mmolar (summed)")
    to_syn.connect("i == astrocyte_index_post")
    to_astro = b2.Synapses(exc_syn, astro, "Y_S_post = Y_S_pre/N_incoming : mmolar (summed)")
    to_astro.connect("astrocyte_index_pre == j")
    gap = b2.Synapses(astro, astro, """delta_I = I_post - I_pre : mmolar
        J_coupling_post = -(1 + tanh((abs(delta_I) - I_Theta)/omega_I))*sign(delta_I)*F/2 : mmolar/second (summed)""",
                      namespace=ns)
    gap.connect("i != j and sqrt((x_pre-x_post)**2 + (y_pre-y_post)**2) < 75*um")
    mon_n, mon_a = b2.SpikeMonitor(neurons), b2.SpikeMonitor(astro)
    net = b2.Network(b2.collect())
    net.run(duration * second, namespace={"rows": rows, "cols": cols, "grid": grid, "rows_a": rows_a, "cols_a": cols_a,
                                          "grid_a": grid_a})
    total = time.perf_counter() - t_all
    loop = float(b2.device._last_run_time)
    return {"loop_s": loop, "build_s": total - loop, "rate_hz": mon_n.num_spikes / (N_e + N_i) / duration,
            "astro_events": int(mon_a.num_spikes), "synapses": len(exc_syn) + len(inh_syn)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=("runtime", "numpy"), default="runtime")
    a = ap.parse_args()
    print("BRIAN2_RESULT " + json.dumps(run(a.duration, a.seed, a.mode)))
