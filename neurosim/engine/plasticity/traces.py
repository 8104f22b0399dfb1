"""Exact lazy decay of the per-neuron traces of a learning rule."""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def bring_forward(T, col, last, n, k0, k1):
    """Decay the traces of neuron ``col`` (rows 0 and, when ``T`` has two rows, 1 of ``T``,
    with ``dt/tau`` of ``k0`` and ``k1``) from their last update, step ``last[col]``, to step
    ``n``, exactly: ``exp(-(n - last) dt/tau)``."""
    idle = n - last[col]
    if idle > 0:
        T[0, col] *= np.exp(-idle * k0)
        if T.shape[0] > 1:
            T[1, col] *= np.exp(-idle * k1)
        last[col] = n
