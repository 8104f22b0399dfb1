"""Kernel of ``neurosim.models.CobaLIF``."""
import numpy as np

from ..registry import neuron_kernel


@neuron_kernel("coba_lif")
def coba_lif_step(c, X, lo, hi, n_step, ge, gi, refrac, iext, has_ext, spiked):
    """CoBa-LIF: exponential-Euler step with the conductances held, refractory clamp,
    threshold, reset; then the conductances decay exactly.

    ``c``: dt/c_mem, g_leak, e_leak, e_e, e_i, a_e, a_i, v_th, v_reset, ref_steps. Rows of ``X``: v.
    """
    dt_c, g_l, e_l, e_e, e_i, a_e, a_i = c[0], c[1], c[2], c[3], c[4], c[5], c[6]
    v_th, v_reset = c[7], c[8]
    ref_steps = np.int32(c[9])
    v = X[0, lo:hi]
    ge, gi, refrac, iext, spiked = ge[lo:hi], gi[lo:hi], refrac[lo:hi], iext[lo:hi], spiked[lo:hi]
    zero = v.dtype.type(0)
    for n in range(v.shape[0]):
        e = ge[n]
        i = gi[n]
        x = iext[n] if has_ext else zero
        r = refrac[n]
        r = r - np.int32(r > 0)
        g_tot = g_l + e + i
        v_inf = (g_l * e_l + e * e_e + i * e_i + x) / g_tot
        vn = v_inf + (v[n] - v_inf) * np.exp(-g_tot * dt_c)
        vn = vn if r == 0 else v[n]
        s = vn > v_th
        v[n] = v_reset if s else vn
        refrac[n] = ref_steps if s else r
        spiked[n] = s
        ge[n] = e * a_e
        gi[n] = i * a_i
