"""The Hebbian subspace rule (``neurosim.plasticity.subspace``) as a Numba kernel, for
on-line use in the simulator: the same equations as ``subspace_step``, updating H and its
velocity in place (float64)."""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["subspace_step_inplace"]


@njit(cache=True, nogil=True, error_model="numpy")
def subspace_step_inplace(H, velocity, x, lr, momentum, clip, n_frozen, spiking, spiking_scale, spiking_steps):
    """One update of the rule on a batch ``x`` (B, N) of H (M, N) and ``velocity`` (M, N),
    in place; rows below ``n_frozen`` are left untouched."""
    B, N = x.shape
    M = H.shape[0]
    y = np.zeros((B, M))
    for b in range(B):
        for i in range(M):
            acc = 0.0
            for j in range(N):
                acc += H[i, j] * x[b, j]
            if spiking:
                acc = min(max(acc, -spiking_scale), spiking_scale)
                acc = np.round(acc / spiking_scale * spiking_steps) / spiking_steps * spiking_scale
            y[b, i] = acc
    resid = x.copy()  # X - Y H
    for b in range(B):
        for i in range(M):
            yi = y[b, i]
            if yi != 0.0:
                for j in range(N):
                    resid[b, j] -= yi * H[i, j]
    inv_b = 1.0 / B
    for i in range(n_frozen, M):
        for j in range(N):
            acc = 0.0
            for b in range(B):
                acc += y[b, i] * resid[b, j]
            d = min(max(acc * inv_b, -clip), clip)
            velocity[i, j] = momentum * velocity[i, j] + (1.0 - momentum) * d
    for i in range(n_frozen, M):
        for j in range(N):
            H[i, j] += lr * velocity[i, j]
