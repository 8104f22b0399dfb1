"""Brian2 twins of the neurosim test networks, run with the numpy code-generation target
(nothing is compiled). Each builds the same equations, written out independently here."""
from __future__ import annotations

import numpy as np


def _brian():
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.prefs.core.default_float_dtype = np.float64
    b2.start_scope()
    return b2


def run_brian2(model_kind, params, n, i_const, src, syn, rec, duration, dt):
    """Run ``n`` neurons of ``model_kind`` with constant currents ``i_const`` (A, (n,)),
    a spike-generator input ``src = (n_src, ids, times)`` connected by ``syn = [(i, j, w,
    channel)]`` arrays, recurrent synapses ``rec = [(i, j, w, channel, delay_steps)]`` and
    return (spike times, ids) over ``duration`` s at step ``dt``."""
    b2 = _brian()
    ms, volt, amp, second, farad, siemens = b2.ms, b2.volt, b2.amp, b2.second, b2.farad, b2.siemens
    b2.defaultclock.dt = dt * second
    p = params
    ns = {"tau_e": p["tau_syn_e"] * second, "tau_i": p["tau_syn_i"] * second}
    reset = "v = v - (v_th - v_reset)" if p.get("reset") == "subtract" else "v = v_reset"
    if model_kind == "cuba_lif":
        eqs = """
        dv/dt = (-(v - v_rest) + R * (ie + ii + I0)) / tau_m : volt (unless refractory)
        die/dt = -ie / tau_e : amp
        dii/dt = -ii / tau_i : amp
        I0 : amp
        """
        ns.update(v_rest=p["v_rest"] * volt, R=p["tau_mem"] / p["c_mem"] * volt / amp, tau_m=p["tau_mem"] * second,
                  v_th=p["v_th"] * volt, v_reset=p["v_reset"] * volt)
        G = b2.NeuronGroup(n, eqs, threshold="v > v_th", reset=reset, refractory=p["t_ref"] * second,
                           method="exact", namespace=ns)
        G.v = p["v_rest"] * volt
    elif model_kind == "if":
        # Brian2's exact (linear) integrator needs a fixed point, which a membrane without
        # leak lacks: the reference is the LIF of a 10^7 s membrane time constant, whose leak
        # moves v by under 0.1 uV over a 1 s run even 1 V from rest (no spike moves for that)
        eqs = """
        dv/dt = -(v - v_rest) / tau_m + (ie + ii + I0) / C : volt (unless refractory)
        die/dt = -ie / tau_e : amp
        dii/dt = -ii / tau_i : amp
        I0 : amp
        """
        ns.update(v_rest=p["v_rest"] * volt, tau_m=1e7 * second, C=p["c_mem"] * farad, v_th=p["v_th"] * volt,
                  v_reset=p["v_reset"] * volt)
        G = b2.NeuronGroup(n, eqs, threshold="v > v_th", reset=reset, refractory=p["t_ref"] * second,
                           method="exact", namespace=ns)
        G.v = p["v_rest"] * volt
    elif model_kind == "izhikevich":
        eqs = """
        dv/dt = k2 * v**2 + k1 * v + k0 - u + (ie + ii + I0) / C : volt
        du/dt = a * (b * v - u) : volt / second
        ie : amp
        ii : amp
        I0 : amp
        """
        ns.update(k2=4e4 / (volt * second), k1=5e3 / second, k0=140 * volt / second, C=p["c_mem"] * farad,
                  a=p["a"] / second, b=p["b"] / second, c=p["c"] * volt, d=p["d"] * volt / second, v_peak=p["v_peak"] * volt)
        G = b2.NeuronGroup(n, eqs, threshold="v >= v_peak", reset="v = c; u += d", method="euler", namespace=ns)
        G.v = p["c"] * volt
        G.u = p["b"] * p["c"] * volt / second
        # exact decay of the synaptic currents after the Euler step, as neurosim does
        G.run_regularly("ie = ie * exp(-dt / tau_e); ii = ii * exp(-dt / tau_i)", when="groups", order=1)
    elif model_kind == "adex":
        eqs = """
        dv/dt = (-gL * (v - EL) + gL * DeltaT * exp((v - VT) / DeltaT) - w + ie + ii + I0) / C : volt
        dw/dt = (a * (v - EL) - w) / tauw : amp
        ie : amp
        ii : amp
        I0 : amp
        """
        ns.update(gL=p["g_leak"] * siemens, EL=p["v_rest"] * volt, DeltaT=p["delta_t"] * volt, VT=p["v_t"] * volt,
                  C=p["c_mem"] * farad, a=p["a"] * siemens, tauw=p["tau_w"] * second, b=p["b"] * amp,
                  v_reset=p["v_reset"] * volt, v_peak=p["v_peak"] * volt)
        G = b2.NeuronGroup(n, eqs, threshold="v > v_peak", reset="v = v_reset; w += b", method="euler", namespace=ns)
        G.v = p["v_rest"] * volt
        G.run_regularly("ie = ie * exp(-dt / tau_e); ii = ii * exp(-dt / tau_i)", when="groups", order=1)
    else:
        raise ValueError(model_kind)
    G.I0 = i_const * amp
    objs = [G]
    n_src, ids, times = src
    inp = b2.SpikeGeneratorGroup(n_src, ids, times * second)
    objs.append(inp)
    for i, j, w, channel in syn:
        S = b2.Synapses(inp, G, "w_syn : amp", on_pre=f"{'ie' if channel == 'exc' else 'ii'}_post += w_syn")
        S.connect(i=i, j=j)
        S.w_syn = w * amp
        objs.append(S)
    for i, j, w, channel, delay in rec:
        S = b2.Synapses(G, G, "w_syn : amp", on_pre=f"{'ie' if channel == 'exc' else 'ii'}_post += w_syn")
        S.connect(i=i, j=j)
        S.w_syn = w * amp
        # Brian2 applies a spike after round(delay/dt) steps in the synapses slot, i.e. it acts on
        # the update that follows: neurosim's delay of d steps is Brian2's (d - 1) dt.
        S.delay = (delay - 1) * dt * second
        objs.append(S)
    mon = b2.SpikeMonitor(G)
    net = b2.Network(*objs, mon)
    net.run(duration * second)
    return np.asarray(mon.t / second), np.asarray(mon.i)
