"""Engine side of the ``Network``'s astrocyte gap junctions (``neurosim.AstrocyteGapJunctions``):
IP3 diffusion between astrocytes, a coupling between cells like ``kernels.couple`` for
electrical gap junctions, not part of one model's step kernel."""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def ip3_coupling(n_step, X, ag_i, ag_j, ag_row, ag_par, ag_every, iext):
    """IP3 flux through astrocytic gap junctions (``neurosim.AstrocyteGapJunctions``) added
    to ``iext`` of both astrocytes of each pair, on the astrocytes' clock, from the IP3 at
    the start of the step: ``J_i = -F/2 (1 + tanh((|I_i - I_j| - I_Theta)/omega_I))
    sign(I_i - I_j)`` and ``J_j = -J_i``."""
    for q in range(ag_i.shape[0]):
        if n_step % ag_every[q] != 0:
            continue
        a = ag_i[q]
        b = ag_j[q]
        d = X[ag_row[q], a] - X[ag_row[q], b]
        flux = -0.5 * ag_par[q, 0] * (1.0 + np.tanh((abs(d) - ag_par[q, 1]) / ag_par[q, 2])) * np.sign(d)
        iext[a] += flux
        iext[b] -= flux
