"""The whole-worm network: construction, equilibrium, stimulation, and agreement with
scipy's BDF solver on the same equations over 10 s (issue #3, criterion 2)."""
import numpy as np
import pytest

import connectomes
from circuits.celegans import KUNERT2014, build_worm, equilibrium, input_conductance, stimulate, touch
from circuits.celegans_reference import solve_reference
from neurosim import Simulator, StateMonitor

STIM = ("AVAL", "AVAR")


@pytest.fixture(scope="module")
def cook():
    return connectomes.load("cook2019_herm")


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
