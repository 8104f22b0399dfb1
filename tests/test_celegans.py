"""The whole-worm network: construction, equilibrium, stimulation, and agreement with
scipy's BDF solver on the same equations over 10 s (issue #3, criterion 2)."""
import numpy as np
import pytest

from circuits.worm.model import KUNERT2014, build_worm, equilibrium, input_conductance, stimulate, touch
from circuits.worm.reference import solve_reference
from neurosim import Simulator, StateMonitor

STIM = ("AVAL", "AVAR")


def test_worm_network_matches_the_connectome(cook):
    net = build_worm(cook)
    pop = net.population("worm")
    assert pop.size == 302
    w = {pr.name: pr for pr in net.projections}
    n_chem = w["chemical_exc"].n_synapses + w["chemical_inh"].n_synapses
    assert n_chem == np.count_nonzero(cook.chemical)
    total = (w["chemical_exc"].weights.sum() + w["chemical_inh"].weights.sum()) / KUNERT2014["g_syn"]
    assert total == pytest.approx(cook.chemical.sum())
    gap = net.gap_junctions[0]
    assert gap.g.sum() / KUNERT2014["g_gap"] == pytest.approx(np.triu(cook.gap, 1).sum())
    # inhibitory projections start at GABAergic neurons
    inh_pre = set(np.array(cook.neurons)[np.unique(w["chemical_inh"].pre_indices())])
    assert inh_pre and all(cook.sign[cook.index(n)] < 0 for n in inh_pre)


def test_unstimulated_worm_rests_at_equilibrium(cook):
    net = build_worm(cook)
    res = Simulator(net, dt=1e-3).run(2.0, [StateMonitor("worm", ("v",), every=100)])
    v_eq = equilibrium(cook, dict(KUNERT2014))
    np.testing.assert_allclose(res.traces["worm"]["v"][-1], v_eq, atol=1e-6)


def test_stimulation_errors(cook):
    net = build_worm(cook)
    with pytest.raises(KeyError, match="AVAX.*AVA"):
        stimulate(net, ["AVAX"], amplitude=1e-12)
    with pytest.raises(ValueError, match="exactly one"):
        stimulate(net, ["AVAL"])
    with pytest.raises(ValueError, match="where"):
        touch(net, "middle")
    with pytest.raises(ValueError, match="unknown worm parameter"):
        build_worm(cook, g_gapp=1.0)


def test_whole_worm_matches_bdf_over_10_s(cook):
    duration, t_on, t_off, dt = 10.0, 1.0, 3.0, 1e-3
    net = stimulate(build_worm(cook), STIM, start=t_on, stop=t_off, depolarization=10e-3)
    idx = cook.indices(STIM)
    amp = 10e-3 * input_conductance(build_worm(cook))[idx]
    res = Simulator(net, dt=dt).run(duration, [StateMonitor("worm", ("v",), every=10)])
    t, v = res.traces["worm"].times, res.traces["worm"]["v"]
    ref, _ = solve_reference(cook, dict(KUNERT2014), idx, amp, t_on, t_off, duration, t)
    response = np.abs(ref - ref[0]).max()
    assert response > 10e-3, "the stimulus must move the network (> 10 mV somewhere)"
    err = np.abs(v - ref).max()
    assert err < 0.5e-3, f"max |V - V_BDF| = {err * 1e3:.3f} mV over 10 s"


def test_adaptive_whole_worm_matches_bdf(cook):
    """Variable-step BDF2 on 30 s of worm time: few steps, same accuracy class."""
    duration, t_on, t_off = 30.0, 1.0, 3.0
    net = stimulate(build_worm(cook), STIM, start=t_on, stop=t_off, depolarization=10e-3)
    idx = cook.indices(STIM)
    amp = 10e-3 * input_conductance(build_worm(cook))[idx]
    sim = Simulator(net, dt=1e-3, adaptive=True, atol_v=1e-5)
    res = sim.run(duration, [StateMonitor("worm", ("v",), every=10)])
    t, v = res.traces["worm"].times, res.traces["worm"]["v"]
    np.testing.assert_allclose(t, np.arange(0, duration, 0.01))
    ref, _ = solve_reference(cook, dict(KUNERT2014), idx, amp, t_on, t_off, duration, t)
    err = np.abs(v - ref).max()
    assert err < 0.05e-3, f"adaptive: max |V - V_BDF| = {err * 1e3:.4f} mV"
    assert sim.solver_stats[0] < 2000, "quiescent stretches should take long steps"


def test_adaptive_runs_continue_and_reject_functions(cook):
    net = stimulate(build_worm(cook), STIM, start=0.5, stop=1.5, depolarization=10e-3)
    whole = Simulator(net, dt=1e-3, adaptive=True).run(4.0, [StateMonitor("worm", ("v",), every=50)])
    sim = Simulator(net, dt=1e-3, adaptive=True)
    a = sim.run(2.0, [StateMonitor("worm", ("v",), every=50)])
    b = sim.run(2.0, [StateMonitor("worm", ("v",), every=50)])
    joined = np.vstack([a.traces["worm"]["v"], b.traces["worm"]["v"]])
    np.testing.assert_allclose(joined, whole.traces["worm"]["v"], atol=2e-5)
    from neurosim import CurrentInjection
    import dataclasses
    fnet = dataclasses.replace(net, inputs=(CurrentInjection.from_function("worm", lambda t: 0 * t, neurons=[0]),))
    with pytest.raises(ValueError, match="piecewise-constant"):
        Simulator(fnet, dt=1e-3, adaptive=True).run(1.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"adaptive": True, "atol_v": 0.0}, "atol_v"),
    ({"adaptive": True, "max_step": float("nan")}, "max_step"),
    ({"graded_method": "exponential", "adaptive": True}, "graded populations only"),
    ({"graded_method": "rk4"}, "graded_method"),
])
def test_bad_solver_options(cook, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Simulator(build_worm(cook), dt=1e-3, **kwargs)
