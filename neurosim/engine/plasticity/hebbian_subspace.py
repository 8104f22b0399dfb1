"""Hooks of ``neurosim.models.SubspaceRule`` (coefficients: lr, momentum, clip, iterations,
spiking, spiking_scale, spiking_steps, bin_steps, batch_bins; presynaptic state: spike counts
per bin of the batch; per-synapse state: the velocity), and the rule's update as a Numba
kernel (``subspace_step_inplace``: the equations of ``neurosim.plasticity.subspace``)."""
import numpy as np
from numba import njit

from ..registry import plasticity_kernel


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


@plasticity_kernel("hebbian_subspace", "pre")
def subspace_pre(c, tab, n, i, lo, hi, W, S, syn_post, post_off, Tpre, last_pre, Tpost, last_post, applied, ph_step, ph_val,
                 ph_len, isyn, base, mode):
    """A presynaptic spike arrives: delivered, and counted in the bin of step ``n``."""
    if mode != 0:
        return
    for q in range(lo, hi):
        isyn[base + syn_post[q]] += W[q]
    Tpre[(n // np.int64(c[7])) % np.int64(c[8]), i] += 1.0


@plasticity_kernel("hebbian_subspace", "post")
def subspace_post(c, tab, n, j, lo, hi, W, S, col_syn, col_pre, pre_off, Tpre, last_pre, Tpost, last_post, ph_step, ph_val,
                  ph_len):
    """Lateral spikes play no part (the responses are computed from the counts)."""


@plasticity_kernel("hebbian_subspace", "step")
def subspace_step_hook(c, n, lo, hi, W, S, mod, k, reward, Tpre, pre_off, n_pre):
    """At the end of the last step of a batch: ``iterations`` updates of H (from the weights,
    ``W[i, m] = H[m, i]``) and its velocity on the batch of counts, then the counts reset."""
    B = np.int64(c[8])
    if (n + 1) % (np.int64(c[7]) * B) != 0:
        return
    M = (hi - lo) // n_pre
    H = np.empty((M, n_pre))
    V = np.empty((M, n_pre))
    for i in range(n_pre):
        for m in range(M):
            H[m, i] = W[lo + i * M + m]
            V[m, i] = S[0, lo + i * M + m]
    x = np.ascontiguousarray(Tpre[:B, pre_off : pre_off + n_pre])
    for _ in range(np.int64(c[3])):
        subspace_step_inplace(H, V, x, c[0], c[1], c[2], 0, c[4] != 0, c[5], c[6])
    for i in range(n_pre):
        for m in range(M):
            W[lo + i * M + m] = H[m, i]
            S[0, lo + i * M + m] = V[m, i]
    Tpre[:B, pre_off : pre_off + n_pre] = 0.0
