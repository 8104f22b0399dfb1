"""Kernel of ``neurosim.models.Izhikevich``."""
import numpy as np

from ..registry import neuron_kernel


@neuron_kernel("izhikevich")
def izhikevich_step(c, X, lo, hi, n_step, ie, ii, refrac, iext, has_ext, spiked):
    """Izhikevich (2003) in SI: forward Euler for (v, u).

    ``c``: dt, a, b, c, d, v_peak, inv_c, a_e, a_i, ref_steps, k2, k1, k0. Rows of ``X``: v, u.
    """
    dt, a, b, cr, d, v_peak, inv_c, a_e, a_i = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]
    ref_steps = np.int32(c[9])
    k2, k1, k0 = c[10], c[11], c[12]
    v = X[0, lo:hi]
    u = X[1, lo:hi]
    ie, ii, refrac, iext, spiked = ie[lo:hi], ii[lo:hi], refrac[lo:hi], iext[lo:hi], spiked[lo:hi]
    zero = v.dtype.type(0)
    for n in range(v.shape[0]):
        e = ie[n]
        i = ii[n]
        x = iext[n] if has_ext else zero
        r = refrac[n]
        r = r - np.int32(r > 0)
        vo = v[n]
        uo = u[n]
        vn = vo + dt * (k2 * vo * vo + k1 * vo + k0 - uo + (e + i + x) * inv_c)
        un = uo + dt * (a * (b * vo - uo))
        vn = vn if r == 0 else vo
        s = vn >= v_peak
        v[n] = cr if s else vn
        u[n] = un + d if s else un
        refrac[n] = ref_steps if s else r
        spiked[n] = s
        ie[n] = e * a_e
        ii[n] = i * a_i
