"""Kernel of ``neurosim.models.GChIAstrocyte``."""
import numpy as np
from numba import njit

from ..registry import neuron_kernel

# coefficient positions (the model's fields in order, then k_steps, h, a_c, dt)
(O_P, K_P, C_T, RHO_A, OMEGA_C, OMEGA_L, D_1, D_2, O_2, D_3, D_5, O_BETA, O_N, OMEGA_N, K_KC, ZETA, O_DELTA,
 KAPPA_DELTA, K_DELTA, OMEGA_5P, K_D, K_3K, O_3K, F_EX, I_BIAS, I_THETA, OMEGA_I, C_THETA, OMEGA_A, U_A, G_T, RHO_E,
 OMEGA_E, O_G, OMEGA_G, OMEGA_CLEAR, DT_ASTRO, K_STEPS, H, A_C, DT) = range(41)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _rates(c, ga, i, ca, h, xa, g, y, j_in):
    """Right-hand side of the G-ChI equations (see the model's docstring)."""
    gac = min(max(ga, 0.0), 1.0)
    hc = min(max(h, 0.0), 1.0)
    d_ga = c[O_N] * y * (1.0 - gac) - c[OMEGA_N] * (1.0 + c[ZETA] * ca / (ca + c[K_KC])) * gac
    c2 = ca * ca
    c4 = c2 * c2
    j_beta = c[O_BETA] * ga
    j_delta = c[O_DELTA] / (1.0 + i / c[KAPPA_DELTA]) * c2 / (c2 + c[K_DELTA] * c[K_DELTA])
    kd2 = c[K_D] * c[K_D]
    j_3k = c[O_3K] * c4 / (c4 + kd2 * kd2) * i / (i + c[K_3K])
    j_5p = c[OMEGA_5P] * i
    di = i - c[I_BIAS]
    j_ex = -c[F_EX] / 2.0 * (1.0 + np.tanh((abs(di) - c[I_THETA]) / c[OMEGA_I])) * np.sign(di)
    d_i = j_beta + j_delta - j_3k - j_5p + j_ex + j_in
    m_inf = i / (i + c[D_1]) * ca / (ca + c[D_5])
    q_2 = c[D_2] * (i + c[D_1]) / (i + c[D_3])
    h_inf = q_2 / (q_2 + ca)
    tau_h = 1.0 / (c[O_2] * (q_2 + ca))
    free = c[C_T] - (1.0 + c[RHO_A]) * ca
    d_ca = (c[OMEGA_C] * m_inf ** 3 * hc ** 3 + c[OMEGA_L]) * free - c[O_P] * c2 / (c2 + c[K_P] * c[K_P])
    d_h = (h_inf - hc) / tau_h
    d_xa = c[OMEGA_A] * (1.0 - xa)
    d_g = -c[OMEGA_E] * g
    return d_ga, d_i, d_ca, d_h, d_xa, d_g


@neuron_kernel("gchi_astrocyte")
def astrocyte_step(c, X, lo, hi, n_step, ys, unused, refrac, iext, has_ext, spiked):
    """G-ChI astrocyte: ``Gamma_S`` exact every step; RK4 over ``h`` on the astrocyte's own
    clock (steps ``n`` with ``n % k_steps == 0``) with the sensed ``Y_S`` and the coupling
    flux ``iext`` held; release at the upward crossing of ``C_Theta``; ``Y_S`` decays.

    Rows of ``X``: Gamma_A, I, C, h, x_A, G_A, Gamma_S; the excitatory input holds Y_S.
    """
    k_steps = np.int64(c[K_STEPS])
    astro_step = n_step % k_steps == 0
    h = c[H]
    dt = c[DT]
    for q in range(lo, hi):
        # presynaptic receptors of the domain, exact with G_A held over the step
        g = X[5, q]
        rate = c[O_G] * g + c[OMEGA_G]
        if rate > 0.0:
            inf = c[O_G] * g / rate
            X[6, q] = inf + (X[6, q] - inf) * np.exp(-rate * dt)
        fired = False
        if astro_step:
            y = ys[q]
            j_in = iext[q] if has_ext else 0.0
            ga, i, ca, hh, xa = X[0, q], X[1, q], X[2, q], X[3, q], X[4, q]
            k1 = _rates(c, ga, i, ca, hh, xa, g, y, j_in)
            k2 = _rates(c, ga + 0.5 * h * k1[0], i + 0.5 * h * k1[1], ca + 0.5 * h * k1[2], hh + 0.5 * h * k1[3],
                        xa + 0.5 * h * k1[4], g + 0.5 * h * k1[5], y, j_in)
            k3 = _rates(c, ga + 0.5 * h * k2[0], i + 0.5 * h * k2[1], ca + 0.5 * h * k2[2], hh + 0.5 * h * k2[3],
                        xa + 0.5 * h * k2[4], g + 0.5 * h * k2[5], y, j_in)
            k4 = _rates(c, ga + h * k3[0], i + h * k3[1], ca + h * k3[2], hh + h * k3[3], xa + h * k3[4],
                        g + h * k3[5], y, j_in)
            ca_new = ca + h / 6.0 * (k1[2] + 2.0 * k2[2] + 2.0 * k3[2] + k4[2])
            X[0, q] = ga + h / 6.0 * (k1[0] + 2.0 * k2[0] + 2.0 * k3[0] + k4[0])
            X[1, q] = i + h / 6.0 * (k1[1] + 2.0 * k2[1] + 2.0 * k3[1] + k4[1])
            X[3, q] = hh + h / 6.0 * (k1[3] + 2.0 * k2[3] + 2.0 * k3[3] + k4[3])
            xa_new = xa + h / 6.0 * (k1[4] + 2.0 * k2[4] + 2.0 * k3[4] + k4[4])
            g_new = g + h / 6.0 * (k1[5] + 2.0 * k2[5] + 2.0 * k3[5] + k4[5])
            X[2, q] = ca_new
            # release at the first step above threshold (Brian2: refractory while C > C_Theta)
            fired = ca_new > c[C_THETA] and not ca > c[C_THETA]
            if fired:
                g_new += c[RHO_E] * c[G_T] * c[U_A] * xa_new
                xa_new -= c[U_A] * xa_new
            X[4, q] = xa_new
            X[5, q] = g_new
        spiked[q] = fired
        ys[q] = ys[q] * c[A_C]
