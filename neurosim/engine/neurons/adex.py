"""Kernel of ``neurosim.models.AdEx``."""
import numpy as np

from ..registry import neuron_kernel


@neuron_kernel("adex")
def adex_step(c, X, lo, hi, n_step, ie, ii, refrac, iext, has_ext, spiked):
    """AdEx: forward Euler for (v, w).

    ``c``: dt/c_mem, g_leak, v_rest, v_t, delta_t, dt/tau_w, a, b, v_reset, v_peak, a_e, a_i,
    ref_steps. Rows of ``X``: v, w.
    """
    dt_c, g_l, e_l, v_t, d_t, dt_tw, a, b = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]
    v_reset, v_peak, a_e, a_i = c[8], c[9], c[10], c[11]
    ref_steps = np.int32(c[12])
    v = X[0, lo:hi]
    w = X[1, lo:hi]
    ie, ii, refrac, iext, spiked = ie[lo:hi], ii[lo:hi], refrac[lo:hi], iext[lo:hi], spiked[lo:hi]
    zero = v.dtype.type(0)
    for n in range(v.shape[0]):
        e = ie[n]
        i = ii[n]
        x = iext[n] if has_ext else zero
        r = refrac[n]
        r = r - np.int32(r > 0)
        vo = v[n]
        wo = w[n]
        # exp() of a capped argument: past v_peak the neuron resets anyway.
        z = (min(vo, v_peak) - v_t) / d_t
        vn = vo + dt_c * (-g_l * (vo - e_l) + g_l * d_t * np.exp(z) - wo + e + i + x)
        wn = wo + dt_tw * (a * (vo - e_l) - wo)
        vn = vn if r == 0 else vo
        s = vn > v_peak
        v[n] = v_reset if s else vn
        w[n] = wn + b if s else wn
        refrac[n] = ref_steps if s else r
        spiked[n] = s
        ie[n] = e * a_e
        ii[n] = i * a_i
