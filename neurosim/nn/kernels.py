"""Numba kernels of the CuBa-LIF recurrence over a whole sequence, forward and backward.

Normalised units (membrane u = (v - v_rest) / (v_th - v_rest), threshold 1). Per step t and
neuron (``x`` is the synaptic input current of the step)::

    e_t = a_e e_{t-1} + x_t                    synaptic current
    m_t = a_m u_{t-1} + k e_t                  (held at u_{t-1} while refractory)
    s_t = H(m_t - 1)
    u_t = m_t (1 - s_t) + u_reset s_t          hard reset, or
    u_t = m_t - (1 - u_reset) s_t              reset by subtraction (``subtract``)

the same update as ``neurosim.engine.neurons.lif.lif_step``. The backward pass is exact BPTT
through these equations with the surrogate derivative in place of H'.
Per tile of neurons, time is the outer loop and neurons the inner one (contiguous,
vectorised, parallel over blocks of tiles).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_OPTS = dict(cache=True, nogil=True, parallel=True, error_model="numpy")
# Neurons per tile: each thread runs its block tile by tile through all time steps, so a
# tile's carried state (e, u, r forward; the two adjoints backward) stays in cache.
TILE = 4096


@njit(cache=True, inline="always")
def _sg(x, kind, slope):
    """The surrogate derivative (``neurosim.nn.surrogate``: 0 superspike, 1 atan, 2 triangle)."""
    if kind == 0:
        d = 1.0 + slope * abs(x)
        return 1.0 / (d * d)
    if kind == 1:
        z = 1.5707963267948966 * slope * x
        return 0.5 * slope / (1.0 + z * z)
    return slope * max(0.0, 1.0 - slope * abs(x))


def _blocks(n_m):
    """Contiguous neuron blocks, one per thread: each thread runs its block through all
    time steps (one parallel region instead of a barrier per step; the inner loop over a
    block stays contiguous and vectorises)."""
    from numba import get_num_threads

    n_b = max(1, min(get_num_threads(), n_m // 256 if n_m >= 256 else 1))
    return np.linspace(0, n_m, n_b + 1).astype(np.int64)


@njit(inline="always", nogil=True, error_model="numpy")
def _forward_row(x, e, u, r, a_e, a_m, k, u_reset, ref_steps, thr, spikes, mem, held, subtract):
    """One time step of one tile: every array a slice over the tile's neurons (0-based
    loops over slices vectorise; loops over ``range(lo, hi)`` of a whole array do not)."""
    one = x.dtype.type(1.0)
    zero = x.dtype.type(0.0)
    drop = one - u_reset
    for i in range(e.shape[0]):
        # branch-free body
        ei = a_e * e[i] + x[i]
        ri = r[i]
        ri = ri - np.int32(ri > 0)
        hold = ri > 0
        m = u[i] if hold else a_m * u[i] + k * ei
        s = m > thr
        mem[i] = m
        held[i] = hold
        spikes[i] = one if s else zero
        after = m - drop if subtract else u_reset
        u[i] = after if s else m
        r[i] = ref_steps if s else ri
        e[i] = ei


@njit(**_OPTS)
def _forward_blocks(x, e, u, r, a_e, a_m, k, u_reset, ref_steps, thr, spikes, mem, held, bounds, subtract):
    for b in prange(bounds.shape[0] - 1):
        for lo in range(bounds[b], bounds[b + 1], TILE):
            hi = min(lo + TILE, bounds[b + 1])
            for t in range(x.shape[0]):
                _forward_row(x[t, lo:hi], e[lo:hi], u[lo:hi], r[lo:hi], a_e, a_m, k, u_reset, ref_steps, thr,
                             spikes[t, lo:hi], mem[t, lo:hi], held[t, lo:hi], subtract)


def lif_forward(x, e, u, r, a_e, a_m, k, u_reset, ref_steps, threshold_on, spikes, mem, held, subtract=False):
    """x (T, M) inputs; e, u (M,) float and r (M,) int32 states (updated in place);
    writes spikes (T, M), mem (T, M) pre-reset membrane and held (T, M) refractory flags.
    ``threshold_on`` False turns the neuron into a leaky integrator (no spikes); ``subtract``
    resets by subtraction."""
    f = x.dtype.type  # coefficients in the data's precision: no mixed-type arithmetic
    thr = f(1.0) if threshold_on else f(np.inf)
    _forward_blocks(x, e, u, r, f(a_e), f(a_m), f(k), f(u_reset), np.int32(ref_steps), thr, spikes, mem, held,
                    _blocks(x.shape[1]), bool(subtract))


@njit(inline="always", nogil=True, error_model="numpy")
def _backward_row(grad_s, grad_m, mem, held, spikes, gu, ge, a_e, a_m, k, u_reset, kind, slope, detach_reset, threshold_on,
                  grad_x, subtract):
    """One time step of one tile, backwards (slices, as ``_forward_row``); ``gu`` dL/du_t
    from the future and ``ge`` a_e dL/de_{t+1}, carried per neuron."""
    for i in range(gu.shape[0]):
        m = mem[i]
        if threshold_on:
            sg = _sg(m - 1.0, kind, slope)
            s = spikes[i]
            if subtract:  # u = m - (1 - u_reset) s
                du_dm = 1.0 - (0.0 if detach_reset else (1.0 - u_reset) * sg)
            else:  # u = m (1 - s) + u_reset s
                du_dm = (1.0 - s) + (0.0 if detach_reset else (u_reset - m) * sg)
            gm = grad_s[i] * sg + gu[i] * du_dm + grad_m[i]
        else:
            gm = gu[i] + grad_m[i]
        if held[i]:
            gu[i] = gm
            ge_t = ge[i]
        else:
            gu[i] = gm * a_m
            ge_t = gm * k + ge[i]
        grad_x[i] = ge_t
        ge[i] = ge_t * a_e


@njit(**_OPTS)
def _backward_blocks(grad_s, grad_m, mem, held, spikes, a_e, a_m, k, u_reset, kind, slope, detach_reset, threshold_on, grad_x, bounds,
                     subtract):
    n_t, n_m = grad_s.shape
    gu = np.zeros(n_m, mem.dtype)  # dL/du_t from the future
    ge = np.zeros(n_m, mem.dtype)  # a_e dL/de_{t+1}
    for b in prange(bounds.shape[0] - 1):
        for lo in range(bounds[b], bounds[b + 1], TILE):
            hi = min(lo + TILE, bounds[b + 1])
            for t in range(n_t - 1, -1, -1):
                _backward_row(grad_s[t, lo:hi], grad_m[t, lo:hi], mem[t, lo:hi], held[t, lo:hi], spikes[t, lo:hi], gu[lo:hi],
                              ge[lo:hi], a_e, a_m, k, u_reset, kind, slope, detach_reset, threshold_on, grad_x[t, lo:hi],
                              subtract)


def lif_backward(grad_s, grad_m, mem, held, spikes, a_e, a_m, k, u_reset, kind, slope, detach_reset, threshold_on, grad_x,
                 subtract=False):
    """BPTT: ``grad_s`` dL/ds_t, ``grad_m`` dL/dm_t from direct use of the membrane
    (readouts), both (T, M); writes dL/dx_t into ``grad_x`` (T, M). Time runs backwards;
    the adjoints of u and e are carried per neuron."""
    f = mem.dtype.type
    _backward_blocks(grad_s, grad_m, mem, held, spikes, f(a_e), f(a_m), f(k), f(u_reset), kind, f(slope), detach_reset,
                     threshold_on, grad_x, _blocks(grad_s.shape[1]), bool(subtract))
