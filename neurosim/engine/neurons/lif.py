"""Kernel of ``neurosim.models.CubaLIF``, and of ``neurosim.models.IF`` (the same update with
``a_m = 1``: no leak) and ``neurosim.models.ThresholdUnit`` (``a_m = a_e = a_i = 0``: no memory)."""
import numpy as np

from ..registry import neuron_kernel


@neuron_kernel("threshold")
@neuron_kernel("if")
@neuron_kernel("cuba_lif")
def lif_step(c, X, lo, hi, n_step, ie, ii, refrac, iext, has_ext, spiked):
    """CuBa-LIF: exact step, refractory clamp, threshold, reset (branch-free, so it
    vectorises; every array is sliced to the population first: with a variable loop start
    LLVM does not vectorise).

    ``c``: a_m, a_e, a_i, k_e, k_i, k_ext, v_rest, v_th, v_reset, ref_steps, subtract (1: the
    reset lowers v by v_th - v_reset instead of setting it to v_reset). Rows of ``X``: v.
    """
    a_m, a_e, a_i, k_e, k_i, k_ext = c[0], c[1], c[2], c[3], c[4], c[5]
    v_rest, v_th, v_reset = c[6], c[7], c[8]
    ref_steps = np.int32(c[9])
    subtract = c[10] != 0
    drop = v_th - v_reset
    v = X[0, lo:hi]
    ie, ii, refrac, iext, spiked = ie[lo:hi], ii[lo:hi], refrac[lo:hi], iext[lo:hi], spiked[lo:hi]
    zero = v.dtype.type(0)
    for n in range(v.shape[0]):
        e = ie[n]
        i = ii[n]
        x = iext[n] if has_ext else zero
        r = refrac[n]
        r = r - np.int32(r > 0)
        vn = v_rest + (v[n] - v_rest) * a_m + k_e * e + k_i * i + k_ext * x
        vn = vn if r == 0 else v[n]
        s = vn > v_th
        after = vn - drop if subtract else v_reset
        v[n] = after if s else vn
        refrac[n] = ref_steps if s else r
        spiked[n] = s
        ie[n] = e * a_e
        ii[n] = i * a_i
