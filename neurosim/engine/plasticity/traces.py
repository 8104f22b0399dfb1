"""What the learning rules' hooks share: exact lazy decay of per-neuron traces (from a table
of decay factors, ``exp(-m dt/tau)`` for ``m`` idle steps) and the postsynaptic spike
history of rules whose potentiation is applied when the next presynaptic spike arrives."""
import numpy as np
from numba import njit

_INLINE = dict(cache=True, nogil=True, error_model="numpy", inline="always")


@njit(**_INLINE)
def decay(tab, c, r, idle):
    """``exp(-idle c[r])``: the decay over ``idle`` steps at rate ``c[r]`` (dt/tau), from row
    ``r`` of the projection's table when it holds that many steps."""
    return tab[r, idle] if idle < tab.shape[1] else np.exp(-idle * c[r])


@njit(**_INLINE)
def bring_forward(T, col, last, n, tab, c, r0, r1):
    """Decay the traces of neuron ``col`` (rows 0 and, when ``T`` has two rows, 1 of ``T``,
    at the rates ``c[r0]`` and ``c[r1]``) from their last update, step ``last[col]``, to
    step ``n``, exactly."""
    idle = n - last[col]
    if idle > 0:
        T[0, col] *= decay(tab, c, r0, idle)
        if T.shape[0] > 1:
            T[1, col] *= decay(tab, c, r1, idle)
        last[col] = n


@njit(**_INLINE)
def value_at(T, row, col, last, n, tab, c, r):
    """Trace ``row`` of neuron ``col`` at step ``n`` (decayed from its last update, which is
    left as it is: reading a trace needs no write)."""
    return T[row, col] * decay(tab, c, r, n - last[col])


@njit(**_INLINE)
def pending(ph_step, ph_len, j, since):
    """The first entry of postsynaptic neuron ``j``'s spike history (``ph_len[j]`` entries,
    in time order) at or after step ``since``."""
    h = ph_len[j] - 1
    while h >= 0 and ph_step[j, h] >= since:
        h -= 1
    return h + 1


@njit(**_INLINE)
def record(ph_step, ph_val, ph_len, j, n, value):
    """Append a spike of postsynaptic neuron ``j`` at step ``n`` (with the rule's ``value``,
    e.g. a trace just before the spike) to its history."""
    h = ph_len[j]
    ph_step[j, h] = n
    ph_val[j, h] = value
    ph_len[j] = h + 1


@njit(**_INLINE)
def add_spike(T, col, nearest, rows):
    """A spike of neuron ``col``: its first ``rows`` traces up by 1, or (``nearest``) set to 1."""
    for r in range(rows):
        T[r, col] = 1.0 if nearest else T[r, col] + 1.0
