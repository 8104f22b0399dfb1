"""Kernel of ``neurosim.models.TripartiteSynapse``."""
import numpy as np

from ..registry import synapse_kernel


@synapse_kernel("tripartite")
def tripartite_on_pre(c, S, q, n, dt, gamma_s):
    """Bring synapse ``q`` up to step ``n`` exactly, apply a presynaptic spike and return the
    released fraction ``r_S``. ``c``: U_0_star, alpha, Omega_f dt, Omega_d dt, Omega_c dt,
    rho_c Y_T. Rows of ``S``: u_S, x_S, Y_S (as of the last spike), step of the last spike."""
    elapsed = n - S[3, q]
    u = S[0, q] * np.exp(-c[2] * elapsed)
    x = 1.0 + (S[1, q] - 1.0) * np.exp(-c[3] * elapsed)
    y = S[2, q] * np.exp(-c[4] * elapsed)
    u0 = (1.0 - gamma_s) * c[0] + c[1] * gamma_s
    u += u0 * (1.0 - u)
    r = u * x
    x -= r
    S[0, q] = u
    S[1, q] = x
    S[2, q] = y + c[5] * r
    S[3, q] = n
    return r
